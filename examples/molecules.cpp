// mam_molecules: marginalization models of molecule strings (SMILES or SELFIES), with RDKit
// as the judge of validity and Crippen logP.
//
//   --mode mle     maximum likelihood on NCI molecules (Debian rdkit-data): stage 1 fits the
//                  conditionals (AO-ARM), stage 2 the marginals (chain targets or
//                  self-consistency), on 90% of the molecules (--test-fraction holds out the
//                  rest); then the test and training NLL in bits per molecule, samples scored
//                  by the MOSES metrics against the held-out molecules, and a seed molecule
//                  completed with its positions --mask-from..--mask-to resampled.
//   --net          mlp (residual MLPs, default), transformer, or both one after the other.
//   --mode energy  no data in the objective: the target p*(x) ~ exp(-(logP(x) - g*)^2 / tau)
//                  over SELFIES strings of length 55 (any SELFIES string decodes to a
//                  molecule); the data only provide the alphabet. Warm start (default): MCMC
//                  chains on the target itself, then maximum likelihood on their samples
//                  (--mcmc-minutes 0 switches it off; then --pretrain-steps pretrains on the data).
//
// Prints a progress bar per training stage; writes a CSV log, pictures (SVG molecule grids by
// RDKit, PNG histograms and curves), checkpoints (--resume continues from them; Ctrl-C saves
// one) and one JSON line with the mode's metrics last.
//
// Under `mpirun -np N` the N processes train together (--shards), each reading the data (and
// RDKit scoring its own share of the energy mode's samples); rank 0 alone runs the MCMC warm
// start (its samples are sent to the others), prints, evaluates and writes the files.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include <CLI/CLI.hpp>

#include <mam/chem/selfies.hpp>
#include <mam/chem/sequence_metropolis.hpp>
#include <mam/chem/smiles.hpp>
#include <mam/data/vocabulary.hpp>
#include <mam/io/model_checkpoint.hpp>
#include <mam/mam.hpp>
#include <mam/train/conditional_trainer.hpp>
#include <mam/train/energy_trainer.hpp>
#include <mam/train/fit.hpp>
#include <mam/train/marginal_trainer.hpp>

#include "support/chemistry.hpp"
#include "support/files.hpp"
#include "support/json_line.hpp"
#include "support/logp_target.hpp"
#include "support/matmul_option.hpp"
#include "support/marginal_stage.hpp"
#include "support/molecule_data.hpp"
#include "support/molecule_metrics.hpp"
#include "support/png.hpp"
#include "support/processes.hpp"
#include "support/progress.hpp"
#include "support/run.hpp"

