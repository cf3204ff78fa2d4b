#pragma once
// What every training example does before it trains: check that the output directory can be
// written (fail now, not after hours of training), set the thread count, and turn SIGINT and
// SIGTERM into a flag the training loop polls, so it can write its checkpoint and exit 130;
// and, after a stage, hand its parameter average on to the model.

#include <csignal>
#include <string>

#include <mam/core/threads.hpp>

#include "support/files.hpp"

namespace mam::examples {

namespace detail {
// A signal handler can only set a flag of this type; one per process is the nature of signals.
inline volatile std::sig_atomic_t stop_requested = 0;
inline void request_stop(int) { stop_requested = 1; }
}  // namespace detail

/// Prepares `output_directory`, sets `threads` and installs the SIGINT/SIGTERM handlers.
inline void start_run(const std::string& output_directory, int threads) {
  prepare_output_directory(output_directory);
  mam::set_num_threads(threads);
  std::signal(SIGINT, detail::request_stop);
  std::signal(SIGTERM, detail::request_stop);
}

/// True once SIGINT or SIGTERM arrived: save, then exit with 130.
inline bool interrupted() { return detail::stop_requested != 0; }

/// After a finished stage: the model takes the stage's parameter average, where it keeps one.
/// (Its checkpoint still holds the last iterate and the average, so --resume continues both.)
template <class Trainer, class Model>
void use_average(const Trainer& trainer, Model& model) {
  if (trainer.average() != nullptr && trainer.average()->count() > 0) trainer.average()->copy_to(model);
}

}  // namespace mam::examples
