#pragma once
// Neural MCMC: Metropolis-Hastings chains whose stationary distribution is the target
// p = f / Z exactly, however good or bad the model's sampler is; the sampler only sets how
// fast they mix. The state of a chain is (x, sigma), a sample and the order it is scored
// along; the target on that joint space is p(x) pi(sigma) with pi the proposal's order
// distribution, and with w = f(x) / q(x | sigma) both moves accept with min(1, w' / w):
//  - independent move: a fresh (x', sigma') from the proposal (estimate/proposal.hpp);
//  - local move (MH-corrected censor-and-resample): erase the last k positions of sigma and
//    draw them again from the conditionals. Since q(x | sigma) = q(prefix) q(suffix | prefix),
//    the forward and reverse proposal densities cancel into the same w' / w, and the stored
//    per-position log q gives the old suffix's density without a pass (k passes per move).
// Any other move that leaves p invariant (a Gibbs sweep of the target, energy/gibbs.hpp) can
// be mixed in: hand its result to set_states, which scores it along fresh orders (D passes).

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/estimate/proposal.hpp"
#include "mam/loss/energy.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/model/workspace.hpp"

namespace mam {

struct NeuralMcmcOptions {
  Index chains = 256;          ///< chains advanced together (one network batch)
  ProposalOptions proposal{};  ///< the orders and temperature of every draw
  /// k of the local move: positions at the end of each chain's order that it resamples
  /// (1..D; 0 = no local moves).
  Index local_positions = 0;
};

/// Proposals made and accepted, by kind of move.
struct McmcAcceptance {
  long proposed = 0;
  long accepted = 0;
  /// accepted / proposed, or 0 before any proposal.
  double rate() const { return proposed > 0 ? static_cast<double>(accepted) / static_cast<double>(proposed) : 0.0; }
};

/// `options.chains` chains targeting exp(log_f) / Z. `LogTarget` maps a D x n CodeMatrix of
/// complete samples to n finite log f values. The model is referenced, not copied: keep it
/// alive and unchanged while the chains run.
template <class Model, class LogTarget>
class NeuralMcmc {
 public:
  /// Starts every chain at an independent draw of the proposal (not yet from p: discard a
  /// burn-in).
  NeuralMcmc(const Model& model, LogTarget log_f, const NeuralMcmcOptions& options, Rng& rng)
      : model_(&model), log_f_(std::move(log_f)), options_(options) {
    const char* function = "mam::NeuralMcmc";
    const Index d = model.num_variables();
    detail::require<value_error>(options.chains >= 1, function, "chains >= 1", options.chains);
    detail::require<value_error>(options.local_positions >= 0 && options.local_positions <= d, function,
                                 detail::concat("local_positions in 0..", d), options.local_positions);
    detail::validate_proposal_options(options.proposal, d, function);
    ProposalSamples start = draw_from_proposal(model, options.chains, rng, options.proposal, &workspace_);
    log_f_values_ = evaluate_log_target(log_f_, start.samples);
    states_ = std::move(start.samples);
    orders_ = std::move(start.orders);
    step_log_q_ = std::move(start.step_log_q);
    log_q_ = std::move(start.log_q);
  }

  /// One independent Metropolis-Hastings move of every chain; returns the share accepted.
  double independent_step(Rng& rng) {
    ProposalSamples proposal = draw_from_proposal(*model_, options_.chains, rng, options_.proposal, &workspace_);
    const Vector<double> log_f = evaluate_log_target(log_f_, proposal.samples);
    long accepted = 0;
    for (Index c = 0; c < options_.chains; ++c) {
      if (!accept(log_f[c] - proposal.log_q[c], c, rng)) continue;
      ++accepted;
      states_.col(c) = proposal.samples.col(c);
      orders_[static_cast<std::size_t>(c)] = std::move(proposal.orders[static_cast<std::size_t>(c)]);
      step_log_q_.col(c) = proposal.step_log_q.col(c);
      log_q_[c] = proposal.log_q[c];
      log_f_values_[c] = log_f[c];
    }
    return record(independent_, accepted);
  }

