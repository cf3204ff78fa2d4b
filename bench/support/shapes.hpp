#pragma once
// The problem shapes the benchmarks run at, and random inputs of those shapes.

#include <string>

#include <mam/core/rng.hpp>
#include <mam/core/types.hpp>
#include <mam/nn/bf16_matmul.hpp>

namespace mam::bench {

struct Shape {
  Index d, k, hidden, layers, batch;
  MatmulPrecision precision = MatmulPrecision::float32;  ///< of mam's networks (not part of the tag)
  std::string tag() const {
    return "D" + std::to_string(d) + "_K" + std::to_string(k) + "_H" + std::to_string(hidden) +
           "_L" + std::to_string(layers) + "_B" + std::to_string(batch);
  }
};

/// A batch of codes where each entry is '?' with probability `unknown_rate` (MaM training
/// batches are half '?' on average), else uniform over 0..K-1.
inline CodeMatrix random_codes(const Shape& s, Rng& rng, double unknown_rate = 0.5) {
  CodeMatrix codes(s.d, s.batch);
  for (Index b = 0; b < s.batch; ++b)
    for (Index i = 0; i < s.d; ++i)
      codes(i, b) = rng.uniform() < unknown_rate ? unknown : static_cast<Code>(rng.uniform_int(s.k));
  return codes;
}

}  // namespace mam::bench
