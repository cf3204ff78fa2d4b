// Tests for mam/eval/correlation.hpp: Pearson and Spearman against hand-computed values
// (scipy.stats gives the same numbers), ties, invariances, and bad input.

#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "support/values.hpp"

#include <mam/core/error.hpp>
#include <mam/eval/correlation.hpp>

using mam::Vector;

using mam::test::vec;

TEST_CASE("pearson and spearman on known values", "[eval]") {
  const Vector<double> a = vec({1, 2, 3, 4, 5}), b = vec({2, 4, 5, 4, 5});
  // Pearson: cov = 1.5 (sum of products of deviations 6 / 4), sd_a = sqrt(2.5), sd_b = sqrt(1.5).
  CHECK(mam::pearson(a, b) == Approx(6.0 / std::sqrt(10.0 * 6.0)).epsilon(1e-14));
  // Ranks of b with ties averaged: 1, 2.5, 4.5, 2.5, 4.5.
  CHECK(mam::average_ranks(b) == vec({1, 2.5, 4.5, 2.5, 4.5}));
  CHECK(mam::spearman(a, b) == Approx(0.7378647873726218).epsilon(1e-12));
  CHECK(mam::pearson(a, -2.0 * a) == Approx(-1.0));
  // Spearman is invariant under monotone maps; Pearson is not.
  const Vector<double> x = vec({0.3, -1.0, 2.5, 0.1, 4.0, 1.7});
  CHECK(mam::spearman(x, x.array().exp().matrix()) == 1.0);
  CHECK(mam::pearson(x, x.array().exp().matrix()) < 0.95);
  CHECK(mam::spearman(x, (-x.array().pow(3)).matrix()) == -1.0);
}

TEST_CASE("pearson and spearman reject bad input", "[eval]") {
  const Vector<double> a = vec({1, 2, 3});
  CHECK_THROWS_AS(mam::pearson(a, vec({1, 2})), mam::shape_error);
  CHECK_THROWS_AS(mam::spearman(vec({1}), vec({1})), mam::shape_error);
  CHECK_THROWS_AS(mam::pearson(a, vec({2, 2, 2})), mam::value_error);
  CHECK_THROWS_AS(mam::spearman(a, vec({1, std::numeric_limits<double>::quiet_NaN(), 2})), mam::numeric_error);
}
