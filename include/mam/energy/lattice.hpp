#pragma once
// The L x L square lattice with periodic boundaries (a torus): the geometry shared by the
// Ising and Potts targets, their exact transfer-matrix answers and the Gibbs sampler.
//
// Site (row r, column c) is variable r * L + c, so a sample's D = L * L codes are the lattice
// read row by row. The edge list holds, for every site in order, (site, right neighbour) and
// then (site, down neighbour): 2 * L * L edges, each lattice bond exactly once for L >= 3.
// For L = 2 the right neighbour of (r, 0) is (r, 1) and the right neighbour of (r, 1) is
// (r, 0) again: the same pair appears twice. We keep both, because the adjacency matrix A of
// the targets counts lattice edges (A_ij = number of edges between i and j), so on a 2 x 2
// torus couplings add up; every site then still has exactly four neighbour slots, and the
// sum over a site's neighbours is row i of A for every L.

#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// One lattice bond between two sites (first < second is not guaranteed: wrap-around edges).
struct LatticeEdge {
  Index first = 0;
  Index second = 0;
};

class TorusLattice {
 public:
  /// The L x L torus; L >= 2 (L = 1 would make every site its own neighbour).
  explicit TorusLattice(Index side) : side_(side) {
    detail::require<value_error>(side >= 2, "mam::TorusLattice", "side >= 2", side);
    const Index n = side * side;
    edges_.reserve(static_cast<std::size_t>(2 * n));
    for (Index i = 0; i < n; ++i) {
      edges_.push_back({i, right(i)});
      edges_.push_back({i, down(i)});
    }
  }

  Index side() const { return side_; }
  Index num_sites() const { return side_ * side_; }

  /// The variable of (row, col); both in 0..L-1.
  Index site(Index row, Index col) const {
    const char* function = "mam::TorusLattice::site";
    detail::require<value_error>(row >= 0 && row < side_, function,
                                 detail::concat("a row in 0..", side_ - 1), row);
    detail::require<value_error>(col >= 0 && col < side_, function,
                                 detail::concat("a column in 0..", side_ - 1), col);
    return row * side_ + col;
  }

  Index row_of(Index site) const { return checked(site, "mam::TorusLattice::row_of") / side_; }
  Index col_of(Index site) const { return checked(site, "mam::TorusLattice::col_of") % side_; }

  // Neighbours wrap around: the torus has no border, so every site is alike.
  Index right(Index site) const {
    checked(site, "mam::TorusLattice::right");
    const Index c = site % side_;
    return site - c + (c + 1) % side_;
  }
  Index left(Index site) const {
    checked(site, "mam::TorusLattice::left");
    const Index c = site % side_;
    return site - c + (c + side_ - 1) % side_;
  }
  Index down(Index site) const {
    checked(site, "mam::TorusLattice::down");
    return (site + side_) % num_sites();
  }
  Index up(Index site) const {
    checked(site, "mam::TorusLattice::up");
    return (site + num_sites() - side_) % num_sites();
  }

  /// right, left, down, up: the four neighbour slots, with repeats for L = 2 (see above).
  std::array<Index, 4> neighbours(Index site) const {
    return {right(site), left(site), down(site), up(site)};
  }

  /// 2 * L * L edges: (i, right(i)), (i, down(i)) for i = 0..D-1.
  const std::vector<LatticeEdge>& edges() const { return edges_; }

 private:
  Index checked(Index site, const char* function) const {
    detail::require<value_error>(site >= 0 && site < num_sites(), function,
                                 detail::concat("a site in 0..", num_sites() - 1), site);
    return site;
  }

  Index side_;
  std::vector<LatticeEdge> edges_;
};

namespace detail {

// The energy targets take complete samples only: '?' has no energy.
inline void require_complete_lattice_codes(const char* function,
                                           const Eigen::Ref<const CodeMatrix>& x,
                                           Index num_variables, Index num_values) {
  require<shape_error>(x.rows() == num_variables, function,
                       concat("samples with D = ", num_variables, " rows"), x.rows());
  // Vectorized test first; only a failing batch pays for the search that names the culprit.
  if (((x.array() < 0) || (x.array() >= num_values)).any()) {
    for (Index c = 0; c < x.cols(); ++c)
      for (Index i = 0; i < x.rows(); ++i) {
        const Code code = x(i, c);
        if (code < 0 || code >= num_values)
          fail<value_error>(function,
                            concat("complete samples with codes in 0..", num_values - 1),
                            concat(code, code == unknown ? " (unknown)" : "", " at position ",
                                   i, " of sample ", c));
      }
  }
}

inline void require_finite_parameter(const char* function, const char* name, double value) {
  require<value_error>(std::isfinite(value), function, concat("a finite ", name), value);
}

}  // namespace detail
}  // namespace mam
