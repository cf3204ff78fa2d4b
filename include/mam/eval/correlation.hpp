#pragma once
// Pearson and Spearman correlation of two equally long vectors (e.g. log-likelihoods of the
// same samples by two estimators). Spearman ranks ties by their average rank.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

namespace detail {

inline void require_pair(const Vector<double>& a, const Vector<double>& b, const char* function) {
  require<shape_error>(a.size() == b.size(), function, concat("vectors of equal length (", a.size(), ")"), b.size());
  require<shape_error>(a.size() >= 2, function, "at least two values", a.size());
  require<numeric_error>(a.allFinite() && b.allFinite(), function, "finite values", "NaN or infinity");
}

}  // namespace detail

/// Pearson's correlation coefficient. A constant vector has no correlation: value_error.
inline double pearson(const Vector<double>& a, const Vector<double>& b) {
  const char* function = "mam::pearson";
  detail::require_pair(a, b, function);
  const Vector<double> da = a.array() - a.mean(), db = b.array() - b.mean();
  const double na = da.norm(), nb = db.norm();
  detail::require<value_error>(na > 0.0 && nb > 0.0, function, "non-constant vectors", "a constant one");
  return std::clamp(da.dot(db) / (na * nb), -1.0, 1.0);
}

/// Ranks 1..n of `values` (ties get the mean of the ranks they span).
inline Vector<double> average_ranks(const Vector<double>& values) {
  const Index n = values.size();
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  std::stable_sort(order.begin(), order.end(), [&](Index i, Index j) { return values[i] < values[j]; });
  Vector<double> ranks(n);
  for (Index first = 0; first < n;) {
    Index last = first;
    while (last + 1 < n && values[order[static_cast<std::size_t>(last + 1)]] == values[order[static_cast<std::size_t>(first)]])
      ++last;
    const double rank = 0.5 * static_cast<double>(first + last) + 1.0;
    for (Index k = first; k <= last; ++k) ranks[order[static_cast<std::size_t>(k)]] = rank;
    first = last + 1;
  }
  return ranks;
}

/// Spearman's rank correlation: Pearson's correlation of the average ranks.
inline double spearman(const Vector<double>& a, const Vector<double>& b) {
  detail::require_pair(a, b, "mam::spearman");
  return pearson(average_ranks(a), average_ranks(b));
}

}  // namespace mam
