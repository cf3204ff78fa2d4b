#pragma once
// Metropolis–Hastings over strings of D symbols (one chain per column of a D x chains
// CodeMatrix) for an unnormalized target log f, with moves that edit a string the way its
// meaning changes: substitute one symbol, insert one (shifting the rest right), delete one
// (shifting the rest left). With insertion and deletion, "A B C ..." -> "A B B C ..." is one
// proposal, where substitutions alone would have to change every later symbol together.
//
// The moves, for a chain in state x (positions 0..D-1, K symbols):
//   substitute  position i uniform, x_i -> one of the other K-1 symbols, uniformly;
//   insert      position i uniform, symbol s uniform: x_0..x_{i-1}, s, x_i..x_{D-2}
//               (the last symbol x_{D-1} falls off the end);
//   delete      position i uniform: x_0..x_{i-1}, x_{i+1}..x_{D-1}, t, where the symbol t
//               appended at the end is drawn from the fill distribution r.
// Insertion at i of s and deletion at i appending t = x_{D-1} undo each other, and every
// pair (i, s) that inserts x into y matches exactly one i that deletes y back into x, so
// the proposal densities are q_ins/(D K) per insertion and q_del r(t)/D per deletion. The
// Hastings ratios are therefore
//   insert x -> y:  f(y)/f(x) * q_del K r(x_{D-1}) / q_ins   (0, i.e. refused, when r(x_{D-1}) = 0)
//   delete x -> y:  f(y)/f(x) * q_ins / (q_del K r(t)),      t = y_{D-1} the appended symbol
// and substitution is symmetric. With r uniform (the default) and q_ins = q_del, both are
// f(y)/f(x); with r concentrated on a padding code, deletion pads and insertion only
// proceeds when the last symbol is padding, with the factor K. Every move satisfies detailed
// balance with f, so their mixture does: f is the stationary distribution (unique when the
// chosen moves connect all strings: substitution alone does, and so do insertion and
// deletion with r > 0 for every symbol or a padding code).
//
// All chains propose at once and log f is called once per step on the D x chains batch of
// proposals (so an expensive target can be evaluated in parallel by the caller).

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// Which move a chain proposes, with what probability (non-negative, summing to 1 within
/// 1e-9), and what a deletion appends at the end.
struct SequenceMoves {
  double substitute = 0.5;
  double insert = 0.25;
  double remove = 0.25;  ///< delete
  /// The fill distribution r over the K symbols (non-negative weights, normalized here);
  /// empty: uniform. `SequenceMoves::padding(K, code)` gives r concentrated on one code.
  Vector<double> fill;

  static Vector<double> padding(Index num_values, Code code) {
    Vector<double> weights = Vector<double>::Zero(num_values);
    detail::require<value_error>(code >= 0 && code < num_values, "mam::SequenceMoves::padding",
                                 detail::concat("a code in 0..", num_values - 1), code);
    weights[code] = 1.0;
    return weights;
  }
};

/// Proposals and acceptances per move kind (0 substitute, 1 insert, 2 delete), summed over
/// chains and steps.
struct SequenceMetropolisCounts {
  std::array<long, 3> proposed{0, 0, 0};
  std::array<long, 3> accepted{0, 0, 0};

  long total_proposed() const { return proposed[0] + proposed[1] + proposed[2]; }
  long total_accepted() const { return accepted[0] + accepted[1] + accepted[2]; }
  double acceptance_rate() const {
    return total_proposed() > 0 ? static_cast<double>(total_accepted()) / static_cast<double>(total_proposed()) : 0.0;
  }
  /// Of one move kind (0 substitute, 1 insert, 2 delete).
  double acceptance_rate(std::size_t move) const {
    detail::require<value_error>(move < 3, "mam::SequenceMetropolisCounts::acceptance_rate", "a move in 0..2", move);
    return proposed[move] > 0 ? static_cast<double>(accepted[move]) / static_cast<double>(proposed[move]) : 0.0;
  }
  SequenceMetropolisCounts& operator+=(const SequenceMetropolisCounts& other) {
    for (int m = 0; m < 3; ++m) {
      proposed[static_cast<std::size_t>(m)] += other.proposed[static_cast<std::size_t>(m)];
      accepted[static_cast<std::size_t>(m)] += other.accepted[static_cast<std::size_t>(m)];
    }
    return *this;
  }
};

