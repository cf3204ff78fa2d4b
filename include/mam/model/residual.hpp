#pragma once
// The reference architecture as a model: a pair of residual MLPs (nn/residual_mlp.hpp), the
// factory that builds one, and the warm start of stage 2, which takes the marginal net's
// features from the trained conditional net.

#include <utility>

#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/marginalization_model.hpp"
#include "mam/nn/activation.hpp"
#include "mam/nn/network.hpp"
#include "mam/nn/residual_mlp.hpp"

namespace mam {

/// The reference architecture: a residual-MLP pair of equal shape.
template <class Scalar>
using ResidualMarginalizationModel = MarginalizationModel<ResidualMLP<Scalar>, ResidualMLP<Scalar>>;

/// Builds a residual-MLP MaM over D variables with K values: both networks have `hidden`
/// units and `num_layers` layers, initialized from `rng` (marginal first).
template <class Scalar>
ResidualMarginalizationModel<Scalar> make_residual_model(Index num_variables, Index num_values, Index hidden,
                                                         Index num_layers, Rng& rng,
                                                         Activation activation = Activation::leaky_relu,
                                                         Normalization normalization = Normalization::all_unknown,
                                                         double log_z = 0.0) {
  ResidualMLP<Scalar> marginal({num_variables, num_values, hidden, num_layers, 1, activation}, rng);
  ResidualMLP<Scalar> conditional({num_variables, num_values, hidden, num_layers, num_variables * num_values, activation},
                                  rng);
  return ResidualMarginalizationModel<Scalar>(std::move(marginal), std::move(conditional), normalization, log_z);
}

/// Starts the marginal net from the features the conditional net has learned, before
/// stage 2: copies the conditional net's trunk (for residual MLPs the input layer and
/// residual blocks) into the marginal net and zeroes its head, so f starts at 0 everywhere
/// and first learns a read-out of those features. The reference code does the like: its
/// marginal head sits on the trained AO-ARM's encoder. Needs networks that can share a trunk
/// (can_warm_start: ResidualMLP pairs of equal D, K, width, depth and activation).
template <class Model>
void warm_start_marginal(Model& model) {
  static_assert(can_warm_start_v<typename Model::marginal_network, typename Model::conditional_network>,
                "mam::warm_start_marginal: the marginal network needs copy_trunk_from(conditional network) and "
                "set_head_to_zero() (ResidualMLP has them)");
  model.marginal().copy_trunk_from(model.conditional());
  model.marginal().set_head_to_zero();
}

}  // namespace mam
