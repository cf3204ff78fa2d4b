// estimate/: the proposal's exact log q, neural importance sampling, neural MCMC and the
// autocorrelation time, against exact enumeration of small Ising and Potts lattices.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <mam/core/error.hpp>
#include <mam/core/math.hpp>
#include <mam/core/rng.hpp>
#include <mam/energy/gibbs.hpp>
#include <mam/energy/ising.hpp>
#include <mam/energy/potts.hpp>
#include <mam/estimate/autocorrelation.hpp>
#include <mam/estimate/importance_sampling.hpp>
#include <mam/estimate/metropolis_resample.hpp>
#include <mam/estimate/neural_mcmc.hpp>
#include <mam/estimate/proposal.hpp>
#include <mam/eval/enumerate.hpp>
#include <mam/model/residual.hpp>
#include <mam/sample/ancestral.hpp>
#include <mam/sample/censor_resample.hpp>
#include <mam/train/energy_trainer.hpp>

#include "support/chi_square.hpp"
#include "support/exact_laws.hpp"
#include "support/values.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Matrix;
using mam::Rng;
using mam::Vector;

namespace {

using Model = mam::ResidualMarginalizationModel<double>;

/// The exact law of a target over all_states(D, K).
template <class Target>
Vector<double> exact_log_p(const Target& target) {
  return mam::normalize_log(target.log_f(mam::all_states(target.num_variables(), target.num_values())));
}

template <class Target>
double exact_log_z(const Target& target) {
  return mam::log_sum_exp(target.log_f(mam::all_states(target.num_variables(), target.num_values())));
}

/// Chi-square p-value of samples against an exact law, in `bins` cells of about equal mass
/// (states sorted by probability), so that large state spaces get cells with real counts.
double binned_chi_square(const CodeMatrix& samples, const Vector<double>& log_p, Index k, Index bins) {
  const std::vector<double> counts = mam::test::state_counts(samples, k);
  std::vector<Index> by_probability(static_cast<std::size_t>(log_p.size()));
  std::iota(by_probability.begin(), by_probability.end(), Index{0});
  std::sort(by_probability.begin(), by_probability.end(), [&](Index a, Index b) { return log_p[a] < log_p[b]; });
  std::vector<double> observed, expected;
  double mass = 0.0, count = 0.0, done = 0.0;
  for (Index s : by_probability) {
    mass += std::exp(log_p[s]);
    count += counts[static_cast<std::size_t>(s)];
    if (done + mass >= static_cast<double>(observed.size() + 1) / static_cast<double>(bins) - 1e-12) {
      observed.push_back(count);
      expected.push_back(mass);
      done += mass;
      mass = count = 0.0;
    }
  }
  if (mass > 0.0) {
    observed.back() += count;
    expected.back() += mass;
  }
  return mam::test::chi_square_test(observed, expected).p_value;
}

/// A deliberately poor sampler: a small model after a few energy-based training steps.
template <class Target>
Model briefly_trained(const Target& target, long steps, std::uint64_t seed) {
  Rng rng(seed);
  Model model = mam::make_residual_model<double>(target.num_variables(), target.num_values(), 32, 2, rng,
                                                 mam::Activation::silu);
  mam::EnergyTrainerOptions options;
  options.trainer.batch_size = 64;
  options.trainer.marginal_adam.learning_rate = 3e-3;
  options.trainer.conditional_adam.learning_rate = 3e-3;
  mam::EnergyTrainer<Model, Target> trainer(model, target, options, seed + 1);
  for (long s = 0; s < steps; ++s) trainer.step();
  return model;
}

/// A model whose conditionals are exactly those of a field-only Ising target (sigma = 0,
/// independent spins with p(s = +1) = e^b / (2 cosh b)): head weights zero, head bias the logits
/// (-b, +b) at every position, plus `error` times a fixed pattern of perturbations.
Model exact_independent_spins(Index d, double field, double error) {
  Rng rng(5);
  Model model = mam::make_residual_model<double>(d, 2, 16, 2, rng);
  Vector<double> parameters = model.conditional().parameters();
  const auto& head = model.conditional().head();
  head.weight(parameters).setZero();
  for (Index i = 0; i < d; ++i) {
    head.bias(parameters)[2 * i] = -field + error * std::sin(1.0 + static_cast<double>(i));
    head.bias(parameters)[2 * i + 1] = field;
  }
  model.conditional().set_parameters(parameters);
  return model;
}

/// Runs `steps` rounds of (independent move, local move if any) and returns the final states
/// of all chains: independent draws from the chain's law at that step.
template <class Mcmc>
const CodeMatrix& run_chains(Mcmc& mcmc, Index steps, Rng& rng) {
  for (Index t = 0; t < steps; ++t) {
    mcmc.independent_step(rng);
    if (mcmc.options().local_positions > 0) mcmc.local_step(rng);
  }
  return mcmc.states();
}

}  // namespace

