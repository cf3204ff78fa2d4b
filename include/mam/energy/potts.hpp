#pragma once
// The K-state Potts target on the L x L torus of lattice.hpp, x_i in 0..K-1:
//
//   log f(x) = sum over edges J * [x_a == x_b] + sum over sites h * [x_i == 0],
//
// J > 0 favours equal neighbours (ferromagnetic), J < 0 unequal ones; the field h favours
// (h > 0) or disfavours value 0, which breaks the permutation symmetry between values as
// the Ising field does. Edges are those of TorusLattice::edges(): on a 2 x 2 torus each
// neighbouring pair is joined twice, so it carries 2 J. For K = 2, J = 4 sigma and h = -2 b
// this is the Ising target up to a constant: log f_Ising = log f_Potts - 4 sigma D + b D.

#include <cmath>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"
#include "mam/energy/lattice.hpp"

namespace mam {

class PottsModel {
 public:
  /// side >= 2, num_values K >= 2, coupling J and field h finite.
  PottsModel(Index side, Index num_values, double coupling, double field = 0.0)
      : lattice_(side), num_values_(num_values), coupling_(coupling), field_(field) {
    detail::require<value_error>(num_values >= 2, "mam::PottsModel", "num_values K >= 2",
                                 num_values);
    detail::require_finite_parameter("mam::PottsModel", "coupling", coupling);
    detail::require_finite_parameter("mam::PottsModel", "field", field);
  }

  Index side() const { return lattice_.side(); }
  double coupling() const { return coupling_; }
  double field() const { return field_; }
  const TorusLattice& lattice() const { return lattice_; }

  Index num_variables() const { return lattice_.num_sites(); }
  Index num_values() const { return num_values_; }

  /// log f of each column of x (D x batch, codes 0..K-1 only), one value per sample.
  Vector<double> log_f(const Eigen::Ref<const CodeMatrix>& x) const {
    detail::require_complete_lattice_codes("mam::PottsModel::log_f", x, num_variables(),
                                           num_values_);
    // batch x D: each site's codes over the batch form one contiguous column.
    const CodeMatrix xt = x.transpose();
    Vector<double> equal_pairs = Vector<double>::Zero(x.cols());
    for (const LatticeEdge& e : lattice_.edges())
      equal_pairs.array() += (xt.col(e.first).array() == xt.col(e.second).array()).cast<double>();
    const Vector<double> zeros = (xt.array() == 0).cast<double>().rowwise().sum();
    return coupling_ * equal_pairs + field_ * zeros;
  }

  /// The energy target interface: same as log_f.
  Vector<double> operator()(const Eigen::Ref<const CodeMatrix>& x) const { return log_f(x); }

  /// Gibbs interface: logits (K x chains) of site `site` given its neighbours in every column
  /// of x: row k = J * (neighbour slots holding k) + h [k == 0]. x must hold complete codes:
  /// called once per site per sweep, so only shapes are checked here.
  void site_logits(const Eigen::Ref<const CodeMatrix>& x, Index site, Matrix<double>& logits) const {
    const char* function = "mam::PottsModel::site_logits";
    detail::require<shape_error>(x.rows() == num_variables(), function,
                                 detail::concat("states with D = ", num_variables(), " rows"),
                                 x.rows());
    detail::require<value_error>(site >= 0 && site < num_variables(), function,
                                 detail::concat("a site in 0..", num_variables() - 1), site);
    logits.setZero(num_values_, x.cols());
    for (Index j : lattice_.neighbours(site))  // four slots = row `site` of A, repeats kept
      for (Index k = 0; k < num_values_; ++k)
        logits.row(k).array() += (x.row(j).array() == static_cast<Code>(k)).cast<double>();
    logits *= coupling_;
    logits.row(0).array() += field_;
  }

  Matrix<double> site_logits(const Eigen::Ref<const CodeMatrix>& x, Index site) const {
    Matrix<double> logits;
    site_logits(x, site, logits);
    return logits;
  }

  /// Pairwise form log f(x) = sum_edges P(x_a, x_b) + sum_i q(x_i): P = J * identity (K x K).
  Matrix<double> pair_log_potential() const {
    return coupling_ * Matrix<double>::Identity(num_values_, num_values_);
  }

  /// ... and q = h * e_0 (K entries).
  Vector<double> site_log_potential() const {
    Vector<double> q = Vector<double>::Zero(num_values_);
    q[0] = field_;
    return q;
  }

 private:
  TorusLattice lattice_;
  Index num_values_;
  double coupling_;
  double field_;
};

}  // namespace mam
