// mam_ising: energy-based training of a marginalization model on the Ising model of the
// MaM paper (an L x L torus, log f(s) = s^T (sigma A) s + b sum(s), s = 2x - 1) or, with
// --potts K, on a K-state Potts model of the same lattice (log f = sum_edges J [x_i = x_j]
// + h sum_i [x_i = 0]), with the exact answers the paper did not have: log Z, entropy and
// mean log f from a column transfer matrix, and ground-truth samples from long Gibbs runs
// (cached in the output directory).
//
// Prints a progress bar while training and, at the end, the NLL of held-out Gibbs samples in
// bits per dimension by the marginal net (one pass) and by the chain rule (D passes), the
// exact entropy floor, the reverse KL with the exact log Z and the measured marginal-vs-chain
// speed-up; writes a CSV log, PNG pictures, a checkpoint, and one JSON line last. With
// --average (the default) everything after training uses the exponential moving average of
// the parameters, which REINFORCE's noisy steps leave better than the last iterate.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include <mam/energy/gibbs.hpp>
#include <mam/energy/ising.hpp>
#include <mam/energy/potts.hpp>
#include <mam/energy/transfer_matrix.hpp>
#include <mam/eval/target_scores.hpp>
#include <mam/io/model_checkpoint.hpp>
#include <mam/io/sample_file.hpp>
#include <mam/mam.hpp>
#include <mam/train/energy_trainer.hpp>
#include <mam/train/fit.hpp>

