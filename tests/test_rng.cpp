#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include <mam/core/rng.hpp>

#include "support/chi_square.hpp"

using mam::Index;
using mam::Rng;

TEST_CASE("Rng reproduces xoshiro256++ seeded by splitmix64", "[rng]") {
  // Reference values computed independently (Python, arbitrary-precision integers).
  Rng rng(42);
  CHECK(rng.next() == 0xd0764d4f4476689fULL);
  CHECK(rng.next() == 0x519e4174576f3791ULL);
  CHECK(rng.next() == 0xfbe07cfb0c24ed8cULL);
}

TEST_CASE("Rng: same seed gives the same stream, state round-trips, jump separates streams", "[rng]") {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 100; ++i) REQUIRE(a.next() == b.next());
  CHECK(a.next() != c.next());

  Rng saved(123);
  saved.next();
  Rng restored(0);
  restored.set_state(saved.state());
  CHECK(restored == saved);
  CHECK(restored.uniform() == saved.uniform());

  Rng jumped = saved;
  jumped.jump();
  CHECK(jumped != saved);
  CHECK_THROWS_AS(restored.set_state({0, 0, 0, 0}), mam::value_error);
}

TEST_CASE("Rng::uniform and normal have the right moments", "[rng]") {
  Rng rng(1);
  const int n = 200000;
  double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0, nsum4 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    sum2 += u * u;
    const double z = rng.normal();
    nsum += z;
    nsum2 += z * z;
    nsum4 += z * z * z * z;
  }
  // Tolerances are about 5 standard errors.
  CHECK(sum / n == Approx(0.5).margin(5 * std::sqrt(1.0 / 12 / n)));
  CHECK(sum2 / n - (sum / n) * (sum / n) == Approx(1.0 / 12).margin(0.002));
  CHECK(nsum / n == Approx(0.0).margin(5 / std::sqrt(n)));
  CHECK(nsum2 / n == Approx(1.0).margin(5 * std::sqrt(2.0 / n)));
  CHECK(nsum4 / n == Approx(3.0).margin(5 * std::sqrt(96.0 / n)));
}

TEST_CASE("Rng::uniform_int is unbiased (chi-square)", "[rng]") {
  Rng rng(2);
  const int cells = 7;
  std::vector<double> counts(cells, 0.0);
  for (int i = 0; i < 70000; ++i) counts[rng.uniform_int(cells)] += 1;
  const auto result = mam::test::chi_square_test(counts, std::vector<double>(cells, 1.0 / cells));
  CHECK(result.p_value > 0.001);
  CHECK_THROWS_AS(rng.uniform_int(0), mam::value_error);
}

TEST_CASE("Rng::categorical_from_logits matches softmax probabilities (chi-square)", "[rng]") {
  Rng rng(3);
  Eigen::VectorXd logits(4);
  logits << 0.0, 1.0, -1.0, 2.0;
  const Eigen::VectorXd p = logits.array().exp() / logits.array().exp().sum();
  std::vector<double> counts(4, 0.0);
  for (int i = 0; i < 50000; ++i) counts[static_cast<std::size_t>(rng.categorical_from_logits(logits))] += 1;
  const auto result = mam::test::chi_square_test(counts, {p[0], p[1], p[2], p[3]});
  CHECK(result.p_value > 0.001);

  // The test has power: the same counts do not fit uniform probabilities.
  CHECK(mam::test::chi_square_test(counts, {0.25, 0.25, 0.25, 0.25}).p_value < 1e-6);

  SECTION("temperature 0 is greedy, -inf logits are never drawn") {
    CHECK(rng.categorical_from_logits(logits, 0.0) == 3);
    Eigen::VectorXd masked(3);
    masked << -std::numeric_limits<double>::infinity(), 0.0, -std::numeric_limits<double>::infinity();
    for (int i = 0; i < 100; ++i) REQUIRE(rng.categorical_from_logits(masked) == 1);
  }
  SECTION("NaN logits are an error, not a silent draw") {
    Eigen::VectorXd bad(2);
    bad << 0.0, std::nan("");
    CHECK_THROWS_AS(rng.categorical_from_logits(bad), mam::numeric_error);
  }
  SECTION("large logits do not overflow") {
    Eigen::VectorXd big(2);
    big << 1e4, 1e4 - 1.0;
    int first = 0;
    for (int i = 0; i < 20000; ++i) first += rng.categorical_from_logits(big) == 0;
    const double p0 = 1.0 / (1.0 + std::exp(-1.0));
    CHECK(first / 20000.0 == Approx(p0).margin(0.02));
  }
}

TEST_CASE("Rng::permutation is uniform over all orders (chi-square)", "[rng]") {
  Rng rng(4);
  std::map<std::vector<Index>, double> counts;
  const int draws = 24000;
  for (int i = 0; i < draws; ++i) counts[rng.permutation(4)] += 1;
  REQUIRE(counts.size() == 24);
  std::vector<double> observed;
  for (const auto& entry : counts) observed.push_back(entry.second);
  CHECK(mam::test::chi_square_test(observed, std::vector<double>(24, 1.0 / 24)).p_value > 0.001);
}