/// Chains of Metropolis–Hastings with substitution, insertion and deletion moves on the
/// target f. `LogTarget`: callable mapping a D x chains CodeMatrix to one log f per column
/// (an Eigen vector of doubles; -inf allowed for strings outside the support, NaN and +inf
/// refused). The chains start from `start`, whose log f must be finite.
template <class LogTarget>
class SequenceMetropolis {
 public:
  SequenceMetropolis(LogTarget log_f, CodeMatrix start, Index num_values, SequenceMoves moves)
      : log_f_(std::move(log_f)), state_(std::move(start)), num_values_(num_values), moves_(std::move(moves)) {
    const char* function = "mam::SequenceMetropolis";
    detail::require<shape_error>(state_.rows() >= 1 && state_.cols() >= 1, function,
                                 "a start of at least 1 x 1 (D x chains)",
                                 detail::concat(state_.rows(), " x ", state_.cols()));
    detail::require<value_error>(num_values_ >= 2, function, "num_values >= 2", num_values_);
    detail::require<value_error>((state_.array() >= 0).all() && (state_.array() < num_values_).all(), function,
                                 detail::concat("start codes in 0..", num_values_ - 1),
                                 detail::concat("codes from ", state_.minCoeff(), " to ", state_.maxCoeff()));
    const double probabilities[3] = {moves_.substitute, moves_.insert, moves_.remove};
    for (double q : probabilities)
      detail::require<value_error>(q >= 0.0 && std::isfinite(q), function, "move probabilities >= 0", q);
    const double sum = probabilities[0] + probabilities[1] + probabilities[2];
    detail::require<value_error>(std::abs(sum - 1.0) <= 1e-9, function, "move probabilities summing to 1", sum);
    detail::require<value_error>((moves_.insert > 0.0) == (moves_.remove > 0.0), function,
                                 "insert and delete both on or both off (each undoes the other)",
                                 detail::concat("insert ", moves_.insert, ", delete ", moves_.remove));
    if (moves_.fill.size() == 0) moves_.fill = Vector<double>::Constant(num_values_, 1.0);
    detail::require<shape_error>(moves_.fill.size() == num_values_, function,
                                 detail::concat("fill weights for ", num_values_, " symbols"), moves_.fill.size());
    for (Index k = 0; k < num_values_; ++k)
      detail::require<value_error>(moves_.fill[k] >= 0.0 && std::isfinite(moves_.fill[k]), function,
                                   "finite non-negative fill weights", detail::concat(moves_.fill[k], " at ", k));
    const double fill_total = moves_.fill.sum();
    detail::require<value_error>(fill_total > 0.0, function, "a positive total fill weight", fill_total);
    moves_.fill /= fill_total;
    current_log_f_ = evaluate(state_, "log f of the start");
    for (Index c = 0; c < state_.cols(); ++c)
      detail::require<value_error>(std::isfinite(current_log_f_[c]), function, "a start with finite log f",
                                   detail::concat(current_log_f_[c], " for chain ", c));
  }

  /// One proposal per chain, accepted or rejected; returns this step's counts.
  SequenceMetropolisCounts step(Rng& rng) {
    const Index D = state_.rows(), chains = state_.cols();
    const auto K = static_cast<std::uint64_t>(num_values_);
    proposal_ = state_;
    kinds_.resize(chains);
    log_hastings_.resize(chains);
    SequenceMetropolisCounts counts;
    for (Index c = 0; c < chains; ++c) {
      const double u = rng.uniform();
      const int kind = u < moves_.substitute ? 0 : u < moves_.substitute + moves_.insert ? 1 : 2;
      const auto i = static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(D)));
      double log_ratio = 0.0;
      auto column = proposal_.col(c);
      if (kind == 0) {
        const auto shift = static_cast<Code>(1 + rng.uniform_int(K - 1));  // any symbol but the current one
        column[i] = static_cast<Code>((column[i] + shift) % static_cast<Code>(K));
      } else if (kind == 1) {
        const auto symbol = static_cast<Code>(rng.uniform_int(K));
        const double fill_back = moves_.fill[state_(D - 1, c)];  // the reverse deletion appends x_{D-1}
        log_ratio = fill_back > 0.0 ? std::log(moves_.remove * static_cast<double>(K) * fill_back / moves_.insert)
                                    : -std::numeric_limits<double>::infinity();
        for (Index j = D - 1; j > i; --j) column[j] = column[j - 1];
        column[i] = symbol;
      } else {
        const auto appended = static_cast<Code>(rng.categorical(moves_.fill));
        for (Index j = i; j < D - 1; ++j) column[j] = column[j + 1];
        column[D - 1] = appended;
        log_ratio = std::log(moves_.insert / (moves_.remove * static_cast<double>(K) * moves_.fill[appended]));
      }
      kinds_[c] = kind;
      log_hastings_[c] = log_ratio;
      ++counts.proposed[static_cast<std::size_t>(kind)];
    }
    const Vector<double> proposed_log_f = evaluate(proposal_, "log f of the proposals");
    for (Index c = 0; c < chains; ++c) {
      if (log_hastings_[c] == -std::numeric_limits<double>::infinity()) continue;  // refused insertion
      const double log_accept = proposed_log_f[c] - current_log_f_[c] + log_hastings_[c];
      if (!(std::log(rng.uniform()) < log_accept)) continue;  // -inf (outside the support) never passes
      state_.col(c) = proposal_.col(c);
      current_log_f_[c] = proposed_log_f[c];
      ++counts.accepted[static_cast<std::size_t>(kinds_[c])];
    }
    totals_ += counts;
    return counts;
  }

  /// `steps` steps; returns their counts.
  SequenceMetropolisCounts run(Index steps, Rng& rng) {
    detail::require<value_error>(steps >= 0, "mam::SequenceMetropolis::run", "steps >= 0", steps);
    SequenceMetropolisCounts counts;
    for (Index s = 0; s < steps; ++s) counts += step(rng);
    return counts;
  }

  const CodeMatrix& state() const { return state_; }
  const Vector<double>& log_f() const { return current_log_f_; }
  const SequenceMetropolisCounts& totals() const { return totals_; }

 private:
  Vector<double> evaluate(const CodeMatrix& x, const char* what) {
    const char* function = "mam::SequenceMetropolis";
    Vector<double> values = log_f_(x);
    detail::require<shape_error>(values.size() == x.cols(), function,
                                 detail::concat(what, ": one value per chain (", x.cols(), ")"), values.size());
    for (Index c = 0; c < values.size(); ++c)
      if (std::isnan(values[c]) || values[c] == std::numeric_limits<double>::infinity())
        detail::fail<numeric_error>(function, detail::concat(what, ": finite values or -inf"),
                                    detail::concat(values[c], " for chain ", c));
    return values;
  }

  LogTarget log_f_;
  CodeMatrix state_, proposal_;
  Index num_values_;
  SequenceMoves moves_;
  Vector<double> current_log_f_, log_hastings_;
  std::vector<int> kinds_;
  SequenceMetropolisCounts totals_;
};

}  // namespace mam
