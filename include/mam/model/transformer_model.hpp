#pragma once
// The reference's sequence architecture as a model: a pair of Transformers
// (nn/transformer.hpp) sharing one trunk shape, and the factory that builds one.

#include <utility>

#include "mam/core/rng.hpp"
#include "mam/model/marginalization_model.hpp"
#include "mam/model/warm_start.hpp"
#include "mam/nn/transformer.hpp"

namespace mam {

/// A Transformer MaM: marginal net (one output) and conditional net (D*K logits).
template <class Scalar>
using TransformerMarginalizationModel = MarginalizationModel<Transformer<Scalar>, Transformer<Scalar>>;

/// Builds a Transformer MaM from one configuration: D, K and the trunk (width, heads, layers,
/// feed-forward, positions) and head_width come from `config`, whose output_size is ignored
/// (1 for the marginal net, D*K for the conditional net), and whose pooling applies to the
/// marginal net. Both trunks have the same shape, so warm_start_marginal applies.
/// Initialized from `rng`, marginal first.
template <class Scalar>
TransformerMarginalizationModel<Scalar> make_transformer_model(TransformerConfig config, Rng& rng,
                                                               Normalization normalization = Normalization::all_unknown,
                                                               double log_z = 0.0) {
  config.output_size = 1;
  Transformer<Scalar> marginal(config, rng);
  config.output_size = config.num_variables * config.num_values;
  config.pooling = MarginalPooling::mean;  // the [CLS] token is the marginal head's
  Transformer<Scalar> conditional(config, rng);
  return TransformerMarginalizationModel<Scalar>(std::move(marginal), std::move(conditional), normalization, log_z);
}

}  // namespace mam
