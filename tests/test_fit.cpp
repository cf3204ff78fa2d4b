// mam::fit, the budgeted training loop: budgets of steps and of (injected) seconds end at the
// exact step, the learning rate follows the cosine at every step, checkpoints land every N
// steps and at the end, stop requests and stop_after leave with a checkpoint, and a training
// interrupted and resumed ends bit-identical to one that ran straight through.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <mam/mam.hpp>
#include <mam/train/conditional_trainer.hpp>
#include <mam/train/energy_trainer.hpp>
#include <mam/train/fit.hpp>

#include "support/temp_dir.hpp"
#include "support/values.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::Vector;

namespace {

using Model = mam::ResidualMarginalizationModel<double>;

// An unnormalized target on 4 binary variables: neighbours that agree score 0.4 each.
Vector<double> chain_log_f(const CodeMatrix& x) {
  Vector<double> values = Vector<double>::Zero(x.cols());
  for (Index c = 0; c < x.cols(); ++c)
    for (Index i = 0; i + 1 < x.rows(); ++i) values[c] += x(i, c) == x(i + 1, c) ? 0.4 : 0.0;
  return values;
}

Model small_model(std::uint64_t seed) {
  Rng rng(seed);
  return mam::make_residual_model<double>(4, 2, 8, 2, rng);
}

mam::EnergyTrainerOptions energy_options() {
  mam::EnergyTrainerOptions options;
  options.trainer.batch_size = 8;
  return options;
}

using EnergyTrainer = mam::EnergyTrainer<Model>;

// A trainer that records the steps at which it was saved, around a real one.
struct SaveRecorder {
  EnergyTrainer& trainer;
  std::vector<long> saved_at{};

  mam::StepReport step() { return trainer.step(); }
  long steps() const { return trainer.steps(); }
  mam::Adam<double>& optimizer() { return trainer.optimizer(); }
  void save(const std::string& path) {
    saved_at.push_back(trainer.steps());
    trainer.save(path);
  }
  void load(const std::string& path) { trainer.load(path); }
};

// fit() takes any class with the trainers' members, and says so at compile time otherwise.
static_assert(mam::detail::is_fit_trainer<SaveRecorder>::value);
static_assert(mam::detail::is_fit_trainer<mam::ConditionalTrainer<Model>>::value);
static_assert(!mam::detail::is_fit_trainer<Model>::value);

}  // namespace

TEST_CASE("fit: a step budget ends at exactly that step, logging every log_every steps and the last", "[fit]") {
  Model model = small_model(1);
  EnergyTrainer trainer(model, chain_log_f, energy_options(), 2);
  mam::FitOptions options;
  options.budget = mam::TrainingBudget::of_steps(7);
  options.log_every = 3;
  std::vector<long> logged;
  std::vector<double> fractions;
  options.on_log = [&](const mam::StepReport& report, double fraction, double) {
    logged.push_back(report.step);
    fractions.push_back(fraction);
  };
  const mam::FitResult result = mam::fit(trainer, options);
  CHECK(result.end == mam::FitEnd::budget_spent);
  CHECK(result.finished());
  CHECK(trainer.steps() == 7);
  CHECK(result.steps == 7);
  CHECK(result.steps_this_run == 7);
  CHECK(logged == std::vector<long>{3, 6, 7});
  CHECK(fractions == std::vector<double>{3.0 / 7.0, 6.0 / 7.0, 1.0});
  // A budget already spent takes no step.
  CHECK(mam::fit(trainer, options).steps_this_run == 0);
  CHECK(trainer.steps() == 7);
}

TEST_CASE("fit: a time budget with an injected clock ends at the step that spends it", "[fit]") {
  Model model = small_model(1);
  EnergyTrainer trainer(model, chain_log_f, energy_options(), 2);
  mam::FitOptions options;
  options.budget = mam::TrainingBudget::of_seconds(9.0);
  // Every step takes 2 seconds: the budget is spent after step 5 (10 s), not at step 4 (8 s).
  options.clock = [&] { return 100.0 + 2.0 * static_cast<double>(trainer.steps()); };
  std::vector<double> seconds;
  options.on_log = [&](const mam::StepReport&, double, double s) { seconds.push_back(s); };
  const mam::FitResult result = mam::fit(trainer, options);
  CHECK(result.end == mam::FitEnd::budget_spent);
  CHECK(trainer.steps() == 5);
  CHECK(result.seconds == 10.0);
  CHECK(seconds == std::vector<double>{2.0, 4.0, 6.0, 8.0, 10.0});
}

