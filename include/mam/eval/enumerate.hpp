#pragma once
// Exact answers for small problems, by enumerating every state: ground truth for tests and
// diagnostics that check a model's marginals.
//
// Numbering: a complete state x of D variables with K values each has index sum_i x_i K^i
// (mixed radix, position 0 the fastest-changing digit), so a distribution is a vector of
// K^D log-probabilities in that order. Partial states use radix K+1, the digit K standing
// for `unknown`, and have index sum_i d_i (K+1)^i.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// The most states (complete or partial) these tools enumerate. 2^24 doubles are 128 MiB;
/// past that, exact enumeration is no longer a sensible check.
inline constexpr Index max_enumerated_states = Index{1} << 24;

namespace detail {

inline void require_dimensions(const char* function, Index num_variables, Index num_values) {
  require<value_error>(num_variables >= 1, function, "num_variables >= 1", num_variables);
  require<value_error>(num_values >= 1, function, "num_values >= 1", num_values);
}

// radix^num_variables, refused as soon as it passes max_enumerated_states (so it never
// overflows: both factors stay <= 2^24 + 1 before each product).
inline Index enumeration_size(const char* function, Index num_variables, Index radix,
                              const char* radix_name) {
  Index count = 1;
  for (Index i = 0; i < num_variables; ++i) {
    if (radix > max_enumerated_states || count * radix > max_enumerated_states)
      fail<value_error>(function,
                        concat("at most 2^24 = ", max_enumerated_states, " states to enumerate"),
                        concat(radix_name, "^D = ", radix, "^", num_variables, " > 2^24"));
    count *= radix;
  }
  return count;
}

inline Index count_states(const char* function, Index num_variables, Index num_values) {
  require_dimensions(function, num_variables, num_values);
  return enumeration_size(function, num_variables, num_values, "K");
}

inline Index count_partial_states(const char* function, Index num_variables, Index num_values) {
  require_dimensions(function, num_variables, num_values);
  return enumeration_size(function, num_variables, num_values + 1, "(K+1)");
}

// Every column's digits in mixed radix, position 0 fastest.
inline CodeMatrix mixed_radix_columns(Index num_variables, Index radix, Index count) {
  CodeMatrix columns(num_variables, count);
  for (Index c = 0; c < count; ++c) {
    Index rest = c;
    for (Index i = 0; i < num_variables; ++i) {
      columns(i, c) = static_cast<Code>(rest % radix);
      rest /= radix;
    }
  }
  return columns;
}

inline void require_log_p_size(const char* function, Index size, Index num_states,
                               Index num_variables, Index num_values) {
  require<shape_error>(size == num_states, function,
                       concat("log_p with K^D = ", num_values, "^", num_variables, " = ",
                              num_states, " entries"),
                       size);
}

inline void require_codes(const char* function, const Eigen::Ref<const CodeMatrix>& codes,
                          Index num_values) {
  for (Index c = 0; c < codes.cols(); ++c)
    for (Index i = 0; i < codes.rows(); ++i) {
      const Code code = codes(i, c);
      if (code != unknown && (code < 0 || code >= num_values))
        fail<value_error>(function, concat("codes in 0..", num_values - 1, " or unknown (-1)"),
                          concat(code, " at position ", i, " of sample ", c));
    }
}

// log_weights - log_sum_exp(log_weights), with the failures named after the public caller.
inline Vector<double> normalized_log(const char* function,
                                     const Eigen::Ref<const Vector<double>>& log_weights) {
  constexpr double infinity = std::numeric_limits<double>::infinity();
  require<shape_error>(log_weights.size() > 0, function, "at least one log-weight", 0);
  for (Index i = 0; i < log_weights.size(); ++i) {
    const double w = log_weights[i];
    if (std::isnan(w) || w == infinity)
      fail<numeric_error>(function, "log-weights that are finite or -inf",
                          concat(w, " at index ", i));
  }
  const double log_total = log_sum_exp(log_weights);
  require<value_error>(log_total > -infinity, function, "at least one log-weight above -inf",
                       "all -inf");
  return (log_weights.array() - log_total).matrix();
}

// The marginal of every partial state, filled in increasing index order. An entry whose
// lowest unknown position is l is the log-sum-exp of the K entries that put 0..K-1 at l
// instead; those differ only in a smaller digit l, so they have smaller indices and are
// already final. Each entry costs O(D + K): the whole table O((K+1)^D (D + K)).
inline Vector<double> log_marginal_table(const Vector<double>& log_prob, Index num_variables,
                                         Index num_values, Index num_partial_states) {
  const Index K = num_values;
  std::vector<Index> place(static_cast<std::size_t>(num_variables));  // (K+1)^i
  Index power = 1;
  for (Index& p : place) {
    p = power;
    power *= K + 1;
  }
  std::vector<Index> digits(static_cast<std::size_t>(num_variables), 0);  // of entry `p` below
  Vector<double> table(num_partial_states);
  for (Index p = 0; p < num_partial_states; ++p) {
    Index lowest_unknown = -1;
    Index complete_index = 0;  // meaningful only when no digit is unknown
    for (Index i = num_variables - 1; i >= 0; --i) {
      const Index d = digits[static_cast<std::size_t>(i)];
      if (d == K) lowest_unknown = i;
      else complete_index = complete_index * K + d;
    }
    if (lowest_unknown < 0) {
      table[p] = log_prob[complete_index];
    } else {
      const Index stride = place[static_cast<std::size_t>(lowest_unknown)];
      const Eigen::Map<const Vector<double>, 0, Eigen::InnerStride<>> completions(
          table.data() + (p - K * stride), K, Eigen::InnerStride<>(stride));
      table[p] = log_sum_exp(completions);
    }
    for (Index& d : digits) {  // odometer: next partial state
      if (++d <= K) break;
      d = 0;
    }
  }
  return table;
}

// One marginal by summing its K^u completions (u = number of unknowns): cheaper than the
// table when only a few columns are asked for. `buffer` is reused between calls.
inline double log_marginal_by_summation(const Vector<double>& log_prob, Index num_values,
                                        const Eigen::Ref<const CodeMatrix>& partial, Index sample,
                                        Vector<double>& buffer) {
  const Index K = num_values;
  Index known_offset = 0;
  std::vector<Index> unknown_places;  // K^i for each unknown position i
  Index place = 1;
  for (Index i = 0; i < partial.rows(); ++i) {
    const Code code = partial(i, sample);
    if (code == unknown) unknown_places.push_back(place);
    else known_offset += code * place;
    place *= K;
  }
  Index num_completions = 1;
  for (std::size_t j = 0; j < unknown_places.size(); ++j) num_completions *= K;
  if (buffer.size() < num_completions) buffer.resize(num_completions);

  std::vector<Index> digits(unknown_places.size(), 0);
  Index index = known_offset;
  for (Index c = 0; c < num_completions; ++c) {
    buffer[c] = log_prob[index];
    for (std::size_t j = 0; j < digits.size(); ++j) {  // odometer over the unknown positions
      if (++digits[j] < K) {
        index += unknown_places[j];
        break;
      }
      digits[j] = 0;
      index -= (K - 1) * unknown_places[j];
    }
  }
  return log_sum_exp(buffer.head(num_completions));
}

}  // namespace detail

