#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include <mam/core/rng.hpp>
#include <mam/eval/enumerate.hpp>

using mam::CodeMatrix;
using mam::Index;
using mam::Vector;

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

Vector<double> random_log_weights(Index size, std::uint64_t seed) {
  mam::Rng rng(seed);
  Vector<double> w(size);
  for (Index i = 0; i < size; ++i) w[i] = rng.uniform(-3.0, 3.0);
  return w;
}

// The definition, written independently of the library: decode every state, keep those that
// agree with the known entries, and sum plain probabilities.
double brute_force_log_marginal(const Vector<double>& log_weights, Index num_variables,
                                Index num_values, const CodeMatrix& partial, Index sample) {
  double total = 0.0;
  double consistent = 0.0;
  for (Index s = 0; s < log_weights.size(); ++s) {
    const double weight = std::exp(log_weights[s]);
    total += weight;
    Index rest = s;
    bool agrees = true;
    for (Index i = 0; i < num_variables; ++i) {
      const Index value = rest % num_values;
      rest /= num_values;
      const mam::Code code = partial(i, sample);
      if (code != mam::unknown && code != value) agrees = false;
    }
    if (agrees) consistent += weight;
  }
  return std::log(consistent / total);
}

void check_against_brute_force(Index num_variables, Index num_values, std::uint64_t seed) {
  Vector<double> log_weights =
      random_log_weights(mam::Index(std::pow(num_values, num_variables)), seed);
  log_weights[1] = -infinity;  // a state of weight zero must not upset anything
  const CodeMatrix partial = mam::all_partial_states(num_variables, num_values);
  const Vector<double> marginals =
      mam::exact_log_marginals(log_weights, num_variables, num_values, partial);
  const Vector<double> table =
      mam::exact_log_marginal_table(log_weights, num_variables, num_values);
  REQUIRE(marginals.size() == partial.cols());
  REQUIRE(table.size() == partial.cols());
  double max_error = 0.0;
  double max_single_column_error = 0.0;
  for (Index c = 0; c < partial.cols(); ++c) {
    const double expected =
        brute_force_log_marginal(log_weights, num_variables, num_values, partial, c);
    if (expected == -infinity) {  // only the complete state 1 is impossible
      CHECK(marginals[c] == -infinity);
      CHECK(table[c] == -infinity);
      continue;
    }
    max_error = std::max(max_error, std::abs(marginals[c] - expected));
    max_error = std::max(max_error, std::abs(table[c] - expected));
    // One column at a time takes the direct-summation path instead of the table.
    const double single = mam::exact_log_marginals(log_weights, num_variables, num_values,
                                                   partial.col(c))[0];
    max_single_column_error = std::max(max_single_column_error, std::abs(single - expected));
  }
  CHECK(max_error < 1e-12);
  CHECK(max_single_column_error < 1e-12);
}

}  // namespace

TEST_CASE("all_states counts and orders states with position 0 fastest", "[enumerate]") {
  const CodeMatrix states = mam::all_states(3, 4);
  REQUIRE(states.rows() == 3);
  REQUIRE(states.cols() == 64);
  CHECK(states.col(0) == (Eigen::Vector3i() << 0, 0, 0).finished());
  CHECK(states.col(1) == (Eigen::Vector3i() << 1, 0, 0).finished());
  CHECK(states.col(4) == (Eigen::Vector3i() << 0, 1, 0).finished());
  CHECK(states.col(16) == (Eigen::Vector3i() << 0, 0, 1).finished());
  CHECK(states.col(63) == (Eigen::Vector3i() << 3, 3, 3).finished());
  for (Index c = 0; c < states.cols(); ++c) {
    CHECK(states(0, c) + 4 * states(1, c) + 16 * states(2, c) == c);
    CHECK(mam::state_index(states, c, 4) == c);
  }
  const CodeMatrix single = mam::all_states(4, 1);
  CHECK(single.cols() == 1);
  CHECK((single.array() == 0).all());
}

