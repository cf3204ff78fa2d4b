#pragma once
// Stage 2 of maximum-likelihood training: fit the marginal network to the (fixed)
// conditionals by self-consistency, on batches that are half data, half on-policy samples
// from a persistent buffer refreshed by censor-and-resample.

#include <string>

#include "mam/data/batcher.hpp"
#include "mam/loss/self_consistency.hpp"
#include "mam/sample/ancestral.hpp"
#include "mam/sample/censor_resample.hpp"
#include "mam/train/training_core.hpp"

namespace mam {

struct MarginalTrainerOptions {
  TrainerOptions trainer{};
  double data_fraction = 0.5;  ///< share of each batch taken from data, the rest on-policy
  Index gibbs_steps = 4;       ///< positions resampled per buffer refresh (censor-and-resample)
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
    const auto from_data = static_cast<Index>(options.data_fraction * static_cast<double>(options.trainer.batch_size) + 0.5);
    data_per_batch_ = std::min(from_data, options.trainer.batch_size);
    buffer_ = sample_ancestral(model, options.trainer.batch_size - data_per_batch_, core_.rng());
  }

  /// Refreshes the buffer, then one Adam step of self-consistency on data + buffer (theta only).
  StepReport step() {
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
  const CodeMatrix& buffer() const { return buffer_; }
  Rng& rng() { return core_.rng(); }
  Adam<Scalar>& optimizer() { return core_.optimizer(); }
  /// The parameter average (TrainerOptions::average_decay), or null when off.
  const ParameterAverage<Scalar>* average() const { return core_.average(); }

  /// Saves model, optimizer, RNG, step count, the on-policy buffer and the data position.
  void save(const std::string& path) const { core_.save(path, kind, &buffer_, &batcher_); }

  /// Restores a save() of a trainer of the same model architecture, data size and batch.
  void load(const std::string& path) { core_.load("mam::MarginalTrainer::load", path, kind, &buffer_, &batcher_); }

  static constexpr const char* kind = "marginal";

 private:
  detail::TrainingCore<Model> core_;
  MarginalTrainerOptions options_;
  CodeMatrix data_;
  Batcher batcher_;
  Index data_per_batch_ = 0;
  CodeMatrix buffer_;
};

}  // namespace mam
