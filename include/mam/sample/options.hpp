#pragma once
// Options shared by the samplers.

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"

namespace mam {

struct SamplingOptions {
  double temperature = 1.0;  ///< logits are divided by it; below 1 sharpens, above 1 flattens
  bool greedy = false;       ///< take the most probable value instead of drawing
};

namespace detail {

/// The draw every sampler makes at one position.
template <class Logits>
Code draw_value(const Logits& logits, const SamplingOptions& options, Rng& rng) {
  require<value_error>(options.temperature > 0.0 || options.greedy, "mam::SamplingOptions",
                       "temperature > 0 (or greedy)", options.temperature);
  return static_cast<Code>(rng.categorical_from_logits(logits, options.greedy ? 0.0 : options.temperature));
}

}  // namespace detail
}  // namespace mam