TEST_CASE("the proposal's log q is the chain rule along the order that drew each sample", "[estimate]") {
  Rng init(1);
  const Model model = mam::make_residual_model<double>(5, 3, 16, 2, init, mam::Activation::silu);
  SECTION("random orders: the samples of sample_ancestral for the same seed") {
    Rng a(7), b(7);
    const mam::ProposalSamples drawn = mam::draw_from_proposal(model, 50, a);
    CHECK(drawn.samples == mam::sample_ancestral(model, 50, b));
    CHECK(drawn.log_q.isApprox(model.log_likelihood_chain(drawn.samples, drawn.orders), 1e-12));
    CHECK(drawn.log_q.isApprox(drawn.step_log_q.colwise().sum().transpose(), 1e-14));
    for (const auto& order : drawn.orders) CHECK(order.size() == 5u);
  }
  SECTION("a fixed order") {
    mam::ProposalOptions options;
    options.order = {4, 2, 0, 1, 3};
    Rng rng(8);
    const mam::ProposalSamples drawn = mam::draw_from_proposal(model, 40, rng, options);
    for (const auto& order : drawn.orders) CHECK(order == options.order);
    CHECK(drawn.log_q.isApprox(model.log_likelihood_chain(drawn.samples, drawn.orders), 1e-12));
  }
  SECTION("a temperature: log q of the tempered conditionals, normalized over all states") {
    mam::ProposalOptions options;
    options.order = {0, 1, 2, 3, 4};
    options.temperature = 1.7;
    // q(x | sigma) over every state, from the tempered conditional tables of its prefixes.
    const CodeMatrix states = mam::all_states(5, 3);
    Vector<double> log_q(states.cols());
    for (Index c = 0; c < states.cols(); ++c) {
      CodeMatrix prefix = CodeMatrix::Constant(5, 1, mam::unknown);
      log_q[c] = 0.0;
      for (Index p : options.order) {
        const Matrix<double> log_probs = model.conditional_log_probs(prefix);
        const Vector<double> tempered = log_probs.col(0).segment(p * 3, 3) / options.temperature;
        log_q[c] += mam::log_softmax_at(tempered, states(p, c));
        prefix(p, 0) = states(p, c);
      }
    }
    CHECK(mam::log_sum_exp(log_q) == Approx(0.0).margin(1e-10));
    Rng rng(9);
    const mam::ProposalSamples drawn = mam::draw_from_proposal(model, 30, rng, options);
    for (Index c = 0; c < drawn.samples.cols(); ++c)
      CHECK(drawn.log_q[c] == Approx(log_q[mam::state_index(drawn.samples, c, 3)]).epsilon(1e-10));
  }
  SECTION("bad options") {
    Rng rng(1);
    mam::ProposalOptions options;
    options.order = {0, 1, 1, 2, 3};
    CHECK_THAT(mam::test::message_of<mam::value_error>([&] { mam::draw_from_proposal(model, 3, rng, options); }), Catch::Contains("permutation of 0..4"));
    options.order = {};
    options.temperature = 0.0;
    CHECK_THAT(mam::test::message_of<mam::value_error>([&] { mam::draw_from_proposal(model, 3, rng, options); }), Catch::Contains("temperature > 0"));
  }
}