  /// One local move of every chain (options.local_positions >= 1); returns the share accepted.
  double local_step(Rng& rng) {
    const char* function = "mam::NeuralMcmc::local_step";
    const Index k = options_.local_positions, d = model_->num_variables();
    detail::require<value_error>(k >= 1, function, "NeuralMcmcOptions::local_positions >= 1", k);
    CodeMatrix proposed = states_;
    Orders suffixes(static_cast<std::size_t>(options_.chains));
    for (Index c = 0; c < options_.chains; ++c) {
      const auto& order = orders_[static_cast<std::size_t>(c)];
      auto& suffix = suffixes[static_cast<std::size_t>(c)];
      suffix.assign(order.end() - k, order.end());
      for (Index p : suffix) proposed(p, c) = unknown;
    }
    Matrix<double> step_log_q = step_log_q_;
    detail::draw_along_orders(model_->conditional(), proposed, suffixes, options_.proposal.temperature, rng,
                              step_log_q, d - k, &workspace_.conditional);
    const Vector<double> log_f = evaluate_log_target(log_f_, proposed);
    long accepted = 0;
    for (Index c = 0; c < options_.chains; ++c) {
      const double log_q = log_q_[c] - step_log_q_.col(c).tail(k).sum() + step_log_q.col(c).tail(k).sum();
      if (!accept(log_f[c] - log_q, c, rng)) continue;
      ++accepted;
      states_.col(c) = proposed.col(c);
      step_log_q_.col(c).tail(k) = step_log_q.col(c).tail(k);
      log_q_[c] = log_q;
      log_f_values_[c] = log_f[c];
    }
    return record(local_, accepted);
  }

  /// Replaces the chains' samples by `states` (D x chains, complete), e.g. after a move of
  /// their own that leaves p invariant, and scores them along fresh orders from the proposal's
  /// order distribution (under the joint target the order is independent of x).
  void set_states(const Eigen::Ref<const CodeMatrix>& states, Rng& rng) {
    const char* function = "mam::NeuralMcmc::set_states";
    const Index d = model_->num_variables();
    detail::require<shape_error>(states.rows() == d && states.cols() == options_.chains, function,
                                 detail::concat(d, " x ", options_.chains, " (D x chains)"),
                                 detail::concat(states.rows(), " x ", states.cols()));
    for (Index c = 0; c < states.cols(); ++c)
      for (Index i = 0; i < d; ++i)
        if (states(i, c) < 0 || states(i, c) >= model_->num_values())
          detail::fail<value_error>(function, detail::concat("complete codes in 0..", model_->num_values() - 1),
                                    detail::concat(states(i, c), " at (", i, ", ", c, ")"));
    Orders orders = options_.proposal.order.empty()
                        ? random_orders(CodeMatrix::Constant(d, options_.chains, unknown), false, rng)
                        : Orders(static_cast<std::size_t>(options_.chains), options_.proposal.order);
    CodeMatrix walked = CodeMatrix::Constant(d, options_.chains, unknown);
    Matrix<double> step_log_q(d, options_.chains);
    detail::score_along_orders(model_->conditional(), walked, orders, states, options_.proposal.temperature, step_log_q,
                               0, &workspace_.conditional);
    log_f_values_ = evaluate_log_target(log_f_, states);
    states_ = states;
    orders_ = std::move(orders);
    step_log_q_ = std::move(step_log_q);
    log_q_ = step_log_q_.colwise().sum().transpose();
  }

  /// D x chains: the current sample of every chain.
  const CodeMatrix& states() const { return states_; }
  /// The order each chain's sample is scored along.
  const Orders& orders() const { return orders_; }
  /// log q(x | sigma) of every chain's state.
  const Vector<double>& log_q() const { return log_q_; }
  /// log f(x) of every chain's state.
  const Vector<double>& log_f() const { return log_f_values_; }
  /// log w = log f - log q of every chain's state.
  Vector<double> log_weights() const { return log_f_values_ - log_q_; }
  const McmcAcceptance& independent_acceptance() const { return independent_; }
  const McmcAcceptance& local_acceptance() const { return local_; }
  const NeuralMcmcOptions& options() const { return options_; }

 private:
  // Metropolis-Hastings with one uniform per chain, drawn in chain order (reproducible).
  bool accept(double proposed_log_w, Index c, Rng& rng) const {
    const double log_ratio = proposed_log_w - (log_f_values_[c] - log_q_[c]);
    const double u = rng.uniform();
    return log_ratio >= 0.0 || std::log(u) < log_ratio;
  }

  double record(McmcAcceptance& acceptance, long accepted) {
    acceptance.proposed += options_.chains;
    acceptance.accepted += accepted;
    return static_cast<double>(accepted) / static_cast<double>(options_.chains);
  }

  const Model* model_;
  LogTarget log_f_;
  NeuralMcmcOptions options_;
  Workspace<Model> workspace_;
  CodeMatrix states_;
  Orders orders_;
  Matrix<double> step_log_q_;
  Vector<double> log_q_;
  Vector<double> log_f_values_;
  McmcAcceptance independent_, local_;
};

/// Class template argument deduction: NeuralMcmc mcmc(model, target, options, rng).
template <class Model, class LogTarget>
NeuralMcmc(const Model&, LogTarget, const NeuralMcmcOptions&, Rng&) -> NeuralMcmc<Model, LogTarget>;

}  // namespace mam
