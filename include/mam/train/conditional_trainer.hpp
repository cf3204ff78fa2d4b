#pragma once
// Stage 1 of maximum-likelihood training: fit the conditional network (the AO-ARM) to data.

#include <string>

#include "mam/data/batcher.hpp"
#include "mam/loss/ao_arm.hpp"
#include "mam/train/training_core.hpp"

namespace mam {

template <class Model>
class ConditionalTrainer {
 public:
  using Scalar = typename Model::scalar_type;

  /// `data`: complete samples, one per column; copied. `seed` fixes every random choice.
  ConditionalTrainer(Model& model, const Eigen::Ref<const CodeMatrix>& data, const TrainerOptions& options,
                     std::uint64_t seed)
      : core_(model, options, seed),
        data_(detail::training_data(data, model, "mam::ConditionalTrainer")),
        batcher_(data_.cols()) {}

  /// One Adam step of the AO-ARM loss on the next minibatch (this process's shards of it;
  /// see train/data_parallel.hpp).
  StepReport step() {
    const Index batch_size = core_.options().batch_size;
    const CodeMatrix batch = gather_columns(data_, core_.local_part(batcher_.next(batch_size, core_.rng())));
    core_.gradient().set_zero();
    const detail::Shards& shards = core_.shards();
    double nll = 0.0;
    for (Index s = 0; s < shards.local_count(); ++s) {
      const detail::ColumnRange part = shards.local_part(batch_size, s);
      const double share = static_cast<double>(part.size) / static_cast<double>(batch_size);
      nll += share * ao_arm_loss(core_.model(), batch.middleCols(part.begin, part.size), core_.shard_rng(s),
                                 core_.gradient().conditional, share, &core_.workspace(),
                                 core_.options().conditional_orders);
    }
    core_.sum_over_processes({false, true, false}, &nll, 1);
    StepReport report;
    report.nll = nll;
    core_.apply("mam::ConditionalTrainer::step", report.nll, {false, true, false}, report);
    return report;
  }

  long steps() const { return core_.steps(); }
  /// The processes training together (TrainerOptions::data_parallel), or null when alone.
  ProcessGroup* processes() const { return core_.shards().processes(); }
  Rng& rng() { return core_.rng(); }
  Adam<Scalar>& optimizer() { return core_.optimizer(); }
  /// The parameter average (TrainerOptions::average_decay), or null when off.
  const ParameterAverage<Scalar>* average() const { return core_.average(); }

  /// Saves model, optimizer, RNG, step count and the position in the data's epoch.
  void save(const std::string& path) const { core_.save(path, kind, nullptr, &batcher_); }

  /// Restores a save() of a trainer of the same model architecture and data size; training
  /// then continues exactly as it would have.
  void load(const std::string& path) { core_.load("mam::ConditionalTrainer::load", path, kind, nullptr, 0, &batcher_); }

  static constexpr const char* kind = "conditional";

 private:
  detail::TrainingCore<Model> core_;
  CodeMatrix data_;
  Batcher batcher_;
};

}  // namespace mam
