#pragma once
// The warm start of stage 2: the marginal net takes the features the trained conditional net
// has learned instead of starting at random.

#include "mam/nn/network.hpp"

namespace mam {

/// Starts the marginal net from the features the conditional net has learned, before
/// stage 2: copies the conditional net's trunk (for residual MLPs the input layer and
/// residual blocks; for Transformers the embedding, positions, blocks and final LayerNorm)
/// into the marginal net and zeroes its head's output layer, so f starts at 0 everywhere and
/// first learns a read-out of those features. The reference code does the like: its marginal
/// head sits on the trained AO-ARM's encoder. Needs networks that can share a trunk
/// (can_warm_start: ResidualMLP or Transformer pairs of equal trunk shape).
template <class Model>
void warm_start_marginal(Model& model) {
  static_assert(can_warm_start_v<typename Model::marginal_network, typename Model::conditional_network>,
                "mam::warm_start_marginal: the marginal network needs copy_trunk_from(conditional network) and "
                "set_head_to_zero() (ResidualMLP and Transformer have them)");
  model.marginal().copy_trunk_from(model.conditional());
  model.marginal().set_head_to_zero();
}

}  // namespace mam
