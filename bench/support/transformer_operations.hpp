#pragma once
// The timed bodies of mam's Transformer operations at the molecule shape, for the
// side-by-side comparison with LibTorch (bench/libtorch): the conditional net's
// forward + backward (stage 1's training pass) and its forward alone (one step of ancestral
// sampling, or of the chain-rule likelihood), plus the product FLOPs of a pass, which
// divided by the float kernel's measured rate give the time the pass cannot beat.

#include <string>

#include <mam/core/rng.hpp>
#include <mam/core/threads.hpp>
#include <mam/nn/float_gemm.hpp>
#include <mam/nn/transformer.hpp>
#include <mam/optim/adam.hpp>

#include "support/shapes.hpp"
#include "support/suite.hpp"

namespace mam::bench {

struct TransformerShape {
  Index d, k, width, heads, layers, feed_forward, batch;

  std::string tag() const {
    return "D" + std::to_string(d) + "_K" + std::to_string(k) + "_W" + std::to_string(width) + "_A" +
           std::to_string(heads) + "_L" + std::to_string(layers) + "_F" + std::to_string(feed_forward) + "_B" +
           std::to_string(batch);
  }
  /// The conditional net (D*K logits); the marginal head's width is the feed-forward's, as
  /// the reference's one hidden_size.
  TransformerConfig config(bool conditional = true) const {
    TransformerConfig c;
    c.num_variables = d;
    c.num_values = k;
    c.width = width;
    c.heads = heads;
    c.layers = layers;
    c.feed_forward = feed_forward;
    c.head_width = feed_forward;
    c.output_size = conditional ? d * k : 1;
    return c;
  }
  Shape codes_shape() const { return {d, k, width, layers, batch}; }

  /// Multiply-add FLOPs (2 per multiply-add) of one forward pass of the conditional net:
  /// every linear layer, plus attention's Q K^T and A V (D x D x head width per sample and
  /// head each, width x D x D per sample over the heads).
  double forward_flops() const {
    const double tokens = static_cast<double>(d * batch), w = static_cast<double>(width);
    const double per_token_block = 4 * w * w + 2 * w * feed_forward + 2 * w * d;
    const double per_token_head = 2 * w * w + w * k;
    return 2 * tokens * (layers * per_token_block + per_token_head);
  }
  /// A backward pass multiplies twice as much as its forward pass (dL/dW and dL/dx).
  double forward_backward_flops() const { return 3 * forward_flops(); }
};

inline CodeMatrix transformer_codes(const TransformerShape& s, std::uint64_t seed) {
  Rng rng(seed);
  return random_codes(s.codes_shape(), rng, 0.5);
}

/// Stage 1's training pass of the conditional net: forward, then backward of a given
/// dL/d logits into the parameters' gradient.
inline void mam_transformer_forward_backward(benchmark::State& state, const TransformerShape& s, int threads) {
  set_num_threads(threads);
  Rng rng(4);
  const Transformer<float> net(s.config(), rng);
  const CodeMatrix codes = transformer_codes(s, 4);
  const Matrix<float> d_logits = Matrix<float>::Random(s.d * s.k, s.batch);
  Transformer<float>::Context context;
  Vector<float> gradient = net.zero_gradient();
  for (auto _ : state) {
    gradient.setZero();
    net.forward(codes, context);
    net.backward(context, d_logits, gradient);
    benchmark::DoNotOptimize(gradient.data());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

/// One step of ancestral sampling (or of the chain rule): a forward pass of the conditional
/// net over a batch of partly observed samples.
inline void mam_transformer_sampling_pass(benchmark::State& state, const TransformerShape& s, int threads) {
  set_num_threads(threads);
  Rng rng(5);
  const Transformer<float> net(s.config(), rng);
  const CodeMatrix codes = transformer_codes(s, 5);
  Transformer<float>::Context context;
  for (auto _ : state) {
    net.forward(codes, context);
    benchmark::DoNotOptimize(context.output.data());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

/// The float kernel alone at a product of the pass (the feed-forward's first layer over all
/// the batch's tokens), so its rate is measured in the same process as the passes.
inline void float_gemm_at(benchmark::State& state, const TransformerShape& s, int threads) {
  set_num_threads(threads);
  const Matrix<float> weight = Matrix<float>::Random(s.feed_forward, s.width);
  const Matrix<float> x = Matrix<float>::Random(s.width, s.d * s.batch);
  Matrix<float> y(s.feed_forward, s.d * s.batch);
  for (auto _ : state) {
    detail::multiply(weight, x, y, false);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}
inline double float_gemm_flops(const TransformerShape& s) {
  return 2.0 * static_cast<double>(s.feed_forward * s.width * s.d * s.batch);
}

/// One stage-1 training step for peak-memory runs: forward, backward of a fixed dL/d logits,
/// Adam.
class MamTransformerStep {
 public:
  explicit MamTransformerStep(const TransformerShape& s)
      : net_(make_net(s)),
        codes_(transformer_codes(s, 11)),
        d_logits_(Matrix<float>::Random(s.d * s.k, s.batch)),
        gradient_(net_.zero_gradient()) {
    adam_.add_group(net_.num_parameters());
  }

  double operator()() {
    gradient_.setZero();
    net_.forward(codes_, context_);
    net_.backward(context_, d_logits_, gradient_);
    adam_.step(0, net_.parameters(), gradient_);
    return static_cast<double>(context_.output.cwiseProduct(d_logits_).sum());
  }

 private:
  static Transformer<float> make_net(const TransformerShape& s) {
    Rng rng(11);
    return Transformer<float>(s.config(), rng);
  }

  Transformer<float> net_;
  CodeMatrix codes_;
  Matrix<float> d_logits_;
  Vector<float> gradient_;
  Transformer<float>::Context context_;
  Adam<float> adam_;
};

}  // namespace mam::bench
