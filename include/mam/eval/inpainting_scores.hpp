#pragma once
// The MaM paper's check of a marginal net on inpaintings: data are masked (nested masks, one
// random order of the positions per sample), each masked sample is completed several times by
// the conditionals, and every completion is scored twice: by the marginal net (one pass) and
// by the chain rule averaged over random orders (AO-ARM-E, D passes per order), the reference
// the marginal net should agree with. Agreement is then measured by rank correlation
// (eval/correlation.hpp; per masked sample: eval/grouped_correlation.hpp).

#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/data/dataset.hpp"
#include "mam/sample/conditional.hpp"

namespace mam {

/// Column c of `x` with the first `count` positions of orders[c] set to '?'. With one order
/// per column for every count, the masks of increasing counts are nested.
inline CodeMatrix mask_first(const Eigen::Ref<const CodeMatrix>& x, const std::vector<std::vector<Index>>& orders,
                             Index count) {
  const char* function = "mam::mask_first";
  detail::require<shape_error>(static_cast<Index>(orders.size()) == x.cols(), function,
                               detail::concat("one order per column (", x.cols(), ")"), orders.size());
  detail::require<value_error>(count >= 0 && count <= x.rows(), function, detail::concat("count in 0..", x.rows()),
                               count);
  CodeMatrix masked = x;
  for (Index c = 0; c < x.cols(); ++c) {
    const std::vector<Index>& order = orders[static_cast<std::size_t>(c)];
    detail::require<shape_error>(static_cast<Index>(order.size()) >= count, function,
                                 detail::concat("orders of at least ", count, " positions"), order.size());
    for (Index j = 0; j < count; ++j) {
      const Index position = order[static_cast<std::size_t>(j)];
      detail::require<value_error>(position >= 0 && position < x.rows(), function,
                                   detail::concat("positions in 0..", x.rows() - 1), position);
      masked(position, c) = unknown;
    }
  }
  return masked;
}

struct InpaintingScores {
  /// D x (columns of masked x completions): column c * completions + r is completion r of
  /// masked column c.
  CodeMatrix completed;
  Vector<double> by_marginal;  ///< log p_theta(x) by the marginal net
  Vector<double> by_chain;     ///< AO-ARM-E: the chain rule, log-mean-exp over random orders
};

/// Completes every column of `masked` `completions` times by sample_conditional and scores
/// each completion by the marginal net and by the chain rule with `orders` random orders
/// (all randomness from `rng`, in that sequence), about `batch` samples per network pass.
template <class Model>
InpaintingScores score_inpaintings(const Model& model, const Eigen::Ref<const CodeMatrix>& masked, Index completions,
                                   Index orders, Rng& rng, Index batch = 256) {
  const char* function = "mam::score_inpaintings";
  detail::require<value_error>(completions > 0, function, "completions > 0", completions);
  detail::require<value_error>(orders > 0, function, "orders > 0", orders);
  detail::require<value_error>(batch > 0, function, "batch > 0", batch);
  CodeMatrix given(masked.rows(), masked.cols() * completions);
  for (Index c = 0; c < masked.cols(); ++c) given.middleCols(c * completions, completions) = masked.col(c).replicate(1, completions);
  InpaintingScores scores;
  scores.completed = sample_conditional(model, given, rng);
  scores.by_marginal = map_batches(scores.completed, batch, [&](const auto& x) { return model.log_marginal(x); });
  // A block of n samples makes n x orders chains: blocks of batch / orders keep the passes at about `batch`.
  scores.by_chain = map_batches(scores.completed, batch / orders + 1,
                                [&](const auto& x) { return model.log_likelihood_chain(x, orders, rng); });
  return scores;
}

}  // namespace mam
