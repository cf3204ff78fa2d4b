#pragma once
// The reference architecture as a model: a pair of residual MLPs (nn/residual_mlp.hpp), the
// factory that builds one (and, for the callers that warm-start stage 2 from it,
// model/warm_start.hpp).

#include <utility>

#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/marginalization_model.hpp"
#include "mam/model/warm_start.hpp"
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

}  // namespace mam
