#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <mam/core/math.hpp>
#include <mam/core/rng.hpp>
#include <mam/energy/gibbs.hpp>
#include <mam/energy/ising.hpp>
#include <mam/energy/lattice.hpp>
#include <mam/energy/potts.hpp>
#include <mam/energy/transfer_matrix.hpp>
#include <mam/eval/enumerate.hpp>

#include "support/chi_square.hpp"
#include "support/values.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::IsingModel;
using mam::Matrix;
using mam::PottsModel;
using mam::Rng;
using mam::Vector;

namespace {

using mam::test::random_states;

// The adjacency matrix written out from the (row, col) geometry, independently of
// TorusLattice: A_ij counts lattice edges, so on a 2 x 2 torus neighbours get A_ij = 2.
Matrix<double> torus_adjacency(Index side) {
  const Index d = side * side;
  Matrix<double> a = Matrix<double>::Zero(d, d);
  for (Index r = 0; r < side; ++r)
    for (Index c = 0; c < side; ++c) {
      const Index i = r * side + c;
      const Index right = r * side + (c + 1) % side;
      const Index down = ((r + 1) % side) * side + c;
      a(i, right) += 1.0;
      a(right, i) += 1.0;
      a(i, down) += 1.0;
      a(down, i) += 1.0;
    }
  return a;
}

// The reference's formula, one sample at a time: s^T (sigma A) s + b sum(s).
double ising_direct(const Matrix<double>& adjacency, double sigma, double field,
                    const CodeMatrix& x, Index sample) {
  const Vector<double> s = (2.0 * x.col(sample).cast<double>().array() - 1.0).matrix();
  return s.dot(sigma * adjacency * s) + field * s.sum();
}

double potts_direct(Index side, double coupling, double field, const CodeMatrix& x, Index sample) {
  auto at = [&](Index r, Index c) { return x((r % side) * side + c % side, sample); };
  double value = 0.0;
  for (Index r = 0; r < side; ++r)
    for (Index c = 0; c < side; ++c) {
      value += coupling * (at(r, c) == at(r, c + 1)) + coupling * (at(r, c) == at(r + 1, c));
      value += field * (at(r, c) == 0);
    }
  return value;
}

// log Z, E[log f] and entropy by enumerating all K^D states.
template <class Model>
mam::ExactAnswers enumerated_answers(const Model& model) {
  const Vector<double> log_f =
      model.log_f(mam::all_states(model.num_variables(), model.num_values()));
  const Vector<double> log_p = mam::normalize_log(log_f);
  mam::ExactAnswers answers;
  answers.log_z = mam::log_sum_exp(log_f);
  answers.mean_log_f = (log_p.array().exp() * log_f.array()).sum();
  answers.entropy = mam::entropy(log_f);
  return answers;
}

void check_answers(const mam::ExactAnswers& got, const mam::ExactAnswers& expected) {
  CHECK(got.log_z == Approx(expected.log_z).epsilon(1e-9).margin(1e-10));
  CHECK(got.mean_log_f == Approx(expected.mean_log_f).epsilon(1e-9).margin(1e-10));
  CHECK(got.entropy == Approx(expected.entropy).epsilon(1e-9).margin(1e-10));
}

template <class Model>
std::vector<double> exact_probabilities(const Model& model) {
  const Vector<double> log_p = mam::normalize_log(
      model.log_f(mam::all_states(model.num_variables(), model.num_values())));
  std::vector<double> p(static_cast<std::size_t>(log_p.size()));
  for (Index i = 0; i < log_p.size(); ++i) p[static_cast<std::size_t>(i)] = std::exp(log_p[i]);
  return p;
}

std::vector<double> state_counts(const CodeMatrix& samples, Index num_values) {
  std::vector<double> counts(static_cast<std::size_t>(
      std::pow(static_cast<double>(num_values), static_cast<double>(samples.rows())) + 0.5));
  for (Index c = 0; c < samples.cols(); ++c)
    counts[static_cast<std::size_t>(mam::state_index(samples, c, num_values))] += 1.0;
  return counts;
}

// A deliberately broken Gibbs model: the Ising conditional that forgets the "up" neighbour.
struct ForgetfulIsing {
  IsingModel model;
  Index num_variables() const { return model.num_variables(); }
  Index num_values() const { return 2; }
  void site_logits(const Eigen::Ref<const CodeMatrix>& x, Index site, Matrix<double>& logits) const {
    const auto slots = model.lattice().neighbours(site);
    mam::RowVector<double> local = mam::RowVector<double>::Zero(x.cols());
    for (int j = 0; j < 3; ++j) local.array() += 2.0 * x.row(slots[j]).cast<double>().array() - 1.0;
    local = 2.0 * model.sigma() * local.array() + model.field();
    logits.resize(2, x.cols());
    logits.row(0) = -local;
    logits.row(1) = local;
  }
};

// A model whose conditionals are broken in shape or value, for the sampler's checks.
struct BrokenLogits {
  bool wrong_shape = false;
  Index num_variables() const { return 2; }
  Index num_values() const { return 2; }
  void site_logits(const Eigen::Ref<const CodeMatrix>& x, Index, Matrix<double>& logits) const {
    logits.setZero(wrong_shape ? 3 : 2, x.cols());
    if (!wrong_shape) logits(1, 0) = std::numeric_limits<double>::quiet_NaN();
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lattice

TEST_CASE("TorusLattice: numbering, neighbours and edges wrap around", "[energy]") {
  const mam::TorusLattice lattice(3);
  CHECK(lattice.num_sites() == 9);
  CHECK(lattice.site(1, 2) == 5);
  CHECK(lattice.row_of(5) == 1);
  CHECK(lattice.col_of(5) == 2);
  CHECK(lattice.neighbours(4) == std::array<Index, 4>{5, 3, 7, 1});
  CHECK(lattice.neighbours(0) == std::array<Index, 4>{1, 2, 3, 6});
  CHECK(lattice.neighbours(8) == std::array<Index, 4>{6, 7, 2, 5});
  REQUIRE(lattice.edges().size() == 18);
  CHECK(lattice.edges()[2].first == 1);
  CHECK(lattice.edges()[2].second == 2);
  CHECK(lattice.edges()[5].first == 2);
  CHECK(lattice.edges()[5].second == 5);
  // Every unordered pair once for L >= 3: the edge list is the adjacency's upper half.
  Matrix<double> a = Matrix<double>::Zero(9, 9);
  for (const auto& e : lattice.edges()) {
    a(e.first, e.second) += 1.0;
    a(e.second, e.first) += 1.0;
  }
  CHECK(a == torus_adjacency(3));
  CHECK(a.maxCoeff() == 1.0);
}

TEST_CASE("TorusLattice: on a 2 x 2 torus each neighbouring pair is joined twice", "[energy]") {
  const mam::TorusLattice lattice(2);
  CHECK(lattice.edges().size() == 8);
  CHECK(lattice.neighbours(0) == std::array<Index, 4>{1, 1, 2, 2});
  Matrix<double> a = Matrix<double>::Zero(4, 4);
  for (const auto& e : lattice.edges()) {
    a(e.first, e.second) += 1.0;
    a(e.second, e.first) += 1.0;
  }
  CHECK(a == torus_adjacency(2));
  CHECK(a(0, 1) == 2.0);
  CHECK(a(0, 3) == 0.0);
}

// ---------------------------------------------------------------------------------------------
// Targets

TEST_CASE("IsingModel: log_f is s^T (sigma A) s + b sum(s) with the lattice adjacency", "[energy]") {
  Rng rng(5);
  for (Index side : {2, 3, 4}) {
    const Matrix<double> adjacency = torus_adjacency(side);
    for (const auto& [sigma, field] : std::vector<std::pair<double, double>>{
             {0.1, 0.2}, {0.3, -0.5}, {-0.4, 0.0}, {0.0, 1.5}}) {
      const IsingModel model(side, sigma, field);
      const CodeMatrix x = random_states(side * side, 2, 40, rng);
      const Vector<double> batched = model.log_f(x);
      REQUIRE(batched.size() == 40);
      for (Index b = 0; b < x.cols(); ++b) {
        CHECK(batched[b] == Approx(ising_direct(adjacency, sigma, field, x, b)).margin(1e-12));
        CHECK(model(x.col(b))[0] == batched[b]);  // one at a time == batched
      }
    }
  }
  // Defaults as the reference; all +1 on a 3 x 3 torus: 18 edges * 2 sigma + 9 b.
  const IsingModel model(3);
  CHECK(model.sigma() == 0.1);
  CHECK(model.field() == 0.2);
  CHECK(model.log_f(CodeMatrix::Ones(9, 1))[0] == Approx(18 * 0.2 + 9 * 0.2));
}

TEST_CASE("IsingModel and PottsModel: log_f is invariant under torus translations", "[energy]") {
  Rng rng(8);
  const Index side = 4;
  const IsingModel ising(side, 0.3, -0.2);
  const PottsModel potts(side, 3, 0.7, 0.4);
  for (Index k : {2, 3}) {
    const CodeMatrix x = random_states(side * side, k, 10, rng);
    CodeMatrix shifted(x.rows(), x.cols());
    for (Index r = 0; r < side; ++r)
      for (Index c = 0; c < side; ++c)
        shifted.row(((r + 1) % side) * side + (c + 3) % side) = x.row(r * side + c);
    if (k == 2) CHECK(ising.log_f(shifted).isApprox(ising.log_f(x), 1e-14));
    CHECK(potts.log_f(shifted).isApprox(potts.log_f(x), 1e-14));
  }
}

TEST_CASE("PottsModel: log_f counts equal neighbours and zeros", "[energy]") {
  Rng rng(6);
  for (Index side : {2, 3, 4}) {
    for (Index k : {2, 3, 5}) {
      const PottsModel model(side, k, 0.8, -0.3);
      const CodeMatrix x = random_states(side * side, k, 30, rng);
      const Vector<double> batched = model.log_f(x);
      for (Index b = 0; b < x.cols(); ++b) {
        CHECK(batched[b] == Approx(potts_direct(side, 0.8, -0.3, x, b)).margin(1e-12));
        CHECK(model(x.col(b))[0] == batched[b]);
      }
    }
  }
}

TEST_CASE("PottsModel with K = 2 is the Ising target up to a constant", "[energy]") {
  Rng rng(7);
  const double sigma = 0.3, field = -0.4;
  for (Index side : {2, 3, 6}) {
    const Index d = side * side;
    const IsingModel ising(side, sigma, field);
    const PottsModel potts(side, 2, 4.0 * sigma, -2.0 * field);
    const CodeMatrix x = random_states(d, 2, 20, rng);
    const double shift = (-4.0 * sigma + field) * static_cast<double>(d);
    CHECK((ising.log_f(x).array() - potts.log_f(x).array() - shift).abs().maxCoeff() < 1e-12);
    const mam::ExactAnswers a = mam::exact_answers(ising), b = mam::exact_answers(potts);
    CHECK(a.log_z == Approx(b.log_z + shift).epsilon(1e-12));
    CHECK(a.mean_log_f == Approx(b.mean_log_f + shift).epsilon(1e-12));
    CHECK(a.entropy == Approx(b.entropy).epsilon(1e-12));
  }
}

TEST_CASE("site_logits differences are log f differences when one site changes", "[energy]") {
  Rng rng(9);
  auto check = [&](const auto& model) {
    const Index d = model.num_variables(), k = model.num_values();
    CodeMatrix x = random_states(d, k, 12, rng);
    for (Index site = 0; site < d; ++site) {
      const Matrix<double> logits = model.site_logits(x, site);
      REQUIRE(logits.rows() == k);
      REQUIRE(logits.cols() == x.cols());
      CodeMatrix with_zero = x;
      with_zero.row(site).setZero();
      const Vector<double> base = model.log_f(with_zero);
      for (Index value = 1; value < k; ++value) {
        CodeMatrix changed = x;
        changed.row(site).setConstant(static_cast<mam::Code>(value));
        const Vector<double> expected = model.log_f(changed) - base;
        const Vector<double> got = (logits.row(value) - logits.row(0)).transpose();
        CHECK((got - expected).cwiseAbs().maxCoeff() < 1e-12);
      }
    }
  };
  for (Index side : {2, 3, 4}) {
    check(IsingModel(side, 0.35, -0.15));
    check(PottsModel(side, 4, -0.6, 0.9));
  }
}

// ---------------------------------------------------------------------------------------------
// Transfer matrix

TEST_CASE("exact_answers: Ising transfer matrix matches enumeration", "[energy]") {
  for (Index side : {2, 3, 4}) {
    for (const auto& [sigma, field] : std::vector<std::pair<double, double>>{
             {0.1, 0.2}, {0.3, 0.2}, {-0.4, 0.3}, {0.25, -0.6}, {-0.2, -0.1}, {0.6, 0.0},
             {3.0, 0.7}, {-3.0, 0.7}}) {
      CAPTURE(side, sigma, field);
      const IsingModel model(side, sigma, field);
      check_answers(mam::exact_answers(model), enumerated_answers(model));
    }
  }
}

TEST_CASE("exact_answers: Potts transfer matrix matches enumeration", "[energy]") {
  struct Case {
    Index side, k;
    double coupling, field;
  };
  for (const Case& c : std::vector<Case>{{2, 3, 0.9, 0.4},
                                         {2, 4, -0.5, 1.1},
                                         {3, 3, 1.0, 0.5},
                                         {3, 3, -0.7, -0.3},
                                         {3, 3, 1.4, 0.0},
                                         {3, 2, 0.8, 0.2}}) {
    CAPTURE(c.side, c.k, c.coupling, c.field);
    const PottsModel model(c.side, c.k, c.coupling, c.field);
    check_answers(mam::exact_answers(model), enumerated_answers(model));
  }
}

TEST_CASE("exact_answers: closed forms without coupling", "[energy]") {
  for (Index side : {2, 5, 10}) {
    const auto d = static_cast<double>(side * side);
    for (double b : {0.2, -0.7, 0.0}) {
      CAPTURE(side, b);
      const mam::ExactAnswers a = mam::exact_answers(IsingModel(side, 0.0, b));
      const double p = 1.0 / (1.0 + std::exp(-2.0 * b));  // P(x_i = 1) = sigmoid(2b)
      const double binary_entropy = -p * std::log(p) - (1.0 - p) * std::log1p(-p);
      CHECK(a.log_z == Approx(d * std::log(2.0 * std::cosh(b))).epsilon(1e-12));
      CHECK(a.mean_log_f == Approx(d * b * std::tanh(b)).epsilon(1e-12).margin(1e-12));
      CHECK(a.entropy == Approx(d * binary_entropy).epsilon(1e-12));
    }
  }
  for (const auto& [side, k] : std::vector<std::pair<Index, Index>>{{2, 3}, {4, 3}, {5, 4}}) {
    const auto d = static_cast<double>(side * side);
    for (double h : {0.0, 0.8, -1.3}) {
      CAPTURE(side, k, h);
      const mam::ExactAnswers a = mam::exact_answers(PottsModel(side, k, 0.0, h));
      const double z1 = static_cast<double>(k - 1) + std::exp(h);  // one site's sum
      CHECK(a.log_z == Approx(d * std::log(z1)).epsilon(1e-12));
      CHECK(a.mean_log_f == Approx(d * h * std::exp(h) / z1).epsilon(1e-12).margin(1e-12));
      CHECK(a.entropy == Approx(a.log_z - a.mean_log_f).epsilon(1e-12));
    }
  }
}

TEST_CASE("exact_answers: flipping the field is a symmetry of the Ising target", "[energy]") {
  for (Index side : {5, 7}) {
    const mam::ExactAnswers a = mam::exact_answers(IsingModel(side, 0.3, 0.25));
    const mam::ExactAnswers b = mam::exact_answers(IsingModel(side, 0.3, -0.25));
    CHECK(a.log_z == Approx(b.log_z).epsilon(1e-13));
    CHECK(a.mean_log_f == Approx(b.mean_log_f).epsilon(1e-12));
    CHECK(a.entropy > 0.0);
    CHECK(a.entropy < static_cast<double>(side * side) * std::log(2.0));
  }
}

// ---------------------------------------------------------------------------------------------
// Gibbs sampler

TEST_CASE("gibbs_sample: strongly coupled 3 x 3 Ising matches the exact distribution", "[energy]") {
  // sigma = 0.3 puts each edge at coupling 0.6, past the 2D critical point: the all -1
  // mode holds ~3% of the mass behind a barrier, and chains started at random need a few
  // hundred sweeps to tunnel (relaxation time ~130 sweeps). 1000 burn-in sweeps leave a
  // bias far below the sampling noise; 500 sweeps between kept samples make them
  // effectively independent.
  const IsingModel model(3, 0.3, 0.2);
  const std::vector<double> p = exact_probabilities(model);
  const Index chains = 2000, burn_in = 1000, thinning = 500, per_chain = 2;

  Rng rng(2024);
  const CodeMatrix samples = mam::gibbs_sample(model, chains, burn_in, thinning, per_chain, rng);
  REQUIRE(samples.rows() == 9);
  REQUIRE(samples.cols() == chains * per_chain);
  const auto fit = mam::test::chi_square_test(state_counts(samples, 2), p);
  CAPTURE(fit.statistic, fit.degrees_of_freedom);
  CHECK(fit.degrees_of_freedom >= 5);
  CHECK(fit.p_value > 1e-3);

  // Single-site marginals: every site has P(x_i = 1) from the exact table.
  const auto n = static_cast<double>(samples.cols());
  CodeMatrix partial = CodeMatrix::Constant(9, 9, mam::unknown);
  for (Index i = 0; i < 9; ++i) partial(i, i) = 1;
  const Vector<double> log_p = model.log_f(mam::all_states(9, 2));
  const Vector<double> marginal = mam::exact_log_marginals(log_p, 9, 2, partial).array().exp();
  for (Index i = 0; i < 9; ++i) {
    const double empirical = samples.row(i).cast<double>().sum() / n;
    const double standard_error = std::sqrt(marginal[i] * (1.0 - marginal[i]) / n);
    CAPTURE(i, empirical, marginal[i]);
    CHECK(std::abs(empirical - marginal[i]) < 5.0 * standard_error);
  }

  {  // a sampler with the wrong sign of the field fails the same test
    Rng wrong_rng(2024);
    const CodeMatrix wrong = mam::gibbs_sample(IsingModel(3, 0.3, -0.2), chains, burn_in,
                                               thinning, per_chain, wrong_rng);
    CHECK(mam::test::chi_square_test(state_counts(wrong, 2), p).p_value < 1e-6);
  }
  {  // ... and so does one whose conditional forgets a neighbour
    Rng wrong_rng(2024);
    const CodeMatrix wrong = mam::gibbs_sample(ForgetfulIsing{model}, chains, burn_in,
                                               thinning, per_chain, wrong_rng);
    CHECK(mam::test::chi_square_test(state_counts(wrong, 2), p).p_value < 1e-6);
  }
}

TEST_CASE("gibbs_sample: 2 x 2 Potts with K = 3 matches the exact distribution", "[energy]") {
  const PottsModel model(2, 3, 0.5, 0.3);
  Rng rng(77);
  const CodeMatrix samples = mam::gibbs_sample(model, 4000, 50, 20, 2, rng);
  const auto fit = mam::test::chi_square_test(state_counts(samples, 3), exact_probabilities(model));
  CAPTURE(fit.statistic, fit.degrees_of_freedom);
  CHECK(fit.degrees_of_freedom >= 40);
  CHECK(fit.p_value > 1e-3);
}

TEST_CASE("gibbs_sample: the seed fixes the samples and the column order is chain-fastest", "[energy]") {
  const IsingModel model(4, 0.2, 0.1);
  Rng a(31), b(31), c(32);
  const CodeMatrix first = mam::gibbs_sample(model, 7, 3, 2, 4, a);
  const CodeMatrix second = mam::gibbs_sample(model, 7, 3, 2, 4, b);
  const CodeMatrix other = mam::gibbs_sample(model, 7, 3, 2, 4, c);
  CHECK(first == second);
  CHECK(a == b);
  CHECK(first != other);
  CHECK(first.rows() == 16);
  CHECK(first.cols() == 28);
  CHECK(((first.array() == 0) || (first.array() == 1)).all());
  // Column s * chains + c is chain c's s-th sample: running the same chains for one kept
  // sample gives the first `chains` columns.
  Rng d(31);
  CHECK(mam::gibbs_sample(model, 7, 3, 2, 1, d) == first.leftCols(7));
}

// ---------------------------------------------------------------------------------------------
// Validation

TEST_CASE("energy targets: invalid sizes, parameters and codes throw", "[energy]") {
  CHECK_THROWS_AS(mam::TorusLattice(1), mam::value_error);
  CHECK_THROWS_AS(IsingModel(1), mam::value_error);
  CHECK_THROWS_AS(IsingModel(0), mam::value_error);
  CHECK_THROWS_AS(PottsModel(1, 3, 1.0), mam::value_error);
  CHECK_THROWS_AS(PottsModel(3, 1, 1.0), mam::value_error);
  CHECK_THROWS_AS(IsingModel(3, std::numeric_limits<double>::quiet_NaN()), mam::value_error);
  CHECK_THROWS_AS(IsingModel(3, 0.1, std::numeric_limits<double>::infinity()), mam::value_error);
  CHECK_THROWS_AS(PottsModel(3, 3, -std::numeric_limits<double>::infinity()), mam::value_error);
  const mam::TorusLattice lattice(3);
  CHECK_THROWS_AS(lattice.site(3, 0), mam::value_error);
  CHECK_THROWS_AS(lattice.neighbours(9), mam::value_error);

  const IsingModel ising(3);
  const PottsModel potts(3, 3, 1.0);
  CHECK_THROWS_AS(ising.log_f(CodeMatrix::Zero(8, 2)), mam::shape_error);
  CHECK_THROWS_AS(potts.log_f(CodeMatrix::Zero(10, 2)), mam::shape_error);
  CodeMatrix x = CodeMatrix::Zero(9, 3);
  x(4, 1) = mam::unknown;
  CHECK_THROWS_WITH(ising.log_f(x), Catch::Contains("position 4 of sample 1") &&
                                        Catch::Contains("IsingModel::log_f"));
  CHECK_THROWS_AS(ising.log_f(x), mam::value_error);
  CHECK_THROWS_AS(potts.log_f(x), mam::value_error);
  x(4, 1) = 2;
  CHECK_THROWS_AS(ising.log_f(x), mam::value_error);
  CHECK_NOTHROW(potts.log_f(x));
  x(4, 1) = 3;
  CHECK_THROWS_WITH(potts.log_f(x), Catch::Contains("0..2") && Catch::Contains("sample 1"));
  CHECK_THROWS_AS(ising.site_logits(CodeMatrix::Zero(9, 2), 9), mam::value_error);
  CHECK_THROWS_AS(potts.site_logits(CodeMatrix::Zero(4, 2), 0), mam::shape_error);
}

TEST_CASE("exact_answers: column spaces past 4096 states are refused", "[energy]") {
  CHECK_THROWS_AS(mam::exact_answers(IsingModel(13)), mam::value_error);
  CHECK_THROWS_WITH(mam::exact_answers(IsingModel(13)), Catch::Contains("4096"));
  CHECK_THROWS_AS(mam::exact_answers(PottsModel(8, 3, 1.0)), mam::value_error);
  CHECK_THROWS_AS(mam::exact_answers(PottsModel(3, 17, 1.0)), mam::value_error);
  // transfer_matrix_fits says which sizes those are, without trying.
  CHECK(mam::transfer_matrix_fits(IsingModel(12)));
  CHECK_FALSE(mam::transfer_matrix_fits(IsingModel(13)));
  CHECK(mam::transfer_matrix_fits(PottsModel(7, 3, 1.0)));  // 3^7 = 2187
  CHECK_FALSE(mam::transfer_matrix_fits(PottsModel(8, 3, 1.0)));
  CHECK(mam::transfer_matrix_fits(PottsModel(2, 64, 1.0)));  // 64^2 = 4096
  CHECK_FALSE(mam::transfer_matrix_fits(PottsModel(3, 17, 1.0)));
  CHECK_FALSE(mam::transfer_matrix_fits(PottsModel(64, 64, 1.0)));  // 64^64: no overflow
  // Couplings so strong that exp(log-potential) underflows are refused, not summed wrongly.
  CHECK_THROWS_WITH(mam::exact_answers(IsingModel(3, -300.0)), Catch::Contains("700 nats"));
  CHECK_THROWS_AS(mam::exact_answers(IsingModel(12, 15.0)), mam::value_error);
  CHECK_THROWS_AS(mam::exact_answers(PottsModel(4, 3, 20.0, 400.0)), mam::value_error);
}

TEST_CASE("gibbs_sample: invalid arguments and broken models throw", "[energy]") {
  const IsingModel model(3);
  Rng rng(1);
  CHECK_THROWS_AS(mam::gibbs_sample(model, 0, 1, 1, 1, rng), mam::value_error);
  CHECK_THROWS_AS(mam::gibbs_sample(model, 2, -1, 1, 1, rng), mam::value_error);
  CHECK_THROWS_AS(mam::gibbs_sample(model, 2, 1, 0, 1, rng), mam::value_error);
  CHECK_THROWS_AS(mam::gibbs_sample(model, 2, 1, 1, 0, rng), mam::value_error);
  CHECK_THROWS_AS(mam::gibbs_sample(BrokenLogits{true}, 2, 1, 1, 1, rng), mam::shape_error);
  CHECK_THROWS_AS(mam::gibbs_sample(BrokenLogits{false}, 2, 1, 1, 1, rng), mam::numeric_error);
}
