#pragma once
// What every trainer shares: the model it trains, one Adam with a parameter group per
// network and one for log Z, the RNG, the gradient buffers, the step counter, the
// finite-ness checks before an update, and exact save/resume of all of it.

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/parallel.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/data/batcher.hpp"
#include "mam/io/model_checkpoint.hpp"
#include "mam/io/sample_file.hpp"
#include "mam/loss/ao_arm.hpp"
#include "mam/model/gradient.hpp"
#include "mam/model/marginalization_model.hpp"
#include "mam/model/workspace.hpp"
#include "mam/optim/adam.hpp"
#include "mam/optim/parameter_average.hpp"
#include "mam/train/data_parallel.hpp"

namespace mam {

struct TrainerOptions {
  Index batch_size = 256;
  AdamOptions marginal_adam{};     ///< theta's optimizer
  AdamOptions conditional_adam{};  ///< phi's optimizer
  double log_z_learning_rate = 1e-2;  ///< used where log Z is learned (matching objective)
  double clip_norm = 0.0;          ///< global gradient-norm clipping per update; 0 = off
  /// Keep an exponential moving average of the parameters (see ParameterAverage) with this
  /// decay, e.g. 0.999; 0 = off. Evaluate and sample with it: trainer.average()->copy_to(model).
  double average_decay = 0.0;
  /// ConditionalTrainer: the orders its AO-ARM loss trains (default: all uniformly, as the
  /// paper; OrderMix::left_to_right > 0 also trains the left-to-right ARM).
  OrderMix conditional_orders{};
  /// Training across processes (train/data_parallel.hpp); the default is this process alone.
  DataParallelOptions data_parallel{};
};

/// What one training step measured. Quantities a trainer does not compute are NaN.
struct StepReport {
  long step = 0;
  double loss = std::numeric_limits<double>::quiet_NaN();
  double nll = std::numeric_limits<double>::quiet_NaN();             ///< AO-ARM NLL estimate (nats)
  double consistency = std::numeric_limits<double>::quiet_NaN();     ///< mean squared residual (or chain-target error)
  double anchor_error = std::numeric_limits<double>::quiet_NaN();    ///< f(all ?) - log_z
  double mean_log_ratio = std::numeric_limits<double>::quiet_NaN();  ///< mean log p(x) - log f(x)
  double log_z = std::numeric_limits<double>::quiet_NaN();
  double marginal_gradient_norm = std::numeric_limits<double>::quiet_NaN();
  double conditional_gradient_norm = std::numeric_limits<double>::quiet_NaN();
};

/// The Adam parameter groups of every trainer's optimizer(), e.g. for learning-rate
/// schedules: trainer.optimizer().set_learning_rate(ParameterGroup::marginal, rate).
struct ParameterGroup {
  static constexpr std::size_t marginal = 0;
  static constexpr std::size_t conditional = 1;
  static constexpr std::size_t log_z = 2;
};

/// Which of the model's parts an update changes.
struct UpdateParts {
  bool marginal = false;
  bool conditional = false;
  bool log_z = false;
};

namespace detail {

template <class Model>
class TrainingCore {
  static_assert(is_marginalization_model_v<Model>,
                "mam trainers train a mam::MarginalizationModel<MarginalNet, ConditionalNet> (model/"
                "marginalization_model.hpp; any networks of the contract in nn/network.hpp)");

 public:
  using Scalar = typename Model::scalar_type;

