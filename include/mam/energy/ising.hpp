#pragma once
// The Ising target of the reference (MaM, ICML 2024): an L x L torus of binary variables
// x in {0, 1}, spins s = 2x - 1 and the unnormalized log-probability
//
//   log f(x) = s^T (sigma A) s + b * sum_i s_i,
//
// A the symmetric adjacency of the torus (A_ij counts lattice edges, see lattice.hpp).
// s^T A s counts every edge twice, so each edge carries the coupling 2 * sigma:
//   log f(x) = sum over edges 2 sigma s_a s_b + b sum_i s_i.
// Defaults sigma = 0.1, b = 0.2 as in the reference.

#include <cmath>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"
#include "mam/energy/lattice.hpp"

namespace mam {

class IsingModel {
 public:
  /// side >= 2; sigma and field finite (any sign: negative sigma is antiferromagnetic).
  explicit IsingModel(Index side, double sigma = 0.1, double field = 0.2)
      : lattice_(side), sigma_(sigma), field_(field) {
    detail::require_finite_parameter("mam::IsingModel", "sigma", sigma);
    detail::require_finite_parameter("mam::IsingModel", "field", field);
  }

  Index side() const { return lattice_.side(); }
  double sigma() const { return sigma_; }
  double field() const { return field_; }
  const TorusLattice& lattice() const { return lattice_; }

  Index num_variables() const { return lattice_.num_sites(); }
  static constexpr Index num_values() { return 2; }

  /// log f of each column of x (D x batch, codes 0/1 only), one value per sample.
  Vector<double> log_f(const Eigen::Ref<const CodeMatrix>& x) const {
    detail::require_complete_lattice_codes("mam::IsingModel::log_f", x, num_variables(), 2);
    // batch x D: each site's spins over the batch are one contiguous column, so every
    // edge term below is a vectorized product of two columns.
    const Matrix<double> spins = (2.0 * x.transpose().cast<double>().array() - 1.0).matrix();
    Vector<double> pair_sum = Vector<double>::Zero(x.cols());
    for (const LatticeEdge& e : lattice_.edges())
      pair_sum.array() += spins.col(e.first).array() * spins.col(e.second).array();
    return 2.0 * sigma_ * pair_sum + field_ * spins.rowwise().sum();
  }

  /// The energy target interface: same as log_f.
  Vector<double> operator()(const Eigen::Ref<const CodeMatrix>& x) const { return log_f(x); }

  /// Gibbs interface: logits (2 x chains) of site `site` given its neighbours in every column
  /// of x; row k is the part of log f that depends on x_site = k. x must hold complete 0/1
  /// codes: this is called once per site per sweep, so only shapes are checked here.
  void site_logits(const Eigen::Ref<const CodeMatrix>& x, Index site, Matrix<double>& logits) const {
    const char* function = "mam::IsingModel::site_logits";
    detail::require<shape_error>(x.rows() == num_variables(), function,
                                 detail::concat("states with D = ", num_variables(), " rows"),
                                 x.rows());
    detail::require<value_error>(site >= 0 && site < num_variables(), function,
                                 detail::concat("a site in 0..", num_variables() - 1), site);
    // s_i appears in log f as s_i * (2 sigma * sum_j A_ij s_j + b); the four neighbour
    // slots (repeats included) are exactly row i of A.
    RowVector<double> local = RowVector<double>::Zero(x.cols());
    for (Index j : lattice_.neighbours(site))
      local.array() += 2.0 * x.row(j).cast<double>().array() - 1.0;
    local = (2.0 * sigma_) * local.array() + field_;
    logits.resize(2, x.cols());
    logits.row(0) = -local;
    logits.row(1) = local;
  }

  Matrix<double> site_logits(const Eigen::Ref<const CodeMatrix>& x, Index site) const {
    Matrix<double> logits;
    site_logits(x, site, logits);
    return logits;
  }

  /// Pairwise form log f(x) = sum_edges P(x_a, x_b) + sum_i q(x_i): P (2 x 2) per edge.
  Matrix<double> pair_log_potential() const {
    Matrix<double> p(2, 2);
    p << 2.0 * sigma_, -2.0 * sigma_, -2.0 * sigma_, 2.0 * sigma_;
    return p;
  }

  /// ... and q (2 entries) per site.
  Vector<double> site_log_potential() const {
    Vector<double> q(2);
    q << -field_, field_;
    return q;
  }

 private:
  TorusLattice lattice_;
  double sigma_;
  double field_;
};

}  // namespace mam
