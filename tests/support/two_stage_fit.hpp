#pragma once
// Two-stage maximum likelihood on a problem small enough to enumerate, as each network
// family's tests run it: stage 1 (AO-ARM) then stage 2 (the marginal net), with the exact
// answers before and after (tests/support/exact_laws.hpp).

#include <mam/core/types.hpp>
#include <mam/train/conditional_trainer.hpp>
#include <mam/train/marginal_trainer.hpp>

#include "exact_laws.hpp"

namespace mam::test {

struct TwoStageFit {
  double kl_before, kl_after;                  ///< KL(target || the AO-ARM sampler), before stage 1 and after
  double error_before, error_after;            ///< worst marginal error (p >= 0.01), before stage 1 and after stage 2
  double kl_marginal_before, kl_marginal;      ///< KL(target || the normalized marginal net)
};

/// Trains `model` on `data` (drawn from exp(log_target)): `stage1_steps` of ConditionalTrainer
/// (options.trainer, seed 1), then `stage2_steps` of MarginalTrainer (`options`, seed 2).
template <class Model>
TwoStageFit fit_two_stages(Model& model, const CodeMatrix& data, const Vector<double>& log_target,
                           const MarginalTrainerOptions& options, int stage1_steps, int stage2_steps) {
  const Index d = model.num_variables(), k = model.num_values();
  auto marginal_kl = [&] { return kl_divergence(log_target, normalize_log(model.log_marginal(all_states(d, k)))); };
  TwoStageFit fit{};
  fit.kl_before = kl_divergence(log_target, order_mixture_log_p(model));
  fit.error_before = marginal_consistency_error(model, 0.01);
  fit.kl_marginal_before = marginal_kl();
  ConditionalTrainer<Model> stage1(model, data, options.trainer, 1);
  for (int step = 0; step < stage1_steps; ++step) stage1.step();
  fit.kl_after = kl_divergence(log_target, order_mixture_log_p(model));
  MarginalTrainer<Model> stage2(model, data, options, 2);
  for (int step = 0; step < stage2_steps; ++step) stage2.step();
  fit.error_after = marginal_consistency_error(model, 0.01);
  fit.kl_marginal = marginal_kl();
  return fit;
}

}  // namespace mam::test