namespace {

using MlpModel = mam::ResidualMarginalizationModel<float>;
using TransformerModel = mam::TransformerMarginalizationModel<float>;
namespace ex = mam::examples;
namespace chem = mam::examples::chemistry;
using namespace mam::examples::molecules;  // the example's data, metrics and target

struct Options : ex::RunOptions {
  Options() { out = "out/molecules"; }
  std::string mode = "mle", strings = "smiles";
  std::string data = "/usr/share/RDKit/Data/NCI/first_5K.smi";
  int length = 0;  // 0: 60 for SMILES, 55 for SELFIES
  bool neutral = false;  // drop molecules with charged atoms (and so charged symbols)
  int smiles_augment = 0;  // randomized SMILES per molecule to train on (0: the canonical SMILES)
  std::string net = "mlp";  // mlp, transformer, or both (one after the other); see docs/molecules.md for why mlp
  int hidden = 512, layers = 4, batch = 256;  // the MLP's width; layers and batch of either net
  int width = 128, heads = 4, feed_forward = 0, head_width = 0;  // the Transformer's (0: 2 x width, width)
  double test_fraction = 0.1;  // molecules held out as the test set (MLE mode)
  long nll_orders = 2;         // random orders of the AO-ARM-E likelihood
  double learning_rate = 1e-3, final_lr_fraction = 1.0, clip = 0.0;
  double average = 0.999;  // decay of each stage's parameter average (0 = off; energy mode: 0)
  // Maximum likelihood.
  long stage1_steps = 3000, stage2_steps = 1000;
  double stage1_minutes = 0.0, stage2_minutes = 0.0;  // time budgets instead of steps when > 0
  double left_to_right_share = 0.0;  // stage 1: share of samples trained as a left-to-right ARM
  double padding_tail_share = 0.05;  // ... of those, the share scored in the padding tail (0: uniform)
  mam::Code padding_code = mam::unknown;  // the data's, set once the vocabulary is known
  int gibbs_steps = 4;
  ex::MarginalStageOptions stage2;  // MLE stage 2
  // Energy-based.
  double target = -4.0, tau = 0.1, tau_start = 0.0, invalid_distance = 20.0, alpha = 1.0;
  long pretrain_steps = 0, energy_steps = 0, refresh_every = 0;
  bool reinforce_conditional = false;  // REINFORCE the sampler (conditional net) too
  double minutes = 28.0;  // energy training time budget when --energy-steps is 0
  // Warm start from the target itself: Metropolis-Hastings chains on log f, whose samples
  // the conditionals (and marginals) are fitted to by maximum likelihood before the energy.
  double mcmc_minutes = 0.0, pretrain_minutes = 0.0, pretrain_marginal_minutes = 0.0;
  long mcmc_steps = 0, pretrain_marginal_steps = 0;  // instead of the minutes when > 0
  long mcmc_chains = 256, mcmc_thinning = 20;
  // Evaluation.
  long samples = 1000, conditional_samples = 64;
  int mask_from = 4, mask_to = 20;
  double temperature = 1.0;
  std::string sample_order = "random";
  bool resume = false, evaluate_only = false;
};


// ---------------------------------------------------------------------------------------------
// Training stages with a progress bar, a CSV log and checkpoints.

struct TrainingLog {
  std::ostringstream csv;
  std::vector<double> step, loss;
  double seconds = 0.0;
  ex::StepAllowance allowance;  // --stop-after, across the stages
  mam::FitEnd end = mam::FitEnd::budget_spent;  // of the last stage
  std::string checkpoint;                       // of the last stage
  explicit TrainingLog(long stop_after) : allowance(stop_after) {
    csv << "stage,step,seconds,loss,nll,consistency,mean_log_ratio,tau,buffer_within,buffer_mean_logp\n";
  }
};

/// What a stage's loop needs besides the trainer.
struct Stage {
  std::string name, checkpoint;
  long total_steps = 0;  // absolute: a resumed trainer continues to this count
  double minutes = 0.0;  // used instead when total_steps is 0
};

/// Trains `trainer` to the stage's budget (resuming from its checkpoint with --resume),
/// calling `before(fraction)` ahead of every step (for schedules; in every process) and
/// `extra(report)` for the energy columns of the log (rank 0's, while the others wait).
/// Returns false if the run ends here (a stop request or --stop-after; the checkpoint is
/// written).
template <class Trainer, class Before, class Extra>
bool run_stage(Trainer& trainer, const Stage& stage, const Options& o, TrainingLog& log,
               const ex::Processes& processes, Before&& before, Extra&& extra) {
  if (log.allowance.spent()) {
    log.end = mam::FitEnd::stop_after;
    return false;
  }
  ex::ProgressBar progress(stage.name);
  mam::FitOptions fit = ex::fit_options(stage.checkpoint, o, o.resume, processes);
  fit.budget = ex::budget_of(stage.total_steps, stage.minutes);
  fit.learning_rate = mam::CosineLearningRate{o.learning_rate, o.learning_rate * o.final_lr_fraction};
  fit.stop_after = log.allowance.next();
  fit.before_step = before;
  const auto log_step = [&](const mam::StepReport& report, double fraction, double seconds) {
    const auto [tau, within, mean_log_p] = extra(report);
    log.csv << stage.name << ',' << report.step << ',' << log.seconds + seconds << ',' << report.loss << ','
            << report.nll << ',' << report.consistency << ',' << report.mean_log_ratio << ',' << tau << ',' << within
            << ',' << mean_log_p << '\n';
    log.step.push_back(static_cast<double>(log.step.size()) * static_cast<double>(o.log_every));
    log.loss.push_back(report.loss);
    char metrics[200];
    if (std::isfinite(within))
      std::snprintf(metrics, sizeof metrics, "step %ld  loss %.3f  consistency %.2e  tau %.3g  within %.2f  logP %.2f",
                    report.step, report.loss, report.consistency, tau, within, mean_log_p);
    else if (std::isfinite(report.nll))
      std::snprintf(metrics, sizeof metrics, "step %ld  NLL %.3f nats", report.step, report.nll);
    else
      std::snprintf(metrics, sizeof metrics, "step %ld  self-consistency %.3e", report.step, report.consistency);
    progress.update(fraction, metrics);
  };
  fit.on_log = [&](const mam::StepReport& report, double fraction, double seconds) {
    processes.on_root([&] { log_step(report, fraction, seconds); });
  };
  const mam::FitResult result = mam::fit(trainer, fit);
  if (processes.root()) progress.finish();
  log.seconds += result.seconds_this_run;
  log.allowance.use(result);
  log.end = result.end;
  log.checkpoint = stage.checkpoint;
  return result.finished();
}

/// SMILES in --mode mle: its grammar reads left to right (brackets and ring digits open before
/// they close), so by default stage 1 trains 80% of its samples as the left-to-right ARM and
/// samples are drawn in that order (89.9% valid against 24.6% for the any-order model in
/// 18 + 2 minutes; see the README's molecule section). --left-to-right-share 0 --sample-order random is the paper's.
void apply_smiles_defaults(const CLI::App& app, Options& o) {
  if (app.count("--left-to-right-share") == 0) o.left_to_right_share = 0.8;
  if (app.count("--sample-order") == 0) o.sample_order = "left-to-right";
}

/// --mode energy has its own defaults for the options it shares with MLE (a smaller, faster
/// network and a larger learning rate: the target is reached by many cheap steps, not a big
/// model), starts tau low, and starts from the target's own samples: 4 minutes of MCMC, 12 of
/// stage 1 and 2 of stage 2 on them, 10 of energy training (see the README's molecule section
/// for the runs behind them). Options given on the command line win.
void apply_energy_defaults(const CLI::App& app, Options& o) {
  auto unset = [&app](const char* name) { return app.count(name) == 0; };
  if (unset("--hidden")) o.hidden = 256;
  if (unset("--layers")) o.layers = 3;
  if (unset("--batch")) o.batch = 128;
  if (unset("--lr")) o.learning_rate = 3e-3;
  if (unset("--final-lr")) o.final_lr_fraction = 0.1;
  if (unset("--average")) o.average = 0.0;  // the energy-mode defaults were measured without it
  if (unset("--tau-start")) o.tau_start = 0.01;
  // The warm start from the target (MCMC, then MLE on its samples) is on unless switched off
  // with --mcmc-minutes 0; its stages share the 28 minutes with the energy training.
  if (unset("--mcmc-minutes") && unset("--mcmc-steps")) o.mcmc_minutes = 4.0;
  if (o.mcmc_minutes <= 0.0 && o.mcmc_steps <= 0) return;
  if (unset("--pretrain-minutes") && unset("--pretrain-steps")) o.pretrain_minutes = 12.0;
  if (unset("--pretrain-marginal-minutes") && unset("--pretrain-marginal-steps")) o.pretrain_marginal_minutes = 2.0;
  if (unset("--minutes")) o.minutes = 10.0;
}

/// A Transformer (--net transformer) trains on smaller batches than the MLP, and stage 2's
/// chain targets keep a smaller pool: a Transformer walks by a full pass per revealed
/// position, so filling a pool of 1024 strings of 60 tokens took 8 minutes on 1 busy core
/// (see docs/molecules.md).
void apply_net_defaults(const CLI::App& app, const std::string& net, Options& o) {
  if (net != "transformer") return;
  if (app.count("--batch") == 0) o.batch = 128;
  if (app.count("--pool-size") == 0) o.stage2.pool_size = 256;
}

mam::TransformerConfig transformer_config(mam::Index d, mam::Index k, const Options& o) {
  mam::TransformerConfig config;
  config.num_variables = d;
  config.num_values = k;
  config.width = o.width;
  config.heads = o.heads;
  config.layers = o.layers;
  config.feed_forward = o.feed_forward > 0 ? o.feed_forward : 2 * o.width;
  config.head_width = o.head_width > 0 ? o.head_width : o.width;
  return config;
}

/// Mean negative log-likelihood of complete strings, in bits per molecule.
struct NllBits {
  double chain = std::nan("");          ///< by the conditionals' chain rule, log-mean-exp over random orders (AO-ARM-E)
  double left_to_right = std::nan("");  ///< by the chain rule left to right (the SMILES sampler's own likelihood)
  double marginal = std::nan("");       ///< by the marginal net, one pass (normalized at all '?')
};

template <class Model>
NllBits nll_bits(const Model& model, const mam::CodeMatrix& codes, long orders, bool left_to_right, mam::Rng& rng) {
  NllBits nll;
  if (codes.cols() == 0) return nll;
  double chain = 0.0, in_order = 0.0, marginal = 0.0;
  const mam::Index batch = 256;
  std::vector<mam::Index> positions(static_cast<std::size_t>(codes.rows()));
  std::iota(positions.begin(), positions.end(), mam::Index{0});
  for (mam::Index first = 0; first < codes.cols(); first += batch) {
    const mam::CodeMatrix x = codes.middleCols(first, std::min(batch, codes.cols() - first));
    chain -= model.log_likelihood_chain(x, orders, rng).sum();
    if (left_to_right)
      in_order -= model.log_likelihood_chain(x, mam::Orders(static_cast<std::size_t>(x.cols()), positions)).sum();
    marginal -= model.log_marginal(x).sum();
  }
  const double bits = std::log(2.0) * static_cast<double>(codes.cols());
  nll.chain = chain / bits;
  if (left_to_right) nll.left_to_right = in_order / bits;
  nll.marginal = marginal / bits;
  return nll;
}

auto no_schedule = [](double) {};
auto no_extra = [](const mam::StepReport&) { return std::make_tuple(std::nan(""), std::nan(""), std::nan("")); };

mam::TrainerOptions trainer_options(const Options& o, const ex::Processes& processes) {
  mam::TrainerOptions options;
  options.data_parallel = o.data_parallel(processes);
  options.batch_size = o.batch;
  options.marginal_adam.learning_rate = o.learning_rate;
  options.conditional_adam.learning_rate = o.learning_rate;
  options.clip_norm = o.clip;
  options.average_decay = o.average;
  options.conditional_orders.left_to_right = o.left_to_right_share;
  if (o.padding_tail_share > 0.0) {
    options.conditional_orders.padding = o.padding_code;
    options.conditional_orders.padding_tail_share = o.padding_tail_share;
  }
  return options;
}

/// Stage 1 (conditionals from data) to `total_steps` (or for `minutes` if > 0), resuming from
/// its checkpoint if asked. Returns the trainer's step count, or -1 if interrupted.
template <class Model>
long train_conditionals(Model& model, const mam::CodeMatrix& training_codes, const Options& o, const std::string& name,
                        long total_steps, double minutes, TrainingLog& log, const ex::Processes& processes) {
  mam::ConditionalTrainer<Model> trainer(model, training_codes, trainer_options(o, processes), o.seed + 1);
  const Stage stage{name, o.out + "/" + name + ".ckpt", minutes > 0.0 ? 0 : total_steps, minutes};
  if (!run_stage(trainer, stage, o, log, processes, no_schedule, no_extra)) return -1;
  ex::use_average(trainer, model);
  return trainer.steps();
}

/// Stage-2 options (marginals from the conditionals) shared by MLE and the energy warm start.
mam::MarginalTrainerOptions marginal_trainer_options(const Options& o, const ex::Processes& processes) {
  mam::MarginalTrainerOptions options;
  options.trainer = trainer_options(o, processes);
  options.gibbs_steps = std::min<mam::Index>(o.gibbs_steps, o.length);
  o.stage2.apply_to(options);
  return options;
}

void write_histogram(const std::string& path, const std::string& title, const std::vector<double>& samples,
                     const std::vector<double>& data, const std::vector<ex::Marker>& markers) {
  ex::histogram_plot(title, "Crippen logP",
                     {{"model samples", samples, {200, 40, 40}}, {"training molecules", data, {40, 40, 200}}}, markers)
      .save_png(path);
}

/// Trains `model` (unless --evaluate-only) in o.out and evaluates it, adding the headline
/// numbers to `summary`. Returns the exit code when the training ends early (a stop request or
/// --stop-after), else nothing. Every process trains; rank 0 alone evaluates (the others
/// return after training, with an empty `summary`).
template <class Model>
std::optional<int> train_and_evaluate(Model& model, const std::string& net, Options o, const MoleculeData& data,
                                      const Representation& representation, ex::JsonLine& summary,
                                      const ex::Processes& processes) {
  ex::set_matmul_precision(model, o.matmul);
  const bool energy = o.mode == "energy";
  const std::unordered_set<std::string> training(data.canonical.begin(), data.canonical.end());
  const auto d = static_cast<mam::Index>(o.length);
  const mam::Index k = data.vocabulary.size();
  TrainingLog log(o.stop_after);
  bool finished = true;
  LogPTarget target(data.vocabulary, representation, o.target, o.tau, o.invalid_distance);
  long energy_steps_done = 0, stage1_steps_done = 0, stage2_steps_done = 0;
  TargetSamples mcmc;
  double tau_now = o.tau;

  if (o.evaluate_only) {
    if (!processes.root()) return std::nullopt;  // the evaluation is rank 0's
    const mam::io::KeyValues stored = mam::io::load_model(o.out + "/model.ckpt", model);
    if (mam::Vocabulary::from_key_values(stored) != data.vocabulary)
      throw mam::value_error("mam_molecules: " + o.out + "/model.ckpt was trained with another vocabulary");
  } else if (!energy) {
    // Stage 2's checkpoint holds the whole model: with it, stage 1 is done.
    const std::string stage2_checkpoint = o.out + "/marginal.ckpt";
    const bool stage1_done =
        processes.from_root(o.resume && processes.root() && std::filesystem::exists(stage2_checkpoint));
    if (!stage1_done) {
      stage1_steps_done = train_conditionals(model, data.training_codes, o, "conditional", o.stage1_steps,
                                             o.stage1_minutes, log, processes);
      finished = stage1_steps_done >= 0;
    }
    if (finished) {
      const mam::MarginalTrainerOptions options = marginal_trainer_options(o, processes);
      if (!stage1_done) o.stage2.prepare(model);
      mam::MarginalTrainer<Model> trainer(model, data.training_codes, options, o.seed + 2);
      const Stage stage{"marginal", stage2_checkpoint, o.stage2_minutes > 0.0 ? 0 : o.stage2_steps,
                        o.stage2_minutes};
      finished = run_stage(trainer, stage, o, log, processes, no_schedule, no_extra);
      if (finished) ex::use_average(trainer, model);
      stage2_steps_done = trainer.steps();
    }
  } else {
    const std::string energy_checkpoint = o.out + "/energy.ckpt";
    const bool pretrain_done =
        processes.from_root(o.resume && processes.root() && std::filesystem::exists(energy_checkpoint));
    const bool warm_start = o.mcmc_minutes > 0.0 || o.mcmc_steps > 0;
    if (warm_start && o.pretrain_steps == 0 && o.pretrain_minutes <= 0.0)
      throw mam::value_error("mam_molecules: the MCMC warm start needs pretraining on its samples "
                             "(--pretrain-minutes or --pretrain-steps > 0)");
    mam::CodeMatrix pretrain_codes = data.training_codes;
    if (warm_start && !pretrain_done) {
      // Rank 0's chains (a time budget would end them at different steps in each process),
      // their samples sent to the others.
      if (processes.root()) {
        mcmc = sample_target(target, data.vocabulary,
                             {d, o.mcmc_chains, o.mcmc_thinning, ex::budget_of(o.mcmc_steps, o.mcmc_minutes), o.seed + 6});
        log.seconds += mcmc.seconds;
      }
      finished = processes.from_root(!ex::interrupted());
      if (!finished) log.end = mam::FitEnd::stop_requested;
      if (processes.root())
        std::fprintf(stderr,
                     "mcmc: %ld steps of %ld chains in %.0f s, acceptance %.3f (substitute %.3f, insert %.3f, "
                     "delete %.3f); %ld samples, %.1f%% within +-0.5, %ld distinct molecules\n",
                     mcmc.steps, o.mcmc_chains, mcmc.seconds, mcmc.counts.acceptance_rate(),
                     mcmc.counts.acceptance_rate(0), mcmc.counts.acceptance_rate(1), mcmc.counts.acceptance_rate(2),
                     static_cast<long>(mcmc.codes.cols()), 100.0 * mcmc.within, mcmc.distinct);
      processes.broadcast(mcmc.codes);
      pretrain_codes = mcmc.codes;
    }
    const bool pretrain = (o.pretrain_steps > 0 || o.pretrain_minutes > 0.0) && !pretrain_done;
    const bool pretrain_marginal = o.pretrain_marginal_steps > 0 || o.pretrain_marginal_minutes > 0.0;
    if (finished && pretrain)
      finished = train_conditionals(model, pretrain_codes, o, "pretrain", o.pretrain_steps, o.pretrain_minutes, log,
                                    processes) >= 0;
    if (finished && pretrain && pretrain_marginal) {
      o.stage2.prepare(model);
      mam::MarginalTrainer<Model> trainer(model, pretrain_codes, marginal_trainer_options(o, processes), o.seed + 2);
      const Stage stage{"pretrain-marginal", o.out + "/pretrain_marginal.ckpt",
                        o.pretrain_marginal_minutes > 0.0 ? 0 : o.pretrain_marginal_steps, o.pretrain_marginal_minutes};
      finished = run_stage(trainer, stage, o, log, processes, no_schedule, no_extra);
      if (finished) ex::use_average(trainer, model);
    }
    if (finished) {
      mam::EnergyTrainerOptions options;
      options.trainer = trainer_options(o, processes);
      options.alpha = o.alpha;
      options.gibbs_steps = std::min<mam::Index>(o.gibbs_steps, d);
      options.refresh_every = o.refresh_every;
      options.reinforce_conditional = o.reinforce_conditional;
      auto log_f = [&target](const mam::CodeMatrix& x) { return target(x); };
      mam::EnergyTrainer<Model, decltype(log_f)> trainer(model, log_f, options, o.seed + 3);
      // Annealing: tau moves geometrically from --tau-start to --tau over the first 80% of
      // the run. From above: a broad target first; from below (the default): logP counts
      // more than string entropy while the samples first concentrate.
      auto schedule = [&](double fraction) {
        if (o.tau_start > 0.0) {
          const double t = std::min(1.0, fraction / 0.8);
          tau_now = o.tau_start * std::pow(o.tau / o.tau_start, t);
        }
        target.set_tau(tau_now);
      };
      auto extra = [&](const mam::StepReport&) {
        return std::make_tuple(target.tau(), target.last_within(), target.last_mean_log_p());
      };
      finished = run_stage(trainer, {"energy", energy_checkpoint, o.energy_steps, o.minutes}, o, log, processes,
                           schedule, extra);
      if (finished) ex::use_average(trainer, model);
      energy_steps_done = trainer.steps();
      target.set_tau(o.tau);  // evaluation against the real target
    }
  }
  // Rank 0 alone from here: the others return and wait for it.
  const std::string checkpoints = log.checkpoint.empty() ? o.out : log.checkpoint;
  if (!processes.root()) return finished ? std::nullopt : ex::unfinished(log.end, o.stop_after, checkpoints, processes);
  if (!o.evaluate_only) ex::write_text_atomically(o.out + "/training.csv", log.csv.str());
  if (!finished) return ex::unfinished(log.end, o.stop_after, checkpoints, processes);
  mam::io::KeyValues metadata{{"example", "molecules"}, {"mode", o.mode}, {"strings", representation.name()},
                              {"seed", std::to_string(o.seed)}, {"smiles_augment", std::to_string(o.smiles_augment)}, {"net", net}};
  for (const auto& entry : data.vocabulary.to_key_values()) metadata.push_back(entry);
  if (!o.evaluate_only) mam::io::save_model(o.out + "/model.ckpt", model, metadata);
  if (!o.evaluate_only)
    ex::line_plot("mam_molecules training loss", "logged step", {{"loss", log.step, log.loss, {200, 30, 30}}})
      .save_png(o.out + "/training.png");

  // Samples: validity, uniqueness, novelty, logP.
  mam::Rng eval_rng(o.seed + 4);
  mam::SamplingOptions sampling;
  sampling.temperature = o.temperature;
  std::vector<mam::Index> left_to_right(static_cast<std::size_t>(d));
  for (mam::Index i = 0; i < d; ++i) left_to_right[static_cast<std::size_t>(i)] = i;
  const mam::CodeMatrix samples = o.sample_order == "random"
                                      ? mam::sample_ancestral(model, o.samples, eval_rng, sampling)
                                      : mam::sample_ancestral(model, o.samples, left_to_right, eval_rng, sampling);
  const std::vector<std::string> sample_smiles = decode_all(samples, data.vocabulary, representation);
  const auto properties = properties_of(sample_smiles);
  const SampleMetrics metrics = sample_metrics(properties, training);
  std::vector<std::string> grid, legends;
  pick_for_grid(properties, 24, training, grid, legends);
  ex::write_text_atomically(o.out + "/samples.svg", chem::molecule_grid_svg(grid, legends, 6, 220));
  std::ostringstream listing;
  for (std::size_t i = 0; i < sample_smiles.size(); ++i)
    listing << sample_smiles[i] << '\t' << (properties[i].valid ? properties[i].canonical : "invalid") << '\n';
  ex::write_text_atomically(o.out + "/samples.smi", listing.str());
  const double data_log_p = std::accumulate(data.log_p.begin(), data.log_p.end(), 0.0) / static_cast<double>(data.log_p.size());
  std::printf("%ld samples (%s order, temperature %.2f): %.1f%% valid (of the invalid, %ld are SMILES syntax errors), "
              "%.1f%% of valid unique, %.1f%% of unique novel\n",
              metrics.quality.count, o.sample_order.c_str(), o.temperature, 100.0 * metrics.quality.valid_fraction(),
              metrics.syntax_errors, 100.0 * metrics.quality.unique_fraction(), 100.0 * metrics.quality.novel_fraction());
  std::printf("logP of valid samples: mean %.3f, std %.3f; of the training molecules: mean %.3f\n",
              metrics.log_p_mean, metrics.log_p_std, data_log_p);

  if (!energy) {
    write_histogram(o.out + "/logp.png", "logP: MaM samples vs training molecules", metrics.log_p, data.log_p, {});
    // Conditional generation: the seed keeps its tokens outside mask_from..mask_to.
    const int mask_to = std::min(o.mask_to, o.length - 1);
    mam::Index seed_index = 0;
    for (mam::Index c = 0; c < data.codes.cols(); ++c)
      if ((data.codes.col(c).array() != data.vocabulary.padding_code()).count() > mask_to + 3) {
        seed_index = c;
        break;
      }
    mam::CodeMatrix partial(d, o.conditional_samples);
    for (mam::Index c = 0; c < partial.cols(); ++c) partial.col(c) = data.codes.col(seed_index);
    if (o.mask_from <= mask_to) partial.middleRows(o.mask_from, mask_to - o.mask_from + 1).setConstant(mam::unknown);
    const mam::CodeMatrix completed = mam::sample_conditional(model, partial, eval_rng, sampling);
    const auto completed_properties = properties_of(decode_all(completed, data.vocabulary, representation));
    const SampleMetrics conditional = sample_metrics(completed_properties, training);
    const std::string& seed_molecule = data.canonical[static_cast<std::size_t>(seed_index)];
    long changed = 0;
    for (const auto& p : completed_properties) changed += p.valid && p.canonical != seed_molecule;
    std::vector<std::string> cgrid{seed_molecule}, clegends{"seed"};
    pick_for_grid(completed_properties, 17, training, cgrid, clegends);
    ex::write_text_atomically(o.out + "/conditional.svg", chem::molecule_grid_svg(cgrid, clegends, 6, 220));
    std::printf("conditional generation from %s, positions %d..%d resampled: %.1f%% valid, %ld distinct, "
                "%ld differ from the seed\n",
                seed_molecule.c_str(), o.mask_from, mask_to, 100.0 * conditional.quality.valid_fraction(), conditional.quality.unique,
                changed);
    // The MOSES metrics of the samples against the held-out molecules.
    MosesMetrics moses;
    if (!data.test_canonical.empty()) {
      moses = moses_metrics(sample_smiles, ReferenceSet(data.test_canonical), training);
      std::printf("MOSES metrics against the %zu held-out molecules: valid, unique and novel %.3f; IntDiv %.3f, SNN "
                  "%.3f, Frag %.3f, Scaf %.3f, W1 logP %.3f, W1 weight %.1f\n",
                  data.test_canonical.size(), moses.valid_unique_novel, moses.int_div, moses.snn, moses.frag,
                  moses.scaf, moses.logp_w1, moses.weight_w1);
    }
    // Likelihoods in bits per molecule: the held-out molecules next to as many training
    // molecules, so memorization shows as a gap.
    const auto nll_start = std::chrono::steady_clock::now();
    const mam::Index compared = std::min(data.codes.cols(), std::max<mam::Index>(data.test_codes.cols(), 1));
    const bool in_order = o.sample_order == "left-to-right";
    const NllBits test_nll = nll_bits(model, data.test_codes, o.nll_orders, in_order, eval_rng);
    const NllBits train_nll = nll_bits(model, data.codes.leftCols(compared), o.nll_orders, in_order, eval_rng);
    const double nll_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - nll_start).count();
    std::printf("NLL in bits per molecule, AO-ARM-E (%ld orders) / marginal net: test %.1f / %.1f (%ld held-out "
                "molecules), training %.1f / %.1f (%ld); %.0f s\n",
                o.nll_orders, test_nll.chain, test_nll.marginal, static_cast<long>(data.test_codes.cols()),
                train_nll.chain, train_nll.marginal, static_cast<long>(compared), nll_seconds);
    if (in_order)
      std::printf("NLL in bits per molecule, left to right (the sampler's order): test %.1f, training %.1f\n",
                  test_nll.left_to_right, train_nll.left_to_right);
    ex::JsonLine& json = summary;
    json.add("mode", o.mode).add("net", net).add("strings", representation.name()).add("length", o.length);
    json.add("parameters", static_cast<long>(model.marginal().num_parameters() + model.conditional().num_parameters()));
    json.add("vocabulary", static_cast<long>(k)).add("molecules", static_cast<long>(data.canonical.size()));
    json.add("test_molecules", static_cast<long>(data.test_codes.cols()));
    json.add("test_nll_bits", test_nll.chain).add("test_nll_bits_marginal", test_nll.marginal);
    json.add("train_nll_bits", train_nll.chain).add("train_nll_bits_marginal", train_nll.marginal);
    if (in_order)
      json.add("test_nll_bits_left_to_right", test_nll.left_to_right)
          .add("train_nll_bits_left_to_right", train_nll.left_to_right);
    json.add("nll_orders", o.nll_orders);
    if (!data.test_canonical.empty()) moses.add_to(json);
    json.add("smiles_augment", o.smiles_augment).add("training_strings", static_cast<long>(data.training_codes.cols()));
    json.add("samples", metrics.quality.count).add("sample_order", o.sample_order).add("temperature", o.temperature)
        .add("left_to_right_share", o.left_to_right_share).add("padding_tail_share", o.padding_tail_share).add("average", o.average);
    json.add("valid", metrics.quality.valid_fraction()).add("invalid_syntax", static_cast<double>(metrics.syntax_errors) / static_cast<double>(metrics.quality.count));
    if (data.test_canonical.empty()) json.add("unique", metrics.quality.unique_fraction());  // else MOSES's, below
    json.add("novel", metrics.quality.novel_fraction());
    json.add("logp_mean", metrics.log_p_mean).add("logp_std", metrics.log_p_std).add("logp_mean_data", data_log_p);
    json.add("conditional_valid", conditional.quality.valid_fraction()).add("conditional_distinct", conditional.quality.unique);
    json.add("stage1_steps", stage1_steps_done).add("stage2_steps", stage2_steps_done);
    json.add("train_seconds", log.seconds).add("seed", static_cast<long>(o.seed));
  } else {
    long within = 0;
    for (const auto& p : properties) within += p.valid && std::abs(p.log_p - o.target) <= 0.5;
    const double within_fraction = static_cast<double>(within) / static_cast<double>(metrics.quality.count);
    // The paper's figure: mean over model samples of log p_theta(x) - log f(x), log p by the
    // marginal net (one pass), and by the chain rule (AO-ARM-S, L passes) for comparison.
    double ratio_marginal = 0.0, ratio_chain = 0.0;
    const mam::Index eval_batch = 256;
    for (mam::Index first = 0; first < samples.cols(); first += eval_batch) {
      const mam::Index n = std::min(eval_batch, samples.cols() - first);
      const mam::CodeMatrix x = samples.middleCols(first, n);
      const mam::Vector<double> log_p = model.log_marginal(x);
      const mam::Vector<double> log_p_chain = model.log_likelihood_chain(x, 1, eval_rng);
      for (mam::Index c = 0; c < n; ++c) {
        const double log_f = target.log_f(properties[static_cast<std::size_t>(first + c)]);
        ratio_marginal += log_p[c] - log_f;
        ratio_chain += log_p_chain[c] - log_f;
      }
    }
    ratio_marginal /= static_cast<double>(samples.cols());
    ratio_chain /= static_cast<double>(samples.cols());
    write_histogram(o.out + "/logp.png", "logP: MaM samples vs training molecules", metrics.log_p, data.log_p,
                    {{"target g*", o.target, {0, 140, 0}},
                     {"g* - 0.5", o.target - 0.5, {120, 200, 120}},
                     {"g* + 0.5", o.target + 0.5, {120, 200, 120}}});
    std::printf("target logP %.2f, tau %.3g: %.1f%% of samples within +-0.5; logP mean %.3f, std %.3f\n", o.target,
                o.tau, 100.0 * within_fraction, metrics.log_p_mean, metrics.log_p_std);
    std::printf("mean(log p - log f) over samples: %.2f (marginal net), %.2f (chain rule)\n", ratio_marginal,
                ratio_chain);
    ex::JsonLine& json = summary;
    json.add("mode", o.mode).add("net", net).add("strings", representation.name()).add("length", o.length);
    json.add("vocabulary", static_cast<long>(k)).add("target", o.target).add("tau", o.tau);
    json.add("samples", metrics.quality.count).add("within_0.5", within_fraction).add("logp_mean", metrics.log_p_mean);
    json.add("logp_std", metrics.log_p_std).add("valid", metrics.quality.valid_fraction()).add("unique", metrics.quality.unique_fraction());
    json.add("mean_log_ratio_marginal", ratio_marginal).add("mean_log_ratio_chain", ratio_chain);
    json.add("alpha", o.alpha).add("tau_start", o.tau_start);
    json.add("reinforce_conditional", static_cast<int>(o.reinforce_conditional));
    json.add("pretrain_steps", o.pretrain_steps).add("pretrain_minutes", o.pretrain_minutes);
    json.add("pretrain_marginal_minutes", o.pretrain_marginal_minutes).add("minutes", o.minutes);
    json.add("mcmc_chains", o.mcmc_chains).add("mcmc_steps", mcmc.steps).add("mcmc_seconds", mcmc.seconds);
    json.add("mcmc_acceptance", mcmc.counts.acceptance_rate()).add("mcmc_insert_acceptance", mcmc.counts.acceptance_rate(1));
    json.add("mcmc_samples", static_cast<long>(mcmc.codes.cols())).add("mcmc_within_0.5", mcmc.within);
    json.add("mcmc_distinct", mcmc.distinct).add("steps", energy_steps_done);
    json.add("train_seconds", log.seconds).add("seed", static_cast<long>(o.seed));
  }
  return std::nullopt;
}

