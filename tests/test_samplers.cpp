#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <mam/core/error.hpp>
#include <mam/core/math.hpp>
#include <mam/core/rng.hpp>
#include <mam/data/batcher.hpp>
#include <mam/eval/enumerate.hpp>
#include <mam/io/checkpoint.hpp>
#include <mam/model/order_walk.hpp>
#include <mam/model/residual.hpp>
#include <mam/sample/ancestral.hpp>
#include <mam/sample/censor_resample.hpp>
#include <mam/sample/conditional.hpp>
#include <mam/sample/options.hpp>
#include <mam/train/chain_target_pool.hpp>

#include "support/chi_square.hpp"
#include "support/exact_laws.hpp"
#include "support/values.hpp"

using mam::Code;
using mam::CodeMatrix;
using mam::Index;
using mam::Orders;
using mam::Rng;
using mam::Vector;

namespace {

using Model = mam::ResidualMarginalizationModel<double>;

// Thresholds. A correct sampler fails a chi-square test at p <= 0.001 with probability 0.001;
// the seeds are fixed, so a pass is reproducible. A wrong one (tested below) lands at p < 1e-6
// with the sample sizes used. Exact log-probabilities computed two ways agree to rounding:
// 1e-10 leaves room for sums of D log-softmax terms of size O(10).
constexpr double p_pass = 1e-3;
constexpr double p_fail = 1e-6;
constexpr double exact_tolerance = 1e-10;

struct Shape {
  Index d, k;
};

// An untrained model, widened (parameters x3) so that its conditionals are far from uniform
// and disagree between orders: every distribution below is then far from uniform and the
// order mixture differs from any single order's distribution.
Model make_untrained_model(Shape shape, std::uint64_t seed) {
  Rng rng(seed);
  Model model = mam::make_residual_model<double>(shape.d, shape.k, 16, 2, rng);
  model.marginal().parameters() *= 3.0;
  model.conditional().parameters() *= 3.0;
  return model;
}

// Own chain rule, written independently of reveal_along_orders: start from `start`, and at
// step j evaluate the WHOLE network afresh (conditional_log_probs, no incremental update) on
// the current prefix, add log p(x_p | prefix) for p = the j-th position of each column's
// order, then reveal x_p. Columns whose order is shorter simply stop.
Vector<double> own_chain(const Model& model, const CodeMatrix& x, const Orders& orders, const CodeMatrix& start) {
  const Index k = model.num_values();
  CodeMatrix state = start;
  Vector<double> total = Vector<double>::Zero(x.cols());
  std::size_t steps = 0;
  for (const auto& order : orders) steps = std::max(steps, order.size());
  for (std::size_t j = 0; j < steps; ++j) {
    const mam::Matrix<double> log_probs = model.conditional_log_probs(state);
    for (Index c = 0; c < x.cols(); ++c) {
      const auto& order = orders[static_cast<std::size_t>(c)];
      if (j >= order.size()) continue;
      const Index p = order[j];
      total[c] += log_probs(p * k + x(p, c), c);
      state(p, c) = x(p, c);
    }
  }
  return total;
}

Vector<double> own_chain(const Model& model, const CodeMatrix& x, const Orders& orders) {
  return own_chain(model, x, orders, CodeMatrix::Constant(x.rows(), x.cols(), mam::unknown));
}

Orders same_order(Index count, const std::vector<Index>& order) {
  return Orders(static_cast<std::size_t>(count), order);
}

std::vector<Index> identity_order(Index d) {
  std::vector<Index> order(static_cast<std::size_t>(d));
  std::iota(order.begin(), order.end(), Index{0});
  return order;
}

// Exact distribution over all_states(D, K) of ancestral sampling along one order.
Vector<double> order_distribution(const Model& model, const std::vector<Index>& order) {
  const CodeMatrix states = mam::all_states(model.num_variables(), model.num_values());
  return own_chain(model, states, same_order(states.cols(), order)).array().exp();
}

// Exact distribution of ancestral sampling in a uniformly random order: the mean over all D!
// orders of each order's distribution.
Vector<double> mixture_distribution(const Model& model) {
  std::vector<Index> order = identity_order(model.num_variables());
  Vector<double> total;
  int count = 0;
  do {
    const Vector<double> p = order_distribution(model, order);
    total = count == 0 ? p : Vector<double>(total + p);
    ++count;
  } while (std::next_permutation(order.begin(), order.end()));
  return total / static_cast<double>(count);
}

std::vector<double> to_std(const Vector<double>& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

using mam::test::state_counts;

double total_variation(const Vector<double>& p, const Vector<double>& q) {
  return 0.5 * (p - q).cwiseAbs().sum();
}

double entropy(const Vector<double>& p) {
  double h = 0.0;
  for (Index i = 0; i < p.size(); ++i)
    if (p[i] > 0.0) h -= p[i] * std::log(p[i]);
  return h;
}

// The model every test uses, checked to be far from uniform (entropy along the identity
// order below 0.85 of log K^D), so that a sampler ignoring the logits would be noticed.
Model make_model(Shape shape, std::uint64_t seed) {
  Model model = make_untrained_model(shape, seed);
  const double max_entropy = static_cast<double>(shape.d) * std::log(static_cast<double>(shape.k));
  REQUIRE(entropy(order_distribution(model, identity_order(shape.d))) < 0.85 * max_entropy);
  return model;
}

// `total` samples drawn `batch` at a time by `draw(count)`.
template <class Draw>
CodeMatrix draw_in_batches(Index d, Index total, Index batch, Draw&& draw) {
  CodeMatrix all(d, total);
  for (Index start = 0; start < total; start += batch) {
    const Index count = std::min(batch, total - start);
    all.middleCols(start, count) = draw(count);
  }
  return all;
}

CodeMatrix random_partial(Index d, Index k, Index batch, Rng& rng, double unknown_rate) {
  CodeMatrix x(d, batch);
  for (Index c = 0; c < batch; ++c)
    for (Index i = 0; i < d; ++i)
      x(i, c) = rng.uniform() < unknown_rate ? mam::unknown : static_cast<Code>(rng.uniform_int(k));
  return x;
}


}  // namespace

TEST_CASE("log_likelihood_chain along given orders equals an independent prefix loop", "[sample]") {
  const Shape shape = GENERATE(Shape{4, 3}, Shape{3, 2}, Shape{4, 2});
  INFO("D=" << shape.d << " K=" << shape.k);
  const Model model = make_model(shape, 311 + static_cast<std::uint64_t>(shape.d * 10 + shape.k));
  const CodeMatrix states = mam::all_states(shape.d, shape.k);
  Rng rng(17);

  // Complete x, a different random order per sample.
  const Orders orders = mam::random_orders(states, true, rng);
  const Vector<double> chain = model.log_likelihood_chain(states, orders);
  const Vector<double> mine = own_chain(model, states, orders);
  CHECK((chain - mine).cwiseAbs().maxCoeff() < exact_tolerance);

  // For a fixed order the chain is a normalized distribution over all K^D states.
  for (const auto& order : {identity_order(shape.d), rng.permutation(shape.d)}) {
    const Vector<double> along = model.log_likelihood_chain(states, same_order(states.cols(), order));
    CHECK(along.array().exp().sum() == Approx(1.0).epsilon(1e-12));
    CHECK((along - own_chain(model, states, same_order(states.cols(), order))).cwiseAbs().maxCoeff() <
          exact_tolerance);
  }

  // Partial x: a random order of its known positions.
  const CodeMatrix partial = random_partial(shape.d, shape.k, 40, rng, 0.4);
  const Orders known_orders = mam::random_orders(partial, true, rng);
  const Vector<double> partial_chain = model.log_likelihood_chain(partial, known_orders);
  CHECK((partial_chain - own_chain(model, partial, known_orders)).cwiseAbs().maxCoeff() < exact_tolerance);
  for (Index c = 0; c < partial.cols(); ++c)
    if ((partial.col(c).array() == mam::unknown).all()) CHECK(partial_chain[c] == 0.0);

  // Orders naming an unknown position, or of the wrong count, are refused.
  Orders bad = known_orders;
  Index column = 0;
  while ((partial.col(column).array() != mam::unknown).all()) ++column;
  for (Index i = 0; i < shape.d; ++i)
    if (partial(i, column) == mam::unknown) bad[static_cast<std::size_t>(column)].push_back(i);
  CHECK_THROWS_AS(model.log_likelihood_chain(partial, bad), mam::value_error);
  CHECK_THROWS_AS(model.log_likelihood_chain(partial, Orders(3)), mam::shape_error);
}

TEST_CASE("log_likelihood_chain with n_orders is the log-mean-exp over random orders", "[sample]") {
  const Shape shape{4, 3};
  const Model model = make_model(shape, 311);
  Rng data_rng(5);
  const CodeMatrix x = random_partial(shape.d, shape.k, 7, data_rng, 0.3);
  for (Index m : {Index{1}, Index{2}, Index{5}}) {
    INFO("n_orders " << m);
    const std::uint64_t seed = 900 + static_cast<std::uint64_t>(m);
    Rng rng(seed);
    const Vector<double> estimate = model.log_likelihood_chain(x, m, rng);

    // Reproduce: the same seed gives the same orders of the M copies (columns m*batch + c).
    Rng replay(seed);
    CodeMatrix repeated(x.rows(), x.cols() * m);
    for (Index r = 0; r < m; ++r) repeated.middleCols(r * x.cols(), x.cols()) = x;
    const Orders orders = mam::random_orders(repeated, true, replay);
    const Vector<double> per_order = own_chain(model, repeated, orders);
    for (Index c = 0; c < x.cols(); ++c) {
      Vector<double> values(m);
      for (Index r = 0; r < m; ++r) values[r] = per_order[r * x.cols() + c];
      // log(mean(exp)) written out directly (values are O(10): no overflow).
      const double expected = std::log(values.array().exp().mean());
      CHECK(std::abs(estimate[c] - expected) < exact_tolerance);
    }
    CHECK(rng == replay);  // it drew nothing else
  }
  Rng rng(1);
  CHECK_THROWS_AS(model.log_likelihood_chain(x, Index{0}, rng), mam::value_error);
}

TEST_CASE("log_likelihood_chain of a partial assignment sums the chain over its completions", "[sample]") {
  // Brute force: along an order that reveals the known positions S first and the rest R
  // after, exp(chain over S) = sum over completions x_R of exp(chain over S then R), because
  // the conditionals of R given anything sum to one. Checked on every partial state.
  const Shape shape{4, 3};
  const Model model = make_model(shape, 331);
  const CodeMatrix states = mam::all_states(shape.d, shape.k);
  const CodeMatrix partials = mam::all_partial_states(shape.d, shape.k);
  Rng rng(23);
  const Orders known_orders = mam::random_orders(partials, true, rng);
  const Vector<double> chain = model.log_likelihood_chain(partials, known_orders);
  for (Index c = 0; c < partials.cols(); ++c) {
    std::vector<Index> order = known_orders[static_cast<std::size_t>(c)];
    std::vector<Index> rest;
    for (Index i = 0; i < shape.d; ++i)
      if (partials(i, c) == mam::unknown) rest.push_back(i);
    rng.shuffle(rest);
    order.insert(order.end(), rest.begin(), rest.end());
    std::vector<Index> completions;
    for (Index s = 0; s < states.cols(); ++s)
      if (((partials.col(c).array() == mam::unknown) || (partials.col(c).array() == states.col(s).array())).all())
        completions.push_back(s);
    const CodeMatrix full = mam::gather_columns(states, completions);
    const Vector<double> along = own_chain(model, full, same_order(full.cols(), order));
    INFO("partial state " << c);
    CHECK(std::abs(chain[c] - mam::log_sum_exp(along)) < exact_tolerance);
  }
}

TEST_CASE("log_conditional_chain is the chain rule of x_A given x_B", "[sample]") {
  const Shape shape{4, 3};
  const Model model = make_model(shape, 341);
  const CodeMatrix states = mam::all_states(shape.d, shape.k);
  Rng rng(29);
  // given: each state with a random subset B kept; A: the rest (all of it known in joint).
  CodeMatrix given = states;
  for (Index c = 0; c < given.cols(); ++c)
    for (Index i = 0; i < shape.d; ++i)
      if (rng.uniform() < 0.5) given(i, c) = mam::unknown;
  const Orders a_orders = mam::random_orders(given, false, rng);
  const Orders b_orders = mam::random_orders(given, true, rng);
  const Vector<double> conditional = model.log_conditional_chain(states, given, a_orders);

  // Against the independent loop started from x_B, and as a difference of two chains.
  CHECK((conditional - own_chain(model, states, a_orders, given)).cwiseAbs().maxCoeff() < exact_tolerance);
  Orders b_then_a = b_orders;
  for (std::size_t c = 0; c < b_then_a.size(); ++c)
    b_then_a[c].insert(b_then_a[c].end(), a_orders[c].begin(), a_orders[c].end());
  const Vector<double> difference =
      model.log_likelihood_chain(states, b_then_a) - model.log_likelihood_chain(given, b_orders);
  CHECK((conditional - difference).cwiseAbs().maxCoeff() < exact_tolerance);

  // Brute force: for a fixed B, its values and a fixed order of A, the conditional is a
  // normalized distribution over the K^|A| values of x_A.
  const std::vector<Index> order_a{3, 0};
  for (Index b_state = 0; b_state < shape.k * shape.k; ++b_state) {
    std::vector<Index> columns;
    for (Index s = 0; s < states.cols(); ++s)
      if (states(2, s) * shape.k + states(1, s) == b_state) columns.push_back(s);
    const CodeMatrix joint = mam::gather_columns(states, columns);
    CodeMatrix b_only = joint;
    b_only.row(0).setConstant(mam::unknown);
    b_only.row(3).setConstant(mam::unknown);
    const Vector<double> p = model.log_conditional_chain(joint, b_only, same_order(joint.cols(), order_a));
    CHECK(p.array().exp().sum() == Approx(1.0).epsilon(1e-12));
  }

  // With n_orders: the log-mean-exp over random orders of A, replayable from the seed; with
  // nothing given it is log_likelihood_chain, draw for draw.
  Rng estimate_rng(31), replay(31);
  const Vector<double> estimate = model.log_conditional_chain(states, given, 3, estimate_rng);
  CodeMatrix repeated(shape.d, 3 * states.cols()), repeated_given(shape.d, 3 * states.cols());
  for (Index m = 0; m < 3; ++m) {
    repeated.middleCols(m * states.cols(), states.cols()) = states;
    repeated_given.middleCols(m * states.cols(), states.cols()) = given;
  }
  const Orders replayed = mam::random_orders(repeated_given, false, replay);
  const Vector<double> per_order = own_chain(model, repeated, replayed, repeated_given);
  for (Index c = 0; c < states.cols(); ++c) {
    const double expected = std::log((std::exp(per_order[c]) + std::exp(per_order[states.cols() + c]) +
                                      std::exp(per_order[2 * states.cols() + c])) / 3.0);
    CHECK(std::abs(estimate[c] - expected) < exact_tolerance);
  }
  CHECK(estimate_rng == replay);
  Rng a(37), b(37);
  const CodeMatrix nothing = CodeMatrix::Constant(shape.d, states.cols(), mam::unknown);
  CHECK((model.log_conditional_chain(states, nothing, 2, a) - model.log_likelihood_chain(states, 2, b))
            .cwiseAbs()
            .maxCoeff() == 0.0);

  // Refused: given entries that differ from joint, orders naming a given position, shapes.
  CodeMatrix wrong = given;
  Index column = 0;
  while ((given.col(column).array() == mam::unknown).all()) ++column;
  Index known = 0;
  while (given(known, column) == mam::unknown) ++known;
  wrong(known, column) = (given(known, column) + 1) % static_cast<Code>(shape.k);
  CHECK_THROWS_AS(model.log_conditional_chain(states, wrong, a_orders), mam::value_error);
  Orders bad = a_orders;
  bad[static_cast<std::size_t>(column)].push_back(known);
  CHECK_THROWS_AS(model.log_conditional_chain(states, given, bad), mam::value_error);
  CHECK_THROWS_AS(model.log_conditional_chain(states, given.leftCols(3), a_orders), mam::shape_error);
  CHECK_THROWS_AS(model.log_conditional_chain(states, given, Index{0}, a), mam::value_error);
}

TEST_CASE("sample_ancestral along a given order matches that order's exact distribution", "[sample]") {
  const Shape shape = GENERATE(Shape{4, 3}, Shape{3, 2});
  INFO("D=" << shape.d << " K=" << shape.k);
  const Model model = make_model(shape, 321 + static_cast<std::uint64_t>(shape.k));
  Rng order_rng(3);
  const std::vector<Index> order = order_rng.permutation(shape.d);
  const Vector<double> exact = order_distribution(model, order);
  REQUIRE(exact.sum() == Approx(1.0).epsilon(1e-12));
  const Index total = 40000;

  Rng rng(1234);
  const CodeMatrix samples = draw_in_batches(shape.d, total, 5000, [&](Index count) {
    return mam::sample_ancestral(model, count, order, rng);
  });
  REQUIRE((samples.array() != mam::unknown).all());
  const auto good = mam::test::chi_square_test(state_counts(samples, shape.k), to_std(exact));
  INFO("chi-square " << good.statistic << " dof " << good.degrees_of_freedom);
  CHECK(good.degrees_of_freedom >= static_cast<int>(exact.size()) / 3);
  CHECK(good.p_value > p_pass);

  // The same test rejects a wrong sampler: temperature 2 flattens every conditional.
  mam::SamplingOptions hot;
  hot.temperature = 2.0;
  const CodeMatrix wrong = draw_in_batches(shape.d, total, 5000, [&](Index count) {
    return mam::sample_ancestral(model, count, order, rng, hot);
  });
  CHECK(mam::test::chi_square_test(state_counts(wrong, shape.k), to_std(exact)).p_value < p_fail);

  // Invalid orders and options are refused.
  CHECK_THROWS_AS(mam::sample_ancestral(model, 3, std::vector<Index>{0, 1}, rng), mam::value_error);
  std::vector<Index> repeated_position = order;
  repeated_position[0] = repeated_position[1];
  CHECK_THROWS_AS(mam::sample_ancestral(model, 3, repeated_position, rng), mam::value_error);
  CHECK_THROWS_AS(mam::sample_ancestral(model, -1, order, rng), mam::value_error);
  mam::SamplingOptions cold;
  cold.temperature = 0.0;
  CHECK_THROWS_AS(mam::sample_ancestral(model, 3, order, rng, cold), mam::value_error);
  CHECK(mam::sample_ancestral(model, 0, order, rng).cols() == 0);
}

TEST_CASE("sample_ancestral in random orders matches the exact order mixture", "[sample]") {
  const Shape shape = GENERATE(Shape{4, 3}, Shape{4, 2});
  INFO("D=" << shape.d << " K=" << shape.k);
  const Model model = make_model(shape, 330 + static_cast<std::uint64_t>(shape.k));
  const Vector<double> mixture = mixture_distribution(model);
  REQUIRE(mixture.sum() == Approx(1.0).epsilon(1e-12));
  const Index total = 40000;

  Rng rng(4321);
  const CodeMatrix samples = draw_in_batches(shape.d, total, 5000, [&](Index count) {
    return mam::sample_ancestral(model, count, rng);
  });
  const auto good = mam::test::chi_square_test(state_counts(samples, shape.k), to_std(mixture));
  INFO("chi-square " << good.statistic << " dof " << good.degrees_of_freedom);
  CHECK(good.p_value > p_pass);

  // A sampler that always used one order would fail: the untrained model's orders disagree.
  const std::vector<Index> order = identity_order(shape.d);
  const Vector<double> single = order_distribution(model, order);
  REQUIRE(total_variation(single, mixture) > 0.05);
  const CodeMatrix fixed = draw_in_batches(shape.d, total, 5000, [&](Index count) {
    return mam::sample_ancestral(model, count, order, rng);
  });
  CHECK(mam::test::chi_square_test(state_counts(fixed, shape.k), to_std(mixture)).p_value < p_fail);
}

TEST_CASE("sample_conditional matches the exact mixture over orders of the unknown positions",
          "[sample]") {
  const Shape shape{4, 3};
  const Model model = make_model(shape, 341);
  const Index d = shape.d, k = shape.k;
  // Three partial assignments in one batch, so orders of different lengths share the walk.
  CodeMatrix partials(d, 3);
  partials.col(0) << 1, mam::unknown, mam::unknown, 0;
  partials.col(1) << mam::unknown, 2, mam::unknown, mam::unknown;
  partials.col(2).setConstant(mam::unknown);

  const Index per_partial = 15000;
  CodeMatrix batch(d, 3 * per_partial);
  for (Index c = 0; c < batch.cols(); ++c) batch.col(c) = partials.col(c % 3);
  Rng rng(55);
  const CodeMatrix samples = mam::sample_conditional(model, batch, rng);

  REQUIRE(samples.cols() == batch.cols());
  CHECK((samples.array() != mam::unknown).all());
  bool known_kept = true;
  for (Index c = 0; c < batch.cols(); ++c)
    for (Index i = 0; i < d; ++i)
      if (batch(i, c) != mam::unknown && samples(i, c) != batch(i, c)) known_kept = false;
  CHECK(known_kept);

  const CodeMatrix states = mam::all_states(d, k);
  for (Index which = 0; which < 3; ++which) {
    INFO("partial " << which);
    // Exact: every completion y of the partial, probability = mean over all orders of the
    // unknown positions of the product of conditionals starting from the known entries.
    std::vector<Index> unknowns;
    for (Index i = 0; i < d; ++i)
      if (partials(i, which) == mam::unknown) unknowns.push_back(i);
    const CodeMatrix start = partials.col(which).replicate(1, states.cols());
    Vector<double> exact = Vector<double>::Zero(states.cols());
    std::vector<bool> consistent(static_cast<std::size_t>(states.cols()), true);
    for (Index s = 0; s < states.cols(); ++s)
      for (Index i = 0; i < d; ++i)
        if (partials(i, which) != mam::unknown && states(i, s) != partials(i, which))
          consistent[static_cast<std::size_t>(s)] = false;
    std::vector<Index> order = unknowns;
    int orders = 0;
    do {
      const Vector<double> p = own_chain(model, states, same_order(states.cols(), order), start).array().exp();
      for (Index s = 0; s < states.cols(); ++s)
        if (consistent[static_cast<std::size_t>(s)]) exact[s] += p[s];
      ++orders;
    } while (std::next_permutation(order.begin(), order.end()));
    exact /= static_cast<double>(orders);
    REQUIRE(exact.sum() == Approx(1.0).epsilon(1e-12));

    CodeMatrix mine(d, per_partial);
    for (Index j = 0; j < per_partial; ++j) mine.col(j) = samples.col(3 * j + which);
    const auto result = mam::test::chi_square_test(state_counts(mine, k), to_std(exact));
    INFO("chi-square " << result.statistic << " dof " << result.degrees_of_freedom);
    CHECK(result.degrees_of_freedom >= 2);
    CHECK(result.p_value > p_pass);

    // Fixed-order filling would not pass for the partials with more than one unknown.
    if (unknowns.size() >= 2) {
      const Vector<double> one_order =
          own_chain(model, states, same_order(states.cols(), unknowns), start).array().exp();
      Vector<double> masked = Vector<double>::Zero(states.cols());
      for (Index s = 0; s < states.cols(); ++s)
        if (consistent[static_cast<std::size_t>(s)]) masked[s] = one_order[s];
      CHECK(total_variation(masked, exact) > 0.02);
    }
  }

  // A complete input comes back unchanged; an invalid code is refused.
  const CodeMatrix complete = mam::sample_ancestral(model, 5, rng);
  CHECK(mam::sample_conditional(model, complete, rng) == complete);
  CodeMatrix bad = partials;
  bad(0, 0) = static_cast<Code>(k);
  CHECK_THROWS_AS(mam::sample_conditional(model, bad, rng), mam::value_error);
}

TEST_CASE("censor_resample: steps = D is ancestral sampling, fewer steps change at most steps positions",
          "[sample]") {
  const Shape shape{4, 3};
  const Index d = shape.d, k = shape.k;
  const Model model = make_model(shape, 351);
  Rng rng(66);

  SECTION("steps = D from any buffer gives samples of the order mixture") {
    const Vector<double> mixture = mixture_distribution(model);
    const Index total = 40000;
    CodeMatrix buffer(d, total);
    buffer.setZero();  // a buffer that is nothing like the model's samples
    buffer.rightCols(total / 2) = random_partial(d, k, total / 2, rng, 0.0);
    mam::censor_resample(model, buffer, d, rng);
    const auto result = mam::test::chi_square_test(state_counts(buffer, k), to_std(mixture));
    INFO("chi-square " << result.statistic << " dof " << result.degrees_of_freedom);
    CHECK(result.p_value > p_pass);
    // The half that started at all zeros alone: it keeps no trace of its start.
    const auto left = mam::test::chi_square_test(state_counts(buffer.leftCols(total / 2), k), to_std(mixture));
    CHECK(left.p_value > p_pass);
  }
  SECTION("steps = 0 leaves the buffer unchanged") {
    const CodeMatrix start = random_partial(d, k, 50, rng, 0.0);
    CodeMatrix buffer = start;
    mam::censor_resample(model, buffer, 0, rng);
    CHECK(buffer == start);
  }
  SECTION("0 < steps < D changes at most steps positions, and does change some") {
    const CodeMatrix start = random_partial(d, k, 2000, rng, 0.0);
    for (Index steps = 1; steps < d; ++steps) {
      INFO("steps " << steps);
      CodeMatrix buffer = start;
      mam::censor_resample(model, buffer, steps, rng);
      CHECK((buffer.array() != mam::unknown).all());
      Index worst = 0, changed_columns = 0;
      for (Index c = 0; c < buffer.cols(); ++c) {
        const Index changed = (buffer.col(c).array() != start.col(c).array()).count();
        worst = std::max(worst, changed);
        if (changed > 0) ++changed_columns;
      }
      CHECK(worst <= steps);
      CHECK(worst == steps);  // with 2000 samples every count up to `steps` occurs
      CHECK(changed_columns > buffer.cols() / 3);
    }
  }
  SECTION("steps = 1 resamples one uniformly random position from its exact conditional") {
    CodeMatrix start(d, 1);
    start << 2, 0, 1, 1;
    // Exact: (1/D) sum_p p_phi(x_p = v | the rest) placed at position p.
    const CodeMatrix states = mam::all_states(d, k);
    Vector<double> exact = Vector<double>::Zero(states.cols());
    for (Index p = 0; p < d; ++p) {
      CodeMatrix censored = start;
      censored(p, 0) = mam::unknown;
      const mam::Matrix<double> log_probs = model.conditional_log_probs(censored);
      for (Code v = 0; v < k; ++v) {
        CodeMatrix filled = start;
        filled(p, 0) = v;
        exact[mam::state_index(filled, 0, k)] += std::exp(log_probs(p * k + v, 0)) / static_cast<double>(d);
      }
    }
    const Index total = 20000;
    CodeMatrix buffer = start.replicate(1, total);
    mam::censor_resample(model, buffer, 1, rng);
    const auto result = mam::test::chi_square_test(state_counts(buffer, k), to_std(exact));
    INFO("chi-square " << result.statistic << " dof " << result.degrees_of_freedom);
    CHECK(result.degrees_of_freedom >= 4);
    CHECK(result.p_value > p_pass);
  }
  SECTION("invalid steps and '?' or bad codes in the buffer are refused") {
    CodeMatrix buffer = random_partial(d, k, 5, rng, 0.0);
    const CodeMatrix saved = buffer;
    CHECK_THROWS_AS(mam::censor_resample(model, buffer, -1, rng), mam::value_error);
    CHECK_THROWS_AS(mam::censor_resample(model, buffer, d + 1, rng), mam::value_error);
    CHECK(buffer == saved);
    buffer(1, 3) = mam::unknown;
    CHECK_THROWS_AS(mam::censor_resample(model, buffer, 1, rng), mam::value_error);
    buffer(1, 3) = static_cast<Code>(k);
    CHECK_THROWS_AS(mam::censor_resample(model, buffer, 1, rng), mam::value_error);
    CodeMatrix wrong_rows = CodeMatrix::Zero(d + 1, 2);
    CHECK_THROWS_AS(mam::censor_resample(model, wrong_rows, 1, rng), mam::shape_error);
  }
}

TEST_CASE("greedy sampling takes the arg-max at every step, and seeds reproduce samples", "[sample]") {
  const Shape shape = GENERATE(Shape{4, 3}, Shape{3, 2});
  INFO("D=" << shape.d << " K=" << shape.k);
  const Index d = shape.d, k = shape.k;
  const Model model = make_model(shape, 361 + static_cast<std::uint64_t>(k));
  mam::SamplingOptions greedy;
  greedy.greedy = true;

  std::vector<Index> reversed = identity_order(d);
  std::reverse(reversed.begin(), reversed.end());
  for (const auto& order : {identity_order(d), reversed}) {
    Rng rng_a(1), rng_b(2);
    const CodeMatrix a = mam::sample_ancestral(model, 6, order, rng_a, greedy);
    const CodeMatrix b = mam::sample_ancestral(model, 6, order, rng_b, greedy);
    CHECK(a == b);
    // Own loop: full forward pass on the prefix, arg-max of the position's log-probs.
    CodeMatrix state = CodeMatrix::Constant(d, 1, mam::unknown);
    for (Index p : order) {
      const mam::Matrix<double> log_probs = model.conditional_log_probs(state);
      Index best = 0;
      log_probs.col(0).segment(p * k, k).maxCoeff(&best);
      state(p, 0) = static_cast<Code>(best);
    }
    for (Index c = 0; c < a.cols(); ++c) CHECK(a.col(c) == state.col(0));
  }

  // Same seed, same samples; another seed, other samples.
  Rng first(99), second(99), other(100);
  const CodeMatrix x1 = mam::sample_ancestral(model, 300, first);
  const CodeMatrix x2 = mam::sample_ancestral(model, 300, second);
  const CodeMatrix x3 = mam::sample_ancestral(model, 300, other);
  CHECK(x1 == x2);
  CHECK(first == second);
  CHECK(x1 != x3);
  CodeMatrix buffer1 = x1, buffer2 = x1;
  mam::censor_resample(model, buffer1, 2, first);
  mam::censor_resample(model, buffer2, 2, second);
  CHECK(buffer1 == buffer2);
}

TEST_CASE("MarginalizationModel: log_marginal, log_conditional and consistency_residual", "[sample]") {
  const Shape shape{4, 3};
  const Index d = shape.d, k = shape.k;
  Model model = make_model(shape, 371);
  Rng rng(77);

  // all_unknown normalization: log p(all ?) = f(all ?) - f(all ?) = 0, whichever column of
  // the pass it sits in; to rounding only, since a GEMM may sum a column of its last partial
  // panel in another order than the others (it does with AVX2's 4-column double panels).
  CodeMatrix mixed = random_partial(d, k, 9, rng, 0.5);
  mixed.col(0).setConstant(1);  // column 0 known: it must not double as the normalizer
  mixed.col(2).setConstant(mam::unknown);
  mixed.col(4).setConstant(mam::unknown);
  mixed.col(8).setConstant(mam::unknown);
  const Vector<double> log_p = model.log_marginal(mixed);
  for (Index empty : {2, 4, 8}) CHECK(std::abs(log_p[empty]) < 1e-13);
  CHECK(model.log_marginal(CodeMatrix::Constant(d, 1, mam::unknown))[0] == 0.0);  // the same column
  const Vector<double> f = model.marginal_outputs(mixed);
  const double f_empty = model.marginal_outputs(CodeMatrix::Constant(d, 1, mam::unknown))[0];
  CHECK((log_p.array() - (f.array() - f_empty)).abs().maxCoeff() < 1e-12);
  CHECK(log_p.cwiseAbs().maxCoeff() > 0.1);  // not trivially zero everywhere

  // log_z normalization: f - log_z.
  model.set_normalization(mam::Normalization::log_z);
  model.set_log_z(1.25);
  CHECK((model.log_marginal(mixed).array() - (f.array() - 1.25)).abs().maxCoeff() < 1e-12);
  model.set_normalization(mam::Normalization::all_unknown);

  // log_conditional(joint, given) = log_marginal(joint) - log_marginal(given).
  const CodeMatrix joint = random_partial(d, k, 12, rng, 0.2);
  CodeMatrix given = joint;
  for (Index c = 0; c < given.cols(); ++c)
    for (Index i = 0; i < d; ++i)
      if (rng.uniform() < 0.5) given(i, c) = mam::unknown;
  const Vector<double> conditional = model.log_conditional(joint, given);
  const Vector<double> difference = model.log_marginal(joint) - model.log_marginal(given);
  CHECK((conditional - difference).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(model.log_conditional(joint, joint).isZero(0.0));

  CodeMatrix lacking = given;
  Index column = 0;
  while ((joint.col(column).array() != mam::unknown).all()) ++column;
  Index position = 0;
  while (joint(position, column) != mam::unknown) ++position;
  lacking(position, column) = 0;  // given knows a position joint leaves unknown
  CHECK_THROWS_AS(model.log_conditional(joint, lacking), mam::value_error);
  CodeMatrix disagreeing = joint;
  Index known = 0;
  while (joint(known, 1) == mam::unknown) ++known;
  disagreeing(known, 1) = static_cast<Code>((joint(known, 1) + 1) % k);
  CHECK_THROWS_AS(model.log_conditional(joint, disagreeing), mam::value_error);
  CHECK_THROWS_AS(model.log_conditional(joint, given.leftCols(3)), mam::shape_error);

  // consistency_residual: 0 for a sample with no known position; otherwise, reproduced with
  // the same seed, f(x without j) + log p(x_j | x without j) - f(x) for the drawn j.
  const std::uint64_t seed = 4242;
  Rng residual_rng(seed);
  const Vector<double> residual = model.consistency_residual(mixed, residual_rng);
  CHECK(residual[2] == 0.0);
  CHECK(residual[4] == 0.0);
  CHECK(residual[8] == 0.0);
  Rng replay(seed);
  for (Index c = 0; c < mixed.cols(); ++c) {
    std::vector<Index> known_positions;
    for (Index i = 0; i < d; ++i)
      if (mixed(i, c) != mam::unknown) known_positions.push_back(i);
    if (known_positions.empty()) continue;
    const Index j = known_positions[static_cast<std::size_t>(replay.uniform_int(known_positions.size()))];
    CodeMatrix without = mixed.col(c);
    without(j, 0) = mam::unknown;
    const double expected = model.marginal_outputs(without)[0] +
                            model.conditional_log_probs(without)(j * k + mixed(j, c), 0) -
                            model.marginal_outputs(mixed.col(c))[0];
    CHECK(residual[c] == Approx(expected).margin(1e-10));
  }
  CHECK(residual.cwiseAbs().maxCoeff() > 0.1);  // an untrained model is inconsistent
}

namespace {

// The order of pool sequence s as an Orders entry, cut after `length` positions.
std::vector<Index> pool_order(const mam::ChainTargetPool& pool, Index s, Index length) {
  std::vector<Index> order;
  for (Index j = 0; j < length; ++j) order.push_back(pool.orders()(j, s));
  return order;
}

// Every chain sum of the pool against own_chain (full network passes, no incremental
// updates) along a prefix of the stored order.
double worst_chain_sum_error(const Model& model, const mam::ChainTargetPool& pool) {
  const Index d = pool.num_variables();
  double worst = 0.0;
  for (Index j = 0; j <= d; ++j) {
    Orders prefixes;
    for (Index s = 0; s < pool.size(); ++s) prefixes.push_back(pool_order(pool, s, j));
    const CodeMatrix sequences = pool.sequences();
    const Vector<double> expected = own_chain(model, sequences, prefixes);
    worst = std::max(worst, (pool.chain_sums().row(j).transpose() - expected).cwiseAbs().maxCoeff());
  }
  return worst;
}

}  // namespace

TEST_CASE("ChainTargetPool: every prefix sum is the chain rule along the stored order", "[sample][pool]") {
  const Shape shape{5, 3};
  const Model model = make_model(shape, 601);
  Rng rng(602);
  CodeMatrix data(shape.d, 7);
  for (Index c = 0; c < data.cols(); ++c)
    for (Index i = 0; i < shape.d; ++i) data(i, c) = static_cast<Code>(rng.uniform_int(shape.k));
  mam::ChainTargetPool pool(shape.d, 20);
  pool.add_data(model, data, rng);
  REQUIRE(pool.size() == 7);
  CHECK(pool.sequences() == data);  // data go in as they are
  pool.add_samples(model, 6, rng);
  REQUIRE(pool.size() == 13);
  CHECK((pool.sequences().array() != mam::unknown).all());
  for (Index s = 0; s < pool.size(); ++s) {  // every order is a permutation
    std::vector<Index> order = pool_order(pool, s, shape.d);
    std::sort(order.begin(), order.end());
    CHECK(order == identity_order(shape.d));
  }
  // Data and samples in one walk: the data columns first, as they are, then the samples.
  pool.add(model, data.leftCols(3), 4, rng);
  REQUIRE(pool.size() == 20);
  CHECK(pool.sequences().middleCols(13, 3) == data.leftCols(3));
  CHECK((pool.sequences().array() != mam::unknown).all());
  CHECK(pool.chain_sums().row(0).isZero(0.0));
  CHECK(pool.chain_sums().row(shape.d).maxCoeff() < -0.1);
  CHECK(worst_chain_sum_error(model, pool) < exact_tolerance);

  // Refusals: '?' in data, codes out of range, a model of another size, negative counts.
  CodeMatrix partial = data;
  partial(2, 3) = mam::unknown;
  CHECK_THROWS_WITH(pool.add_data(model, partial, rng),
                    Catch::StartsWith("mam::ChainTargetPool::add:") && Catch::Contains("complete samples"));
  CHECK_THROWS_AS(pool.add(model, data, -1, rng), mam::value_error);
  CodeMatrix out_of_range = data;
  out_of_range(0, 0) = 3;
  CHECK_THROWS_AS(pool.add_data(model, out_of_range, rng), mam::value_error);
  const Model wider = make_model(Shape{4, 3}, 603);
  CHECK_THROWS_AS(pool.add_samples(wider, 2, rng), mam::shape_error);
  CHECK_THROWS_AS(pool.add_samples(model, -1, rng), mam::value_error);
  pool.add_samples(model, 0, rng);
  pool.add_data(model, CodeMatrix(shape.d, 0), rng);
  pool.add(model, CodeMatrix(shape.d, 0), 0, rng);
  CHECK(pool.size() == 20);  // nothing replaced by the refused or empty calls (the ring is full:
  CHECK(pool.sequences().leftCols(7) == data);  // the oldest columns would go first)
  CHECK_THROWS_AS(mam::ChainTargetPool(shape.d, 0), mam::value_error);
}

TEST_CASE("ChainTargetPool::add_partly_resampled keeps a prefix of each data point and draws the rest",
          "[sample][pool]") {
  const Shape shape{4, 3};
  const Model model = make_model(shape, 631);
  CodeMatrix x(shape.d, 1);
  x << 2, 0, 1, 2;
  const Index kept = 2, total = 30000, chunk = 5000;
  mam::ChainTargetPool pool(shape.d, total);
  Rng rng(632);
  for (Index done = 0; done < total; done += chunk)
    pool.add_partly_resampled(model, x.replicate(1, chunk), std::vector<Index>(chunk, kept), 0, rng);
  REQUIRE(pool.size() == total);
  // Every sequence holds x on the first `kept` positions of its order.
  Index kept_wrong = 0;
  for (Index s = 0; s < total; ++s)
    for (Index j = 0; j < kept; ++j) kept_wrong += pool.sequences()(pool.orders()(j, s), s) != x(pool.orders()(j, s), 0);
  CHECK(kept_wrong == 0);

  // The exact law: the mean over all orders of "x on the first two positions, the
  // conditionals' draws on the last two" (own_chain from a state with those two known).
  const CodeMatrix states = mam::all_states(shape.d, shape.k);
  Vector<double> exact = Vector<double>::Zero(states.cols());
  std::vector<Index> order = identity_order(shape.d);
  int orders = 0;
  do {
    const std::vector<Index> rest(order.begin() + kept, order.end());
    CodeMatrix given = states;
    for (Index p : rest) given.row(p).setConstant(mam::unknown);
    const Vector<double> log_p = own_chain(model, states, same_order(states.cols(), rest), given);
    for (Index c = 0; c < states.cols(); ++c)
      if (states(order[0], c) == x(order[0], 0) && states(order[1], c) == x(order[1], 0)) exact[c] += std::exp(log_p[c]);
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  exact /= orders;
  REQUIRE(exact.sum() == Approx(1.0).epsilon(1e-12));
  const auto good = mam::test::chi_square_test(state_counts(pool.sequences(), shape.k), to_std(exact));
  INFO("chi-square " << good.statistic << " dof " << good.degrees_of_freedom);
  CHECK(good.p_value > p_pass);
  // The same test rejects plain ancestral samples (nothing kept).
  mam::ChainTargetPool samples(shape.d, total);
  for (Index done = 0; done < total; done += chunk) samples.add_samples(model, chunk, rng);
  CHECK(mam::test::chi_square_test(state_counts(samples.sequences(), shape.k), to_std(exact)).p_value < p_fail);

  // Chain sums stay the chain rule; kept = D is the data point, 0 a sample; refusals.
  mam::ChainTargetPool few(shape.d, 12);
  CodeMatrix data(shape.d, 3);
  data << 0, 1, 2, 1, 1, 0, 2, 0, 1, 0, 2, 2;
  few.add_partly_resampled(model, data, {shape.d, 0, 3}, 9, rng);
  REQUIRE(few.size() == 12);
  CHECK(few.sequences().col(0) == data.col(0));
  CHECK((few.sequences().array() != mam::unknown).all());
  CHECK(worst_chain_sum_error(model, few) < exact_tolerance);
  CHECK_THROWS_WITH(few.add_partly_resampled(model, data, {1, 2}, 0, rng),
                    Catch::StartsWith("mam::ChainTargetPool::add_partly_resampled:") &&
                        Catch::Contains("a kept count per data column (3)"));
  CHECK_THROWS_WITH(few.add_partly_resampled(model, data, {1, 5, 0}, 0, rng), Catch::Contains("kept counts in 0..4"));
  CHECK_THROWS_AS(few.add_partly_resampled(model, data, {1, -1, 0}, 0, rng), mam::value_error);
  CHECK(few.sequences().col(0) == data.col(0));  // nothing added by the refused calls
}

TEST_CASE("ChainTargetPool::add_samples draws from the exact order mixture", "[sample][pool]") {
  const Shape shape{4, 3};
  const Model model = make_model(shape, 611);
  const Vector<double> mixture = mixture_distribution(model);
  const Index total = 40000;
  mam::ChainTargetPool pool(shape.d, total);
  Rng rng(612);
  for (Index done = 0; done < total; done += 5000) pool.add_samples(model, 5000, rng);
  const auto good = mam::test::chi_square_test(state_counts(pool.sequences(), shape.k), to_std(mixture));
  INFO("chi-square " << good.statistic << " dof " << good.degrees_of_freedom);
  CHECK(good.p_value > p_pass);
  // Each sample's full chain sum is log p of the sample along its own order.
  mam::ChainTargetPool few(shape.d, 50);
  few.add_samples(model, 50, rng);
  CHECK(worst_chain_sum_error(model, few) < exact_tolerance);
}

TEST_CASE("ChainTargetPool::draw reveals a prefix of a held order with its sum, and the oldest is replaced",
          "[sample][pool]") {
  const Shape shape{6, 2};
  const Model model = make_model(shape, 621);
  Rng rng(622);
  mam::ChainTargetPool pool(shape.d, 3);
  CodeMatrix inputs;
  Vector<double> targets;
  CHECK_THROWS_WITH(pool.draw(4, rng, inputs, targets), Catch::Contains("an empty pool"));

  // One sequence: every drawn input is its first j positions, j = the known count.
  pool.add_samples(model, 1, rng);
  pool.draw(500, rng, inputs, targets);
  std::vector<int> lengths_seen(static_cast<std::size_t>(shape.d + 1), 0);
  for (Index c = 0; c < inputs.cols(); ++c) {
    const Index j = (inputs.col(c).array() != mam::unknown).count();
    REQUIRE(j >= 1);
    ++lengths_seen[static_cast<std::size_t>(j)];
    CodeMatrix expected = CodeMatrix::Constant(shape.d, 1, mam::unknown);
    for (Index step = 0; step < j; ++step) {
      const Index p = pool.orders()(step, 0);
      expected(p, 0) = pool.sequences()(p, 0);
    }
    CHECK(inputs.col(c) == expected.col(0));
    CHECK(targets[c] == pool.chain_sums()(j, 0));
  }
  CHECK(lengths_seen[0] == 0);
  for (Index j = 1; j <= shape.d; ++j) CHECK(lengths_seen[static_cast<std::size_t>(j)] > 50);  // j ~ U{1..D}

  // Five distinct data sequences into a capacity of three after the sample: columns 1, 2
  // take data 0, 1, then the oldest go first (the sample, data 0, data 1): data 2, 3, 4 stay.
  CodeMatrix data(shape.d, 5);
  for (Index c = 0; c < 5; ++c)
    for (Index i = 0; i < shape.d; ++i) data(i, c) = static_cast<Code>(((c + 1) >> (i % 3)) & 1);
  pool.add_data(model, data, rng);
  REQUIRE(pool.size() == 3);
  std::vector<std::vector<Code>> held, expected;
  for (Index s = 0; s < 3; ++s) held.emplace_back(pool.sequences().col(s).begin(), pool.sequences().col(s).end());
  for (Index c = 2; c < 5; ++c) expected.emplace_back(data.col(c).begin(), data.col(c).end());
  std::sort(held.begin(), held.end());
  std::sort(expected.begin(), expected.end());
  CHECK(held == expected);
  CHECK(worst_chain_sum_error(model, pool) < exact_tolerance);
}

TEST_CASE("ChainTargetPool::draw with a complete share: that share of the batch is whole sequences", "[sample][pool]") {
  const Shape shape{5, 2};
  const Model model = make_model(shape, 641);
  Rng rng(642);
  mam::ChainTargetPool pool(shape.d, 4);
  pool.add_samples(model, 4, rng);
  CodeMatrix inputs;
  Vector<double> targets;
  pool.draw(600, rng, inputs, targets, 0.3);
  REQUIRE(inputs.cols() == 600);
  std::vector<int> lengths_seen(static_cast<std::size_t>(shape.d + 1), 0);
  for (Index c = 0; c < inputs.cols(); ++c) {
    const Index j = (inputs.col(c).array() != mam::unknown).count();
    ++lengths_seen[static_cast<std::size_t>(j)];
    if (c < 180) {  // round(0.3 x 600) complete columns first: one of the held sequences, with C_D
      REQUIRE(j == shape.d);
      bool held = false;  // two held sequences may be equal, with other orders and sums
      for (Index s = 0; s < pool.size(); ++s)
        held = held || (pool.sequences().col(s) == inputs.col(c) && targets[c] == pool.chain_sums()(shape.d, s));
      CHECK(held);
    }
  }
  // The other 420 have j ~ U{1..5}: 84 expected per length, so the whole-sequence count is
  // 180 + about 84 and every shorter length is seen.
  CHECK(lengths_seen[0] == 0);
  for (Index j = 1; j < shape.d; ++j) CHECK(lengths_seen[static_cast<std::size_t>(j)] > 40);
  CHECK(lengths_seen[static_cast<std::size_t>(shape.d)] > 180 + 40);
  CHECK(lengths_seen[static_cast<std::size_t>(shape.d)] < 180 + 140);

  pool.draw(7, rng, inputs, targets, 1.0);
  CHECK((inputs.array() != mam::unknown).all());
  CHECK_THROWS_WITH(pool.draw(7, rng, inputs, targets, 1.5), Catch::Contains("complete_share in [0, 1]"));
  CHECK_THROWS_WITH(pool.draw(7, rng, inputs, targets, -0.1), Catch::Contains("complete_share in [0, 1]"));
}

TEST_CASE("ChainTargetPool: a checkpoint restores it bit for bit, and damaged ones are refused", "[sample][pool]") {
  const Shape shape{4, 3};
  const Model model = make_model(shape, 631);
  Rng rng(632);
  mam::ChainTargetPool pool(shape.d, 10);
  pool.add_samples(model, 13, rng);  // wrapped around: size 10, next column 3
  mam::io::Checkpoint<double> checkpoint;
  pool.append_to(checkpoint, "pool");
  const mam::ChainTargetPool empty(shape.d, 10);
  const mam::ChainTargetPool restored = empty.restored("test", "file", checkpoint, "pool", shape.k);
  CHECK(restored.size() == 10);
  CHECK(restored.sequences() == pool.sequences());
  CHECK(restored.orders() == pool.orders());
  CHECK(restored.chain_sums() == pool.chain_sums());  // exact, not approximately
  // The next sequence goes to the same column in both.
  mam::ChainTargetPool a = pool, b = restored;
  Rng rng_a(7), rng_b(7);
  a.add_samples(model, 1, rng_a);
  b.add_samples(model, 1, rng_b);
  CHECK(a.sequences() == b.sequences());

  auto damaged = [&](const std::string& name, auto&& change) {
    mam::io::Checkpoint<double> copy = checkpoint;
    for (auto& entry : copy.integers)
      if (entry.name == "pool." + name) change(entry.values);
    return copy;
  };
  auto refuses = [&](const mam::io::Checkpoint<double>& copy) {
    return mam::test::message_of<mam::format_error>([&] { (void)empty.restored("test", "file", copy, "pool", shape.k); });
  };
  CHECK_THAT(refuses(damaged("sequences", [](auto& v) { v[5] = 3; })), Catch::Contains("sample code 3 out of range"));
  CHECK_THAT(refuses(damaged("orders", [](auto& v) { v[1] = v[0]; })), Catch::Contains("no permutation"));
  CHECK_THAT(refuses(damaged("sums", [](auto& v) { v.pop_back(); })), Catch::Contains("inconsistent sizes"));
  CHECK_THAT(refuses(damaged("sums", [](auto& v) {
               const double positive = 0.5;
               std::memcpy(&v[3], &positive, sizeof positive);
             })),
             Catch::Contains("no log-probability"));
  CHECK_THAT(refuses(damaged("shape", [](auto& v) { v[3] = 10; })), Catch::Contains("inconsistent sizes"));
  mam::io::Checkpoint<double> without;
  CHECK_THAT(refuses(without), Catch::Contains("holds no pool.shape"));
  const mam::ChainTargetPool bigger(shape.d, 11);
  CHECK_THROWS_AS(bigger.restored("test", "file", checkpoint, "pool", shape.k), mam::architecture_error);
}
