// mam::mask_first and mam::score_inpaintings against exact answers: the masks hide exactly
// the first positions of each order, completions follow the sampler's exact conditional law
// (enumerated over the masked values and both orders), the marginal scores are the marginal
// net's and the chain-rule scores lie among the chain rule's exact values over all orders.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <mam/eval/enumerate.hpp>
#include <mam/eval/inpainting_scores.hpp>
#include <mam/mam.hpp>

#include "support/chi_square.hpp"
#include "support/values.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::Vector;

namespace {

using mam::test::random_states;

// The chain rule's log-likelihood of column c of `x` along every order of its D positions.
std::vector<double> chain_over_all_orders(const mam::ResidualMarginalizationModel<double>& model, const CodeMatrix& x,
                                          Index c) {
  std::vector<Index> order(static_cast<std::size_t>(x.rows()));
  std::iota(order.begin(), order.end(), Index{0});
  std::vector<double> values;
  do values.push_back(model.log_likelihood_chain(x.col(c), mam::Orders{order})[0]);
  while (std::next_permutation(order.begin(), order.end()));
  return values;
}

}  // namespace

TEST_CASE("mask_first hides the first count positions of each column's order, nested over counts", "[eval]") {
  Rng rng(2);
  const CodeMatrix x = random_states(5, 3, 4, rng);
  std::vector<std::vector<Index>> orders;
  for (Index c = 0; c < x.cols(); ++c) orders.push_back(rng.permutation(5));
  CodeMatrix previous = x;
  for (Index count = 0; count <= 5; ++count) {
    const CodeMatrix masked = mam::mask_first(x, orders, count);
    for (Index c = 0; c < x.cols(); ++c)
      for (Index i = 0; i < 5; ++i) {
        const auto& order = orders[static_cast<std::size_t>(c)];
        const bool hidden = std::find(order.begin(), order.begin() + count, i) != order.begin() + count;
        CHECK(masked(i, c) == (hidden ? mam::unknown : x(i, c)));
        if (previous(i, c) == mam::unknown) CHECK(masked(i, c) == mam::unknown);  // nested
      }
    previous = masked;
  }
  CHECK_THROWS_AS(mam::mask_first(x, std::vector<std::vector<Index>>(3, orders[0]), 2), mam::shape_error);
  CHECK_THROWS_WITH(mam::mask_first(x, orders, 6), Catch::Contains("mam::mask_first: expected count in 0..5, got 6"));
  orders[1][0] = 7;
  CHECK_THROWS_AS(mam::mask_first(x, orders, 1), mam::value_error);
}

TEST_CASE("score_inpaintings: completions follow the exact conditional law, and scores match the exact values",
          "[eval]") {
  const Index d = 4, k = 3;
  Rng init(6);
  const auto model = mam::make_residual_model<double>(d, k, 16, 2, init);
  Rng data_rng(8);
  const CodeMatrix x = random_states(d, k, 2, data_rng);
  const std::vector<std::vector<Index>> orders{{2, 0, 1, 3}, {3, 1, 0, 2}};
  const CodeMatrix masked = mam::mask_first(x, orders, 2);

  Rng rng(9);
  const mam::InpaintingScores one_order = mam::score_inpaintings(model, masked, 5, 1, rng, 4);
  REQUIRE(one_order.completed.cols() == 10);
  CHECK(one_order.by_marginal == model.log_marginal(one_order.completed));
  for (Index j = 0; j < one_order.completed.cols(); ++j) {
    for (Index i = 0; i < d; ++i) {
      if (masked(i, j / 5) != mam::unknown) CHECK(one_order.completed(i, j) == masked(i, j / 5));
      CHECK((one_order.completed(i, j) >= 0 && one_order.completed(i, j) < k));
    }
    // One order: exactly the chain rule along one of the 24 orders.
    const std::vector<double> exact = chain_over_all_orders(model, one_order.completed, j);
    CHECK(std::any_of(exact.begin(), exact.end(), [&](double v) { return std::abs(v - one_order.by_chain[j]) < 1e-12; }));
  }
  // Several orders: a log-mean-exp of such values, so between the least and the largest.
  const mam::InpaintingScores three_orders = mam::score_inpaintings(model, masked, 3, 3, rng);
  for (Index j = 0; j < three_orders.completed.cols(); ++j) {
    const std::vector<double> exact = chain_over_all_orders(model, three_orders.completed, j);
    CHECK(three_orders.by_chain[j] >= *std::min_element(exact.begin(), exact.end()) - 1e-12);
    CHECK(three_orders.by_chain[j] <= *std::max_element(exact.begin(), exact.end()) + 1e-12);
  }

  // The completions of the first masked column (positions 2 and 0 hidden): the sampler reveals
  // them in a random order, so each pair (a, b) has probability mean over both orders of the
  // chain of conditionals, enumerated exactly.
  const Index n = 4000;
  const mam::InpaintingScores many = mam::score_inpaintings(model, masked.col(0), n, 1, rng);
  std::vector<double> counts(static_cast<std::size_t>(k * k), 0.0), probabilities(counts.size(), 0.0);
  for (Index j = 0; j < n; ++j) counts[static_cast<std::size_t>(many.completed(2, j) * k + many.completed(0, j))] += 1.0;
  for (Index a = 0; a < k; ++a)
    for (Index b = 0; b < k; ++b) {
      CodeMatrix joint = masked.col(0);
      joint(2, 0) = static_cast<mam::Code>(a);
      joint(0, 0) = static_cast<mam::Code>(b);
      const double first = model.log_conditional_chain(joint, masked.col(0), mam::Orders{{2, 0}})[0];
      const double second = model.log_conditional_chain(joint, masked.col(0), mam::Orders{{0, 2}})[0];
      probabilities[static_cast<std::size_t>(a * k + b)] = 0.5 * (std::exp(first) + std::exp(second));
    }
  CHECK(std::accumulate(probabilities.begin(), probabilities.end(), 0.0) == Approx(1.0).epsilon(1e-12));
  CHECK(mam::test::chi_square_test(counts, probabilities).p_value > 1e-4);

  CHECK_THROWS_WITH(mam::score_inpaintings(model, masked, 0, 1, rng),
                    Catch::Contains("mam::score_inpaintings: expected completions > 0, got 0"));
  CHECK_THROWS_AS(mam::score_inpaintings(model, masked, 2, 0, rng), mam::value_error);
}