  TrainingCore(Model& model, const TrainerOptions& options, std::uint64_t seed)
      : model_(model),
        options_(options),
        rng_(seed),
        gradient_(ModelGradient<Scalar>::zeros_like(model)),
        shards_(options.data_parallel, options.batch_size, seed, "mam::Trainer") {
    const char* function = "mam::Trainer";
    require<value_error>(options.batch_size >= 2, function, "batch_size >= 2", options.batch_size);
    require<value_error>(options.clip_norm >= 0.0, function, "clip_norm >= 0 (0 = off)", options.clip_norm);
    require<value_error>(options.average_decay >= 0.0 && options.average_decay < 1.0, function,
                         "average_decay in [0, 1) (0 = off)", options.average_decay);
    validate_order_mix(options.conditional_orders, model.num_values(), function);
    if (options.average_decay > 0.0) average_.emplace(options.average_decay);
    adam_.add_group(model.marginal().num_parameters(), options.marginal_adam);
    adam_.add_group(model.conditional().num_parameters(), options.conditional_adam);
    AdamOptions log_z = options.marginal_adam;
    log_z.learning_rate = options.log_z_learning_rate;
    log_z.weight_decay = 0.0;
    adam_.add_group(1, log_z);
    // Every process starts from rank 0's parameters, whatever it initialized.
    if (ProcessGroup* processes = shards_.processes()) {
      auto broadcast = [&](Vector<Scalar>& values) {
        processes->broadcast(values.data(), static_cast<std::size_t>(values.size()));
      };
      broadcast(model.marginal().parameters());
      broadcast(model.conditional().parameters());
      double log_z_value = model.log_z();
      processes->broadcast(&log_z_value, 1);
      model.set_log_z(log_z_value);
    }
  }

  Model& model() { return model_; }
  const TrainerOptions& options() const { return options_; }
  Rng& rng() { return rng_; }
  ModelGradient<Scalar>& gradient() { return gradient_; }
  Adam<Scalar>& optimizer() { return adam_; }
  Workspace<Model>& workspace() { return workspace_; }
  long steps() const { return steps_; }
  /// The shards of every batch this process holds (train/data_parallel.hpp).
  const Shards& shards() const { return shards_; }
  /// Local shard `local`'s random stream (with one shard: rng()).
  Rng& shard_rng(Index local) { return shards_.stream(local, rng_); }
  /// The entries of `indices` (a whole batch's) that this process's shards take.
  std::vector<Index> local_part(const std::vector<Index>& indices) const {
    const ColumnRange mine = shards_.local_range(static_cast<Index>(indices.size()));
    return {indices.begin() + mine.begin, indices.begin() + mine.begin + mine.size};
  }
  /// Calls `visit(columns, s)` for each shard s of this process, with its columns of
  /// `samples` (this process's part of `total` columns), which it may change.
  template <class Visit>
  void for_each_shard(CodeMatrix& samples, Index total, Visit&& visit) {
    if (shards_.local_count() == 1) {
      visit(samples, Index{0});
      return;
    }
    for (Index s = 0; s < shards_.local_count(); ++s) {
      const ColumnRange part = shards_.local_part(total, s);
      CodeMatrix columns = samples.middleCols(part.begin, part.size);
      visit(columns, s);
      samples.middleCols(part.begin, part.size) = columns;
    }
  }

  /// This process's part of `total` samples, each shard's columns drawn by
  /// `draw(count, shard_rng)` (returning a D x count CodeMatrix).
  template <class Draw>
  CodeMatrix draw_for_shards(Index total, Draw&& draw) {
    CodeMatrix samples(model_.num_variables(), shards_.local_range(total).size);
    for (Index s = 0; s < shards_.local_count(); ++s) {
      const ColumnRange part = shards_.local_part(total, s);
      samples.middleCols(part.begin, part.size) = draw(part.size, shard_rng(s));
    }
    return samples;
  }

