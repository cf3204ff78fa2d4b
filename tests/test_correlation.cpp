// Tests for mam/eval/correlation.hpp and mam/eval/grouped_correlation.hpp: Pearson and
// Spearman against hand-computed values (scipy.stats gives the same numbers), ties,
// invariances, the paper's per-group protocol, and bad input.

#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "support/values.hpp"

#include <mam/core/error.hpp>
#include <mam/eval/correlation.hpp>
#include <mam/eval/grouped_correlation.hpp>

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

TEST_CASE("thin_near_ties keeps values more than the gap below the last kept one", "[eval]") {
  const Vector<double> reference = vec({-10.0, -3.0, -7.5, -3.5, -12.0});
  // Sorted: -3 (kept), -3.5 (0.5 below: dropped), -7.5 (4.5 below -3: kept), -10 (2.5 below -7.5:
  // dropped at gap 3), -12 (4.5 below -7.5: kept).
  CHECK(mam::thin_near_ties(reference, {0, 1, 2, 3, 4}, 3.0) == std::vector<mam::Index>{1, 2, 4});
  CHECK(mam::thin_near_ties(reference, {0, 1, 2, 3, 4}, 0.0) == std::vector<mam::Index>{1, 3, 2, 0, 4});
  CHECK(mam::thin_near_ties(reference, {4, 0}, 5.0) == std::vector<mam::Index>{0});
}

TEST_CASE("grouped_correlation averages per-group correlations weighted by values kept", "[eval]") {
  // Group 7: three values, estimate in the same order -> 1 (weight 3). Group 2: two values in
  // reverse order -> -1 (weight 2). Group 5: its two values are 0.5 apart, one is thinned away
  // at gap 1, so it does not count.
  const Vector<double> reference = vec({1.0, 5.0, 9.0, 0.0, 4.0, 2.0, 2.5});
  const Vector<double> estimate = vec({1.1, 4.0, 20.0, 3.0, -1.0, 7.0, 0.0});
  const std::vector<mam::Index> groups = {7, 7, 7, 2, 2, 5, 5};
  const mam::GroupedCorrelation at_gap_1 = mam::grouped_correlation(reference, estimate, groups, 1.0);
  CHECK(at_gap_1.groups_used == 2);
  CHECK(at_gap_1.values_used == 5);
  CHECK(at_gap_1.spearman == Approx((3.0 * 1.0 + 2.0 * -1.0) / 5.0));
  // Pearson of group 7 by hand: reference deviations -4, 0, 4; estimate mean 25.1/3.
  const double e0 = 1.1 - 25.1 / 3, e1 = 4.0 - 25.1 / 3, e2 = 20.0 - 25.1 / 3;
  const double pearson_7 = (-4.0 * e0 + 4.0 * e2) / (std::sqrt(32.0) * std::sqrt(e0 * e0 + e1 * e1 + e2 * e2));
  CHECK(at_gap_1.pearson == Approx((3.0 * pearson_7 - 2.0) / 5.0));
  // At gap 0 group 5 counts too, in reverse order: -1 with weight 2.
  const mam::GroupedCorrelation at_gap_0 = mam::grouped_correlation(reference, estimate, groups, 0.0);
  CHECK(at_gap_0.groups_used == 3);
  CHECK(at_gap_0.spearman == Approx((3.0 - 2.0 - 2.0) / 7.0));
  // A group whose kept estimates are equal has no order: it counts as 0.
  const mam::GroupedCorrelation flat =
      mam::grouped_correlation(vec({0, 3, 0, 3}), vec({1, 1, 0, 2}), {0, 0, 1, 1}, 1.0);
  CHECK(flat.values_used == 4);
  CHECK(flat.spearman == Approx(0.5));
}

TEST_CASE("grouped_correlation rejects bad input", "[eval]") {
  const Vector<double> a = vec({1, 2, 3});
  CHECK_THROWS_AS(mam::grouped_correlation(a, vec({1, 2}), {0, 0, 0}, 1.0), mam::shape_error);
  CHECK_THROWS_AS(mam::grouped_correlation(a, a, {0, 0}, 1.0), mam::shape_error);
  CHECK_THROWS_AS(mam::grouped_correlation(a, a, {0, -1, 0}, 1.0), mam::value_error);
  CHECK_THROWS_AS(mam::grouped_correlation(a, a, {0, 0, 0}, -1.0), mam::value_error);
  CHECK_THROWS_AS(mam::grouped_correlation(a, vec({1, std::numeric_limits<double>::infinity(), 2}), {0, 0, 0}, 1.0),
                  mam::numeric_error);
  // Every group thinned to one value: nothing to correlate.
  CHECK_THROWS_AS(mam::grouped_correlation(a, a, {0, 1, 2}, 0.0), mam::value_error);
  CHECK_THROWS_AS(mam::grouped_correlation(a, a, {0, 0, 0}, 5.0), mam::value_error);
}
