#pragma once
// The any-order autoregressive (AO-ARM) negative log-likelihood, which fits the conditional
// network from data. Per sample: a uniformly random order sigma and t ~ U{0..D-1}; reveal
// sigma(<t); the loss is D/(D-t) * sum over the D-t hidden positions of
// -log p_phi(x_i | x_sigma(<t)), an unbiased estimate of the sequence's NLL bound.
//
// Optionally a share of the samples trains the left-to-right order instead, as a fixed-order
// ARM: reveal x_<t and take D * -log p_phi(x_t | x_<t), an unbiased estimate of the
// left-to-right chain's NLL. Data whose grammar reads left to right (SMILES: brackets and ring
// digits must close) is sampled best in that order, and an AO-ARM spreads its capacity over
// all D! orders; the mixture keeps every order trained and the one used for sampling sharper.
// For strings padded at the end, the left-to-right position can be drawn mostly among the
// string's own tokens and its stop (the first padding code) instead of uniformly: the padding
// tail's conditionals (pad after pad) are learnt at once, and for short strings they are most
// of the positions. Weighting by 1/q(t) keeps the estimate unbiased.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/workspace.hpp"
#include "mam/nn/network_operations.hpp"

namespace mam {

/// Which orders ao_arm_loss trains.
struct OrderMix {
  /// Probability that a sample is trained in the left-to-right order, on its next position
  /// (the fixed-order ARM loss); otherwise in a uniformly random order (the AO-ARM loss).
  double left_to_right = 0.0;
  /// The code that pads strings at their end, or `unknown` (none: left-to-right positions are
  /// drawn uniformly). With it, a left-to-right sample lands in the padding tail after the
  /// stop with probability `padding_tail_share` and among the other positions otherwise.
  Code padding = unknown;
  double padding_tail_share = 0.05;
};

namespace detail {

/// Refuses an OrderMix that ao_arm_loss cannot use with K values.
inline void validate_order_mix(const OrderMix& orders, Index k, const char* function) {
  require<value_error>(orders.left_to_right >= 0.0 && orders.left_to_right <= 1.0, function,
                       "OrderMix::left_to_right in [0, 1]", orders.left_to_right);
  require<value_error>(orders.padding == unknown || (orders.padding >= 0 && orders.padding < k), function,
                       concat("OrderMix::padding in 0..", k - 1, " or unknown"), orders.padding);
  // 0 would never score the tail (a biased estimate), 1 never the string itself.
  require<value_error>(orders.padding_tail_share > 0.0 && orders.padding_tail_share < 1.0, function,
                       "OrderMix::padding_tail_share in (0, 1)", orders.padding_tail_share);
}

/// The position a left-to-right sample is scored on, and the weight 1/q(t) of its loss.
struct NextPosition {
  Index position;
  double weight;
};

/// Draws a column's left-to-right position: uniform over 0..D-1 without padding; with it,
/// the positions after the stop (the first code of the trailing padding run) form the tail.
inline NextPosition draw_next_position(const Eigen::Ref<const CodeMatrix>& x, Index column, const OrderMix& orders,
                                       Rng& rng) {
  const Index d = x.rows();
  Index stop = d;
  if (orders.padding != unknown) {
    while (stop > 0 && x(stop - 1, column) == orders.padding) --stop;
  }
  const Index head = std::min(stop + 1, d), tail = d - head;
  const auto uniform_in = [&rng](Index n) { return static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(n))); };
  if (tail == 0) return {uniform_in(d), static_cast<double>(d)};
  const double share = orders.padding_tail_share;
  if (rng.uniform() < share) return {head + uniform_in(tail), static_cast<double>(tail) / share};
  return {uniform_in(head), static_cast<double>(head) / (1.0 - share)};
}

}  // namespace detail

