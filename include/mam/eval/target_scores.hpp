#pragma once
// How well a model fits an unnormalized target p* = f / Z, judged on the model's own samples.
// They are drawn along one fixed order, so the chain rule along that order gives each its
// exact log-probability log q(x) under the sampler; the marginal net scores the same samples
// in one pass. From the three columns (log q, log p_theta, log f):
//   the sampler's reverse KL(q || p*) = E_q[log q - log f] + log Z  (>= 0; needs the exact log Z),
//   the same with log p_theta for log q (the MaM paper's estimate, which needs no chain rule),
//   log sum_x p_theta(x) = log E_q[p_theta / q]: how far the marginal net is from normalized.

#include <algorithm>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/data/dataset.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/sample/ancestral.hpp"

namespace mam {

/// The model's samples and their three log-scores, one entry per sample.
struct TargetScores {
  CodeMatrix samples;    ///< D x count, drawn along one order
  Vector<double> log_q;  ///< the sampler's exact log-probability (chain rule along that order)
  Vector<double> log_p;  ///< the marginal net's log p_theta(x)
  Vector<double> log_f;  ///< the target's unnormalized log f(x)

  /// KL(q || p*) in nats, given the target's exact `log_z`: E_q[log q - log f] + log Z.
  double reverse_kl(double log_z) const { return (log_q - log_f).mean() + log_z; }
  /// The same with the marginal net standing in for the sampler's log q.
  double reverse_kl_by_marginal(double log_z) const { return (log_p - log_f).mean() + log_z; }
  /// log sum_x p_theta(x) by importance sampling with the sampler as proposal: 0 for a
  /// normalized marginal net (its NLL can fall below the entropy floor when it is not).
  double marginal_log_normalizer() const { return log_mean_exp(log_p - log_q); }
};

/// Draws `count` samples from `model` along `order` and scores them by the chain rule along
/// `order`, by the marginal net and by `log_f` (a callable mapping a D x n CodeMatrix to n
/// values), `batch` samples per network pass.
template <class Model, class LogTarget>
TargetScores score_against_target(const Model& model, LogTarget&& log_f, Index count, const std::vector<Index>& order,
                                  Rng& rng, Index batch = 256) {
  const char* function = "mam::score_against_target";
  detail::require<value_error>(count > 0, function, "count > 0", count);
  detail::require<value_error>(batch > 0, function, "batch > 0", batch);
  TargetScores scores;
  scores.samples = sample_ancestral(model, count, order, rng);
  scores.log_q = map_batches(scores.samples, batch, [&](const auto& x) {
    return model.log_likelihood_chain(x, Orders(static_cast<std::size_t>(x.cols()), order));
  });
  scores.log_p = map_batches(scores.samples, batch, [&](const auto& x) { return model.log_marginal(x); });
  scores.log_f = map_batches(scores.samples, batch, [&](const auto& x) { return Vector<double>(log_f(CodeMatrix(x))); });
  return scores;
}

}  // namespace mam
