// mam_ising: energy-based training of a marginalization model on the Ising model of the
// MaM paper (an L x L torus, log f(s) = s^T (sigma A) s + b sum(s), s = 2x - 1) or, with
// --potts K, on a K-state Potts model of the same lattice (log f = sum_edges J [x_i = x_j]
// + h sum_i [x_i = 0]), with the exact answers the paper did not have: log Z, entropy and
// mean log f from a column transfer matrix, and ground-truth samples from long Gibbs runs
// (cached in the output directory).
//
// Prints a progress bar while training and, at the end, numbers that are true of normalized
// models first: the NLL of held-out Gibbs samples by the chain rule (D passes, exactly
// normalized) and by the marginal net corrected by its estimated log-normalizer; log Z by
// neural importance sampling (the conditional sampler's exact log q as proposal) against the
// exact log Z, with ESS; <E> and <|M|> from neural MCMC (exact in the limit) against Gibbs and
// the transfer matrix; the sampler's reverse KL. Then the marginal net's raw one-pass NLL and
// the marginal-vs-chain speed-up. Writes CSV logs, PNG pictures, a checkpoint, and one JSON
// line last. With --average (the default) everything after training uses the exponential
// moving average of the parameters, which REINFORCE's noisy steps leave better than the last
// iterate. Under `mpirun -np N` the N processes train together (--shards); rank 0 alone
// computes the ground truth, prints, evaluates and writes the files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include <mam/data/dataset.hpp>
#include <mam/energy/gibbs.hpp>
#include <mam/energy/ising.hpp>
#include <mam/energy/potts.hpp>
#include <mam/energy/transfer_matrix.hpp>
#include <mam/estimate/autocorrelation.hpp>
#include <mam/estimate/importance_sampling.hpp>
#include <mam/estimate/neural_mcmc.hpp>
#include <mam/io/model_checkpoint.hpp>
#include <mam/io/sample_file.hpp>
#include <mam/mam.hpp>
#include <mam/train/energy_trainer.hpp>
#include <mam/train/fit.hpp>

#include "support/files.hpp"
#include "support/json_line.hpp"
#include "support/matmul_option.hpp"
#include "support/png.hpp"
#include "support/processes.hpp"
#include "support/progress.hpp"
#include "support/run.hpp"
#include "support/timing.hpp"

