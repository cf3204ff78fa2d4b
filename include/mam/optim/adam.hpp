#pragma once
// Adam (Kingma & Ba) with bias correction and optional decoupled weight decay (AdamW),
// computed exactly as PyTorch's torch.optim.Adam / AdamW do, so learning rates carry over.
//
// Parameters are organized in groups (one flat vector each: a marginal net, a conditional
// net, a learned log Z...). Every group has its own options and its own moment estimates and
// step count; a group steps once per call to step().

#include <cmath>
#include <cstdint>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"

namespace mam {

struct AdamOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;  ///< decoupled (AdamW): p -= lr * weight_decay * p
};

template <class Scalar>
class Adam {
 public:
  struct Group {
    AdamOptions options;
    Vector<Scalar> first_moment;   ///< m
    Vector<Scalar> second_moment;  ///< v
    std::uint64_t steps = 0;       ///< t
  };

  /// Adds a group of `size` parameters; returns its index for step().
  std::size_t add_group(Index size, const AdamOptions& options = {}) {
    const char* function = "mam::Adam::add_group";
    detail::require<shape_error>(size >= 0, function, "size >= 0", size);
    validate(options, function);
    groups_.push_back(Group{options, Vector<Scalar>::Zero(size), Vector<Scalar>::Zero(size), 0});
    return groups_.size() - 1;
  }

  std::size_t num_groups() const { return groups_.size(); }
  const Group& group(std::size_t index) const { return groups_.at(checked(index)); }
  /// Mutable access, for restoring a checkpoint.
  Group& group(std::size_t index) { return groups_.at(checked(index)); }

  void set_learning_rate(std::size_t index, double learning_rate) {
    detail::require<value_error>(learning_rate >= 0.0 && std::isfinite(learning_rate),
                                 "mam::Adam::set_learning_rate", "a finite rate >= 0",
                                 learning_rate);
    groups_.at(checked(index)).options.learning_rate = learning_rate;
  }

  /// One Adam update of `parameters` (group `index`) with `gradient` times `gradient_scale`
  /// (gradient clipping folded into the update's single pass over memory).
  void step(std::size_t index, Eigen::Ref<Vector<Scalar>> parameters,
            const Eigen::Ref<const Vector<Scalar>>& gradient, double gradient_scale = 1.0) {
    Group& group = groups_.at(checked(index));
    const char* function = "mam::Adam::step";
    detail::require<shape_error>(parameters.size() == group.first_moment.size(), function,
                                 detail::concat(group.first_moment.size(), " parameters in group ",
                                                index),
                                 parameters.size());
    detail::require<shape_error>(gradient.size() == parameters.size(), function,
                                 detail::concat("a gradient of size ", parameters.size()),
                                 gradient.size());
    const AdamOptions& o = group.options;
    ++group.steps;
    const double t = static_cast<double>(group.steps);
    const double bias_correction1 = 1.0 - std::pow(o.beta1, t);
    const double bias_correction2 = 1.0 - std::pow(o.beta2, t);
    const auto step_size = static_cast<Scalar>(o.learning_rate / bias_correction1);
    const auto inv_sqrt_bc2 = static_cast<Scalar>(1.0 / std::sqrt(bias_correction2));
    const auto beta1 = static_cast<Scalar>(o.beta1);
    const auto beta2 = static_cast<Scalar>(o.beta2);
    const auto eps = static_cast<Scalar>(o.epsilon);
    const auto decay = static_cast<Scalar>(1.0 - o.learning_rate * o.weight_decay);
    detail::require<value_error>(gradient_scale >= 0.0 && std::isfinite(gradient_scale), function,
                                 "a finite gradient_scale >= 0", gradient_scale);
    const auto scale = static_cast<Scalar>(gradient_scale);
    // One fused pass over p, g, m and v (four streams of memory, no temporaries): for
    // networks of millions of parameters the update is memory-bound.
    const Index n = parameters.size();
    Scalar* p = parameters.data();
    const Scalar* g = gradient.data();
    Scalar* m = group.first_moment.data();
    Scalar* v = group.second_moment.data();
    const bool decays = o.weight_decay != 0.0;
#pragma omp parallel for schedule(static) if (n >= detail::parallel_work_threshold)
    for (Index i = 0; i < n; ++i) {
      if (decays) p[i] *= decay;
      const Scalar gi = g[i] * scale;
      m[i] = beta1 * m[i] + (Scalar(1) - beta1) * gi;
      v[i] = beta2 * v[i] + (Scalar(1) - beta2) * gi * gi;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    }
  }

 private:
  std::size_t checked(std::size_t index) const {
    detail::require<value_error>(index < groups_.size(), "mam::Adam", 
                                 detail::concat("a group index below ", groups_.size()), index);
    return index;
  }

  static void validate(const AdamOptions& o, const char* function) {
    detail::require<value_error>(o.learning_rate >= 0.0 && std::isfinite(o.learning_rate),
                                 function, "learning_rate >= 0", o.learning_rate);
    detail::require<value_error>(o.beta1 >= 0.0 && o.beta1 < 1.0, function, "0 <= beta1 < 1",
                                 o.beta1);
    detail::require<value_error>(o.beta2 >= 0.0 && o.beta2 < 1.0, function, "0 <= beta2 < 1",
                                 o.beta2);
    detail::require<value_error>(o.epsilon > 0.0, function, "epsilon > 0", o.epsilon);
    detail::require<value_error>(o.weight_decay >= 0.0, function, "weight_decay >= 0",
                                 o.weight_decay);
  }

  std::vector<Group> groups_;
};

}  // namespace mam
