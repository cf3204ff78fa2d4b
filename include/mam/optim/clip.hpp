#pragma once
// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ does it: the norm is
// taken over all given gradients together; if it exceeds max_norm, every gradient is scaled
// by max_norm / (norm + 1e-6).

#include <cmath>
#include <initializer_list>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// Returns the global L2 norm before clipping. A non-finite norm is reported, not clipped:
/// scaling would turn an infinity into NaNs and hide the step that went wrong.
template <class Scalar>
double clip_grad_norm(std::initializer_list<Vector<Scalar>*> gradients, double max_norm) {
  const char* function = "mam::clip_grad_norm";
  detail::require<value_error>(max_norm > 0.0, function, "max_norm > 0", max_norm);
  double squared = 0.0;
  for (const Vector<Scalar>* g : gradients) {
    detail::require<value_error>(g != nullptr, function, "non-null gradients", "nullptr");
    squared += g->template cast<double>().squaredNorm();
  }
  const double norm = std::sqrt(squared);
  detail::require<numeric_error>(std::isfinite(norm), function, "a finite gradient norm", norm);
  if (norm > max_norm) {
    const auto scale = static_cast<Scalar>(max_norm / (norm + 1e-6));
    for (Vector<Scalar>* g : gradients) *g *= scale;
  }
  return norm;
}

}  // namespace mam