TEST_CASE("fit: the learning rate follows the cosine decay at every step, on the chosen groups only", "[fit]") {
  Model model = small_model(1);
  EnergyTrainer trainer(model, chain_log_f, energy_options(), 2);
  const double log_z_rate = trainer.optimizer().group(mam::ParameterGroup::log_z).options.learning_rate;
  const double conditional_rate = trainer.optimizer().group(mam::ParameterGroup::conditional).options.learning_rate;
  mam::FitOptions options;
  options.budget = mam::TrainingBudget::of_steps(10);
  options.learning_rate = mam::CosineLearningRate{2e-3, 1e-4, {mam::ParameterGroup::marginal}};
  long checked = 0;
  options.before_step = [&](double fraction) {
    const double expected = mam::cosine_decay(2e-3, 1e-4, static_cast<double>(trainer.steps()) / 10.0);
    CHECK(fraction == static_cast<double>(trainer.steps()) / 10.0);
    CHECK(trainer.optimizer().group(mam::ParameterGroup::marginal).options.learning_rate == expected);
    CHECK(trainer.optimizer().group(mam::ParameterGroup::conditional).options.learning_rate == conditional_rate);
    CHECK(trainer.optimizer().group(mam::ParameterGroup::log_z).options.learning_rate == log_z_rate);
    ++checked;
  };
  mam::fit(trainer, options);
  CHECK(checked == 10);
  // The last step trains at the rate of fraction 9/10, above the floor; the first at the peak.
  CHECK(trainer.optimizer().group(mam::ParameterGroup::marginal).options.learning_rate ==
        mam::cosine_decay(2e-3, 1e-4, 0.9));
  CHECK(mam::CosineLearningRate{2e-3, 1e-4}.at(0.0) == 2e-3);
  CHECK(mam::CosineLearningRate{2e-3, 1e-4}.at(1.0) == 1e-4);
}

TEST_CASE("fit: checkpoints every checkpoint_every steps and at the end, with the progress record", "[fit]") {
  mam::test::TempDir directory;
  const std::string path = directory.file("trainer.ckpt");
  Model model = small_model(1);
  EnergyTrainer trainer(model, chain_log_f, energy_options(), 2);
  SaveRecorder recorder{trainer};
  mam::FitOptions options;
  options.budget = mam::TrainingBudget::of_steps(7);
  options.checkpoint = path;
  options.checkpoint_every = 3;
  options.clock = [&] { return 0.5 * static_cast<double>(trainer.steps()); };
  mam::fit(recorder, options);
  CHECK(recorder.saved_at == std::vector<long>{3, 6, 7});
  const mam::TrainingProgress progress = mam::load_training_progress(mam::progress_path(path));
  CHECK(progress.steps == 7);
  CHECK(progress.seconds == 3.5);
  CHECK(directory.entries() == std::vector<std::string>{"trainer.ckpt", "trainer.ckpt.progress"});

  // A budget that ends on a checkpoint step writes it once; without a path nothing is written.
  options.budget = mam::TrainingBudget::of_steps(9);
  recorder.saved_at.clear();
  mam::fit(recorder, options);
  CHECK(recorder.saved_at == std::vector<long>{9});
  options.checkpoint.clear();
  options.budget = mam::TrainingBudget::of_steps(12);
  recorder.saved_at.clear();
  mam::fit(recorder, options);
  CHECK(recorder.saved_at.empty());
  CHECK(trainer.steps() == 12);
}

