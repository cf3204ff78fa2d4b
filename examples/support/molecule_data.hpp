#pragma once
// The molecule example's data: how molecules become token strings (SMILES or SELFIES) and
// back, the training molecules read and filtered by RDKit, RDKit's verdict on generated
// strings, and the metrics of a set of samples.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <mam/chem/selfies.hpp>
#include <mam/chem/smiles.hpp>
#include <mam/core/rng.hpp>
#include <mam/core/types.hpp>
#include <mam/data/vocabulary.hpp>
#include <mam/eval/generation_quality.hpp>

#include "support/chemistry.hpp"

namespace mam::examples::molecules {

namespace chem = mam::examples::chemistry;

/// How molecules become token sequences and back, for one string kind.
class Representation {
 public:
  explicit Representation(bool selfies) : selfies_(selfies) {}

  bool selfies() const { return selfies_; }
  const char* name() const { return selfies_ ? "selfies" : "smiles"; }
  std::string padding() const { return selfies_ ? mam::selfies_padding() : mam::smiles_padding(); }

  /// Tokens of a molecule given by RDKit (canonical SMILES, or SELFIES of its Kekulé form);
  /// throws mam::value_error with the reason if it cannot be written.
  std::vector<std::string> tokens(const RDKit::ROMol& molecule) const {
    if (!selfies_) return mam::tokenize_smiles(chem::canonical_smiles(molecule));
    const auto kekule = chem::kekule_smiles(molecule);
    if (!kekule) throw mam::value_error("RDKit cannot kekulize the molecule");
    return mam::split_selfies(mam::smiles_to_selfies(*kekule));
  }

  /// The SMILES a token sequence stands for (for SELFIES, its decoding, which is always a
  /// molecule; an empty string when every symbol is padding).
  std::string to_smiles(const std::vector<std::string>& tokens) const {
    const std::string joined = mam::join_tokens(tokens);
    return selfies_ ? mam::selfies_to_smiles(joined) : joined;
  }

 private:
  bool selfies_;
};

/// The molecules kept (canonical, single-fragment, organic-subset, at most L tokens), split
/// into training molecules and held-out test molecules.
struct MoleculeData {
  long read = 0;
  std::vector<std::pair<std::string, long>> dropped;  // reason, count (in order of the filters)
  std::vector<std::string> canonical;                 // training molecules
  std::vector<double> log_p;                          // ... their Crippen logP
  std::vector<std::string> test_canonical;            // held-out molecules, never trained on
  std::vector<double> test_log_p;
  mam::Vocabulary vocabulary{"_", {}};  // of training and test strings alike
  mam::CodeMatrix codes;           // L x training molecules: their canonical strings (the seed of inpainting)
  mam::CodeMatrix test_codes;      // L x test molecules
  mam::CodeMatrix training_codes;  // what the trainers see: `codes`, or the randomized SMILES
  long spellings_too_long = 0;     // randomized SMILES longer than L, skipped
};

/// Moves a `fraction` of the molecules, drawn by `rng`, from the training lists to the test
/// lists (at least one stays for training).
inline void hold_out(double fraction, mam::Rng& rng, MoleculeData& data,
                     std::vector<std::vector<std::string>>& tokenized,
                     std::vector<std::vector<std::string>>& test_tokenized) {
  const std::size_t n = data.canonical.size();
  const auto held = std::min(n - 1, static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n))));
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  rng.shuffle(order);
  std::vector<bool> is_test(n, false);
  for (std::size_t i = 0; i < held; ++i) is_test[order[i]] = true;
  MoleculeData kept;
  std::vector<std::vector<std::string>> kept_tokens;
  for (std::size_t i = 0; i < n; ++i) {  // file order within each part
    auto& canonical = is_test[i] ? data.test_canonical : kept.canonical;
    auto& log_p = is_test[i] ? data.test_log_p : kept.log_p;
    auto& tokens = is_test[i] ? test_tokenized : kept_tokens;
    canonical.push_back(std::move(data.canonical[i]));
    log_p.push_back(data.log_p[i]);
    tokens.push_back(std::move(tokenized[i]));
  }
  data.canonical = std::move(kept.canonical);
  data.log_p = std::move(kept.log_p);
  tokenized = std::move(kept_tokens);
}

