#pragma once
// How the maximum-likelihood examples run stage 2 (fitting the marginal net to the trained
// conditionals): the same command-line options in each, turned into MarginalTrainerOptions
// and the warm start.

#include <algorithm>
#include <string>

#include <CLI/CLI.hpp>

#include <mam/model/residual.hpp>
#include <mam/train/marginal_trainer.hpp>

namespace mam::examples {

struct MarginalStageOptions {
  std::string objective = "chain";  ///< "chain" (chain targets) or "self-consistency" (the paper's)
  bool cold_start = false;          ///< a random marginal net instead of the conditional net's trunk
  long pool_size = 4096;            ///< chain targets: sequences in the pool
  long pool_refresh = 8;            ///< chain targets: sequences replaced per step, on average
  long pool_refresh_interval = 8;   ///< chain targets: steps between refreshes (each one walk of 64)
  double complete_share = 0.0;      ///< chain targets: share of each batch that is complete sequences
  double resampled_share = 0.0;     ///< chain targets: share of the data sequences inpainted by the model

  void add_to(CLI::App& app) {
    app.add_option("--objective", objective,
                   "stage 2: 'chain' (regression on chain-rule sums of the conditionals) or 'self-consistency' "
                   "(the paper's one-step residuals)")
        ->check(CLI::IsMember({"chain", "self-consistency"}));
    app.add_flag("--cold-start", cold_start,
                 "stage 2: start the marginal net at random instead of from the conditional net's trunk");
    app.add_option("--pool-size", pool_size, "stage 2, chain: sequences in the target pool")->check(CLI::PositiveNumber);
    app.add_option("--pool-refresh", pool_refresh, "stage 2, chain: pool sequences replaced per step, on average")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--pool-refresh-interval", pool_refresh_interval,
                   "stage 2, chain: steps between pool refreshes (each replaces refresh x interval sequences at once)")
        ->check(CLI::PositiveNumber);
    app.add_option("--complete-share", complete_share,
                   "stage 2, chain: share of each batch drawn as complete sequences (the rest are prefixes of "
                   "uniformly random length)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--resampled-share", resampled_share,
                   "stage 2, chain: share of the data sequences that keep a uniformly random number of their values "
                   "and take the rest from the conditionals (data inpainted by the model, new on every refresh)")
        ->check(CLI::Range(0.0, 1.0));
  }

  /// Sets the objective and pool fields of `options` (the examples set gibbs_steps, which
  /// their energy modes share).
  void apply_to(MarginalTrainerOptions& options) const {
    options.objective =
        objective == "chain" ? MarginalObjective::chain_targets : MarginalObjective::self_consistency;
    options.pool_size = pool_size;
    options.pool_refresh_interval = std::min(pool_refresh_interval, pool_size);
    options.pool_refresh = std::min(pool_refresh, pool_size / options.pool_refresh_interval);
    options.complete_share = complete_share;
    options.resampled_share = resampled_share;
  }

  /// Before a fresh stage 2 (not a resumed one): the warm start, unless --cold-start.
  template <class Model>
  void prepare(Model& model) const {
    if (!cold_start) warm_start_marginal(model);
  }
};

}  // namespace mam::examples
