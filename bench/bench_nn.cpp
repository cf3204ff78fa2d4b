// Networks: Eigen's plain GEMM as the ceiling, the dual residual MLP (marginal head of width 1
// and conditional head of width D*K on the same input), and the one-hot input layer against
// the dense product with an explicit one-hot matrix.
#include <string>

#include <mam/core/rng.hpp>
#include <mam/core/threads.hpp>
#include <mam/nn/one_hot_input.hpp>
#include <mam/nn/residual_mlp.hpp>

#include "support/mam_operations.hpp"
#include "support/shapes.hpp"
#include "support/suite.hpp"

namespace mam::bench {
namespace {

double gemm_flops(Index m, Index k, Index n) { return 2.0 * m * k * n; }

// Multiply-add FLOPs of one forward pass of one residual MLP (the gather counts one add per
// gathered element).
double forward_flops(const Shape& s, Index out) {
  return s.d * s.hidden * s.batch + (s.layers - 1) * gemm_flops(s.hidden, s.hidden, s.batch) +
         gemm_flops(out, s.hidden, s.batch);
}

void set_rate_counters(benchmark::State& state, double flops_per_iteration, Index batch) {
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}

void register_shape(Suite& suite, const Shape& s, int threads) {
  const std::string suffix = "/" + s.tag() + "/threads:" + std::to_string(threads);
  const ResidualMLPConfig marginal = marginal_config(s), conditional = conditional_config(s);
  const double dual_forward_flops = forward_flops(s, 1) + forward_flops(s, s.d * s.k);

  suite.add("eigen_gemm_HxH_times_HxB" + suffix, [=](benchmark::State& state) {
    eigen_hidden_product(state, s, threads);
    set_rate_counters(state, gemm_flops(s.hidden, s.hidden, s.batch), s.batch);
  });
  suite.add("mam_gemm_HxH_times_HxB" + suffix, [=](benchmark::State& state) {
    mam_hidden_product(state, s, threads);
    set_rate_counters(state, gemm_flops(s.hidden, s.hidden, s.batch), s.batch);
  });

  // One network with a head of width 1: its hidden-layer GEMM FLOPs over its whole forward
  // time, compared with the plain GEMM rate (conservative: input layer and head count as cost).
  suite.add("marginal_mlp_forward" + suffix, [=](benchmark::State& state) {
    set_num_threads(threads);
    Rng rng(2);
    const ResidualMLP<float> net(marginal, rng);
    const CodeMatrix codes = random_codes(s, rng);
    ResidualMLP<float>::Context context;
    for (auto _ : state) {
      net.forward(codes, context);
      benchmark::DoNotOptimize(context.output.data());
    }
    set_rate_counters(state, (s.layers - 1) * gemm_flops(s.hidden, s.hidden, s.batch), s.batch);
  });

  suite.add("dual_mlp_forward" + suffix, [=](benchmark::State& state) {
    set_num_threads(threads);
    Rng rng(3);
    const ResidualMLP<float> marginal_net(marginal, rng), conditional_net(conditional, rng);
    const CodeMatrix codes = random_codes(s, rng);
    ResidualMLP<float>::Context cm, cc;
    for (auto _ : state) {
      marginal_net.forward(codes, cm);
      conditional_net.forward(codes, cc);
      benchmark::DoNotOptimize(cm.output.data());
      benchmark::DoNotOptimize(cc.output.data());
    }
    set_rate_counters(state, dual_forward_flops, s.batch);
  });

  suite.add("dual_mlp_forward_backward" + suffix, [=](benchmark::State& state) {
    mam_dual_forward_backward(state, s, threads);
    set_rate_counters(state, 3.0 * dual_forward_flops, s.batch);  // backward ~ 2x forward
  });

  // Eigen's time over mam's for the same product: what the AVX2 kernel buys (1 where Eigen runs).
  suite.add_ratio({"mam GEMM speed-up over Eigen's" + suffix, "eigen_gemm_HxH_times_HxB" + suffix,
                   "mam_gemm_HxH_times_HxB" + suffix, 1.0, true, 1.0});
  suite.add_ratio({"hidden-layer throughput / mam GEMM" + suffix, "mam_gemm_HxH_times_HxB" + suffix,
                   "marginal_mlp_forward" + suffix, 0.8, true, static_cast<double>(s.layers - 1)});
}

// One input layer with initialized parameters and a batch of codes, the same for both sides
// of the comparison.
struct OneHotProblem {
  OneHotInput<float> layer;
  Vector<float> params;
  CodeMatrix codes;

  explicit OneHotProblem(const Shape& s) : layer(s.d, s.k, s.hidden), params(layer.num_parameters()) {
    Rng rng(5);
    layer.initialize(params, rng);
    codes = random_codes(s, rng);
  }
};

// The one-hot input layer: gather vs building the one-hot matrix and multiplying it densely
// (what the reference does: one_hot(x).flatten() then nn.Linear).
void register_one_hot(Suite& suite, const Shape& s, int threads, double target) {
  const std::string suffix = "/" + s.tag() + "/threads:" + std::to_string(threads);
  suite.add("one_hot_gather" + suffix, [=](benchmark::State& state) {
    set_num_threads(threads);
    const OneHotProblem problem(s);
    const auto& [layer, params, codes] = problem;
    Matrix<float> y;
    for (auto _ : state) {
      layer.forward(params, codes, y);
      benchmark::DoNotOptimize(y.data());
    }
    state.SetItemsProcessed(state.iterations() * s.batch);
  });
  suite.add("one_hot_dense" + suffix, [=](benchmark::State& state) {
    set_num_threads(threads);
    const OneHotProblem problem(s);
    const auto& [layer, params, codes] = problem;
    const Matrix<float> w = layer.dense_weight(params);
    Matrix<float> x(layer.in_features(), s.batch), y(s.hidden, s.batch);
    for (auto _ : state) {
      x.setZero();
      for (Index b = 0; b < s.batch; ++b)
        for (Index i = 0; i < s.d; ++i) x(one_hot_column(i, codes(i, b), s.k), b) = 1.0f;
      y.noalias() = w * x;
      y.colwise() += layer.bias(params);
      benchmark::DoNotOptimize(y.data());
    }
    state.SetItemsProcessed(state.iterations() * s.batch);
  });
  suite.add_ratio({"one-hot gather speed-up over dense" + suffix, "one_hot_dense" + suffix,
                   "one_hot_gather" + suffix, target});
}

}  // namespace

void register_nn_benchmarks(Suite& suite) {
  for (int threads : {1, 2}) {
    register_shape(suite, {100, 2, 512, 4, 256}, threads);
    register_shape(suite, {100, 2, 2048, 4, 512}, threads);
    register_one_hot(suite, {100, 2, 512, 1, 256}, threads, 2.5);
    register_one_hot(suite, {55, 40, 1024, 1, 256}, threads, 15.0);
  }
}

}  // namespace mam::bench
