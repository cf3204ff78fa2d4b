// The model: one energy-based training step as a trainer takes it (censor-and-resample of a
// persistent buffer, the KL energy loss with self-consistency, clipping, Adam on both
// networks), the one-pass marginal log p(x_S) against the D-pass chain rule, and ancestral
// sampling. The MaM claim is the ratio: a marginal in one pass where the chain rule needs D.
#include <string>

#include <mam/core/rng.hpp>
#include <mam/core/threads.hpp>
#include <mam/model/marginalization_model.hpp>
#include <mam/sample/ancestral.hpp>
#include <mam/train/energy_trainer.hpp>

#include "support/shapes.hpp"
#include "support/suite.hpp"

namespace mam::bench {
namespace {

// The reference's Ising target on a side x side torus: spins s = 2x - 1,
// log f(s) = s^T (sigma A) s + b sum(s), so each edge carries 2 sigma s_i s_j. Vectorized
// over the batch: one row operation per site (its right and lower neighbours).
struct IsingTorus {
  Index side;
  double sigma, field;

  Vector<double> operator()(const CodeMatrix& x) const {
    const Matrix<double> s = 2.0 * x.cast<double>().array() - 1.0;
    Eigen::Array<double, 1, Eigen::Dynamic> pairs = Eigen::Array<double, 1, Eigen::Dynamic>::Zero(x.cols());
    for (Index r = 0; r < side; ++r)
      for (Index c = 0; c < side; ++c) {
        const Index i = r * side + c, right = r * side + (c + 1) % side, down = ((r + 1) % side) * side + c;
        pairs += s.row(i).array() * (s.row(right) + s.row(down)).array();
      }
    return (2.0 * sigma * pairs + field * s.colwise().sum().array()).transpose().matrix();
  }
};

void register_shape(Suite& suite, const Shape& s, Index side, int threads) {
  const std::string suffix = "/" + s.tag() + "/threads:" + std::to_string(threads);

  suite.add("energy_training_step" + suffix, [=](benchmark::State& state) {
    set_num_threads(threads);
    Rng rng(11);
    auto model = make_residual_model<float>(s.d, s.k, s.hidden, s.layers, rng);
    const IsingTorus log_f{side, 0.1, 0.2};
    // Exactly what EnergyTrainer::step does: censor-and-resample 4 positions of the
    // persistent buffer, the KL loss + self-consistency (alpha 1), clipping, Adam on both nets.
    EnergyTrainerOptions options;
    options.trainer.batch_size = s.batch;
    options.trainer.clip_norm = 1.0;
    EnergyTrainer<decltype(model), IsingTorus> trainer(model, log_f, options, 12);
    for (auto _ : state) {
      const StepReport report = trainer.step();
      benchmark::DoNotOptimize(report.loss);
    }
    state.SetItemsProcessed(state.iterations() * s.batch);
  });

  suite.add("log_marginal" + suffix, [=](benchmark::State& state) {
    set_num_threads(threads);
    Rng rng(12);
    const auto model = make_residual_model<float>(s.d, s.k, s.hidden, s.layers, rng);
    const CodeMatrix x = random_codes(s, rng);
    for (auto _ : state) {
      const Vector<double> log_p = model.log_marginal(x);
      benchmark::DoNotOptimize(log_p.data());
    }
    state.SetItemsProcessed(state.iterations() * s.batch);
  });

  suite.add("chain_rule_likelihood" + suffix, [=](benchmark::State& state) {
    set_num_threads(threads);
    Rng rng(13);
    const auto model = make_residual_model<float>(s.d, s.k, s.hidden, s.layers, rng);
    const CodeMatrix x = random_codes(s, rng, 0.0);
    for (auto _ : state) {
      const Vector<double> log_p = model.log_likelihood_chain(x, 1, rng);
      benchmark::DoNotOptimize(log_p.data());
    }
    state.SetItemsProcessed(state.iterations() * s.batch);
  });

  suite.add("ancestral_sampling" + suffix, [=](benchmark::State& state) {
    set_num_threads(threads);
    Rng rng(14);
    const auto model = make_residual_model<float>(s.d, s.k, s.hidden, s.layers, rng);
    for (auto _ : state) {
      const CodeMatrix samples = sample_ancestral(model, s.batch, rng);
      benchmark::DoNotOptimize(samples.data());
    }
    state.SetItemsProcessed(state.iterations() * s.batch);
  });

  // The chain rule takes D conditional passes where the marginal takes one: aim for 0.8 D.
  suite.add_ratio({"MaM speed-up: chain rule / marginal" + suffix, "chain_rule_likelihood" + suffix,
                   "log_marginal" + suffix, 0.8 * static_cast<double>(s.d), true});
}

}  // namespace

void register_model_benchmarks(Suite& suite) {
  for (int threads : {1, 2}) register_shape(suite, {100, 2, 512, 4, 256}, 10, threads);
}

}  // namespace mam::bench
