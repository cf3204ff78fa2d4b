// The SELFIES codec against RDKit (built only when RDKit is found; see tests/CMakeLists.txt):
//   1. for the molecules of RDKit's NCI sample (first_5K.smi), decode(encode(s)) is the same
//      molecule as s: equal RDKit canonical isomeric SMILES; s kekulized by RDKit, and s as
//      RDKit's aromatic canonical SMILES (kekulized by our parser);
//   2. the same with random stereochemistry (tetrahedral centres and double bonds) put on the
//      molecules, since the NCI sample itself has none: checks the codec's chirality handling;
//   3. decoding random sequences of SELFIES alphabet symbols always gives SMILES that RDKit
//      parses and sanitizes (SmilesToMol returns null on syntax errors and throws on valence
//      errors: both count as failures).
// MAM_NCI_SMILES (a compile definition) is the path of first_5K.smi.

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <RDGeneral/RDLog.h>

#include <mam/chem/selfies.hpp>
#include <mam/core/rng.hpp>

namespace {

// A parsed and sanitized molecule, or null for anything RDKit rejects (null or exception).
std::unique_ptr<RDKit::ROMol> rdkit_molecule(const std::string& smiles) {
  try {
    return std::unique_ptr<RDKit::ROMol>(RDKit::SmilesToMol(smiles));
  } catch (const std::exception&) {
    return nullptr;
  }
}

bool organic_single_fragment(const RDKit::ROMol& mol, const std::string& canonical) {
  if (canonical.find('.') != std::string::npos) return false;
  for (const auto* atom : mol.atoms()) {
    if (!mam::detail::is_organic_subset(atom->getSymbol())) return false;
  }
  return true;
}

// The kind of an encoder error, without the molecule: "exceeds the bond constraints" or the
// parser's problem ("an unsupported character '*'").
std::string reason_of(const std::string& message) {
  if (message.find("bond constraints") != std::string::npos) return "exceeds the bond constraints";
  const auto start = message.rfind("': ");
  const auto end = message.rfind(" at position");
  if (start == std::string::npos || end == std::string::npos || end < start) return message;
  return message.substr(start + 3, end - start - 3);
}

struct Tally {
  int molecules = 0;
  int encoded = 0;
  int same = 0;
};

}  // namespace

