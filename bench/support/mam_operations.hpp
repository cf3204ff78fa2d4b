#pragma once
// The timed bodies of mam's model-level operations, shared by mam_bench and by the
// side-by-side comparison with LibTorch (bench/libtorch), so both binaries time exactly the
// same code. Each runs a Google Benchmark loop at one shape and thread count.

#include <mam/core/rng.hpp>
#include <mam/core/threads.hpp>
#include <mam/model/residual.hpp>
#include <mam/nn/float_gemm.hpp>
#include <mam/nn/residual_mlp.hpp>
#include <mam/sample/ancestral.hpp>
#include <mam/train/energy_trainer.hpp>
#include <mam/train/marginal_trainer.hpp>

#include "support/shapes.hpp"
#include "support/suite.hpp"

namespace mam::bench {

/// The reference's Ising target on a side x side torus, side = floor(sqrt(D)): spins
/// s = 2x/(K-1) - 1 (s = 2x - 1 for K = 2), log f(s) = s^T (sigma A) s + b sum(s), so each
/// edge carries 2 sigma s_i s_j; sites beyond side^2 (D not a square) only add their field.
/// Vectorized over the batch: one row operation per site (its right and lower neighbours).
struct IsingTorus {
  Index side, num_values;
  double sigma = 0.1, field = 0.2;

  IsingTorus(Index d, Index k) : side(1), num_values(k) {
    while ((side + 1) * (side + 1) <= d) ++side;
  }

