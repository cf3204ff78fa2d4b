#pragma once
// Checking a batch of partial assignments: D x batch codes, one sample per column, every
// entry a value in 0..K-1 or the '?' sentinel `unknown`. Every network, loss and sampler
// validates its input this way before touching it.

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// Checks that `codes` is D x batch with every entry in 0..K-1 or `unknown`.
inline void validate_codes(const Eigen::Ref<const CodeMatrix>& codes, Index num_variables,
                           Index num_values, const char* function) {
  detail::require<shape_error>(codes.rows() == num_variables, function,
                               detail::concat("codes with ", num_variables,
                                              " rows (one column per sample)"),
                               detail::concat(codes.rows(), " rows"));
  for (Index b = 0; b < codes.cols(); ++b)
    for (Index i = 0; i < num_variables; ++i) {
      const Code c = codes(i, b);
      if (c != unknown && (c < 0 || c >= num_values))
        detail::fail<value_error>(
            function, detail::concat("codes in 0..", num_values - 1, " or mam::unknown"),
            detail::concat(c, " at position ", i, " of sample ", b));
    }
}

}  // namespace mam
