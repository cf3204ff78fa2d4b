#pragma once
// SELFIES (SELF-referencIng Embedded Strings; Krenn et al., 2020), version 2.x of the grammar
// of the Python `selfies` package, in C++.
//
// A SELFIES string is a sequence of bracketed symbols:
//   atoms     [C] [=N] [#C] [/C] [O-1] [NH1+1] [13C@@H1] ...: bond into the atom, then the atom;
//   branches  [Branch1..3] [=Branch1..3] [#Branch1..3]: the next 1..3 symbols give a length Q
//             in base 16 (the index alphabet below), and the Q+1 symbols after them form a
//             branch bonded to the current atom;
//   rings     [Ring1..3] [=Ring1..3] [#Ring1..3] and [xyRing1..3] (x, y in - / \): the next
//             1..3 symbols give Q, and a ring bond joins the current atom to the atom Q+1 back;
//   [nop]     no operation (padding); '.' separates fragments.
// The decoder keeps a state, the bonds the current atom may still make under the bond
// constraints (bond_constraints.hpp), and lowers every bond order to fit it, skips branches
// and rings with no room, and ignores what follows once an atom is saturated. So ANY sequence
// of symbols decodes to a molecule that obeys the constraints: that is the point of SELFIES.
//
// The encoder preserves the atom order of its SMILES input. SELFIES has no aromatic symbols:
// aromatic SMILES is kekulized by the parser (molecular_graph.hpp), as selfies does; input
// already kekulized (RDKit: MolOps::Kekulize, then MolToSmiles with kekuleSmiles=true) is
// encoded as written. Molecules that break the bond constraints (e.g. hypervalent iodine
// under the default preset) are a mam::value_error. Decoder output is kekulized SMILES in the
// decoded atom order.
//
// Differences from selfies 2.x: no legacy (pre-2.0) symbols, no attribution maps, ring-bond
// numbers in decoder output are reused once closed (selfies never reuses them), and the
// constraints are an argument instead of global state.

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "mam/chem/bond_constraints.hpp"
#include "mam/chem/molecular_graph.hpp"
#include "mam/core/error.hpp"
#include "mam/data/vocabulary.hpp"

