#pragma once
// How many MCMC steps make one independent sample: the integrated autocorrelation time
//   tau = 1 + 2 sum_{t >= 1} rho(t)
// (1 for independent draws), summed up to Sokal's automatic window, the smallest W with
// W >= c tau(W), c = 5: past it the estimated rho(t) is mostly noise. A scalar trace of many
// parallel chains (rows: steps, columns: chains) shares one autocorrelation function, centred
// on the mean over all chains, so chains that have not mixed with each other raise tau instead
// of hiding. The chain mean's standard error is sqrt(tau var / (steps * chains)).

#include <algorithm>
#include <cmath>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

struct AutocorrelationTime {
  double tau = 1.0;         ///< integrated autocorrelation time, in steps
  Index window = 0;         ///< the lags summed
  /// The trace is at least 50 tau long (the usual rule for trusting tau); shorter traces
  /// underestimate it.
  bool long_enough = false;
};

/// The mean of a scalar over every chain and step, with its MCMC standard error.
struct ChainEstimate {
  double mean = 0.0;
  double standard_error = 0.0;
  AutocorrelationTime autocorrelation{};
};

/// tau of `trace` (steps x chains, at least 2 steps) with the window constant `c`.
inline AutocorrelationTime integrated_autocorrelation_time(const Eigen::Ref<const Matrix<double>>& trace,
                                                           double c = 5.0) {
  const char* function = "mam::integrated_autocorrelation_time";
  const Index steps = trace.rows(), chains = trace.cols();
  detail::require<shape_error>(steps >= 2 && chains >= 1, function, "at least 2 steps of at least 1 chain",
                               detail::concat(steps, " x ", chains));
  detail::require<value_error>(c > 0.0, function, "c > 0", c);
  detail::require<numeric_error>(trace.allFinite(), function, "a finite trace", "NaN or infinite values");
  const Matrix<double> centred = trace.array() - trace.mean();
  const double variance = centred.squaredNorm() / static_cast<double>(steps * chains);
  detail::require<value_error>(variance > 0.0, function, "a trace that varies", "the same value at every step");
  AutocorrelationTime result;
  for (Index lag = 1; lag < steps; ++lag) {
    const Index pairs = steps - lag;
    const double covariance =
        (centred.topRows(pairs).array() * centred.bottomRows(pairs).array()).sum() / static_cast<double>(pairs * chains);
    result.tau += 2.0 * covariance / variance;
    result.window = lag;
    if (static_cast<double>(lag) >= c * result.tau) break;
  }
  result.long_enough = static_cast<double>(steps) >= 50.0 * result.tau;
  return result;
}

/// The mean of `trace` (steps x chains) with the standard error its autocorrelation allows.
inline ChainEstimate chain_mean(const Eigen::Ref<const Matrix<double>>& trace, double c = 5.0) {
  ChainEstimate estimate;
  estimate.autocorrelation = integrated_autocorrelation_time(trace, c);
  estimate.mean = trace.mean();
  const auto n = static_cast<double>(trace.size());
  const double variance = (trace.array() - estimate.mean).square().sum() / (n - 1.0);
  estimate.standard_error = std::sqrt(std::max(estimate.autocorrelation.tau, 0.0) * variance / n);
  return estimate;
}

}  // namespace mam
