#pragma once
// Walking a conditional network along orders: the shared core of ancestral, conditional and
// censor-and-resample sampling and of the chain-rule likelihood. Step j evaluates the
// network once for the whole batch and reveals, in every sample, the j-th position of that
// sample's own order. A network with the incremental walk (nn/network.hpp) updates its
// input layer per revealed position (O(H) per sample for ResidualMLP); any other network
// passes again over the revealed codes (nn/network_operations.hpp).

#include <algorithm>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/network_operations.hpp"

namespace mam {

/// One order per sample: the positions to reveal, first to last.
using Orders = std::vector<std::vector<Index>>;

/// For step j = 0, 1, ...: evaluates `net` on `state`, then for every sample c whose order
/// has a j-th position p calls `choose(c, p, logits)` (logits: the K conditional logits of
/// position p in sample c, an Eigen column segment) and sets state(p, c) to the code it
/// returns. Positions in an order should be unknown in `state` when their turn comes.
/// `workspace`, if given, is the network context to reuse. Any network of the contract
/// walks; with the row-block head no step computes the whole head.
template <class ConditionalNet, class Choose>
void reveal_along_orders(const ConditionalNet& net, CodeMatrix& state, const Orders& orders, Choose&& choose,
                         typename ConditionalNet::Context* workspace = nullptr) {
  const char* function = "mam::reveal_along_orders";
  detail::require<shape_error>(static_cast<Index>(orders.size()) == state.cols(), function,
                               detail::concat("one order per sample (", state.cols(), ")"),
                               orders.size());
  const Index d = net.num_variables(), k = net.num_values();
  std::size_t steps = 0;
  for (const auto& order : orders) {
    for (Index p : order)
      if (p < 0 || p >= d) detail::fail<value_error>(function, detail::concat("positions in 0..", d - 1), p);
    steps = std::max(steps, order.size());
  }
  typename ConditionalNet::Context local;
  auto& context = workspace != nullptr ? *workspace : local;
  // Each sample needs the K logits of one position per step: the head is never computed
  // whole. They are computed for all samples at once (in parallel), then chosen in sample
  // order, so a choice that draws random numbers draws them in the same sequence.
  forward_for_rows(net, state, context);
  Matrix<typename ConditionalNet::scalar_type> logits;
  std::vector<Index> first_rows(orders.size());
  for (std::size_t j = 0; j < steps; ++j) {
    if (j > 0) recompute(net, context, false);
    for (std::size_t c = 0; c < orders.size(); ++c) first_rows[c] = j < orders[c].size() ? orders[c][j] * k : -1;
    output_row_blocks(net, context, first_rows, k, logits);
    for (Index c = 0; c < state.cols(); ++c) {
      const auto& order = orders[static_cast<std::size_t>(c)];
      if (j >= order.size()) continue;
      const Index p = order[j];
      const Code value = choose(c, p, logits.col(c));
      if (value < 0 || value >= k) detail::fail<value_error>(function, detail::concat("a chosen value in 0..", k - 1), value);
      update_code(net, context, c, p, value);
    }
  }
  state = context.codes;
}

namespace detail {

/// Refuses an `order` that is not a permutation of 0..d-1, naming it `what`.
inline void require_permutation(const std::vector<Index>& order, Index d, const char* function, const char* what) {
  std::vector<bool> seen(static_cast<std::size_t>(d), false);
  bool permutation = static_cast<Index>(order.size()) == d;
  for (Index p : order) {
    if (p < 0 || p >= d || seen[static_cast<std::size_t>(p)]) permutation = false;
    else seen[static_cast<std::size_t>(p)] = true;
  }
  require<value_error>(permutation, function, concat(what, "a permutation of 0..", d - 1),
                       concat("an order of ", order.size(), " positions"));
}

}  // namespace detail

/// A uniformly random order of the unknown (or, with `known` = true, the known) positions of
/// every sample of `x`.
inline Orders random_orders(const Eigen::Ref<const CodeMatrix>& x, bool known, Rng& rng) {
  Orders orders(static_cast<std::size_t>(x.cols()));
  for (Index c = 0; c < x.cols(); ++c) {
    auto& order = orders[static_cast<std::size_t>(c)];
    for (Index i = 0; i < x.rows(); ++i)
      if ((x(i, c) != unknown) == known) order.push_back(i);
    rng.shuffle(order);
  }
  return orders;
}

}  // namespace mam
