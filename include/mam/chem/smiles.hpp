#pragma once
// SMILES as token sequences, for models of fixed-length strings.
//
// The tokenizer is the regular expression in common use for SMILES language models
// (Schwaller et al., "Molecular Transformer", 2019):
//
//   (\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|\%[0-9]{2}|[0-9])
//
// scanned left to right like `re.findall`. Characters the expression does not match would be
// silently dropped by findall; we instead require that the tokens re-join to the input, so a
// string with such characters (a space, an unclosed '[', a lone '%') is rejected.

#include <string>
#include <string_view>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"
#include "mam/data/vocabulary.hpp"

namespace mam {

/// The padding token of SMILES vocabularies: a character SMILES never uses.
inline std::string smiles_padding() { return "_"; }

namespace detail {

/// Length of the token the SMILES expression matches at `at`, or 0 where it matches nothing.
inline std::size_t smiles_token_length(std::string_view s, std::size_t at) {
  const char c = s[at];
  const auto next_is = [&](char expected) { return at + 1 < s.size() && s[at + 1] == expected; };
  const auto is_digit = [&](std::size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; };
  if (c == '[') {
    const std::size_t close = s.find(']', at + 1);
    return (close == std::string_view::npos || close == at + 1) ? 0 : close - at + 1;
  }
  if (c == 'B') return next_is('r') ? 2 : 1;
  if (c == 'C') return next_is('l') ? 2 : 1;
  if (c == '%') return (is_digit(at + 1) && is_digit(at + 2)) ? 3 : 0;
  constexpr std::string_view single = "NOSPFIbcnosp().=#-+\\/:~@?>*$0123456789";
  return single.find(c) != std::string_view::npos ? 1 : 0;
}

}  // namespace detail

/// The concatenation of `tokens`.
inline std::string join_tokens(const std::vector<std::string>& tokens) {
  std::string joined;
  for (const auto& token : tokens) joined += token;
  return joined;
}

/// Splits `smiles` into tokens: bracket atoms "[...]", "Br", "Cl", two-digit ring bonds
/// "%nn", and single characters (atoms, bonds, branches, ring digits, '.').
inline std::vector<std::string> tokenize_smiles(std::string_view smiles) {
  std::vector<std::string> tokens;
  std::size_t at = 0;
  std::size_t first_skipped = std::string_view::npos;
  while (at < smiles.size()) {
    const std::size_t length = detail::smiles_token_length(smiles, at);
    if (length == 0) {
      if (first_skipped == std::string_view::npos) first_skipped = at;
      ++at;  // what findall does: no token here
      continue;
    }
    tokens.emplace_back(smiles.substr(at, length));
    at += length;
  }
  if (join_tokens(tokens) != smiles) {
    detail::fail<value_error>("mam::tokenize_smiles", "tokens that re-join to the input",
                              detail::concat("'", smiles, "' with no token at position ", first_skipped, " ('",
                                             smiles.substr(first_skipped, 1), "')"));
  }
  return tokens;
}

/// The vocabulary of the tokens of `corpus` (sorted), padding "_".
inline Vocabulary smiles_vocabulary(const std::vector<std::string>& corpus) {
  std::vector<std::vector<std::string>> tokenized;
  tokenized.reserve(corpus.size());
  for (const auto& smiles : corpus) tokenized.push_back(tokenize_smiles(smiles));
  return Vocabulary::from_corpus(smiles_padding(), tokenized);
}

}  // namespace mam
