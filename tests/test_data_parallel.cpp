// Data-parallel training (train/data_parallel.hpp) without MPI: ranks are threads of this
// process (support/thread_process_group.hpp). What a run of N processes with one shard each
// computes must equal what one process with N shards computes, to the rounding of the sums,
// for every trainer; a checkpoint resumes bit-identically, on as many processes or on fewer.
// tests/distributed/ checks the same over MPI.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <mam/mam.hpp>
#include <mam/train/conditional_trainer.hpp>
#include <mam/train/data_parallel.hpp>
#include <mam/train/energy_trainer.hpp>
#include <mam/train/fit.hpp>
#include <mam/train/marginal_trainer.hpp>

#include "support/data_parallel_trainers.hpp"
#include "support/temp_dir.hpp"
#include "support/thread_process_group.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::Vector;

namespace {

using namespace mam::test::data_parallel;

// Parameters after `steps` steps of `kind` on `processes` thread-ranks with `shards` shards
// (ranks' parameters checked equal), and every step's report of rank 0.
struct Run {
  Vector<double> parameters;
  std::vector<mam::StepReport> reports;
};

Run train(Kind kind, int processes, Index shards, int steps) {
  Run run;
  std::vector<Vector<double>> finals(static_cast<std::size_t>(processes));
  auto body = [&](mam::ProcessGroup* group, int rank) {
    Model model = small_model(100 + static_cast<std::uint64_t>(rank));
    AnyTrainer trainer = make_trainer(kind, model, group, shards);
    for (int s = 0; s < steps; ++s) {
      const mam::StepReport report = trainer.step();
      if (rank == 0) run.reports.push_back(report);
    }
    finals[static_cast<std::size_t>(rank)] = parameters_of(model);
  };
  if (processes == 1)
    body(nullptr, 0);
  else
    mam::test::run_processes(processes, [&](mam::ProcessGroup& group, int rank) { body(&group, rank); });
  for (const Vector<double>& other : finals) REQUIRE(other == finals[0]);  // one Adam step everywhere
  run.parameters = finals[0];
  return run;
}


}  // namespace

TEST_CASE("data_parallel: shards cut batches into consecutive parts and refuse bad counts", "[data_parallel]") {
  for (Index n : {0, 1, 7, 16, 100})
    for (Index shards : {1, 2, 3, 4}) {
      Index next = 0;
      for (Index s = 0; s < shards; ++s) {
        const mam::detail::ColumnRange part = mam::detail::shard_range(n, s, shards);
        CHECK(part.begin == next);
        CHECK(part.size >= n / shards);
        CHECK(part.size <= n / shards + 1);
        next = part.begin + part.size;
      }
      CHECK(next == n);
    }
  Model model = small_model(1);
  const CodeMatrix data = random_codes(40);
  auto build = [&](Index shards, Index batch) {
    mam::TrainerOptions options = trainer_options(nullptr, shards);
    options.batch_size = batch;
    mam::ConditionalTrainer<Model> trainer(model, data, options, 1);
  };
  CHECK_NOTHROW(build(4, 16));
  CHECK_THROWS_AS(build(-1, 16), mam::value_error);
  CHECK_THROWS_WITH(build(3, 16), Catch::Contains("a batch_size that the 3 shards divide"));
  mam::test::run_processes(2, [&](mam::ProcessGroup& group, int rank) {
    Model own = small_model(static_cast<std::uint64_t>(rank));
    mam::TrainerOptions options = trainer_options(&group, 3);
    // Both ranks refuse before any collective, so neither waits for the other.
    CHECK_THROWS_WITH((mam::ConditionalTrainer<Model>(own, data, options, 1)),
                      Catch::Contains("data_parallel.shards a multiple of the 2 processes"));
  });
}

TEST_CASE("data_parallel: shard streams are the seed's stream jumped and distinct", "[data_parallel]") {
  mam::DataParallelOptions options;
  options.shards = 3;
  mam::detail::Shards shards(options, 12, 5, "test");
  REQUIRE(shards.local_count() == 3);
  Rng expected(5);
  for (Index s = 0; s < 3; ++s) {
    expected.jump();
    CHECK(shards.streams()[static_cast<std::size_t>(s)].state() == expected.state());
  }
  Rng own(5);
  CHECK(&shards.stream(0, own) != &own);
  mam::DataParallelOptions single;
  mam::detail::Shards one(single, 12, 5, "test");
  CHECK(&one.stream(0, own) == &own);  // one shard: the trainer's own stream, as before
  CHECK(one.streams().empty());
}

