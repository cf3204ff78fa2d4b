#pragma once
// Regression of the marginal network onto chain-rule targets (see ChainTargetPool): per
// partial input x_S with target t (a sum of log p_phi along an order of S),
//   r = f(x_S) - log_z - t,
// and the loss is mean(r^2) + (f(all ?) - log_z)^2. Its minimizer is the mean over orders
// of the chain rule, which is log p(x_S) for consistent conditionals: the fixed point of
// self-consistency, reached without passing errors along one step at a time. The inputs and
// the all-'?' anchor go through the marginal network as one batch (B + 1 columns).

#include <cmath>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/types.hpp"
#include "mam/model/gradient.hpp"
#include "mam/model/workspace.hpp"

namespace mam {

struct ChainTargetValue {
  double loss = 0.0;                ///< weight * (mean(r^2) + anchor^2)
  double mean_squared_error = 0.0;  ///< mean(r^2)
  double anchor_error = 0.0;        ///< f(all ?) - log_z
};

/// The chain-target loss of partial inputs `inputs` (one per column) and their `targets`;
/// adds `weight` times its gradient for theta (the marginal network) into `gradient`.
template <class Model, class Scalar>
ChainTargetValue chain_target_loss(const Model& model, const Eigen::Ref<const CodeMatrix>& inputs,
                                   const Eigen::Ref<const Vector<double>>& targets, ModelGradient<Scalar>& gradient,
                                   Workspace<Model>* workspace = nullptr, double weight = 1.0) {
  const char* function = "mam::chain_target_loss";
  const Index d = model.num_variables(), batch = inputs.cols();
  validate_codes(inputs, d, model.num_values(), function);
  detail::require<shape_error>(batch > 0, function, "a non-empty batch", batch);
  detail::require<value_error>(weight >= 0.0 && std::isfinite(weight), function, "weight >= 0", weight);
  detail::require<shape_error>(targets.size() == batch, function, detail::concat("one target per input (", batch, ")"),
                               targets.size());
  for (Index c = 0; c < batch; ++c)
    if (!std::isfinite(targets[c]))
      detail::fail<value_error>(function, "finite targets", detail::concat(targets[c], " for input ", c));

  CodeMatrix with_anchor(d, batch + 1);
  with_anchor.leftCols(batch) = inputs;
  with_anchor.col(batch).setConstant(unknown);
  Workspace<Model> local;
  auto& pass = detail::workspace_or(workspace, local).marginal;
  model.marginal().forward(with_anchor, pass, true);

  const double log_z = model.log_z();
  Matrix<Scalar> d_f(1, batch + 1);
  double squared = 0.0;
  for (Index c = 0; c < batch; ++c) {
    const double r = static_cast<double>(pass.output(0, c)) - log_z - targets[c];
    squared += r * r;
    d_f(0, c) = static_cast<Scalar>(weight * 2.0 * r / static_cast<double>(batch));
  }
  ChainTargetValue value;
  value.mean_squared_error = squared / static_cast<double>(batch);
  value.anchor_error = static_cast<double>(pass.output(0, batch)) - log_z;
  value.loss = weight * (value.mean_squared_error + value.anchor_error * value.anchor_error);
  d_f(0, batch) = static_cast<Scalar>(weight * 2.0 * value.anchor_error);
  model.marginal().backward(pass, d_f, gradient.marginal);
  return value;
}

}  // namespace mam
