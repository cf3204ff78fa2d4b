#pragma once
// Conditional sampling (inpainting): keep the known entries of each column of a partial
// assignment and fill its '?' positions from p_phi, in a random order per sample.

#include "mam/core/codes.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/model/workspace.hpp"
#include "mam/sample/options.hpp"

namespace mam {

/// Completes every column of `partial`. Steps = the largest number of '?' in a column.
template <class Model>
CodeMatrix sample_conditional(const Model& model, const Eigen::Ref<const CodeMatrix>& partial, Rng& rng,
                              const SamplingOptions& options = {},
                              Workspace<Model>* workspace = nullptr) {
  validate_codes(partial, model.num_variables(), model.num_values(), "mam::sample_conditional");
  CodeMatrix state = partial;
  const Orders orders = random_orders(state, false, rng);
  reveal_along_orders(model.conditional(), state, orders,
                      [&](Index, Index, const auto& logits) { return detail::draw_value(logits, options, rng); },
                      workspace != nullptr ? &workspace->conditional : nullptr);
  return state;
}

}  // namespace mam