TEST_CASE("fit: a stop request ends training with a checkpoint, and stop_after caps one run", "[fit]") {
  mam::test::TempDir directory;
  const std::string path = directory.file("trainer.ckpt");
  Model model = small_model(1);
  EnergyTrainer trainer(model, chain_log_f, energy_options(), 2);
  mam::FitOptions options;
  options.budget = mam::TrainingBudget::of_steps(20);
  options.checkpoint = path;
  options.checkpoint_every = 100;
  options.stop_requested = [&] { return trainer.steps() >= 4; };
  mam::FitResult result = mam::fit(trainer, options);
  CHECK(result.end == mam::FitEnd::stop_requested);
  CHECK_FALSE(result.finished());
  CHECK(result.steps == 4);
  {
    Model other = small_model(9);
    EnergyTrainer reloaded(other, chain_log_f, energy_options(), 3);
    reloaded.load(path);
    CHECK(reloaded.steps() == 4);
    CHECK(other.marginal().parameters() == model.marginal().parameters());
  }
  // A request already standing takes no step.
  CHECK(mam::fit(trainer, options).steps_this_run == 0);

  options.stop_requested = nullptr;
  options.stop_after = 3;
  result = mam::fit(trainer, options);
  CHECK(result.end == mam::FitEnd::stop_after);
  CHECK(result.steps_this_run == 3);
  CHECK(result.steps == 7);
  CHECK(mam::load_training_progress(mam::progress_path(path)).steps == 7);
  // The budget wins when it is spent by the same step.
  options.budget = mam::TrainingBudget::of_steps(10);
  result = mam::fit(trainer, options);
  CHECK(result.end == mam::FitEnd::budget_spent);
  CHECK(result.steps == 10);
}

TEST_CASE("fit: an interrupted and resumed training ends bit-identical to an uninterrupted one", "[fit][determinism]") {
  mam::test::TempDir directory;
  Rng data_rng(3);
  const CodeMatrix data = mam::test::random_states(4, 2, 40, data_rng);
  mam::TrainerOptions trainer_options;
  trainer_options.batch_size = 16;

  // Budget `budget` in one go, or left after 5 steps and resumed from the checkpoint by a
  // freshly built trainer of another model. Each step takes 1.5 s of the injected clock, so
  // with a time budget the resumed run must count the seconds of the first.
  auto run = [&](const std::string& kind, const mam::TrainingBudget& budget, bool interrupted) {
    const std::string path = directory.file(kind + (interrupted ? "-resumed.ckpt" : "-straight.ckpt"));
    Model model = small_model(11);
    mam::FitOptions options;
    options.budget = budget;
    options.learning_rate = mam::CosineLearningRate{3e-3, 3e-4};
    options.checkpoint = path;
    options.checkpoint_every = 4;
    auto train = [&](auto& trainer) {
      options.clock = [&] { return 1.5 * static_cast<double>(trainer.steps()); };
      if (!interrupted) return mam::fit(trainer, options);
      mam::FitOptions first = options;
      first.stop_after = 5;
      REQUIRE(mam::fit(trainer, first).end == mam::FitEnd::stop_after);
      model = small_model(99);  // everything must come from the files
      options.resume_from = path;
      options.clock = [&] { return 1000.0 + 1.5 * static_cast<double>(trainer.steps() - 5); };
      return mam::fit(trainer, options);
    };
    mam::FitResult result;
    if (kind == "conditional") {
      mam::ConditionalTrainer<Model> trainer(model, data, trainer_options, 5);
      result = train(trainer);
    } else {
      mam::EnergyTrainerOptions options_energy;
      options_energy.trainer = trainer_options;
      EnergyTrainer trainer(model, chain_log_f, options_energy, 5);
      result = train(trainer);
    }
    CHECK(result.end == mam::FitEnd::budget_spent);
    return std::make_tuple(model.marginal().parameters(), model.conditional().parameters(), result.steps,
                           result.seconds, mam::detail::read_whole_file("test", path));
  };
  for (const std::string kind : {"conditional", "energy"})
    for (const auto& budget : {mam::TrainingBudget::of_steps(12), mam::TrainingBudget::of_seconds(17.0)}) {
      INFO(kind << " trainer, budget of " << (budget.steps > 0 ? "steps" : "seconds"));
      const auto straight = run(kind, budget, false);
      const auto resumed = run(kind, budget, true);
      CHECK(std::get<2>(straight) == 12);  // 17 s: spent after step 12 (18 s)
      CHECK(std::get<2>(resumed) == std::get<2>(straight));
      CHECK(std::get<3>(resumed) == std::get<3>(straight));
      CHECK(std::get<0>(resumed) == std::get<0>(straight));
      CHECK(std::get<1>(resumed) == std::get<1>(straight));
      CHECK(std::get<4>(resumed) == std::get<4>(straight));  // the checkpoint, byte for byte
    }
}