TEST_CASE("data_parallel: 2 processes of one shard equal 1 process of 2 shards for every trainer", "[data_parallel]") {
  for (Kind kind : all_kinds) {
    INFO(name_of(kind));
    const Run together = train(kind, 2, 0, 20);
    const Run alone = train(kind, 1, 2, 20);
    // The first step's gradients: their norms after the reduction.
    const mam::StepReport& a = together.reports.front();
    const mam::StepReport& b = alone.reports.front();
    for (auto [x, y] : {std::pair{a.marginal_gradient_norm, b.marginal_gradient_norm},
                        std::pair{a.conditional_gradient_norm, b.conditional_gradient_norm},
                        std::pair{a.loss, b.loss}}) {
      if (std::isnan(y)) {
        CHECK(std::isnan(x));
        continue;
      }
      CHECK(x == Approx(y).epsilon(1e-12).margin(1e-14));
    }
    CHECK(relative_difference(together.parameters, alone.parameters) < 1e-10);
    // The check can fail: one shard draws other random numbers, and lands elsewhere.
    const Run one_shard = train(kind, 1, 1, 20);
    CHECK(relative_difference(one_shard.parameters, alone.parameters) > 1e-6);
  }
}

TEST_CASE("data_parallel: 3 processes of one shard equal 1 process of 3 shards", "[data_parallel]") {
  // 16 columns do not split into 3 equal shards: a batch of 18.
  for (Kind kind : {Kind::self_consistency, Kind::energy_kl}) {
    INFO(name_of(kind));
    auto run = [&](int processes, Index shards) {
      Vector<double> result;
      auto body = [&](mam::ProcessGroup* group, int rank) {
        Model model = small_model(200 + static_cast<std::uint64_t>(rank));
        mam::TrainerOptions options = trainer_options(group, shards);
        options.batch_size = 18;
        std::function<mam::StepReport()> step;
        static const CodeMatrix data = random_codes(90);
        if (kind == Kind::self_consistency) {
          mam::MarginalTrainerOptions marginal;
          marginal.trainer = options;
          auto trainer = std::make_shared<mam::MarginalTrainer<Model>>(model, data, marginal, 3);
          step = [trainer] { return trainer->step(); };
        } else {
          mam::EnergyTrainerOptions energy;
          energy.trainer = options;
          auto trainer = std::make_shared<mam::EnergyTrainer<Model, LogF>>(model, &chain_log_f, energy, 3);
          step = [trainer] { return trainer->step(); };
        }
        for (int s = 0; s < 10; ++s) step();
        if (rank == 0) result = parameters_of(model);
      };
      if (processes == 1)
        body(nullptr, 0);
      else
        mam::test::run_processes(processes, [&](mam::ProcessGroup& group, int rank) { body(&group, rank); });
      return result;
    };
    CHECK(relative_difference(run(3, 0), run(1, 3)) < 1e-10);
  }
}

