#pragma once
// Exact log Z, E_p[log f] and entropy of the Ising and Potts targets by a column transfer
// matrix: ground truth for lattices far beyond enumeration (Ising up to 12 x 12).
//
// Both targets are pairwise: log f(x) = sum_edges P(x_a, x_b) + sum_i q(x_i). Read the torus
// column by column; a column's state u (its L codes, u = sum_r u_r K^r, row 0 the fastest
// digit) has the energy V(u) of its own vertical edges and fields, and two consecutive
// columns u, v share H(u, v) = sum_r P(u_r, v_r). With T(u, v) = exp(H(u, v) + V(v)),
//   Z = trace(T^L) = sum_{u_0} exp(V(u_0)) [T^(L-1) exp(H)](u_0, u_0),
// periodic in both directions: the L-th step wraps the last column back onto the first.
//
// Never is T (K^L x K^L) formed: exp(H) is the Kronecker product of L copies of the K x K
// matrix exp(P), one per row, so applying it costs L passes that each mix K "slabs" of the
// state, O(L K K^L) per vector instead of K^(2L). Each start column u_0 needs its own vector;
// the vertical translation symmetry of the torus (rotating u_0's rows changes neither its
// share of Z nor of E[log f]) leaves about K^L / L start columns. The cost is
// O(L^2 K K^L) per start column, O(L K K^(2L)) in all: 0.4 s for the 12 x 12 Ising model.
//
// E[log f] = d log Z(t) / dt at t = 1, with every log-potential scaled by t, is carried
// alongside: besides the weight sum a = sum_paths prod w we propagate
// b = sum_paths (prod w) * (sum of the path's log-potentials) through the same linear steps
// (the "expectation semiring": a factor w = exp(e) maps (a, b) to (w a, w (b + e a))), so
// E[log f] = b / a exactly, with no finite differences.
//
// Scaling: every factor is divided by its largest value (exp(P - max P), exp(V - max V))
// and each start column's vectors by their maximum after every column step, the logs of
// both kept aside; a and b share each scale, so b / a is unaffected. All entries are sums
// of positive terms: no cancellation in a, and log Z is accurate to a few ulps. A factor
// entry below exp(-708) would underflow to 0 and silently drop paths, so couplings whose
// log-potentials span more than 700 nats within one edge or one column are refused (for
// the Ising model |sigma| > 175, or a 12-row column spanning 12 * 4|sigma| + 24|b| > 700:
// frozen targets with entropy ~0).

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/types.hpp"
#include "mam/energy/ising.hpp"
#include "mam/energy/potts.hpp"

