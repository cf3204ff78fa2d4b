#pragma once
// Molecules of RDKit's NCI sample (first_5K.smi) for the RDKit tests. MAM_NCI_SMILES (a
// compile definition) is its path.

#include <catch2/catch.hpp>

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "support/chemistry.hpp"

namespace mam::test {

/// The canonical SMILES of the first `count` distinct single-fragment organic-subset
/// molecules, in file order.
inline std::vector<std::string> nci_molecules(std::size_t count) {
  namespace chem = mam::examples::chemistry;
  std::ifstream in(MAM_NCI_SMILES);
  REQUIRE(in.good());
  std::vector<std::string> molecules;
  std::unordered_set<std::string> seen;
  std::string line;
  while (molecules.size() < count && std::getline(in, line)) {
    std::istringstream fields(line);
    std::string smiles;
    if (!(fields >> smiles)) continue;
    const chem::Parsed parsed = chem::parse_smiles(smiles);
    if (!parsed || chem::fragment_count(*parsed.molecule) != 1 || !chem::organic_subset(*parsed.molecule)) continue;
    std::string canonical = chem::canonical_smiles(*parsed.molecule);
    if (seen.insert(canonical).second) molecules.push_back(std::move(canonical));
  }
  REQUIRE(molecules.size() == count);
  return molecules;
}

}  // namespace mam::test
