// libFuzzer harness for the SELFIES decoder and encoder (mam/chem/selfies.hpp). The input is
// read both as SELFIES and as SMILES. A mam::error is the expected answer to bad input.
// Properties checked:
//   - decoder output is "" or SMILES that parses, within the bond constraints, written as
//     the writer writes it; encoding it and decoding again gives it back;
//   - SMILES the encoder accepts decodes back to the same graph, stereo marks aside (the
//     decoder reorders ring bonds and adjusts @/@@ for it).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <mam/chem/bond_constraints.hpp>
#include <mam/chem/molecular_graph.hpp>
#include <mam/chem/selfies.hpp>

#include "fuzz_check.hpp"

namespace {

const mam::BondConstraints& constraints() {
  static const mam::BondConstraints preset = mam::BondConstraints::default_preset();
  return preset;
}

mam::MolecularGraph parse_or_abort(const std::string& smiles, const char* property) {
  try {
    return mam::parse_smiles(smiles);
  } catch (const mam::error& e) {
    mam::fuzz::check(false, property, smiles + "\n" + e.what());
  }
  return {};
}

void check_decoder(std::string_view input) {
  std::string smiles;
  try {
    smiles = mam::selfies_to_smiles(input, constraints());
  } catch (const mam::error&) {
    return;
  }
  if (smiles.empty()) return;
  const mam::MolecularGraph mol = parse_or_abort(smiles, "decoder output parses");
  for (int i = 0; i < mol.atom_count(); ++i) {
    mam::fuzz::check(mol.bond_count(i) <= constraints().capacity(mol.atom(i)), "decoder output obeys the constraints",
                     smiles);
  }
  mam::fuzz::check(mam::write_smiles(mol) == smiles, "decoder output is written as the writer writes it", smiles);
  std::string selfies;
  try {
    selfies = mam::smiles_to_selfies(smiles, constraints());
  } catch (const mam::error& e) {
    mam::fuzz::check(false, "decoder output encodes", smiles + "\n" + e.what());
  }
  const std::string decoded = mam::selfies_to_smiles(selfies, constraints());
  mam::fuzz::check(decoded == smiles, "decoder output survives encoding and decoding",
                   smiles + "\n" + selfies + "\n" + decoded);
}

bool same_graph_without_stereo(const mam::MolecularGraph& x, const mam::MolecularGraph& y) {
  if (x.atom_count() != y.atom_count()) return false;
  for (int i = 0; i < x.atom_count(); ++i) {
    const mam::Atom &a = x.atom(i), &b = y.atom(i);
    if (a.element != b.element || a.isotope != b.isotope || a.h_count != b.h_count || a.charge != b.charge ||
        a.chirality.empty() != b.chirality.empty() || x.bond_count(i) != y.bond_count(i)) {
      return false;
    }
    for (const mam::DirectedBond& bond : x.out_bonds(i)) {
      if (!y.has_bond(bond.src, bond.dst) || y.bond(std::min(bond.src, bond.dst), std::max(bond.src, bond.dst)).order !=
                                                 x.bond(std::min(bond.src, bond.dst), std::max(bond.src, bond.dst)).order) {
        return false;
      }
    }
  }
  return true;
}

void check_encoder(std::string_view input) {
  std::string selfies;
  mam::MolecularGraph mol;
  try {
    mol = mam::parse_smiles(input);
    selfies = mam::smiles_to_selfies(input, constraints());
  } catch (const mam::error&) {
    return;
  }
  const std::string decoded = mam::selfies_to_smiles(selfies, constraints());
  const mam::MolecularGraph again = parse_or_abort(decoded, "decoded encoder output parses");
  mam::fuzz::check(same_graph_without_stereo(mol, again), "encoded SMILES decodes to the same graph",
                   std::string(input) + "\n" + selfies + "\n" + decoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_decoder(input);
  check_encoder(input);
  return 0;
}
