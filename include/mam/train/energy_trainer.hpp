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
#include <optional>
#include <string>
#include <utility>

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
    buffer_ = core_.draw_for_shards(options.trainer.batch_size,
                                    [&](Index count, Rng& rng) { return sample_ancestral(model, count, rng); });
  }

  /// One step: refresh the buffer, then one Adam step of the loss on it. With several shards
  /// (train/data_parallel.hpp) each moves its own columns of the buffer with its own stream,
  /// and the REINFORCE baseline is the whole batch's, as one process with the whole buffer
  /// would compute it.
  StepReport step() {
    Model& model = core_.model();
    const long next = core_.steps() + 1;
    const Index batch_size = core_.options().batch_size;
    double acceptance = 0.0;  // this process's share of the buffer's acceptance
    core_.refresh_samples("mam::EnergyTrainer::step", buffer_, [&](CodeMatrix& samples) {
      // log f of the buffer is a function of the buffer: recomputed after a resume.
      if (options_.metropolis_buffer && buffer_log_f_.size() != samples.cols())
        buffer_log_f_ = evaluate_log_target(log_f_, samples);
      core_.for_each_shard(samples, batch_size, [&](CodeMatrix& columns, Index s) {
        const detail::ColumnRange part = core_.shards().local_part(batch_size, s);
        Rng& rng = core_.shard_rng(s);
        if (options_.metropolis_buffer) {
          Vector<double> log_f = buffer_log_f_.segment(part.begin, part.size);
          const double accepted = metropolis_censor_resample(model, columns, log_f, options_.gibbs_steps, log_f_,
                                                             rng, &core_.workspace());
          buffer_log_f_.segment(part.begin, part.size) = log_f;
          acceptance += static_cast<double>(part.size) / static_cast<double>(batch_size) * accepted;
        } else if (options_.refresh_every > 0 && next % options_.refresh_every == 0) {
          columns = sample_ancestral(model, columns.cols(), rng);
        } else {
          censor_resample(model, columns, options_.gibbs_steps, rng, {}, &core_.workspace());
        }
      });
    });
    core_.gradient().set_zero();
    const detail::Shards& shards = core_.shards();
    // log f of the buffer: kept by the Metropolis buffer, else evaluated here.
    const Vector<double> target =
        options_.metropolis_buffer ? buffer_log_f_ : evaluate_log_target(log_f_, buffer_);
    const std::optional<std::pair<double, double>> baseline = whole_batch_baseline_before_passes(target);
    auto shard_baseline = [&](const Vector<double>& delta) {
      return baseline ? *baseline : detail::mean_and_stddev(gathered(delta));
    };
    // loss, mean squared residual, anchor error, mean log ratio, buffer acceptance
    double statistics[5] = {0.0, 0.0, 0.0, 0.0, acceptance};
    for (Index s = 0; s < shards.local_count(); ++s) {
      const detail::ColumnRange part = shards.local_part(batch_size, s);
      const double share = static_cast<double>(part.size) / static_cast<double>(batch_size);
      const auto columns = buffer_.middleCols(part.begin, part.size);
      const detail::EnergyShard<decltype(shard_baseline)> shard{static_cast<double>(batch_size), share,
                                                                 shard_baseline};
      const EnergyValue value = detail::energy_loss_of_shard(
          model, columns, Vector<double>(target.segment(part.begin, part.size)), core_.shard_rng(s),
          core_.gradient(), options_.objective, options_.alpha, &core_.workspace(), options_.reinforce_conditional,
          options_.left_to_right, shard);
      statistics[0] += value.loss;
      if (options_.buffer_nll_weight > 0.0)
        statistics[0] += share * ao_arm_loss(model, columns, core_.shard_rng(s), core_.gradient().conditional,
                                             share * options_.buffer_nll_weight, &core_.workspace());
      statistics[1] += share * value.consistency.mean_squared_residual;
      statistics[2] += share * value.consistency.anchor_error;
      statistics[3] += share * value.mean_log_ratio;
    }
    const bool learn_log_z = options_.objective == EnergyObjective::matching;
    core_.sum_over_processes({true, true, learn_log_z}, statistics, 5);
    StepReport report;
    report.consistency = statistics[1];
    report.anchor_error = statistics[2];
    report.mean_log_ratio = statistics[3];
    if (options_.metropolis_buffer) buffer_acceptance_ = statistics[4];
    core_.apply("mam::EnergyTrainer::step", statistics[0], {true, true, learn_log_z}, report);
    return report;
  }

  long steps() const { return core_.steps(); }
  /// The processes training together (TrainerOptions::data_parallel), or null when alone.
  ProcessGroup* processes() const { return core_.shards().processes(); }
  /// The buffer of samples (this process's shards' columns).
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
    core_.load("mam::EnergyTrainer::load", path, kind, &buffer_, core_.options().batch_size, nullptr);
    buffer_log_f_.resize(0);
  }

  static constexpr const char* kind = "energy";

 private:
  // `values` of every process, rank by rank (alone: `values`).
  Vector<double> gathered(const Vector<double>& values) {
    ProcessGroup* processes = core_.shards().processes();
    if (processes == nullptr) return values;
    Vector<double> all(values.size() * processes->size());
    processes->gather_all(values.data(), static_cast<std::size_t>(values.size()), all.data());
    return all;
  }

  // With several shards in this process, their passes come one after the other, so the whole
  // batch's baseline is computed before them, from a forward pass over the buffer (about a
  // tenth of a step more); with one, each process's pass gathers it (none here).
  std::optional<std::pair<double, double>> whole_batch_baseline_before_passes(const Vector<double>& target) {
    if (core_.shards().local_count() == 1 || options_.objective != EnergyObjective::kl) return std::nullopt;
    const Vector<double> f = core_.model().marginal()(buffer_).row(0).transpose().template cast<double>();
    return detail::mean_and_stddev(gathered(f - target));
  }

  detail::TrainingCore<Model> core_;
  EnergyTrainerOptions options_;
  LogTarget log_f_;
  CodeMatrix buffer_;
  Vector<double> buffer_log_f_;  // log f(buffer) with metropolis_buffer
  double buffer_acceptance_ = 0.0;
};

}  // namespace mam