/// Reads and filters the molecules of `path`, holds out `test_fraction` of them (drawn by
/// `split_rng`) and encodes both parts. With `augment` > 0 (SMILES only), the training
/// strings are `augment` randomized SMILES of every training molecule (SMILES enumeration,
/// Bjerrum 2017: many spellings of few molecules make the network learn the grammar instead
/// of memorizing strings), drawn from `rng`.
inline MoleculeData load_molecules(const std::string& path, const Representation& representation, int length,
                                   bool neutral, int augment, mam::Rng& rng, double test_fraction,
                                   mam::Rng& split_rng) {
  std::ifstream in(path);
  if (!in) throw mam::io_error("mam_molecules: cannot read the molecule file '" + path + "'");
  std::map<std::string, long> reasons;
  const std::vector<std::string> order{"rejected by RDKit",
                                       "several fragments",
                                       "elements outside the organic subset",
                                       "charged atoms (--neutral)",
                                       "duplicate after canonicalization",
                                       std::string("not encodable as ") + representation.name(),
                                       "SELFIES round trip changes the molecule",
                                       "longer than L tokens"};
  MoleculeData data;
  std::vector<std::vector<std::string>> tokenized;
  std::unordered_set<std::string> seen;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string smiles;
    if (!(fields >> smiles)) continue;
    ++data.read;
    const chem::Parsed parsed = chem::parse_smiles(smiles);
    if (!parsed) {
      ++reasons[order[0]];
      continue;
    }
    if (chem::fragment_count(*parsed.molecule) != 1) {
      ++reasons[order[1]];
      continue;
    }
    if (!chem::organic_subset(*parsed.molecule)) {
      ++reasons[order[2]];
      continue;
    }
    if (neutral && chem::has_charged_atom(*parsed.molecule)) {
      ++reasons[order[3]];
      continue;
    }
    const std::string canonical = chem::canonical_smiles(*parsed.molecule);
    if (!seen.insert(canonical).second) {
      ++reasons[order[4]];
      continue;
    }
    std::vector<std::string> tokens;
    try {
      tokens = representation.tokens(*parsed.molecule);
    } catch (const mam::value_error&) {
      ++reasons[order[5]];
      continue;
    }
    if (representation.selfies() && chem::canonical_smiles(representation.to_smiles(tokens)) != canonical) {
      ++reasons[order[6]];
      continue;
    }
    if (static_cast<int>(tokens.size()) > length) {
      ++reasons[order[7]];
      continue;
    }
    data.canonical.push_back(canonical);
    data.log_p.push_back(chem::crippen_log_p(*parsed.molecule));
    tokenized.push_back(std::move(tokens));
  }
  for (const auto& reason : order)
    if (reasons.count(reason) != 0) data.dropped.emplace_back(reason, reasons[reason]);
  if (data.canonical.empty())
    throw mam::value_error("mam_molecules: no molecule of '" + path + "' passed the filters (L = " +
                           std::to_string(length) + ")");
  std::vector<std::vector<std::string>> test_tokenized;
  if (test_fraction > 0.0) hold_out(test_fraction, split_rng, data, tokenized, test_tokenized);
  // The vocabulary covers every string, test and randomized ones included.
  std::vector<std::vector<std::string>> all = tokenized;
  all.insert(all.end(), test_tokenized.begin(), test_tokenized.end());
  chem::EnumeratedSmiles spellings;
  if (augment > 0) {
    if (representation.selfies())
      throw mam::value_error("mam_molecules: --smiles-augment needs --strings smiles (got selfies)");
    spellings =
        chem::enumerate_smiles(data.canonical, static_cast<unsigned>(augment), static_cast<std::size_t>(length), rng);
    data.spellings_too_long = spellings.too_long;
    all.insert(all.end(), spellings.tokenized.begin(), spellings.tokenized.end());
  }
  data.vocabulary = mam::Vocabulary::from_corpus(representation.padding(), all);
  data.codes = mam::encode_corpus(data.vocabulary, tokenized, length).codes;
  data.test_codes = mam::encode_corpus(data.vocabulary, test_tokenized, length).codes;
  data.training_codes = augment > 0 ? mam::encode_corpus(data.vocabulary, spellings.tokenized, length).codes : data.codes;
  return data;
}

