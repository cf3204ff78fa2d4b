#pragma once
// Validity, uniqueness and novelty of generated objects (molecules, programs, any structure
// with a validity check and a canonical form): the summary the molecule-generation
// literature (MOSES, the MaM paper) reports for a sampler. Each sample is given by its
// canonical form, empty where the sample is invalid; novelty is against the training set.

#include <string>
#include <unordered_set>
#include <vector>

namespace mam {

struct GenerationQuality {
  long count = 0;   ///< samples
  long valid = 0;   ///< with a canonical form
  long unique = 0;  ///< distinct canonical forms among the valid ones
  long novel = 0;   ///< of the unique ones, those not in the training set

  double valid_fraction() const { return count > 0 ? static_cast<double>(valid) / static_cast<double>(count) : 0.0; }
  /// Of the valid samples.
  double unique_fraction() const { return valid > 0 ? static_cast<double>(unique) / static_cast<double>(valid) : 0.0; }
  /// Of the unique samples.
  double novel_fraction() const { return unique > 0 ? static_cast<double>(novel) / static_cast<double>(unique) : 0.0; }
};

/// The counts for samples with canonical forms `canonical` (empty: invalid) against the
/// canonical forms of the training set.
inline GenerationQuality generation_quality(const std::vector<std::string>& canonical,
                                            const std::unordered_set<std::string>& training) {
  GenerationQuality quality;
  quality.count = static_cast<long>(canonical.size());
  std::unordered_set<std::string> distinct;
  for (const std::string& form : canonical) {
    if (form.empty()) continue;
    ++quality.valid;
    if (distinct.insert(form).second && training.count(form) == 0) ++quality.novel;
  }
  quality.unique = static_cast<long>(distinct.size());
  return quality;
}

}  // namespace mam
