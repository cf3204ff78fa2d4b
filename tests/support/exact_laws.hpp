#pragma once
// Exact answers for models small enough to enumerate, for any MarginalizationModel: the law
// of the any-order samplers, the marginal net's consistency with its own distribution, and
// random targets with data drawn from them.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <mam/core/math.hpp>
#include <mam/core/rng.hpp>
#include <mam/core/types.hpp>
#include <mam/eval/enumerate.hpp>

namespace mam::test {

// log of the law, over all_states(D, K), of filling the unknown positions of `start` (one
// column) in a uniformly random order from the conditionals: the mean over all orders of the
// chain rule along that order; -inf on states that disagree with `start`. An all-'?' start
// gives any-order ancestral sampling. A conditional depends only on the revealed set and its
// values, so one pass over all (K+1)^D partial states gives every conditional an order
// needs; the orders are then sums of table look-ups.
template <class Model>
Vector<double> order_mixture_log_p(const Model& model, const Eigen::Ref<const CodeMatrix>& start) {
  const Index d = model.num_variables(), k = model.num_values();
  const CodeMatrix states = all_states(d, k);
  const Matrix<double> table = model.conditional_log_probs(all_partial_states(d, k));
  std::vector<Index> weight(static_cast<std::size_t>(d), 1);  // (K+1)^i: digit K means '?'
  for (Index i = 1; i < d; ++i) weight[static_cast<std::size_t>(i)] = weight[static_cast<std::size_t>(i - 1)] * (k + 1);
  const Index start_index = partial_state_index(start, 0, k);
  std::vector<Index> order;
  for (Index i = 0; i < d; ++i)
    if (start(i, 0) == unknown) order.push_back(i);
  std::vector<Vector<double>> per_order;
  do {
    Vector<double> log_p(states.cols());
    for (Index c = 0; c < states.cols(); ++c) {
      bool agrees = true;
      for (Index i = 0; i < d; ++i) agrees = agrees && (start(i, 0) == unknown || start(i, 0) == states(i, c));
      Index prefix = start_index;
      double sum = agrees ? 0.0 : -std::numeric_limits<double>::infinity();
      for (Index p : order) {
        if (!agrees) break;
        const Code value = states(p, c);
        sum += table(p * k + value, prefix);
        prefix += (value - k) * weight[static_cast<std::size_t>(p)];
      }
      log_p[c] = sum;
    }
    per_order.push_back(log_p);
  } while (std::next_permutation(order.begin(), order.end()));
  Vector<double> log_p(states.cols());
  Vector<double> values(static_cast<Index>(per_order.size()));
  for (Index c = 0; c < states.cols(); ++c) {
    for (std::size_t m = 0; m < per_order.size(); ++m) values[static_cast<Index>(m)] = per_order[m][c];
    log_p[c] = values.maxCoeff() == -std::numeric_limits<double>::infinity() ? values[0] : log_mean_exp(values);
  }
  return log_p;
}

template <class Model>
Vector<double> order_mixture_log_p(const Model& model) {
  return order_mixture_log_p(model, CodeMatrix::Constant(model.num_variables(), 1, unknown));
}

// Largest |log_marginal(x_S) - log sum over completions of p_theta(x)| over the partial
// assignments x_S with p_theta(x_S) >= min_probability, where p_theta(x) =
// exp(log_marginal(x)) normalized over complete states: is the marginal net consistent
// with its own distribution? (Rare partial states get almost no training signal: the
// self-consistency loss sees the values that data and on-policy samples contain.)
template <class Model>
double marginal_consistency_error(const Model& model, double min_probability) {
  const Index d = model.num_variables(), k = model.num_values();
  const Vector<double> log_p = normalize_log(model.log_marginal(all_states(d, k)));
  const CodeMatrix partial = all_partial_states(d, k);
  const Vector<double> exact = exact_log_marginals(log_p, d, k, partial);
  const Vector<double> error = (model.log_marginal(partial) - exact).cwiseAbs();
  double worst = 0.0;
  for (Index c = 0; c < partial.cols(); ++c)
    if (exact[c] >= std::log(min_probability)) worst = std::max(worst, error[c]);
  return worst;
}

// A random pairwise Markov random field: log p(x) = sum_i h_i(x_i) + sum_{i<j} J_ij(x_i, x_j)
// with every h and J entry ~ N(0, scale^2); normalized over all K^D states.
inline Vector<double> random_pairwise_log_p(Index d, Index k, double scale, Rng& rng) {
  std::vector<double> field(static_cast<std::size_t>(d * k)), coupling(static_cast<std::size_t>(d * d * k * k));
  for (auto& v : field) v = scale * rng.normal();
  for (auto& v : coupling) v = scale * rng.normal();
  const CodeMatrix states = all_states(d, k);
  Vector<double> log_p(states.cols());
  for (Index s = 0; s < states.cols(); ++s) {
    double value = 0.0;
    for (Index i = 0; i < d; ++i) {
      value += field[static_cast<std::size_t>(i * k + states(i, s))];
      for (Index j = i + 1; j < d; ++j)
        value += coupling[static_cast<std::size_t>(((i * d + j) * k + states(i, s)) * k + states(j, s))];
    }
    log_p[s] = value;
  }
  return normalize_log(log_p);
}

// `count` independent draws from log-probabilities over all_states(d, k).
inline CodeMatrix draw_from(const Vector<double>& log_p, Index d, Index k, Index count, Rng& rng) {
  const CodeMatrix states = all_states(d, k);
  const Vector<double> p = log_p.array().exp();
  CodeMatrix samples(d, count);
  for (Index c = 0; c < count; ++c) samples.col(c) = states.col(rng.categorical(p));
  return samples;
}

// How often each of the K^D complete states occurs among the columns of `samples`.
inline std::vector<double> state_counts(const CodeMatrix& samples, Index num_values) {
  const auto cells = static_cast<std::size_t>(std::llround(std::pow(num_values, samples.rows())));
  std::vector<double> counts(cells, 0.0);
  for (Index c = 0; c < samples.cols(); ++c)
    counts[static_cast<std::size_t>(state_index(samples, c, num_values))] += 1.0;
  return counts;
}

}  // namespace mam::test
