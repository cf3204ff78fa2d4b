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
      // Each shard keeps its part of the pool; all are filled by the first step.
      const detail::Shards& shards = core_.shards();
      for (Index s = 0; s < shards.local_count(); ++s)
        pools_.emplace_back(model.num_variables(), shards.range(options.pool_size, s).size);
      return;
    }
    const auto from_data = static_cast<Index>(options.data_fraction * static_cast<double>(options.trainer.batch_size) + 0.5);
    data_per_batch_ = std::min(from_data, options.trainer.batch_size);
    buffer_columns_ = options.trainer.batch_size - data_per_batch_;
    buffer_ = core_.draw_for_shards(buffer_columns_,
                                    [&](Index count, Rng& rng) { return sample_ancestral(model, count, rng); });
  }

  /// One Adam step of the objective (theta only): self-consistency refreshes the buffer and
  /// fits data + buffer; chain targets fit a batch of the pool's prefixes, and every
  /// pool_refresh_interval steps first replace pool_refresh x interval of its sequences.
  /// With several shards (train/data_parallel.hpp) each takes its part of the data, of the
  /// buffer or the pool, and of the batch.
  StepReport step() {
    if (options_.objective == MarginalObjective::chain_targets) return chain_target_step();
    Model& model = core_.model();
    if (buffer_.cols() > 0)
      core_.refresh_samples("mam::MarginalTrainer::step", buffer_, [&](CodeMatrix& samples) {
        core_.for_each_shard(samples, buffer_columns_, [&](CodeMatrix& columns, Index s) {
          censor_resample(model, columns, options_.gibbs_steps, core_.shard_rng(s), {}, &core_.workspace());
        });
      });
    const std::vector<Index> from_data = batcher_.next(data_per_batch_, core_.rng());
    core_.gradient().set_zero();
    const detail::Shards& shards = core_.shards();
    const Index batch_size = core_.options().batch_size;
    double statistics[3] = {0.0, 0.0, 0.0};  // loss, mean squared residual, anchor error
    for (Index s = 0; s < shards.local_count(); ++s) {
      const detail::ColumnRange data = shards.range(data_per_batch_, s);
      const detail::ColumnRange own = shards.local_part(buffer_columns_, s);
      CodeMatrix batch(model.num_variables(), data.size + own.size);
      batch.leftCols(data.size) = gather_columns(
          data_, std::vector<Index>(from_data.begin() + data.begin, from_data.begin() + data.begin + data.size));
      batch.rightCols(own.size) = buffer_.middleCols(own.begin, own.size);
      SelfConsistencyOptions loss_options;  // theta only: the conditionals are the teacher
      const double share = static_cast<double>(batch.cols()) / static_cast<double>(batch_size);
      loss_options.weight = share;
      const SelfConsistencyValue value =
          self_consistency_loss(model, batch, core_.shard_rng(s), core_.gradient(), loss_options, &core_.workspace());
      statistics[0] += value.loss;
      statistics[1] += share * value.mean_squared_residual;
      statistics[2] += share * value.anchor_error;
    }
    core_.sum_over_processes({true, false, false}, statistics, 3);
    StepReport report;
    report.consistency = statistics[1];
    report.anchor_error = statistics[2];
    core_.apply("mam::MarginalTrainer::step", statistics[0], {true, false, false}, report);
    return report;
  }

  long steps() const { return core_.steps(); }
  /// The processes training together (TrainerOptions::data_parallel), or null when alone.
  ProcessGroup* processes() const { return core_.shards().processes(); }
  /// The self-consistency buffer of on-policy samples (this process's shards' columns;
  /// empty with chain targets).
  const CodeMatrix& buffer() const { return buffer_; }
  /// The chain-target pool of this process's first shard (the pool, with one shard; empty
  /// with self-consistency, and before the first step).
  const ChainTargetPool& pool() const { return pools_.empty() ? no_pool_ : pools_.front(); }
  /// The chain-target pools of this process's shards, in order.
  const std::vector<ChainTargetPool>& pools() const { return pools_; }
  Rng& rng() { return core_.rng(); }
  Adam<Scalar>& optimizer() { return core_.optimizer(); }
  /// The parameter average (TrainerOptions::average_decay), or null when off.
  const ParameterAverage<Scalar>* average() const { return core_.average(); }

  /// Saves model, optimizer, RNG, step count, the on-policy buffer or pool and the data position.
  void save(const std::string& path) const {
    core_.save(path, kind, own_buffer(), &batcher_, [&](io::Checkpoint<Scalar>& checkpoint) {
      for (std::size_t s = 0; s < pools_.size(); ++s) pools_[s].append_to(checkpoint, pool_name(s));
    });
  }

  /// Restores a save() of a trainer of the same model architecture, data size, batch and objective.
  void load(const std::string& path) {
    const char* function = "mam::MarginalTrainer::load";
    core_.load(function, path, kind, own_buffer(), buffer_columns_, &batcher_,
               [&](const io::Checkpoint<Scalar>& checkpoint) {
                 std::vector<ChainTargetPool> stored;
                 for (std::size_t s = 0; s < pools_.size(); ++s)
                   stored.push_back(
                       pools_[s].restored(function, path, checkpoint, pool_name(s), core_.model().num_values()));
                 return [this, stored = std::move(stored)]() mutable { pools_ = std::move(stored); };
               });
  }

  static constexpr const char* kind = "marginal";

 private:
  // The checkpoint name of local shard `s`'s pool.
  std::string pool_name(std::size_t s) const {
    const detail::Shards& shards = core_.shards();
    return detail::shard_entry("pool", shards.first() + static_cast<Index>(s), shards.count());
  }

  // Adds `count` sequences to the pools: data_fraction of them the next data samples, the
  // rest ancestral samples, in walks of at most 512 per shard that bound the sampler's memory.
  void refill_pool(Index count) {
    const detail::Shards& shards = core_.shards();
    const Index chunk = 512 * shards.count();
    core_.sample_or_report("mam::MarginalTrainer::step", [&] {
      for (Index done = 0; done < count; done += chunk) {
        const Index n = std::min(chunk, count - done);
        const auto from_data = static_cast<Index>(options_.data_fraction * static_cast<double>(n) + 0.5);
        const std::vector<Index> indices = batcher_.next(from_data, core_.rng());
        for (Index s = 0; s < shards.local_count(); ++s) {
          const detail::ColumnRange mine = shards.range(from_data, s);
          const CodeMatrix data = gather_columns(
              data_, std::vector<Index>(indices.begin() + mine.begin, indices.begin() + mine.begin + mine.size));
          const Index samples = shards.range(n - from_data, s).size;
          ChainTargetPool& pool = pools_[static_cast<std::size_t>(s)];
          Rng& rng = core_.shard_rng(s);
          if (options_.resampled_share == 0.0) {
            pool.add(core_.model(), data, samples, rng, &core_.workspace());
            continue;
          }
          // The batcher shuffles, so the first columns are as random as any.
          const Index d = core_.model().num_variables();
          const auto resampled =
              static_cast<Index>(options_.resampled_share * static_cast<double>(data.cols()) + 0.5);
          std::vector<Index> kept(static_cast<std::size_t>(data.cols()), d);
          for (Index c = 0; c < resampled; ++c)
            kept[static_cast<std::size_t>(c)] = static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(d + 1)));
          pool.add_partly_resampled(core_.model(), data, kept, samples, rng, &core_.workspace());
        }
      }
    });
  }

  // The sample buffer self-consistency keeps; chain targets keep a pool instead.
  CodeMatrix* own_buffer() { return options_.objective == MarginalObjective::self_consistency ? &buffer_ : nullptr; }
  const CodeMatrix* own_buffer() const {
    return options_.objective == MarginalObjective::self_consistency ? &buffer_ : nullptr;
  }

  StepReport chain_target_step() {
    // The first step fills the pools; a resumed trainer has them from its checkpoint.
    if (pools_.front().size() == 0) refill_pool(options_.pool_size);
    const Index interval = options_.pool_refresh_interval;
    if (core_.steps() > 0 && core_.steps() % interval == 0) refill_pool(options_.pool_refresh * interval);
    core_.gradient().set_zero();
    const detail::Shards& shards = core_.shards();
    const Index batch_size = core_.options().batch_size;
    double statistics[3] = {0.0, 0.0, 0.0};  // loss, mean squared error, anchor error
    for (Index s = 0; s < shards.local_count(); ++s) {
      const Index count = shards.range(batch_size, s).size;
      const double share = static_cast<double>(count) / static_cast<double>(batch_size);
      pools_[static_cast<std::size_t>(s)].draw(count, core_.shard_rng(s), inputs_, targets_, options_.complete_share);
      const ChainTargetValue value =
          chain_target_loss(core_.model(), inputs_, targets_, core_.gradient(), &core_.workspace(), share);
      statistics[0] += value.loss;
      statistics[1] += share * value.mean_squared_error;
      statistics[2] += share * value.anchor_error;
    }
    core_.sum_over_processes({true, false, false}, statistics, 3);
    StepReport report;
    report.consistency = statistics[1];
    report.anchor_error = statistics[2];
    core_.apply("mam::MarginalTrainer::step", statistics[0], {true, false, false}, report);
    return report;
  }

  detail::TrainingCore<Model> core_;
  MarginalTrainerOptions options_;
  CodeMatrix data_;
  Batcher batcher_;
  Index data_per_batch_ = 0;
  Index buffer_columns_ = 0;  // the buffer's columns over all shards
  CodeMatrix buffer_;
  std::vector<ChainTargetPool> pools_;  // chain targets: one per local shard
  ChainTargetPool no_pool_;
  CodeMatrix inputs_;
  Vector<double> targets_;
};

}  // namespace mam
