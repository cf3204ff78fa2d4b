// End-to-end training on problems small enough to enumerate: every number below is checked
// against an exact answer, and each threshold is also shown to fail before training.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <filesystem>
#include <functional>
#include <limits>
#include <tuple>

#include <mam/eval/enumerate.hpp>
#include <mam/mam.hpp>
#include <mam/train/conditional_trainer.hpp>
#include <mam/train/energy_trainer.hpp>
#include <mam/train/marginal_trainer.hpp>

#include "support/exact_laws.hpp"
#include "support/values.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::Vector;

namespace {

using Model = mam::ResidualMarginalizationModel<double>;

using mam::test::draw_from;
using mam::test::marginal_consistency_error;
using mam::test::order_mixture_log_p;
using mam::test::random_pairwise_log_p;

// How many columns of `sequences` equal some column of `data`.
Index count_data_columns(const Eigen::Ref<const CodeMatrix>& sequences, const CodeMatrix& data) {
  Index found = 0;
  for (Index s = 0; s < sequences.cols(); ++s)
    for (Index c = 0; c < data.cols(); ++c)
      if (sequences.col(s) == data.col(c)) {
        ++found;
        break;
      }
  return found;
}

}  // namespace

TEST_CASE("two-stage maximum likelihood recovers a random distribution", "[training]") {
  // D=8, K=2 (256 states) and D=6, K=3 (729 states); stage 2 by self-consistency from a
  // random marginal net, or by chain targets from the conditional net's trunk.
  const auto [d, k] = GENERATE(std::pair<Index, Index>{8, 2}, std::pair<Index, Index>{6, 3});
  const auto objective = GENERATE(mam::MarginalObjective::self_consistency, mam::MarginalObjective::chain_targets);
  const bool chain = objective == mam::MarginalObjective::chain_targets;
  INFO((chain ? "chain targets, warm start" : "self-consistency"));
  Rng rng(100 + static_cast<std::uint64_t>(k));
  const Vector<double> log_target = random_pairwise_log_p(d, k, 0.5, rng);
  const CodeMatrix data = draw_from(log_target, d, k, 50000, rng);

  Model model = mam::make_residual_model<double>(d, k, 64, 3, rng);
  mam::TrainerOptions options;
  options.conditional_adam.learning_rate = 3e-3;
  options.marginal_adam.learning_rate = 3e-3;

  const double kl_before = mam::kl_divergence(log_target, order_mixture_log_p(model));
  const double error_before = marginal_consistency_error(model, 0.01);

  mam::ConditionalTrainer<Model> stage1(model, data, options, 1);
  for (int step = 0; step < 1500; ++step) stage1.step();
  const double kl_after = mam::kl_divergence(log_target, order_mixture_log_p(model));

  mam::MarginalTrainerOptions stage2_options;
  stage2_options.trainer = options;
  stage2_options.objective = objective;
  stage2_options.pool_size = 1024;
  if (chain) mam::warm_start_marginal(model);
  mam::MarginalTrainer<Model> stage2(model, data, stage2_options, 2);
  for (int step = 0; step < 1500; ++step) stage2.step();
  const double error_after = marginal_consistency_error(model, 0.01);
  const Vector<double> log_p_theta = mam::normalize_log(model.log_marginal(mam::all_states(d, k)));
  const double kl_marginal = mam::kl_divergence(log_target, log_p_theta);

  INFO("D=" << d << " K=" << k << ": KL(target || AO-ARM sampler) " << kl_before << " -> " << kl_after
            << "; worst marginal error (p >= 0.01) " << error_before << " -> " << error_after
            << "; KL(target || marginal net) " << kl_marginal);
  // Thresholds: about twice what this implementation reaches (KL 0.015, error 0.3-0.4,
  // marginal KL 0.025-0.03); an untrained model misses each by an order of magnitude.
  CHECK(kl_before > 0.3);
  CHECK(kl_after < 0.03);
  CHECK(error_before > 2.0);
  CHECK(error_after < 0.7);
  CHECK(kl_marginal < 0.06);
}

