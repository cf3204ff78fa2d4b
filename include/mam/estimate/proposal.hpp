#pragma once
// The conditional sampler as a proposal with an exact density. A sample x drawn along an
// order sigma has probability q(x | sigma) = prod_j p_phi(x_sigma(j) | x_sigma(<j)), the
// product of the very conditionals that drew it, so recording them while drawing gives
// log q(x | sigma) at no extra network pass. On the joint space of (x, sigma), with sigma
// uniform or fixed, f(x) / q(x | sigma) are exact importance weights (estimate/
// importance_sampling.hpp) and the Metropolis-Hastings ratios of neural MCMC (estimate/
// neural_mcmc.hpp): neither needs the intractable mixture q(x) = E_sigma q(x | sigma).

#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/model/workspace.hpp"
#include "mam/sample/options.hpp"

namespace mam {

/// Which orders a proposal draws in.
struct ProposalOptions {
  /// Empty: a uniformly random order per sample (the any-order sampler, same random stream as
  /// sample_ancestral). Otherwise a permutation of 0..D-1 every sample is drawn in, e.g. the
  /// left-to-right order a model was trained to sample in (EnergyTrainerOptions::left_to_right).
  std::vector<Index> order{};
  /// Logits are divided by it; log q is that of the tempered conditionals actually drawn from.
  double temperature = 1.0;
};

/// Samples with the exact log-density of the draw that made them.
struct ProposalSamples {
  CodeMatrix samples;     ///< D x n complete samples
  Orders orders;          ///< the order each was drawn in
  /// step_log_q(j, c): log q of the j-th position revealed in sample c given those before it.
  Matrix<double> step_log_q;
  Vector<double> log_q;   ///< log q(x | sigma) per sample: the column sums of step_log_q
};

namespace detail {

inline void validate_proposal_options(const ProposalOptions& options, Index d, const char* function) {
  require<value_error>(options.temperature > 0.0, function, "ProposalOptions::temperature > 0",
                       options.temperature);
  if (!options.order.empty())
    require_permutation(options.order, d, function, "ProposalOptions::order: empty or ");
}

/// Reveals `orders` in `state` with the values `pick(c, p, logits)` returns, writing the log q
/// of each under the tempered conditionals to step_log_q(first_step + j, c).
template <class ConditionalNet, class Pick>
void reveal_and_record(const ConditionalNet& net, CodeMatrix& state, const Orders& orders, double temperature,
                       Matrix<double>& step_log_q, Index first_step, typename ConditionalNet::Context* workspace,
                       Pick&& pick) {
  std::vector<Index> revealed(orders.size(), 0);
  Vector<double> scaled(net.num_values());
  reveal_along_orders(
      net, state, orders,
      [&](Index c, Index p, const auto& logits) {
        const Code value = pick(c, p, logits);
        scaled = logits.template cast<double>() / temperature;
        step_log_q(first_step + revealed[static_cast<std::size_t>(c)]++, c) = log_softmax_at(scaled, value);
        return value;
      },
      workspace);
}

/// Draws the positions of `orders` from the tempered conditionals (see reveal_and_record).
template <class ConditionalNet>
void draw_along_orders(const ConditionalNet& net, CodeMatrix& state, const Orders& orders, double temperature,
                       Rng& rng, Matrix<double>& step_log_q, Index first_step,
                       typename ConditionalNet::Context* workspace) {
  reveal_and_record(net, state, orders, temperature, step_log_q, first_step, workspace,
                    [&](Index, Index, const auto& logits) {
                      return static_cast<Code>(rng.categorical_from_logits(logits, temperature));
                    });
}

/// Reveals the positions of `orders` with the values of `values` there: the chain rule of
/// given samples (see reveal_and_record).
template <class ConditionalNet>
void score_along_orders(const ConditionalNet& net, CodeMatrix& state, const Orders& orders,
                        const Eigen::Ref<const CodeMatrix>& values, double temperature, Matrix<double>& step_log_q,
                        Index first_step, typename ConditionalNet::Context* workspace) {
  reveal_and_record(net, state, orders, temperature, step_log_q, first_step, workspace,
                    [&](Index c, Index p, const auto&) { return values(p, c); });
}

}  // namespace detail

/// `count` samples from the model's conditionals with their exact log q(x | sigma), one network
/// pass per position for the whole batch (as sample_ancestral, whose samples these are for the
/// same seed when `options` draws random orders at temperature 1).
template <class Model>
ProposalSamples draw_from_proposal(const Model& model, Index count, Rng& rng, const ProposalOptions& options = {},
                                   Workspace<Model>* workspace = nullptr) {
  const char* function = "mam::draw_from_proposal";
  const Index d = model.num_variables();
  detail::require<value_error>(count >= 0, function, "count >= 0", count);
  detail::validate_proposal_options(options, d, function);
  ProposalSamples drawn;
  drawn.samples = CodeMatrix::Constant(d, count, unknown);
  drawn.orders = options.order.empty() ? random_orders(drawn.samples, false, rng)
                                       : Orders(static_cast<std::size_t>(count), options.order);
  drawn.step_log_q = Matrix<double>::Zero(d, count);
  detail::draw_along_orders(model.conditional(), drawn.samples, drawn.orders, options.temperature, rng,
                            drawn.step_log_q, 0, workspace != nullptr ? &workspace->conditional : nullptr);
  drawn.log_q = drawn.step_log_q.colwise().sum().transpose();
  return drawn;
}

}  // namespace mam
