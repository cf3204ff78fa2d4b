// mam_images: a marginalization model of binarized Fashion-MNIST (Debian's
// dataset-fashion-mnist), trained by maximum likelihood in two stages as in the MaM paper:
// stage 1 fits the conditional net (the any-order autoregressive model, AO-ARM loss), stage 2
// fits the marginal net to it by self-consistency on data plus on-policy samples.
//
// Stage 2 starts the marginal net from the conditional net's features (warm start) and by
// default regresses it onto chain-rule sums of the conditionals (chain targets), which
// converge several times faster than the paper's one-step self-consistency residuals; both
// are options. Its marginal net reads log p(x_S) as a sum of one learned score per observed
// pixel and value over the last hidden layer (mam::Head::observed_value_sum, the chain
// rule's shape; --marginal-head linear is the reference code's single output).
//
// Evaluation follows the paper's protocol: test NLL in bits/dim by the chain rule (AO-ARM-S,
// one random order; AO-ARM-E, log-mean-exp over several) and by the marginal net (one pass);
// masked test images (the paper's 100/400/700 of 784 pixels, scaled to the resolution, nested
// masks from one pixel order per image) are inpainted, the inpaintings scored by the marginal
// net and by AO-ARM-E, and the Spearman and Pearson correlations of the two reported: pooled
// over all inpaintings, and per image as the paper computes them (mam::grouped_correlation);
// marginal inference on a minibatch of 16 is timed both ways. Writes a CSV log, PNG grids (samples; masked input, inpaintings, original),
// checkpoints of both stages (also on Ctrl-C; --resume continues), and one JSON line last.
// Under `mpirun -np N` the N processes train together (--shards), each reading the training
// images itself; rank 0 alone prints, evaluates and writes the files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <mam/data/dataset.hpp>
#include <mam/data/idx.hpp>
#include <mam/data/images.hpp>
#include <mam/eval/correlation.hpp>
#include <mam/eval/grouped_correlation.hpp>
#include <mam/eval/inpainting_scores.hpp>
#include <mam/io/model_checkpoint.hpp>
#include <mam/mam.hpp>
#include <mam/train/conditional_trainer.hpp>
#include <mam/train/fit.hpp>
#include <mam/train/marginal_trainer.hpp>
#include <mam/train/training_progress.hpp>

#include "support/files.hpp"
#include "support/json_line.hpp"
#include "support/matmul_option.hpp"
#include "support/marginal_stage.hpp"
#include "support/png.hpp"
#include "support/processes.hpp"
#include "support/progress.hpp"
#include "support/run.hpp"
#include "support/timing.hpp"

