#pragma once
// The one knob for parallelism. Eigen parallelizes its matrix products with OpenMP and the
// library's own batched loops use `#pragma omp`; both only when the program is compiled with
// OpenMP (link the CMake target mam::openmp). Without OpenMP everything runs on one thread
// and these functions report 1.

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// Sets the number of threads used by matrix products (mam's and Eigen's) and by mam's own parallel loops.
inline void set_num_threads(int threads) {
  detail::require<value_error>(threads >= 1, "mam::set_num_threads", "threads >= 1", threads);
  Eigen::setNbThreads(threads);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
}

namespace detail {

/// Below this many element operations a loop runs on one thread: starting a team costs
/// microseconds, and on a busy machine waiting for a descheduled thread costs far more.
inline constexpr Index parallel_work_threshold = Index{1} << 16;

}  // namespace detail

/// Threads that mam and Eigen will use (1 without OpenMP).
inline int num_threads() { return Eigen::nbThreads(); }

}  // namespace mam