namespace mam {

/// The padding symbol of SELFIES vocabularies; the decoder skips it.
inline std::string selfies_padding() { return "[nop]"; }

/// The 16 symbols that, after a branch or ring symbol, read as the base-16 digits of a length.
inline const std::array<std::string_view, 16>& selfies_index_alphabet() {
  static constexpr std::array<std::string_view, 16> alphabet = {
      "[C]",       "[Ring1]",   "[Ring2]",   "[Branch1]", "[=Branch1]", "[#Branch1]", "[Branch2]", "[=Branch2]",
      "[#Branch2]", "[O]",      "[N]",       "[=N]",      "[=C]",       "[#C]",       "[S]",       "[P]"};
  return alphabet;
}

/// Splits a SELFIES string into its symbols; a '.' between symbols is a symbol of its own.
/// Characters outside brackets other than '.' are an error.
inline std::vector<std::string> split_selfies(std::string_view selfies) {
  const char* function = "mam::split_selfies";
  std::vector<std::string> symbols;
  std::size_t at = 0;
  while (at < selfies.size()) {
    if (selfies[at] == '.') {
      symbols.emplace_back(".");
      ++at;
      continue;
    }
    detail::require<value_error>(selfies[at] == '[', function, "'[' or '.'",
                                 detail::concat("'", selfies[at], "' at position ", at, " of '", selfies, "'"));
    const std::size_t close = selfies.find(']', at + 1);
    detail::require<value_error>(close != std::string_view::npos, function, "a closing ']'",
                                 detail::concat("an unclosed '[' at position ", at, " of '", selfies, "'"));
    symbols.emplace_back(selfies.substr(at, close - at + 1));
    at = close + 1;
  }
  return symbols;
}

namespace detail {

/// The digit value of an index symbol; 0 for every other symbol (as in selfies).
inline int selfies_index_digit(const std::string& symbol) {
  const auto& alphabet = selfies_index_alphabet();
  const auto found = std::find(alphabet.begin(), alphabet.end(), symbol);
  return found == alphabet.end() ? 0 : static_cast<int>(found - alphabet.begin());
}

/// The index symbols of `value` (most significant first; "[C]" for 0).
inline std::vector<std::string> selfies_index_symbols(int value) {
  const auto& alphabet = selfies_index_alphabet();
  std::vector<std::string> digits;
  do {
    digits.emplace_back(alphabet[static_cast<std::size_t>(value % 16)]);
    value /= 16;
  } while (value > 0);
  std::reverse(digits.begin(), digits.end());
  return digits;
}

/// A decoded symbol other than [nop] and '.'.
struct SelfiesSymbol {
  enum class Kind { atom, branch, ring } kind = Kind::atom;
  int order = 1;              // bond order into the atom / of the branch or ring bond
  char stereo = 0;            // atom: the bond's '/' or '\'; ring: the left end's
  char right_stereo = 0;      // ring: the right end's
  int index_symbols = 0;      // branch or ring: how many symbols give Q (1..3)
  Atom atom;
};

/// "Branch" / "Ring" symbols: [<bond>Branch<n>], [<bond>Ring<n>], [<x><y>Ring<n>].
inline std::optional<SelfiesSymbol> parse_selfies_structure(std::string_view inner) {
  const auto ends_with = [&](std::string_view word, std::string_view& prefix, int& n) {
    if (inner.size() < word.size() + 1) return false;
    const char digit = inner.back();
    if (digit < '1' || digit > '3') return false;
    if (inner.substr(inner.size() - 1 - word.size(), word.size()) != word) return false;
    prefix = inner.substr(0, inner.size() - 1 - word.size());
    n = digit - '0';
    return true;
  };
  std::string_view prefix;
  int n = 0;
  SelfiesSymbol symbol;
  if (ends_with("Branch", prefix, n)) {
    if (prefix.size() > 1 || (prefix.size() == 1 && prefix != "=" && prefix != "#")) return std::nullopt;
    symbol.kind = SelfiesSymbol::Kind::branch;
    symbol.order = bond_of_char(prefix.empty() ? 0 : prefix[0]).first;
    symbol.index_symbols = n;
    return symbol;
  }
  if (ends_with("Ring", prefix, n)) {
    symbol.kind = SelfiesSymbol::Kind::ring;
    symbol.index_symbols = n;
    if (prefix.size() <= 1) {
      if (prefix.size() == 1 && prefix != "=" && prefix != "#") return std::nullopt;
      symbol.order = bond_of_char(prefix.empty() ? 0 : prefix[0]).first;
      return symbol;
    }
    const auto single = [](char c) { return c == '-' || c == '/' || c == '\\'; };
    if (prefix.size() != 2 || !single(prefix[0]) || !single(prefix[1]) || prefix == "--") return std::nullopt;
    symbol.stereo = prefix[0] == '-' ? 0 : prefix[0];
    symbol.right_stereo = prefix[1] == '-' ? 0 : prefix[1];
    return symbol;
  }
  return std::nullopt;
}

/// Atom symbols: [<bond><isotope><element><chirality><Hn><charge>], bond in = # / \.
inline std::optional<SelfiesSymbol> parse_selfies_atom(std::string_view inner) {
  SelfiesSymbol symbol;
  if (!inner.empty() && std::string_view("=#/\\").find(inner[0]) != std::string_view::npos) {
    std::tie(symbol.order, symbol.stereo) = bond_of_char(inner[0]);
    inner.remove_prefix(1);
  }
  if (is_organic_subset(inner)) {
    symbol.atom.element = std::string(inner);
    return symbol;
  }
  std::size_t at = 0;
  Atom& atom = symbol.atom;
  if (!read_isotope_element_chirality(inner, at, atom)) return std::nullopt;
  atom.h_count = 0;
  if (inner.substr(at, 1) == "H") {
    if (at + 1 >= inner.size() || !is_digit(inner[at + 1])) return std::nullopt;
    atom.h_count = inner[at + 1] - '0';
    at += 2;
  }
  if (at < inner.size() && (inner[at] == '+' || inner[at] == '-')) {
    const char sign = inner[at++];
    // selfies writes charges as [+-][1-9]+ (so "+10" is not a SELFIES charge).
    if (at >= inner.size() || inner.find('0', at) != std::string_view::npos) return std::nullopt;
    const int magnitude = read_number(inner, at);
    if (magnitude <= 0) return std::nullopt;
    atom.charge = sign == '+' ? magnitude : -magnitude;
  }
  if (at != inner.size()) return std::nullopt;
  return symbol;
}

inline SelfiesSymbol parse_selfies_symbol(const std::string& symbol, const BondConstraints& constraints,
                                          std::string_view selfies) {
  std::optional<SelfiesSymbol> parsed;
  if (symbol.size() >= 3 && symbol.front() == '[' && symbol.back() == ']') {
    const std::string_view inner = std::string_view(symbol).substr(1, symbol.size() - 2);
    parsed = parse_selfies_structure(inner);
    if (!parsed) parsed = parse_selfies_atom(inner);
  }
  const bool valid = parsed && (parsed->kind != SelfiesSymbol::Kind::atom || constraints.capacity(parsed->atom) >= 0);
  if (!valid) {
    fail<value_error>("mam::selfies_to_smiles", "SELFIES symbols",
                      concat("'", symbol, "' in '", selfies, "'"));
  }
  return *parsed;
}

struct PendingRing {
  int left;
  int right;
  int order;
  char left_stereo;
  char right_stereo;
};

/// Derives one '.'-separated fragment (its symbols, [nop] removed) into `mol`.
inline void derive_selfies_fragment(const std::vector<const std::string*>& symbols, MolecularGraph& mol,
                                    std::vector<PendingRing>& rings, const BondConstraints& constraints,
                                    std::string_view selfies) {
  constexpr long unlimited = static_cast<long>(1) << 62;
  struct Frame {
    int state;            // bonds the current atom may still make; 0 before the first atom
    bool saturated;       // selfies' "state None": the rest of this frame's symbols are ignored
    int previous;         // the current atom (-1: none yet)
    long max_symbols;     // symbols this frame may consume
    long used_symbols;    // symbols consumed so far, nested branches included
    int state_after_branch;
  };
  std::size_t cursor = 0;
  const auto read_index = [&](int count) {
    long value = 0;
    for (int i = 0; i < count; ++i) {
      const int digit = cursor < symbols.size() ? selfies_index_digit(*symbols[cursor++]) : 0;
      value = value * 16 + digit;
    }
    return value;
  };
  std::vector<Frame> stack{Frame{0, false, -1, unlimited, 0, 0}};
  while (!stack.empty()) {
    Frame& frame = stack.back();
    if (frame.saturated || frame.used_symbols >= frame.max_symbols || cursor == symbols.size()) {
      const long skip = std::min(frame.max_symbols - frame.used_symbols, static_cast<long>(symbols.size() - cursor));
      cursor += static_cast<std::size_t>(std::max(0L, skip));
      const long used = frame.used_symbols + std::max(0L, skip);
      stack.pop_back();
      if (!stack.empty()) {
        stack.back().used_symbols += used;
        stack.back().state = stack.back().state_after_branch;
      }
      continue;
    }
    const SelfiesSymbol symbol = parse_selfies_symbol(*symbols[cursor++], constraints, selfies);
    ++frame.used_symbols;
    if (symbol.kind == SelfiesSymbol::Kind::branch) {
      if (frame.state <= 1) continue;  // no room for a branch: the symbol is skipped
      const int branch_state = std::min(frame.state - 1, symbol.order);
      const long q = read_index(symbol.index_symbols);
      frame.used_symbols += symbol.index_symbols;
      frame.state_after_branch = frame.state - branch_state;
      const int previous = frame.previous;
      stack.push_back(Frame{branch_state, false, previous, q + 1, 0, 0});  // invalidates `frame`
      continue;
    }
    if (symbol.kind == SelfiesSymbol::Kind::ring) {
      if (frame.state == 0) continue;  // no atom yet: the symbol is skipped
      const int order = std::min(symbol.order, frame.state);
      const long q = read_index(symbol.index_symbols);
      frame.used_symbols += symbol.index_symbols;
      const int left = static_cast<int>(std::max(0L, frame.previous - (q + 1)));
      rings.push_back(PendingRing{left, frame.previous, order, symbol.stereo, symbol.right_stereo});
      frame.state -= order;
      frame.saturated = frame.state == 0;
      continue;
    }
    const int capacity = constraints.capacity(symbol.atom);
    const int order = frame.state == 0 ? 0 : std::min({symbol.order, frame.state, capacity});
    if (order == 0) {
      // The first atom of the fragment, or an atom with no room for any bond (then unused).
      frame.previous = frame.state == 0 ? mol.add_atom(symbol.atom, true) : -1;
    } else {
      const int index = mol.add_atom(symbol.atom, false);
      mol.add_bond(frame.previous, index, order, symbol.stereo);
      frame.previous = index;
    }
    frame.state = capacity - order;
    frame.saturated = frame.state == 0;
  }
}

/// Makes the ring bonds once every atom is known, each as far as both ends have room.
inline void form_selfies_rings(const std::vector<PendingRing>& rings, MolecularGraph& mol,
                               const BondConstraints& constraints) {
  std::vector<int> rings_made(static_cast<std::size_t>(mol.atom_count()), 0);
  for (const PendingRing& ring : rings) {
    if (ring.left == ring.right) continue;
    const int left_free = constraints.capacity(mol.atom(ring.left)) - mol.bond_count(ring.left);
    const int right_free = constraints.capacity(mol.atom(ring.right)) - mol.bond_count(ring.right);
    if (left_free <= 0 || right_free <= 0) continue;
    const int order = std::min({ring.order, left_free, right_free});
    if (mol.has_bond(ring.left, ring.right)) {
      mol.update_bond_order(ring.left, ring.right, std::min(order + mol.bond(ring.left, ring.right).order, 3));
    } else {
      auto& left_made = rings_made[static_cast<std::size_t>(ring.left)];
      auto& right_made = rings_made[static_cast<std::size_t>(ring.right)];
      mol.add_ring_bond(ring.left, ring.right, order, ring.left_stereo, ring.right_stereo, left_made, right_made);
      ++left_made;
      ++right_made;
    }
  }
}

}  // namespace detail

/// Decodes a SELFIES string to (kekulized) SMILES. Every sequence of valid symbols decodes to
/// a molecule within the bond constraints; "" when no atom is derived (e.g. only [nop] or
/// [Branch1]). A symbol that is not SELFIES (or an atom with more H than its capacity, like
/// [CH5]) is a mam::value_error.
inline std::string selfies_to_smiles(std::string_view selfies,
                                     const BondConstraints& constraints = BondConstraints::default_preset()) {
  const std::vector<std::string> symbols = split_selfies(selfies);
  MolecularGraph mol;
  std::vector<detail::PendingRing> rings;
  std::vector<const std::string*> fragment;
  for (std::size_t i = 0; i <= symbols.size(); ++i) {
    if (i == symbols.size() || symbols[i] == ".") {
      detail::derive_selfies_fragment(fragment, mol, rings, constraints, selfies);
      fragment.clear();
    } else if (symbols[i] != selfies_padding()) {
      fragment.push_back(&symbols[i]);
    }
  }
  detail::form_selfies_rings(rings, mol, constraints);
  return mol.atom_count() == 0 ? std::string() : write_smiles(mol);
}

namespace detail {

inline std::string selfies_bond_prefix(const DirectedBond& bond, bool show_stereo) {
  if (bond.order == 2) return "=";
  if (bond.order == 3) return "#";
  return (show_stereo && bond.stereo) ? std::string(1, bond.stereo) : std::string();
}

/// A ring symbol's bond characters: "=", "#", "" or a stereo pair like "-/" (left, right).
inline std::string selfies_ring_prefix(const DirectedBond& left, const DirectedBond& right) {
  if (left.order != 1 || (!left.stereo && !right.stereo)) return selfies_bond_prefix(left, false);
  return std::string(1, left.stereo ? left.stereo : '-') + std::string(1, right.stereo ? right.stereo : '-');
}

inline std::vector<std::string> selfies_length_symbols(int length, std::string_view what, std::string_view smiles) {
  require<value_error>(length < 16 * 16 * 16, "mam::smiles_to_selfies",
                       concat(what, " spanning at most 4096 symbols"), concat(length + 1, " in '", smiles, "'"));
  return selfies_index_symbols(length);
}

/// Appends the SELFIES symbols of the fragment that starts at `root`, entered by `into`.
inline void fragment_to_selfies(const MolecularGraph& mol, std::optional<DirectedBond> into, int root,
                                std::vector<std::string>& out, std::string_view smiles) {
  int current = root;
  while (true) {
    std::string atom_symbol = "[" + (into ? selfies_bond_prefix(*into, true) : std::string());
    append_atom_smiles(atom_symbol, mol.atom(current), false);
    out.push_back(atom_symbol + "]");
    const std::vector<DirectedBond> bonds = mol.out_bonds(current);
    for (std::size_t i = 0; i < bonds.size(); ++i) {
      const DirectedBond& bond = bonds[i];
      if (bond.ring_bond) {
        if (bond.src < bond.dst) continue;  // written where the ring closes
        const auto q = selfies_length_symbols(bond.src - bond.dst - 1, "a ring", smiles);
        out.push_back(concat("[", selfies_ring_prefix(mol.bond(bond.dst, bond.src), bond), "Ring", q.size(), "]"));
        out.insert(out.end(), q.begin(), q.end());
      } else if (i + 1 < bonds.size()) {
        std::vector<std::string> branch;
        fragment_to_selfies(mol, bond, bond.dst, branch, smiles);
        const auto q = selfies_length_symbols(static_cast<int>(branch.size()) - 1, "a branch", smiles);
        out.push_back(concat("[", selfies_bond_prefix(bond, false), "Branch", q.size(), "]"));
        out.insert(out.end(), q.begin(), q.end());
        out.insert(out.end(), branch.begin(), branch.end());
      }
    }
    if (bonds.empty() || bonds.back().ring_bond) return;
    into = bonds.back();
    current = bonds.back().dst;
  }
}

/// Whether writing the ring bonds of `atom` first (rings closing here in string order, then
/// rings opening here by partner, then the rest), as the decoder does, permutes its
/// neighbours oddly: then its @/@@ must be inverted to describe the same stereocentre.
inline bool selfies_inverts_chirality(const MolecularGraph& mol, int atom) {
  const std::vector<DirectedBond> bonds = mol.out_bonds(atom);
  std::vector<std::size_t> closing;
  std::vector<std::size_t> opening;
  std::vector<std::size_t> others;
  for (std::size_t i = 0; i < bonds.size(); ++i) {
    if (!bonds[i].ring_bond) {
      others.push_back(i);
    } else if (bonds[i].src < bonds[i].dst) {
      opening.push_back(i);
    } else {
      closing.push_back(i);
    }
  }
  std::sort(opening.begin(), opening.end(), [&](std::size_t a, std::size_t b) { return bonds[a].dst < bonds[b].dst; });
  std::vector<std::size_t> order = closing;
  order.insert(order.end(), opening.begin(), opening.end());
  order.insert(order.end(), others.begin(), others.end());
  std::size_t inversions = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    for (std::size_t j = i + 1; j < order.size(); ++j) inversions += order[i] > order[j] ? 1 : 0;
  }
  return inversions % 2 == 1;
}

}  // namespace detail