TEST_CASE("chain targets refresh the pool every interval steps, refresh x interval at once", "[training][pool]") {
  Rng rng(21);
  Model model = mam::make_residual_model<double>(6, 3, 8, 2, rng);
  const CodeMatrix data = mam::test::random_states(6, 3, 30, rng);
  mam::TrainerOptions options;
  options.batch_size = 8;
  // Pool of 10, 2 per step on average, every 3 steps: 6 sequences at steps 3, 6, 9, ...
  mam::MarginalTrainer<Model> trainer(model, data, {options, 0.5, 2, mam::MarginalObjective::chain_targets, 10, 2, 3},
                                      4);
  trainer.step();  // fills the pool
  REQUIRE(trainer.pool().size() == 10);
  const Eigen::MatrixXd filled = trainer.pool().chain_sums();
  trainer.step();
  trainer.step();
  CHECK(trainer.pool().chain_sums() == filled);  // steps 1 and 2 fit the same pool
  trainer.step();                                // step 3: the 6 oldest sequences replaced
  const Eigen::MatrixXd refreshed = trainer.pool().chain_sums();
  for (Index s = 0; s < 6; ++s) CHECK(refreshed.col(s) != filled.col(s));
  CHECK(refreshed.rightCols(4) == filled.rightCols(4));
  // Half of each refresh comes from the data: 3 of the 6 new sequences are data columns.
  CHECK(count_data_columns(trainer.pool().sequences().leftCols(6), data) >= 3);
}

TEST_CASE("chain targets with resampled_share inpaint a share of the data points", "[training][pool]") {
  Rng rng(22);
  Model model = mam::make_residual_model<double>(6, 3, 8, 2, rng);
  const CodeMatrix data = mam::test::random_states(6, 3, 40, rng);
  mam::TrainerOptions options;
  options.batch_size = 8;
  auto data_columns_in_pool = [&](double resampled_share) {
    mam::MarginalTrainerOptions stage2{options, 1.0, 2, mam::MarginalObjective::chain_targets, 400, 1, 1};
    stage2.resampled_share = resampled_share;
    mam::MarginalTrainer<Model> trainer(model, data, stage2, 4);
    trainer.step();  // fills the pool: all 400 from data
    return count_data_columns(trainer.pool().sequences(), data);
  };
  CHECK(data_columns_in_pool(0.0) == 400);
  // Half kept whole; of the other half, 1 in 7 keeps all 6 values and a few more redraw
  // exactly the values they lost (or another data column's).
  const Index half = data_columns_in_pool(0.5);
  CHECK(half >= 200);
  CHECK(half < 300);
  CHECK(data_columns_in_pool(1.0) < 100);
  mam::MarginalTrainerOptions bad{options, 1.0, 2, mam::MarginalObjective::chain_targets, 8, 1, 1};
  bad.resampled_share = 1.5;
  CHECK_THROWS_WITH(mam::MarginalTrainer<Model>(model, data, bad, 4),
                    Catch::Contains("resampled_share in [0, 1]") && Catch::Contains("got 1.5"));
}

namespace {

// The reference Ising model on an L x L torus: x in {0, 1}, s = 2x - 1,
// log f(s) = s^T (sigma A) s + b sum(s) = sum over edges of 2 sigma s_i s_j + b sum(s).
Vector<double> ising_log_f(const CodeMatrix& x, int side, double sigma, double field) {
  Vector<double> log_f(x.cols());
  for (Index c = 0; c < x.cols(); ++c) {
    double value = 0.0;
    for (int r = 0; r < side; ++r)
      for (int q = 0; q < side; ++q) {
        auto spin = [&](int row, int column) { return 2.0 * x(row * side + column, c) - 1.0; };
        const double s = spin(r, q);
        value += 2.0 * sigma * s * (spin(r, (q + 1) % side) + spin((r + 1) % side, q)) + field * s;
      }
    log_f[c] = value;
  }
  return log_f;
}

}  // namespace