namespace mam {

/// All in nats: log Z, E_p[log f(x)] and entropy H(p) = log Z - E_p[log f(x)] (a difference:
/// its absolute error is about 1e-16 * |log Z|, which matters only for frozen targets).
struct ExactAnswers {
  double log_z = 0.0;
  double mean_log_f = 0.0;
  double entropy = 0.0;
};

/// The largest number of column states K^L the transfer matrix accepts (Ising L <= 12,
/// K = 3 Potts L <= 7, K = 4 L <= 6): the cost grows as K^(2L).
inline constexpr Index max_transfer_states = 4096;

namespace detail {

// exp(-700) ~ 1e-304 is still a normal double; exp(-709) is not.
inline constexpr double max_log_span = 700.0;

inline Index count_column_states(const char* function, Index side, Index num_values) {
  Index count = 1;
  for (Index r = 0; r < side; ++r) {
    if (count * num_values > max_transfer_states)
      fail<value_error>(function,
                        concat("at most K^L = ", max_transfer_states,
                               " column states for the transfer matrix"),
                        concat("K^L = ", num_values, "^", side, " > ", max_transfer_states));
    count *= num_values;
  }
  return count;
}

// Start columns that are the smallest of their orbit under row rotation, with orbit sizes.
inline void rotation_representatives(Index num_values, Index num_states,
                                     std::vector<Index>& starts, std::vector<double>& sizes) {
  const Index top = num_states / num_values;  // K^(L-1)
  for (Index u = 0; u < num_states; ++u) {
    Index orbit = 1;
    bool smallest = true;
    for (Index v = u / num_values + (u % num_values) * top; v != u;
         v = v / num_values + (v % num_values) * top, ++orbit)
      if (v < u) {
        smallest = false;
        break;
      }
    if (smallest) {
      starts.push_back(u);
      sizes.push_back(static_cast<double>(orbit));
    }
  }
}

// One row's Kronecker factor on (a, b): state v and v' differing only in digit r mix through
// w = exp(P - max P) (and w .* P for b). Column-major (rows = start columns), the entries
// with digit r = k for a fixed higher part form one contiguous slab of rows * K^r doubles.
inline void apply_row_factor(const Matrix<double>& a, const Matrix<double>& b, Matrix<double>& a_out,
                             Matrix<double>& b_out, Index stride, const Matrix<double>& w,
                             const Matrix<double>& w_times_p) {
  using Slab = Eigen::Map<const Eigen::ArrayXd>;
  using OutSlab = Eigen::Map<Eigen::ArrayXd>;
  const Index K = w.rows();
  const Index slab = a.rows() * stride;
  const Index groups = a.size() / (slab * K);
  for (Index g = 0; g < groups; ++g) {
    const Index base = g * slab * K;
    for (Index k = 0; k < K; ++k) {
      OutSlab oa(a_out.data() + base + k * slab, slab);
      OutSlab ob(b_out.data() + base + k * slab, slab);
      for (Index l = 0; l < K; ++l) {
        const Slab ia(a.data() + base + l * slab, slab);
        const Slab ib(b.data() + base + l * slab, slab);
        if (l == 0) {
          oa = w(k, l) * ia;
          ob = w(k, l) * ib + w_times_p(k, l) * ia;
        } else {
          oa += w(k, l) * ia;
          ob += w(k, l) * ib + w_times_p(k, l) * ia;
        }
      }
    }
  }
}

// Exact answers of log f = sum_edges P(x_a, x_b) + sum_i q(x_i) on the L x L torus.
inline ExactAnswers pairwise_torus_answers(const char* function, Index side,
                                           const Matrix<double>& pair, const Vector<double>& site) {
  constexpr double minus_infinity = -std::numeric_limits<double>::infinity();
  const Index K = site.size();
  const Index n = count_column_states(function, side, K);

  // V(u): the column's vertical edges (row r to row r+1 mod L; twice for L = 2, as the
  // lattice's edge list) and its fields.
  Eigen::RowVectorXd column_energy(n);
  std::vector<Index> digits(static_cast<std::size_t>(side));
  for (Index u = 0; u < n; ++u) {
    Index rest = u;
    for (Index& d : digits) {
      d = rest % K;
      rest /= K;
    }
    double energy = 0.0;
    for (Index r = 0; r < side; ++r) {
      const Index d = digits[static_cast<std::size_t>(r)];
      energy += pair(d, digits[static_cast<std::size_t>((r + 1) % side)]) + site[d];
    }
    column_energy[u] = energy;
  }
  const double column_max = column_energy.maxCoeff();
  const double pair_span = pair.maxCoeff() - pair.minCoeff();
  const double column_span = column_max - column_energy.minCoeff();
  require<value_error>(pair_span <= max_log_span, function,
                       concat("edge log-potentials spanning at most ", max_log_span,
                              " nats (their exp must not underflow)"),
                       pair_span);
  require<value_error>(column_span <= max_log_span, function,
                       concat("column log-potentials spanning at most ", max_log_span,
                              " nats (their exp must not underflow)"),
                       column_span);
  const Eigen::RowVectorXd column_weight = (column_energy.array() - column_max).exp().matrix();
  const double pair_max = pair.maxCoeff();
  const Matrix<double> w = (pair.array() - pair_max).exp().matrix();
  const Matrix<double> w_times_p = w.cwiseProduct(pair);

  std::vector<Index> starts;
  std::vector<double> orbit_sizes;
  rotation_representatives(K, n, starts, orbit_sizes);
  const auto num_starts = static_cast<Index>(starts.size());

  // Per start column: log of its share of Z and its E[log f | first column].
  Vector<double> log_share(num_starts);
  Vector<double> mean_given_start(num_starts);

  // Blocks of start columns: big enough for long slabs, small enough for the four
  // block x K^L matrices (about 2 MB at K^L = 4096) to stay in cache.
  constexpr Index block = 16;
  Matrix<double> a, b, a_next, b_next;
  for (Index first = 0; first < num_starts; first += block) {
    const Index m = std::min(block, num_starts - first);
    a.setZero(m, n);
    b.setZero(m, n);
    a_next.resize(m, n);
    b_next.resize(m, n);
    Vector<double> log_scale = Vector<double>::Constant(m, column_max);
    for (Index i = 0; i < m; ++i) {
      const Index u = starts[static_cast<std::size_t>(first + i)];
      a(i, u) = column_weight[u];
      b(i, u) = column_energy[u] * column_weight[u];
    }
    for (Index step = 1; step <= side; ++step) {
      // Horizontal edges from the previous column; the L-th step closes the torus.
      Index stride = 1;
      for (Index r = 0; r < side; ++r, stride *= K) {
        apply_row_factor(a, b, a_next, b_next, stride, w, w_times_p);
        a.swap(a_next);
        b.swap(b_next);
      }
      log_scale.array() += static_cast<double>(side) * pair_max;
      if (step == side) break;
      // The new column's own edges and fields: (a, b) -> (w a, w (b + e a)).
      b.array() = (b.array() + a.array().rowwise() * column_energy.array()).rowwise() *
                  column_weight.array();
      a.array().rowwise() *= column_weight.array();
      log_scale.array() += column_max;
      // Rescale each start column so that no product underflows over the L steps.
      const Vector<double> largest = a.rowwise().maxCoeff();
      for (Index i = 0; i < m; ++i) {
        if (largest[i] > 0.0) {
          a.row(i) /= largest[i];
          b.row(i) /= largest[i];
          log_scale[i] += std::log(largest[i]);
        } else {
          log_scale[i] = minus_infinity;  // underflowed: contributes nothing below
        }
      }
    }
    for (Index i = 0; i < m; ++i) {
      const Index u = starts[static_cast<std::size_t>(first + i)];
      const double weight = a(i, u);
      const bool alive = weight > 0.0 && log_scale[i] > minus_infinity;
      log_share[first + i] =
          alive ? log_scale[i] + std::log(weight) + std::log(orbit_sizes[static_cast<std::size_t>(first + i)])
                : minus_infinity;
      mean_given_start[first + i] = alive ? b(i, u) / weight : 0.0;
    }
  }

  ExactAnswers answers;
  answers.log_z = log_sum_exp(log_share);
  require<numeric_error>(std::isfinite(answers.log_z), function,
                         "a finite log Z (couplings too large for double precision?)",
                         answers.log_z);
  answers.mean_log_f =
      ((log_share.array() - answers.log_z).exp() * mean_given_start.array()).sum();
  answers.entropy = answers.log_z - answers.mean_log_f;
  return answers;
}

}  // namespace detail

/// Whether the column transfer matrix of `target` (an IsingModel or PottsModel) fits: its
/// K^L column states at most max_transfer_states, as exact_answers requires.
template <class Target>
bool transfer_matrix_fits(const Target& target) {
  double states = 1.0;  // a double: K^L of a wide lattice overflows any integer
  for (Index r = 0; r < target.side(); ++r) states *= static_cast<double>(target.num_values());
  return states <= static_cast<double>(max_transfer_states);
}

/// Exact log Z, E[log f] and entropy of the Ising target; side <= 12 (2^L <= 4096).
inline ExactAnswers exact_answers(const IsingModel& model) {
  return detail::pairwise_torus_answers("mam::exact_answers(IsingModel)", model.side(),
                                        model.pair_log_potential(), model.site_log_potential());
}

/// Exact log Z, E[log f] and entropy of the Potts target; K^L <= 4096.
inline ExactAnswers exact_answers(const PottsModel& model) {
  return detail::pairwise_torus_answers("mam::exact_answers(PottsModel)", model.side(),
                                        model.pair_log_potential(), model.site_log_potential());
}

}  // namespace mam