  /// Sums the gradients of `parts` and the `count` `statistics` (each process's share of a
  /// loss, say) over the processes, in one allreduce; alone, nothing changes.
  void sum_over_processes(UpdateParts parts, double* statistics, std::size_t count) {
    ProcessGroup* processes = shards_.processes();
    if (processes == nullptr) return;
    const Index marginal = parts.marginal ? gradient_.marginal.size() : 0;
    const Index conditional = parts.conditional ? gradient_.conditional.size() : 0;
    // [marginal | conditional | log Z | statistics], in the gradients' scalar type
    const Index head = marginal + conditional;
    flat_.resize(head + 1 + static_cast<Index>(count));
    flat_.head(marginal) = gradient_.marginal.head(marginal);
    flat_.segment(marginal, conditional) = gradient_.conditional.head(conditional);
    flat_[head] = static_cast<Scalar>(gradient_.log_z);
    for (std::size_t i = 0; i < count; ++i) flat_[head + 1 + static_cast<Index>(i)] = static_cast<Scalar>(statistics[i]);
    processes->sum(flat_.data(), static_cast<std::size_t>(flat_.size()));
    gradient_.marginal.head(marginal) = flat_.head(marginal);
    gradient_.conditional.head(conditional) = flat_.segment(marginal, conditional);
    gradient_.log_z = static_cast<double>(flat_[head]);
    for (std::size_t i = 0; i < count; ++i) statistics[i] = static_cast<double>(flat_[head + 1 + static_cast<Index>(i)]);
  }

  /// The parameter average, or null when TrainerOptions::average_decay is 0.
  const ParameterAverage<Scalar>* average() const { return average_ ? &*average_ : nullptr; }

  /// Refreshes a trainer's buffer of model samples by `refresh(samples)` on a copy, kept only
  /// when it succeeds. Diverged parameters show first here (non-finite logits), so such an
  /// error is reported with the step, as apply() reports a non-finite loss, and the buffer
  /// stays complete.
  template <class Refresh>
  void refresh_samples(const char* function, CodeMatrix& buffer, Refresh&& refresh) {
    CodeMatrix refreshed = buffer;
    sample_or_report(function, [&] { refresh(refreshed); });
    buffer.swap(refreshed);
  }

  /// Runs `draw()`, a pass of the model's sampler, reporting a numeric_error it throws with
  /// the step it happened at, as refresh_samples() does.
  template <class Draw>
  void sample_or_report(const char* function, Draw&& draw) {
    try {
      draw();
    } catch (const numeric_error& e) {
      fail<numeric_error>(function, "finite values while refreshing the model samples",
                          concat("a failure at step ", steps_ + 1, " (no update made): ", e.what()));
    }
  }

  /// Checks `loss` and the gradients of `parts`, clips them, updates those parts and counts
  /// the step. A NaN or infinity stops training with an error naming the step and the
  /// quantity, before any parameter changes.
  void apply(const char* function, double loss, UpdateParts parts, StepReport& report) {
    const long step = steps_ + 1;
    auto check = [&](double value, const char* what) {
      if (!std::isfinite(value))
        fail<numeric_error>(function, concat("a finite ", what),
                            concat(value, " at step ", step, " (no update made)"));
    };
    check(loss, "loss");
    double squared = 0.0;
    if (parts.marginal) {
      report.marginal_gradient_norm = std::sqrt(squared_norm_in_parallel(gradient_.marginal));
      check(report.marginal_gradient_norm, "marginal-network gradient");
      squared += report.marginal_gradient_norm * report.marginal_gradient_norm;
    }
    if (parts.conditional) {
      report.conditional_gradient_norm = std::sqrt(squared_norm_in_parallel(gradient_.conditional));
      check(report.conditional_gradient_norm, "conditional-network gradient");
      squared += report.conditional_gradient_norm * report.conditional_gradient_norm;
    }
    if (parts.log_z) check(gradient_.log_z, "log_z gradient");
    const double norm = std::sqrt(squared);
    // Clipping scales the gradients inside Adam's pass (the same products, one pass fewer).
    double scale = 1.0;
    if (options_.clip_norm > 0.0 && norm > options_.clip_norm)
      scale = options_.clip_norm / (norm + 1e-6);  // as torch's clip_grad_norm_
    if (parts.marginal) adam_.step(marginal_group, model_.marginal().parameters(), gradient_.marginal, scale);
    if (parts.conditional)
      adam_.step(conditional_group, model_.conditional().parameters(), gradient_.conditional, scale);
    if (parts.log_z) {
      Vector<Scalar> log_z = Vector<Scalar>::Constant(1, static_cast<Scalar>(model_.log_z()));
      adam_.step(log_z_group, log_z, Vector<Scalar>::Constant(1, static_cast<Scalar>(gradient_.log_z)));
      model_.set_log_z(static_cast<double>(log_z[0]));
    }
    if (average_) average_->update(model_);
    steps_ = step;
    report.step = step;
    report.loss = loss;
    report.log_z = model_.log_z();
  }