TEST_CASE("log Z, ESS and self-normalized means from log-weights: hand-computed cases", "[estimate]") {
  // w = (1, 3): mean 2, sd sqrt(2), ESS = 16 / (2 * 10).
  const Vector<double> log_w = mam::test::vec({0.0, std::log(3.0)});
  const mam::LogPartitionEstimate z = mam::estimate_log_partition(log_w);
  CHECK(z.log_z == Approx(std::log(2.0)).epsilon(1e-14));
  CHECK(z.standard_error == Approx(std::sqrt(2.0 / 2.0) / 2.0).epsilon(1e-14));
  CHECK(z.ess_fraction == Approx(0.8).epsilon(1e-14));
  CHECK(mam::effective_sample_size_fraction(log_w) == Approx(0.8).epsilon(1e-14));
  // Shifting every log-weight by 1000 changes log Z by 1000 and nothing else (no overflow).
  const mam::LogPartitionEstimate shifted = mam::estimate_log_partition((log_w.array() + 1000.0).matrix());
  CHECK(shifted.log_z == Approx(1000.0 + std::log(2.0)).epsilon(1e-14));
  CHECK(shifted.standard_error == Approx(z.standard_error).epsilon(1e-12));
  // E[h] with h = (10, 20): (10 + 60) / 4; se = sqrt(1 * 7.5^2 + 9 * 2.5^2) / 4.
  const mam::ObservableEstimate mean = mam::self_normalized_mean(log_w, mam::test::vec({10.0, 20.0}));
  CHECK(mean.mean == Approx(17.5).epsilon(1e-14));
  CHECK(mean.standard_error == Approx(std::sqrt(7.5 * 7.5 + 9 * 2.5 * 2.5) / 4.0).epsilon(1e-14));
  // A weight of zero (log w = -inf) counts as a sample that missed.
  const Vector<double> with_zero = mam::test::vec({0.0, -std::numeric_limits<double>::infinity()});
  CHECK(mam::estimate_log_partition(with_zero).log_z == Approx(std::log(0.5)).epsilon(1e-14));
  CHECK(mam::estimate_log_partition(with_zero).ess_fraction == Approx(0.5).epsilon(1e-14));

  CHECK_THAT(mam::test::message_of<mam::shape_error>([] { mam::estimate_log_partition(mam::test::vec({1.0})); }), Catch::Contains("at least 2 log-weights"));
  CHECK_THAT(mam::test::message_of<mam::numeric_error>(
      [] { mam::estimate_log_partition(mam::test::vec({1.0, std::nan("")})); }), Catch::Contains("finite or -inf"));
  CHECK_THAT(mam::test::message_of<mam::numeric_error>(
      [] {
        const double minus_inf = -std::numeric_limits<double>::infinity();
        mam::estimate_log_partition(mam::test::vec({minus_inf, minus_inf}));
      }), Catch::Contains("at least one finite log-weight"));
  CHECK_THAT(mam::test::message_of<mam::shape_error>(
      [&] { mam::self_normalized_mean(log_w, mam::test::vec({1.0, 2.0, 3.0})); }), Catch::Contains("one value per log-weight"));
  CHECK_THAT(mam::test::message_of<mam::numeric_error>(
      [&] { mam::self_normalized_mean(log_w, mam::test::vec({1.0, std::nan("")})); }), Catch::Contains("finite observable values"));
}

TEST_CASE("a proposal equal to p gives ESS / N = 1 and log Z exactly, a worse one less", "[estimate]") {
  const double field = 0.4;
  const mam::IsingModel target{3, 0.0, field};  // independent spins
  const double log_z = 9.0 * std::log(2.0 * std::cosh(field));
  REQUIRE(exact_log_z(target) == Approx(log_z).epsilon(1e-12));

  const Model perfect = exact_independent_spins(9, field, 0.0);
  Rng rng(3);
  const mam::ImportanceSamples exact = mam::importance_sample(perfect, target, 500, rng);
  const mam::LogPartitionEstimate z = exact.log_partition();
  CHECK(z.ess_fraction == Approx(1.0).epsilon(1e-12));
  CHECK(z.log_z == Approx(log_z).epsilon(1e-12));
  CHECK(z.standard_error < 1e-10);
  CHECK(z.count == 500);

  double previous = 1.0;
  for (double error : {0.3, 1.0, 2.5}) {
    const Model worse = exact_independent_spins(9, field, error);
    Rng worse_rng(3);
    const double ess = mam::importance_sample(worse, target, 4000, worse_rng).ess_fraction();
    CHECK(ess < previous);
    previous = ess;
  }
  CHECK(previous < 0.5);

  // Independent Metropolis-Hastings with q = p accepts every proposal.
  mam::NeuralMcmcOptions options;
  options.chains = 100;
  options.local_positions = 3;
  mam::NeuralMcmc mcmc(perfect, target, options, rng);
  for (int t = 0; t < 5; ++t) {
    CHECK(mcmc.independent_step(rng) == 1.0);
    CHECK(mcmc.local_step(rng) == 1.0);
  }
  CHECK(mcmc.independent_acceptance().rate() == 1.0);
  CHECK(mcmc.local_acceptance().proposed == 500);
}

