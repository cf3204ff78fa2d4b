#pragma once
// Any-order ancestral sampling: start from all '?' and reveal every position, each sample in
// its own uniformly random order (or in one given order), drawing from p_phi. D conditional
// passes for the whole batch.

#include <vector>

#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/model/workspace.hpp"
#include "mam/sample/options.hpp"

namespace mam {

/// `count` samples (one per column) from the model's conditionals, random order per sample.
template <class Model>
CodeMatrix sample_ancestral(const Model& model, Index count, Rng& rng, const SamplingOptions& options = {},
                              Workspace<Model>* workspace = nullptr) {
  detail::require<value_error>(count >= 0, "mam::sample_ancestral", "count >= 0", count);
  CodeMatrix state = CodeMatrix::Constant(model.num_variables(), count, unknown);
  const Orders orders = random_orders(state, false, rng);
  reveal_along_orders(model.conditional(), state, orders,
                      [&](Index, Index, const auto& logits) { return detail::draw_value(logits, options, rng); },
                      workspace != nullptr ? &workspace->conditional : nullptr);
  return state;
}

/// `count` samples, every one revealing positions in `order` (a permutation of 0..D-1).
template <class Model>
CodeMatrix sample_ancestral(const Model& model, Index count, const std::vector<Index>& order, Rng& rng,
                            const SamplingOptions& options = {},
                              Workspace<Model>* workspace = nullptr) {
  const char* function = "mam::sample_ancestral";
  detail::require<value_error>(count >= 0, function, "count >= 0", count);
  const Index d = model.num_variables();
  detail::require_permutation(order, d, function, "");
  CodeMatrix state = CodeMatrix::Constant(d, count, unknown);
  reveal_along_orders(model.conditional(), state, Orders(static_cast<std::size_t>(count), order),
                      [&](Index, Index, const auto& logits) { return detail::draw_value(logits, options, rng); },
                      workspace != nullptr ? &workspace->conditional : nullptr);
  return state;
}

}  // namespace mam
