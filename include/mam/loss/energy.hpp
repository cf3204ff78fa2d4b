#pragma once
// Energy-based training: no data, only an unnormalized target log f(x) (any callable taking
// a D x batch CodeMatrix of complete samples and returning one value per column).
//
// KL objective (reverse KL from samples x ~ p_theta): REINFORCE through the marginal net,
//   delta = f_theta(x) - log f(x) (no gradient), r = (delta - mean) / (std + eps),
//   loss = mean(r * f_theta(x)) + alpha * self-consistency(x),
// one marginal pass where an autoregressive model needs D conditional passes.
// Optionally (`reinforce_conditional`) the same weights also train the sampler directly:
//   + mean(r * D * log p_phi(x_p | x_sigma(<d))), the random order sigma and step d being
// those self-consistency draws for the sample, so D log p_phi(...) is an unbiased estimate of
// log p_sigma(x) averaged over orders (the reference's `logp_mc`); otherwise the conditionals
// learn the target only through self-consistency.
// Matching objective: loss = mean((f_theta(x) - log f(x))^2) + alpha * self-consistency(x)
// with log_z learned through the anchor: f(all ?) -> log_z then estimates log Z.
// Self-consistency here trains both networks. All marginal inputs share one pass.

#include <cmath>
#include <limits>
#include <utility>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/loss/self_consistency.hpp"
#include "mam/model/gradient.hpp"
#include "mam/model/marginalization_model.hpp"

namespace mam {

enum class EnergyObjective { kl, matching };

struct EnergyValue {
  double loss = 0.0;               ///< the objective term + alpha * self-consistency
  double objective = 0.0;          ///< KL surrogate mean(r * f) (+ its conditional term) or matching mean squared error
  SelfConsistencyValue consistency;
  double mean_log_ratio = 0.0;     ///< mean over samples of log p_theta(x) - log f(x)
};

/// Evaluates `log_f` on complete samples and checks its answer: one finite value per column.
template <class LogTarget>
Vector<double> evaluate_log_target(LogTarget&& log_f, const Eigen::Ref<const CodeMatrix>& samples) {
  const char* function = "mam::evaluate_log_target";
  const Vector<double> values = Vector<double>(log_f(CodeMatrix(samples)).template cast<double>());
  detail::require<shape_error>(values.size() == samples.cols(), function,
                               detail::concat("one log f value per sample (", samples.cols(), ")"),
                               values.size());
  for (Index c = 0; c < values.size(); ++c)
    if (!std::isfinite(values[c]))
      detail::fail<numeric_error>(function, "a finite log f(x) for every sample",
                                  detail::concat(values[c], " for sample (column) ", c));
  return values;
}

namespace detail {

/// Where a batch sits in a larger one cut into shards (train/data_parallel.hpp): the whole
/// batch's size, this shard's share of it, and the mean and standard deviation of the
/// REINFORCE weights' log-ratios delta over the whole batch, from this shard's deltas.
template <class Baseline>
struct EnergyShard {
  double batch_size;  ///< the whole batch's samples
  double share;       ///< this shard's samples / batch_size: weights its self-consistency
  Baseline baseline;  ///< (const Vector<double>& delta) -> std::pair<double, double>{mean, stddev}
};

/// Mean and standard deviation (n - 1) of `delta`, as the reference's baseline.
inline std::pair<double, double> mean_and_stddev(const Vector<double>& delta) {
  const double mean = delta.mean();
  const auto n = static_cast<double>(delta.size());
  return {mean, std::sqrt((delta.array() - mean).square().sum() / (n - 1.0))};
}

/// energy_loss() of one shard of a batch, with log f of its samples given as `target`.
template <class Model, class Scalar, class Baseline>
EnergyValue energy_loss_of_shard(const Model& model, const Eigen::Ref<const CodeMatrix>& samples,
                                 const Vector<double>& target, Rng& rng, ModelGradient<Scalar>& gradient,
                                 EnergyObjective objective, double alpha, Workspace<Model>* workspace,
                                 bool reinforce_conditional, double left_to_right,
                                 const EnergyShard<Baseline>& shard) {
  const char* function = "mam::energy_loss";
  require<value_error>(alpha >= 0.0 && std::isfinite(alpha), function, "alpha >= 0", alpha);
  require<value_error>(!reinforce_conditional || objective == EnergyObjective::kl, function,
                       "reinforce_conditional only with the KL objective", "the matching objective");
  const double n = shard.batch_size;

  EnergyValue value;
  SelfConsistencyOptions options;
  options.train_conditional = true;
  options.train_log_z = objective == EnergyObjective::matching;
  options.weight = alpha * shard.share;
  options.left_to_right = left_to_right;
  const auto d = static_cast<double>(model.num_variables());
  auto objective_term = [&](const Vector<double>& f, Vector<double>& d_f, Vector<double>& d_log_conditional) {
    const Vector<double> delta = f - target;
    value.mean_log_ratio = delta.mean();  // normalized below, once f(all ?) is known
    if (objective == EnergyObjective::matching) {
      d_f = 2.0 * delta / n;
      return delta.squaredNorm() / n;
    }
    const auto [mean, stddev] = shard.baseline(delta);
    const double eps = std::numeric_limits<float>::epsilon();  // as the reference
    const Vector<double> r = (delta.array() - mean) / (stddev + eps);
    d_f = r / n;  // r is a constant weight (REINFORCE): no gradient through it
    if (reinforce_conditional) d_log_conditional = d * r / n;  // the same samples are self-consistency's x
    return r.dot(f) / n;
  };
  const auto [consistency, objective_value] =
      self_consistency_with(model, samples, rng, gradient, options, samples, objective_term, workspace);
  value.consistency = consistency;
  value.objective = objective_value;
  // log p(x) = f(x) - normalizer, where the normalizer is f(all ?) (from the same pass) or log_z.
  value.mean_log_ratio -= model.log_z() + (model.normalization() == Normalization::all_unknown
                                               ? consistency.anchor_error
                                               : 0.0);
  value.loss = objective_value + consistency.loss;
  return value;
}

}  // namespace detail

/// The energy-based loss of `samples` (complete, from the model: a censor-and-resample
/// buffer or ancestral samples). Adds gradients for both networks, and for log_z with the
/// matching objective, into `gradient`. `reinforce_conditional` (KL only) adds the REINFORCE
/// term of the conditional net (see the top of this file); `left_to_right` is the share of
/// self-consistency orders that are 0..D-1 (SelfConsistencyOptions).
template <class Model, class Scalar, class LogTarget>
EnergyValue energy_loss(const Model& model, const Eigen::Ref<const CodeMatrix>& samples, LogTarget&& log_f,
                        Rng& rng, ModelGradient<Scalar>& gradient, EnergyObjective objective = EnergyObjective::kl,
                        double alpha = 1.0, Workspace<Model>* workspace = nullptr,
                        bool reinforce_conditional = false, double left_to_right = 0.0) {
  detail::require<shape_error>(samples.cols() >= 2, "mam::energy_loss", "at least 2 samples (a batch baseline)",
                               samples.cols());
  const Vector<double> target = evaluate_log_target(log_f, samples);
  const detail::EnergyShard<decltype(&detail::mean_and_stddev)> shard{static_cast<double>(samples.cols()), 1.0,
                                                                      &detail::mean_and_stddev};
  return detail::energy_loss_of_shard(model, samples, target, rng, gradient, objective, alpha, workspace,
                                      reinforce_conditional, left_to_right, shard);
}

}  // namespace mam