/// Mean over the batch of the per-sequence NLL estimates (nats): the AO-ARM bound's, and the
/// left-to-right chain's for the share `orders` trains in that order. Adds `weight` times
/// its gradient into `conditional_gradient`. `x` holds complete samples, one per column.
template <class Model, class Scalar>
double ao_arm_loss(const Model& model, const Eigen::Ref<const CodeMatrix>& x, Rng& rng,
                   Vector<Scalar>& conditional_gradient, double weight = 1.0,
                   Workspace<Model>* workspace = nullptr, const OrderMix& orders = {}) {
  const char* function = "mam::ao_arm_loss";
  const Index d = model.num_variables(), k = model.num_values(), batch = x.cols();
  validate_codes(x, d, k, function);
  detail::require<shape_error>(batch > 0, function, "a non-empty batch", batch);
  detail::require<value_error>((x.array() != unknown).all(), function, "complete samples", "'?' entries");
  detail::validate_order_mix(orders, k, function);

  CodeMatrix masked = x;
  std::vector<double> scale(static_cast<std::size_t>(batch));
  // The one position a left-to-right sample is scored on; -1 for AO-ARM samples (all hidden).
  std::vector<Index> next(static_cast<std::size_t>(batch), -1);
  for (Index c = 0; c < batch; ++c) {
    // No draw when the mix is off, so a plain AO-ARM run keeps its random stream.
    if (orders.left_to_right > 0.0 && rng.uniform() < orders.left_to_right) {
      const detail::NextPosition drawn = detail::draw_next_position(x, c, orders, rng);
      for (Index j = drawn.position; j < d; ++j) masked(j, c) = unknown;
      next[static_cast<std::size_t>(c)] = drawn.position;
      scale[static_cast<std::size_t>(c)] = drawn.weight;
      continue;
    }
    const std::vector<Index> order = rng.permutation(d);
    const auto revealed = static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(d)));
    for (Index j = revealed; j < d; ++j) masked(order[static_cast<std::size_t>(j)], c) = unknown;
    scale[static_cast<std::size_t>(c)] = static_cast<double>(d) / static_cast<double>(d - revealed);
  }

  std::vector<Index> any_order_columns, left_to_right_columns;
  for (Index c = 0; c < batch; ++c)
    (next[static_cast<std::size_t>(c)] < 0 ? any_order_columns : left_to_right_columns).push_back(c);

  const auto& net = model.conditional();
  Workspace<Model> local;
  auto& buffers = detail::workspace_or(workspace, local);
  const double per_sample = weight / static_cast<double>(batch);
  Vector<double> probabilities(k);
  double total = 0.0;
  // Adds sample c's -log p(x_i | ...) from `logits` (K entries) to total, and writes its
  // weighted gradient (softmax - one_hot) into `d_logits`.
  auto score = [&](const auto& logits, Index i, Index c, auto&& d_logits) {
    const double s = scale[static_cast<std::size_t>(c)];
    const double log_norm = log_sum_exp(logits);
    for (Index v = 0; v < k; ++v) probabilities[v] = std::exp(static_cast<double>(logits[v]) - log_norm);
    total -= s * (static_cast<double>(logits[x(i, c)]) - log_norm);
    probabilities[x(i, c)] -= 1.0;
    d_logits = (per_sample * s * probabilities).template cast<Scalar>();
  };

  if (!any_order_columns.empty()) {
    const CodeMatrix part = masked(Eigen::all, any_order_columns);
    auto& context = buffers.conditional;
    net.forward(part, context, true);
    Matrix<Scalar> d_logits = Matrix<Scalar>::Zero(d * k, part.cols());
    for (Index j = 0; j < part.cols(); ++j) {
      for (Index i = 0; i < d; ++i) {
        if (part(i, j) != unknown) continue;
        score(context.output.col(j).segment(i * k, k), i, any_order_columns[static_cast<std::size_t>(j)],
              d_logits.col(j).segment(i * k, k));
      }
    }
    net.backward(context, d_logits, conditional_gradient);
  }
  // Left-to-right samples read K of the D*K outputs: their pass skips the dense head (most
  // of the network's work when D*K is large) and reads and trains K rows per sample.
  if (!left_to_right_columns.empty()) {
    const CodeMatrix part = masked(Eigen::all, left_to_right_columns);
    auto& context = buffers.conditional_rows;
    forward_for_rows(net, part, context);
    std::vector<Index> first_rows(left_to_right_columns.size());
    for (std::size_t j = 0; j < first_rows.size(); ++j)
      first_rows[j] = next[static_cast<std::size_t>(left_to_right_columns[j])] * k;
    Matrix<Scalar> logits;
    output_row_blocks(net, context, first_rows, k, logits);
    Matrix<Scalar> d_logits(k, part.cols());
    for (Index j = 0; j < part.cols(); ++j) {
      const Index c = left_to_right_columns[static_cast<std::size_t>(j)];
      score(logits.col(j), next[static_cast<std::size_t>(c)], c, d_logits.col(j));
    }
    backward_rows(net, context, first_rows, d_logits, conditional_gradient);
  }
  return total / static_cast<double>(batch);
}

}  // namespace mam
