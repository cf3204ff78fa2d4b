#pragma once
// Small trainers of every kind for the data-parallel tests (tests/test_data_parallel.cpp over
// threads, tests/distributed/ over MPI): the same model, data, target and options whatever
// the processes, so that runs of different processes and shards can be compared.

#include <cmath>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <mam/mam.hpp>
#include <mam/train/conditional_trainer.hpp>
#include <mam/train/data_parallel.hpp>
#include <mam/train/energy_trainer.hpp>
#include <mam/train/marginal_trainer.hpp>

namespace mam::test::data_parallel {


using Model = mam::ResidualMarginalizationModel<double>;
using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::Vector;
inline constexpr Index num_variables = 8;
inline constexpr Index batch_size = 16;

// Each rank initializes its model from its own seed: the trainer must start every rank from
// rank 0's parameters.
inline Model small_model(std::uint64_t seed) {
  Rng rng(seed);
  return mam::make_residual_model<double>(num_variables, 2, 24, 2, rng);
}

inline CodeMatrix random_codes(Index count) {
  Rng rng(7);
  CodeMatrix data(num_variables, count);
  for (Index j = 0; j < data.size(); ++j) data.data()[j] = static_cast<mam::Code>(rng.uniform_int(2));
  return data;
}

// A ferromagnetic chain with a field, in codes 0/1.
inline Vector<double> chain_log_f(const CodeMatrix& x) {
  Vector<double> values(x.cols());
  for (Index c = 0; c < x.cols(); ++c) {
    double sum = 0.0;
    for (Index i = 0; i < x.rows(); ++i) {
      const double s = 2.0 * x(i, c) - 1.0;
      sum += 0.3 * s;
      if (i + 1 < x.rows()) sum += 0.5 * s * (2.0 * x(i + 1, c) - 1.0);
    }
    values[c] = sum;
  }
  return values;
}
using LogF = Vector<double> (*)(const CodeMatrix&);

// Both networks' parameters and log Z, one vector.
inline Vector<double> parameters_of(const Model& model) {
  const Vector<double>& a = model.marginal().parameters();
  const Vector<double>& b = model.conditional().parameters();
  Vector<double> all(a.size() + b.size() + 1);
  all << a, b, model.log_z();
  return all;
}

inline double relative_difference(const Vector<double>& a, const Vector<double>& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1e-300, b.cwiseAbs().maxCoeff());
}

inline mam::TrainerOptions trainer_options(mam::ProcessGroup* processes, Index shards) {
  mam::TrainerOptions options;
  options.batch_size = batch_size;
  options.marginal_adam.learning_rate = 1e-2;
  options.conditional_adam.learning_rate = 1e-2;
  options.clip_norm = 10.0;
  options.data_parallel.processes = processes;
  options.data_parallel.shards = shards;
  return options;
}

enum class Kind { conditional, self_consistency, chain_targets, energy_kl, energy_matching };

// Any trainer, through the members the tests use.
struct AnyTrainer {
  std::function<mam::StepReport()> step;
  std::function<void(const std::string&)> save, load;
};

template <class Trainer>
AnyTrainer wrap(std::shared_ptr<Trainer> trainer) {
  return {[trainer] { return trainer->step(); }, [trainer](const std::string& path) { trainer->save(path); },
          [trainer](const std::string& path) { trainer->load(path); }};
}

/// A trainer of `kind` for `model`, with `processes` (null: alone) and `shards`.
inline AnyTrainer make_trainer(Kind kind, Model& model, mam::ProcessGroup* processes, Index shards) {
  const mam::TrainerOptions options = trainer_options(processes, shards);
  static const CodeMatrix data = random_codes(200);
  switch (kind) {
    case Kind::conditional:
      return wrap(std::make_shared<mam::ConditionalTrainer<Model>>(model, data, options, 11));
    case Kind::self_consistency:
    case Kind::chain_targets: {
      mam::MarginalTrainerOptions marginal;
      marginal.trainer = options;
      marginal.objective = kind == Kind::chain_targets ? mam::MarginalObjective::chain_targets
                                                       : mam::MarginalObjective::self_consistency;
      marginal.pool_size = 64;
      marginal.pool_refresh = 2;
      marginal.pool_refresh_interval = 4;
      marginal.resampled_share = 0.5;
      marginal.complete_share = 0.25;
      return wrap(std::make_shared<mam::MarginalTrainer<Model>>(model, data, marginal, 12));
    }
    case Kind::energy_kl:
    case Kind::energy_matching: {
      mam::EnergyTrainerOptions energy;
      energy.trainer = options;
      energy.objective = kind == Kind::energy_kl ? mam::EnergyObjective::kl : mam::EnergyObjective::matching;
      energy.metropolis_buffer = kind == Kind::energy_kl;
      energy.buffer_nll_weight = kind == Kind::energy_kl ? 0.5 : 0.0;
      energy.reinforce_conditional = kind == Kind::energy_kl;
      return wrap(std::make_shared<mam::EnergyTrainer<Model, LogF>>(model, &chain_log_f, energy, 13));
    }
  }
  throw std::logic_error("unknown trainer kind");
}

inline const char* name_of(Kind kind) {
  switch (kind) {
    case Kind::conditional: return "conditional";
    case Kind::self_consistency: return "marginal, self-consistency";
    case Kind::chain_targets: return "marginal, chain targets";
    case Kind::energy_kl: return "energy, KL with a Metropolis buffer";
    case Kind::energy_matching: return "energy, matching";
  }
  return "";
}

inline const Kind all_kinds[] = {Kind::conditional, Kind::self_consistency, Kind::chain_targets, Kind::energy_kl,
                                 Kind::energy_matching};

}  // namespace mam::test::data_parallel