#include "support/files.hpp"
#include "support/json_line.hpp"
#include "support/matmul_option.hpp"
#include "support/png.hpp"
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
  double minutes = 6.5;
  long steps = 0;  // 0: train for `minutes`
  std::string resume;
  long test_samples = 2000, burn_in_sweeps = 10000;
};

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
/// outputs; returns the exit code.
template <class Target>
int train_and_evaluate(const Target& target, const Options& o) {
  const mam::Index d = target.num_variables();
  const mam::Index k = target.num_values();
  const double bits = static_cast<double>(d) * std::log(2.0);  // nats -> bits per dimension

  // Exact answers (transfer matrix) where the width allows.
  const bool exact = mam::transfer_matrix_fits(target);
  mam::ExactAnswers answers{};
  if (exact) answers = mam::exact_answers(target);
  const mam::CodeMatrix test = ground_truth(target, o);

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
  mam::EnergyTrainer<Model, Target> trainer(model, target, options, o.seed + 1);

  // Training with a live progress bar and a CSV log of every metric.
  std::ostringstream csv;
  csv << "step,seconds,loss,consistency,anchor_error,reverse_kl_estimate,nll_bpd_marginal\n";
  std::vector<double> curve_step, curve_kl, curve_nll;
  const mam::CodeMatrix monitor = test.leftCols(std::min<mam::Index>(256, test.cols()));
  ex::ProgressBar progress("training");
  mam::FitOptions fit = ex::fit_options(o.out + "/trainer.ckpt", o, false);
  fit.resume_from = o.resume;
  fit.budget = ex::budget_of(o.steps, o.minutes);
  // Cosine decay over the run (steps or time): REINFORCE gradients are noisy, and a falling
  // rate averages the noise out at the end.
  fit.learning_rate = mam::CosineLearningRate{o.learning_rate, o.learning_rate * o.final_lr_fraction};
  fit.on_log = [&](const mam::StepReport& report, double fraction, double seconds) {
    const double nll = -model.log_marginal(monitor).mean() / bits;
    const double kl = exact ? report.mean_log_ratio + answers.log_z : std::nan("");
    csv << report.step << ',' << seconds << ',' << report.loss << ',' << report.consistency << ','
        << report.anchor_error << ',' << kl << ',' << nll << '\n';
    curve_step.push_back(static_cast<double>(report.step));
    curve_kl.push_back(kl);
    curve_nll.push_back(nll);
    // Without the exact log Z the bar shows E[log p - log f] = KL - log Z, which falls as KL does.
    char metrics[160];
    std::snprintf(metrics, sizeof metrics, "step %ld  loss %.3f  self-consistency %.2e  %s%.3f  NLL %.4f bpd",
                  report.step, report.loss, report.consistency, exact ? "KL~" : "log p - log f ",
                  exact ? kl : report.mean_log_ratio, nll);
    progress.update(fraction, metrics);
  };
  const mam::FitResult trained = mam::fit(trainer, fit);
  progress.finish();
  ex::write_text_atomically(o.out + "/training.csv", csv.str());
  if (const auto code = ex::unfinished(trained.end, trained.steps_this_run, fit.checkpoint)) return *code;

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

  // Reverse KL of the model's sampler, exactly (samples drawn and scored along one order), next
  // to the paper's estimate by the marginal net; and how far the marginal net is from
  // normalized (it is only as far as it is self-consistent: its NLL can even go below the
  // entropy floor).
  std::vector<mam::Index> order(static_cast<std::size_t>(d));
  std::iota(order.begin(), order.end(), mam::Index{0});
  const mam::TargetScores scores = mam::score_against_target(
      model, [&](const mam::CodeMatrix& x) { return target.log_f(x); }, std::min<mam::Index>(test.cols(), 2000), order,
      eval_rng, eval_batch);
  const mam::CodeMatrix& model_samples = scores.samples;
  const double nan = std::nan("");
  const double reverse_kl = exact ? scores.reverse_kl(answers.log_z) : nan;
  const double reverse_kl_marginal = exact ? scores.reverse_kl_by_marginal(answers.log_z) : nan;
  const double marginal_log_normalizer = scores.marginal_log_normalizer();
  const double entropy_floor = exact ? answers.entropy / bits : nan;

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
  if (exact) series.push_back({"reverse KL estimate (nats)", curve_step, curve_kl, {30, 30, 200}});
  ex::line_plot("mam_ising training", "step", series).save_png(o.out + "/training.png");
  mam::io::save_model(o.out + "/model.ckpt", model,
                      {{"example", "ising"}, {"target", target_name(o)}, {"seed", std::to_string(o.seed)}});

  std::printf("NLL of %ld Gibbs samples: %.4f bits/dim by the marginal net (1 pass), %.4f by the chain rule (%ld passes)%s\n",
              static_cast<long>(test.cols()), nll_marginal, nll_chain, static_cast<long>(d),
              trainer.average() != nullptr ? " with averaged parameters" : "");
  if (trainer.average() != nullptr)
    std::printf("the last iterate (not averaged): %.4f bits/dim by the marginal net\n", nll_last_iterate);
  if (exact)
    std::printf("exact: log Z = %.6f, entropy floor %.4f bits/dim; reverse KL of the sampler %.4f nats "
                "(%.4f scoring its samples by the marginal net)\n",
                answers.log_z, entropy_floor, reverse_kl, reverse_kl_marginal);
  std::printf("normalization of the marginal net: log sum_x p_theta(x) = %.4f nats (importance sampling; 0 if exact)\n",
              marginal_log_normalizer);
  std::printf("marginal inference %.3f s vs chain rule %.3f s: speed-up %.1fx\n", marginal_seconds, chain_seconds,
              chain_seconds / marginal_seconds);
  // Quantities that need the exact log Z are null where the lattice is too wide for it.
  ex::JsonLine json;
  json.add("nll_bpd_marginal", nll_marginal).add("nll_bpd_chain", nll_chain);
  json.add("nll_bpd_marginal_last_iterate", nll_last_iterate).add("entropy_floor_bpd", entropy_floor);
  json.add("log_z_exact", exact ? answers.log_z : nan).add("reverse_kl_nats", reverse_kl);
  json.add("reverse_kl_marginal_nats", reverse_kl_marginal).add("marginal_log_normalizer", marginal_log_normalizer);
  json.add("speedup", chain_seconds / marginal_seconds).add("steps", trainer.steps());
  json.add("train_seconds", trained.seconds).add("target", target_name(o)).add("seed", o.seed);
  std::printf("%s\n", json.str().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
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
  app.add_option("--clip", o.clip, "gradient-norm clipping (0 = off)")->check(CLI::NonNegativeNumber);
  app.add_option("--minutes", o.minutes, "training time budget in minutes (when --steps is 0)")
      ->check(CLI::PositiveNumber);
  app.add_option("--steps", o.steps, "total training steps, a resumed run included (overrides --minutes)")->check(CLI::NonNegativeNumber);
  o.add_to(app);
  app.add_option("--resume", o.resume, "trainer checkpoint to resume from");
  app.add_option("--test-samples", o.test_samples, "held-out Gibbs samples")->check(CLI::PositiveNumber);
  app.add_option("--burn-in", o.burn_in_sweeps, "Gibbs sweeps per chain")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  try {
    ex::start_run(o.out, o.threads);
    if (o.potts >= 3) return train_and_evaluate(mam::PottsModel{o.side, o.potts, o.coupling, o.field}, o);
    return train_and_evaluate(mam::IsingModel{o.side, o.sigma, o.field}, o);
  } catch (const mam::error& e) {
    std::fprintf(stderr, "mam_ising: %s\n", e.what());
    return 1;
  }
}