namespace {

using Model = mam::ResidualMarginalizationModel<float>;
using mam::CodeMatrix;
using mam::Index;
using mam::Vector;
namespace ex = mam::examples;

struct Options : ex::RunOptions {
  Options() { out = "out/images"; }
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int side = 14;
  int threshold = 127;
  bool stochastic = false;
  int hidden = 512, layers = 4, batch = 256;
  std::string marginal_head = "observed-sum";
  double learning_rate = 1e-3, final_lr_fraction = 0.1;
  double average = 0.999;      // decay of each stage's parameter average (0 = the last iterate)
  double minutes = 28.0;       // training budget of both stages together
  double stage1_share = 0.4;   // of the budget, for stage 1 (stage 2 converges slower)
  long stage1_steps = 0, stage2_steps = 0;  // > 0: train by steps instead of time
  double data_fraction = 0.5;
  int gibbs_steps = 4;
  ex::MarginalStageOptions stage2;
  bool resume = false;
  long eval_images = 2000;
  int orders = 5;
  long masked_images = 100;
  int inpaintings = 4;
  double tie_gap = -1.0;  // < 0: the paper's 5 nats scaled by pixels / 784
  int timing_batch = 16;
};


/// Binary codes of one split: read, optionally down-sampled, binarized.
CodeMatrix load_split(const Options& o, const std::string& split, mam::Rng& rng) {
  mam::ImageSet images = mam::read_idx_images(o.data_dir + "/" + split + "-images-idx3-ubyte.gz",
                                              o.data_dir + "/" + split + "-labels-idx1-ubyte.gz");
  if (o.side * 2 == images.rows && o.side * 2 == images.cols)
    images = mam::downsample_2x2(images);
  else if (o.side != images.rows || o.side != images.cols)
    throw mam::value_error("mam_images: --side " + std::to_string(o.side) + " needs " + std::to_string(o.side) +
                           "x" + std::to_string(o.side) + " or twice that, the data are " +
                           std::to_string(images.rows) + "x" + std::to_string(images.cols));
  return o.stochastic ? mam::binarize_stochastic(images, rng) : mam::binarize(images, o.threshold);
}

/// One training stage, checkpointed to <out>/stage<n>.ckpt: cosine learning-rate decay of
/// `group` over the budget, CSV rows with `monitor`'s column, a progress bar (rank 0's, while
/// the other processes wait).
template <class Trainer, class Monitor>
mam::FitResult train_stage(Trainer& trainer, int stage, mam::TrainingBudget budget, std::size_t group, long stop_after,
                           const Options& o, std::ostringstream& csv, const ex::Processes& processes,
                           Monitor&& monitor) {
  const std::string name = "stage" + std::to_string(stage);
  ex::ProgressBar progress(name);
  mam::FitOptions fit = ex::fit_options(o.out + "/" + name + ".ckpt", o, o.resume, processes);
  fit.budget = budget;
  fit.stop_after = stop_after;
  fit.learning_rate = mam::CosineLearningRate{o.learning_rate, o.learning_rate * o.final_lr_fraction, {group}};
  fit.on_log = [&](const mam::StepReport& report, double fraction, double seconds) {
    processes.on_root([&] {
      const std::string metrics = monitor(report);
      csv << name << ',' << report.step << ',' << seconds << ',' << report.loss << ',' << report.nll << ','
          << report.consistency << ',' << report.anchor_error << ',' << metrics << '\n';
      progress.update(fraction, "step " + std::to_string(report.step) + "  " + metrics);
    });
  };
  const mam::FitResult result = mam::fit(trainer, fit);
  if (processes.root()) progress.finish();
  return result;
}

/// The whole program, in every process.
int program(int argc, char** argv, const ex::Processes& processes) {
  CLI::App app{"mam_images: two-stage maximum-likelihood MaM on binarized Fashion-MNIST, checked against AO-ARM"};
  Options o;
  app.add_option("--data-dir", o.data_dir, "directory of the (Fashion-)MNIST IDX .gz files");
  app.add_option("--side", o.side, "image side: 14 (2x2 down-sampled) or 28")->check(CLI::IsMember({14, 28}));
  app.add_option("--threshold", o.threshold, "binarization threshold: 1 where intensity > threshold")
      ->check(CLI::Range(0, 254));
  app.add_flag("--stochastic", o.stochastic, "binarize by drawing 1 with probability intensity/255 (seeded)");
  app.add_option("--hidden", o.hidden, "hidden width of both networks")->check(CLI::PositiveNumber);
  app.add_option("--layers", o.layers, "layers of both networks")->check(CLI::PositiveNumber);
  app.add_option("--marginal-head", o.marginal_head,
                 "head of the marginal net: 'linear' (w.h + b) or 'observed-sum' (a score per position and value "
                 "from the last hidden layer, summed over the observed values)")
      ->check(CLI::IsMember({"linear", "observed-sum"}));
  app.add_option("--batch", o.batch, "batch size of both stages")->check(CLI::Range(2, 1 << 16));
  app.add_option("--lr", o.learning_rate, "peak Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--final-lr", o.final_lr_fraction, "learning rate at the end of a stage as a fraction of --lr (cosine)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--average", o.average,
                 "decay of an exponential moving average of the parameters, which each stage hands on "
                 "instead of its last iterate (0 = off)")
      ->check(CLI::Range(0.0, 0.99999));
  app.add_option("--minutes", o.minutes, "training time of both stages together, in minutes")
      ->check(CLI::PositiveNumber);
  app.add_option("--stage1-share", o.stage1_share, "share of --minutes for stage 1")->check(CLI::Range(0.0, 1.0));
  app.add_option("--stage1-steps", o.stage1_steps, "steps of stage 1 (conditional net, AO-ARM loss); overrides time")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stage2-steps", o.stage2_steps, "steps of stage 2 (marginal net); overrides time")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--data-fraction", o.data_fraction, "stage 2: share of each batch from data (rest on-policy)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--gibbs-steps", o.gibbs_steps, "stage 2, self-consistency: positions resampled per buffer refresh")
      ->check(CLI::PositiveNumber);
  o.stage2.add_to(app);
  o.add_to(app);
  app.add_flag("--resume", o.resume, "continue from the stage checkpoints in the output directory");
  app.add_option("--eval-images", o.eval_images, "test images for the NLL evaluation")->check(CLI::PositiveNumber);
  app.add_option("--orders", o.orders, "orders of the AO-ARM-E estimate")->check(CLI::PositiveNumber);
  app.add_option("--masked-images", o.masked_images, "test images masked (each at every masking level)")
      ->check(CLI::PositiveNumber);
  app.add_option("--inpaintings", o.inpaintings, "inpaintings per masked image and level")->check(CLI::PositiveNumber);
  app.add_option("--tie-gap", o.tie_gap,
                 "per-image Spearman (the paper's protocol): AO-ARM-E values closer than this many nats count as "
                 "ties and are thinned out (default: the paper's 5 nats x pixels / 784)");
  app.add_option("--timing-batch", o.timing_batch, "minibatch of the timed marginal inference")
      ->check(CLI::PositiveNumber);
  if (const auto code = ex::parse_command_line(app, argc, argv, processes)) return *code;