/// All K^D complete states, one per column, column c = the state with index c.
inline CodeMatrix all_states(Index num_variables, Index num_values) {
  const Index count = detail::count_states("mam::all_states", num_variables, num_values);
  return detail::mixed_radix_columns(num_variables, num_values, count);
}

/// All (K+1)^D partial states (each position 0..K-1 or unknown), column c = index c.
inline CodeMatrix all_partial_states(Index num_variables, Index num_values) {
  const Index count =
      detail::count_partial_states("mam::all_partial_states", num_variables, num_values);
  CodeMatrix states = detail::mixed_radix_columns(num_variables, num_values + 1, count);
  for (Index c = 0; c < count; ++c)
    for (Index i = 0; i < num_variables; ++i)
      if (states(i, c) == num_values) states(i, c) = unknown;
  return states;
}

/// Index sum_i x_i K^i of the complete state in column `sample` of `states` (D = rows);
/// all_states(D, K).col(state_index(s, j, K)) == s.col(j).
inline Index state_index(const Eigen::Ref<const CodeMatrix>& states, Index sample,
                         Index num_values) {
  const char* function = "mam::state_index";
  detail::count_states(function, states.rows(), num_values);  // also rules out overflow
  detail::require<value_error>(sample >= 0 && sample < states.cols(), function,
                               detail::concat("a sample in 0..", states.cols() - 1), sample);
  Index index = 0;
  for (Index i = states.rows() - 1; i >= 0; --i) {
    const Code code = states(i, sample);
    if (code < 0 || code >= num_values)
      detail::fail<value_error>(
          function, detail::concat("a complete state with codes in 0..", num_values - 1),
          detail::concat(code, " at position ", i, " of sample ", sample));
    index = index * num_values + code;
  }
  return index;
}

/// Index sum_i d_i (K+1)^i of the partial state in column `sample` (d_i = K where unknown);
/// all_partial_states(D, K).col(partial_state_index(s, j, K)) == s.col(j).
inline Index partial_state_index(const Eigen::Ref<const CodeMatrix>& states, Index sample,
                                 Index num_values) {
  const char* function = "mam::partial_state_index";
  detail::count_partial_states(function, states.rows(), num_values);
  detail::require<value_error>(sample >= 0 && sample < states.cols(), function,
                               detail::concat("a sample in 0..", states.cols() - 1), sample);
  Index index = 0;
  for (Index i = states.rows() - 1; i >= 0; --i) {
    const Code code = states(i, sample);
    if (code != unknown && (code < 0 || code >= num_values))
      detail::fail<value_error>(
          function, detail::concat("codes in 0..", num_values - 1, " or unknown (-1)"),
          detail::concat(code, " at position ", i, " of sample ", sample));
    index = index * (num_values + 1) + (code == unknown ? num_values : code);
  }
  return index;
}