TEST_CASE("fit: invalid options are refused before anything trains", "[fit]") {
  Model model = small_model(1);
  EnergyTrainer trainer(model, chain_log_f, energy_options(), 2);
  auto refused = [&](auto change, const std::string& expected, const std::string& got) {
    mam::FitOptions options;
    options.budget = mam::TrainingBudget::of_steps(3);
    change(options);
    INFO(expected);
    CHECK_THROWS_AS(mam::fit(trainer, options), mam::value_error);
    CHECK_THROWS_WITH(mam::fit(trainer, options),
                      Catch::Contains("mam::fit: expected " + expected) && Catch::Contains("got " + got));
    CHECK(trainer.steps() == 0);
  };
  refused([](mam::FitOptions& o) { o.budget = {-1, 0.0}; }, "budget.steps >= 0", "-1");
  refused([](mam::FitOptions& o) { o.budget = {0, -2.0}; }, "finite budget.seconds >= 0", "-2");
  refused([](mam::FitOptions& o) { o.budget = {0, std::nan("")}; }, "finite budget.seconds >= 0", "nan");
  refused([](mam::FitOptions& o) { o.budget = {}; }, "a budget of steps or of seconds", "0 steps and 0 seconds");
  refused([](mam::FitOptions& o) { o.budget = {5, 60.0}; }, "a budget of steps or of seconds",
          "5 steps and 60 seconds");
  refused([](mam::FitOptions& o) { o.checkpoint_every = 0; }, "checkpoint_every > 0", "0");
  refused([](mam::FitOptions& o) { o.log_every = -3; }, "log_every > 0", "-3");
  refused([](mam::FitOptions& o) { o.stop_after = -1; }, "stop_after >= 0", "-1");
  refused([](mam::FitOptions& o) { o.learning_rate = mam::CosineLearningRate{-1e-3, 0.0}; },
          "learning_rate.peak >= 0", "-0.001");
  refused([](mam::FitOptions& o) { o.learning_rate = mam::CosineLearningRate{1e-3, std::nan("")}; },
          "learning_rate.floor >= 0", "nan");
  refused([](mam::FitOptions& o) { o.learning_rate = mam::CosineLearningRate{1e-3, 0.0, {0, 3}}; },
          "learning_rate.groups below 3", "3");
}

TEST_CASE("training progress records round-trip and refuse what they are not", "[fit]") {
  mam::test::TempDir directory;
  const std::string path = directory.file("run.progress");
  mam::save_training_progress(path, {42, 12.625});
  const mam::TrainingProgress progress = mam::load_training_progress(path);
  CHECK(progress.steps == 42);
  CHECK(progress.seconds == 12.625);
  CHECK(mam::progress_path("out/trainer.ckpt") == "out/trainer.ckpt.progress");
  CHECK_THROWS_WITH(mam::save_training_progress(path, {-1, 0.0}),
                    Catch::Contains("mam::save_training_progress: expected steps >= 0, got -1"));
  CHECK_THROWS_AS(mam::load_training_progress(directory.file("missing")), mam::io_error);

  // A trainer checkpoint is not a progress record; a record newer than its checkpoint is refused.
  const std::string checkpoint = directory.file("trainer.ckpt");
  Model model = small_model(1);
  EnergyTrainer trainer(model, chain_log_f, energy_options(), 2);
  trainer.save(checkpoint);
  CHECK_THROWS_AS(mam::load_training_progress(checkpoint), mam::format_error);
  mam::save_training_progress(mam::progress_path(checkpoint), {3, 1.0});
  mam::FitOptions options;
  options.budget = mam::TrainingBudget::of_steps(5);
  options.resume_from = checkpoint;
  CHECK_THROWS_AS(mam::fit(trainer, options), mam::format_error);
  CHECK_THROWS_WITH(mam::fit(trainer, options),
                    Catch::Contains("no newer than its checkpoint (step 0)") && Catch::Contains("got step 3"));
  // Without a record the resumed training starts its clock at 0.
  std::filesystem::remove(mam::progress_path(checkpoint));
  options.clock = [&] { return 2.0 * static_cast<double>(trainer.steps()); };
  CHECK(mam::fit(trainer, options).seconds == 10.0);
}
