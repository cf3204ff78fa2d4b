#pragma once
// The budgeted training loop: any trainer (ConditionalTrainer, MarginalTrainer, EnergyTrainer,
// or a class of one's own with their step(), steps(), optimizer(), save() and load()) trained
// to a budget of steps or of training seconds, with a cosine learning rate over the budget,
// periodic and final checkpoints, a stop request (Ctrl-C) and a cap on the steps of one run
// (job time limits). A resumed training continues the same schedule: the budget, the
// learning rate and the checkpoint steps are counted from the start of training, and the
// seconds used so far travel in a progress record beside the checkpoint
// (train/training_progress.hpp).
//
// A trainer of several processes (TrainerOptions::data_parallel) is trained by every one of
// them calling fit() alike: rank 0's clock and stop request decide for all, rank 0 writes the
// checkpoints and progress records, and every process gets the same on_log calls.
//
// The library prints nothing and installs no signal handler: the program polls its own flag
// through FitOptions::stop_requested, logs through FitOptions::on_log and decides, from the
// FitResult, what to print and which exit code to return.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/optim/schedule.hpp"
#include "mam/train/data_parallel.hpp"
#include "mam/train/training_core.hpp"
#include "mam/train/training_progress.hpp"

namespace mam {

/// How long fit() trains, counted from the start of training (earlier runs of a resumed
/// training included): `steps` steps, or `seconds` of training time. Exactly one is positive.
struct TrainingBudget {
  long steps = 0;
  double seconds = 0.0;

  static TrainingBudget of_steps(long steps) { return {steps, 0.0}; }
  static TrainingBudget of_seconds(double seconds) { return {0, seconds}; }

  /// The share of the budget used after `steps` steps and `seconds` training seconds; the
  /// budget is spent at 1.
  double fraction(long steps_done, double seconds_done) const {
    return steps > 0 ? static_cast<double>(steps_done) / static_cast<double>(steps) : seconds_done / seconds;
  }
};

/// A learning rate that falls along half a cosine from `peak` (nothing of the budget used)
/// to `floor` (all of it), set on the Adam parameter `groups` before every step.
struct CosineLearningRate {
  double peak = 1e-3;
  double floor = 0.0;
  std::vector<std::size_t> groups{ParameterGroup::marginal, ParameterGroup::conditional};

  double at(double fraction) const { return cosine_decay(peak, floor, fraction); }
};

/// Why fit() returned.
enum class FitEnd {
  budget_spent,    ///< the budget is used up: training is finished
  stop_requested,  ///< FitOptions::stop_requested said so (e.g. SIGINT)
  stop_after,      ///< FitOptions::stop_after steps of this run are done
};

struct FitResult {
  FitEnd end = FitEnd::budget_spent;
  long steps = 0;                 ///< the trainer's step count at the end, earlier runs included
  long steps_this_run = 0;
  double seconds = 0.0;           ///< training seconds, earlier runs included
  double seconds_this_run = 0.0;