/// The SMILES of every column of `codes` (complete samples).
inline std::vector<std::string> decode_all(const mam::CodeMatrix& codes, const mam::Vocabulary& vocabulary,
                                           const Representation& representation) {
  std::vector<std::string> smiles(static_cast<std::size_t>(codes.cols()));
  for (mam::Index c = 0; c < codes.cols(); ++c)
    smiles[static_cast<std::size_t>(c)] = representation.to_smiles(vocabulary.decode(codes.col(c)));
  return smiles;
}

/// RDKit's verdict on every string, computed on all threads (RDKit parsing is thread-safe).
inline std::vector<chem::Properties> properties_of(const std::vector<std::string>& smiles) {
  std::vector<chem::Properties> result(smiles.size());
  const auto n = static_cast<long>(smiles.size());
#pragma omp parallel for schedule(dynamic, 8) if (n >= 64)
  for (long i = 0; i < n; ++i) result[static_cast<std::size_t>(i)] = chem::properties(smiles[static_cast<std::size_t>(i)]);
  return result;
}

/// What RDKit says about a set of samples: validity, uniqueness and novelty
/// (mam::generation_quality), SMILES syntax errors, and the logP of the valid ones.
struct SampleMetrics {
  mam::GenerationQuality quality;
  long syntax_errors = 0;  // invalid strings RDKit cannot even parse (the rest fail chemistry)
  std::vector<double> log_p;  // of the valid samples
  double log_p_mean = std::nan(""), log_p_std = std::nan("");
};

inline SampleMetrics sample_metrics(const std::vector<chem::Properties>& properties,
                                    const std::unordered_set<std::string>& training) {
  SampleMetrics m;
  std::vector<std::string> canonical;
  for (const auto& p : properties) {
    m.syntax_errors += p.syntax_error ? 1 : 0;
    canonical.push_back(p.valid ? p.canonical : std::string());
    if (p.valid) m.log_p.push_back(p.log_p);
  }
  m.quality = mam::generation_quality(canonical, training);
  if (!m.log_p.empty()) {
    double sum = 0.0, squares = 0.0;
    for (double v : m.log_p) sum += v;
    m.log_p_mean = sum / static_cast<double>(m.log_p.size());
    for (double v : m.log_p) squares += (v - m.log_p_mean) * (v - m.log_p_mean);
    m.log_p_std = std::sqrt(squares / static_cast<double>(m.log_p.size()));
  }
  return m;
}

/// Up to `count` distinct valid molecules of `properties` with their logP as legend, marked
/// "novel" when not among the `training` molecules.
inline void pick_for_grid(const std::vector<chem::Properties>& properties, std::size_t count,
                          const std::unordered_set<std::string>& training, std::vector<std::string>& smiles,
                          std::vector<std::string>& legends) {
  std::unordered_set<std::string> shown;
  for (const auto& p : properties) {
    if (smiles.size() >= count) break;
    if (!p.valid || !shown.insert(p.canonical).second) continue;
    char legend[48];
    std::snprintf(legend, sizeof legend, "logP %.2f%s", p.log_p, training.count(p.canonical) == 0 ? ", novel" : "");
    smiles.push_back(p.canonical);
    legends.emplace_back(legend);
  }
}

}  // namespace mam::examples::molecules
