#pragma once
// Marginalization self-consistency, which fits the marginal network (and, in energy-based
// training, the conditional network too). Per sample: a uniformly random order sigma and
// d ~ U{1..D}; with p = sigma(d),
//   r = f(x_sigma(<d)) + log p_phi(x_p | x_sigma(<d)) - f(x_sigma(<=d)),
// and the loss is D * mean(r^2) + (f(all ?) - log_z)^2. Both marginal inputs and the
// all-'?' anchor go through the marginal network as ONE batch (2B + 1 columns).

#include <cmath>
#include <numeric>
#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/gradient.hpp"
#include "mam/model/workspace.hpp"
#include "mam/nn/network_operations.hpp"

namespace mam {

struct SelfConsistencyOptions {
  bool train_marginal = true;      ///< add gradients for theta
  bool train_conditional = false;  ///< add gradients for phi (energy-based training)
  bool train_log_z = false;        ///< add the anchor's gradient for log_z
  double weight = 1.0;             ///< multiplies every gradient (and the returned loss)
  /// Probability that a sample's order is 0, 1, ..., D-1 instead of a uniformly random one:
  /// more training for the fixed-order ARM a sampler can then draw in (0 = the paper's loss).
  double left_to_right = 0.0;
};

struct SelfConsistencyValue {
  double loss = 0.0;                  ///< weight * (D * mean(r^2) + anchor^2)
  double mean_squared_residual = 0.0; ///< mean(r^2)
  double anchor_error = 0.0;          ///< f(all ?) - log_z
};

namespace detail {

/// Self-consistency of `x` plus, in the same marginal pass, extra complete inputs whose
/// outputs f(extra) the caller turns into its own loss: `extra_loss(f_extra, d_f_extra,
/// d_log_conditional)` must return its loss value and fill d_f_extra (dL/df per extra
/// column). It may also fill d_log_conditional (zeros on entry, one entry per column of x):
/// a loss term d_log_conditional[c] * log p_phi(x_p | x_sigma(<d)) on the conditional
/// log-probability that column c's residual uses; its value is added to the returned extra
/// value and its gradient to the conditional net's (only with options.train_conditional).
/// The energy-based objectives use it to get f(samples) from the same GEMMs.
template <class Model, class Scalar, class ExtraLoss>
std::pair<SelfConsistencyValue, double> self_consistency_with(const Model& model,
                                                              const Eigen::Ref<const CodeMatrix>& x, Rng& rng,
                                                              ModelGradient<Scalar>& gradient,
                                                              const SelfConsistencyOptions& options,
                                                              const Eigen::Ref<const CodeMatrix>& extra,
                                                              ExtraLoss&& extra_loss,
                                                              Workspace<Model>* workspace) {
  const char* function = "mam::self_consistency_loss";
  const Index d = model.num_variables(), k = model.num_values(), batch = x.cols(), n_extra = extra.cols();
  validate_codes(x, d, k, function);
  detail::require<shape_error>(batch > 0, function, "a non-empty batch", batch);
  detail::require<value_error>((x.array() != unknown).all(), function, "complete samples", "'?' entries");
  detail::require<value_error>(options.left_to_right >= 0.0 && options.left_to_right <= 1.0, function,
                               "SelfConsistencyOptions::left_to_right in [0, 1]", options.left_to_right);

  // Columns: [x_<d (batch) | x_<=d (batch) | all ? (1) | extra (n_extra)].
  CodeMatrix inputs(d, 2 * batch + 1 + n_extra);
  inputs.setConstant(unknown);
  std::vector<Index> target(static_cast<std::size_t>(batch));
  std::vector<Index> left_to_right(static_cast<std::size_t>(d));
  std::iota(left_to_right.begin(), left_to_right.end(), Index{0});
  for (Index c = 0; c < batch; ++c) {
    // No extra draw at share 0, so the paper's loss keeps its random stream.
    const bool fixed = options.left_to_right > 0.0 && rng.uniform() < options.left_to_right;
    const std::vector<Index> order = fixed ? left_to_right : rng.permutation(d);
    const auto step = static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(d)));  // d - 1
    for (Index j = 0; j < step; ++j) {
      const Index p = order[static_cast<std::size_t>(j)];
      inputs(p, c) = inputs(p, batch + c) = x(p, c);
    }
    const Index p = order[static_cast<std::size_t>(step)];
    inputs(p, batch + c) = x(p, c);
    target[static_cast<std::size_t>(c)] = p;
  }
  if (n_extra > 0) inputs.rightCols(n_extra) = extra;

