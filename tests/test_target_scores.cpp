// mam::score_against_target against exact answers by enumeration: on 4 variables with 3
// values every state's sampler probability, marginal-net value and target value is known, so
// the reverse KL, its marginal-net twin and the marginal net's normalizer are known exactly,
// with their Monte Carlo standard errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <mam/eval/enumerate.hpp>
#include <mam/eval/target_scores.hpp>
#include <mam/mam.hpp>

#include "support/chi_square.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::Vector;

namespace {

// Neighbours that agree score 0.7, value 1 at position 0 scores 0.3.
Vector<double> agreement_log_f(const CodeMatrix& x) {
  Vector<double> values = Vector<double>::Zero(x.cols());
  for (Index c = 0; c < x.cols(); ++c) {
    for (Index i = 0; i + 1 < x.rows(); ++i) values[c] += x(i, c) == x(i + 1, c) ? 0.7 : 0.0;
    values[c] += x(0, c) == 1 ? 0.3 : 0.0;
  }
  return values;
}

// Mean and standard error of the mean of `values` over `n` draws from the distribution exp(log_q).
struct ExactMean {
  double mean = 0.0, standard_error = 0.0;
};
ExactMean exact_mean(const Vector<double>& log_q, const Vector<double>& values, Index n) {
  const Vector<double> q = log_q.array().exp();
  ExactMean result;
  result.mean = q.dot(values);
  const double variance = q.dot((values.array() - result.mean).square().matrix());
  result.standard_error = std::sqrt(variance / static_cast<double>(n));
  return result;
}

}  // namespace

TEST_CASE("score_against_target: exact per-sample scores, estimates within their error of the enumerated answers",
          "[eval]") {
  const Index d = 4, k = 3, n = 20000;
  Rng init(4);
  const auto model = mam::make_residual_model<double>(d, k, 16, 2, init);
  const std::vector<Index> order{2, 0, 3, 1};

  // Exact answers over all 81 states.
  const CodeMatrix states = mam::all_states(d, k);
  const Vector<double> log_q_all =
      model.log_likelihood_chain(states, mam::Orders(static_cast<std::size_t>(states.cols()), order));
  REQUIRE(mam::log_sum_exp(log_q_all) == Approx(0.0).margin(1e-12));  // the sampler's law along the order
  const Vector<double> log_p_all = model.log_marginal(states);
  const Vector<double> log_f_all = agreement_log_f(states);
  const double log_z = mam::log_sum_exp(log_f_all);
  const ExactMean chain_ratio = exact_mean(log_q_all, log_q_all - log_f_all, n);
  const ExactMean marginal_ratio = exact_mean(log_q_all, log_p_all - log_f_all, n);
  const ExactMean weight = exact_mean(log_q_all, (log_p_all - log_q_all).array().exp().matrix(), n);
  REQUIRE(chain_ratio.mean + log_z == Approx(mam::kl_divergence(log_q_all, log_f_all)).margin(1e-12));

  Rng rng(7);
  const mam::TargetScores scores = mam::score_against_target(model, agreement_log_f, n, order, rng, 512);
  REQUIRE(scores.samples.cols() == n);
  std::vector<double> counts(static_cast<std::size_t>(states.cols()), 0.0);
  for (Index c = 0; c < n; ++c) {
    const Index state = mam::state_index(scores.samples, c, k);
    counts[static_cast<std::size_t>(state)] += 1.0;
    CHECK(scores.log_q[c] == Approx(log_q_all[state]).margin(1e-12));
    CHECK(scores.log_p[c] == Approx(log_p_all[state]).margin(1e-12));
    CHECK(scores.log_f[c] == log_f_all[state]);
  }
  std::vector<double> probabilities(counts.size());
  for (std::size_t s = 0; s < counts.size(); ++s) probabilities[s] = std::exp(log_q_all[static_cast<Index>(s)]);
  CHECK(mam::test::chi_square_test(counts, probabilities).p_value > 1e-4);

  // Each estimate within 5 standard errors of its exact value (the normalizer's error by the
  // delta method: se(log mean w) = se(mean w) / E[w]).
  CHECK(std::abs(scores.reverse_kl(log_z) - (chain_ratio.mean + log_z)) < 5.0 * chain_ratio.standard_error);
  CHECK(std::abs(scores.reverse_kl_by_marginal(log_z) - (marginal_ratio.mean + log_z)) <
        5.0 * marginal_ratio.standard_error);
  CHECK(std::abs(scores.marginal_log_normalizer() - mam::log_sum_exp(log_p_all)) <
        5.0 * weight.standard_error / weight.mean);
  // An untrained marginal net is far from normalized, and far from the sampler: the checks
  // above tell the three quantities apart.
  CHECK(std::abs(mam::log_sum_exp(log_p_all)) > 20.0 * weight.standard_error / weight.mean);
  CHECK(std::abs(marginal_ratio.mean - chain_ratio.mean) > 20.0 * chain_ratio.standard_error);

  CHECK_THROWS_WITH(mam::score_against_target(model, agreement_log_f, 0, order, rng),
                    Catch::Contains("mam::score_against_target: expected count > 0, got 0"));
}

TEST_CASE("batched_mean of the chain-rule probabilities over all states is 1 / K^D", "[eval]") {
  Rng init(5);
  const auto model = mam::make_residual_model<double>(3, 3, 8, 2, init);
  const CodeMatrix states = mam::all_states(3, 3);
  auto probability = [&](const auto& x) {
    const mam::Orders orders(static_cast<std::size_t>(x.cols()), std::vector<Index>{1, 2, 0});
    return Vector<double>(model.log_likelihood_chain(x, orders).array().exp());
  };
  for (Index batch : {1, 4, 27}) CHECK(mam::batched_mean(states, batch, probability) == Approx(1.0 / 27.0).epsilon(1e-12));
}
