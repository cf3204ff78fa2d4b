#pragma once
// RDKit for the molecule example: parsing that never crashes (RDKit returns null on syntax
// errors and throws on valence errors; both mean "invalid"), canonical SMILES, Crippen logP,
// Kekulé SMILES for the SELFIES encoder, the data-set filters, randomized SMILES (data
// augmentation), and pictures of molecules.
// Only the examples use RDKit; the mam headers never include this file.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <RDGeneral/RDLog.h>

#include <mam/chem/smiles.hpp>
#include <mam/core/error.hpp>
#include <mam/core/rng.hpp>

namespace mam::examples::chemistry {

/// RDKit prints every parse and sanitization failure to stderr; the example parses
/// thousands of invalid strings on purpose, so its logs are switched off (RDKit's own
/// process-wide setting, not ours).
inline void silence_rdkit_logging() {
  RDLog::InitLogs();
  boost::logging::disable_logs("rdApp.*");
}

/// A parsed, sanitized molecule, or nothing and the reason.
struct Parsed {
  std::unique_ptr<RDKit::RWMol> molecule;
  std::string error;          ///< empty when `molecule` is set
  bool syntax_error = false;  ///< RDKit's parser returned null (not a chemistry failure)
  explicit operator bool() const { return molecule != nullptr; }
};

/// Parses and sanitizes `smiles`. Never throws: syntax errors (RDKit returns null),
/// valence and kekulization errors (RDKit throws) and empty molecules all come back as an
/// error message.
inline Parsed parse_smiles(const std::string& smiles) {
  Parsed result;
  try {
    result.molecule.reset(RDKit::SmilesToMol(smiles));
    if (!result.molecule) {
      result.error = "SMILES syntax error";
      result.syntax_error = true;
    }
  } catch (const std::exception& e) {  // MolSanitizeException and anything else RDKit throws
    result.error = e.what();
  } catch (...) {
    result.error = "unknown RDKit exception";
  }
  if (result.molecule && result.molecule->getNumAtoms() == 0) {
    result.molecule.reset();
    result.error = "empty molecule";
  }
  return result;
}

/// RDKit's canonical SMILES of a molecule, without stereochemistry and isotopes by default
/// (the generative models here work on the constitution only).
inline std::string canonical_smiles(const RDKit::ROMol& molecule, bool isomeric = false) {
  return RDKit::MolToSmiles(molecule, isomeric);
}

/// Canonical SMILES of `smiles`, or nothing if RDKit refuses it (never throws).
inline std::optional<std::string> canonical_smiles(const std::string& smiles, bool isomeric = false) {
  const Parsed parsed = parse_smiles(smiles);
  if (!parsed) return std::nullopt;
  try {
    return canonical_smiles(*parsed.molecule, isomeric);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// SMILES with explicit single/double bonds instead of aromatic lower-case atoms: the form
/// a SELFIES encoder needs. Nothing if the molecule cannot be kekulized.
inline std::optional<std::string> kekule_smiles(const RDKit::ROMol& molecule, bool isomeric = false) {
  try {
    RDKit::RWMol copy(molecule);
    RDKit::MolOps::Kekulize(copy, /*markAtomsBonds=*/true);
    return RDKit::MolToSmiles(copy, isomeric, /*doKekule=*/true);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// `count` randomized SMILES of `molecule` (RDKit's doRandom writer: a random root atom and
/// random branch order; not canonical, same molecule). RDKit draws from its own process-wide
/// generator (RDKit::getRandomGenerator, a boost::minstd_rand); MolToRandomSmilesVect
/// reseeds it with a seed drawn from `rng`, so the strings depend on `rng` alone, provided no
/// other thread draws from RDKit's generator meanwhile: call this from one thread.
inline std::vector<std::string> random_smiles(const RDKit::ROMol& molecule, unsigned count, mam::Rng& rng,
                                              bool isomeric = false) {
  // RDKit takes the seed as an int and ignores 0 ("do not reseed"); minstd_rand works
  // modulo 2^31 - 1, so 1 .. 2^31 - 2 are the distinct seeds.
  const auto seed = static_cast<unsigned>(1 + rng.uniform_int(2147483646u));
  return RDKit::MolToRandomSmilesVect(molecule, count, seed, isomeric);
}

/// Training strings from SMILES enumeration (Bjerrum 2017): for every molecule, `per_molecule`
/// randomized SMILES, tokenized; those of more than `max_tokens` tokens are skipped and
/// counted. All spellings are drawn before the length filter, so the kept ones do not depend
/// on `max_tokens` except by being kept.
struct EnumeratedSmiles {
  std::vector<std::vector<std::string>> tokenized;  ///< the kept spellings
  std::vector<std::size_t> source;                  ///< the molecule (input index) of each kept spelling
  long too_long = 0;                                ///< spellings skipped: more than max_tokens tokens
};

/// SMILES enumeration of `smiles` (any valid SMILES; throws mam::value_error naming the first
/// one RDKit refuses). Deterministic given `rng` (see random_smiles).
inline EnumeratedSmiles enumerate_smiles(const std::vector<std::string>& smiles, unsigned per_molecule,
                                         std::size_t max_tokens, mam::Rng& rng) {
  EnumeratedSmiles result;
  for (std::size_t i = 0; i < smiles.size(); ++i) {
    const Parsed parsed = parse_smiles(smiles[i]);
    if (!parsed)
      mam::detail::fail<mam::value_error>("enumerate_smiles", "SMILES that RDKit accepts",
                                          mam::detail::concat("'", smiles[i], "': ", parsed.error));
    for (const std::string& spelling : random_smiles(*parsed.molecule, per_molecule, rng)) {
      std::vector<std::string> tokens = mam::tokenize_smiles(spelling);
      if (tokens.size() > max_tokens) {
        ++result.too_long;
        continue;
      }
      result.tokenized.push_back(std::move(tokens));
      result.source.push_back(i);
    }
  }
  return result;
}

/// Wildman-Crippen logP (RDKit::Descriptors::calcClogP, implicit hydrogens included).
inline double crippen_log_p(const RDKit::ROMol& molecule) { return RDKit::Descriptors::calcClogP(molecule); }

/// Number of disconnected fragments (a salt "[Na+].[Cl-]" has two).
inline unsigned fragment_count(const RDKit::ROMol& molecule) {
  std::vector<int> mapping;
  return RDKit::MolOps::getMolFrags(molecule, mapping);
}

/// True if every atom is one of the elements of SMILES's organic subset
/// (B, C, N, O, P, S, F, Cl, Br, I); charges are allowed (nitro groups need them).
inline bool organic_subset(const RDKit::ROMol& molecule) {
  static const std::set<unsigned> elements{5, 6, 7, 8, 9, 15, 16, 17, 35, 53};
  for (const RDKit::Atom* atom : molecule.atoms())
    if (elements.count(atom->getAtomicNum()) == 0) return false;
  return true;
}

/// True if some atom carries a formal charge.
inline bool has_charged_atom(const RDKit::ROMol& molecule) {
  for (const RDKit::Atom* atom : molecule.atoms())
    if (atom->getFormalCharge() != 0) return true;
  return false;
}

/// What the example needs to know about one generated string.
struct Properties {
  bool valid = false;
  bool syntax_error = false;  ///< invalid already as a string (RDKit's parser returned null)
  std::string canonical;      ///< canonical SMILES when valid
  double log_p = 0.0;         ///< Crippen logP when valid
};

/// Validity, canonical SMILES and logP of `smiles` in one parse (never throws).
inline Properties properties(const std::string& smiles) {
  Properties result;
  const Parsed parsed = parse_smiles(smiles);
  if (!parsed) {
    result.syntax_error = parsed.syntax_error;
    return result;
  }
  try {
    result.canonical = canonical_smiles(*parsed.molecule);
    result.log_p = crippen_log_p(*parsed.molecule);
    result.valid = true;
  } catch (const std::exception&) {
    result = Properties{};
  }
  return result;
}

/// An SVG picture of molecules in a grid of `columns`, `cell` pixels per molecule, each
/// with its legend (RDKit's MolDraw2DSVG, which computes 2D coordinates itself). Strings
/// RDKit refuses are left out.
inline std::string molecule_grid_svg(const std::vector<std::string>& smiles, const std::vector<std::string>& legends,
                                     int columns, int cell = 250) {
  std::vector<std::unique_ptr<RDKit::RWMol>> molecules;
  std::vector<std::string> kept_legends;
  for (std::size_t i = 0; i < smiles.size(); ++i) {
    Parsed parsed = parse_smiles(smiles[i]);
    if (!parsed) continue;
    molecules.push_back(std::move(parsed.molecule));
    kept_legends.push_back(i < legends.size() ? legends[i] : std::string());
  }
  const int count = static_cast<int>(molecules.size());
  columns = std::max(1, std::min(columns, std::max(count, 1)));
  const int rows = std::max(1, (count + columns - 1) / columns);
  RDKit::MolDraw2DSVG drawer(columns * cell, rows * cell, cell, cell);
  std::vector<RDKit::ROMol*> pointers;
  for (auto& molecule : molecules) pointers.push_back(molecule.get());
  if (!pointers.empty()) drawer.drawMolecules(pointers, &kept_legends);
  drawer.finishDrawing();
  return drawer.getDrawingText();
}

}  // namespace mam::examples::chemistry