TEST_CASE("selfies+rdkit: decode(encode(s)) is the same molecule for the NCI sample", "[selfies][rdkit]") {
  RDLog::LogStateSetter silence;  // RDKit's warnings about the input would flood the test log
  std::ifstream in(MAM_NCI_SMILES);
  REQUIRE(in.good());
  Tally all;
  Tally organic;
  int lines = 0;
  int rdkit_rejected = 0;
  std::map<std::string, int> encoder_errors;  // first words of the error -> count
  std::vector<std::string> mismatches;
  std::vector<std::string> organic_selfies;  // for the data-alphabet test below
  int hypervalent_same = 0;                  // refused ones that round-trip under "hypervalent"
  Tally aromatic;                            // the aromatic canonical SMILES as input
  std::vector<std::string> aromatic_mismatches;
  std::string line;
  while (std::getline(in, line)) {
    ++lines;
    std::istringstream fields(line);
    std::string input;
    fields >> input;
    auto mol = rdkit_molecule(input);
    if (!mol) {
      ++rdkit_rejected;
      continue;
    }
    const std::string canonical = RDKit::MolToSmiles(*mol);
    RDKit::RWMol kekulized(*mol);
    RDKit::MolOps::Kekulize(kekulized, true);
    const std::string kekule_smiles = RDKit::MolToSmiles(kekulized, true, true);
    const bool is_organic = organic_single_fragment(*mol, canonical);
    ++aromatic.molecules;
    try {
      const std::string decoded = mam::selfies_to_smiles(mam::smiles_to_selfies(canonical));
      ++aromatic.encoded;
      auto back = rdkit_molecule(decoded);
      const bool same = back && RDKit::MolToSmiles(*back) == canonical;
      aromatic.same += same;
      if (!same) aromatic_mismatches.push_back(canonical + " -> " + decoded);
    } catch (const mam::value_error& e) {
      if (reason_of(e.what()) != "exceeds the bond constraints") aromatic_mismatches.push_back(e.what());
    }
    ++all.molecules;
    organic.molecules += is_organic;
    std::string selfies;
    try {
      selfies = mam::smiles_to_selfies(kekule_smiles);
    } catch (const mam::value_error& e) {
      const std::string message = e.what();
      ++encoder_errors[reason_of(message)];
      mismatches.push_back(kekule_smiles + (is_organic ? " (organic)" : "") + "  encoder: " + message);
      try {
        const auto hypervalent = mam::BondConstraints::hypervalent();
        auto back = rdkit_molecule(mam::selfies_to_smiles(mam::smiles_to_selfies(kekule_smiles, hypervalent), hypervalent));
        hypervalent_same += back && RDKit::MolToSmiles(*back) == canonical;
      } catch (const mam::value_error&) {
      }
      continue;
    }
    ++all.encoded;
    organic.encoded += is_organic;
    if (is_organic) organic_selfies.push_back(selfies);
    const std::string decoded = mam::selfies_to_smiles(selfies);
    auto round_trip = rdkit_molecule(decoded);
    const bool same = round_trip && RDKit::MolToSmiles(*round_trip) == canonical;
    all.same += same;
    organic.same += same && is_organic;
    if (!same && is_organic) mismatches.push_back(kekule_smiles + " -> " + selfies + " -> " + decoded);
  }
  std::printf("NCI first_5K.smi: %d lines, %d parsed by RDKit (%d rejected)\n", lines, all.molecules, rdkit_rejected);
  std::printf("  all parsed:                %d encoded, %d/%d same molecule after decode(encode) (%.2f%%)\n",
              all.encoded, all.same, all.molecules, 100.0 * all.same / all.molecules);
  std::printf("  organic single-fragment:   %d encoded, %d/%d same molecule (%.2f%%)\n", organic.encoded,
              organic.same, organic.molecules, 100.0 * organic.same / organic.molecules);
  for (const auto& [reason, count] : encoder_errors) std::printf("  encoder refused %d: %s\n", count, reason.c_str());
  std::printf("  of the refused, %d round-trip under the hypervalent preset\n", hypervalent_same);
  std::printf("  aromatic canonical SMILES as input: %d encoded, %d/%d same molecule (%.2f%%)\n", aromatic.encoded,
              aromatic.same, aromatic.molecules, 100.0 * aromatic.same / aromatic.molecules);
  for (std::size_t i = 0; i < aromatic_mismatches.size() && i < 20; ++i) {
    std::printf("  aromatic input problem: %s\n", aromatic_mismatches[i].c_str());
  }
  for (const auto& mismatch : mismatches) std::printf("  exception: %s\n", mismatch.c_str());
  CHECK(lines == 4999);
  CHECK(all.molecules > 4900);
  // Every molecule the encoder accepts comes back as itself.
  CHECK(all.same == all.encoded);
  // The organic single-fragment molecules it refuses break the SELFIES bond constraints
  // (neutral iodine with two bonds, as RDKit reads these iodonium salts); listed above.
  CHECK(organic.same == organic.encoded);
  CHECK(organic.encoded >= organic.molecules - 10);
  // Our kekulization of RDKit's aromatic SMILES serves as well as RDKit's own.
  CHECK(aromatic.same == aromatic.encoded);
  CHECK(aromatic.encoded == all.encoded);
  // Every refusal is a bond-constraint violation (no parser gaps on RDKit's kekulized output).
  CHECK(encoder_errors["exceeds the bond constraints"] == all.molecules - all.encoded);

  // The alphabet a model of these molecules would use: random sequences of it decode to
  // molecules RDKit accepts too.
  const mam::Vocabulary vocabulary = mam::selfies_vocabulary(organic_selfies);
  const std::vector<std::string>& symbols = vocabulary.tokens();
  mam::Rng rng(5);
  int accepted = 0;
  constexpr int trials = 10000;
  std::vector<std::string> failures;
  for (int trial = 0; trial < trials; ++trial) {
    std::string selfies;
    for (int i = 0; i < 55; ++i) selfies += symbols[rng.uniform_int(symbols.size())];
    const std::string smiles = mam::selfies_to_smiles(selfies);
    if (rdkit_molecule(smiles)) {
      ++accepted;
    } else {
      failures.push_back(selfies + " -> " + smiles);
    }
  }
  std::printf("random SELFIES of length 55 over the organic molecules' %zu symbols ([nop] included): "
              "%d/%d accepted by RDKit\n", symbols.size(), accepted, trials);
  for (std::size_t i = 0; i < failures.size() && i < 20; ++i) std::printf("  rejected: %s\n", failures[i].c_str());
  CHECK(accepted == trials);
}