  /// The trainer's `kind` and the model's architecture.
  io::KeyValues architecture(const std::string& kind) const {
    io::KeyValues description{{"trainer", kind}};
    for (const auto& entry : model_.architecture()) description.push_back(entry);
    return description;
  }

  /// Everything above plus the trainer's `kind`, as a checkpoint the trainer adds to.
  io::Checkpoint<Scalar> checkpoint(const std::string& kind) const {
    io::Checkpoint<Scalar> checkpoint;
    checkpoint.architecture.emplace_back("trainer", kind);
    io::detail::append_model(model_, checkpoint);
    io::detail::append_adam(adam_, checkpoint);
    io::detail::append_rng(rng_, checkpoint.integers.emplace_back());
    checkpoint.integers.push_back({"trainer.steps", {static_cast<std::uint64_t>(steps_)}});
    if (average_ && average_->count() > 0) {
      checkpoint.optimizer_state.push_back({"average.marginal", average_->marginal()});
      checkpoint.optimizer_state.push_back({"average.conditional", average_->conditional()});
      checkpoint.optimizer_state.push_back(
          {"average.log_z", Vector<Scalar>::Constant(1, static_cast<Scalar>(average_->log_z()))});
      checkpoint.integers.push_back({"average.count", {static_cast<std::uint64_t>(average_->count())}});
    }
    return checkpoint;
  }

  /// Validates `checkpoint` against this trainer (kind, architecture, sizes) and returns a
  /// function that restores the shared state; call it after validating the trainer's own parts.
  auto prepare_restore(const char* function, const std::string& path, const io::Checkpoint<Scalar>& checkpoint,
                       const std::string& kind) {
    io::require_architecture(architecture(kind), checkpoint.architecture, function);
    auto restore_model = io::detail::prepare_model_restore(function, path, checkpoint, model_);
    const Rng::State rng_state = io::detail::stored_rng_state(function, path, checkpoint);
    const auto* steps = io::detail::find_named(checkpoint.integers, "trainer.steps");
    if (steps == nullptr || steps->values.size() != 1)
      throw format_error(concat(function, ": '", path, "' holds no step count"));
    Adam<Scalar> adam = adam_;  // restore into a copy: validation may still fail
    io::detail::restore_adam(function, path, checkpoint, adam);
    std::optional<ParameterAverage<Scalar>> average = stored_average(function, path, checkpoint);
    return [this, restore_model, rng_state, adam, average, step = static_cast<long>(steps->values[0])]() mutable {
      restore_model(model_);
      adam_ = std::move(adam);
      rng_.set_state(rng_state);
      average_ = std::move(average);
      steps_ = step;
    };
  }

  /// Writes the shared state plus a trainer's own parts, a sample buffer and a position in
  /// the data (either may be null), atomically to `path`. `extend(part)`, if given, adds the
  /// trainer's entries of this process's shards to `part`. Every process calls it: rank 0
  /// gathers the shards' parts (random streams, buffer columns, the trainer's entries) and
  /// writes; a failure to write is an error in every process.
  void save(const std::string& path, const std::string& kind, const CodeMatrix* buffer, const Batcher* batcher) const {
    save(path, kind, buffer, batcher, [](io::Checkpoint<Scalar>&) {});
  }
  template <class Extend>
  void save(const std::string& path, const std::string& kind, const CodeMatrix* buffer, const Batcher* batcher,
            Extend&& extend) const;