TEST_CASE("log Z-hat is unbiased for Z and its standard error is calibrated over 200 seeds", "[estimate]") {
  auto check = [](const auto& target, const Model& proposal, Index count) {
    const double log_z = exact_log_z(target);
    const int seeds = 200;
    Vector<double> ratio(seeds);
    int covered = 0;
    double ess = 0.0;
    for (int s = 0; s < seeds; ++s) {
      Rng rng(1000 + static_cast<std::uint64_t>(s));
      const mam::LogPartitionEstimate z = mam::importance_sample(proposal, target, count, rng).log_partition();
      ratio[s] = std::exp(z.log_z - log_z);
      if (std::abs(z.log_z - log_z) <= 1.96 * z.standard_error) ++covered;
      ess += z.ess_fraction / seeds;
    }
    INFO("ESS / N " << ess << ", coverage " << covered << " / " << seeds << ", mean Z-hat / Z " << ratio.mean());
    CHECK(ess < 0.9);  // a sampler that leaves something to correct
    const double mean = ratio.mean();
    const double standard_error = std::sqrt((ratio.array() - mean).square().sum() / (seeds - 1.0) / seeds);
    CHECK(std::abs(mean - 1.0) < 3.0 * standard_error);
    CHECK(covered >= static_cast<int>(0.85 * seeds));
    CHECK(covered <= static_cast<int>(0.99 * seeds));
  };
  SECTION("independent spins as the proposal of a coupled 3 x 3 Ising model") {
    check(mam::IsingModel{3, 0.15, 0.2}, exact_independent_spins(9, 0.2, 0.0), 400);
  }
  SECTION("a briefly trained sampler of a 4 x 4 Ising model") {
    const mam::IsingModel target{4, 0.1, 0.2};
    check(target, briefly_trained(target, 300, 11), 500);
  }
}

TEST_CASE("neural MCMC samples the exact law with a poor sampler whose raw draws fail the same test",
          "[estimate]") {
  // Paramagnetic targets: a sampler trained by reverse KL drops the minority mode of an
  // ordered lattice, and no MCMC with that proposal returns to it in a test's time.
  const Index chains = 4000, bins = 40, steps = 120;
  auto check = [&](const auto& target, Index local) {
    const Index k = target.num_values();
    const Vector<double> log_p = exact_log_p(target);
    const Model model = briefly_trained(target, 150, 31);
    Rng rng(3);
    const double raw = binned_chi_square(mam::sample_ancestral(model, chains, rng), log_p, k, bins);
    mam::NeuralMcmcOptions options;
    options.chains = chains;
    options.local_positions = local;
    mam::NeuralMcmc mcmc(model, target, options, rng);
    const double corrected = binned_chi_square(run_chains(mcmc, steps, rng), log_p, k, bins);
    INFO("raw sampler p = " << raw << ", neural MCMC p = " << corrected << ", acceptance "
                            << mcmc.independent_acceptance().rate() << " / " << mcmc.local_acceptance().rate());
    CHECK(raw < 1e-6);
    CHECK(corrected > 1e-3);
    CHECK(mcmc.independent_acceptance().rate() < 0.8);  // the sampler is far from p
    // The chains' bookkeeping: log q is still the chain rule along each chain's order.
    CHECK(mcmc.log_q().isApprox(model.log_likelihood_chain(mcmc.states(), mcmc.orders()), 1e-10));
    CHECK(mcmc.log_f().isApprox(target.log_f(mcmc.states()), 1e-12));
  };
  SECTION("3 x 3 Ising, independent moves") { check(mam::IsingModel{3, 0.1, 0.2}, 0); }
  SECTION("3 x 3 Ising, independent and local moves") { check(mam::IsingModel{3, 0.1, 0.2}, 3); }
  SECTION("4 x 4 Ising") { check(mam::IsingModel{4, 0.1, 0.2}, 4); }
  SECTION("3-state Potts on 3 x 3") { check(mam::PottsModel{3, 3, 0.4, 0.3}, 3); }
}

