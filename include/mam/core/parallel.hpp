#pragma once
// Passes over long parameter-sized vectors (millions of entries) that would otherwise run on
// one thread while the others wait: zeroing a gradient and its squared norm. The norm sums
// fixed chunks in a fixed order, so it is the same for every thread count.

#include <algorithm>

#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"

namespace mam::detail {

inline constexpr Index vector_chunk = Index{1} << 14;

template <class Scalar>
void set_zero_in_parallel(Vector<Scalar>& values) {
  const Index n = values.size(), chunks = (n + vector_chunk - 1) / vector_chunk;
#pragma omp parallel for schedule(static) if (n >= 4 * detail::parallel_work_threshold)
  for (Index b = 0; b < chunks; ++b) {
    const Index from = b * vector_chunk;
    values.segment(from, std::min(vector_chunk, n - from)).setZero();
  }
}

/// The sum of squares, each chunk's in Scalar and their total in double.
template <class Scalar>
double squared_norm_in_parallel(const Vector<Scalar>& values) {
  const Index n = values.size(), chunks = (n + vector_chunk - 1) / vector_chunk;
  Vector<double> partial(chunks);
#pragma omp parallel for schedule(static) if (n >= 4 * detail::parallel_work_threshold)
  for (Index b = 0; b < chunks; ++b) {
    const Index from = b * vector_chunk;
    partial[b] = static_cast<double>(values.segment(from, std::min(vector_chunk, n - from)).squaredNorm());
  }
  double total = 0.0;
  for (Index b = 0; b < chunks; ++b) total += partial[b];
  return total;
}

}  // namespace mam::detail