/// log_weights - log_sum_exp(log_weights): log-probabilities. Throws value_error when every
/// weight is zero (all -inf) and numeric_error on NaN or +inf.
inline Vector<double> normalize_log(const Eigen::Ref<const Vector<double>>& log_weights) {
  return detail::normalized_log("mam::normalize_log", log_weights);
}

/// log p(x_S) for every partial state, in all_partial_states order. `log_p` holds log-weights
/// over all_states order (normalized here). Impossible partial states get -inf.
inline Vector<double> exact_log_marginal_table(const Eigen::Ref<const Vector<double>>& log_p,
                                               Index num_variables, Index num_values) {
  const char* function = "mam::exact_log_marginal_table";
  const Index num_states = detail::count_states(function, num_variables, num_values);
  detail::require_log_p_size(function, log_p.size(), num_states, num_variables, num_values);
  const Index num_partial = detail::count_partial_states(function, num_variables, num_values);
  const Vector<double> log_prob = detail::normalized_log(function, log_p);
  return detail::log_marginal_table(log_prob, num_variables, num_values, num_partial);
}

/// log p(x_S) for each column of `partial` (D x batch, entries 0..K-1 or unknown): the
/// log-sum over all completions of the known entries, -inf if none has positive weight.
/// `log_p` holds log-weights over all_states order (normalized here).
inline Vector<double> exact_log_marginals(const Eigen::Ref<const Vector<double>>& log_p,
                                          Index num_variables, Index num_values,
                                          const Eigen::Ref<const CodeMatrix>& partial) {
  const char* function = "mam::exact_log_marginals";
  const Index num_states = detail::count_states(function, num_variables, num_values);
  detail::require_log_p_size(function, log_p.size(), num_states, num_variables, num_values);
  detail::require<shape_error>(partial.rows() == num_variables, function,
                               detail::concat("partial states with D = ", num_variables, " rows"),
                               partial.rows());
  detail::require_codes(function, partial, num_values);
  const Vector<double> log_prob = detail::normalized_log(function, log_p);

  // Pick the cheaper exact method: the full table costs about (K+1)^D, summing each column
  // directly K^(its unknowns). Counted in double: the sum over many columns may be huge.
  double summation_cost = 0.0;
  for (Index c = 0; c < partial.cols(); ++c) {
    const auto num_unknown = static_cast<double>((partial.col(c).array() == unknown).count());
    summation_cost += std::pow(static_cast<double>(num_values), num_unknown);
  }
  const double table_cost =
      std::pow(static_cast<double>(num_values + 1), static_cast<double>(num_variables));

  Vector<double> marginals(partial.cols());
  if (table_cost <= static_cast<double>(max_enumerated_states) && table_cost < summation_cost) {
    const Vector<double> table = detail::log_marginal_table(
        log_prob, num_variables, num_values, static_cast<Index>(table_cost));
    for (Index c = 0; c < partial.cols(); ++c)
      marginals[c] = table[partial_state_index(partial, c, num_values)];
  } else {
    Vector<double> buffer;
    for (Index c = 0; c < partial.cols(); ++c)
      marginals[c] = detail::log_marginal_by_summation(log_prob, num_values, partial, c, buffer);
  }
  return marginals;
}

/// KL(p || q) in nats for log-weights over the same states (both normalized here). States
/// with p = 0 contribute 0; q = 0 where p > 0 gives +inf.
inline double kl_divergence(const Eigen::Ref<const Vector<double>>& log_p,
                            const Eigen::Ref<const Vector<double>>& log_q) {
  const char* function = "mam::kl_divergence";
  detail::require<shape_error>(log_q.size() == log_p.size(), function,
                               detail::concat("log_q with as many entries as log_p (",
                                              log_p.size(), ")"),
                               log_q.size());
  constexpr double infinity = std::numeric_limits<double>::infinity();
  const Vector<double> lp = detail::normalized_log(function, log_p);
  const Vector<double> lq = detail::normalized_log(function, log_q);
  double divergence = 0.0;
  for (Index i = 0; i < lp.size(); ++i) {
    if (lp[i] == -infinity) continue;
    if (lq[i] == -infinity) return infinity;
    divergence += std::exp(lp[i]) * (lp[i] - lq[i]);
  }
  return std::max(divergence, 0.0);  // below zero only through round-off
}

/// Entropy -sum p log p in nats of log-weights (normalized here); p = 0 contributes 0.
inline double entropy(const Eigen::Ref<const Vector<double>>& log_p) {
  constexpr double infinity = std::numeric_limits<double>::infinity();
  const Vector<double> lp = detail::normalized_log("mam::entropy", log_p);
  double sum = 0.0;
  for (Index i = 0; i < lp.size(); ++i)
    if (lp[i] > -infinity) sum -= std::exp(lp[i]) * lp[i];
  return std::max(sum, 0.0);  // below zero only through round-off
}

}  // namespace mam
