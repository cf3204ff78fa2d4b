#pragma once
// Numerically stable reductions in log space.

#include <algorithm>
#include <cmath>
#include <limits>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// log(sum_i exp(v_i)), exact for +-1e4-sized entries; -inf for an empty or all -inf input.
template <class Derived>
double log_sum_exp(const Eigen::DenseBase<Derived>& values) {
  const Index n = values.size();
  if (n == 0) return -std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  for (Index i = 0; i < n; ++i) max = std::max(max, static_cast<double>(values.derived().coeff(i)));
  if (!std::isfinite(max)) return max;  // all -inf, or a +inf / NaN that must show
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) sum += std::exp(static_cast<double>(values.derived().coeff(i)) - max);
  return max + std::log(sum);
}

/// log(mean_i exp(v_i)).
template <class Derived>
double log_mean_exp(const Eigen::DenseBase<Derived>& values) {
  detail::require<shape_error>(values.size() > 0, "mam::log_mean_exp", "at least one value", 0);
  return log_sum_exp(values) - std::log(static_cast<double>(values.size()));
}

/// log softmax(logits)[k] for one entry k, without forming the whole vector.
template <class Derived>
double log_softmax_at(const Eigen::DenseBase<Derived>& logits, Index k) {
  detail::require<value_error>(k >= 0 && k < logits.size(), "mam::log_softmax_at",
                               detail::concat("an index in 0..", logits.size() - 1), k);
  return static_cast<double>(logits.derived().coeff(k)) - log_sum_exp(logits);
}

/// softmax(logits) into `probabilities` (same size), stable for large logits. Shifted by the
/// maximum and divided by the sum, not exp(v - log_sum_exp(v)): near +-1e4 the rounding of
/// log_sum_exp (an ulp of 1e4 is 2e-12) would otherwise show in every probability.
template <class DerivedIn, class DerivedOut>
void softmax(const Eigen::DenseBase<DerivedIn>& logits, Eigen::DenseBase<DerivedOut>& probabilities) {
  const Index n = logits.size();
  auto logit = [&](Index i) { return static_cast<double>(logits.derived().coeff(i)); };
  double max = -std::numeric_limits<double>::infinity();
  for (Index i = 0; i < n; ++i) max = std::max(max, logit(i));
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) sum += std::exp(logit(i) - max);
  for (Index i = 0; i < n; ++i)
    probabilities.derived().coeffRef(i) = static_cast<typename DerivedOut::Scalar>(std::exp(logit(i) - max) / sum);
}

}  // namespace mam