/// The whole program, in every process.
int program(int argc, char** argv, const ex::Processes& processes) {
  CLI::App app{"mam_molecules: marginalization models of SMILES/SELFIES strings, judged by RDKit"};
  Options o;
  app.add_option("--mode", o.mode, "mle (data) or energy (logP target)")->check(CLI::IsMember({"mle", "energy"}));
  app.add_option("--strings", o.strings, "smiles or selfies (energy mode: selfies)")
      ->check(CLI::IsMember({"smiles", "selfies"}));
  app.add_option("--data", o.data, "SMILES file, one molecule per line (first field)");
  app.add_option("--length", o.length, "string length L in tokens (0: 60 for SMILES, 55 for SELFIES)")
      ->check(CLI::Range(0, 512));
  app.add_option("--net", o.net,
                 "network family of both networks: mlp (the residual MLP; default), transformer, or both (one after "
                 "the other in --out/mlp and --out/transformer, same data, seed and budget, compared in the last line); "
                 "a Transformer defaults to --batch 128 and --pool-size 256")
      ->check(CLI::IsMember({"mlp", "transformer", "both"}));
  app.add_option("--hidden", o.hidden, "MLP: hidden width of both networks (512; energy mode: 256)")->check(CLI::PositiveNumber);
  app.add_option("--layers", o.layers, "layers (MLP) or blocks (Transformer) of both networks (4; energy mode: 3)")
      ->check(CLI::PositiveNumber);
  app.add_option("--width", o.width, "Transformer: embedding width (128)")->check(CLI::PositiveNumber);
  app.add_option("--heads", o.heads, "Transformer: attention heads, dividing --width (4)")->check(CLI::PositiveNumber);
  app.add_option("--feed-forward", o.feed_forward, "Transformer: hidden width of each block's feed-forward (0: 2 x width)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--head-width", o.head_width, "Transformer: hidden width of the marginal head (0: width)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--test-fraction", o.test_fraction,
                 "MLE mode: share of the molecules held out (seeded split) for the test NLL and the distribution "
                 "metrics (0.1)")
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--nll-orders", o.nll_orders, "MLE mode: random orders of the AO-ARM-E likelihood (log-mean-exp; 2)")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch", o.batch, "batch size (256; energy mode and --net transformer: 128)")->check(CLI::Range(2, 1 << 16));
  app.add_option("--lr", o.learning_rate, "Adam learning rate (1e-3; energy mode: 3e-3)")->check(CLI::PositiveNumber);
  app.add_option("--final-lr", o.final_lr_fraction,
                 "final learning rate as a fraction of --lr (cosine decay per stage; 1; energy mode: 0.1)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--padding-tail-share", o.padding_tail_share,
                 "stage 1: of the left-to-right samples, the share scored in the padding after a string's end, whose "
                 "conditionals are learnt at once (the others are scored on the string and its stop; weighted so the "
                 "estimate stays unbiased); 0: positions drawn uniformly (0.05)")
      ->check(CLI::Range(0.0, 0.99));
  app.add_option("--average", o.average,
                 "decay of an exponential moving average of the parameters, which each stage hands on instead of "
                 "its last iterate (0.999; 0 = off; energy mode: 0)")
      ->check(CLI::Range(0.0, 0.999999));
  app.add_option("--clip", o.clip, "gradient-norm clipping (0 = off)")->check(CLI::NonNegativeNumber);
  app.add_option("--stage1-steps", o.stage1_steps, "MLE stage 1 (conditionals) steps, in total")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stage2-steps", o.stage2_steps, "MLE stage 2 (marginals) steps, in total")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stage1-minutes", o.stage1_minutes, "MLE stage 1 time budget (instead of --stage1-steps)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stage2-minutes", o.stage2_minutes, "MLE stage 2 time budget (instead of --stage2-steps)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--left-to-right-share", o.left_to_right_share,
                 "stage 1: share of the training samples scored in the left-to-right order, on their next position "
                 "(a fixed-order ARM), instead of a random order; pairs with --sample-order left-to-right (SMILES MLE: 0.8, "
                 "else 0)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--gibbs-steps", o.gibbs_steps, "positions resampled per step of the on-policy buffer")
      ->check(CLI::PositiveNumber);
  o.stage2.add_to(app);
  app.add_option("--smiles-augment", o.smiles_augment,
                 "SMILES: train on this many randomized SMILES of each molecule (SMILES enumeration; those "
                 "longer than L are skipped) instead of its canonical SMILES (0)")
      ->check(CLI::Range(0, 1000));
  app.add_flag("--neutral", o.neutral,
               "keep only molecules without charged atoms, as MOSES (the paper's data) does: the vocabulary then has "
               "no charged symbols");
  app.add_option("--target", o.target, "energy mode: target logP g*");
  app.add_option("--tau", o.tau, "energy mode: temperature tau of the target")->check(CLI::PositiveNumber);
  app.add_option("--tau-start", o.tau_start,
                 "energy mode: tau moves geometrically from this value to --tau over the first 80% of the run "
                 "(0 = no annealing; default 0.01, below tau)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--invalid-distance", o.invalid_distance,
                 "energy mode: an invalid or empty molecule scores as a logP this far from the target")
      ->check(CLI::PositiveNumber);
  app.add_option("--alpha", o.alpha, "energy mode: weight of self-consistency (1)")->check(CLI::NonNegativeNumber);
  app.add_option("--refresh-every", o.refresh_every, "energy mode: fresh ancestral buffer every n steps (0 = never)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--reinforce-conditional", o.reinforce_conditional,
               "energy mode: the KL's REINFORCE weights also train the conditional net (the sampler) directly, through "
               "D log p(x_p | x_<d) at self-consistency's random order and step, not only through self-consistency");
  app.add_option("--pretrain-steps", o.pretrain_steps, "energy mode: stage-1 MLE steps on the data before the energy")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--mcmc-minutes", o.mcmc_minutes,
                 "energy mode: warm start: Metropolis-Hastings chains on the target (substitute, insert, delete a "
                 "symbol) for this long; the conditionals are pretrained on their samples instead of the data "
                 "(4; 0 = off, and then the other warm-start defaults do not apply)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--mcmc-steps", o.mcmc_steps, "energy mode: warm-start steps (instead of --mcmc-minutes when > 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--mcmc-chains", o.mcmc_chains, "energy mode: chains of the warm start")->check(CLI::PositiveNumber);
  app.add_option("--mcmc-thinning", o.mcmc_thinning,
                 "energy mode: steps between the snapshots of all chains kept in the warm start's second half")
      ->check(CLI::PositiveNumber);
  app.add_option("--pretrain-minutes", o.pretrain_minutes,
                 "energy mode: pretraining time budget (instead of --pretrain-steps; 12 with the MCMC warm start)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--pretrain-marginal-minutes", o.pretrain_marginal_minutes,
                 "energy mode: after pretraining, fit the marginal net to the conditionals on the same strings (stage 2) "
                 "for this long (2 with the MCMC warm start)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--pretrain-marginal-steps", o.pretrain_marginal_steps,
                 "energy mode: the same in steps (when --pretrain-marginal-minutes is 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--energy-steps", o.energy_steps, "energy mode: training steps in total (0: --minutes)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--minutes", o.minutes, "energy mode: training time budget when --energy-steps is 0 (10 with the MCMC warm start, else 28)")
      ->check(CLI::PositiveNumber);
  app.add_option("--samples", o.samples, "samples to evaluate")->check(CLI::PositiveNumber);
  app.add_option("--temperature", o.temperature, "sampling temperature")->check(CLI::PositiveNumber);
  app.add_option("--sample-order", o.sample_order,
                 "order in which samples reveal positions: random (any-order) or left-to-right (SMILES MLE: "
                 "left-to-right, else random)")
      ->check(CLI::IsMember({"random", "left-to-right"}));
  app.add_option("--conditional-samples", o.conditional_samples, "MLE mode: completions of the seed molecule")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--mask-from", o.mask_from, "MLE mode: first resampled position of the seed (0-based)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--mask-to", o.mask_to, "MLE mode: last resampled position of the seed (inclusive)")
      ->check(CLI::NonNegativeNumber);
  o.add_to(app);
  app.add_flag("--resume", o.resume, "continue from the checkpoints in --out");
  app.add_flag("--evaluate-only", o.evaluate_only, "no training: evaluate the model.ckpt in --out (e.g. at another --temperature)");
  if (const auto code = ex::parse_command_line(app, argc, argv, processes)) return *code;

  try {
    const bool energy = o.mode == "energy";
    if (energy) apply_energy_defaults(app, o);
    if (energy && o.strings != "selfies") {
      if (app.count("--strings") > 0) throw mam::value_error("mam_molecules: --mode energy needs --strings selfies");
      o.strings = "selfies";
    }
    const Representation representation(o.strings == "selfies");
    if (!energy && !representation.selfies()) apply_smiles_defaults(app, o);
    if (o.length == 0) o.length = representation.selfies() ? 55 : 60;
    ex::start_run(o.out, o.threads, processes);
    chem::silence_rdkit_logging();

    // Data.
    if (representation.selfies() && app.count("--smiles-augment") == 0) o.smiles_augment = 0;
    mam::Rng augment_rng(o.seed + 5), split_rng(o.seed + 7);
    const MoleculeData data = load_molecules(o.data, representation, o.length, o.neutral, o.smiles_augment,
                                             augment_rng, energy ? 0.0 : o.test_fraction, split_rng);
    if (processes.root()) {
      std::fprintf(stderr,
                   "data: %ld molecules read from %s, %zu kept as %s of at most %d tokens (vocabulary %ld): %zu for "
                   "training, %zu held out\n",
                   data.read, o.data.c_str(), data.canonical.size() + data.test_canonical.size(), representation.name(),
                   o.length, static_cast<long>(data.vocabulary.size()), data.canonical.size(), data.test_canonical.size());
      for (const auto& [reason, count] : data.dropped) std::fprintf(stderr, "  dropped %5ld: %s\n", count, reason.c_str());
      if (o.smiles_augment > 0)
        std::fprintf(stderr, "  training on %ld randomized SMILES (%d per molecule; %ld longer than %d tokens skipped)\n",
                     static_cast<long>(data.training_codes.cols()), o.smiles_augment, data.spellings_too_long, o.length);
    }
    const auto d = static_cast<mam::Index>(o.length);
    const mam::Index k = data.vocabulary.size();
    o.padding_code = data.vocabulary.padding_code();

    // One network family, or both one after the other (each in its own directory, same data,
    // seed and budget) for the side-by-side comparison.
    const std::vector<std::string> nets =
        o.net == "both" ? std::vector<std::string>{"mlp", "transformer"} : std::vector<std::string>{o.net};
    ex::JsonLine comparison;
    std::string last_line;
    for (const std::string& net : nets) {
      Options run = o;
      if (nets.size() > 1) {
        run.out = o.out + "/" + net;
        if (processes.root()) {
          ex::prepare_output_directory(run.out);
          std::fprintf(stderr, "--- %s ---\n", net.c_str());
        }
      }
      apply_net_defaults(app, net, run);
      ex::JsonLine summary;
      mam::Rng rng(o.seed);
      std::optional<int> early;
      if (net == "mlp") {
        MlpModel model = mam::make_residual_model<float>(d, k, run.hidden, run.layers, rng);
        early = train_and_evaluate(model, net, run, data, representation, summary, processes);
      } else {
        TransformerModel model = mam::make_transformer_model<float>(transformer_config(d, k, run), rng);
        early = train_and_evaluate(model, net, run, data, representation, summary, processes);
      }
      if (early) return processes.conclude(*early);
      last_line = summary.str();
      if (nets.size() > 1 && processes.root()) std::printf("%s: %s\n", net.c_str(), last_line.c_str());
      comparison.add(net, summary);
    }
    if (processes.root()) std::printf("%s\n", nets.size() > 1 ? comparison.str().c_str() : last_line.c_str());
    return processes.conclude(0);
  } catch (const mam::error& e) {
    if (!processes.alone()) throw;  // to run_program, which ends every process: none waits for this one
    std::fprintf(stderr, "mam_molecules: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return ex::run_program(argc, argv, "mam_molecules",
                         [&](const ex::Processes& processes) { return program(argc, argv, processes); });
}
