#pragma once
// Complete samples (a D x N code matrix) in a checkpoint file with free-form metadata: a data
// set, ground-truth samples of a target, a model's samples. Written atomically, read back
// checked (format, shape, every code in 0..K-1); the metadata say what the samples are, so a
// program can tell whether a cached file is the one it needs.

#include <cstdint>
#include <string>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"
#include "mam/io/checkpoint.hpp"
#include "mam/io/network_checkpoint.hpp"

namespace mam::io {

namespace detail {

/// Codes of complete samples as checkpoint integers: rows, columns, then the codes column by
/// column (a trainer's sample buffer is stored this way too).
inline NamedIntegers codes_to_integers(const std::string& name, const CodeMatrix& codes) {
  NamedIntegers out{name, {static_cast<std::uint64_t>(codes.rows()), static_cast<std::uint64_t>(codes.cols())}};
  for (Index j = 0; j < codes.size(); ++j) out.values.push_back(static_cast<std::uint64_t>(codes.data()[j]));
  return out;
}

/// What codes_to_integers wrote, checked to have `rows` rows and codes in 0..num_values-1.
inline CodeMatrix integers_to_codes(const char* function, const std::string& path, const NamedIntegers* stored,
                                    Index rows, Index num_values) {
  // Sizes compared by division: a corrupt column count cannot overflow into a match.
  if (stored == nullptr || rows <= 0 || stored->values.size() < 2 || stored->values[0] != static_cast<std::uint64_t>(rows) ||
      (stored->values.size() - 2) % stored->values[0] != 0 || stored->values[1] != (stored->values.size() - 2) / stored->values[0])
    throw format_error(concat(function, ": '", path, "' holds no valid sample buffer of ", rows, " rows"));
  CodeMatrix codes(rows, static_cast<Index>(stored->values[1]));
  for (Index j = 0; j < codes.size(); ++j) {
    const std::uint64_t value = stored->values[static_cast<std::size_t>(2 + j)];
    if (value >= static_cast<std::uint64_t>(num_values))
      throw format_error(concat(function, ": '", path, "' holds a sample code ", value, " out of range"));
    codes.data()[j] = static_cast<Code>(value);
  }
  return codes;
}

}  // namespace detail

struct StoredSamples {
  CodeMatrix samples;  ///< D x N complete samples
  KeyValues metadata;
};

/// Writes complete `samples` (codes >= 0) and `metadata` to `path` atomically.
inline void save_samples(const std::string& path, const CodeMatrix& samples, const KeyValues& metadata = {}) {
  const char* function = "mam::io::save_samples";
  mam::detail::require<value_error>(samples.size() == 0 || samples.minCoeff() >= 0, function,
                                    "complete samples (no '?')", "'?' entries");
  Checkpoint<double> file;
  file.architecture = {{"kind", "samples"}};
  file.integers.push_back(detail::codes_to_integers("samples", samples));
  file.metadata = metadata;
  save_checkpoint(path, file);
}

/// Reads what save_samples wrote; every code must lie in 0..num_values-1. Throws io_error if
/// the file cannot be read and format_error if it holds no valid samples.
inline StoredSamples load_samples(const std::string& path, Index num_values) {
  const char* function = "mam::io::load_samples";
  const Checkpoint<double> file = load_checkpoint<double>(path);
  require_architecture({{"kind", "samples"}}, file.architecture, function);
  const NamedIntegers* stored = detail::find_named(file.integers, "samples");
  const Index rows = stored != nullptr && !stored->values.empty() ? static_cast<Index>(stored->values[0]) : 0;
  return {detail::integers_to_codes(function, path, stored, rows, num_values), file.metadata};
}

}  // namespace mam::io