  const auto& marginal = model.marginal();
  const auto& conditional = model.conditional();
  Workspace<Model> local;
  auto& marginal_pass = workspace_or(workspace, local).marginal;
  auto& conditional_pass = workspace_or(workspace, local).conditional;
  marginal.forward(inputs, marginal_pass, true);
  // One position's K logits per sample are needed (and trained): no whole head.
  forward_for_rows(conditional, inputs.leftCols(batch), conditional_pass);
  const auto& f = marginal_pass.output;

  // The caller's loss first: it may weight the conditional log-probabilities of the loop below.
  double extra_value = 0.0;
  Vector<double> d_extra = Vector<double>::Zero(n_extra);
  Vector<double> d_log_conditional = Vector<double>::Zero(batch);
  if (n_extra > 0) {
    const Vector<double> f_extra = f.rightCols(n_extra).row(0).transpose().template cast<double>();
    extra_value = extra_loss(f_extra, d_extra, d_log_conditional);
  }
  detail::require<value_error>(options.train_conditional || d_log_conditional.isZero(0.0), function,
                               "no conditional log-probability weights without train_conditional",
                               "nonzero weights");

  Matrix<Scalar> d_f = Matrix<Scalar>::Zero(1, inputs.cols());
  // dL/d logits is zero outside the K logits of each sample's target position.
  Matrix<Scalar> d_logits = Matrix<Scalar>::Zero(k, batch);
  std::vector<Index> logit_rows(static_cast<std::size_t>(batch));
  Vector<double> probabilities(k);
  for (Index c = 0; c < batch; ++c) logit_rows[static_cast<std::size_t>(c)] = target[static_cast<std::size_t>(c)] * k;
  Matrix<Scalar> target_logits;
  output_row_blocks(conditional, conditional_pass, logit_rows, k, target_logits);
  const double w = options.weight;
  double squared = 0.0;
  for (Index c = 0; c < batch; ++c) {
    const Index p = target[static_cast<std::size_t>(c)];
    const Code value = x(p, c);
    const auto logits = target_logits.col(c);
    const double log_norm = log_sum_exp(logits);
    const double log_p = static_cast<double>(logits[value]) - log_norm;
    const double r = static_cast<double>(f(0, c)) + log_p - static_cast<double>(f(0, batch + c));
    squared += r * r;
    const double g = w * 2.0 * static_cast<double>(d) * r / static_cast<double>(batch);  // dL/dr
    d_f(0, c) += static_cast<Scalar>(g);
    d_f(0, batch + c) -= static_cast<Scalar>(g);
    if (options.train_conditional) {
      extra_value += d_log_conditional[c] * log_p;
      for (Index v = 0; v < k; ++v) probabilities[v] = -std::exp(static_cast<double>(logits[v]) - log_norm);
      probabilities[value] += 1.0;  // d log p / d logits = one_hot - softmax
      d_logits.col(c) = ((g + d_log_conditional[c]) * probabilities).template cast<Scalar>();
    }
  }
  SelfConsistencyValue value;
  value.mean_squared_residual = squared / static_cast<double>(batch);
  value.anchor_error = static_cast<double>(f(0, 2 * batch)) - model.log_z();
  value.loss = w * (static_cast<double>(d) * value.mean_squared_residual + value.anchor_error * value.anchor_error);
  d_f(0, 2 * batch) += static_cast<Scalar>(w * 2.0 * value.anchor_error);
  if (options.train_log_z) gradient.log_z -= w * 2.0 * value.anchor_error;

  if (!options.train_marginal) d_f.leftCols(2 * batch + 1).setZero();
  if (n_extra > 0) d_f.rightCols(n_extra) += d_extra.transpose().template cast<Scalar>();
  if (options.train_marginal || n_extra > 0) marginal.backward(marginal_pass, d_f, gradient.marginal);
  if (options.train_conditional) backward_rows(conditional, conditional_pass, logit_rows, d_logits, gradient.conditional);
  return {value, extra_value};
}

}  // namespace detail

/// The self-consistency loss of complete samples `x` (one per column); adds its gradient
/// into `gradient` as `options` says.
template <class Model, class Scalar>
SelfConsistencyValue self_consistency_loss(const Model& model, const Eigen::Ref<const CodeMatrix>& x, Rng& rng,
                                           ModelGradient<Scalar>& gradient,
                                           const SelfConsistencyOptions& options = {},
                                           Workspace<Model>* workspace = nullptr) {
  const CodeMatrix none(model.num_variables(), 0);
  return detail::self_consistency_with(
             model, x, rng, gradient, options, none,
             [](const Vector<double>&, Vector<double>&, Vector<double>&) { return 0.0; },
             workspace)
      .first;
}

}  // namespace mam
