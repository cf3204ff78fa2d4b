#pragma once
// A molecular graph read from and written to SMILES, in the form the SELFIES codec needs.
//
// Bonds are directed the way the string is read: a chain or branch bond goes from the atom
// written first to the atom written next (src < dst); a ring bond is stored in both
// directions, and each atom's list of outgoing bonds is in the order its bonds appear in the
// string (ring-closure digits where they stand, then branches, then the chain). That order
// is what SMILES chirality (@, @@) refers to, so keeping it is what lets the SELFIES encoder
// and decoder preserve stereochemistry.
//
// The parser reads the organic subset (B C N O P S F Cl Br I), bracket atoms
// [isotope element chirality Hn charge :class] with chirality @ or @@, bonds - = # / \,
// branches, ring bonds 0-9 and %nn, and '.'. Aromatic SMILES (b c n o p s, [se], [nH], ...,
// ':' bonds) is kekulized as the selfies package does it: aromatic atoms whose valence is
// already satisfied are dropped from the delocalized subgraph, the rest must be perfectly
// matched by double bonds (Edmonds' blossom algorithm); a SMILES with no such matching is
// rejected. The graph holds the Kekule structure, never aromatic bonds. Wildcards '*',
// quadruple bonds '$' and chirality classes other than @/@@ are rejected.

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mam/chem/perfect_matching.hpp"
#include "mam/core/error.hpp"

namespace mam {

/// One atom as written in SMILES or SELFIES.
struct Atom {
  std::string element;    ///< "C", "Cl", "Fe", ...
  int isotope = -1;       ///< mass number; -1: none given
  std::string chirality;  ///< "", "@" or "@@"
  int h_count = -1;       ///< hydrogens in brackets; -1: an organic-subset atom outside brackets (implicit H)
  int charge = 0;

  /// An organic-subset atom written without brackets: its hydrogens are implicit.
  bool implicit_hydrogens() const { return h_count < 0; }

  void invert_chirality() {
    if (chirality == "@") {
      chirality = "@@";
    } else if (chirality == "@@") {
      chirality = "@";
    }
  }
};

/// A bond seen from `src`. `stereo` is '/', '\\' or 0 (none).
struct DirectedBond {
  int src = 0;
  int dst = 0;
  int order = 1;
  char stereo = 0;
  bool ring_bond = false;
};

class MolecularGraph {
 public:
  int atom_count() const { return static_cast<int>(atoms_.size()); }
  const Atom& atom(int index) const { return atoms_.at(static_cast<std::size_t>(index)); }
  Atom& atom(int index) { return atoms_.at(static_cast<std::size_t>(index)); }
  /// The first atom of each '.'-separated fragment, in order.
  const std::vector<int>& roots() const { return roots_; }

  /// Sum of the orders of the bonds at `index` (hydrogens not counted).
  int bond_count(int index) const { return bond_counts_.at(static_cast<std::size_t>(index)); }
  bool has_out_ring_bond(int index) const { return ring_flags_.at(static_cast<std::size_t>(index)); }

  bool has_bond(int a, int b) const { return bonds_.count(std::minmax(a, b)) != 0; }

  /// The bond from `src` to `dst` (a chain bond only exists with src < dst).
  const DirectedBond& bond(int src, int dst) const {
    const auto found = bonds_.find({src, dst});
    if (found == bonds_.end()) {
      detail::fail<value_error>("mam::MolecularGraph::bond", "an existing bond", detail::concat(src, " -> ", dst));
    }
    return found->second;
  }

  /// The bonds leaving `src`, in string order (placeholders of unclosed rings skipped).
  std::vector<DirectedBond> out_bonds(int src) const {
    std::vector<DirectedBond> result;
    for (const auto& key : out_.at(static_cast<std::size_t>(src))) {
      if (key.first >= 0) result.push_back(bonds_.at(key));
    }
    return result;
  }

  int add_atom(Atom atom, bool root) {
    const int index = atom_count();
    if (root) roots_.push_back(index);
    atoms_.push_back(std::move(atom));
    out_.emplace_back();
    bond_counts_.push_back(0);
    ring_flags_.push_back(false);
    return index;
  }