TEST_CASE("state_index inverts all_states", "[enumerate]") {
  for (const auto& [d, k] : std::vector<std::pair<Index, Index>>{{1, 5}, {4, 3}, {5, 2}, {2, 7}}) {
    const CodeMatrix states = mam::all_states(d, k);
    for (Index c = 0; c < states.cols(); ++c) REQUIRE(mam::state_index(states, c, k) == c);
  }
  // A single column of a larger batch.
  CodeMatrix batch(3, 2);
  batch << 2, 0,  //
      1, 1,       //
      0, 2;
  CHECK(mam::state_index(batch, 0, 3) == 2 + 3 * 1 + 9 * 0);
  CHECK(mam::state_index(batch, 1, 3) == 0 + 3 * 1 + 9 * 2);
}

TEST_CASE("all_partial_states contains each partial assignment exactly once", "[enumerate]") {
  const Index d = 3;
  const Index k = 3;
  const CodeMatrix partial = mam::all_partial_states(d, k);
  REQUIRE(partial.rows() == d);
  REQUIRE(partial.cols() == 64);
  CHECK((partial.col(0).array() == 0).all());
  CHECK((partial.col(63).array() == mam::unknown).all());
  CHECK(partial.col(3) == (Eigen::Vector3i() << mam::unknown, 0, 0).finished());
  CHECK(partial.col(4) == (Eigen::Vector3i() << 0, 1, 0).finished());
  std::set<std::vector<int>> seen;
  for (Index c = 0; c < partial.cols(); ++c) {
    std::vector<int> column(partial.col(c).data(), partial.col(c).data() + d);
    for (int code : column) CHECK((code == mam::unknown || (code >= 0 && code < k)));
    seen.insert(column);
    CHECK(mam::partial_state_index(partial, c, k) == c);
  }
  CHECK(static_cast<Index>(seen.size()) == partial.cols());
  // The complete ones are exactly all_states, in the same relative order.
  const CodeMatrix complete = mam::all_states(d, k);
  Index next = 0;
  for (Index c = 0; c < partial.cols(); ++c)
    if ((partial.col(c).array() != mam::unknown).all()) {
      REQUIRE(next < complete.cols());
      CHECK(partial.col(c) == complete.col(next++));
    }
  CHECK(next == complete.cols());
}

TEST_CASE("normalize_log subtracts the log-sum-exp", "[enumerate]") {
  const Vector<double> w = (Vector<double>(3) << std::log(1.0), std::log(3.0), -infinity).finished();
  const Vector<double> lp = mam::normalize_log(w);
  CHECK(lp[0] == Approx(std::log(0.25)).epsilon(1e-14));
  CHECK(lp[1] == Approx(std::log(0.75)).epsilon(1e-14));
  CHECK(lp[2] == -infinity);
  // Stable far from zero (exact up to the 1e4 * 2^-52 lost when adding the shift).
  const Vector<double> shifted = mam::normalize_log((w.array() + 1e4).matrix());
  CHECK(shifted[1] == Approx(std::log(0.75)).margin(1e-11));
}

TEST_CASE("exact_log_marginals matches brute force on every partial state", "[enumerate]") {
  SECTION("D=4 K=3") { check_against_brute_force(4, 3, 11); }
  SECTION("D=5 K=2") { check_against_brute_force(5, 2, 12); }
  SECTION("D=1 K=4") { check_against_brute_force(1, 4, 13); }
}

