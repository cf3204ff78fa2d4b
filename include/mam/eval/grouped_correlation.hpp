#pragma once
// Agreement of two estimators within groups, the protocol of the MaM paper's image and
// molecule experiments (PrincetonLIPS/MaM, mam/utils/eval_utils.py): the completions of one
// masked test image form a group; inside it, values the reference estimator puts closer than
// `min_gap` to each other are thinned out, because a Monte Carlo reference (AO-ARM-E) cannot
// order near-ties; every group left with two or more values contributes its Spearman and
// Pearson correlations, weighted by the number of values kept.
//
// This answers "does the estimate order the completions of one image as the reference
// does", an easier question than one correlation pooled over all images
// (mam::spearman on everything), which also needs the images' levels to agree.

#include <algorithm>
#include <numeric>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"
#include "mam/eval/correlation.hpp"

namespace mam {

struct GroupedCorrelation {
  double spearman = 0.0;  ///< mean over the groups used, weighted by values kept
  double pearson = 0.0;
  Index groups_used = 0;  ///< groups with at least two values after thinning
  Index values_used = 0;  ///< values in those groups
};

/// The indices of `members` to keep in one group: sorted by reference value, highest first,
/// a value is kept when it lies more than `min_gap` below the last kept one (the highest is
/// always kept).
inline std::vector<Index> thin_near_ties(const Vector<double>& reference, std::vector<Index> members,
                                         double min_gap) {
  std::stable_sort(members.begin(), members.end(), [&](Index i, Index j) { return reference[i] > reference[j]; });
  std::vector<Index> kept;
  for (Index i : members)
    if (kept.empty() || reference[kept.back()] - reference[i] > min_gap) kept.push_back(i);
  return kept;
}

/// Spearman and Pearson of `estimate` against `reference` inside each group
/// (`group_of[i]` is the group of value i, any non-negative labels), after thinning
/// near-ties of the reference by `min_gap` (>= 0; 0 keeps all distinct values). A group
/// whose kept estimates are all equal has no ordering: it counts with correlation 0.
/// value_error when no group keeps two values.
inline GroupedCorrelation grouped_correlation(const Vector<double>& reference, const Vector<double>& estimate,
                                              const std::vector<Index>& group_of, double min_gap) {
  const char* function = "mam::grouped_correlation";
  detail::require<shape_error>(reference.size() == estimate.size(), function,
                               detail::concat("vectors of equal length (", reference.size(), ")"), estimate.size());
  detail::require<shape_error>(static_cast<Index>(group_of.size()) == reference.size(), function,
                               detail::concat("one group label per value (", reference.size(), ")"), group_of.size());
  detail::require<numeric_error>(reference.allFinite() && estimate.allFinite(), function, "finite values",
                                 "NaN or infinity");
  detail::require<value_error>(min_gap >= 0.0, function, "min_gap >= 0", min_gap);
  for (Index g : group_of) detail::require<value_error>(g >= 0, function, "non-negative group labels", g);

  std::vector<Index> by_group(group_of.size());
  std::iota(by_group.begin(), by_group.end(), Index{0});
  std::stable_sort(by_group.begin(), by_group.end(), [&](Index i, Index j) {
    return group_of[static_cast<std::size_t>(i)] < group_of[static_cast<std::size_t>(j)];
  });
  GroupedCorrelation result;
  for (std::size_t first = 0; first < by_group.size();) {
    std::size_t last = first;
    const Index label = group_of[static_cast<std::size_t>(by_group[first])];
    while (last < by_group.size() && group_of[static_cast<std::size_t>(by_group[last])] == label) ++last;
    const std::vector<Index> kept =
        thin_near_ties(reference, std::vector<Index>(by_group.begin() + first, by_group.begin() + last), min_gap);
    first = last;
    if (kept.size() < 2) continue;
    const Index n = static_cast<Index>(kept.size());
    Vector<double> r(n), e(n);
    for (Index k = 0; k < n; ++k) {
      r[k] = reference[kept[static_cast<std::size_t>(k)]];
      e[k] = estimate[kept[static_cast<std::size_t>(k)]];
    }
    // Thinning left the reference values distinct, so only a constant estimate lacks an order.
    const bool ordered = e.maxCoeff() > e.minCoeff();
    result.spearman += ordered ? static_cast<double>(n) * spearman(r, e) : 0.0;
    result.pearson += ordered ? static_cast<double>(n) * pearson(r, e) : 0.0;
    result.groups_used += 1;
    result.values_used += n;
  }
  detail::require<value_error>(result.values_used > 0, function,
                               "a group with two values more than min_gap apart", "none");
  result.spearman /= static_cast<double>(result.values_used);
  result.pearson /= static_cast<double>(result.values_used);
  return result;
}

}  // namespace mam
