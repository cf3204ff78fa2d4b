#pragma once
// The molecule example's energy target, p*(x) ~ exp(-(logP(x) - g*)^2 / tau) over the molecules
// that SELFIES strings decode to, and its warm start: samples of the target itself by
// Metropolis-Hastings chains, for the model to be fitted to by maximum likelihood first.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <mam/chem/sequence_metropolis.hpp>
#include <mam/core/rng.hpp>
#include <mam/core/types.hpp>
#include <mam/data/vocabulary.hpp>
#include <mam/train/fit.hpp>

#include "support/molecule_data.hpp"
#include "support/progress.hpp"
#include "support/run.hpp"

namespace mam::examples::molecules {

/// log f(x) = -(logP(x) - g*)^2 / tau for the molecule a SELFIES column decodes to, and a
/// large finite penalty for an empty or invalid one: the value of a logP `invalid_distance`
/// away from the target (so it stays the worst score while tau is annealed). Also keeps what
/// it saw in the last batch (the trainer's buffer), for the log.
class LogPTarget {
 public:
  LogPTarget(const mam::Vocabulary& vocabulary, const Representation& representation, double target, double tau,
             double invalid_distance)
      : vocabulary_(vocabulary),
        representation_(representation),
        target_(target),
        tau_(tau),
        invalid_distance_(invalid_distance) {}

  void set_tau(double tau) { tau_ = tau; }
  double tau() const { return tau_; }
  double target() const { return target_; }

  double log_f(const chem::Properties& p) const {
    const double distance = p.valid ? p.log_p - target_ : invalid_distance_;
    return -distance * distance / tau_;
  }

  mam::Vector<double> operator()(const mam::CodeMatrix& x) {
    const auto properties = properties_of(decode_all(x, vocabulary_, representation_));
    mam::Vector<double> values(x.cols());
    long within = 0, valid = 0;
    double log_p_sum = 0.0;
    for (std::size_t c = 0; c < properties.size(); ++c) {
      values[static_cast<mam::Index>(c)] = log_f(properties[c]);
      if (!properties[c].valid) continue;
      ++valid;
      log_p_sum += properties[c].log_p;
      if (std::abs(properties[c].log_p - target_) <= 0.5) ++within;
    }
    last_within_ = static_cast<double>(within) / static_cast<double>(x.cols());
    last_mean_log_p_ = valid > 0 ? log_p_sum / static_cast<double>(valid) : std::nan("");
    return values;
  }

  double last_within() const { return last_within_; }
  double last_mean_log_p() const { return last_mean_log_p_; }

 private:
  const mam::Vocabulary& vocabulary_;
  const Representation& representation_;
  double target_, tau_, invalid_distance_;
  double last_within_ = std::nan(""), last_mean_log_p_ = std::nan("");
};

/// The energy mode's warm start: samples of the target itself, by Metropolis-Hastings.
struct TargetSamples {
  mam::CodeMatrix codes;  // D x (chains * snapshots)
  long steps = 0, distinct = 0;
  double seconds = 0.0, within = std::nan("");
  mam::SequenceMetropolisCounts counts;
};

/// How the warm start samples: `chains` chains of strings of `length` tokens for `budget`
/// (steps of all chains, or seconds), a snapshot of every chain every `thinning` steps.
struct WarmStartOptions {
  mam::Index length = 55;
  long chains = 256, thinning = 20;
  mam::TrainingBudget budget = mam::TrainingBudget::of_steps(1);
  std::uint64_t seed = 0;
};

/// Chains on log f at the target's tau, started at uniformly random strings; every chain's
/// state is kept every `thinning` steps during the second half of the budget (the first is
/// burn-in). Substitutions, and insertions and deletions of a symbol (uniform fill), so that
/// a molecule can grow or shrink by one atom in one proposal. Stops early on SIGINT/SIGTERM.
inline TargetSamples sample_target(LogPTarget& target, const mam::Vocabulary& vocabulary, const WarmStartOptions& o) {
  const mam::Index d = o.length;
  const mam::Index k = vocabulary.size();
  mam::Rng rng(o.seed);
  mam::CodeMatrix start(d, o.chains);
  for (mam::Index c = 0; c < start.cols(); ++c)
    for (mam::Index i = 0; i < d; ++i) start(i, c) = static_cast<mam::Code>(rng.uniform_int(static_cast<std::uint64_t>(k)));
  auto log_f = [&target](const mam::CodeMatrix& x) { return target(x); };
  mam::SequenceMetropolis<decltype(log_f)> chains(log_f, std::move(start), k, mam::SequenceMoves{});
  // Within +-0.5 of g* exactly when log f >= -0.25 / tau (invalid strings score far below).
  const double within_log_f = -0.25 / target.tau() * (1.0 + 1e-12);
  auto within_count = [&](const mam::Vector<double>& log_f_values) {
    return static_cast<long>((log_f_values.array() >= within_log_f).count());
  };
  TargetSamples result;
  ProgressBar progress("mcmc");
  auto fraction_done = [&] { return o.budget.fraction(result.steps, progress.seconds()); };
  std::vector<mam::CodeMatrix> kept;
  long kept_within = 0;
  while (!interrupted() && fraction_done() < 1.0) {
    chains.step(rng);
    ++result.steps;
    if (fraction_done() > 0.5 && result.steps % o.thinning == 0) {
      kept.push_back(chains.state());
      kept_within += within_count(chains.log_f());
    }
    if (result.steps % 20 == 0) {
      char metrics[160];
      std::snprintf(metrics, sizeof metrics, "step %ld  acceptance %.3f  within %.2f  mean log f %.2f  kept %zu",
                    result.steps, chains.totals().acceptance_rate(),
                    static_cast<double>(within_count(chains.log_f())) / static_cast<double>(o.chains),
                    chains.log_f().mean(), kept.size() * static_cast<std::size_t>(o.chains));
      progress.update(std::min(1.0, fraction_done()), metrics);
    }
  }
  if (kept.empty()) {  // too short a budget for a snapshot in the second half: the last states
    kept.push_back(chains.state());
    kept_within += within_count(chains.log_f());
  }
  result.seconds = progress.seconds();
  progress.finish();
  result.codes.resize(d, static_cast<mam::Index>(kept.size()) * o.chains);
  for (std::size_t s = 0; s < kept.size(); ++s)
    result.codes.middleCols(static_cast<mam::Index>(s) * o.chains, o.chains) = kept[s];
  result.within = static_cast<double>(kept_within) / static_cast<double>(result.codes.cols());
  result.counts = chains.totals();
  std::unordered_set<std::string> distinct;
  for (const auto& p : properties_of(decode_all(result.codes, vocabulary, Representation(true))))
    if (p.valid) distinct.insert(p.canonical);
  result.distinct = static_cast<long>(distinct.size());
  return result;
}

}  // namespace mam::examples::molecules
