// Weak scaling of data-parallel energy-based training: run under `mpiexec -np P` with
// `--threads T`, every process trains the benchmarks' energy step (CPU shape: D=100, K=2,
// H=512, 4 layers, float, batch 256 per process, censor-and-resample 4, KL + self-consistency,
// clipping at 1, Adam) as one data-parallel trainer, so the global batch grows with P.
// Rank 0 prints one JSON line: the median step time, steps and samples per second, and the
// median time of the one allreduce a step sends (both networks' gradients and the step's
// statistics, timed apart from the step) with its share of the step.
// scripts/bench-scaling runs the configurations side by side; docs/performance.md has them.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <mam/core/threads.hpp>
#include <mam/distributed/mpi.hpp>

#include "support/mam_operations.hpp"

namespace {

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Every rank waits for the others, so that the next timing starts together.
void synchronize(mam::ProcessGroup& world) {
  double nothing = 0.0;
  world.sum(&nothing, 1);
}

int run(mam::mpi::Communicator& world, int argc, char** argv) {
  int threads = 1, steps = 30, warmup = 3, allreduces = 20;
  CLI::App app("Weak scaling of data-parallel energy training (run under mpiexec)");
  app.add_option("--threads", threads, "OpenMP threads per process")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "timed steps")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
  app.add_option("--allreduces", allreduces, "timed allreduces of the gradient")->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return world.rank() == 0 ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 1);
  }
  mam::set_num_threads(threads);
  const mam::bench::Shape shape{100, 2, 512, 4, 256};
  using Model = mam::ResidualMarginalizationModel<float>;
  mam::Rng rng(11);
  Model model = mam::bench::bench_model(shape, rng);
  mam::EnergyTrainerOptions options;
  options.trainer.batch_size = shape.batch * world.size();  // weak scaling: 256 per process
  options.trainer.clip_norm = 1.0;
  options.trainer.data_parallel.processes = &world;
  mam::EnergyTrainer<Model, mam::bench::IsingTorus> trainer(model, mam::bench::IsingTorus(shape.d, shape.k), options, 12);

  for (int s = 0; s < warmup; ++s) trainer.step();
  std::vector<double> step_seconds;
  for (int s = 0; s < steps; ++s) {
    synchronize(world);
    const double start = seconds_now();
    trainer.step();
    step_seconds.push_back(seconds_now() - start);
  }
  // What a step's allreduce sends: both gradients and the energy step's 5 statistics and
  // log Z's gradient (TrainingCore::sum_over_processes).
  const auto floats = static_cast<std::size_t>(model.marginal().num_parameters() +
                                               model.conditional().num_parameters() + 6);
  std::vector<float> gradient(floats, 1.0f);
  std::vector<double> allreduce_seconds;
  for (int r = 0; r < allreduces && world.size() > 1; ++r) {
    synchronize(world);
    const double start = seconds_now();
    world.sum(gradient.data(), gradient.size());
    allreduce_seconds.push_back(seconds_now() - start);
  }
  // Every rank's own median step; the slowest rank sets the pace.
  double step = median(step_seconds);
  std::vector<double> steps_of_ranks(static_cast<std::size_t>(world.size()));
  world.gather_all(&step, 1, steps_of_ranks.data());
  step = *std::max_element(steps_of_ranks.begin(), steps_of_ranks.end());
  if (world.rank() == 0) {
    const double allreduce = allreduce_seconds.empty() ? 0.0 : median(allreduce_seconds);
    std::printf(
        "{\"processes\": %d, \"threads\": %d, \"batch_per_process\": %ld, \"global_batch\": %ld, "
        "\"step_ms\": %.3f, \"steps_per_second\": %.3f, \"samples_per_second\": %.1f, "
        "\"allreduce_floats\": %zu, \"allreduce_ms\": %.3f, \"allreduce_share\": %.4f}\n",
        world.size(), threads, static_cast<long>(shape.batch), static_cast<long>(options.trainer.batch_size),
        1e3 * step, 1.0 / step, static_cast<double>(options.trainer.batch_size) / step, floats, 1e3 * allreduce,
        allreduce / step);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mam::mpi::Environment environment(argc, argv);
  mam::mpi::Communicator world;
  return mam::mpi::run_or_abort(world, [&] { return run(world, argc, argv); },
                                [](const char* message) { std::fprintf(stderr, "mam_bench_data_parallel: %s\n", message); });
}
