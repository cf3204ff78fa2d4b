#pragma once
// What the fuzzing harnesses share: a property check that aborts (so libFuzzer records the
// input as a crash) and a comparison of molecular graphs.

#include <cstdio>
#include <cstdlib>
#include <string>

#include <mam/chem/molecular_graph.hpp>

namespace mam::fuzz {

/// Aborts with a message when a property the harness checks does not hold.
inline void check(bool holds, const char* property, const std::string& detail = "") {
  if (holds) return;
  std::fprintf(stderr, "fuzz property violated: %s\n%s\n", property, detail.c_str());
  std::abort();
}

inline bool same_atom(const Atom& a, const Atom& b) {
  return a.element == b.element && a.isotope == b.isotope && a.chirality == b.chirality && a.h_count == b.h_count &&
         a.charge == b.charge;
}

inline bool same_bond(const DirectedBond& a, const DirectedBond& b) {
  return a.src == b.src && a.dst == b.dst && a.order == b.order && a.stereo == b.stereo && a.ring_bond == b.ring_bond;
}

/// Same atoms in the same order, same fragments, and at each atom the same outgoing bonds
/// (ends, order, stereo mark, ring or not) in the same order.
inline bool same_graph(const MolecularGraph& x, const MolecularGraph& y) {
  if (x.atom_count() != y.atom_count() || x.roots() != y.roots()) return false;
  for (int i = 0; i < x.atom_count(); ++i) {
    if (!same_atom(x.atom(i), y.atom(i)) || x.bond_count(i) != y.bond_count(i)) return false;
    const auto a = x.out_bonds(i);
    const auto b = y.out_bonds(i);
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k) {
      if (!same_bond(a[k], b[k])) return false;
    }
  }
  return true;
}

}  // namespace mam::fuzz
