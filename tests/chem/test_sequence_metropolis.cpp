#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include <mam/chem/sequence_metropolis.hpp>
#include <mam/core/rng.hpp>

#include "../support/chi_square.hpp"

using mam::Code;
using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::SequenceMetropolis;
using mam::SequenceMoves;
using mam::Vector;

namespace {

constexpr Index D = 4, K = 3;  // 81 strings; code 0 plays the padding symbol

Index state_index(const CodeMatrix& x, Index c) {
  Index index = 0;
  for (Index i = D - 1; i >= 0; --i) index = index * K + x(i, c);
  return index;
}

// An arbitrary target: one log f per string, drawn once (spread of several nats, so the
// moves' Hastings ratios matter), looked up by the chains.
struct TableTarget {
  std::vector<double> table;
  Vector<double> operator()(const CodeMatrix& x) const {
    Vector<double> values(x.cols());
    for (Index c = 0; c < x.cols(); ++c) values[c] = table[static_cast<std::size_t>(state_index(x, c))];
    return values;
  }
};

TableTarget make_target() {
  Rng rng(77);
  TableTarget target;
  for (Index s = 0; s < 81; ++s) target.table.push_back(1.5 * rng.normal());
  return target;
}

std::vector<double> exact_probabilities(const TableTarget& target) {
  std::vector<double> p;
  double total = 0.0;
  for (double v : target.table) total += std::exp(v);
  for (double v : target.table) p.push_back(std::exp(v) / total);
  return p;
}

CodeMatrix random_start(Index chains, Rng& rng) {
  CodeMatrix x(D, chains);
  for (Index c = 0; c < chains; ++c)
    for (Index i = 0; i < D; ++i) x(i, c) = static_cast<Code>(rng.uniform_int(K));
  return x;
}

// 2000 chains from uniform random starts; after `burn_in` steps, the states every `thinning`
// steps, `per_chain` times, are counted per string.
struct ChainRun {
  std::vector<double> counts = std::vector<double>(81, 0.0);
  mam::SequenceMetropolisCounts totals;
};

ChainRun run_chains(const TableTarget& target, const SequenceMoves& moves, std::uint64_t seed) {
  const Index chains = 2000, burn_in = 1000, thinning = 100, per_chain = 6;
  Rng rng(seed);
  SequenceMetropolis<TableTarget> sampler(target, random_start(chains, rng), K, moves);
  sampler.run(burn_in, rng);
  ChainRun result;
  for (Index s = 0; s < per_chain; ++s) {
    sampler.run(thinning, rng);
    for (Index c = 0; c < chains; ++c) result.counts[static_cast<std::size_t>(state_index(sampler.state(), c))] += 1.0;
  }
  result.totals = sampler.totals();
  return result;
}

SequenceMoves moves(double substitute, double insert, double remove, Vector<double> fill = {}) {
  SequenceMoves m;
  m.substitute = substitute;
  m.insert = insert;
  m.remove = remove;
  m.fill = std::move(fill);
  return m;
}

// Is `y` one substitution, insertion or deletion (with any appended symbol) away from `x`,
// or x itself?
bool one_edit_apart(const CodeMatrix& x, const CodeMatrix& y, Index c) {
  Index differences = 0;
  for (Index i = 0; i < D; ++i) differences += x(i, c) != y(i, c);
  if (differences <= 1) return true;
  for (Index at = 0; at < D; ++at) {
    bool inserted = true, deleted = true;
    for (Index i = 0; i < D; ++i) {
      if (i < at) {
        inserted = inserted && y(i, c) == x(i, c);
        deleted = deleted && y(i, c) == x(i, c);
      } else {
        if (i > at) inserted = inserted && y(i, c) == x(i - 1, c);
        if (i < D - 1) deleted = deleted && y(i, c) == x(i + 1, c);
      }
    }
    if (inserted || deleted) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("SequenceMetropolis: the chains' distribution is the enumerated target (D = 4, K = 3)", "[energy]") {
  // Chi-square against the exact distribution over all 81 strings. A correct sampler fails
  // at p <= 1e-3 once in a thousand runs (fixed seeds: deterministic). A wrong Hastings
  // ratio (e.g. the factor K of a padding insertion left out) fails it by far.
  const TableTarget target = make_target();
  const std::vector<double> p = exact_probabilities(target);
  struct Case {
    const char* name;
    SequenceMoves moves;
  };
  const std::vector<Case> cases{
      {"substitution only", moves(1.0, 0.0, 0.0)},
      {"insert/delete only, uniform fill", moves(0.0, 0.5, 0.5)},
      {"insert/delete only, padding fill", moves(0.0, 0.5, 0.5, SequenceMoves::padding(K, 0))},
      {"all three, uneven insert/delete, uniform fill", moves(0.2, 0.5, 0.3)},
      {"all three, uneven insert/delete, padding fill", moves(0.4, 0.2, 0.4, SequenceMoves::padding(K, 0))},
      {"all three, skewed fill", moves(0.3, 0.4, 0.3, (Vector<double>(3) << 0.7, 0.1, 0.2).finished())},
  };
  std::uint64_t seed = 100;
  for (const auto& test : cases) {
    const ChainRun run = run_chains(target, test.moves, ++seed);
    const auto fit = mam::test::chi_square_test(run.counts, p);
    CAPTURE(test.name, fit.statistic, fit.degrees_of_freedom, run.totals.acceptance_rate());
    CHECK(fit.degrees_of_freedom >= 60);
    CHECK(fit.p_value > 1e-3);
    // The moves that were switched on were proposed and accepted.
    const double probabilities[3] = {test.moves.substitute, test.moves.insert, test.moves.remove};
    for (std::size_t m = 0; m < 3; ++m) {
      CHECK((run.totals.proposed[m] > 0) == (probabilities[m] > 0.0));
      CHECK((run.totals.accepted[m] > 0) == (probabilities[m] > 0.0));
    }
  }

  {  // the same test tells a different target apart: it is not blind
    TableTarget other = target;
    std::swap(other.table[5], other.table[40]);
    std::swap(other.table[11], other.table[62]);
    const ChainRun run = run_chains(other, moves(0.2, 0.5, 0.3), 200);
    CHECK(mam::test::chi_square_test(run.counts, p).p_value < 1e-6);
  }
}

TEST_CASE("SequenceMetropolis: acceptance follows the Hastings ratio on a flat target", "[energy]") {
  // log f constant: with padding fill and K = 3, an insertion whose last symbol is padding
  // is accepted always (ratio K q_del / q_ins = 3), any other insertion is refused, and a
  // deletion is accepted with probability 1/K (its ratio).
  const TableTarget flat{std::vector<double>(81, 0.0)};
  Rng rng(5);
  SequenceMetropolis<TableTarget> sampler(flat, random_start(4000, rng), K,
                                          moves(0.0, 0.5, 0.5, SequenceMoves::padding(K, 0)));
  sampler.run(50, rng);
  const auto& t = sampler.totals();
  const double delete_rate = static_cast<double>(t.accepted[2]) / static_cast<double>(t.proposed[2]);
  CHECK(delete_rate == Approx(1.0 / 3.0).margin(0.01));
  // Stationary on a flat target: uniform over strings, so the last symbol is padding 1/3 of
  // the time and 1/3 of the insertions proceed.
  const double insert_rate = static_cast<double>(t.accepted[1]) / static_cast<double>(t.proposed[1]);
  CHECK(insert_rate == Approx(1.0 / 3.0).margin(0.01));
  CHECK(t.acceptance_rate(1) == insert_rate);
  CHECK(t.acceptance_rate(2) == delete_rate);
  CHECK(t.acceptance_rate(0) == 0.0);  // never proposed
  CHECK_THROWS_AS(t.acceptance_rate(3), mam::value_error);
  // With uniform fill and even insert/delete, every move on a flat target is accepted.
  SequenceMetropolis<TableTarget> uniform(flat, random_start(100, rng), K, moves(0.2, 0.4, 0.4));
  uniform.run(20, rng);
  CHECK(uniform.totals().total_accepted() == uniform.totals().total_proposed());
  CHECK(uniform.totals().total_proposed() == 2000);
}

TEST_CASE("SequenceMetropolis: every proposal is one substitution, insertion or deletion", "[energy]") {
  // log f records the proposals; each differs from the chain's state before the step by one edit.
  std::vector<CodeMatrix> seen;
  auto recording = [&seen](const CodeMatrix& x) {
    seen.push_back(x);
    return Vector<double>::Zero(x.cols()).eval();
  };
  Rng rng(9);
  SequenceMetropolis<decltype(recording)> sampler(recording, random_start(50, rng), K, moves(0.3, 0.35, 0.35));
  for (int s = 0; s < 40; ++s) {
    const CodeMatrix before = sampler.state();
    sampler.step(rng);
    for (Index c = 0; c < before.cols(); ++c) CHECK(one_edit_apart(before, seen.back(), c));
    CHECK(sampler.state() == seen.back());  // flat target, uniform fill: all accepted
  }
  // An insertion at 0 of symbol s into (a, b, c, d) is (s, a, b, c): the edits really shift.
  CodeMatrix x(D, 1), shifted(D, 1), not_an_edit(D, 1);
  x << 0, 1, 2, 1;
  shifted << 2, 0, 1, 2;
  not_an_edit << 2, 1, 0, 2;
  CHECK(one_edit_apart(x, shifted, 0));
  CHECK_FALSE(one_edit_apart(x, not_an_edit, 0));
}

TEST_CASE("SequenceMetropolis: the seed fixes the chains", "[energy]") {
  const TableTarget target = make_target();
  auto chains = [&](std::uint64_t seed) {
    Rng rng(seed);
    SequenceMetropolis<TableTarget> sampler(target, random_start(64, rng), K, moves(0.4, 0.3, 0.3));
    sampler.run(30, rng);
    return std::make_pair(sampler.state(), sampler.totals().total_accepted());
  };
  const auto a = chains(3), b = chains(3), c = chains(4);
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
  CHECK(a.first != c.first);
}

TEST_CASE("SequenceMetropolis: invalid arguments and broken targets throw", "[energy]") {
  const TableTarget target = make_target();
  Rng rng(1);
  const CodeMatrix start = random_start(8, rng);
  using Sampler = SequenceMetropolis<TableTarget>;
  CHECK_THROWS_AS(Sampler(target, CodeMatrix(0, 8), K, moves(1, 0, 0)), mam::shape_error);
  CHECK_THROWS_AS(Sampler(target, start, 1, moves(1, 0, 0)), mam::value_error);
  CodeMatrix bad_code = start;
  bad_code(2, 3) = 3;
  CHECK_THROWS_AS(Sampler(target, bad_code, K, moves(1, 0, 0)), mam::value_error);
  bad_code(2, 3) = -1;
  CHECK_THROWS_AS(Sampler(target, bad_code, K, moves(1, 0, 0)), mam::value_error);
  CHECK_THROWS_AS(Sampler(target, start, K, moves(0.5, 0.2, 0.2)), mam::value_error);   // sum 0.9
  CHECK_THROWS_AS(Sampler(target, start, K, moves(1.2, -0.1, -0.1)), mam::value_error);  // negative
  CHECK_THROWS_AS(Sampler(target, start, K, moves(0.5, 0.5, 0.0)), mam::value_error);    // insert without delete
  CHECK_THROWS_AS(Sampler(target, start, K, moves(0.5, 0.25, 0.25, Vector<double>::Ones(2))), mam::shape_error);
  CHECK_THROWS_AS(Sampler(target, start, K, moves(0.5, 0.25, 0.25, Vector<double>::Zero(3))), mam::value_error);
  CHECK_THROWS_AS(Sampler(target, start, K, moves(0.5, 0.25, 0.25, -Vector<double>::Ones(3))), mam::value_error);
  CHECK_THROWS_AS(SequenceMoves::padding(K, 3), mam::value_error);

  auto wrong_size = [](const CodeMatrix& x) { return Vector<double>::Zero(x.cols() + 1).eval(); };
  CHECK_THROWS_AS(SequenceMetropolis<decltype(wrong_size)>(wrong_size, start, K, moves(1, 0, 0)), mam::shape_error);
  auto minus_infinity = [](const CodeMatrix& x) {
    return Vector<double>::Constant(x.cols(), -std::numeric_limits<double>::infinity()).eval();
  };
  CHECK_THROWS_AS(SequenceMetropolis<decltype(minus_infinity)>(minus_infinity, start, K, moves(1, 0, 0)),
                  mam::value_error);
  // NaN from the target on a later step: numeric_error, not a silent rejection.
  int calls = 0;
  auto nan_later = [&calls](const CodeMatrix& x) {
    return Vector<double>::Constant(x.cols(), ++calls > 1 ? std::nan("") : 0.0).eval();
  };
  SequenceMetropolis<decltype(nan_later)> sampler(nan_later, start, K, moves(1, 0, 0));
  CHECK_THROWS_AS(sampler.step(rng), mam::numeric_error);
  Sampler fine(target, start, K, moves(1, 0, 0));
  CHECK_THROWS_AS(fine.run(-1, rng), mam::value_error);
}