TEST_CASE("data_parallel: a checkpoint resumes bit-identically on as many processes or on one", "[data_parallel]") {
  mam::test::TempDir dir;
  for (Kind kind : all_kinds) {
    INFO(name_of(kind));
    const std::string path = dir.file("trainer.ckpt");
    // 2 ranks: 6 steps, save, 6 more; then 2 fresh ranks load and take the same 6.
    Vector<double> uninterrupted, resumed, resumed_alone;
    CodeMatrix buffer_uninterrupted, buffer_alone;
    mam::test::run_processes(2, [&](mam::ProcessGroup& group, int rank) {
      Model model = small_model(300 + static_cast<std::uint64_t>(rank));
      AnyTrainer trainer = make_trainer(kind, model, &group, 0);
      for (int s = 0; s < 6; ++s) trainer.step();
      trainer.save(path);
      for (int s = 0; s < 6; ++s) trainer.step();
      if (rank == 0) uninterrupted = parameters_of(model);
    });
    mam::test::run_processes(2, [&](mam::ProcessGroup& group, int rank) {
      Model model = small_model(400 + static_cast<std::uint64_t>(rank));
      AnyTrainer trainer = make_trainer(kind, model, &group, 0);
      trainer.load(path);
      for (int s = 0; s < 6; ++s) trainer.step();
      if (rank == 0) resumed = parameters_of(model);
    });
    CHECK(resumed == uninterrupted);
    // The same checkpoint on one process that holds both shards.
    Model model = small_model(500);
    AnyTrainer alone = make_trainer(kind, model, nullptr, 2);
    alone.load(path);
    for (int s = 0; s < 6; ++s) alone.step();
    resumed_alone = parameters_of(model);
    CHECK(relative_difference(resumed_alone, uninterrupted) < 1e-10);
    // Another number of shards is refused, with what to do.
    Model other = small_model(600);
    AnyTrainer wrong = make_trainer(kind, other, nullptr, 4);
    CHECK_THROWS_WITH(wrong.load(path), Catch::Contains("was written by a training of 2 shards, this trainer has 4"));
    AnyTrainer single = make_trainer(kind, other, nullptr, 0);
    CHECK_THROWS_AS(single.load(path), mam::value_error);
  }
}

TEST_CASE("data_parallel: a file rank 0 cannot read is an error in every process and never a wait",
          "[data_parallel]") {
  mam::test::TempDir dir;
  const std::string missing = dir.file("missing.ckpt");
  int failed = 0;
  std::mutex mutex;
  mam::test::run_processes(2, [&](mam::ProcessGroup& group, int rank) {
    Model model = small_model(static_cast<std::uint64_t>(rank));
    AnyTrainer trainer = make_trainer(Kind::energy_kl, model, &group, 0);
    try {
      trainer.load(missing);
    } catch (const mam::io_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("missing.ckpt"));
      std::lock_guard<std::mutex> lock(mutex);
      ++failed;
    }
  });
  CHECK(failed == 2);
  // A directory that does not exist: the write fails on rank 0, and rank 1 hears of it.
  failed = 0;
  mam::test::run_processes(2, [&](mam::ProcessGroup& group, int rank) {
    Model model = small_model(static_cast<std::uint64_t>(rank));
    AnyTrainer trainer = make_trainer(Kind::conditional, model, &group, 0);
    trainer.step();
    try {
      trainer.save(dir.file("no/such/dir.ckpt"));
    } catch (const mam::io_error&) {
      std::lock_guard<std::mutex> lock(mutex);
      ++failed;
    }
  });
  CHECK(failed == 2);
}

TEST_CASE("data_parallel: fit() of 2 processes follows rank 0's clock and writes one checkpoint",
          "[data_parallel]") {
  mam::test::TempDir dir;
  const std::string path = dir.file("fit.ckpt");
  std::vector<mam::FitResult> results(2);
  std::vector<Vector<double>> finals(2);
  mam::test::run_processes(2, [&](mam::ProcessGroup& group, int rank) {
    Model model = small_model(static_cast<std::uint64_t>(rank));
    mam::EnergyTrainerOptions energy;
    energy.trainer = trainer_options(&group, 0);
    mam::EnergyTrainer<Model, LogF> trainer(model, &chain_log_f, energy, 9);
    mam::FitOptions fit;
    fit.budget = mam::TrainingBudget::of_seconds(10.0);
    fit.checkpoint = path;
    fit.checkpoint_every = 4;
    // Rank 1's clock runs ten times faster: rank 0's decides, so both take 10 steps.
    double now = 0.0;
    fit.clock = [&now, rank] { return now += rank == 0 ? 1.0 : 10.0; };
    results[static_cast<std::size_t>(rank)] = mam::fit(trainer, fit);
    finals[static_cast<std::size_t>(rank)] = parameters_of(model);
  });
  CHECK(results[0].steps == results[1].steps);
  CHECK(results[0].seconds == results[1].seconds);
  CHECK(finals[0] == finals[1]);
  CHECK(std::filesystem::exists(path));
  CHECK(mam::load_training_progress(mam::progress_path(path)).steps == results[0].steps);
}