  /// A chain or branch bond, src < dst.
  void add_bond(int src, int dst, int order, char stereo) {
    detail::require<value_error>(src < dst && src >= 0 && dst < atom_count(), "mam::MolecularGraph::add_bond",
                                 "existing atoms src < dst", detail::concat(src, " -> ", dst));
    bonds_[{src, dst}] = DirectedBond{src, dst, order, stereo, false};
    insert_out(src, {src, dst}, -1);
    bond_counts_[static_cast<std::size_t>(src)] += order;
    bond_counts_[static_cast<std::size_t>(dst)] += order;
  }

  /// Reserves the place of a ring bond at `src` whose other end is not yet known.
  int add_placeholder_bond(int src) {
    auto& out = out_.at(static_cast<std::size_t>(src));
    out.push_back({-1, -1});
    return static_cast<int>(out.size()) - 1;
  }

  /// A ring bond a-b, inserted at position `a_position` of a's outgoing bonds (-1: at the
  /// end; a placeholder there is filled) and `b_position` of b's.
  void add_ring_bond(int a, int b, int order, char a_stereo, char b_stereo, int a_position, int b_position) {
    bonds_[{a, b}] = DirectedBond{a, b, order, a_stereo, true};
    bonds_[{b, a}] = DirectedBond{b, a, order, b_stereo, true};
    insert_out(a, {a, b}, a_position);
    insert_out(b, {b, a}, b_position);
    for (int end : {a, b}) {
      bond_counts_[static_cast<std::size_t>(end)] += order;
      ring_flags_[static_cast<std::size_t>(end)] = true;
    }
  }

  void update_bond_order(int a, int b, int new_order) {
    const auto key = std::minmax(a, b);
    auto found = bonds_.find(key);
    detail::require<value_error>(found != bonds_.end(), "mam::MolecularGraph::update_bond_order", "an existing bond",
                                 detail::concat(a, " - ", b));
    const int change = new_order - found->second.order;
    found->second.order = new_order;
    if (found->second.ring_bond) bonds_.at({key.second, key.first}).order = new_order;
    bond_counts_[static_cast<std::size_t>(a)] += change;
    bond_counts_[static_cast<std::size_t>(b)] += change;
  }

 private:
  using Key = std::pair<int, int>;

  void insert_out(int src, Key key, int position) {
    auto& out = out_.at(static_cast<std::size_t>(src));
    if (position < 0 || position == static_cast<int>(out.size())) {
      out.push_back(key);
    } else if (out[static_cast<std::size_t>(position)].first < 0) {
      out[static_cast<std::size_t>(position)] = key;
    } else {
      out.insert(out.begin() + position, key);
    }
  }

