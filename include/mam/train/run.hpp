#pragma once
// A training loop with a callback, for programs that do not need their own.

namespace mam {

/// Calls trainer.step() until trainer.steps() reaches `total_steps` or `on_step(report)`
/// returns false; returns the number of steps taken now. The callback is where progress
/// bars, logs and periodic checkpoints go (the library prints nothing).
template <class Trainer, class Callback>
long run_training(Trainer& trainer, long total_steps, Callback&& on_step) {
  long taken = 0;
  while (trainer.steps() < total_steps) {
    const auto report = trainer.step();
    ++taken;
    if (!on_step(report)) break;
  }
  return taken;
}

}  // namespace mam