/// Encodes a SMILES string as SELFIES, keeping its atom order (aromatic input is kekulized
/// first). A mam::value_error for SMILES the parser rejects (including aromatic systems with
/// no Kekule structure), for atoms with more bonds than the constraints allow and for
/// charges whose digits include a 0 (10, 20, ...), which the SELFIES grammar cannot write.
inline std::string smiles_to_selfies(std::string_view smiles,
                                     const BondConstraints& constraints = BondConstraints::default_preset()) {
  MolecularGraph mol = parse_smiles(smiles);
  for (int i = 0; i < mol.atom_count(); ++i) {
    const int charge = mol.atom(i).charge;
    if (charge != 0 && std::to_string(charge < 0 ? -charge : charge).find('0') != std::string::npos) {
      detail::fail<value_error>("mam::smiles_to_selfies", "charges SELFIES can write ([+-][1-9]+)",
                                detail::concat("'", smiles, "': atom ", i, " has charge ", charge));
    }
    const int capacity = constraints.capacity(mol.atom(i));
    if (mol.bond_count(i) > capacity) {
      std::string atom;
      detail::append_atom_smiles(atom, mol.atom(i), true);
      detail::fail<value_error>("mam::smiles_to_selfies", "a molecule within the SELFIES bond constraints",
                                detail::concat("'", smiles, "': atom ", i, " (", atom, ") has ", mol.bond_count(i),
                                               " bonds, at most ", std::max(capacity, 0), " allowed"));
    }
  }
  for (int i = 0; i < mol.atom_count(); ++i) {
    if (!mol.atom(i).chirality.empty() && mol.has_out_ring_bond(i) && detail::selfies_inverts_chirality(mol, i)) {
      mol.atom(i).invert_chirality();
    }
  }
  std::string selfies;
  for (std::size_t r = 0; r < mol.roots().size(); ++r) {
    if (r > 0) selfies += '.';
    std::vector<std::string> symbols;
    detail::fragment_to_selfies(mol, std::nullopt, mol.roots()[r], symbols, smiles);
    for (const auto& symbol : symbols) selfies += symbol;
  }
  return selfies;
}

