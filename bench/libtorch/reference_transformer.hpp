#pragma once
// The reference MaM code's Transformer (github.com/PrincetonLIPS/MaM, mam/models/transformer.py,
// TransformerNet) in torch::nn, the peer of mam::Transformer in mam_bench_libtorch:
//
//   embedding (K + 1 symbols, 0 = '?'), + the sinusoidal table (PositionalEncoding: sin in
//   the first half of the features, cos in the second, frequencies 10000^(-t / (h - 1)));
//   blocks x = x + attn(ln1(x)), x = x + mlp(ln2(x)), LayerNorm eps 1e-6, attention with
//   bias-free key, query, value and proj, mlp Linear(width, hidden) GELU Linear(hidden, width);
//   ln_f; dense (width -> width -> width -> K, GELU between) for the logits, or dense_cls
//   (mean over positions, width -> hidden -> hidden -> 1) for log p.
//
// The reference's TransformerNet has both heads and runs both on every call; a conditional or
// marginal net here builds only the head it is used as (the other head is one small MLP per
// sample or per token that the reference computes and drops). Initialization is the
// reference's _init_weights: embeddings N(0, 1), Xavier-uniform linear weights, biases
// N(0, 1e-6), LayerNorm 1 and 0. The reference sizes its molecule net with
// hidden_size = 4 x embedding_dim (768 and 3072), which is both the blocks' feed-forward width
// and the marginal head's width.

#include <cmath>
#include <cstdint>

#include <torch/torch.h>

#include <mam/core/types.hpp>

namespace mam::bench::reference {

/// SelfAttention: bias-free key, query, value and output projections, no mask.
struct SelfAttentionImpl : torch::nn::Module {
  SelfAttentionImpl(std::int64_t width, std::int64_t num_heads)
      : key(register_module("key", torch::nn::Linear(torch::nn::LinearOptions(width, width).bias(false)))),
        query(register_module("query", torch::nn::Linear(torch::nn::LinearOptions(width, width).bias(false)))),
        value(register_module("value", torch::nn::Linear(torch::nn::LinearOptions(width, width).bias(false)))),
        proj(register_module("proj", torch::nn::Linear(torch::nn::LinearOptions(width, width).bias(false)))),
        heads(num_heads) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const std::int64_t b = x.size(0), t = x.size(1), c = x.size(2);
    const torch::Tensor k = key(x).view({b, t, heads, c / heads}).transpose(1, 2);  // B, heads, T, head width
    const torch::Tensor q = query(x).view({b, t, heads, c / heads}).transpose(1, 2);
    const torch::Tensor v = value(x).view({b, t, heads, c / heads}).transpose(1, 2);
    const torch::Tensor att = torch::softmax(q.matmul(k.transpose(-2, -1)) * (1.0 / std::sqrt(double(k.size(-1)))), -1);
    return proj(att.matmul(v).transpose(1, 2).contiguous().view({b, t, c}));
  }

  torch::nn::Linear key, query, value, proj;
  std::int64_t heads;
};
TORCH_MODULE(SelfAttention);

/// Block: pre-LayerNorm attention and feed-forward, each with its skip connection.
struct TransformerBlockImpl : torch::nn::Module {
  TransformerBlockImpl(std::int64_t width, std::int64_t heads, std::int64_t hidden)
      : ln1(register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-6)))),
        ln2(register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-6)))),
        attn(register_module("attn", SelfAttention(width, heads))),
        mlp(register_module("mlp", torch::nn::Sequential(torch::nn::Linear(width, hidden), torch::nn::GELU(),
                                                         torch::nn::Linear(hidden, width)))) {}

  torch::Tensor forward(torch::Tensor x) {
    x = x + attn(ln1(x));
    return x + mlp->forward(ln2(x));
  }

  torch::nn::LayerNorm ln1, ln2;
  SelfAttention attn;
  torch::nn::Sequential mlp;
};
TORCH_MODULE(TransformerBlock);

/// TransformerNet as a conditional net (B x D codes -> B x D x K logits) or a marginal net
/// (-> B), codes in the reference's encoding (0 = '?', values 1..K).
struct TransformerNetImpl : torch::nn::Module {
  TransformerNetImpl(std::int64_t num_variables, std::int64_t num_values, std::int64_t width, std::int64_t heads,
                     std::int64_t layers, std::int64_t hidden, bool conditional_head)
      : conditional(conditional_head),
        embedding(register_module("embedding", torch::nn::Embedding(num_values + 1, width))),
        blocks(register_module("decoder", torch::nn::ModuleList())),
        ln_f(register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-6)))),
        head(register_module(conditional_head ? "dense" : "dense_cls",
                             conditional_head ? torch::nn::Sequential(torch::nn::Linear(width, width), torch::nn::GELU(),
                                                                      torch::nn::Linear(width, width), torch::nn::GELU(),
                                                                      torch::nn::Linear(width, num_values))
                                              : torch::nn::Sequential(torch::nn::Linear(width, hidden), torch::nn::GELU(),
                                                                      torch::nn::Linear(hidden, hidden), torch::nn::GELU(),
                                                                      torch::nn::Linear(hidden, 1)))) {
    for (std::int64_t l = 0; l < layers; ++l) blocks->push_back(TransformerBlock(width, heads, hidden));
    const std::int64_t half = width / 2;
    const torch::Tensor position = torch::arange(num_variables, torch::kFloat).unsqueeze(1);
    const torch::Tensor frequency =
        torch::exp(torch::arange(half, torch::kFloat) * (-std::log(10000.0) / double(std::max<std::int64_t>(half - 1, 1))));
    positions = register_buffer("pe", torch::cat({torch::sin(position * frequency), torch::cos(position * frequency)}, 1));
    initialize();
  }

  /// The reference's _init_weights.
  void initialize() {
    torch::NoGradGuard no_grad;
    for (auto& module : modules(/*include_self=*/false)) {
      if (auto* e = module->as<torch::nn::Embedding>()) {
        torch::nn::init::normal_(e->weight, 0.0, 1.0);
      } else if (auto* linear = module->as<torch::nn::Linear>()) {
        torch::nn::init::xavier_uniform_(linear->weight);
        if (linear->bias.defined()) torch::nn::init::normal_(linear->bias, 0.0, 1e-6);
      } else if (auto* norm = module->as<torch::nn::LayerNorm>()) {
        torch::nn::init::ones_(norm->weight);
        torch::nn::init::zeros_(norm->bias);
      }
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = embedding(x) + positions;
    for (const auto& block : *blocks) y = block->as<TransformerBlock>()->forward(y);
    y = ln_f(y);
    if (conditional) return head->forward(y);  // B x D x K
    return head->forward(y.mean(1)).squeeze(-1);
  }

  bool conditional;
  torch::nn::Embedding embedding;
  torch::nn::ModuleList blocks;
  torch::nn::LayerNorm ln_f;
  torch::nn::Sequential head;
  torch::Tensor positions;  ///< D x width, fixed
};
TORCH_MODULE(TransformerNet);

}  // namespace mam::bench::reference
