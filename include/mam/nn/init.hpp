#pragma once
// Parameter initialization.

#include <cmath>

#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// Fills `values` with U(-bound, bound) draws from `rng`.
template <class Derived>
void fill_uniform(Eigen::DenseBase<Derived>& values, double bound, Rng& rng) {
  for (Index j = 0; j < values.cols(); ++j)
    for (Index i = 0; i < values.rows(); ++i)
      values.derived().coeffRef(i, j) =
          static_cast<typename Derived::Scalar>(rng.uniform(-bound, bound));
}

/// PyTorch's default for nn.Linear: weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
/// (kaiming_uniform with a=sqrt(5) reduces to exactly this bound for the weights.)
inline double linear_init_bound(Index fan_in) { return 1.0 / std::sqrt(static_cast<double>(fan_in)); }

/// Xavier (Glorot) uniform, PyTorch's xavier_uniform_: weights ~ U(-bound, bound) with
/// bound = sqrt(6 / (fan_in + fan_out)).
inline double xavier_uniform_bound(Index fan_in, Index fan_out) {
  return std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
}

/// Fills `values` with N(0, 1) draws from `rng` (PyTorch's default for nn.Embedding).
template <class Derived>
void fill_normal(Eigen::DenseBase<Derived>& values, Rng& rng) {
  for (Index j = 0; j < values.cols(); ++j)
    for (Index i = 0; i < values.rows(); ++i)
      values.derived().coeffRef(i, j) = static_cast<typename Derived::Scalar>(rng.normal());
}

}  // namespace mam