/// selfies' "semantic robust alphabet": every atom symbol [<bond><key>] of the constraints'
/// explicit entries whose bond order fits the capacity, the ring and branch symbols, and the
/// index alphabet; sorted. Any sequence of these decodes to a valid molecule.
inline std::vector<std::string> selfies_alphabet(const BondConstraints& constraints = BondConstraints::default_preset()) {
  std::vector<std::string> alphabet;
  for (const auto& [key, capacity] : constraints.entries()) {
    const std::pair<const char*, int> bonds[] = {{"", 1}, {"=", 2}, {"#", 3}};
    for (const auto& [prefix, order] : bonds) {
      if (order <= capacity) alphabet.push_back(detail::concat("[", prefix, key, "]"));
    }
  }
  for (int n = 1; n <= 3; ++n) {
    for (const char* prefix : {"", "=", "#"}) alphabet.push_back(detail::concat("[", prefix, "Branch", n, "]"));
    for (const char* prefix : {"", "="}) alphabet.push_back(detail::concat("[", prefix, "Ring", n, "]"));
  }
  for (const auto& symbol : selfies_index_alphabet()) alphabet.emplace_back(symbol);
  std::sort(alphabet.begin(), alphabet.end());
  alphabet.erase(std::unique(alphabet.begin(), alphabet.end()), alphabet.end());
  return alphabet;
}

/// The vocabulary of the symbols of `corpus` (SELFIES strings; '.' left out), padding [nop].
inline Vocabulary selfies_vocabulary(const std::vector<std::string>& corpus) {
  std::vector<std::vector<std::string>> tokenized;
  tokenized.reserve(corpus.size());
  for (const auto& selfies : corpus) {
    auto symbols = split_selfies(selfies);
    symbols.erase(std::remove(symbols.begin(), symbols.end(), "."), symbols.end());
    tokenized.push_back(std::move(symbols));
  }
  return Vocabulary::from_corpus(selfies_padding(), tokenized);
}

}  // namespace mam
