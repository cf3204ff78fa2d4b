#pragma once
// Central finite differences for gradient checks (double precision).

#include <algorithm>
#include <cmath>
#include <functional>

#include <mam/core/types.hpp>

namespace mam::test {

/// Numerical gradient of `loss` at `x` by central differences with step `h`.
/// `x` is perturbed in place and restored.
inline Vector<double> numerical_gradient(const std::function<double()>& loss, Vector<double>& x,
                                         double h = 1e-6) {
  Vector<double> gradient(x.size());
  for (Index i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double plus = loss();
    x[i] = saved - h;
    const double minus = loss();
    x[i] = saved;
    gradient[i] = (plus - minus) / (2.0 * h);
  }
  return gradient;
}

/// Largest element-wise relative error |a - n| / max(|a|, |n|, floor). The floor keeps
/// entries that are zero up to rounding from dominating the verdict.
inline double max_relative_error(const Vector<double>& analytic, const Vector<double>& numeric,
                                 double floor = 1e-3) {
  double worst = 0.0;
  for (Index i = 0; i < analytic.size(); ++i) {
    const double scale = std::max({std::abs(analytic[i]), std::abs(numeric[i]), floor});
    worst = std::max(worst, std::abs(analytic[i] - numeric[i]) / scale);
  }
  return worst;
}

}  // namespace mam::test
