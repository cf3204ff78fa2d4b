#pragma once
// How far a training has come: its step count and the training seconds it has used, kept in a
// small record next to the trainer's checkpoint. The checkpoint itself holds no wall-clock
// time, so two runs that train alike write byte-identical checkpoints; a time budget that
// continues after a resume reads its seconds here (fit() writes and reads the record).
//
// The record is a versioned checkpoint file of its own (magic, checksum, atomic write): kind
// "training_progress", the seconds as a float64 and the steps as an integer.

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "mam/core/error.hpp"
#include "mam/io/checkpoint.hpp"
#include "mam/io/network_checkpoint.hpp"

namespace mam {

struct TrainingProgress {
  long steps = 0;        ///< the trainer's step count when the record was written
  double seconds = 0.0;  ///< training seconds used up to then, earlier runs included
};

/// Where the progress record of the checkpoint at `checkpoint_path` lives: beside it, with
/// ".progress" appended.
inline std::string progress_path(const std::string& checkpoint_path) { return checkpoint_path + ".progress"; }

/// Writes `progress` to `path` atomically: a reader sees the previous record or this one.
inline void save_training_progress(const std::string& path, const TrainingProgress& progress) {
  const char* function = "mam::save_training_progress";
  detail::require<value_error>(progress.steps >= 0, function, "steps >= 0", progress.steps);
  detail::require<value_error>(std::isfinite(progress.seconds) && progress.seconds >= 0.0, function,
                               "finite seconds >= 0", progress.seconds);
  io::Checkpoint<double> record;
  record.architecture = {{"kind", "training_progress"}};
  record.parameters.push_back({"seconds", Vector<double>::Constant(1, progress.seconds)});
  record.integers.push_back({"steps", {static_cast<std::uint64_t>(progress.steps)}});
  io::save_checkpoint(path, record);
}

/// Reads what save_training_progress wrote. Throws io_error if the file cannot be read and
/// format_error if it is not a valid progress record.
inline TrainingProgress load_training_progress(const std::string& path) {
  const char* function = "mam::load_training_progress";
  const io::Checkpoint<double> record = io::load_checkpoint<double>(path);
  io::require_architecture({{"kind", "training_progress"}}, record.architecture, function);
  const auto* seconds = io::detail::find_named(record.parameters, "seconds");
  const auto* steps = io::detail::find_named(record.integers, "steps");
  if (seconds == nullptr || seconds->values.size() != 1 || steps == nullptr || steps->values.size() != 1)
    throw format_error(detail::concat(function, ": '", path, "': expected one 'seconds' and one 'steps' entry"));
  const double value = seconds->values[0];
  if (!std::isfinite(value) || value < 0.0 || steps->values[0] > static_cast<std::uint64_t>(std::numeric_limits<long>::max()))
    throw format_error(detail::concat(function, ": '", path, "': expected finite seconds >= 0 and a step count, got ",
                                      value, " seconds and ", steps->values[0], " steps"));
  return {static_cast<long>(steps->values[0]), value};
}

}  // namespace mam
