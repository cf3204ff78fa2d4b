#pragma once
// The any-order autoregressive (AO-ARM) negative log-likelihood, which fits the conditional
// network from data. Per sample: a uniformly random order sigma and t ~ U{0..D-1}; reveal
// sigma(<t); the loss is D/(D-t) * sum over the D-t hidden positions of
// -log p_phi(x_i | x_sigma(<t)), an unbiased estimate of the sequence's NLL bound.

#include <cmath>

#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/workspace.hpp"
#include "mam/nn/one_hot_input.hpp"

namespace mam {

/// Mean over the batch of the per-sequence AO-ARM NLL estimate (nats). Adds `weight` times
/// its gradient into `conditional_gradient`. `x` holds complete samples, one per column.
template <class Model, class Scalar>
double ao_arm_loss(const Model& model, const Eigen::Ref<const CodeMatrix>& x, Rng& rng,
                   Vector<Scalar>& conditional_gradient, double weight = 1.0,
                   Workspace<Model>* workspace = nullptr) {
  const char* function = "mam::ao_arm_loss";
  const Index d = model.num_variables(), k = model.num_values(), batch = x.cols();
  validate_codes(x, d, k, function);
  detail::require<shape_error>(batch > 0, function, "a non-empty batch", batch);
  detail::require<value_error>((x.array() != unknown).all(), function, "complete samples", "'?' entries");

  CodeMatrix masked = x;
  std::vector<double> scale(static_cast<std::size_t>(batch));
  for (Index c = 0; c < batch; ++c) {
    const std::vector<Index> order = rng.permutation(d);
    const auto revealed = static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(d)));
    for (Index j = revealed; j < d; ++j) masked(order[static_cast<std::size_t>(j)], c) = unknown;
    scale[static_cast<std::size_t>(c)] = static_cast<double>(d) / static_cast<double>(d - revealed);
  }

  const auto& net = model.conditional();
  Workspace<Model> local;
  auto& context = detail::workspace_or(workspace, local).conditional;
  net.forward(masked, context);
  Matrix<Scalar> d_logits = Matrix<Scalar>::Zero(d * k, batch);
  Vector<double> probabilities(k);
  double total = 0.0;
  for (Index c = 0; c < batch; ++c) {
    const double s = scale[static_cast<std::size_t>(c)];
    for (Index i = 0; i < d; ++i) {
      if (masked(i, c) != unknown) continue;
      const auto logits = context.output.col(c).segment(i * k, k);
      const double log_norm = log_sum_exp(logits);
      for (Index v = 0; v < k; ++v) probabilities[v] = std::exp(static_cast<double>(logits[v]) - log_norm);
      total -= s * (static_cast<double>(logits[x(i, c)]) - log_norm);
      probabilities[x(i, c)] -= 1.0;  // d(-log p)/d logits = softmax - one_hot
      d_logits.col(c).segment(i * k, k) = (weight * s / static_cast<double>(batch) * probabilities).template cast<Scalar>();
    }
  }
  net.backward(context, d_logits, conditional_gradient);
  return total / static_cast<double>(batch);
}

}  // namespace mam
