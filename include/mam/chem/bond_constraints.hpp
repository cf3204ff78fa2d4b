#pragma once
// SELFIES semantic constraints: how many bonds (sum of bond orders, hydrogens excluded) an
// atom of a given element and charge may make. The SELFIES decoder never exceeds them, which
// is why every SELFIES string decodes to a valid molecule. The presets are those of the
// selfies 2.x package (bond_constraints.py): "default", "octet_rule" and "hypervalent";
// elements and charges not listed get the fallback capacity ("?" in selfies, 8).
//
// Unlike selfies, the constraints are a value passed to the codec, not global state.

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "mam/chem/molecular_graph.hpp"
#include "mam/core/error.hpp"

namespace mam {

class BondConstraints {
 public:
  /// selfies' default: H F Cl Br I 1; B 3 (B+1 2, B-1 4); O 2 (O+1 3, O-1 1);
  /// N 3 (N+1 4, N-1 2); C 4 (C+1 3, C-1 3); P 5 (P+1 4, P-1 6); S 6 (S+1 5, S-1 5); others 8.
  static BondConstraints default_preset() {
    BondConstraints constraints;
    constraints.capacities_ = {{"H", 1},   {"F", 1},   {"Cl", 1},  {"Br", 1},  {"I", 1},   {"B", 3},
                               {"B+1", 2}, {"B-1", 4}, {"O", 2},   {"O+1", 3}, {"O-1", 1}, {"N", 3},
                               {"N+1", 4}, {"N-1", 2}, {"C", 4},   {"C+1", 3}, {"C-1", 3}, {"P", 5},
                               {"P+1", 4}, {"P-1", 6}, {"S", 6},   {"S+1", 5}, {"S-1", 5}};
    return constraints;
  }

  /// The default with S, S+1, S-1, P, P+1, P-1 limited by the octet rule (2 3 1 3 4 2).
  static BondConstraints octet_rule() {
    BondConstraints constraints = default_preset();
    for (const auto& [key, value] : {std::pair<const char*, int>{"S", 2}, {"S+1", 3}, {"S-1", 1}, {"P", 3},
                                     {"P+1", 4}, {"P-1", 2}}) {
      constraints.set(key, value);
    }
    return constraints;
  }

  /// The default with Cl, Br, I 7 and N 5.
  static BondConstraints hypervalent() {
    BondConstraints constraints = default_preset();
    for (const auto& [key, value] :
         {std::pair<const char*, int>{"Cl", 7}, {"Br", 7}, {"I", 7}, {"N", 5}}) {
      constraints.set(key, value);
    }
    return constraints;
  }

  /// The key of an element with a charge, as selfies writes it: "C", "N+1", "O-1", "Fe+2".
  static std::string key(const std::string& element, int charge) {
    if (charge == 0) return element;
    return detail::concat(element, charge > 0 ? "+" : "-", charge > 0 ? charge : -charge);
  }

  /// Sets the capacity of a key "E", "E+n" or "E-n" (E an element, n >= 1).
  void set(const std::string& key, int capacity) {
    const char* function = "mam::BondConstraints::set";
    const std::size_t sign = key.find_first_of("+-");
    const std::string element = key.substr(0, sign);
    bool valid = detail::is_element(element);
    if (valid && sign != std::string::npos) {
      const std::string number = key.substr(sign + 1);
      valid = !number.empty() && number.size() < 4 && number[0] != '0' &&
              number.find_first_not_of("0123456789") == std::string::npos;
    }
    detail::require<value_error>(valid, function, "a key 'E', 'E+n' or 'E-n' with E an element", key);
    detail::require<value_error>(capacity >= 0, function, "a capacity >= 0", capacity);
    capacities_[key] = capacity;
  }

  /// The capacity of every element/charge not set explicitly.
  void set_fallback(int capacity) {
    detail::require<value_error>(capacity >= 0, "mam::BondConstraints::set_fallback", "a capacity >= 0", capacity);
    fallback_ = capacity;
  }
  int fallback() const { return fallback_; }

  int capacity(const std::string& element, int charge) const {
    const auto found = capacities_.find(key(element, charge));
    return found == capacities_.end() ? fallback_ : found->second;
  }

  /// Bonds `atom` may still make beyond its explicit hydrogens (negative: too many H).
  int capacity(const Atom& atom) const {
    return capacity(atom.element, atom.charge) - (atom.h_count > 0 ? atom.h_count : 0);
  }

  /// The explicit entries (key -> capacity), sorted by key.
  const std::map<std::string, int>& entries() const { return capacities_; }

 private:
  std::map<std::string, int> capacities_;
  int fallback_ = 8;
};

}  // namespace mam
