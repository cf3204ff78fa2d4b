#pragma once
// The generation metrics of the MOSES benchmark (Polykovskiy et al. 2020, "Molecular Sets
// (MOSES)", github.com/molecularsets/moses, moses/metrics/metrics.py and utils.py) computed
// with RDKit in C++: validity, unique@1000 and uniqueness, novelty, the valid-unique-novel
// fraction, internal diversity (IntDiv1), similarity to the nearest neighbour (SNN), fragment
// and scaffold similarity (Frag, Scaf), and the Wasserstein-1 distances of Crippen logP and
// molecular weight, for generated strings against a held-out reference (test) set.
// Only the examples use RDKit; the mam headers never include this file. It needs
// RDKitFingerprints (Morgan), RDKitChemTransforms (BRICS, Murcko) and RDKitDataStructs, which
// cmake/FindRDKit.cmake's RDKit::RDKit links.

#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <DataStructs/ExplicitBitVect.h>
#include <GraphMol/ChemTransforms/ChemTransforms.h>
#include <GraphMol/ChemTransforms/MolFragmenter.h>
#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/MolDescriptors.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <mam/core/error.hpp>

#include "support/chemistry.hpp"
#include "support/json_line.hpp"

namespace mam::examples::molecules {

namespace chem = mam::examples::chemistry;

/// MOSES's fingerprint for SNN and IntDiv: Morgan, radius 2, folded to 1024 bits
/// (utils.fingerprint(fp_type='morgan', morgan__r=2, morgan__n=1024)).
constexpr unsigned moses_morgan_radius = 2;
constexpr std::size_t moses_morgan_bits = 1024;
using Fingerprint = std::bitset<moses_morgan_bits>;

/// RDKit's Morgan bit vector of `molecule` (GetMorganFingerprintAsBitVect(mol, 2, nBits=1024)),
/// as a std::bitset so that Tanimoto is two popcounts.
inline Fingerprint morgan_fingerprint(const RDKit::ROMol& molecule) {
  const std::unique_ptr<ExplicitBitVect> bits(
      RDKit::MorganFingerprints::getFingerprintAsBitVect(molecule, moses_morgan_radius, moses_morgan_bits));
  Fingerprint result;
  std::vector<int> on;
  bits->getOnBits(on);
  for (const int bit : on) result.set(static_cast<std::size_t>(bit));
  return result;
}

/// Tanimoto (Jaccard) similarity |a & b| / |a | b|; two empty fingerprints count as 1, as in
/// MOSES's average_agg_tanimoto (`jac[np.isnan(jac)] = 1`).
inline double tanimoto(const Fingerprint& a, const Fingerprint& b) {
  const std::size_t both = (a & b).count();
  const std::size_t either = a.count() + b.count() - both;
  return either == 0 ? 1.0 : static_cast<double>(both) / static_cast<double>(either);
}

/// Counts of named things (fragments, scaffolds), by canonical SMILES.
using Counts = std::map<std::string, long>;

/// The BRICS fragments of `molecule` as MOSES's utils.fragmenter finds them:
/// Chem.MolToSmiles(AllChem.FragmentOnBRICSBonds(mol)).split('.'): the molecule cut at its
/// BRICS bonds, each cut end capped by a dummy atom labelled with the BRICS environment as
/// isotope ("[1*]", "[16*]", ...), written as one isomeric canonical SMILES (the labels are
/// isotopes, so isomeric like Python's default) and split at the dots. A molecule without
/// BRICS bonds is its own single fragment. Empty if RDKit throws (MOSES would stop there).
inline std::vector<std::string> brics_fragments(const RDKit::ROMol& molecule) {
  std::vector<std::string> fragments;
  try {
    const std::unique_ptr<RDKit::ROMol> cut(RDKit::MolFragmenter::fragmentOnBRICSBonds(molecule));
    const std::string smiles = RDKit::MolToSmiles(*cut, /*doIsomericSmiles=*/true);
    std::size_t start = 0;
    while (start <= smiles.size()) {
      const std::size_t dot = std::min(smiles.find('.', start), smiles.size());
      fragments.push_back(smiles.substr(start, dot - start));
      start = dot + 1;
    }
  } catch (const std::exception&) {
    fragments.clear();
  }
  return fragments;
}

/// The Bemis-Murcko scaffold of `molecule` (rings and the linkers between them, side chains
/// removed) as MOSES computes it: MurckoScaffold.GetScaffoldForMol (RDKit::MurckoDecompose,
/// then property cache and symmetrized SSSR), written as isomeric canonical SMILES. `rings`,
/// when given, receives the scaffold's ring count (RingInfo::numRings after GetSymmSSSR).
/// An acyclic molecule has the empty scaffold "". Nothing if RDKit throws.
inline std::optional<std::string> murcko_scaffold(const RDKit::ROMol& molecule, unsigned* rings = nullptr) {
  try {
    const std::unique_ptr<RDKit::ROMol> scaffold(RDKit::MurckoDecompose(molecule));
    if (!scaffold) return std::nullopt;
    scaffold->clearComputedProps();
    scaffold->updatePropertyCache();
    RDKit::MolOps::symmetrizeSSSR(*scaffold);
    if (rings) *rings = scaffold->getRingInfo()->numRings();
    return RDKit::MolToSmiles(*scaffold, /*doIsomericSmiles=*/true);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// The scaffold that MOSES's Scaf metric counts (utils.compute_scaffold, min_rings=2, the
/// default that compute_scaffolds and ScafMetric use): the Murcko scaffold, or nothing when
/// it is empty (acyclic molecules) or has fewer than `min_rings` rings. So with MOSES's
/// default a one-ring scaffold such as benzene (from toluene) is NOT counted.
inline std::optional<std::string> moses_scaffold(const RDKit::ROMol& molecule, unsigned min_rings = 2) {
  unsigned rings = 0;
  std::optional<std::string> scaffold = murcko_scaffold(molecule, &rings);
  if (!scaffold || scaffold->empty() || rings < min_rings) return std::nullopt;
  return scaffold;
}

/// Average molecular weight with implicit hydrogens: MOSES's utils.weight, Descriptors.MolWt
/// (= RDKit::Descriptors::calcAMW). Ethanol: 46.069.
inline double molecular_weight(const RDKit::ROMol& molecule) { return RDKit::Descriptors::calcAMW(molecule); }

/// Cosine similarity of two count vectors over the union of their keys (missing = 0): MOSES's
/// cos_distance, which despite its name returns 1 - cosine distance. NaN when either is empty
/// (as in MOSES).
inline double cosine_similarity(const Counts& a, const Counts& b) {
  if (a.empty() || b.empty()) return std::numeric_limits<double>::quiet_NaN();
  double dot = 0, norm_a = 0, norm_b = 0;
  for (const auto& [key, count] : a) {
    norm_a += static_cast<double>(count) * static_cast<double>(count);
    const auto other = b.find(key);
    if (other != b.end()) dot += static_cast<double>(count) * static_cast<double>(other->second);
  }
  for (const auto& entry : b) norm_b += static_cast<double>(entry.second) * static_cast<double>(entry.second);
  if (norm_a == 0 || norm_b == 0) return std::numeric_limits<double>::quiet_NaN();
  return dot / (std::sqrt(norm_a) * std::sqrt(norm_b));
}

/// The Wasserstein-1 (earth mover's) distance between the empirical distributions of `a` and
/// `b` (equal weights per value): the integral over x of |F_a(x) - F_b(x)|, F the empirical
/// distribution functions (scipy.stats.wasserstein_distance, which MOSES's property metrics
/// use). {0,1} vs {0,2}: 0.5; shifting every value by c: c. NaN when either is empty.
inline double wasserstein_1(std::vector<double> a, std::vector<double> b) {
  if (a.empty() || b.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  double distance = 0;
  std::size_t ia = 0, ib = 0;  // values of a (b) <= all[k]
  for (std::size_t k = 0; k + 1 < all.size(); ++k) {
    while (ia < a.size() && a[ia] <= all[k]) ++ia;
    while (ib < b.size() && b[ib] <= all[k]) ++ib;
    distance += std::abs(static_cast<double>(ia) / na - static_cast<double>(ib) / nb) * (all[k + 1] - all[k]);
  }
  return distance;
}

/// What MOSES measures of one valid molecule.
struct MoleculeFeatures {
  Fingerprint fingerprint;
  std::vector<std::string> fragments;
  std::optional<std::string> scaffold;  ///< moses_scaffold: nothing if not counted
  double log_p = 0;
  double weight = 0;
};

inline MoleculeFeatures molecule_features(const RDKit::ROMol& molecule) {
  MoleculeFeatures features;
  features.fingerprint = morgan_fingerprint(molecule);
  features.fragments = brics_fragments(molecule);
  features.scaffold = moses_scaffold(molecule);
  features.log_p = chem::crippen_log_p(molecule);
  features.weight = molecular_weight(molecule);
  return features;
}

/// The reference (held-out test) molecules' statistics, computed once (MOSES's
/// compute_intermediate_statistics, without FCD, SA, QED, NP).
struct ReferenceSet {
  std::vector<Fingerprint> fingerprints;
  Counts fragments;  ///< summed over the molecules
  Counts scaffolds;  ///< molecules without a counted scaffold skipped
  std::vector<double> log_p;
  std::vector<double> weight;

  ReferenceSet() = default;
  /// From SMILES RDKit accepts (the test set's canonical SMILES); throws mam::value_error
  /// naming the first one it refuses.
  explicit ReferenceSet(const std::vector<std::string>& smiles) {
    for (const std::string& text : smiles) {
      const chem::Parsed parsed = chem::parse_smiles(text);
      if (!parsed)
        mam::detail::fail<mam::value_error>("ReferenceSet", "SMILES that RDKit accepts",
                                            mam::detail::concat("'", text, "': ", parsed.error));
      add(molecule_features(*parsed.molecule));
    }
  }
  std::size_t size() const { return fingerprints.size(); }

  void add(const MoleculeFeatures& features) {
    fingerprints.push_back(features.fingerprint);
    for (const std::string& fragment : features.fragments) ++fragments[fragment];
    if (features.scaffold) ++scaffolds[*features.scaffold];
    log_p.push_back(features.log_p);
    weight.push_back(features.weight);
  }
};

/// MOSES's unique@k: unique among the first k valid molecules.
constexpr std::size_t moses_unique_at = 1000;

/// MOSES's metrics of a set of generated strings. Fractions with an empty denominator (no
/// strings, no valid molecule, an empty reference) are NaN, null in JSON.
struct MosesMetrics {
  long generated = 0;  ///< strings given
  long valid = 0;      ///< strings RDKit parses (nonempty, sanitizable)
  long distinct = 0;   ///< distinct canonical SMILES among the valid ones
  double validity = 0;            ///< valid / generated
  double unique_1000 = 0;         ///< distinct among the first 1000 valid / min(1000, valid)
  double unique = 0;              ///< distinct / valid
  double novelty = 0;             ///< distinct molecules not in the training set / distinct
  double valid_unique_novel = 0;  ///< distinct novel molecules / generated
  double int_div = 0;             ///< IntDiv1: 1 - mean Tanimoto over all ordered pairs, self-pairs included
  double snn = 0;                 ///< mean over valid molecules of the max Tanimoto to a reference molecule
  double frag = 0;                ///< cosine similarity of BRICS fragment counts (generated vs reference)
  double scaf = 0;                ///< cosine similarity of Murcko scaffold counts (scaffolds of >= 2 rings)
  double logp_w1 = 0;             ///< Wasserstein-1 of Crippen logP, valid generated vs reference
  double weight_w1 = 0;           ///< Wasserstein-1 of molecular weight (MolWt)
  std::vector<std::string> canonical;  ///< per input string: its canonical SMILES, "" if invalid
  std::vector<bool> novel;             ///< per input string: valid and not in the training set

  void add_to(mam::examples::JsonLine& json) const {
    json.add("validity", validity)
        .add("unique_1000", unique_1000)
        .add("unique", unique)
        .add("novelty", novelty)
        .add("valid_unique_novel", valid_unique_novel)
        .add("int_div", int_div)
        .add("snn", snn)
        .add("frag", frag)
        .add("scaf", scaf)
        .add("logp_w1", logp_w1)
        .add("weight_w1", weight_w1);
  }
};

/// Whether a canonical SMILES is novel: not among the training molecules' canonical SMILES.
inline bool is_novel(const std::string& canonical, const std::unordered_set<std::string>& training_canonical) {
  return training_canonical.count(canonical) == 0;
}

namespace detail {
inline double ratio(double numerator, double denominator) {
  return denominator == 0 ? std::numeric_limits<double>::quiet_NaN() : numerator / denominator;
}
}  // namespace detail

/// The MOSES metrics of `generated_smiles` (any strings; empty or unparsable ones are invalid)
/// against `reference` and the training molecules `training_canonical` (canonical SMILES as
/// chem::canonical_smiles writes them: non-isomeric). As in MOSES, every valid string counts
/// in IntDiv, SNN, Frag, Scaf and the property distances, duplicates included; uniqueness and
/// novelty compare canonical SMILES, here non-isomeric like the training set (MOSES writes
/// isomeric SMILES; the example's molecules carry no stereochemistry either way).
inline MosesMetrics moses_metrics(const std::vector<std::string>& generated_smiles, const ReferenceSet& reference,
                                  const std::unordered_set<std::string>& training_canonical) {
  MosesMetrics m;
  m.generated = static_cast<long>(generated_smiles.size());
  m.canonical.assign(generated_smiles.size(), std::string());
  m.novel.assign(generated_smiles.size(), false);
  ReferenceSet sample;  // the valid generated molecules' statistics
  std::unordered_set<std::string> distinct, distinct_first_k;
  long distinct_novel = 0;
  for (std::size_t i = 0; i < generated_smiles.size(); ++i) {
    if (generated_smiles[i].empty()) continue;
    const chem::Parsed parsed = chem::parse_smiles(generated_smiles[i]);
    if (!parsed) continue;
    std::string canonical;
    try {
      canonical = chem::canonical_smiles(*parsed.molecule);
    } catch (const std::exception&) {
      continue;
    }
    if (static_cast<std::size_t>(m.valid) < moses_unique_at) distinct_first_k.insert(canonical);
    ++m.valid;
    m.novel[i] = is_novel(canonical, training_canonical);
    if (distinct.insert(canonical).second && m.novel[i]) ++distinct_novel;
    m.canonical[i] = std::move(canonical);
    sample.add(molecule_features(*parsed.molecule));
  }
  m.distinct = static_cast<long>(distinct.size());
  m.validity = detail::ratio(static_cast<double>(m.valid), static_cast<double>(m.generated));
  m.unique_1000 = detail::ratio(static_cast<double>(distinct_first_k.size()),
                                static_cast<double>(std::min<std::size_t>(static_cast<std::size_t>(m.valid), moses_unique_at)));
  m.unique = detail::ratio(static_cast<double>(m.distinct), static_cast<double>(m.valid));
  m.novelty = detail::ratio(static_cast<double>(distinct_novel), static_cast<double>(m.distinct));
  m.valid_unique_novel = detail::ratio(static_cast<double>(distinct_novel), static_cast<double>(m.generated));

  // IntDiv1 (MOSES internal_diversity, p=1): 1 - (1/|A|^2) sum over (x, y) in A x A of
  // Tanimoto(x, y). MOSES averages over all ordered pairs, the |A| self-pairs (Tanimoto 1)
  // included, so a set of n distinct molecules has IntDiv1 <= 1 - 1/n. Symmetric: each
  // unordered pair counted twice.
  const std::vector<Fingerprint>& fps = sample.fingerprints;
  const std::size_t n = fps.size();
  double pair_sum = static_cast<double>(n);  // the self-pairs
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) pair_sum += 2 * tanimoto(fps[i], fps[j]);
  m.int_div = n == 0 ? std::numeric_limits<double>::quiet_NaN()
                     : 1 - pair_sum / (static_cast<double>(n) * static_cast<double>(n));

  // SNN (MOSES SNNMetric: average_agg_tanimoto(test, gen, agg='max')).
  double nearest_sum = 0;
  for (const Fingerprint& fp : fps) {
    double nearest = 0;
    for (const Fingerprint& other : reference.fingerprints) nearest = std::max(nearest, tanimoto(fp, other));
    nearest_sum += nearest;
  }
  m.snn = reference.size() == 0 ? std::numeric_limits<double>::quiet_NaN()
                                : detail::ratio(nearest_sum, static_cast<double>(n));

  m.frag = cosine_similarity(reference.fragments, sample.fragments);
  m.scaf = cosine_similarity(reference.scaffolds, sample.scaffolds);
  m.logp_w1 = wasserstein_1(sample.log_p, reference.log_p);
  m.weight_w1 = wasserstein_1(sample.weight, reference.weight);
  return m;
}

}  // namespace mam::examples::molecules
