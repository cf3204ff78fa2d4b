#pragma once
// What every training example does around mam::fit: the command-line options they share;
// check that the output directory can be written (fail now, not after hours of training), set
// the thread count, and turn SIGINT and SIGTERM into a flag fit() polls, so it can write its
// checkpoint and the program exit 130; fit's options; the message and exit code of an
// unfinished training; and, after a stage, hand its parameter average on to the model.
// Under mpirun (support/processes.hpp) rank 0 prepares the directory, decides whether a
// checkpoint is there to resume from and prints; every process returns the same exit code.

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include <mam/core/threads.hpp>
#include <mam/nn/matmul_precision.hpp>
#include <mam/train/fit.hpp>

#include "support/files.hpp"
#include "support/matmul_option.hpp"
#include "support/processes.hpp"

namespace mam::examples {

/// The options of every training example (each example's Options adds its own).
struct RunOptions {
  std::string out;
  int threads = 2;
  std::uint64_t seed = 0;
  mam::MatmulPrecision matmul = mam::MatmulPrecision::float32;
  long log_every = 50, checkpoint_every = 1000;
  long stop_after = 0;  // > 0: leave after this many training steps of this run, as if interrupted
  mam::Index shards = 0;  // of every batch, across the processes (0: one per process)

  void add_to(CLI::App& app) {
    app.add_option("--out", out, "output directory");
    app.add_option("--threads", threads, "threads")->check(CLI::PositiveNumber);
    app.add_option("--seed", seed, "random seed");
    add_matmul_option(app, matmul);
    app.add_option("--log-every", log_every, "steps between CSV rows")->check(CLI::PositiveNumber);
    app.add_option("--checkpoint-every", checkpoint_every, "steps between checkpoints")->check(CLI::PositiveNumber);
    app.add_option("--stop-after", stop_after,
                   "leave after this many training steps of this run with a checkpoint, as if interrupted (for job "
                   "time limits)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--shards", shards,
                   "shards of every batch, held by the processes of mpirun -np N in equal numbers: a multiple of N "
                   "that divides the batch size (0 = one per process). A run depends on the shards, not on the "
                   "processes: --resume needs the shards of the checkpoint, on any N that divides them")
        ->check(CLI::NonNegativeNumber);
  }

  /// TrainerOptions::data_parallel of every trainer of the run: its processes and --shards.
  mam::DataParallelOptions data_parallel(const Processes& processes) const {
    mam::DataParallelOptions options;
    options.processes = processes.group();
    options.shards = shards;
    return options;
  }
};

namespace detail {
// A signal handler can only set a flag of this type; one per process is the nature of signals.
inline volatile std::sig_atomic_t stop_requested = 0;
inline void request_stop(int) { stop_requested = 1; }
}  // namespace detail

/// Prepares `output_directory` (rank 0), sets `threads` and installs the SIGINT/SIGTERM
/// handlers (every process: fit() heeds rank 0's).
inline void start_run(const std::string& output_directory, int threads, const Processes& processes) {
  if (processes.root()) prepare_output_directory(output_directory);
  mam::set_num_threads(threads);
  std::signal(SIGINT, detail::request_stop);
  std::signal(SIGTERM, detail::request_stop);
}

/// True once SIGINT or SIGTERM arrived: save, then exit with 130.
inline bool interrupted() { return detail::stop_requested != 0; }

/// A budget of `steps` if positive, else of `minutes` of training time.
inline mam::TrainingBudget budget_of(long steps, double minutes) {
  return steps > 0 ? mam::TrainingBudget::of_steps(steps) : mam::TrainingBudget::of_seconds(minutes * 60.0);
}

/// fit() options of a stage that checkpoints to `checkpoint` (resuming from it if `resume` and
/// it exists, as rank 0 sees it), stops on SIGINT/SIGTERM and logs, checkpoints and stops after
/// as `run` says. Collective.
inline mam::FitOptions fit_options(const std::string& checkpoint, const RunOptions& run, bool resume,
                                   const Processes& processes) {
  mam::FitOptions options;
  options.checkpoint = checkpoint;
  options.checkpoint_every = run.checkpoint_every;
  options.log_every = run.log_every;
  options.stop_after = run.stop_after;
  options.stop_requested = interrupted;
  if (processes.from_root(resume && processes.root() && std::filesystem::exists(checkpoint)))
    options.resume_from = checkpoint;
  return options;
}

/// --stop-after across the stages of one run: each stage may take what the earlier ones left.
class StepAllowance {
 public:
  explicit StepAllowance(long steps) : left_(steps), capped_(steps > 0) {}
  /// True when a cap is set and used up: the next stage must not start.
  bool spent() const { return capped_ && left_ <= 0; }
  /// The stop_after of the next stage (0: no cap).
  long next() const { return capped_ ? left_ : 0; }
  void use(const mam::FitResult& result) { left_ -= result.steps_this_run; }

 private:
  long left_;
  bool capped_;
};

/// Nothing after a finished training; else says where the checkpoints are (rank 0) and returns
/// the exit code: 130 after SIGINT/SIGTERM, 0 after --stop-after (a job that left on time).
/// fit() ends alike in every process, so every process returns the same code.
inline std::optional<int> unfinished(mam::FitEnd end, long steps_this_run, const std::string& checkpoints,
                                     const Processes& processes) {
  if (end == mam::FitEnd::budget_spent) return std::nullopt;
  if (end == mam::FitEnd::stop_requested) {
    if (processes.root())
      std::fprintf(stderr, "interrupted: checkpoint written to %s (continue with --resume)\n", checkpoints.c_str());
    return 130;
  }
  if (processes.root())
    std::fprintf(stderr, "stopped after %ld steps: checkpoint written to %s (continue with --resume)\n",
                 steps_this_run, checkpoints.c_str());
  return 0;
}

/// After a finished stage: the model takes the stage's parameter average, where it keeps one.
/// (Its checkpoint still holds the last iterate and the average, so --resume continues both.)
template <class Trainer, class Model>
void use_average(const Trainer& trainer, Model& model) {
  if (trainer.average() != nullptr && trainer.average()->count() > 0) trainer.average()->copy_to(model);
}

}  // namespace mam::examples