TEST_CASE("Metropolis-corrected censor-and-resample converges to p, the uncorrected move to the model", "[estimate]") {
  const mam::IsingModel target{3, 0.1, 0.2};
  const Vector<double> log_p = exact_log_p(target);
  const Model model = briefly_trained(target, 150, 71);
  Rng rng(72);
  const CodeMatrix start = mam::sample_ancestral(model, 4000, rng);
  CodeMatrix corrected = start, uncorrected = start;
  Vector<double> log_f = target.log_f(start);
  double acceptance = 0.0;
  for (int t = 0; t < 60; ++t) {
    acceptance += mam::metropolis_censor_resample(model, corrected, log_f, 3, target, rng) / 60.0;
    mam::censor_resample(model, uncorrected, 3, rng);
  }
  INFO("acceptance " << acceptance);
  CHECK(acceptance > 0.3);
  CHECK(acceptance < 0.95);
  CHECK(log_f.isApprox(target.log_f(corrected), 1e-12));
  CHECK(binned_chi_square(corrected, log_p, 2, 40) > 1e-3);
  CHECK(binned_chi_square(uncorrected, log_p, 2, 40) < 1e-6);

  CodeMatrix bad = corrected;
  CHECK_THAT(mam::test::message_of<mam::value_error>([&] { mam::metropolis_censor_resample(model, bad, log_f, 0, target, rng); }),
             Catch::Contains("steps in 1..9"));
  Vector<double> short_log_f = log_f.head(3);
  CHECK_THAT(mam::test::message_of<mam::shape_error>([&] { mam::metropolis_censor_resample(model, bad, short_log_f, 2, target, rng); }),
             Catch::Contains("one log f value per sample (4000)"));
}

TEST_CASE("energy training with a Metropolis buffer and the NLL term on it trains the sampler",
          "[estimate][training]") {
  const mam::IsingModel target{3, 0.1, 0.2};
  Rng init(81);
  Model model = mam::make_residual_model<double>(9, 2, 32, 2, init, mam::Activation::silu);
  const Model untrained = model;
  mam::EnergyTrainerOptions options;
  options.trainer.batch_size = 64;
  options.trainer.conditional_adam.learning_rate = 3e-3;
  options.trainer.marginal_adam.learning_rate = 3e-3;
  options.metropolis_buffer = true;
  options.buffer_nll_weight = 1.0;
  options.gibbs_steps = 3;
  mam::EnergyTrainer<Model, mam::IsingModel> trainer(model, target, options, 82);
  for (int s = 0; s < 300; ++s) trainer.step();
  CHECK(trainer.buffer_acceptance() > 0.2);
  // The sampler's reverse KL from exact enumeration falls well below the untrained one's.
  const Vector<double> log_p = exact_log_p(target);
  auto reverse_kl = [&](const Model& m) {
    const Vector<double> log_q = mam::test::order_mixture_log_p(m);
    return (log_q.array().exp() * (log_q - log_p).array()).sum();
  };
  INFO("reverse KL " << reverse_kl(untrained) << " -> " << reverse_kl(model));
  CHECK(reverse_kl(model) < 0.25 * reverse_kl(untrained));

  options.refresh_every = 10;
  CHECK_THAT(mam::test::message_of<mam::value_error>([&] { mam::EnergyTrainer<Model, mam::IsingModel>(model, target, options, 1); }),
             Catch::Contains("refresh_every = 0 with metropolis_buffer"));
  options.refresh_every = 0;
  options.buffer_nll_weight = -1.0;
  CHECK_THAT(mam::test::message_of<mam::value_error>([&] { mam::EnergyTrainer<Model, mam::IsingModel>(model, target, options, 1); }),
             Catch::Contains("buffer_nll_weight >= 0"));
}

TEST_CASE("neural MCMC mixed with Gibbs sweeps of the target still samples it exactly", "[estimate]") {
  const mam::IsingModel target{3, 0.15, 0.2};
  const Model model = briefly_trained(target, 150, 61);
  Rng rng(62);
  mam::NeuralMcmcOptions options;
  options.chains = 4000;
  options.proposal.order = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  mam::NeuralMcmc mcmc(model, target, options, rng);
  for (int t = 0; t < 20; ++t) {
    mcmc.independent_step(rng);
    CodeMatrix states = mcmc.states();
    mam::gibbs_sweep(target, states, rng);
    mcmc.set_states(states, rng);
  }
  for (const auto& order : mcmc.orders()) CHECK(order == options.proposal.order);
  CHECK(mcmc.log_q().isApprox(model.log_likelihood_chain(mcmc.states(), mcmc.orders()), 1e-10));
  CHECK(binned_chi_square(mcmc.states(), exact_log_p(target), 2, 40) > 1e-3);

  CHECK_THAT(mam::test::message_of<mam::shape_error>([&] { mcmc.set_states(CodeMatrix::Zero(9, 3), rng); }), Catch::Contains("9 x 4000 (D x chains)"));
  CodeMatrix bad = mcmc.states();
  bad(2, 7) = mam::unknown;
  CHECK_THAT(mam::test::message_of<mam::value_error>([&] { mcmc.set_states(bad, rng); }), Catch::Contains("complete codes in 0..1"));
}

