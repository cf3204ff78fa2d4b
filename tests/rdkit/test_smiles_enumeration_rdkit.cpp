// SMILES enumeration (examples/support/chemistry.hpp, the data augmentation of mam_molecules)
// against RDKit, on molecules of RDKit's NCI sample (first_5K.smi):
//   1. every randomized spelling parses and has the canonical SMILES of its source molecule,
//      and spellings do differ from the canonical string (the augmentation is not a no-op);
//   2. the same mam::Rng seed gives the same strings, even when RDKit's own process-wide
//      generator was used in between; another seed gives other strings;
//   3. the length filter: kept + skipped = all drawn spellings, every kept one fits, and the
//      skipped count is exactly the number of drawn spellings longer than the limit.
// MAM_NCI_SMILES (a compile definition) is the path of first_5K.smi (nci_molecules.hpp).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <RDGeneral/utils.h>

#include "nci_molecules.hpp"
#include "support/chemistry.hpp"

namespace {

namespace chem = mam::examples::chemistry;

using mam::test::nci_molecules;

}  // namespace

TEST_CASE("smiles enumeration: every spelling is its source molecule", "[smiles][rdkit]") {
  RDLog::LogStateSetter silence;
  const std::vector<std::string> molecules = nci_molecules(400);
  mam::Rng rng(1);
  const unsigned per_molecule = 5;
  const chem::EnumeratedSmiles spellings = chem::enumerate_smiles(molecules, per_molecule, 1000, rng);
  REQUIRE(spellings.too_long == 0);
  REQUIRE(spellings.tokenized.size() == molecules.size() * per_molecule);
  REQUIRE(spellings.source.size() == spellings.tokenized.size());
  std::size_t same_molecule = 0, not_canonical = 0;
  for (std::size_t i = 0; i < spellings.tokenized.size(); ++i) {
    const std::string spelling = mam::join_tokens(spellings.tokenized[i]);
    const std::string& source = molecules[spellings.source[i]];
    REQUIRE(spellings.source[i] == i / per_molecule);  // in order, per_molecule each
    const auto canonical = chem::canonical_smiles(spelling);
    if (canonical && *canonical == source) ++same_molecule;
    else UNSCOPED_INFO("'" << spelling << "' is not '" << source << "'");
    not_canonical += spelling != source;
  }
  CHECK(same_molecule == spellings.tokenized.size());
  // Most spellings of molecules this size differ from the canonical one (a no-op would give 0).
  CHECK(not_canonical > spellings.tokenized.size() * 3 / 4);
}

TEST_CASE("smiles enumeration: the same seed gives the same strings", "[smiles][rdkit]") {
  const std::vector<std::string> molecules = nci_molecules(100);
  mam::Rng first_rng(42), second_rng(42), other_rng(43);
  const auto first = chem::enumerate_smiles(molecules, 3, 1000, first_rng);
  // Someone else uses RDKit's process-wide generator in between: no effect on ours.
  for (int i = 0; i < 17; ++i) RDKit::getRandomGenerator()();
  RDKit::getRandomGenerator(12345);
  const auto second = chem::enumerate_smiles(molecules, 3, 1000, second_rng);
  const auto other = chem::enumerate_smiles(molecules, 3, 1000, other_rng);
  CHECK(first.tokenized == second.tokenized);
  CHECK(first.source == second.source);
  CHECK(first.tokenized != other.tokenized);
  CHECK(first_rng() == second_rng());  // the same number of draws from our generator
}

TEST_CASE("smiles enumeration: spellings longer than the limit are skipped and counted", "[smiles][rdkit]") {
  const std::vector<std::string> molecules = nci_molecules(200);
  const unsigned per_molecule = 4;
  mam::Rng unlimited_rng(7), limited_rng(7);
  const auto unlimited = chem::enumerate_smiles(molecules, per_molecule, 1000, unlimited_rng);
  const std::size_t limit = 20;
  const auto limited = chem::enumerate_smiles(molecules, per_molecule, limit, limited_rng);
  std::vector<std::vector<std::string>> expected;
  long longer = 0;
  for (const auto& tokens : unlimited.tokenized) {
    if (tokens.size() > limit) ++longer;
    else expected.push_back(tokens);
  }
  REQUIRE(longer > 0);
  REQUIRE(!expected.empty());
  CHECK(limited.too_long == longer);
  CHECK(static_cast<long>(limited.tokenized.size()) + limited.too_long ==
        static_cast<long>(molecules.size() * per_molecule));
  CHECK(limited.tokenized == expected);
  for (const auto& tokens : limited.tokenized) CHECK(tokens.size() <= limit);
}

TEST_CASE("smiles enumeration: a string RDKit refuses is an error that names it", "[smiles][rdkit]") {
  mam::Rng rng(0);
  CHECK_THROWS_AS(chem::enumerate_smiles({"CCO", "C1CC"}, 2, 100, rng), mam::value_error);
  CHECK_THROWS_WITH(chem::enumerate_smiles({"C(C"}, 2, 100, rng), Catch::Contains("'C(C'"));
}
