#pragma once
// Learning-rate schedules as plain functions of the step, so a trainer (or a user) calls
// Adam::set_learning_rate(group, schedule(step)) and checkpoints need to store only the step.

#include <cmath>

#include "mam/core/error.hpp"

namespace mam {

/// Half a cosine from `peak` (progress 0) down to `floor` (progress 1 and beyond): the decay of
/// CosineSchedule, for callers that measure progress otherwise (a time budget, say).
inline double cosine_decay(double peak, double floor, double progress) {
  if (progress >= 1.0) return floor;
  constexpr double pi = 3.14159265358979323846;
  return floor + 0.5 * (peak - floor) * (1.0 + std::cos(pi * progress));
}

/// Linear warm-up over `warmup_steps`, then cosine decay from `peak` to `floor` at `total_steps`
/// (and `floor` afterwards).
struct CosineSchedule {
  double peak = 1e-3;
  double floor = 0.0;
  long warmup_steps = 0;
  long total_steps = 1;

  double operator()(long step) const {
    detail::require<value_error>(total_steps > 0 && warmup_steps >= 0 && step >= 0,
                                 "mam::CosineSchedule", "total_steps > 0, warmup_steps >= 0, step >= 0",
                                 detail::concat(total_steps, ", ", warmup_steps, ", ", step));
    if (step < warmup_steps) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    if (step >= total_steps) return floor;
    const double span = static_cast<double>(total_steps - warmup_steps);
    return cosine_decay(peak, floor, span > 0 ? static_cast<double>(step - warmup_steps) / span : 1.0);
  }
};

}  // namespace mam