namespace {

using Model = mam::ResidualMarginalizationModel<float>;
namespace ex = mam::examples;

struct Options : ex::RunOptions {
  Options() { out = "out/ising"; }
  int side = 10;
  int potts = 0;  // K >= 3: Potts model; 0: Ising
  double sigma = 0.1, field = 0.2, coupling = 0.5;
  int hidden = 512, layers = 4, batch = 256, gibbs_steps = 4;
  std::string activation = "silu";
  double learning_rate = 1e-3, alpha = 1.0, clip = 0.0, final_lr_fraction = 0.05, average = 0.999;
  double left_to_right = 0.0;
  bool reinforce_conditional = false;
  // The buffer follows f / Z by Metropolis-Hastings and teaches the sampler by maximum
  // likelihood: measured in docs/ising.md, the sampler's reverse KL falls from 1.8 to 0.5 nats.
  bool metropolis_buffer = true;
  double buffer_nll = 1.0;
  double minutes = 6.5;
  long steps = 0;  // 0: train for `minutes`
  std::string resume;
  long test_samples = 2000, burn_in_sweeps = 10000;
  std::string proposal_order = "left-to-right";
  long importance_samples = 4000, ess_every = 500, ess_samples = 256;
  long mcmc_chains = 200, mcmc_steps = 200, mcmc_burn_in = 20, mcmc_local = 4, mcmc_local_moves = 10;
};

/// The energy E = -log f and the order parameter of every column of x: |mean spin| for
/// Ising, (K max_k share_k - 1) / (K - 1) for Potts (the same for K = 2).
template <class Target>
std::pair<mam::Vector<double>, mam::Vector<double>> observables(const Target& target, const mam::CodeMatrix& x) {
  const mam::Index k = target.num_values();
  mam::Vector<double> energy = -target.log_f(x), order(x.cols());
  std::vector<double> counts(static_cast<std::size_t>(k));
  for (mam::Index c = 0; c < x.cols(); ++c) {
    std::fill(counts.begin(), counts.end(), 0.0);
    for (mam::Index i = 0; i < x.rows(); ++i) counts[static_cast<std::size_t>(x(i, c))] += 1.0;
    const double share = *std::max_element(counts.begin(), counts.end()) / static_cast<double>(x.rows());
    order[c] = (static_cast<double>(k) * share - 1.0) / static_cast<double>(k - 1);
  }
  return {energy, order};
}

/// Mean and standard error of independent values.
std::pair<double, double> mean_and_error(const mam::Vector<double>& v) {
  const double mean = v.mean();
  const double variance = (v.array() - mean).square().sum() / static_cast<double>(v.size() - 1);
  return {mean, std::sqrt(variance / static_cast<double>(v.size()))};
}

/// Names and parameters of the target, for the ground-truth cache and the outputs.
std::string target_name(const Options& o) {
  std::ostringstream name;
  if (o.potts >= 3)
    name << "potts" << o.potts << "_L" << o.side << "_J" << o.coupling << "_h" << o.field;
  else
    name << "ising_L" << o.side << "_sigma" << o.sigma << "_b" << o.field;
  return name.str();
}

/// Ground-truth samples: read from the cache if its parameters match, else drawn by Gibbs
/// sampling (one sample per chain after burn-in) and cached.
template <class Target>
mam::CodeMatrix ground_truth(const Target& target, const Options& o) {
  const std::string path = o.out + "/gibbs_" + target_name(o) + "_n" + std::to_string(o.test_samples) + "_burn" +
                           std::to_string(o.burn_in_sweeps) + "_seed" + std::to_string(o.seed) + ".samples";
  const mam::io::KeyValues parameters{{"target", target_name(o)},
                                      {"samples", std::to_string(o.test_samples)},
                                      {"burn_in_sweeps", std::to_string(o.burn_in_sweeps)},
                                      {"seed", std::to_string(o.seed)}};
  if (std::filesystem::exists(path)) {
    mam::io::StoredSamples cached = mam::io::load_samples(path, target.num_values());
    if (cached.metadata == parameters && cached.samples.rows() == target.num_variables()) {
      std::fprintf(stderr, "ground truth: %ld Gibbs samples from the cache %s\n", o.test_samples, path.c_str());
      return std::move(cached.samples);
    }
  }
  mam::Rng rng(o.seed + 1000003);
  mam::CodeMatrix samples;
  const double seconds = ex::seconds_of([&] { samples = mam::gibbs_sample(target, o.test_samples, o.burn_in_sweeps, 1, 1, rng); });
  mam::io::save_samples(path, samples, parameters);
  std::fprintf(stderr, "ground truth: %ld chains x %ld sweeps of Gibbs sampling in %.1f s, cached in %s\n",
               o.test_samples, o.burn_in_sweeps, seconds, path.c_str());
  return samples;
}

/// Trains on `target`, evaluates against its exact answers and Gibbs samples, writes the
/// outputs; returns the exit code. Every process trains; rank 0 alone does the rest.
template <class Target>
int train_and_evaluate(const Target& target, const Options& o, const ex::Processes& processes) {
  const mam::Index d = target.num_variables();
  const mam::Index k = target.num_values();
  const double bits = static_cast<double>(d) * std::log(2.0);  // nats -> bits per dimension

  // Exact answers (transfer matrix) where the width allows, and the ground truth: rank 0's,
  // for the log and the evaluation.
  const bool exact = mam::transfer_matrix_fits(target);
  mam::ExactAnswers answers{};
  mam::CodeMatrix test;
  processes.on_root([&] {
    if (exact) answers = mam::exact_answers(target);
    test = ground_truth(target, o);
  });

  mam::Rng rng(o.seed);
  Model model =
      mam::make_residual_model<float>(d, k, o.hidden, o.layers, rng, mam::activation_from_string(o.activation));
  ex::set_matmul_precision(model, o.matmul);
  mam::EnergyTrainerOptions options;
  options.trainer.batch_size = o.batch;
  options.trainer.marginal_adam.learning_rate = o.learning_rate;
  options.trainer.conditional_adam.learning_rate = o.learning_rate;
  options.trainer.clip_norm = o.clip;
  options.trainer.average_decay = o.average;
  options.alpha = o.alpha;
  options.gibbs_steps = std::min<mam::Index>(o.gibbs_steps, d);
  options.left_to_right = o.left_to_right;
  options.reinforce_conditional = o.reinforce_conditional;
  options.metropolis_buffer = o.metropolis_buffer;
  options.buffer_nll_weight = o.buffer_nll;
  options.trainer.data_parallel = o.data_parallel(processes);
  mam::EnergyTrainer<Model, Target> trainer(model, target, options, o.seed + 1);
  mam::ProposalOptions proposal;  // the orders every importance sample and MCMC proposal is drawn in
  if (o.proposal_order == "left-to-right") {
    proposal.order.resize(static_cast<std::size_t>(d));
    std::iota(proposal.order.begin(), proposal.order.end(), mam::Index{0});
  }

  // Training with a live progress bar and a CSV log of every metric.
  std::ostringstream csv;
  // buffer_log_ratio: the buffer's mean log p_theta(x) - log f(x) + log Z; with the paper's
  // buffer (--no-metropolis-buffer), which follows the model, an estimate of the reverse KL.
  csv << "step,seconds,loss,consistency,anchor_error,buffer_log_ratio,nll_bpd_marginal\n";
  std::vector<double> curve_step, curve_kl, curve_nll;
  // Importance sampling during training, every --ess-every steps: ESS / N and the error of log Z-hat.
  std::ostringstream importance_csv;
  importance_csv << "step,ess_fraction,log_z_estimate,log_z_standard_error,log_z_error\n";
  std::vector<double> ess_step, ess_curve, log_z_error_curve;
  mam::Rng ess_rng(o.seed + 3);
  const mam::CodeMatrix monitor = test.leftCols(std::min<mam::Index>(256, test.cols()));
  ex::ProgressBar progress("training");
  mam::FitOptions fit = ex::fit_options(o.out + "/trainer.ckpt", o, false, processes);
  fit.resume_from = o.resume;
  fit.budget = ex::budget_of(o.steps, o.minutes);
  // Cosine decay over the run (steps or time): REINFORCE gradients are noisy, and a falling
  // rate averages the noise out at the end.
  fit.learning_rate = mam::CosineLearningRate{o.learning_rate, o.learning_rate * o.final_lr_fraction};
  const auto log_step = [&](const mam::StepReport& report, double fraction, double seconds) {
    const double nll = -model.log_marginal(monitor).mean() / bits;
    const double kl = exact ? report.mean_log_ratio + answers.log_z : std::nan("");
    csv << report.step << ',' << seconds << ',' << report.loss << ',' << report.consistency << ','
        << report.anchor_error << ',' << kl << ',' << nll << '\n';
    curve_step.push_back(static_cast<double>(report.step));
    curve_kl.push_back(kl);
    curve_nll.push_back(nll);
    if (o.ess_every > 0 && (report.step % o.ess_every == 0 || fraction >= 1.0)) {
      const mam::LogPartitionEstimate z =
          mam::importance_sample(model, target, o.ess_samples, ess_rng, proposal).log_partition();
      const double error = exact ? z.log_z - answers.log_z : std::nan("");
      importance_csv << report.step << ',' << z.ess_fraction << ',' << z.log_z << ',' << z.standard_error << ','
                     << error << '\n';
      ess_step.push_back(static_cast<double>(report.step));
      ess_curve.push_back(z.ess_fraction);
      log_z_error_curve.push_back(std::abs(error));
    }
    // Without the exact log Z the bar shows the buffer's mean log p - log f (the ratio less log Z).
    char metrics[200];
    std::snprintf(metrics, sizeof metrics, "step %ld  loss %.3f  self-consistency %.2e  %s%.3f  NLL %.4f bpd  ESS/N %.2f",
                  report.step, report.loss, report.consistency, exact ? "buffer log p/p* " : "buffer log p/f ",
                  exact ? kl : report.mean_log_ratio, nll, ess_curve.empty() ? std::nan("") : ess_curve.back());
    progress.update(fraction, metrics);
  };
  // Every process gets the same calls: rank 0 logs while the others wait.
  fit.on_log = [&](const mam::StepReport& report, double fraction, double seconds) {
    processes.on_root([&] { log_step(report, fraction, seconds); });
  };
  const mam::FitResult trained = mam::fit(trainer, fit);
  // From here on rank 0 alone: the others return at once and wait for it in main().
  if (!processes.root())
    return ex::unfinished(trained.end, trained.steps_this_run, fit.checkpoint, processes).value_or(0);
  progress.finish();
  ex::write_text_atomically(o.out + "/training.csv", csv.str());
  if (o.ess_every > 0) ex::write_text_atomically(o.out + "/importance.csv", importance_csv.str());
  if (const auto code = ex::unfinished(trained.end, trained.steps_this_run, fit.checkpoint, processes)) return *code;

  // Evaluation against the ground truth, with the averaged parameters when averaging.
  const mam::Index eval_batch = 256;
  auto log_marginal = [&](const auto& x) { return model.log_marginal(x); };
  const double nll_last_iterate = -mam::batched_mean(test, eval_batch, log_marginal) / bits;
  ex::use_average(trainer, model);
  double nll_marginal = 0.0, nll_chain = 0.0;
  const double marginal_seconds = ex::seconds_of([&] { nll_marginal = -mam::batched_mean(test, eval_batch, log_marginal) / bits; });
  mam::Rng eval_rng(o.seed + 2);
  const double chain_seconds = ex::seconds_of([&] {
    nll_chain = -mam::batched_mean(test, eval_batch, [&](const auto& x) { return model.log_likelihood_chain(x, 1, eval_rng); }) / bits;
  });

  // Neural importance sampling: the sampler's exact log q(x | sigma) makes log f - log q exact
  // importance weights. They give log Z-hat, ESS, the sampler's reverse KL (exact in
  // expectation, from the same samples) and, weighing the marginal net's p_theta instead of f,
  // its log-normalizer log sum_x p_theta(x): the correction that makes its NLL honest.
  const mam::ImportanceSamples weighed = mam::importance_sample(model, target, o.importance_samples, eval_rng, proposal, eval_batch);
  const mam::LogPartitionEstimate log_z_hat = weighed.log_partition();
  const mam::Vector<double> log_p_theta = mam::map_batches(weighed.samples, eval_batch, log_marginal);
  const mam::LogPartitionEstimate normalizer = mam::estimate_log_partition(log_p_theta - weighed.log_q);
  const double nan = std::nan("");
  const double reverse_kl = exact ? (weighed.log_q - weighed.log_f).mean() + answers.log_z : nan;
  const double reverse_kl_marginal = exact ? (log_p_theta - weighed.log_f).mean() + answers.log_z : nan;
  const double nll_corrected = nll_marginal + normalizer.log_z / bits;
  const double nll_corrected_error = normalizer.standard_error / bits;
  const double entropy_floor = exact ? answers.entropy / bits : nan;

  // Neural MCMC: chains whose stationary law is p exactly, with independent moves from the
  // sampler and MH-corrected censor-and-resample moves; <E> and the order parameter over the
  // steps after burn-in, with standard errors from their autocorrelation time.
  mam::NeuralMcmcOptions mcmc_options;
  mcmc_options.chains = o.mcmc_chains;
  mcmc_options.proposal = proposal;
  mcmc_options.local_positions = std::min<mam::Index>(o.mcmc_local, d);
  mam::NeuralMcmc mcmc(model, target, mcmc_options, eval_rng);
  mam::Matrix<double> energy_trace(o.mcmc_steps, o.mcmc_chains), order_trace(o.mcmc_steps, o.mcmc_chains);
  const double mcmc_seconds = ex::seconds_of([&] {
    for (long t = 0; t < o.mcmc_burn_in + o.mcmc_steps; ++t) {
      mcmc.independent_step(eval_rng);
      for (long m = 0; mcmc_options.local_positions > 0 && m < o.mcmc_local_moves; ++m) mcmc.local_step(eval_rng);
      if (t < o.mcmc_burn_in) continue;
      const auto [energy, order_parameter] = observables(target, mcmc.states());
      energy_trace.row(t - o.mcmc_burn_in) = energy.transpose();
      order_trace.row(t - o.mcmc_burn_in) = order_parameter.transpose();
    }
  });
  const mam::ChainEstimate energy_mcmc = mam::chain_mean(energy_trace);
  const mam::ChainEstimate order_mcmc = mam::chain_mean(order_trace);
  const auto [gibbs_energy, gibbs_order] = observables(target, test);
  const auto [energy_gibbs, energy_gibbs_error] = mean_and_error(gibbs_energy);
  const auto [order_gibbs, order_gibbs_error] = mean_and_error(gibbs_order);
  const double energy_exact = exact ? -answers.mean_log_f : nan;
  const mam::CodeMatrix model_samples = weighed.samples.leftCols(std::min<mam::Index>(64, weighed.samples.cols()));

  // Pictures: model samples next to Gibbs samples; training curves.
  const int cell = 4, tiles = 8, tile = o.side * cell + cell;
  ex::Canvas grid(2 * tiles * tile + 3 * tile, tiles * tile + 40);
  grid.text(tile, 8, "MaM samples", {0, 0, 0});
  grid.text(tiles * tile + 2 * tile, 8, "Gibbs samples", {0, 0, 0});
  // At most tiles x tiles of each: --test-samples may be fewer.
  auto first_tiles = [&](const mam::CodeMatrix& x) { return x.leftCols(std::min<mam::Index>(tiles * tiles, x.cols())); };
  ex::draw_lattices(grid, first_tiles(model_samples), o.side, static_cast<int>(k), tiles, cell, tile, 32);
  ex::draw_lattices(grid, first_tiles(test), o.side, static_cast<int>(k), tiles, cell,
                    tiles * tile + 2 * tile, 32);
  grid.save_png(o.out + "/samples.png");
  std::vector<ex::Series> series{{"NLL (bits/dim)", curve_step, curve_nll, {200, 30, 30}}};
  if (exact) series.push_back({"buffer log p_theta / p* (nats)", curve_step, curve_kl, {30, 30, 200}});
  ex::line_plot("mam_ising training", "step", series).save_png(o.out + "/training.png");
  if (o.ess_every > 0) {
    std::vector<ex::Series> importance{{"ESS / N", ess_step, ess_curve, {30, 140, 30}}};
    if (exact) importance.push_back({"|log Z-hat - log Z| (nats)", ess_step, log_z_error_curve, {200, 30, 30}});
    ex::line_plot("importance sampling during training (" + std::to_string(o.ess_samples) + " samples)", "step",
                  importance)
        .save_png(o.out + "/importance.png");
  }
  mam::io::save_model(o.out + "/model.ckpt", model,
                      {{"example", "ising"}, {"target", target_name(o)}, {"seed", std::to_string(o.seed)}});

  const char* averaged = trainer.average() != nullptr ? " (averaged parameters)" : "";
  std::printf("NLL of %ld Gibbs samples%s: %.4f bits/dim by the chain rule (%ld passes, exactly normalized), "
              "%.4f +- %.4f by the marginal net after its normalization correction%s\n",
              static_cast<long>(test.cols()), averaged, nll_chain, static_cast<long>(d), nll_corrected,
              nll_corrected_error, exact ? "" : " (no exact floor at this width)");
  if (exact) std::printf("exact entropy floor %.4f bits/dim\n", entropy_floor);
  std::printf("importance sampling (%ld samples, %s orders): log Z-hat = %.4f +- %.4f%s, ESS/N = %.3f\n",
              o.importance_samples, o.proposal_order.c_str(), log_z_hat.log_z, log_z_hat.standard_error,
              exact ? (" (exact " + std::to_string(answers.log_z) + ", error " + std::to_string(log_z_hat.log_z - answers.log_z) + ")").c_str() : "",
              log_z_hat.ess_fraction);
  std::printf("neural MCMC (%ld chains, %ld + %ld steps of 1 independent + %ld local moves, %.0f s): acceptance %.3f independent / %.3f local; "
              "tau_int(E) %.2f steps%s\n",
              o.mcmc_chains, o.mcmc_burn_in, o.mcmc_steps, mcmc_options.local_positions > 0 ? o.mcmc_local_moves : 0L, mcmc_seconds, mcmc.independent_acceptance().rate(),
              mcmc.local_acceptance().rate(), energy_mcmc.autocorrelation.tau,
              energy_mcmc.autocorrelation.long_enough ? "" : " (fewer than 50 tau measured: errors understated; raise --mcmc-steps)");
  std::printf("<E> = %.4f +- %.4f by neural MCMC, %.4f +- %.4f by Gibbs%s\n", energy_mcmc.mean,
              energy_mcmc.standard_error, energy_gibbs, energy_gibbs_error,
              exact ? (", exact " + std::to_string(energy_exact)).c_str() : "");
  std::printf("<|M|> = %.4f +- %.4f by neural MCMC, %.4f +- %.4f by Gibbs\n", order_mcmc.mean, order_mcmc.standard_error,
              order_gibbs, order_gibbs_error);
  if (exact)
    std::printf("reverse KL of the sampler %.4f nats (%.4f scoring its samples by the marginal net)\n", reverse_kl,
                reverse_kl_marginal);
  std::printf("marginal net: raw one-pass NLL %.4f bits/dim%s, log sum_x p_theta(x) = %.4f +- %.4f nats (0 if normalized)\n",
              nll_marginal, averaged, normalizer.log_z, normalizer.standard_error);
  if (trainer.average() != nullptr)
    std::printf("the last iterate (not averaged): %.4f bits/dim by the marginal net\n", nll_last_iterate);
  std::printf("marginal inference %.3f s vs chain rule %.3f s: speed-up %.1fx\n", marginal_seconds, chain_seconds,
              chain_seconds / marginal_seconds);
  // Quantities that need the exact log Z are null where the lattice is too wide for it.
  ex::JsonLine json;
  json.add("nll_bpd_chain", nll_chain).add("nll_bpd_marginal_corrected", nll_corrected);
  json.add("nll_bpd_marginal_corrected_se", nll_corrected_error).add("entropy_floor_bpd", entropy_floor);
  json.add("log_z_importance", log_z_hat.log_z).add("log_z_importance_se", log_z_hat.standard_error);
  json.add("log_z_exact", exact ? answers.log_z : nan).add("log_z_error", exact ? log_z_hat.log_z - answers.log_z : nan);
  json.add("ess_fraction", log_z_hat.ess_fraction).add("reverse_kl_nats", reverse_kl);
  json.add("mcmc_acceptance", mcmc.independent_acceptance().rate()).add("mcmc_local_acceptance", mcmc.local_acceptance().rate());
  json.add("mcmc_tau_energy", energy_mcmc.autocorrelation.tau).add("mcmc_long_enough", energy_mcmc.autocorrelation.long_enough ? 1 : 0);
  json.add("energy_mcmc", energy_mcmc.mean).add("energy_mcmc_se", energy_mcmc.standard_error);
  json.add("energy_gibbs", energy_gibbs).add("energy_gibbs_se", energy_gibbs_error).add("energy_exact", energy_exact);
  json.add("abs_magnetization_mcmc", order_mcmc.mean).add("abs_magnetization_mcmc_se", order_mcmc.standard_error);
  json.add("abs_magnetization_gibbs", order_gibbs).add("abs_magnetization_gibbs_se", order_gibbs_error);
  json.add("nll_bpd_marginal_raw", nll_marginal).add("nll_bpd_marginal_last_iterate", nll_last_iterate);
  json.add("marginal_log_normalizer", normalizer.log_z).add("marginal_log_normalizer_se", normalizer.standard_error);
  json.add("reverse_kl_marginal_nats", reverse_kl_marginal);
  json.add("speedup", chain_seconds / marginal_seconds).add("steps", trainer.steps());
  json.add("train_seconds", trained.seconds).add("target", target_name(o)).add("seed", o.seed);
  std::printf("%s\n", json.str().c_str());
  return 0;
}

/// The whole program, in every process.
int program(int argc, char** argv, const ex::Processes& processes) {
  CLI::App app{"mam_ising: energy-based MaM training on an Ising (or Potts) torus, checked against exact answers"};
  Options o;
  app.add_option("--side", o.side, "lattice side L (L x L torus)")->check(CLI::Range(3, 64));
  app.add_option("--sigma", o.sigma, "Ising coupling scale sigma (each edge carries 2 sigma)");
  app.add_option("--field", o.field, "external field: b (Ising) or h on value 0 (Potts)");
  app.add_option("--potts", o.potts, "train on a K-state Potts model instead (K >= 3; 0 = Ising)")
      ->check(CLI::Range(0, 64) & !CLI::Range(1, 2));
  app.add_option("--coupling", o.coupling, "Potts coupling J per edge");
  app.add_option("--hidden", o.hidden, "hidden width of both networks")->check(CLI::PositiveNumber);
  app.add_option("--layers", o.layers, "layers of both networks")->check(CLI::PositiveNumber);
  app.add_option("--activation", o.activation, "activation of both networks")
      ->check(CLI::IsMember({"leaky_relu", "silu", "gelu"}));
  app.add_option("--batch", o.batch, "batch size (on-policy buffer)")->check(CLI::Range(2, 1 << 16));
  app.add_option("--lr", o.learning_rate, "peak Adam learning rate of both networks")->check(CLI::PositiveNumber);
  app.add_option("--final-lr", o.final_lr_fraction, "learning rate at the end as a fraction of --lr, cosine decay (1 = constant)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--average", o.average, "decay of the parameter average used after training (0 = last iterate)")
      ->check(CLI::Range(0.0, 0.999999));
  app.add_option("--alpha", o.alpha, "weight of self-consistency")->check(CLI::NonNegativeNumber);
  app.add_option("--gibbs-steps", o.gibbs_steps, "positions resampled per step (censor-and-resample)")
      ->check(CLI::PositiveNumber);
  app.add_option("--left-to-right", o.left_to_right,
                 "share of self-consistency orders that are left to right (trains the fixed-order sampler)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--reinforce-conditional", o.reinforce_conditional,
               "train the conditional net by the KL's REINFORCE weights too (the reference's logp_mc)");
  app.add_flag("--metropolis-buffer,!--no-metropolis-buffer", o.metropolis_buffer,
               "correct the buffer's censor-and-resample moves by Metropolis-Hastings, so that it follows f / Z "
               "(default on; --no-metropolis-buffer: the paper's buffer, which follows the model)");
  app.add_option("--buffer-nll", o.buffer_nll,
                 "weight of an AO-ARM NLL term on the buffer for the conditional net (0 = the paper's loss)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--clip", o.clip, "gradient-norm clipping (0 = off)")->check(CLI::NonNegativeNumber);
  app.add_option("--minutes", o.minutes, "training time budget in minutes (when --steps is 0)")
      ->check(CLI::PositiveNumber);
  app.add_option("--steps", o.steps, "total training steps, a resumed run included (overrides --minutes)")->check(CLI::NonNegativeNumber);
  o.add_to(app);
  app.add_option("--resume", o.resume, "trainer checkpoint to resume from");
  app.add_option("--test-samples", o.test_samples, "held-out Gibbs samples")->check(CLI::PositiveNumber);
  app.add_option("--burn-in", o.burn_in_sweeps, "Gibbs sweeps per chain")->check(CLI::PositiveNumber);
  app.add_option("--proposal-order", o.proposal_order,
                 "orders of the sampler in importance sampling and neural MCMC (and of the reverse KL)")
      ->check(CLI::IsMember({"left-to-right", "random"}));
  app.add_option("--importance-samples", o.importance_samples, "samples of the final importance-sampling estimates")
      ->check(CLI::Range(2L, 1L << 24));
  app.add_option("--ess-every", o.ess_every, "steps between importance-sampling checks during training (0 = off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--ess-samples", o.ess_samples, "samples of each check during training")->check(CLI::Range(2L, 1L << 20));
  app.add_option("--mcmc-chains", o.mcmc_chains, "neural MCMC chains")->check(CLI::Range(1L, 1L << 20));
  app.add_option("--mcmc-steps", o.mcmc_steps, "neural MCMC steps measured after burn-in")->check(CLI::Range(2L, 1L << 20));
  app.add_option("--mcmc-burn-in", o.mcmc_burn_in, "neural MCMC steps discarded first")->check(CLI::NonNegativeNumber);
  app.add_option("--mcmc-local", o.mcmc_local, "positions an MH-corrected censor-and-resample move redraws (0 = none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--mcmc-local-moves", o.mcmc_local_moves,
                 "local moves after each independent move (each costs --mcmc-local passes, an independent move D)")
      ->check(CLI::NonNegativeNumber);
  if (const auto code = ex::parse_command_line(app, argc, argv, processes)) return *code;

  try {
    ex::start_run(o.out, o.threads, processes);
    const int code = o.potts >= 3
                         ? train_and_evaluate(mam::PottsModel{o.side, o.potts, o.coupling, o.field}, o, processes)
                         : train_and_evaluate(mam::IsingModel{o.side, o.sigma, o.field}, o, processes);
    return processes.conclude(code);
  } catch (const mam::error& e) {
    if (!processes.alone()) throw;  // to run_program, which ends every process: none waits for this one
    std::fprintf(stderr, "mam_ising: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return ex::run_program(argc, argv, "mam_ising",
                         [&](const ex::Processes& processes) { return program(argc, argv, processes); });
}