TEST_CASE("selfies+rdkit: random symbol sequences decode to molecules RDKit accepts", "[selfies][rdkit]") {
  RDLog::LogStateSetter silence;
  const std::vector<std::string> alphabet = mam::selfies_alphabet();
  mam::Rng rng(6);
  int accepted = 0;
  int empty = 0;
  int atoms = 0;
  std::vector<std::string> failures;
  constexpr int trials = 10000;
  constexpr int max_length = 55;
  for (int trial = 0; trial < trials; ++trial) {
    const auto length = 1 + rng.uniform_int(max_length);
    std::string selfies;
    for (std::uint64_t i = 0; i < length; ++i) selfies += alphabet[rng.uniform_int(alphabet.size())];
    const std::string smiles = mam::selfies_to_smiles(selfies);
    if (smiles.empty()) ++empty;  // only [Branch]/[Ring] symbols before the first atom: no atoms
    auto mol = rdkit_molecule(smiles);
    if (mol) {
      ++accepted;
      atoms += static_cast<int>(mol->getNumAtoms());
    } else {
      failures.push_back(selfies + " -> " + smiles);
    }
  }
  std::printf("random SELFIES (alphabet of %zu symbols, lengths 1..%d): %d/%d accepted by RDKit, %d empty, "
              "%.1f atoms on average\n",
              alphabet.size(), max_length, accepted, trials, empty, static_cast<double>(atoms) / trials);
  for (const auto& failure : failures) std::printf("  rejected: %s\n", failure.c_str());
  CHECK(accepted == trials);
}

TEST_CASE("selfies+rdkit: random stereochemistry on the NCI molecules survives decode(encode(s))",
          "[selfies][rdkit]") {
  RDLog::LogStateSetter silence;
  std::ifstream in(MAM_NCI_SMILES);
  REQUIRE(in.good());
  mam::Rng rng(3);
  int with_stereo = 0;
  int encoded = 0;
  int same = 0;
  int rdkit_inconsistent = 0;
  std::vector<std::string> mismatches;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string input;
    fields >> input;
    auto parsed = rdkit_molecule(input);
    if (!parsed) continue;
    RDKit::RWMol mol(*parsed);
    // Random marks on every candidate; RDKit then removes those that are not stereo.
    for (auto* atom : mol.atoms()) {
      if (atom->getDegree() >= 3 && !atom->getIsAromatic()) {
        atom->setChiralTag(rng.uniform_int(2) ? RDKit::Atom::CHI_TETRAHEDRAL_CW : RDKit::Atom::CHI_TETRAHEDRAL_CCW);
      }
    }
    for (auto* bond : mol.bonds()) {
      const auto* begin = bond->getBeginAtom();
      const auto* end = bond->getEndAtom();
      if (bond->getBondType() != RDKit::Bond::DOUBLE || bond->getIsAromatic() || begin->getDegree() < 2 ||
          end->getDegree() < 2) {
        continue;
      }
      const auto other_neighbour = [&](const RDKit::Atom* atom, const RDKit::Atom* partner) {
        for (const auto* neighbour : mol.atomNeighbors(atom)) {
          if (neighbour != partner) return neighbour->getIdx();
        }
        return partner->getIdx();
      };
      bond->setStereoAtoms(other_neighbour(begin, end), other_neighbour(end, begin));
      bond->setStereo(rng.uniform_int(2) ? RDKit::Bond::STEREOCIS : RDKit::Bond::STEREOTRANS);
    }
    RDKit::MolOps::assignStereochemistry(mol, true, true);
    auto reference_mol = rdkit_molecule(RDKit::MolToSmiles(mol));
    if (!reference_mol) continue;
    const std::string reference = RDKit::MolToSmiles(*reference_mol);
    if (reference.find_first_of("@/\\") == std::string::npos) continue;
    ++with_stereo;
    RDKit::RWMol kekulized(*reference_mol);
    RDKit::MolOps::Kekulize(kekulized, true);
    const std::string kekule_smiles = RDKit::MolToSmiles(kekulized, true, true);
    // The codec's input is the kekulized SMILES; RDKit does not always give it the canonical
    // form of the molecule it came from (N stereocentres in cages), so compare with its own.
    auto input_mol = rdkit_molecule(kekule_smiles);
    REQUIRE(input_mol);
    const std::string input_canonical = RDKit::MolToSmiles(*input_mol);
    rdkit_inconsistent += input_canonical != reference;
    std::string selfies;
    try {
      selfies = mam::smiles_to_selfies(kekule_smiles);
    } catch (const mam::value_error&) {
      continue;  // bond constraints, as in the test above
    }
    ++encoded;
    const std::string decoded = mam::selfies_to_smiles(selfies);
    auto back = rdkit_molecule(decoded);
    const bool equal = back && RDKit::MolToSmiles(*back) == input_canonical;
    same += equal;
    if (!equal) mismatches.push_back(kekule_smiles + " -> " + selfies + " -> " + decoded);
  }
  std::printf("NCI molecules with random stereo marks: %d with stereo, %d encoded, %d/%d same isomer after "
              "decode(encode) (%.2f%%)\n",
              with_stereo, encoded, same, encoded, 100.0 * same / encoded);
  std::printf("  (RDKit's canonical SMILES of its own kekulized output differs from the molecule's for %d)\n",
              rdkit_inconsistent);
  for (std::size_t i = 0; i < mismatches.size() && i < 20; ++i) std::printf("  mismatch: %s\n", mismatches[i].c_str());
  CHECK(with_stereo > 1000);
  CHECK(same == encoded);
}
