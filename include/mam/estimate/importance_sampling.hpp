#pragma once
// Neural importance sampling: the model's conditional sampler as proposal q, the target's
// unnormalized f as what is estimated. With log-weights log w = log f(x) - log q(x | sigma),
//   Z = E[w]                      (unbiased: Z-hat = mean w; log Z-hat = log-mean-exp),
//   E_p[h] = E[w h] / E[w]        (self-normalized, consistent),
//   ESS / N = (sum w)^2 / (N sum w^2)   (1 for q = p, small when a few weights dominate).
// Standard errors are the delta method's: se(log Z-hat) = sd(w) / (sqrt(N) mean(w)), and for
// a self-normalized mean sqrt(sum w_i^2 (h_i - mean)^2) / sum w_i. They are honest only when
// the weights have a finite variance and ESS is not tiny; report ESS beside them.

#include <algorithm>
#include <cmath>
#include <limits>

#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/estimate/proposal.hpp"
#include "mam/loss/energy.hpp"

namespace mam {

/// An estimate of log Z = log E_q[w] from log-weights.
struct LogPartitionEstimate {
  double log_z = 0.0;           ///< log-mean-exp of the log-weights
  double standard_error = 0.0;  ///< of log_z (delta method)
  double ess_fraction = 0.0;    ///< effective sample size over the number of weights, in (0, 1]
  Index count = 0;              ///< number of weights
};

/// A self-normalized estimate of E_p[h].
struct ObservableEstimate {
  double mean = 0.0;
  double standard_error = 0.0;
};

namespace detail {

/// w_i / max w, so that no exponential overflows; the maximum log-weight goes to `max_log_w`.
inline Vector<double> scaled_weights(const Eigen::Ref<const Vector<double>>& log_w, const char* function,
                                     double& max_log_w) {
  require<shape_error>(log_w.size() >= 2, function, "at least 2 log-weights", log_w.size());
  for (Index i = 0; i < log_w.size(); ++i)
    if (std::isnan(log_w[i]) || log_w[i] == std::numeric_limits<double>::infinity())
      fail<numeric_error>(function, "log-weights that are finite or -inf", concat(log_w[i], " at index ", i));
  max_log_w = log_w.maxCoeff();
  require<numeric_error>(std::isfinite(max_log_w), function, "at least one finite log-weight", "all -inf");
  return (log_w.array() - max_log_w).exp().matrix();
}

}  // namespace detail

/// ESS / N = (sum w)^2 / (N sum w^2) of the weights exp(log_w).
inline double effective_sample_size_fraction(const Eigen::Ref<const Vector<double>>& log_w) {
  double max_log_w = 0.0;
  const Vector<double> w = detail::scaled_weights(log_w, "mam::effective_sample_size_fraction", max_log_w);
  return w.sum() * w.sum() / (static_cast<double>(w.size()) * w.squaredNorm());
}

/// log Z-hat = log mean exp(log_w), its standard error and ESS / N.
inline LogPartitionEstimate estimate_log_partition(const Eigen::Ref<const Vector<double>>& log_w) {
  double max_log_w = 0.0;
  const Vector<double> w = detail::scaled_weights(log_w, "mam::estimate_log_partition", max_log_w);
  const auto n = static_cast<double>(w.size());
  const double mean = w.mean();
  const double variance = (w.array() - mean).square().sum() / (n - 1.0);
  LogPartitionEstimate estimate;
  estimate.log_z = max_log_w + std::log(mean);
  estimate.standard_error = std::sqrt(variance / n) / mean;
  estimate.ess_fraction = w.sum() * w.sum() / (n * w.squaredNorm());
  estimate.count = w.size();
  return estimate;
}

/// The self-normalized estimate of E_p[h] from log-weights and h's value on each sample.
inline ObservableEstimate self_normalized_mean(const Eigen::Ref<const Vector<double>>& log_w,
                                               const Eigen::Ref<const Vector<double>>& values) {
  const char* function = "mam::self_normalized_mean";
  detail::require<shape_error>(values.size() == log_w.size(), function,
                               detail::concat("one value per log-weight (", log_w.size(), ")"), values.size());
  for (Index i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      detail::fail<numeric_error>(function, "finite observable values", detail::concat(values[i], " at index ", i));
  double max_log_w = 0.0;
  const Vector<double> w = detail::scaled_weights(log_w, function, max_log_w);
  ObservableEstimate estimate;
  estimate.mean = w.dot(values) / w.sum();
  estimate.standard_error = std::sqrt((w.array().square() * (values.array() - estimate.mean).square()).sum()) / w.sum();
  return estimate;
}

/// The model's samples with their log-densities under the proposal and the target.
struct ImportanceSamples {
  CodeMatrix samples;      ///< D x N
  Vector<double> log_q;    ///< exact log q(x | sigma) of the draw
  Vector<double> log_f;    ///< the target's unnormalized log f(x)
  Vector<double> log_w;    ///< log f - log q

  /// log Z of the target, with standard error and ESS / N.
  LogPartitionEstimate log_partition() const { return estimate_log_partition(log_w); }
  /// ESS / N.
  double ess_fraction() const { return effective_sample_size_fraction(log_w); }
  /// E_p[h] for h given per sample (e.g. observable(samples)).
  ObservableEstimate mean_of(const Eigen::Ref<const Vector<double>>& values) const {
    return self_normalized_mean(log_w, values);
  }
};

/// Draws `count` samples from the model's conditional sampler (orders and temperature from
/// `options`), `batch` per network pass, and weighs them against `log_f` (a callable mapping a
/// D x n CodeMatrix of complete samples to n finite values).
template <class Model, class LogTarget>
ImportanceSamples importance_sample(const Model& model, LogTarget&& log_f, Index count, Rng& rng,
                                    const ProposalOptions& options = {}, Index batch = 256) {
  const char* function = "mam::importance_sample";
  detail::require<value_error>(count >= 2, function, "count >= 2", count);
  detail::require<value_error>(batch > 0, function, "batch > 0", batch);
  ImportanceSamples weighed;
  weighed.samples.resize(model.num_variables(), count);
  weighed.log_q.resize(count);
  weighed.log_f.resize(count);
  Workspace<Model> workspace;
  for (Index start = 0; start < count; start += batch) {
    const Index n = std::min(batch, count - start);
    ProposalSamples drawn = draw_from_proposal(model, n, rng, options, &workspace);
    weighed.log_f.segment(start, n) = evaluate_log_target(log_f, drawn.samples);
    weighed.samples.middleCols(start, n) = drawn.samples;
    weighed.log_q.segment(start, n) = drawn.log_q;
  }
  weighed.log_w = weighed.log_f - weighed.log_q;
  return weighed;
}

}  // namespace mam
