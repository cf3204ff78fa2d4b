#pragma once
// Stage 2 of maximum-likelihood training: fit the marginal network to the (fixed)
// conditionals, on data and on-policy samples. Two objectives:
// - self-consistency (the paper's): batches half data, half a persistent buffer refreshed
//   by censor-and-resample;
// - chain targets: regression on chain-rule sums from a ChainTargetPool of data sequences
//   and ancestral samples, a few replaced per step. It reaches the same fixed point with
//   the error of a whole chain in every residual, and converges several times faster.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mam/data/batcher.hpp"
#include "mam/loss/chain_target.hpp"
#include "mam/loss/self_consistency.hpp"
#include "mam/sample/ancestral.hpp"
#include "mam/sample/censor_resample.hpp"
#include "mam/train/chain_target_pool.hpp"
#include "mam/train/training_core.hpp"

namespace mam {

/// What stage 2 minimizes (see the top of this file).
enum class MarginalObjective { self_consistency, chain_targets };

struct MarginalTrainerOptions {
  TrainerOptions trainer{};
  double data_fraction = 0.5;  ///< share from data (of each batch, or of the pool), the rest on-policy
  Index gibbs_steps = 4;       ///< self-consistency: positions resampled per buffer refresh
  MarginalObjective objective = MarginalObjective::self_consistency;
  Index pool_size = 4096;      ///< chain targets: sequences in the pool
  Index pool_refresh = 4;      ///< chain targets: sequences replaced per step, on average
  /// Chain targets: steps between pool refreshes; each replaces pool_refresh x interval
  /// sequences in one walk. A walk of one sequence costs about 6x more per sequence than
  /// a walk of 64 (matrix-vector against matrix-matrix products), so 1 is several times slower.
  Index pool_refresh_interval = 32;
  /// Chain targets: share of each batch drawn as complete sequences (log p(x) of whole data
  /// points and samples) rather than prefixes of uniform length (see ChainTargetPool::draw).
  double complete_share = 0.0;
  /// Chain targets: share of the data sequences that keep only a uniformly random number
  /// (0..D) of their values, the first along their order, and take the rest from the
  /// conditionals (ChainTargetPool::add_partly_resampled): data points inpainted by the
  /// model, new on every refresh, in place of data points as they are.
  double resampled_share = 0.0;
};

template <class Model>
class MarginalTrainer {
 public:
  using Scalar = typename Model::scalar_type;

  /// `data`: complete samples, one per column; copied. The on-policy buffer starts as
  /// ancestral samples of the model, drawn with `seed`.
  MarginalTrainer(Model& model, const Eigen::Ref<const CodeMatrix>& data, const MarginalTrainerOptions& options,
                  std::uint64_t seed)
      : core_(model, options.trainer, seed),
        options_(options),
        data_(detail::training_data(data, model, "mam::MarginalTrainer")),
        batcher_(data_.cols()) {
    const char* function = "mam::MarginalTrainer";
    detail::require<value_error>(options.data_fraction >= 0.0 && options.data_fraction <= 1.0, function,
                                 "data_fraction in [0, 1]", options.data_fraction);
    detail::require<value_error>(options.gibbs_steps >= 0 && options.gibbs_steps <= model.num_variables(), function,
                                 detail::concat("gibbs_steps in 0..", model.num_variables()), options.gibbs_steps);
    if (options.objective == MarginalObjective::chain_targets) {
      detail::require<value_error>(options.pool_size >= 1, function, "pool_size >= 1", options.pool_size);
      detail::require<value_error>(options.pool_refresh_interval >= 1, function, "pool_refresh_interval >= 1",
                                   options.pool_refresh_interval);
      detail::require<value_error>(options.complete_share >= 0.0 && options.complete_share <= 1.0, function,
                                   "complete_share in [0, 1]", options.complete_share);
      detail::require<value_error>(options.resampled_share >= 0.0 && options.resampled_share <= 1.0, function,
                                   "resampled_share in [0, 1]", options.resampled_share);
      detail::require<value_error>(
          options.pool_refresh >= 0 && options.pool_refresh <= options.pool_size / options.pool_refresh_interval,
          function,
          detail::concat("pool_refresh x pool_refresh_interval <= pool_size (", options.pool_size, ")"),
          detail::concat(options.pool_refresh, " x ", options.pool_refresh_interval));
      pool_ = ChainTargetPool(model.num_variables(), options.pool_size);  // filled by the first step
      return;
    }
    const auto from_data = static_cast<Index>(options.data_fraction * static_cast<double>(options.trainer.batch_size) + 0.5);
    data_per_batch_ = std::min(from_data, options.trainer.batch_size);
    buffer_ = sample_ancestral(model, options.trainer.batch_size - data_per_batch_, core_.rng());
  }

