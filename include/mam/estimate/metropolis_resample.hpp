#pragma once
// Censor-and-resample corrected by Metropolis-Hastings: a move on complete samples that leaves
// the target p = f / Z invariant, whatever the model. For every sample: a uniformly random
// block A of `steps` positions in a random order, redrawn from the conditionals,
//   x'_A ~ q(. | x_-A) = prod_j p_phi(x'_A(j) | x_-A, x'_A(<j)),
// and accepted with min(1, f(x') q(x_A | x_-A) / (f(x) q(x'_A | x_-A))), the reverse density
// scoring the old values along the same order. 2 * steps conditional passes, no state to keep
// between moves: the model may change from one move to the next (a training buffer).

#include <cmath>
#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/estimate/proposal.hpp"
#include "mam/loss/energy.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/model/workspace.hpp"

namespace mam {

/// One move of every column of `samples` (complete), in place. `log_f_values` holds log f of
/// every column on entry (e.g. evaluate_log_target(log_f, samples)) and is kept up to date.
/// Returns the share of samples whose move was accepted.
template <class Model, class LogTarget>
double metropolis_censor_resample(const Model& model, CodeMatrix& samples, Vector<double>& log_f_values,
                                  Index steps, LogTarget&& log_f, Rng& rng, Workspace<Model>* workspace = nullptr) {
  const char* function = "mam::metropolis_censor_resample";
  const Index d = model.num_variables(), n = samples.cols();
  validate_codes(samples, d, model.num_values(), function);
  detail::require<value_error>((samples.array() != unknown).all(), function, "complete samples", "'?' entries");
  detail::require<value_error>(steps >= 1 && steps <= d, function, detail::concat("steps in 1..", d), steps);
  detail::require<shape_error>(log_f_values.size() == n, function,
                               detail::concat("one log f value per sample (", n, ")"), log_f_values.size());
  Orders blocks(static_cast<std::size_t>(n));
  CodeMatrix proposed = samples;
  for (Index c = 0; c < n; ++c) {
    const std::vector<Index> order = rng.permutation(d);
    auto& block = blocks[static_cast<std::size_t>(c)];
    block.assign(order.end() - steps, order.end());
    for (Index p : block) proposed(p, c) = unknown;
  }
  CodeMatrix reverse = proposed;
  Workspace<Model> local;
  auto& context = detail::workspace_or(workspace, local).conditional;
  Matrix<double> forward_log_q(steps, n), reverse_log_q(steps, n);
  detail::draw_along_orders(model.conditional(), proposed, blocks, 1.0, rng, forward_log_q, 0, &context);
  detail::score_along_orders(model.conditional(), reverse, blocks, samples, 1.0, reverse_log_q, 0, &context);
  const Vector<double> proposed_log_f = evaluate_log_target(log_f, proposed);
  Index accepted = 0;
  for (Index c = 0; c < n; ++c) {
    const double log_ratio = proposed_log_f[c] - log_f_values[c] + reverse_log_q.col(c).sum() - forward_log_q.col(c).sum();
    const double u = rng.uniform();  // one per sample, accepted or not: reproducible streams
    if (log_ratio < 0.0 && !(std::log(u) < log_ratio)) continue;
    ++accepted;
    samples.col(c) = proposed.col(c);
    log_f_values[c] = proposed_log_f[c];
  }
  return n > 0 ? static_cast<double>(accepted) / static_cast<double>(n) : 0.0;
}

}  // namespace mam