TEST_CASE("energy-based training matches a 3x3 Ising torus exactly enough", "[training]") {
  const int side = 3;
  const Index d = side * side;
  auto log_f = [&](const CodeMatrix& x) { return ising_log_f(x, side, 0.1, 0.2); };
  const CodeMatrix states = mam::all_states(d, 2);
  const Vector<double> log_target = mam::normalize_log(log_f(states));
  const double log_z = mam::log_sum_exp(log_f(states));

  Rng rng(7);
  Model model = mam::make_residual_model<double>(d, 2, 64, 3, rng);
  mam::EnergyTrainerOptions options;  // KL objective, alpha = 1, 4 gibbs steps, lr 1e-3
  mam::EnergyTrainer<Model> trainer(model, log_f, options, 3);
  auto reverse_kl = [&] { return mam::kl_divergence(mam::normalize_log(model.log_marginal(states)), log_target); };
  const double kl_before = reverse_kl();
  mam::StepReport last;
  for (int step = 0; step < 1000; ++step) last = trainer.step();
  const double kl_after = reverse_kl();

  // Single-site and pair marginals from ONE marginal-net pass each, against enumeration.
  const CodeMatrix partial = mam::all_partial_states(d, 2);
  const Vector<double> exact = mam::exact_log_marginals(log_target, d, 2, partial);
  const Vector<double> predicted = model.log_marginal(partial);
  double worst_single = 0.0, worst_pair = 0.0;
  for (Index c = 0; c < partial.cols(); ++c) {
    const Index known = (partial.col(c).array() != mam::unknown).count();
    const double error = std::abs(std::exp(predicted[c]) - std::exp(exact[c]));
    if (known == 1) worst_single = std::max(worst_single, error);
    if (known == 2) worst_pair = std::max(worst_pair, error);
  }
  INFO("reverse KL " << kl_before << " -> " << kl_after << "; worst probability error: single sites "
                     << worst_single << ", pairs " << worst_pair
                     << "; last batch's E[log p - log f] + log Z: " << last.mean_log_ratio + log_z);
  CHECK(kl_before > 0.05);
  // Measured: reverse KL 2e-4 nats, worst errors 0.013 (sites) and 0.020 (pairs).
  CHECK(kl_after <= 0.02);
  CHECK(worst_single < 0.03);
  CHECK(worst_pair < 0.04);
  // The batch estimate of E[log p - log f] + log Z is a (noisy) reverse-KL estimate.
  CHECK(std::abs(last.mean_log_ratio + log_z) < 0.1);
}

