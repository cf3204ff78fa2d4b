// The data-parallel trainers over MPI, run under mpiexec -np 2: every rank trains with the
// communicator (one shard each) and, on its own, with 2 shards; both must land on the same
// parameters to 1e-10 relative after 20 steps of every trainer. A checkpoint of the 2-process
// run resumes bit-identically under 2 processes, and on one process holding both shards.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <unistd.h>
#include <string>

#include <mam/distributed/mpi.hpp>

#include "support/data_parallel_trainers.hpp"

using namespace mam::test::data_parallel;

namespace {

// Rank 0's `values`, in every rank.
Vector<double> rank_zeros(mam::ProcessGroup& world, Vector<double> values) {
  world.broadcast(values.data(), static_cast<std::size_t>(values.size()));
  return values;
}

// A directory for this test's files: rank 0's temporary name, made by rank 0.
std::string shared_directory(mam::ProcessGroup& world, const std::string& name) {
  std::string path;
  if (world.rank() == 0) {
    path = (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(path);
  }
  world.broadcast(path);
  return path;
}

}  // namespace

TEST_CASE("mpi: 2 processes of one shard equal 1 process of 2 shards for every trainer", "[mpi]") {
  mam::mpi::Communicator world;
  REQUIRE(world.size() == 2);
  for (Kind kind : all_kinds) {
    INFO(name_of(kind));
    // Each rank starts from its own initialization; the trainer broadcasts rank 0's.
    Model together = small_model(100 + static_cast<std::uint64_t>(world.rank()));
    AnyTrainer distributed = make_trainer(kind, together, &world, 0);
    Model alone = small_model(100);
    AnyTrainer local = make_trainer(kind, alone, nullptr, 2);
    for (int step = 0; step < 20; ++step) {
      const mam::StepReport a = distributed.step();
      const mam::StepReport b = local.step();
      if (step == 0) {  // the first step's gradients, after the reduction
        CHECK(a.loss == Approx(b.loss).epsilon(1e-12));
        if (!std::isnan(b.marginal_gradient_norm))
          CHECK(a.marginal_gradient_norm == Approx(b.marginal_gradient_norm).epsilon(1e-12));
        if (!std::isnan(b.conditional_gradient_norm))
          CHECK(a.conditional_gradient_norm == Approx(b.conditional_gradient_norm).epsilon(1e-12));
      }
    }
    const Vector<double> parameters = parameters_of(together);
    CHECK(parameters == rank_zeros(world, parameters));  // the same Adam step in every rank
    CHECK(relative_difference(parameters, parameters_of(alone)) < 1e-10);
    // The comparison can fail: one shard on one process draws other numbers.
    Model single = small_model(100);
    AnyTrainer one_shard = make_trainer(kind, single, nullptr, 1);
    for (int step = 0; step < 20; ++step) one_shard.step();
    CHECK(relative_difference(parameters_of(single), parameters) > 1e-6);
  }
}

TEST_CASE("mpi: resume under 2 processes is bit-identical to an uninterrupted run", "[mpi]") {
  mam::mpi::Communicator world;
  const std::string directory = shared_directory(world, "mam-mpi-resume");
  for (Kind kind : all_kinds) {
    INFO(name_of(kind));
    const std::string path = directory + "/trainer-" + std::to_string(static_cast<int>(kind)) + ".ckpt";
    Model model = small_model(300 + static_cast<std::uint64_t>(world.rank()));
    AnyTrainer trainer = make_trainer(kind, model, &world, 0);
    for (int step = 0; step < 6; ++step) trainer.step();
    trainer.save(path);
    for (int step = 0; step < 6; ++step) trainer.step();
    const Vector<double> uninterrupted = parameters_of(model);

    Model fresh = small_model(400 + static_cast<std::uint64_t>(world.rank()));
    AnyTrainer resumed = make_trainer(kind, fresh, &world, 0);
    resumed.load(path);
    for (int step = 0; step < 6; ++step) resumed.step();
    CHECK(parameters_of(fresh) == uninterrupted);

    // The same file on one process that holds both shards (each rank alone).
    Model alone = small_model(500);
    AnyTrainer local = make_trainer(kind, alone, nullptr, 2);
    local.load(path);
    for (int step = 0; step < 6; ++step) local.step();
    CHECK(relative_difference(parameters_of(alone), uninterrupted) < 1e-10);
  }
  double done = 0.0;
  world.sum(&done, 1);  // every rank has read the files before rank 0 removes them
  if (world.rank() == 0) std::filesystem::remove_all(directory);
}