  Vector<double> operator()(const CodeMatrix& x) const {
    const Matrix<double> s = 2.0 * x.cast<double>().array() / static_cast<double>(num_values - 1) - 1.0;
    Eigen::Array<double, 1, Eigen::Dynamic> pairs = Eigen::Array<double, 1, Eigen::Dynamic>::Zero(x.cols());
    for (Index r = 0; r < side; ++r)
      for (Index c = 0; c < side; ++c) {
        const Index i = r * side + c, right = r * side + (c + 1) % side, down = ((r + 1) % side) * side + c;
        pairs += s.row(i).array() * (s.row(right) + s.row(down)).array();
      }
    return (2.0 * sigma * pairs + field * s.colwise().sum().array()).transpose().matrix();
  }
};

/// The model of a benchmark: float networks multiplying in the shape's precision.
inline ResidualMarginalizationModel<float> bench_model(const Shape& s, Rng& rng) {
  auto model = make_residual_model<float>(s.d, s.k, s.hidden, s.layers, rng);
  model.marginal().set_matmul_precision(s.precision);
  model.conditional().set_matmul_precision(s.precision);
  return model;
}

inline ResidualMLPConfig marginal_config(const Shape& s) { return {s.d, s.k, s.hidden, s.layers, 1}; }
inline ResidualMLPConfig conditional_config(const Shape& s) { return {s.d, s.k, s.hidden, s.layers, s.d * s.k}; }

/// One hidden layer's product, H x H times H x batch, as the networks run it
/// (mam::detail::multiply: the AVX2 kernel where it is available, Eigen's otherwise), or with
/// `eigen_only` Eigen's own product: the GEMM that most of every pass is made of. Beside
/// LibTorch's (its BLAS's) it tells how much of the other ratios is the machine's matrix
/// kernel rather than the code around it.
inline void hidden_product(benchmark::State& state, const Shape& s, int threads, bool eigen_only) {
  set_num_threads(threads);
  Rng rng(16);
  const auto uniform = [&rng] { return static_cast<float>(rng.uniform(-1.0, 1.0)); };
  const Matrix<float> weight = Matrix<float>::NullaryExpr(s.hidden, s.hidden, uniform);
  const Matrix<float> x = Matrix<float>::NullaryExpr(s.hidden, s.batch, uniform);
  Matrix<float> y(s.hidden, s.batch);
  for (auto _ : state) {
    if (eigen_only)
      y.noalias() = weight * x;
    else
      detail::multiply(weight, x, y, false);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

inline void mam_hidden_product(benchmark::State& state, const Shape& s, int threads) {
  hidden_product(state, s, threads, false);
}

inline void eigen_hidden_product(benchmark::State& state, const Shape& s, int threads) {
  hidden_product(state, s, threads, true);
}

/// Forward and backward of both networks on a batch that is half '?', with random output
/// gradients.
inline void mam_dual_forward_backward(benchmark::State& state, const Shape& s, int threads) {
  set_num_threads(threads);
  Rng rng(4);
  ResidualMLP<float> marginal(marginal_config(s), rng), conditional(conditional_config(s), rng);
  marginal.set_matmul_precision(s.precision);
  conditional.set_matmul_precision(s.precision);
  const CodeMatrix codes = random_codes(s, rng);
  const Matrix<float> d_marginal = Matrix<float>::Random(1, s.batch);
  const Matrix<float> d_conditional = Matrix<float>::Random(s.d * s.k, s.batch);
  Vector<float> g_marginal = marginal.zero_gradient(), g_conditional = conditional.zero_gradient();
  ResidualMLP<float>::Context cm, cc;
  for (auto _ : state) {
    marginal.forward(codes, cm);
    conditional.forward(codes, cc);
    g_marginal.setZero();
    g_conditional.setZero();
    marginal.backward(cm, d_marginal, g_marginal);
    conditional.backward(cc, d_conditional, g_conditional);
    benchmark::DoNotOptimize(g_marginal.data());
    benchmark::DoNotOptimize(g_conditional.data());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

/// Exactly what EnergyTrainer::step does: censor-and-resample 4 positions of the persistent
/// buffer, the KL loss + self-consistency (alpha 1), clipping at norm 1, Adam on both nets.
/// The model lives next to the trainer that holds a reference to it, so it never moves.
class MamEnergyStep {
 public:
  using Model = ResidualMarginalizationModel<float>;

  explicit MamEnergyStep(const Shape& s) : model_(make_model(s)), trainer_(model_, IsingTorus(s.d, s.k), options(s), 12) {}
  MamEnergyStep(const MamEnergyStep&) = delete;
  MamEnergyStep& operator=(const MamEnergyStep&) = delete;

  double operator()() { return trainer_.step().loss; }

 private:
  static Model make_model(const Shape& s) {
    Rng rng(11);
    return bench_model(s, rng);
  }
  static EnergyTrainerOptions options(const Shape& s) {
    EnergyTrainerOptions options;
    options.trainer.batch_size = s.batch;
    options.trainer.clip_norm = 1.0;
    return options;
  }

  Model model_;
  EnergyTrainer<Model, IsingTorus> trainer_;
};

inline void mam_energy_training_step(benchmark::State& state, const Shape& s, int threads) {
  set_num_threads(threads);
  MamEnergyStep step(s);
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.SetItemsProcessed(state.iterations() * s.batch);
}

/// Random complete samples standing in for a data set (stage-2 training only reads them).
inline CodeMatrix stand_in_data(const Shape& s, Rng& rng) {
  Shape data_shape = s;
  data_shape.batch = 4 * s.batch;
  return random_codes(data_shape, rng, 0.0);
}

/// Exactly what MarginalTrainer::step does: censor-and-resample 4 positions of the on-policy
/// half of the batch, self-consistency on half data + half buffer, clipping, Adam on theta.
inline void mam_marginal_training_step(benchmark::State& state, const Shape& s, int threads) {
  set_num_threads(threads);
  Rng rng(15);
  auto model = bench_model(s, rng);
  const CodeMatrix data = stand_in_data(s, rng);
  MarginalTrainerOptions options;
  options.trainer.batch_size = s.batch;
  options.trainer.clip_norm = 1.0;
  MarginalTrainer<decltype(model)> trainer(model, data, options, 16);
  for (auto _ : state) {
    const StepReport report = trainer.step();
    benchmark::DoNotOptimize(report.loss);
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

/// log p(x_S) of a batch of partial assignments (half '?'): one marginal pass.
inline void mam_log_marginal(benchmark::State& state, const Shape& s, int threads) {
  set_num_threads(threads);
  Rng rng(12);
  const auto model = bench_model(s, rng);
  const CodeMatrix x = random_codes(s, rng);
  for (auto _ : state) {
    const Vector<double> log_p = model.log_marginal(x);
    benchmark::DoNotOptimize(log_p.data());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

/// The chain-rule likelihood of complete samples along one random order each: D passes.
inline void mam_chain_rule_likelihood(benchmark::State& state, const Shape& s, int threads) {
  set_num_threads(threads);
  Rng rng(13);
  const auto model = bench_model(s, rng);
  const CodeMatrix x = random_codes(s, rng, 0.0);
  for (auto _ : state) {
    const Vector<double> log_p = model.log_likelihood_chain(x, 1, rng);
    benchmark::DoNotOptimize(log_p.data());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

/// Any-order ancestral sampling of a batch: D passes.
inline void mam_ancestral_sampling(benchmark::State& state, const Shape& s, int threads) {
  set_num_threads(threads);
  Rng rng(14);
  const auto model = bench_model(s, rng);
  for (auto _ : state) {
    const CodeMatrix samples = sample_ancestral(model, s.batch, rng);
    benchmark::DoNotOptimize(samples.data());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

}  // namespace mam::bench