TEST_CASE("trainers resume from a checkpoint bit-identically", "[training][determinism]") {
  const std::string directory = (std::filesystem::temp_directory_path() / "mam-trainer-resume").string();
  std::filesystem::create_directories(directory);
  const std::string path = directory + "/trainer.ckpt";
  auto log_f = [](const CodeMatrix& x) { return ising_log_f(x, 2, 0.3, 0.1); };
  Rng data_rng(3);
  CodeMatrix data(4, 40);
  for (Index c = 0; c < data.cols(); ++c)
    for (Index i = 0; i < 4; ++i) data(i, c) = static_cast<mam::Code>(data_rng.uniform_int(2));
  mam::TrainerOptions options;
  options.batch_size = 16;  // 40 samples: batches cross epoch boundaries
  options.average_decay = 0.9;  // the parameter average is part of the state

  // Trains 12 steps with a save after 5; or loads that save into a freshly built trainer of
  // a different model and trains to 12. Returns the final parameters and sample buffer.
  auto run = [&](const std::string& kind, bool resume) {
    Rng rng(11);
    Model model = mam::make_residual_model<double>(4, 2, 8, 2, rng);
    auto train = [&](auto& trainer) {
      if (resume) {
        Rng other(99);  // everything must come from the file
        model = mam::make_residual_model<double>(4, 2, 8, 2, other);
        trainer.load(path);
      }
      for (long step = trainer.steps(); step < 12; ++step) {
        if (!resume && step == 5) trainer.save(path);
        trainer.step();
      }
    };
    CodeMatrix buffer;
    Model averaged = model;
    if (kind == "conditional") {
      mam::ConditionalTrainer<Model> trainer(model, data, options, 5);
      train(trainer);
      trainer.average()->copy_to(averaged);
    } else if (kind == "marginal") {
      mam::MarginalTrainer<Model> trainer(model, data, {options, 0.5, 2}, 5);
      train(trainer);
      buffer = trainer.buffer();
      trainer.average()->copy_to(averaged);
    } else if (kind == "marginal, chain targets") {
      mam::MarginalTrainer<Model> trainer(
          model, data, {options, 0.5, 2, mam::MarginalObjective::chain_targets, 8, 1, 3}, 5);
      train(trainer);
      buffer = trainer.pool().sequences();
      trainer.average()->copy_to(averaged);
    } else {
      mam::EnergyTrainer<Model> trainer(model, log_f, {options, mam::EnergyObjective::matching, 1.0, 2, 0}, 5);
      train(trainer);
      buffer = trainer.buffer();
      trainer.average()->copy_to(averaged);
    }
    return std::make_tuple(model.marginal().parameters(), model.conditional().parameters(), model.log_z(), buffer,
                           averaged.marginal().parameters(), averaged.conditional().parameters(), averaged.log_z());
  };
  for (const std::string kind : {"conditional", "marginal", "marginal, chain targets", "energy"}) {
    INFO(kind << " trainer");
    const auto straight = run(kind, false);
    const auto resumed = run(kind, true);
    CHECK(std::get<0>(resumed) == std::get<0>(straight));
    CHECK(std::get<1>(resumed) == std::get<1>(straight));
    CHECK(std::get<2>(resumed) == std::get<2>(straight));
    CHECK(std::get<3>(resumed) == std::get<3>(straight));
    CHECK(std::get<4>(resumed) == std::get<4>(straight));
    CHECK(std::get<5>(resumed) == std::get<5>(straight));
    CHECK(std::get<6>(resumed) == std::get<6>(straight));
    // The average is not the last iterate (of the network this trainer trains).
    CHECK((std::get<4>(straight) != std::get<0>(straight) || std::get<5>(straight) != std::get<1>(straight)));
  }
  // A trainer of another kind refuses the file.
  Rng rng(1);
  Model model = mam::make_residual_model<double>(4, 2, 8, 2, rng);
  mam::ConditionalTrainer<Model> conditional(model, data, options, 5);
  CHECK_THROWS_AS(conditional.load(path), mam::architecture_error);
  // A marginal trainer with the other objective refuses it too (no buffer, or no pool).
  const mam::MarginalTrainerOptions by_chain{options, 0.5, 2, mam::MarginalObjective::chain_targets, 8, 1, 3};
  mam::MarginalTrainer<Model> consistency_trainer(model, data, {options, 0.5, 2}, 5);
  mam::MarginalTrainer<Model> chain_trainer(model, data, by_chain, 5);
  consistency_trainer.save(path);
  CHECK_THROWS_AS(chain_trainer.load(path), mam::format_error);
  chain_trainer.save(path);
  CHECK_THROWS_AS(consistency_trainer.load(path), mam::format_error);
  // Pool options are checked.
  CHECK_THROWS_AS(mam::MarginalTrainer<Model>(model, data, {options, 0.5, 2, by_chain.objective, 0, 0}, 5),
                  mam::value_error);
  CHECK_THROWS_WITH(mam::MarginalTrainer<Model>(model, data, {options, 0.5, 2, by_chain.objective, 8, 1, 0}, 5),
                    Catch::Contains("pool_refresh_interval >= 1"));
  CHECK_THROWS_WITH(mam::MarginalTrainer<Model>(model, data, {options, 0.5, 2, by_chain.objective, 8, 3, 3}, 5),
                    Catch::Contains("pool_refresh x pool_refresh_interval <= pool_size (8)") &&
                        Catch::Contains("got 3 x 3"));
  CHECK_THROWS_WITH(mam::MarginalTrainer<Model>(model, data, {options, 0.5, 2, by_chain.objective, 8, 1, 3, 1.25}, 5),
                    Catch::Contains("complete_share in [0, 1]") && Catch::Contains("got 1.25"));
  CHECK_NOTHROW(mam::MarginalTrainer<Model>(model, data, {options, 0.5, 2, by_chain.objective, 8, 4, 2}, 5));
  std::filesystem::remove_all(directory);
}

TEST_CASE("trainers stop on a non-finite target with an error naming the sample", "[training]") {
  Rng rng(12);
  Model model = mam::make_residual_model<double>(4, 2, 8, 2, rng);
  auto bad = [](const CodeMatrix& x) {
    Vector<double> values = Vector<double>::Zero(x.cols());
    values[3] = std::numeric_limits<double>::quiet_NaN();
    return values;
  };
  mam::EnergyTrainerOptions options;
  options.trainer.batch_size = 8;
  mam::EnergyTrainer<Model, std::function<Vector<double>(const CodeMatrix&)>> trainer(model, bad, options, 1);
  const Vector<double> before = model.marginal().parameters();
  CHECK_THROWS_WITH(trainer.step(), Catch::Contains("column) 3"));
  CHECK(model.marginal().parameters() == before);
}
