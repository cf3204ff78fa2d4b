#pragma once
// A token vocabulary for fixed-length string data (SMILES tokens, SELFIES symbols): code 0
// is the padding token, codes 1..K-1 are the tokens. A string of at most L tokens becomes a
// length-L column of codes, padded at the end; decoding drops every padding code, so a model
// sample with padding in the middle still reads as the string of its other tokens.

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

class Vocabulary {
 public:
  /// `padding` gets code 0 and `tokens` codes 1, 2, ... in the given order. Tokens must be
  /// non-empty, distinct, differ from the padding and hold no newline (so a vocabulary can be
  /// written one token per line).
  Vocabulary(std::string padding, std::vector<std::string> tokens) {
    const char* function = "mam::Vocabulary";
    tokens_.reserve(tokens.size() + 1);
    tokens_.push_back(std::move(padding));
    for (auto& token : tokens) tokens_.push_back(std::move(token));
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      const std::string& token = tokens_[i];
      detail::require<value_error>(!token.empty(), function, "non-empty tokens",
                                   detail::concat("an empty token at code ", i));
      detail::require<value_error>(token.find('\n') == std::string::npos, function, "tokens without a newline",
                                   detail::concat("'", token, "' at code ", i));
      const bool inserted = codes_.emplace(token, static_cast<Code>(i)).second;
      detail::require<value_error>(inserted, function, "distinct tokens (and none equal to the padding)",
                                   detail::concat("'", token, "' twice"));
    }
  }

  /// The sorted set of tokens that occur in `tokenized` (the padding excluded).
  static Vocabulary from_corpus(std::string padding, const std::vector<std::vector<std::string>>& tokenized) {
    std::vector<std::string> tokens;
    for (const auto& item : tokenized) tokens.insert(tokens.end(), item.begin(), item.end());
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
    tokens.erase(std::remove(tokens.begin(), tokens.end(), padding), tokens.end());
    return Vocabulary(std::move(padding), std::move(tokens));
  }

  /// K: the number of codes, padding included.
  Index size() const { return static_cast<Index>(tokens_.size()); }
  Code padding_code() const { return 0; }
  const std::string& padding() const { return tokens_.front(); }
  /// Index = code; element 0 is the padding.
  const std::vector<std::string>& tokens() const { return tokens_; }

  bool contains(const std::string& token) const { return codes_.count(token) != 0; }

  Code code(const std::string& token) const {
    const auto found = codes_.find(token);
    if (found == codes_.end()) {
      detail::fail<value_error>("mam::Vocabulary::code", "a token of the vocabulary", detail::concat("'", token, "'"));
    }
    return found->second;
  }

  const std::string& token(Code code) const {
    detail::require<value_error>(code >= 0 && code < size(), "mam::Vocabulary::token",
                                 detail::concat("a code in 0..", size() - 1), code);
    return tokens_[static_cast<std::size_t>(code)];
  }

  /// The codes of `tokens` followed by padding up to `length`.
  Vector<Code> encode(const std::vector<std::string>& tokens, Index length) const {
    const char* function = "mam::Vocabulary::encode";
    detail::require<value_error>(length >= 0, function, "length >= 0", length);
    detail::require<value_error>(static_cast<Index>(tokens.size()) <= length, function,
                                 detail::concat("at most ", length, " tokens"), tokens.size());
    Vector<Code> codes = Vector<Code>::Constant(length, padding_code());
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const auto found = codes_.find(tokens[i]);
      if (found == codes_.end()) {
        detail::fail<value_error>(function, "tokens of the vocabulary",
                                  detail::concat("'", tokens[i], "' at position ", i));
      }
      codes(static_cast<Index>(i)) = found->second;
    }
    return codes;
  }

  /// The tokens of `codes` with every padding code dropped.
  std::vector<std::string> decode(const Eigen::Ref<const Vector<Code>>& codes) const {
    std::vector<std::string> tokens;
    for (Index i = 0; i < codes.size(); ++i) {
      const Code code = codes(i);
      detail::require<value_error>(code >= 0 && code < size(), "mam::Vocabulary::decode",
                                   detail::concat("codes in 0..", size() - 1),
                                   detail::concat(code, " at position ", i));
      if (code != padding_code()) tokens.push_back(tokens_[static_cast<std::size_t>(code)]);
    }
    return tokens;
  }

  /// Key/value form for checkpoint metadata: `<prefix>.size`, then `<prefix>.<code>` = token.
  std::vector<std::pair<std::string, std::string>> to_key_values(const std::string& prefix = "vocabulary") const {
    std::vector<std::pair<std::string, std::string>> entries;
    entries.reserve(tokens_.size() + 1);
    entries.emplace_back(prefix + ".size", std::to_string(tokens_.size()));
    for (std::size_t i = 0; i < tokens_.size(); ++i) entries.emplace_back(detail::concat(prefix, ".", i), tokens_[i]);
    return entries;
  }

  /// Reads the entries written by `to_key_values` (other keys are ignored).
  static Vocabulary from_key_values(const std::vector<std::pair<std::string, std::string>>& entries,
                                    const std::string& prefix = "vocabulary") {
    const char* function = "mam::Vocabulary::from_key_values";
    const auto value_of = [&](const std::string& key) -> const std::string& {
      for (const auto& entry : entries) {
        if (entry.first == key) return entry.second;
      }
      detail::fail<value_error>(function, detail::concat("the key '", key, "'"), "no such key");
    };
    const std::string& size_text = value_of(prefix + ".size");
    std::size_t size = 0;
    std::size_t used = 0;
    try {
      size = std::stoul(size_text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    detail::require<value_error>(used == size_text.size() && size_text[0] != '-' && size >= 1 && size <= entries.size(),
                                 function,
                                 detail::concat("a positive integer for '", prefix, ".size' (at most the ", entries.size(),
                                                " entries given)"),
                                 size_text);
    std::vector<std::string> tokens;
    tokens.reserve(size - 1);
    for (std::size_t i = 1; i < size; ++i) tokens.push_back(value_of(detail::concat(prefix, ".", i)));
    return Vocabulary(value_of(prefix + ".0"), std::move(tokens));
  }

  friend bool operator==(const Vocabulary& a, const Vocabulary& b) { return a.tokens_ == b.tokens_; }
  friend bool operator!=(const Vocabulary& a, const Vocabulary& b) { return !(a == b); }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, Code> codes_;
};

/// A data set encoded to fixed length, with the items that could not be encoded counted.
struct EncodedCorpus {
  CodeMatrix codes;         ///< length x kept.size(), one item per column
  std::vector<Index> kept;  ///< the input index of each column
  Index too_long = 0;       ///< skipped: more than `length` tokens
  Index unknown_token = 0;  ///< skipped: a token the vocabulary lacks
};

/// Encodes every item of `tokenized` that fits; the others are skipped and counted.
inline EncodedCorpus encode_corpus(const Vocabulary& vocabulary, const std::vector<std::vector<std::string>>& tokenized,
                                   Index length) {
  detail::require<value_error>(length >= 0, "mam::encode_corpus", "length >= 0", length);
  EncodedCorpus result;
  std::vector<Index> kept;
  for (std::size_t i = 0; i < tokenized.size(); ++i) {
    const auto& tokens = tokenized[i];
    if (static_cast<Index>(tokens.size()) > length) {
      ++result.too_long;
    } else if (!std::all_of(tokens.begin(), tokens.end(),
                            [&](const std::string& token) { return vocabulary.contains(token); })) {
      ++result.unknown_token;
    } else {
      kept.push_back(static_cast<Index>(i));
    }
  }
  result.codes.resize(length, static_cast<Index>(kept.size()));
  for (std::size_t j = 0; j < kept.size(); ++j) {
    result.codes.col(static_cast<Index>(j)) = vocabulary.encode(tokenized[static_cast<std::size_t>(kept[j])], length);
  }
  result.kept = std::move(kept);
  return result;
}

}  // namespace mam
