#pragma once
// Censor-and-resample, the on-policy move of energy-based training: for every sample of a
// persistent buffer draw a fresh uniformly random order, erase its last `steps` positions
// and refill them from p_phi in that order. With steps = D it is ancestral sampling.

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/model/workspace.hpp"
#include "mam/sample/options.hpp"

namespace mam {

/// Updates `buffer` (complete samples, one per column) in place; `steps` conditional passes.
template <class Model>
void censor_resample(const Model& model, CodeMatrix& buffer, Index steps, Rng& rng,
                     const SamplingOptions& options = {},
                              Workspace<Model>* workspace = nullptr) {
  const char* function = "mam::censor_resample";
  const Index d = model.num_variables();
  validate_codes(buffer, d, model.num_values(), function);
  detail::require<value_error>(steps >= 0 && steps <= d, function, detail::concat("steps in 0..", d), steps);
  detail::require<value_error>((buffer.array() != unknown).all(), function, "a buffer of complete samples",
                               "'?' entries");
  Orders orders(static_cast<std::size_t>(buffer.cols()));
  for (Index c = 0; c < buffer.cols(); ++c) {
    const std::vector<Index> order = rng.permutation(d);
    auto& erased = orders[static_cast<std::size_t>(c)];
    erased.assign(order.end() - steps, order.end());
    for (Index p : erased) buffer(p, c) = unknown;
  }
  reveal_along_orders(model.conditional(), buffer, orders,
                      [&](Index, Index, const auto& logits) { return detail::draw_value(logits, options, rng); },
                      workspace != nullptr ? &workspace->conditional : nullptr);
}

}  // namespace mam