  /// Restores what save() wrote. Everything is validated before anything changes, so a
  /// refused file leaves the trainer as it was. `buffer` holds this process's shards of a
  /// buffer of `buffer_columns` in all. `prepare(checkpoint)`, if given, validates the
  /// trainer's own entries and returns the function that restores them. Every process calls
  /// it: rank 0 reads the file and sends it to the others.
  void load(const char* function, const std::string& path, const std::string& kind, CodeMatrix* buffer,
            Index buffer_columns, Batcher* batcher) {
    load(function, path, kind, buffer, buffer_columns, batcher,
         [](const io::Checkpoint<Scalar>&) { return [] {}; });
  }
  template <class Prepare>
  void load(const char* function, const std::string& path, const std::string& kind, CodeMatrix* buffer,
            Index buffer_columns, Batcher* batcher, Prepare&& prepare);

  static constexpr std::size_t marginal_group = ParameterGroup::marginal;
  static constexpr std::size_t conditional_group = ParameterGroup::conditional;
  static constexpr std::size_t log_z_group = ParameterGroup::log_z;

 private:
  /// The average a checkpoint holds, validated; a fresh one (restarting from the restored
  /// parameters) if it holds none; none if averaging is off.
  std::optional<ParameterAverage<Scalar>> stored_average(const char* function, const std::string& path,
                                                         const io::Checkpoint<Scalar>& checkpoint) const {
    if (!average_) return std::nullopt;
    ParameterAverage<Scalar> average(options_.average_decay);
    const auto* count = io::detail::find_named(checkpoint.integers, "average.count");
    if (count == nullptr) return average;
    const auto* marginal = io::detail::find_named(checkpoint.optimizer_state, "average.marginal");
    const auto* conditional = io::detail::find_named(checkpoint.optimizer_state, "average.conditional");
    const auto* log_z = io::detail::find_named(checkpoint.optimizer_state, "average.log_z");
    if (count->values.size() != 1 || marginal == nullptr || conditional == nullptr || log_z == nullptr ||
        log_z->values.size() != 1)
      throw format_error(concat(function, ": '", path, "' holds an incomplete parameter average"));
    if (marginal->values.size() != model_.marginal().num_parameters() ||
        conditional->values.size() != model_.conditional().num_parameters())
      throw architecture_error(concat(function, ": '", path, "': the parameter average has ", marginal->values.size(),
                                      " + ", conditional->values.size(), " values, expected ",
                                      model_.marginal().num_parameters(), " + ",
                                      model_.conditional().num_parameters()));
    average.set_state(marginal->values, conditional->values, static_cast<double>(log_z->values[0]),
                      static_cast<long>(count->values[0]));
    return average;
  }