TEST_CASE("neural MCMC: same seed, same chains, and bad options are refused", "[estimate]") {
  const mam::IsingModel target{3, 0.3, 0.2};
  Rng init(1);
  const Model model = mam::make_residual_model<double>(9, 2, 16, 2, init);
  mam::NeuralMcmcOptions options;
  options.chains = 50;
  options.local_positions = 2;
  Rng a(5), b(5);
  mam::NeuralMcmc first(model, target, options, a), second(model, target, options, b);
  run_chains(first, 5, a);
  run_chains(second, 5, b);
  CHECK(first.states() == second.states());
  CHECK(first.log_weights() == second.log_weights());

  Rng rng(2);
  options.local_positions = 10;
  CHECK_THAT(mam::test::message_of<mam::value_error>([&] { mam::NeuralMcmc(model, target, options, rng); }), Catch::Contains("local_positions in 0..9"));
  options.local_positions = 0;
  options.chains = 0;
  CHECK_THAT(mam::test::message_of<mam::value_error>([&] { mam::NeuralMcmc(model, target, options, rng); }), Catch::Contains("chains >= 1"));
  options.chains = 4;
  mam::NeuralMcmc no_local(model, target, options, rng);
  CHECK_THAT(mam::test::message_of<mam::value_error>([&] { no_local.local_step(rng); }), Catch::Contains("local_positions >= 1"));
  auto infinite = [](const CodeMatrix& x) { return Vector<double>::Constant(x.cols(), std::nan("")); };
  CHECK_THAT(mam::test::message_of<mam::numeric_error>([&] { mam::NeuralMcmc(model, infinite, options, rng); }), Catch::Contains("a finite log f(x)"));
}

TEST_CASE("the integrated autocorrelation time of AR(1) chains is (1 + phi) / (1 - phi)", "[estimate]") {
  Rng rng(4);
  const Index steps = 2000, chains = 50;
  for (double phi : {0.0, 0.5, 0.8}) {
    Matrix<double> trace(steps, chains);
    for (Index c = 0; c < chains; ++c) {
      double x = rng.normal() / std::sqrt(1.0 - phi * phi);  // stationary start
      for (Index t = 0; t < steps; ++t) {
        trace(t, c) = x;
        x = phi * x + rng.normal();
      }
    }
    const double tau = (1.0 + phi) / (1.0 - phi);
    const mam::AutocorrelationTime measured = mam::integrated_autocorrelation_time(trace);
    INFO("phi " << phi << ": tau " << measured.tau << " over a window of " << measured.window);
    CHECK(measured.tau == Approx(tau).epsilon(0.1));
    CHECK(measured.long_enough);
    // The chain mean's standard error: variance 1 / (1 - phi^2), tau steps per independent draw.
    const mam::ChainEstimate mean = mam::chain_mean(trace);
    CHECK(mean.standard_error == Approx(std::sqrt(tau / (1.0 - phi * phi) / (steps * chains))).epsilon(0.1));
    CHECK(std::abs(mean.mean) < 4.0 * mean.standard_error);
  }
  // Chains stuck at different values: their spread shows as a long autocorrelation.
  Matrix<double> stuck(100, 4);
  for (Index c = 0; c < 4; ++c) stuck.col(c).setConstant(static_cast<double>(c));
  stuck(0, 0) = 0.5;
  CHECK_FALSE(mam::integrated_autocorrelation_time(stuck).long_enough);
  CHECK_THAT(mam::test::message_of<mam::value_error>(
      [] { mam::integrated_autocorrelation_time(Matrix<double>::Ones(10, 2)); }), Catch::Contains("a trace that varies"));
  CHECK_THAT(mam::test::message_of<mam::shape_error>(
      [] { mam::integrated_autocorrelation_time(Matrix<double>::Ones(1, 2)); }), Catch::Contains("at least 2 steps"));
}