  /// One Adam step of the objective (theta only): self-consistency refreshes the buffer and
  /// fits data + buffer; chain targets fit a batch of the pool's prefixes, and every
  /// pool_refresh_interval steps first replace pool_refresh x interval of its sequences.
  StepReport step() {
    if (options_.objective == MarginalObjective::chain_targets) return chain_target_step();
    Model& model = core_.model();
    if (buffer_.cols() > 0)
      core_.refresh_samples("mam::MarginalTrainer::step", buffer_, [&](CodeMatrix& samples) {
        censor_resample(model, samples, options_.gibbs_steps, core_.rng(), {}, &core_.workspace());
      });
    CodeMatrix batch(model.num_variables(), core_.options().batch_size);
    batch.leftCols(data_per_batch_) = gather_columns(data_, batcher_.next(data_per_batch_, core_.rng()));
    batch.rightCols(buffer_.cols()) = buffer_;
    core_.gradient().set_zero();
    SelfConsistencyOptions loss_options;  // theta only: the conditionals are the teacher
    const SelfConsistencyValue value =
        self_consistency_loss(model, batch, core_.rng(), core_.gradient(), loss_options, &core_.workspace());
    StepReport report;
    report.consistency = value.mean_squared_residual;
    report.anchor_error = value.anchor_error;
    core_.apply("mam::MarginalTrainer::step", value.loss, {true, false, false}, report);
    return report;
  }

  long steps() const { return core_.steps(); }
  /// The self-consistency buffer of on-policy samples (empty with chain targets).
  const CodeMatrix& buffer() const { return buffer_; }
  /// The chain-target pool (empty with self-consistency, and before the first step).
  const ChainTargetPool& pool() const { return pool_; }
  Rng& rng() { return core_.rng(); }
  Adam<Scalar>& optimizer() { return core_.optimizer(); }
  /// The parameter average (TrainerOptions::average_decay), or null when off.
  const ParameterAverage<Scalar>* average() const { return core_.average(); }

  /// Saves model, optimizer, RNG, step count, the on-policy buffer or pool and the data position.
  void save(const std::string& path) const {
    core_.save(path, kind, own_buffer(), &batcher_, [&](io::Checkpoint<Scalar>& checkpoint) {
      if (options_.objective == MarginalObjective::chain_targets) pool_.append_to(checkpoint, "pool");
    });
  }

  /// Restores a save() of a trainer of the same model architecture, data size, batch and objective.
  void load(const std::string& path) {
    const char* function = "mam::MarginalTrainer::load";
    core_.load(function, path, kind, own_buffer(), &batcher_, [&](const io::Checkpoint<Scalar>& checkpoint) {
      std::optional<ChainTargetPool> stored;
      if (options_.objective == MarginalObjective::chain_targets)
        stored = pool_.restored(function, path, checkpoint, "pool", core_.model().num_values());
      return [this, stored = std::move(stored)]() mutable {
        if (stored) pool_ = std::move(*stored);
      };
    });
  }

  static constexpr const char* kind = "marginal";

 private:
  // Adds `count` sequences to the pool: data_fraction of them the next data samples, the
  // rest ancestral samples, in walks of at most 512 that bound the sampler's memory.
  void refill_pool(Index count) {
    const Index chunk = 512;
    core_.sample_or_report("mam::MarginalTrainer::step", [&] {
      for (Index done = 0; done < count; done += chunk) {
        const Index n = std::min(chunk, count - done);
        const auto from_data = static_cast<Index>(options_.data_fraction * static_cast<double>(n) + 0.5);
        const CodeMatrix data = gather_columns(data_, batcher_.next(from_data, core_.rng()));
        if (options_.resampled_share == 0.0) {
          pool_.add(core_.model(), data, n - from_data, core_.rng(), &core_.workspace());
          continue;
        }
        // The batcher shuffles, so the first columns are as random as any.
        const Index d = core_.model().num_variables();
        const auto resampled = static_cast<Index>(options_.resampled_share * static_cast<double>(from_data) + 0.5);
        std::vector<Index> kept(static_cast<std::size_t>(from_data), d);
        for (Index c = 0; c < resampled; ++c)
          kept[static_cast<std::size_t>(c)] = static_cast<Index>(core_.rng().uniform_int(static_cast<std::uint64_t>(d + 1)));
        pool_.add_partly_resampled(core_.model(), data, kept, n - from_data, core_.rng(), &core_.workspace());
      }
    });
  }

  // The sample buffer self-consistency keeps; chain targets keep a pool instead.
  CodeMatrix* own_buffer() { return options_.objective == MarginalObjective::self_consistency ? &buffer_ : nullptr; }
  const CodeMatrix* own_buffer() const {
    return options_.objective == MarginalObjective::self_consistency ? &buffer_ : nullptr;
  }

  StepReport chain_target_step() {
    // The first step fills the pool; a resumed trainer has it from its checkpoint.
    if (pool_.size() == 0) refill_pool(options_.pool_size);
    const Index interval = options_.pool_refresh_interval;
    if (core_.steps() > 0 && core_.steps() % interval == 0) refill_pool(options_.pool_refresh * interval);
    pool_.draw(core_.options().batch_size, core_.rng(), inputs_, targets_, options_.complete_share);
    core_.gradient().set_zero();
    const ChainTargetValue value =
        chain_target_loss(core_.model(), inputs_, targets_, core_.gradient(), &core_.workspace());
    StepReport report;
    report.consistency = value.mean_squared_error;
    report.anchor_error = value.anchor_error;
    core_.apply("mam::MarginalTrainer::step", value.loss, {true, false, false}, report);
    return report;
  }

  detail::TrainingCore<Model> core_;
  MarginalTrainerOptions options_;
  CodeMatrix data_;
  Batcher batcher_;
  Index data_per_batch_ = 0;
  CodeMatrix buffer_;
  ChainTargetPool pool_;
  CodeMatrix inputs_;
  Vector<double> targets_;
};

}  // namespace mam