  try {
    ex::start_run(o.out, o.threads, processes);

    // Every process reads the training images; the test images are rank 0's.
    mam::Rng data_rng(o.seed + 3);
    const CodeMatrix train = load_split(o, "train", data_rng);
    CodeMatrix test;
    processes.on_root([&] {
      test = load_split(o, "t10k", data_rng);
      std::fprintf(stderr, "data: %ld train and %ld test images, %dx%d binary (%.1f%% ones in train)\n",
                   static_cast<long>(train.cols()), static_cast<long>(test.cols()), o.side, o.side,
                   100.0 * train.cast<double>().mean());
    });
    const Index d = train.rows();
    const double bits = static_cast<double>(d) * std::log(2.0);  // nats -> bits per dimension

    mam::Rng rng(o.seed);
    Model model = mam::make_residual_model<float>(d, 2, o.hidden, o.layers, rng);
    ex::set_matmul_precision(model, o.matmul);
    const std::string stage1_path = o.out + "/stage1.ckpt", stage2_path = o.out + "/stage2.ckpt";
    const std::string csv_path = o.out + "/training.csv";
    // Rank 0 sees the files: what it finds decides for every process.
    const bool resume_stage2 =
        processes.from_root(o.resume && processes.root() && std::filesystem::exists(stage2_path));
    const CodeMatrix monitor = test.leftCols(std::min<Index>(256, test.cols()));
    std::ostringstream csv;
    // Steps and training seconds per stage, also of a stage that an earlier run finished.
    mam::TrainingProgress stage1, stage2;
    if (processes.root()) {
      if (o.resume && std::filesystem::exists(csv_path))
        csv << std::ifstream(csv_path).rdbuf();
      else
        csv << "stage,step,seconds,loss,nll_nats,consistency,anchor_error,monitor_nll_bpd\n";
      if (resume_stage2) stage1 = mam::load_training_progress(mam::progress_path(stage1_path));
    }
    ex::StepAllowance allowance(o.stop_after);
    auto leave = [&](mam::FitEnd end, const std::string& checkpoint) {
      if (processes.root()) ex::write_text_atomically(csv_path, csv.str());
      return processes.conclude(*ex::unfinished(end, o.stop_after, checkpoint, processes));
    };

    // Stage 1: the conditional net (AO-ARM). CSV monitor: the minibatch NLL estimate.
    if (!resume_stage2) {
      mam::TrainerOptions options;
      options.batch_size = o.batch;
      options.conditional_adam.learning_rate = o.learning_rate;
      options.average_decay = o.average;
      options.data_parallel = o.data_parallel(processes);
      mam::ConditionalTrainer<Model> trainer(model, train, options, o.seed + 1);
      const mam::FitResult result =
          train_stage(trainer, 1, ex::budget_of(o.stage1_steps, o.stage1_share * o.minutes),
                      mam::ParameterGroup::conditional, allowance.next(), o, csv, processes,
                      [&](const mam::StepReport& report) { return ex::json_number(report.nll / bits); });
      if (!result.finished()) return leave(result.end, stage1_path);
      allowance.use(result);
      stage1 = {result.steps, result.seconds};
      ex::use_average(trainer, model);
    }
    if (allowance.spent()) return leave(mam::FitEnd::stop_after, stage1_path);

    // Stage 2: the marginal net, with the conditionals as the teacher. CSV monitor: the
    // marginal net's NLL of 256 test images.
    {
      // Stage 1 leaves the marginal net untouched, so it takes its head here, before the warm start.
      if (o.marginal_head == "observed-sum") {
        mam::ResidualMLPConfig config = model.marginal().config();
        config.head = mam::Head::observed_value_sum;
        model.marginal() = mam::ResidualMLP<float>(config, rng);
        ex::set_matmul_precision(model, o.matmul);
      }
      mam::MarginalTrainerOptions options;
      options.trainer.batch_size = o.batch;
      options.trainer.marginal_adam.learning_rate = o.learning_rate;
      options.trainer.average_decay = o.average;
      options.trainer.data_parallel = o.data_parallel(processes);
      options.data_fraction = o.data_fraction;
      options.gibbs_steps = std::min<Index>(o.gibbs_steps, d);
      o.stage2.apply_to(options);
      if (!resume_stage2) o.stage2.prepare(model);
      mam::MarginalTrainer<Model> trainer(model, train, options, o.seed + 2);
      const mam::FitResult result = train_stage(
          trainer, 2, ex::budget_of(o.stage2_steps, (1.0 - o.stage1_share) * o.minutes), mam::ParameterGroup::marginal,
          allowance.next(), o, csv, processes,
          [&](const mam::StepReport&) { return ex::json_number(-model.log_marginal(monitor).mean() / bits); });
      if (!result.finished()) return leave(result.end, stage2_path);
      stage2 = {result.steps, result.seconds};
      ex::use_average(trainer, model);
    }
    // Rank 0 alone from here: the others wait for it.
    if (!processes.root()) return processes.conclude(0);
    ex::write_text_atomically(csv_path, csv.str());
    const double train_seconds = stage1.seconds + stage2.seconds;
    std::fprintf(stderr, "trained: stage 1 %ld steps in %.1f s, stage 2 %ld steps in %.1f s\n", stage1.steps,
                 stage1.seconds, stage2.steps, stage2.seconds);
    mam::io::save_model(o.out + "/model.ckpt", model,
                        {{"example", "binary_images"}, {"side", std::to_string(o.side)}, {"seed", std::to_string(o.seed)}});

    // Test NLL three ways, on the same images.
    const Index eval_batch = 256;
    const CodeMatrix eval = test.leftCols(std::min<Index>(o.eval_images, test.cols()));
    mam::Rng eval_rng(o.seed + 4);
    Vector<double> marginal_ll, chain_s;
    const double marginal_seconds = ex::seconds_of(
        [&] { marginal_ll = mam::map_batches(eval, eval_batch, [&](const auto& x) { return model.log_marginal(x); }); });
    const double chain_seconds = ex::seconds_of([&] {
      chain_s = mam::map_batches(eval, eval_batch, [&](const auto& x) { return model.log_likelihood_chain(x, 1, eval_rng); });
    });
    const Vector<double> chain_e = mam::map_batches(
        eval, eval_batch / o.orders + 1, [&](const auto& x) { return model.log_likelihood_chain(x, o.orders, eval_rng); });
    const double nll_marginal = -marginal_ll.mean() / bits, nll_s = -chain_s.mean() / bits, nll_e = -chain_e.mean() / bits;
    std::printf("test NLL of %ld images: marginal net %.4f bits/dim (1 pass, %.2f s), AO-ARM-S %.4f (%ld passes, %.1f s), "
                "AO-ARM-E (%d orders) %.4f\n",
                static_cast<long>(eval.cols()), nll_marginal, marginal_seconds, nll_s, static_cast<long>(d),
                chain_seconds, o.orders, nll_e);

    // Random test images, each with one random pixel order whose first 25/100/175 (at 14x14)
    // pixels are masked at the three levels; every masked image inpainted, the inpaintings
    // scored both ways; and timed marginal inference on a minibatch.
    mam::Rng mask_rng(o.seed + 5);
    std::vector<Index> mask_counts;
    for (int paper : {100, 400, 700}) mask_counts.push_back(static_cast<Index>(std::lround(paper * d / 784.0)));
    const std::vector<Index> picks = mask_rng.permutation(test.cols());
    const CodeMatrix originals = mam::gather_columns(
        test, std::vector<Index>(picks.begin(), picks.begin() + std::min<Index>(o.masked_images, test.cols())));
    const Index per_level = originals.cols() * o.inpaintings;
    std::vector<std::vector<Index>> pixel_orders;
    for (Index c = 0; c < originals.cols(); ++c) pixel_orders.push_back(mask_rng.permutation(d));
    Vector<double> mam_scores(static_cast<Index>(mask_counts.size()) * per_level), arm_scores(mam_scores.size());
    // The paper's per-image protocol: inpainting j of image i at every level forms one group.
    std::vector<Index> image_group(static_cast<std::size_t>(mam_scores.size()));
    for (std::size_t k = 0; k < image_group.size(); ++k) image_group[k] = static_cast<Index>(k) % per_level;
    // AO-ARM-E scored again with other random orders: how well the reference agrees with
    // itself, the ceiling for the marginal net's agreement with it.
    Vector<double> arm_repeat(mam_scores.size());
    mam::Rng repeat_rng(o.seed + 6), timing_rng(o.seed + 7);
    const int rows_shown = 3, tile_cell = o.side == 14 ? 4 : 2, tile = o.side * tile_cell + tile_cell;
    const int shown_inpaintings = std::min(o.inpaintings, 6);
    ex::Canvas inpainting_grid((shown_inpaintings + 2) * tile + 2 * tile,
                               static_cast<int>(mask_counts.size()) * (rows_shown * tile + 30) + 40);
    inpainting_grid.text(4, 8, "masked input | inpaintings | original", {0, 0, 0});
    ex::JsonLine level_json;
    std::printf("masked pixels | Spearman  Pearson | time of 16: log p(x_obs) marginal / chain  ratio | "
                "log p(x_mask | x_obs) marginal / chain  ratio\n");
    double middle_speedup = std::nan("");
    for (std::size_t level = 0; level < mask_counts.size(); ++level) {
      const Index masked_count = mask_counts[level];
      const CodeMatrix masked = mam::mask_first(originals, pixel_orders, masked_count);
      const mam::InpaintingScores scores =
          mam::score_inpaintings(model, masked, o.inpaintings, o.orders, eval_rng, eval_batch);
      const CodeMatrix& completed = scores.completed;
      const Vector<double>& by_mam = scores.by_marginal;
      const Vector<double>& by_arm = scores.by_chain;
      mam_scores.segment(static_cast<Index>(level) * per_level, per_level) = by_mam;
      arm_scores.segment(static_cast<Index>(level) * per_level, per_level) = by_arm;
      arm_repeat.segment(static_cast<Index>(level) * per_level, per_level) =
          mam::map_batches(completed, eval_batch / o.orders + 1,
                           [&](const auto& x) { return model.log_likelihood_chain(x, o.orders, repeat_rng); });
      const double level_spearman = mam::spearman(by_mam, by_arm), level_pearson = mam::pearson(by_mam, by_arm);

      // Timing on a minibatch: the marginal of the observed pixels (1 pass vs one chain step
      // per observed pixel) and the conditional of the inpainted pixels given the observed
      // ones (1 pass vs one chain step per masked pixel).
      const Index b = std::min<Index>(o.timing_batch, masked.cols());
      const CodeMatrix observed = masked.leftCols(b);
      const CodeMatrix joint = completed(Eigen::all, Eigen::seqN(0, b, o.inpaintings));
      // A single pass takes under a millisecond, where one interruption costs more than the
      // pass; 9 alternating rounds (the chain's orders from their own Rng, so that timing
      // leaves the evaluation's random stream alone).
      const int rounds = 9;
      const ex::PairedTiming marginal = ex::paired_time(
          rounds, [&] { model.log_marginal(observed); }, [&] { model.log_likelihood_chain(observed, 1, timing_rng); });
      const ex::PairedTiming conditional =
          ex::paired_time(rounds, [&] { model.log_conditional(joint, observed); },
                      [&] { model.log_conditional_chain(joint, observed, 1, timing_rng); });
      const double t_marginal = marginal.pass, t_chain = marginal.chain;
      const double t_conditional = conditional.pass, t_conditional_chain = conditional.chain;
      const double marginal_ratio = marginal.ratio(), conditional_ratio = conditional.ratio();
      if (level == 1) middle_speedup = marginal_ratio;
      std::printf("%4ld of %ld   | %.4f  %.4f | %.2e / %.2e s  %6.1fx (%ld passes) | %.2e / %.2e s  %6.1fx (%ld passes)\n",
                  static_cast<long>(masked_count), static_cast<long>(d), level_spearman, level_pearson, t_marginal,
                  t_chain, marginal_ratio, static_cast<long>(d - masked_count), t_conditional, t_conditional_chain,
                  conditional_ratio, static_cast<long>(masked_count));
      level_json.add(std::to_string(masked_count), ex::JsonLine()
                                                       .add("spearman", level_spearman)
                                                       .add("pearson", level_pearson)
                                                       .add("speedup_marginal_observed", marginal_ratio)
                                                       .add("speedup_conditional_masked", conditional_ratio));

      // Rows of (masked input, inpaintings, original).
      const int y0 = 40 + static_cast<int>(level) * (rows_shown * tile + 30);
      inpainting_grid.text(4, y0 - 2, std::to_string(masked_count) + " of " + std::to_string(d) + " pixels masked",
                           {0, 0, 0});
      for (int r = 0; r < rows_shown && r < masked.cols(); ++r) {
        const int y = y0 + 18 + r * tile;
        ex::draw_lattices(inpainting_grid, masked.col(r), o.side, 2, 1, tile_cell, 0, y);
        ex::draw_lattices(inpainting_grid, completed.middleCols(r * o.inpaintings, shown_inpaintings), o.side, 2,
                          shown_inpaintings, tile_cell, tile + tile / 2, y);
        ex::draw_lattices(inpainting_grid, originals.col(r), o.side, 2, 1, tile_cell,
                          (shown_inpaintings + 2) * tile, y);
      }
    }
    const double spearman = mam::spearman(mam_scores, arm_scores), pearson = mam::pearson(mam_scores, arm_scores);
    std::printf("all %ld inpaintings: Spearman %.4f, Pearson %.4f between the marginal net and AO-ARM-E (%d orders)\n",
                static_cast<long>(mam_scores.size()), spearman, pearson, o.orders);
    const double spearman_repeat = mam::spearman(arm_scores, arm_repeat);
    std::printf("AO-ARM-E against itself with other random orders: Spearman %.4f, Pearson %.4f\n", spearman_repeat,
                mam::pearson(arm_scores, arm_repeat));
    // The paper's number (0.992 on 28x28 MNIST) is this per-image one, not the pooled one above.
    const double tie_gap = o.tie_gap >= 0.0 ? o.tie_gap : 5.0 * static_cast<double>(d) / 784.0;
    const mam::GroupedCorrelation per_image = mam::grouped_correlation(arm_scores, mam_scores, image_group, tie_gap);
    const mam::GroupedCorrelation per_image_all = mam::grouped_correlation(arm_scores, mam_scores, image_group, 0.0);
    const mam::GroupedCorrelation per_image_repeat =
        mam::grouped_correlation(arm_scores, arm_repeat, image_group, tie_gap);
    std::printf("per image (the paper's protocol: the %zu levels' inpaintings of one image, AO-ARM-E near-ties within "
                "%.2f nats thinned out): Spearman %.4f, Pearson %.4f over %ld groups (AO-ARM-E against itself: %.4f); "
                "without thinning: Spearman %.4f, Pearson %.4f\n",
                mask_counts.size(), tie_gap, per_image.spearman, per_image.pearson,
                static_cast<long>(per_image.groups_used), per_image_repeat.spearman, per_image_all.spearman,
                per_image_all.pearson);
    inpainting_grid.save_png(o.out + "/inpainting.png");

    // Unconditional samples.
    const CodeMatrix samples = mam::sample_ancestral(model, 64, eval_rng);
    ex::Canvas sample_grid(8 * tile + 2 * tile_cell, 8 * tile + 2 * tile_cell);
    ex::draw_lattices(sample_grid, samples, o.side, 2, 8, tile_cell, tile_cell, tile_cell);
    sample_grid.save_png(o.out + "/samples.png");

    ex::JsonLine json;
    json.add("nll_bpd_chain_s", nll_s).add("nll_bpd_chain_e", nll_e).add("nll_bpd_marginal", nll_marginal);
    json.add("spearman", spearman).add("pearson", pearson).add("speedup", middle_speedup);
    json.add("train_seconds", train_seconds).add("average", o.average).add("seed", o.seed).add("side", o.side).add("matmul", mam::to_string(o.matmul));
    json.add("stage1_steps", stage1.steps).add("stage2_steps", stage2.steps);
    json.add("eval_images", eval.cols()).add("orders", o.orders).add("spearman_arm_e_repeat", spearman_repeat);
    json.add("spearman_per_image", per_image.spearman).add("pearson_per_image", per_image.pearson);
    json.add("spearman_per_image_no_thinning", per_image_all.spearman).add("tie_gap", tie_gap);
    json.add("spearman_per_image_arm_e_repeat", per_image_repeat.spearman);
    json.add("levels", level_json);
    std::printf("%s\n", json.str().c_str());
    return processes.conclude(0);
  } catch (const mam::error& e) {
    if (!processes.alone()) throw;  // to run_program, which ends every process: none waits for this one
    std::fprintf(stderr, "mam_images: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return ex::run_program(argc, argv, "mam_images",
                         [&](const ex::Processes& processes) { return program(argc, argv, processes); });
}