  bool finished() const { return end == FitEnd::budget_spent; }
};

struct FitOptions {
  TrainingBudget budget{};
  /// Set on the optimizer before every step; none: its learning rates stay as they are.
  std::optional<CosineLearningRate> learning_rate{};
  /// Where the trainer and its progress record are saved: every `checkpoint_every` steps
  /// (trainer.steps() a multiple of it, so a resumed run saves at the same steps) and when
  /// fit() returns. Empty: never.
  std::string checkpoint{};
  long checkpoint_every = 1000;
  /// A checkpoint to load before training, and the training seconds its progress record
  /// holds (none without a record: a checkpoint that trainer.save() wrote). Empty: the
  /// trainer starts as it is.
  std::string resume_from{};
  /// > 0: return after this many steps of this run, as a stop request would (for job time
  /// limits); 0: no cap.
  long stop_after = 0;
  /// Polled before every step; true ends training (with a checkpoint). A signal handler's
  /// flag goes here: [] { return flag != 0; }.
  std::function<bool()> stop_requested{};
  /// Called with the fraction of the budget used before every step, after the learning
  /// rate is set: for schedules of one's own (a target's temperature, say).
  std::function<void(double fraction)> before_step{};
  /// Called after every step whose number is a multiple of `log_every`, and after the step
  /// that spends the budget, with the step's report, the fraction of the budget used (at most
  /// 1) and the training seconds so far (earlier runs included).
  std::function<void(const StepReport& report, double fraction, double seconds)> on_log{};
  long log_every = 1;
  /// Seconds of a monotonic clock, read once before the first step and once after every
  /// step; the default is std::chrono::steady_clock (tests pass a clock of their own).
  std::function<double()> clock{};
};

namespace detail {

/// What fit() needs of a trainer: step() returning a StepReport, steps(), optimizer() with
/// num_groups() and set_learning_rate(group, rate), save(path) and load(path).
template <class Trainer, class = void>
struct is_fit_trainer : std::false_type {};
template <class Trainer>
struct is_fit_trainer<
    Trainer, std::void_t<decltype(std::declval<Trainer&>().step()), decltype(std::declval<Trainer&>().steps()),
                         decltype(std::declval<Trainer&>().optimizer().set_learning_rate(std::size_t{}, 0.0)),
                         decltype(std::declval<Trainer&>().optimizer().num_groups()),
                         decltype(std::declval<Trainer&>().save(std::string())),
                         decltype(std::declval<Trainer&>().load(std::string()))>>
    : std::bool_constant<std::is_convertible_v<decltype(std::declval<Trainer&>().step()), StepReport> &&
                         std::is_convertible_v<decltype(std::declval<Trainer&>().steps()), long>> {};

/// The processes a trainer trains with (its processes(), where it has that member), or null.
template <class Trainer, class = void>
struct has_processes : std::false_type {};
template <class Trainer>
struct has_processes<Trainer, std::void_t<decltype(std::declval<const Trainer&>().processes())>>
    : std::is_convertible<decltype(std::declval<const Trainer&>().processes()), ProcessGroup*> {};
template <class Trainer>
ProcessGroup* processes_of(const Trainer& trainer) {
  if constexpr (has_processes<Trainer>::value)
    return trainer.processes();
  else
    return nullptr;
}

inline void validate_fit_options(const FitOptions& options, std::size_t optimizer_groups) {
  const char* function = "mam::fit";
  const TrainingBudget& budget = options.budget;
  require<value_error>(budget.steps >= 0, function, "budget.steps >= 0", budget.steps);
  require<value_error>(std::isfinite(budget.seconds) && budget.seconds >= 0.0, function,
                       "finite budget.seconds >= 0", budget.seconds);
  require<value_error>((budget.steps > 0) != (budget.seconds > 0.0), function,
                       "a budget of steps or of seconds (exactly one positive)",
                       concat(budget.steps, " steps and ", budget.seconds, " seconds"));
  require<value_error>(options.checkpoint_every > 0, function, "checkpoint_every > 0", options.checkpoint_every);
  require<value_error>(options.log_every > 0, function, "log_every > 0", options.log_every);
  require<value_error>(options.stop_after >= 0, function, "stop_after >= 0 (0 = no cap)", options.stop_after);
  if (options.learning_rate) {
    const CosineLearningRate& rate = *options.learning_rate;
    require<value_error>(std::isfinite(rate.peak) && rate.peak >= 0.0, function, "learning_rate.peak >= 0",
                         rate.peak);
    require<value_error>(std::isfinite(rate.floor) && rate.floor >= 0.0, function, "learning_rate.floor >= 0",
                         rate.floor);
    for (std::size_t group : rate.groups)
      require<value_error>(group < optimizer_groups, function,
                           concat("learning_rate.groups below ", optimizer_groups, " (the optimizer's groups)"),
                           group);
  }
}

/// The training seconds a checkpoint's progress record holds (0 without one).
inline double seconds_recorded(const std::string& checkpoint, long trainer_steps) {
  const std::string path = progress_path(checkpoint);
  if (!std::filesystem::exists(path)) return 0.0;
  const TrainingProgress progress = load_training_progress(path);
  // The record is written right after its checkpoint; one a few steps older only means a
  // crash between the two writes (its seconds then fall a little short), a newer one belongs
  // to another checkpoint.
  require<format_error>(progress.steps <= trainer_steps, "mam::fit",
                        concat("a progress record '", path, "' no newer than its checkpoint (step ", trainer_steps,
                               ")"),
                        concat("step ", progress.steps));
  return progress.seconds;
}

}  // namespace detail

/// Trains `trainer` as `options` say; returns why it stopped and what it used. Every option is
/// validated before anything is loaded or trained (value_error naming the option). Errors of
/// a step (a non-finite loss, say) propagate without a checkpoint, so the last one written
/// stays the last good state.
template <class Trainer>
FitResult fit(Trainer& trainer, const FitOptions& options) {
  static_assert(detail::is_fit_trainer<Trainer>::value,
                "mam::fit trains a trainer with StepReport step(), long steps(), optimizer() (num_groups(), "
                "set_learning_rate(group, rate)), save(path) and load(path), as the trainers in mam/train/ have");
  detail::validate_fit_options(options, trainer.optimizer().num_groups());
  ProcessGroup* const processes = detail::processes_of(trainer);
  // Rank 0's reading of a value, in every process (alone: the value).
  auto rank_zeros = [processes](double value) {
    detail::broadcast_values(processes, &value, 1);
    return value;
  };
  double seconds_before = 0.0;
  if (!options.resume_from.empty()) {
    trainer.load(options.resume_from);
    detail::on_root(processes, [&] { seconds_before = detail::seconds_recorded(options.resume_from, trainer.steps()); });
    seconds_before = rank_zeros(seconds_before);
  }
  const std::function<double()> local_clock = options.clock ? options.clock : [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  auto clock = [&] { return rank_zeros(local_clock()); };
  const double start = clock();
  const long first_step = trainer.steps();
  FitResult result;
  auto update = [&](double now) {
    result.steps = trainer.steps();
    result.steps_this_run = result.steps - first_step;
    result.seconds_this_run = now - start;
    result.seconds = seconds_before + result.seconds_this_run;
    return options.budget.fraction(result.steps, result.seconds);
  };
  long saved_at = -1;  // the step of the last checkpoint this run wrote
  auto save = [&] {
    if (options.checkpoint.empty()) return;
    trainer.save(options.checkpoint);
    detail::on_root(processes,
                    [&] { save_training_progress(progress_path(options.checkpoint), {result.steps, result.seconds}); });
    saved_at = result.steps;
  };

  double fraction = update(start);
  for (;;) {
    // The program's stop request first: the user who pressed Ctrl-C wants out now.
    if (rank_zeros(options.stop_requested && options.stop_requested() ? 1.0 : 0.0) != 0.0) {
      result.end = FitEnd::stop_requested;
      break;
    }
    if (fraction >= 1.0) {
      result.end = FitEnd::budget_spent;
      break;
    }
    if (options.stop_after > 0 && result.steps_this_run >= options.stop_after) {
      result.end = FitEnd::stop_after;
      break;
    }
    if (options.learning_rate)
      for (std::size_t group : options.learning_rate->groups)
        trainer.optimizer().set_learning_rate(group, options.learning_rate->at(fraction));
    if (options.before_step) options.before_step(fraction);
    const StepReport report = trainer.step();
    fraction = update(clock());
    if (options.on_log && (report.step % options.log_every == 0 || fraction >= 1.0))
      options.on_log(report, std::min(fraction, 1.0), result.seconds);
    if (report.step % options.checkpoint_every == 0) save();
  }
  if (saved_at != result.steps) save();
  return result;
}

}  // namespace mam