  Model& model_;
  TrainerOptions options_;
  Rng rng_;
  ModelGradient<Scalar> gradient_;
  Adam<Scalar> adam_;
  Workspace<Model> workspace_;
  std::optional<ParameterAverage<Scalar>> average_;
  long steps_ = 0;
  Shards shards_;
  Vector<Scalar> flat_;  // the gradients and statistics that sum_over_processes() sends
};

/// `data` checked as a trainer's training set (D x N, N >= 1, complete, codes in 0..K-1) and
/// copied; called before the trainer's Batcher exists, so the error names the trainer.
template <class Model>
CodeMatrix training_data(const Eigen::Ref<const CodeMatrix>& data, const Model& model, const char* function) {
  require<shape_error>(data.cols() > 0, function, "a non-empty data set (at least one column)", "0 samples");
  validate_codes(data, model.num_variables(), model.num_values(), function);
  require<value_error>((data.array() != unknown).all(), function, "complete data samples", "'?' entries");
  return data;
}

// A trainer's sample buffer is stored as io::save_samples stores samples.
using io::detail::codes_to_integers;
using io::detail::integers_to_codes;

/// The sample buffer stored as "buffer" in `checkpoint`, checked to be `rows` x `cols`.
template <class Scalar>
CodeMatrix stored_buffer(const char* function, const std::string& path, const io::Checkpoint<Scalar>& checkpoint,
                         Index rows, Index cols, Index num_values) {
  CodeMatrix buffer =
      integers_to_codes(function, path, io::detail::find_named(checkpoint.integers, "buffer"), rows, num_values);
  if (buffer.cols() != cols)
    throw architecture_error(
        concat(function, ": '", path, "': expected a buffer of ", cols, " samples, got ", buffer.cols()));
  return buffer;
}

/// A batcher's position (epoch permutation and cursor) as checkpoint integers.
template <class Scalar>
void append_batcher(const Batcher& batcher, io::Checkpoint<Scalar>& checkpoint) {
  checkpoint.integers.push_back({"batcher.order", {batcher.order().begin(), batcher.order().end()}});
  checkpoint.integers.push_back({"batcher.cursor", {batcher.cursor()}});
}

/// A copy of `batcher` set to the position stored in `checkpoint` (validated).
template <class Scalar>
Batcher stored_batcher(const char* function, const std::string& path, const io::Checkpoint<Scalar>& checkpoint,
                       Batcher batcher) {
  const auto* order = io::detail::find_named(checkpoint.integers, "batcher.order");
  const auto* cursor = io::detail::find_named(checkpoint.integers, "batcher.cursor");
  if (order == nullptr || cursor == nullptr || cursor->values.size() != 1)
    throw format_error(concat(function, ": '", path, "' holds no data position"));
  try {
    batcher.set_state({order->values.begin(), order->values.end()}, cursor->values[0]);
  } catch (const value_error& e) {
    throw format_error(concat(function, ": '", path, "': ", e.what()));
  }
  return batcher;
}

/// The name of shard `shard`'s entry `name` in a checkpoint of `shards` shards: `name` itself
/// with one shard (the single-process format), else `name.shard<s>`.
inline std::string shard_entry(const std::string& name, Index shard, Index shards) {
  return shards == 1 ? name : concat(name, ".shard", shard);
}

template <class Model>
template <class Extend>
void TrainingCore<Model>::save(const std::string& path, const std::string& kind, const CodeMatrix* buffer,
                               const Batcher* batcher, Extend&& extend) const {
  // This process's part: its shards' streams and buffer columns, and the trainer's entries.
  io::Checkpoint<Scalar> part;
  if (shards_.count() > 1) {
    auto& streams = part.integers.emplace_back();
    streams.name = "rng.shards";
    for (const Rng& stream : shards_.streams()) streams.values.insert(streams.values.end(), stream.state().begin(), stream.state().end());
  }
  if (buffer != nullptr) part.integers.push_back(codes_to_integers("buffer", *buffer));
  extend(part);
  std::vector<io::Checkpoint<Scalar>> parts;
  ProcessGroup* processes = shards_.processes();
  if (processes == nullptr) {
    parts.push_back(std::move(part));
  } else {
    const std::vector<std::string> encoded = processes->gather_at_root(io::detail::encode_checkpoint(part));
    for (const std::string& bytes : encoded)
      parts.push_back(io::detail::decode_checkpoint<Scalar>("mam::Trainer::save", "a process's shards", bytes));
  }
  on_root(processes, [&] {
    auto state = checkpoint(kind);
    if (shards_.count() > 1) state.integers.push_back({"trainer.shards", {static_cast<std::uint64_t>(shards_.count())}});
    // The parts in rank order: streams and buffer columns joined in shard order, as one
    // process holding every shard would store them.
    io::NamedIntegers streams{"rng.shards", {}};
    std::vector<CodeMatrix> columns;
    for (io::Checkpoint<Scalar>& held : parts)
      for (io::NamedIntegers& entry : held.integers) {
        if (entry.name == "rng.shards")
          streams.values.insert(streams.values.end(), entry.values.begin(), entry.values.end());
        else if (entry.name == "buffer")
          columns.push_back(integers_to_codes("mam::Trainer::save", path, &entry, model_.num_variables(),
                                              model_.num_values()));
        else
          state.integers.push_back(std::move(entry));
      }
    if (!streams.values.empty()) state.integers.push_back(std::move(streams));
    if (buffer != nullptr) {
      Index total = 0;
      for (const CodeMatrix& held : columns) total += held.cols();
      CodeMatrix joined(model_.num_variables(), total);
      Index at = 0;
      for (const CodeMatrix& held : columns) {
        joined.middleCols(at, held.cols()) = held;
        at += held.cols();
      }
      state.integers.push_back(codes_to_integers("buffer", joined));
    }
    if (batcher != nullptr) append_batcher(*batcher, state);
    io::save_checkpoint(path, state);
  });
}

template <class Model>
template <class Prepare>
void TrainingCore<Model>::load(const char* function, const std::string& path, const std::string& kind,
                               CodeMatrix* buffer, Index buffer_columns, Batcher* batcher, Prepare&& prepare) {
  const auto state = io::detail::decode_checkpoint<Scalar>(
      "mam::io::load_checkpoint", path, read_on_root(shards_.processes(), "mam::io::load_checkpoint", path));
  // Every process holds the same bytes, so every check below fails alike everywhere.
  const auto* stored_shards = io::detail::find_named(state.integers, "trainer.shards");
  const std::uint64_t shards = stored_shards == nullptr ? 1 : (stored_shards->values.size() == 1 ? stored_shards->values[0] : 0);
  if (shards != static_cast<std::uint64_t>(shards_.count()))
    throw value_error(concat(function, ": '", path, "' was written by a training of ", shards,
                             " shards, this trainer has ", shards_.count(),
                             " (set TrainerOptions::data_parallel.shards to ", shards,
                             "; the number of processes may differ if it divides them)"));
  auto restore = prepare_restore(function, path, state, kind);
  std::vector<Rng::State> streams;
  if (shards_.count() > 1) {
    const auto* stored = io::detail::find_named(state.integers, "rng.shards");
    if (stored == nullptr || stored->values.size() != 4 * static_cast<std::size_t>(shards_.count()))
      throw format_error(concat(function, ": '", path, "' holds no random state for each of its ", shards_.count(),
                                " shards"));
    for (Index s = 0; s < shards_.local_count(); ++s) {
      const std::size_t at = 4 * static_cast<std::size_t>(shards_.first() + s);
      const Rng::State words{stored->values[at], stored->values[at + 1], stored->values[at + 2], stored->values[at + 3]};
      if ((words[0] | words[1] | words[2] | words[3]) == 0)
        throw format_error(concat(function, ": '", path, "' holds an all-zero RNG state of shard ", shards_.first() + s));
      streams.push_back(words);
    }
  }
  CodeMatrix stored_samples;
  if (buffer != nullptr) {
    const ColumnRange mine = shards_.local_range(buffer_columns);
    stored_samples = stored_buffer(function, path, state, model_.num_variables(), buffer_columns, model_.num_values())
                         .middleCols(mine.begin, mine.size);
  }
  std::optional<Batcher> stored_position;
  if (batcher != nullptr) stored_position = stored_batcher(function, path, state, *batcher);
  auto restore_own = prepare(state);
  restore();
  restore_own();
  for (std::size_t s = 0; s < streams.size(); ++s) shards_.streams()[s].set_state(streams[s]);
  if (buffer != nullptr) *buffer = std::move(stored_samples);
  if (batcher != nullptr) *batcher = std::move(*stored_position);
}

}  // namespace detail
}  // namespace mam
