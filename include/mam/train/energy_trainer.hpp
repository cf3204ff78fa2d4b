#pragma once
// Energy-based training: no data, a target log f(x). Each step refreshes a persistent buffer
// of model samples by censor-and-resample, then takes one Adam step on the energy loss
// (KL by REINFORCE through the marginal net, or log-likelihood matching with learned log Z)
// plus alpha times self-consistency, updating both networks. Options beyond the paper:
// correct the buffer's moves by Metropolis-Hastings so that it follows f / Z, and add the
// conditional net's maximum likelihood on it (measured in docs/ising.md: the sampler's
// reverse KL on the 10 x 10 Ising demo falls from 1.8 to 0.5 nats).

#include <cmath>
#include <functional>
#include <string>

#include "mam/estimate/metropolis_resample.hpp"
#include "mam/loss/ao_arm.hpp"
#include "mam/loss/energy.hpp"
#include "mam/sample/ancestral.hpp"
#include "mam/sample/censor_resample.hpp"
#include "mam/train/training_core.hpp"

namespace mam {

struct EnergyTrainerOptions {
  TrainerOptions trainer{};
  EnergyObjective objective = EnergyObjective::kl;
  double alpha = 1.0;         ///< weight of self-consistency
  Index gibbs_steps = 4;      ///< positions resampled per step (censor-and-resample)
  long refresh_every = 0;     ///< replace the buffer by fresh ancestral samples every n steps; 0 = never
  bool reinforce_conditional = false;  ///< KL: REINFORCE the conditionals too (energy_loss)
  /// Share of self-consistency orders that are left to right (SelfConsistencyOptions): trains
  /// the fixed-order sampler that estimate/ can draw in.
  double left_to_right = 0.0;
  /// Correct every censor-and-resample move of the buffer by Metropolis-Hastings
  /// (estimate/metropolis_resample.hpp): the buffer then follows the target p = f / Z, not the
  /// model. Not with refresh_every, whose fresh samples would follow the model again.
  bool metropolis_buffer = false;
  /// Weight of an AO-ARM NLL term (loss/ao_arm.hpp) on the buffer for the conditional net:
  /// maximum likelihood on the buffer's samples, which with metropolis_buffer come from p.
  double buffer_nll_weight = 0.0;
};

/// `LogTarget`: callable mapping a D x batch CodeMatrix of complete samples to one log f
/// value per column (an Eigen vector). It is called once per step on the buffer.
template <class Model, class LogTarget = std::function<Vector<double>(const CodeMatrix&)>>
class EnergyTrainer {
 public:
  using Scalar = typename Model::scalar_type;

  EnergyTrainer(Model& model, LogTarget log_f, const EnergyTrainerOptions& options, std::uint64_t seed)
      : core_(model, options.trainer, seed), options_(options), log_f_(std::move(log_f)) {
    const char* function = "mam::EnergyTrainer";
    detail::require<value_error>(options.alpha >= 0.0, function, "alpha >= 0", options.alpha);
    detail::require<value_error>(options.gibbs_steps >= 1 && options.gibbs_steps <= model.num_variables(), function,
                                 detail::concat("gibbs_steps in 1..", model.num_variables()), options.gibbs_steps);
    detail::require<value_error>(options.left_to_right >= 0.0 && options.left_to_right <= 1.0, function,
                                 "left_to_right in [0, 1]", options.left_to_right);
    detail::require<value_error>(options.refresh_every >= 0, function, "refresh_every >= 0", options.refresh_every);
    detail::require<value_error>(!options.metropolis_buffer || options.refresh_every == 0, function,
                                 "refresh_every = 0 with metropolis_buffer", options.refresh_every);
    detail::require<value_error>(options.buffer_nll_weight >= 0.0 && std::isfinite(options.buffer_nll_weight), function,
                                 "buffer_nll_weight >= 0", options.buffer_nll_weight);
    buffer_ = sample_ancestral(model, options.trainer.batch_size, core_.rng());
  }

  StepReport step() {
    Model& model = core_.model();
    const long next = core_.steps() + 1;
    core_.refresh_samples("mam::EnergyTrainer::step", buffer_, [&](CodeMatrix& samples) {
      if (options_.metropolis_buffer) {
        // log f of the buffer is a function of the buffer: recomputed after a resume.
        if (buffer_log_f_.size() != samples.cols()) buffer_log_f_ = evaluate_log_target(log_f_, samples);
        buffer_acceptance_ = metropolis_censor_resample(model, samples, buffer_log_f_, options_.gibbs_steps,
                                                        log_f_, core_.rng(), &core_.workspace());
      } else if (options_.refresh_every > 0 && next % options_.refresh_every == 0)
        samples = sample_ancestral(model, samples.cols(), core_.rng());
      else
        censor_resample(model, samples, options_.gibbs_steps, core_.rng(), {}, &core_.workspace());
    });
    core_.gradient().set_zero();
    const EnergyValue value =
        energy_loss(model, buffer_, log_f_, core_.rng(), core_.gradient(), options_.objective, options_.alpha,
                    &core_.workspace(), options_.reinforce_conditional, options_.left_to_right);
    double loss = value.loss;
    if (options_.buffer_nll_weight > 0.0)
      loss += ao_arm_loss(model, buffer_, core_.rng(), core_.gradient().conditional, options_.buffer_nll_weight,
                          &core_.workspace());
    StepReport report;
    report.consistency = value.consistency.mean_squared_residual;
    report.anchor_error = value.consistency.anchor_error;
    report.mean_log_ratio = value.mean_log_ratio;
    const bool learn_log_z = options_.objective == EnergyObjective::matching;
    core_.apply("mam::EnergyTrainer::step", loss, {true, true, learn_log_z}, report);
    return report;
  }

  long steps() const { return core_.steps(); }
  const CodeMatrix& buffer() const { return buffer_; }
  /// With metropolis_buffer: the share of the buffer's moves accepted at the last step.
  double buffer_acceptance() const { return buffer_acceptance_; }
  Rng& rng() { return core_.rng(); }
  Adam<Scalar>& optimizer() { return core_.optimizer(); }
  /// The parameter average (TrainerOptions::average_decay), or null when off.
  const ParameterAverage<Scalar>* average() const { return core_.average(); }

  /// Saves model, optimizer, RNG, step count and the sample buffer.
  void save(const std::string& path) const { core_.save(path, kind, &buffer_, nullptr); }

  /// Restores a save() of a trainer of the same model architecture and batch size.
  void load(const std::string& path) {
    core_.load("mam::EnergyTrainer::load", path, kind, &buffer_, nullptr);
    buffer_log_f_.resize(0);
  }

  static constexpr const char* kind = "energy";

 private:
  detail::TrainingCore<Model> core_;
  EnergyTrainerOptions options_;
  LogTarget log_f_;
  CodeMatrix buffer_;
  Vector<double> buffer_log_f_;  // log f(buffer) with metropolis_buffer
  double buffer_acceptance_ = 0.0;
};

}  // namespace mam