TEST_CASE("the all-unknown marginal is log 1 and complete states give log p", "[enumerate]") {
  const Index d = 4;
  const Index k = 3;
  const Vector<double> w = random_log_weights(81, 21).array() + 5.0;  // unnormalized
  CodeMatrix all_unknown = CodeMatrix::Constant(d, 1, mam::unknown);
  CHECK(std::abs(mam::exact_log_marginals(w, d, k, all_unknown)[0]) < 1e-12);
  const Vector<double> table = mam::exact_log_marginal_table(w, d, k);
  CHECK(std::abs(table[table.size() - 1]) < 1e-12);
  const Vector<double> lp = mam::normalize_log(w);
  const CodeMatrix states = mam::all_states(d, k);
  const Vector<double> on_states = mam::exact_log_marginals(w, d, k, states);
  CHECK((on_states - lp).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("marginals of a product distribution are products of factor marginals",
          "[enumerate]") {
  const Index d = 4;
  const Index k = 3;
  mam::Rng rng(31);
  // Factor i: probabilities f_i(v), normalized per position.
  mam::Matrix<double> log_factor(k, d);
  for (Index i = 0; i < d; ++i) {
    Vector<double> w(k);
    for (Index v = 0; v < k; ++v) w[v] = rng.uniform(-2.0, 2.0);
    log_factor.col(i) = mam::normalize_log(w);
  }
  const CodeMatrix states = mam::all_states(d, k);
  Vector<double> log_p(states.cols());
  for (Index s = 0; s < states.cols(); ++s) {
    log_p[s] = 7.5;  // an arbitrary normalizer: exact_log_marginals must remove it
    for (Index i = 0; i < d; ++i) log_p[s] += log_factor(states(i, s), i);
  }
  const CodeMatrix partial = mam::all_partial_states(d, k);
  const Vector<double> marginals = mam::exact_log_marginals(log_p, d, k, partial);
  double max_error = 0.0;
  for (Index c = 0; c < partial.cols(); ++c) {
    double expected = 0.0;
    for (Index i = 0; i < d; ++i)
      if (partial(i, c) != mam::unknown) expected += log_factor(partial(i, c), i);
    max_error = std::max(max_error, std::abs(marginals[c] - expected));
  }
  CHECK(max_error < 1e-12);
}

TEST_CASE("impossible partial states have marginal -inf", "[enumerate]") {
  // D=2, K=2 with all weight on x0 = 0: anything fixing x0 = 1 is impossible.
  const Vector<double> log_p =
      (Vector<double>(4) << std::log(0.3), -infinity, std::log(0.7), -infinity).finished();
  CodeMatrix partial(2, 3);
  partial << 1, 1, 0,  //
      mam::unknown, 0, mam::unknown;
  const Vector<double> m = mam::exact_log_marginals(log_p, 2, 2, partial);
  CHECK(m[0] == -infinity);
  CHECK(m[1] == -infinity);
  CHECK(std::abs(m[2]) < 1e-15);
}

TEST_CASE("kl_divergence is zero for equal inputs and matches closed forms", "[enumerate]") {
  const Vector<double> p = random_log_weights(27, 41);
  CHECK(mam::kl_divergence(p, p) == 0.0);
  CHECK(mam::kl_divergence(p, (p.array() + 3.0).matrix()) < 1e-14);  // same after normalizing

  // Bernoulli(a) against Bernoulli(b), given unnormalized.
  const double a = 0.3;
  const double b = 0.6;
  const double expected = a * std::log(a / b) + (1 - a) * std::log((1 - a) / (1 - b));
  const Vector<double> log_p =
      (Vector<double>(2) << std::log(1 - a) + 2.0, std::log(a) + 2.0).finished();
  const Vector<double> log_q =
      (Vector<double>(2) << std::log(1 - b) - 1.0, std::log(b) - 1.0).finished();
  CHECK(mam::kl_divergence(log_p, log_q) == Approx(expected).epsilon(1e-12));
  CHECK(mam::kl_divergence(log_p, log_q) > 0.0);

  // p = 0 contributes nothing; q = 0 where p > 0 is infinite.
  const Vector<double> point = (Vector<double>(2) << 0.0, -infinity).finished();
  CHECK(mam::kl_divergence(point, log_q) == Approx(-std::log(1 - b)).epsilon(1e-12));
  CHECK(mam::kl_divergence(log_q, point) == infinity);
}

TEST_CASE("entropy of a uniform distribution is D log K", "[enumerate]") {
  const Index d = 3;
  const Index k = 4;
  const Vector<double> uniform = Vector<double>::Constant(64, -2.0);
  CHECK(mam::entropy(uniform) == Approx(d * std::log(static_cast<double>(k))).epsilon(1e-13));
  const Vector<double> point = (Vector<double>(3) << -infinity, 1.0, -infinity).finished();
  CHECK(mam::entropy(point) == 0.0);
  const double a = 0.3;
  const Vector<double> bernoulli = (Vector<double>(2) << std::log(1 - a), std::log(a)).finished();
  CHECK(mam::entropy(bernoulli) ==
        Approx(-a * std::log(a) - (1 - a) * std::log(1 - a)).epsilon(1e-13));
}

TEST_CASE("enumeration tools reject bad input", "[enumerate]") {
  SECTION("dimensions and the 2^24 guard") {
    CHECK_THROWS_AS(mam::all_states(0, 2), mam::value_error);
    CHECK_THROWS_AS(mam::all_states(2, 0), mam::value_error);
    CHECK_THROWS_AS(mam::all_partial_states(0, 2), mam::value_error);
    CHECK_THROWS_WITH(mam::all_states(25, 2), Catch::Contains("2^24"));
    CHECK_THROWS_AS(mam::all_states(25, 2), mam::value_error);
    CHECK_THROWS_AS(mam::all_states(2, Index{1} << 40), mam::value_error);
    CHECK_THROWS_AS(mam::all_states(1000, 1000), mam::value_error);
    CHECK_THROWS_WITH(mam::all_partial_states(16, 2), Catch::Contains("2^24"));  // 3^16
    CHECK_THROWS_AS(mam::exact_log_marginal_table(Vector<double>::Zero(1 << 16), 16, 2),
                    mam::value_error);  // K^D fits, (K+1)^D does not
  }
  SECTION("codes") {
    CodeMatrix state(2, 1);
    state << 0, mam::unknown;
    CHECK_THROWS_AS(mam::state_index(state, 0, 2), mam::value_error);
    state << 0, 2;
    CHECK_THROWS_AS(mam::state_index(state, 0, 2), mam::value_error);
    CHECK_THROWS_AS(mam::partial_state_index(state, 0, 2), mam::value_error);
    CHECK_THROWS_AS(mam::state_index(state, 1, 3), mam::value_error);  // no sample 1
    state << 0, -2;
    CHECK_THROWS_AS(mam::partial_state_index(state, 0, 2), mam::value_error);
    CHECK_THROWS_AS(mam::exact_log_marginals(Vector<double>::Zero(4), 2, 2, state),
                    mam::value_error);
  }
  SECTION("shapes") {
    const CodeMatrix partial = CodeMatrix::Constant(2, 1, mam::unknown);
    CHECK_THROWS_AS(mam::exact_log_marginals(Vector<double>::Zero(5), 2, 2, partial),
                    mam::shape_error);
    CHECK_THROWS_AS(mam::exact_log_marginals(Vector<double>::Zero(8), 3, 2, partial),
                    mam::shape_error);  // 2 rows for D = 3
    CHECK_THROWS_AS(mam::exact_log_marginal_table(Vector<double>::Zero(9), 3, 2),
                    mam::shape_error);
    CHECK_THROWS_AS(mam::kl_divergence(Vector<double>::Zero(3), Vector<double>::Zero(4)),
                    mam::shape_error);
    CHECK_THROWS_AS(mam::normalize_log(Vector<double>(0)), mam::shape_error);
  }
  SECTION("weights") {
    CHECK_THROWS_AS(mam::normalize_log(Vector<double>::Constant(3, -infinity)),
                    mam::value_error);
    const Vector<double> with_nan =
        (Vector<double>(2) << 0.0, std::numeric_limits<double>::quiet_NaN()).finished();
    CHECK_THROWS_AS(mam::normalize_log(with_nan), mam::numeric_error);
    CHECK_THROWS_AS(mam::entropy((Vector<double>(2) << 0.0, infinity).finished()),
                    mam::numeric_error);
    CHECK_THROWS_AS(mam::kl_divergence(Vector<double>::Zero(2), with_nan), mam::numeric_error);
  }
}