  std::vector<Atom> atoms_;
  std::vector<int> roots_;
  std::map<Key, DirectedBond> bonds_;
  std::vector<std::vector<Key>> out_;  // outgoing bonds in string order; {-1,-1}: placeholder
  std::vector<int> bond_counts_;
  std::vector<bool> ring_flags_;
};

namespace detail {

inline bool is_element(std::string_view symbol) {
  static constexpr std::array<std::string_view, 118> elements = {
      "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",  "Cl",
      "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se",
      "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb",
      "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er",
      "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At",
      "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No",
      "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};
  return std::find(elements.begin(), elements.end(), symbol) != elements.end();
}

inline bool is_organic_subset(std::string_view symbol) {
  static constexpr std::array<std::string_view, 10> organic = {"B", "C", "N", "O", "P", "S", "F", "Cl", "Br", "I"};
  return std::find(organic.begin(), organic.end(), symbol) != organic.end();
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Reads the digits at `at` (advancing it); -1 if there are none.
inline int read_number(std::string_view text, std::size_t& at) {
  int value = -1;
  while (at < text.size() && is_digit(text[at]) && value < 100000) {
    value = (value < 0 ? 0 : value * 10) + (text[at] - '0');
    ++at;
  }
  return value;
}

/// Bond order and stereo mark of a SMILES/SELFIES bond character (0: none given).
inline std::pair<int, char> bond_of_char(char bond) {
  switch (bond) {
    case '=':
      return {2, 0};
    case '#':
      return {3, 0};
    case '/':
    case '\\':
      return {1, bond};
    default:
      return {1, 0};
  }
}

/// The element at `at` of a bracket atom: two letters when they name an element, else one.
inline std::string read_element(std::string_view text, std::size_t& at) {
  if (at >= text.size() || text[at] < 'A' || text[at] > 'Z') return {};
  if (at + 1 < text.size() && text[at + 1] >= 'a' && text[at + 1] <= 'z' && is_element(text.substr(at, 2))) {
    at += 2;
    return std::string(text.substr(at - 2, 2));
  }
  if (!is_element(text.substr(at, 1))) return {};
  ++at;
  return std::string(text.substr(at - 1, 1));
}

/// Aromatic SMILES atoms: valences allowed in an aromatic ring and valence electrons (the
/// selfies package's AROMATIC_VALENCES and VALENCE_ELECTRONS).
struct AromaticElement {
  std::string_view lowercase;
  std::string_view element;
  int low_valence;
  int high_valence;  // == low_valence when there is one
  int valence_electrons;
};

inline const AromaticElement* aromatic_element(std::string_view symbol, bool by_lowercase) {
  static constexpr std::array<AromaticElement, 11> table = {{{"b", "B", 3, 3, 3},
                                                             {"al", "Al", 3, 3, 3},
                                                             {"c", "C", 4, 4, 4},
                                                             {"si", "Si", 4, 4, 4},
                                                             {"n", "N", 3, 5, 5},
                                                             {"p", "P", 3, 5, 5},
                                                             {"as", "As", 3, 5, 5},
                                                             {"o", "O", 2, 4, 6},
                                                             {"s", "S", 2, 4, 6},
                                                             {"se", "Se", 2, 4, 6},
                                                             {"te", "Te", 2, 4, 6}}};
  for (const auto& entry : table) {
    if ((by_lowercase ? entry.lowercase : entry.element) == symbol) return &entry;
  }
  return nullptr;
}

/// Reads the start of a bracket atom shared by SMILES and SELFIES: isotope, element and
/// chirality (@ or @@). False if there is no element. With `aromatic` given, a lowercase
/// aromatic element ("c", "se") is read too and flagged.
inline bool read_isotope_element_chirality(std::string_view text, std::size_t& at, Atom& atom,
                                           bool* aromatic = nullptr) {
  atom.isotope = read_number(text, at);
  atom.element = read_element(text, at);
  if (atom.element.empty() && aromatic != nullptr) {
    for (std::size_t length : {2, 1}) {
      const AromaticElement* entry = aromatic_element(text.substr(at, length), true);
      if (entry != nullptr && text.substr(at, length).size() == length) {
        atom.element = std::string(entry->element);
        *aromatic = true;
        at += length;
        break;
      }
    }
  }
  if (atom.element.empty()) return false;
  const std::size_t marks = text.substr(at, 2) == "@@" ? 2 : text.substr(at, 1) == "@" ? 1 : 0;
  atom.chirality = std::string(text.substr(at, marks));
  at += marks;
  return true;
}

/// Parses the inside of a SMILES bracket atom (without '[' ']'); false if malformed.
inline bool parse_bracket_atom(std::string_view text, Atom& atom, bool& aromatic) {
  std::size_t at = 0;
  atom = Atom{};
  aromatic = false;
  if (!read_isotope_element_chirality(text, at, atom, &aromatic)) return false;
  atom.h_count = 0;
  if (at < text.size() && text[at] == 'H') {
    ++at;
    atom.h_count = 1;
    if (at < text.size() && is_digit(text[at])) atom.h_count = text[at++] - '0';
  }
  if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const char sign = text[at];
    const int number = (++at, read_number(text, at));
    int magnitude = 1;
    if (number >= 0) {
      magnitude = number;
    } else {
      while (at < text.size() && text[at] == sign) ++magnitude, ++at;
    }
    atom.charge = sign == '+' ? magnitude : -magnitude;
  }
  if (at < text.size() && text[at] == ':') {
    ++at;
    if (read_number(text, at) < 0) return false;  // atom class: read and ignored
  }
  return at == text.size();
}

[[noreturn]] inline void fail_smiles(std::string_view smiles, std::size_t at, const std::string& problem) {
  fail<value_error>("mam::parse_smiles", "a SMILES string", concat("'", smiles, "': ", problem, " at position ", at));
}

/// Whether aromatic atom `node` keeps a double bond to find: false when its bonds (aromatic
/// ones counted as single) already give it an allowed valence. `aromatic_degree` = its
/// aromatic bonds. selfies' MolecularGraph._prune_from_ds, in integers.
inline bool needs_double_bond(const MolecularGraph& mol, int node, int aromatic_degree) {
  if (aromatic_degree == 0) return false;
  const Atom& atom = mol.atom(node);
  const AromaticElement& entry = *aromatic_element(atom.element, false);
  const int used = mol.bond_count(node) + std::max(atom.h_count, 0);
  const auto satisfied = [&](int shift) { return used == entry.low_valence - shift || used == entry.high_valence - shift; };
  if (atom.implicit_hydrogens()) return !satisfied(0);
  if (satisfied(atom.charge)) return false;
  // An odd number of free electrons (an unpaired one left over from radicals) takes part.
  const int bound = std::max(atom.charge, 0) + atom.h_count + mol.bond_count(node) + (aromatic_degree + 1) / 2;
  const int radical = std::max(0, entry.valence_electrons - bound) % 2;
  const int free = entry.high_valence - atom.charge - used - radical;
  return free >= 0 && free % 2 == 1;
}

/// Turns the aromatic bonds (now single) into a Kekule structure; false if there is none.
inline bool kekulize(MolecularGraph& mol, const std::vector<std::pair<int, int>>& aromatic_bonds) {
  std::map<int, std::vector<int>> neighbours;  // the delocalized subgraph
  for (const auto& [a, b] : aromatic_bonds) {
    neighbours[a].push_back(b);
    neighbours[b].push_back(a);
  }
  std::map<int, int> label;  // kept node -> matching node
  std::vector<int> node_of;
  for (const auto& [node, adjacent] : neighbours) {
    if (needs_double_bond(mol, node, static_cast<int>(adjacent.size()))) {
      label[node] = static_cast<int>(node_of.size());
      node_of.push_back(node);
    }
  }
  std::vector<std::vector<int>> graph(node_of.size());
  for (const auto& [a, b] : aromatic_bonds) {
    const auto la = label.find(a);
    const auto lb = label.find(b);
    if (la == label.end() || lb == label.end()) continue;
    graph[static_cast<std::size_t>(la->second)].push_back(lb->second);
    graph[static_cast<std::size_t>(lb->second)].push_back(la->second);
  }
  const std::optional<std::vector<int>> mate = perfect_matching(graph);
  if (!mate) return false;
  for (std::size_t i = 0; i < mate->size(); ++i) {
    const int partner = (*mate)[i];
    if (static_cast<int>(i) < partner) mol.update_bond_order(node_of[i], node_of[static_cast<std::size_t>(partner)], 2);
  }
  return true;
}

}  // namespace detail

/// Reads a SMILES string (see the header comment for what is supported); aromatic input
/// comes back kekulized.
inline MolecularGraph parse_smiles(std::string_view smiles) {
  using detail::fail_smiles;
  if (smiles.empty()) fail_smiles(smiles, 0, "an empty string");
  MolecularGraph mol;
  std::vector<bool> aromatic;                         // per atom
  std::vector<std::pair<int, int>> aromatic_bonds;    // made single; kekulized at the end
  const auto is_aromatic_bond = [&](char bond, int a, int b, std::size_t where) {
    const bool both = aromatic[static_cast<std::size_t>(a)] && aromatic[static_cast<std::size_t>(b)];
    if (bond == ':' && !both) fail_smiles(smiles, where, "an aromatic bond ':' between non-aromatic atoms");
    return bond == ':' || (bond == 0 && both);
  };
  struct OpenRing {
    int atom;
    int position;
    char bond;
    std::size_t at;
  };
  // A ring bond may close in a later '.'-separated fragment ("C1.C1" is ethane, as in
  // OpenSMILES and RDKit): the SELFIES decoder writes such bonds.
  std::map<std::string, OpenRing> open_rings;
  std::size_t at = 0;
  while (at <= smiles.size()) {  // one '.'-separated fragment per pass
    std::vector<int> chain{-1};  // the previous atom of each open branch level
    std::vector<std::size_t> open_branches;
    bool chain_start = true;
    const std::size_t fragment_start = at;
    const int atoms_before = mol.atom_count();
    while (at < smiles.size() && smiles[at] != '.') {
      const std::size_t token_at = at;
      char bond = 0;
      if (std::string_view("-=#/\\:").find(smiles[at]) != std::string_view::npos) bond = smiles[at++];
      if (at == smiles.size()) fail_smiles(smiles, token_at, "a bond at the end");
      const char c = smiles[at];
      if (c == '[' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
        Atom atom;
        bool is_aromatic = false;
        if (c == '[') {
          const std::size_t close = smiles.find(']', at + 1);
          if (close == std::string_view::npos) fail_smiles(smiles, at, "an unclosed '['");
          if (!detail::parse_bracket_atom(smiles.substr(at + 1, close - at - 1), atom, is_aromatic)) {
            fail_smiles(smiles, at, detail::concat("a malformed bracket atom '", smiles.substr(at, close - at + 1), "'"));
          }
          at = close + 1;
        } else {
          const std::size_t length = (smiles.substr(at, 2) == "Cl" || smiles.substr(at, 2) == "Br") ? 2 : 1;
          const std::string_view symbol = smiles.substr(at, length);
          const auto* entry = length == 1 ? detail::aromatic_element(symbol, true) : nullptr;
          if (entry != nullptr && entry->lowercase.size() == 1) {
            atom.element = std::string(entry->element);
            is_aromatic = true;
          } else if (detail::is_organic_subset(symbol)) {
            atom.element = std::string(symbol);
          } else {
            fail_smiles(smiles, at, detail::concat("'", symbol, "', not an organic-subset atom"));
          }
          at += length;
        }
        const int previous = chain.back();
        const int index = mol.add_atom(std::move(atom), previous < 0);
        aromatic.push_back(is_aromatic);
        if (previous >= 0) {
          const auto [order, stereo] = detail::bond_of_char(bond);
          mol.add_bond(previous, index, order, stereo);
          if (is_aromatic_bond(bond, previous, index, token_at)) aromatic_bonds.emplace_back(previous, index);
        } else if (bond) {
          fail_smiles(smiles, token_at, "a bond before the first atom");
        }
        chain.back() = index;
        chain_start = false;
        continue;
      }
      if (chain_start) fail_smiles(smiles, token_at, "a chain that does not begin with an atom");
      if (c == '(' || c == ')') {
        if (bond) fail_smiles(smiles, token_at, "a bond before a parenthesis");
        if (c == '(') {
          open_branches.push_back(at);
          chain.push_back(chain.back());
          chain_start = true;
        } else {
          if (open_branches.empty()) fail_smiles(smiles, at, "an unopened ')'");
          open_branches.pop_back();
          chain.pop_back();
        }
        ++at;
        continue;
      }
      std::string ring;
      if (detail::is_digit(c)) {
        ring = std::string(1, c);
        at += 1;
      } else if (c == '%' && at + 2 < smiles.size() && detail::is_digit(smiles[at + 1]) &&
                 detail::is_digit(smiles[at + 2])) {
        ring = std::string(smiles.substr(at, 3));
        at += 3;
      } else {
        fail_smiles(smiles, at, detail::concat("an unsupported character '", c, "'"));
      }
      const int here = chain.back();
      const auto open = open_rings.find(ring);
      if (open == open_rings.end()) {
        open_rings[ring] = OpenRing{here, mol.add_placeholder_bond(here), bond, token_at};
        continue;
      }
      const OpenRing left = open->second;
      open_rings.erase(open);
      if (left.atom == here) fail_smiles(smiles, token_at, "a ring bond from an atom to itself");
      if (mol.has_bond(left.atom, here)) fail_smiles(smiles, token_at, "a ring bond between bonded atoms");
      const bool stereo_pair = (left.bond == '/' || left.bond == '\\') && (bond == '/' || bond == '\\');
      if (left.bond && bond && left.bond != bond && !stereo_pair) {
        fail_smiles(smiles, token_at, "mismatched ring bonds");
      }
      const auto [left_order, left_stereo] = detail::bond_of_char(left.bond);
      const auto [right_order, right_stereo] = detail::bond_of_char(bond);
      mol.add_ring_bond(left.atom, here, std::max(left_order, right_order), left_stereo, right_stereo, left.position,
                        -1);
      if (is_aromatic_bond(left.bond ? left.bond : bond, left.atom, here, token_at)) {
        aromatic_bonds.emplace_back(left.atom, here);
      }
    }
    if (mol.atom_count() == atoms_before) fail_smiles(smiles, fragment_start, "an empty fragment");
    if (!open_branches.empty()) fail_smiles(smiles, open_branches.back(), "an unclosed '('");
    ++at;  // past the '.', or past the end
  }
  if (!open_rings.empty()) fail_smiles(smiles, open_rings.begin()->second.at, "an unclosed ring bond");
  if (!aromatic_bonds.empty() && !detail::kekulize(mol, aromatic_bonds)) {
    fail_smiles(smiles, 0, "aromatic atoms with no Kekule structure");
  }
  return mol;
}

namespace detail {

inline void append_atom_smiles(std::string& out, const Atom& atom, bool brackets) {
  const bool plain = atom.isotope < 0 && atom.chirality.empty() && atom.h_count < 0 && atom.charge == 0;
  if (plain) {
    out += atom.element;
    return;
  }
  if (brackets) out += '[';
  if (atom.isotope >= 0) out += std::to_string(atom.isotope);
  out += atom.element;
  out += atom.chirality;
  if (atom.h_count > 0) {
    out += 'H';
    out += std::to_string(atom.h_count);
  } else if (atom.isotope < 0 && atom.chirality.empty() && atom.charge == 0 && is_organic_subset(atom.element)) {
    out += "H0";  // a bracketed organic atom: "[C]" means no hydrogens, unlike "C"
  }
  if (atom.charge != 0) {
    out += atom.charge > 0 ? '+' : '-';
    out += std::to_string(atom.charge > 0 ? atom.charge : -atom.charge);
  }
  if (brackets) out += ']';
}

inline std::string bond_smiles(const DirectedBond& bond) {
  if (bond.order == 2) return "=";
  if (bond.order == 3) return "#";
  return bond.stereo ? std::string(1, bond.stereo) : std::string();
}

}  // namespace detail

/// Writes `mol` in its own atom and bond order (no canonicalization). Ring-bond numbers are
/// the lowest free ones (a number closed at one atom is reused only from the next atom on).
inline std::string write_smiles(const MolecularGraph& mol) {
  std::string out;
  std::map<std::pair<int, int>, int> open_rings;  // ends (low, high) -> ring number
  std::vector<bool> used_numbers(1, true);        // number 0 unused so numbering starts at 1
  std::vector<int> to_release;
  struct Frame {
    int atom;
    std::size_t next_bond;
    std::vector<DirectedBond> bonds;
    bool close_parenthesis;
  };
  for (std::size_t r = 0; r < mol.roots().size(); ++r) {
    if (r > 0) out += '.';
    std::vector<Frame> stack;
    stack.push_back(Frame{mol.roots()[r], 0, mol.out_bonds(mol.roots()[r]), false});
    bool atom_pending = true;
    while (!stack.empty()) {
      Frame& frame = stack.back();
      if (atom_pending) {
        for (int number : to_release) used_numbers[static_cast<std::size_t>(number)] = false;
        to_release.clear();
        detail::append_atom_smiles(out, mol.atom(frame.atom), true);
        atom_pending = false;
      }
      if (frame.next_bond == frame.bonds.size()) {
        const bool close = frame.close_parenthesis;
        stack.pop_back();
        if (close) out += ')';
        continue;
      }
      const DirectedBond bond = frame.bonds[frame.next_bond++];
      if (bond.ring_bond) {
        out += detail::bond_smiles(bond);
        const auto ends = std::minmax(bond.src, bond.dst);
        auto open = open_rings.find(ends);
        int number = 0;
        if (open == open_rings.end()) {
          while (number < static_cast<int>(used_numbers.size()) && used_numbers[static_cast<std::size_t>(number)]) {
            ++number;
          }
          if (number == static_cast<int>(used_numbers.size())) used_numbers.push_back(false);
          used_numbers[static_cast<std::size_t>(number)] = true;
          open_rings[ends] = number;
        } else {
          number = open->second;
          open_rings.erase(open);
          to_release.push_back(number);
        }
        detail::require<value_error>(number < 100, "mam::write_smiles", "at most 99 rings open at once", number);
        out += number < 10 ? std::to_string(number) : "%" + std::to_string(number);
        continue;
      }
      const bool branch = frame.next_bond < frame.bonds.size();
      if (branch) out += '(';
      out += detail::bond_smiles(bond);
      stack.push_back(Frame{bond.dst, 0, mol.out_bonds(bond.dst), branch});
      atom_pending = true;
    }
  }
  return out;
}

}  // namespace mam
