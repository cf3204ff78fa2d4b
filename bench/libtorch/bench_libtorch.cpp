// mam_bench_libtorch: mam against the reference MaM code written in LibTorch
// (reference_model.hpp), in the same process, at the same shapes and thread counts. Each
// operation is registered twice, mam first and LibTorch right after, so the two run
// back to back; after the run every pair is printed as the ratio mam / LibTorch.
//
//   mam_bench_libtorch [google benchmark flags]     the side-by-side timings and ratios
//   mam_bench_libtorch --check                      same parameters in both: same outputs and
//                                                   gradients? (exit status 1 if not)
//   mam_bench_libtorch --memory=mam|mam_bf16|libtorch|libtorch_lean|libtorch_bf16 [--shape=cpu|ising|molecule] [--steps=N]
//                      [--threads=T]                peak RSS of N energy-based training steps
//   mam_bench_libtorch --memory=transformer_mam|transformer_libtorch [--steps=N] [--threads=T]
//                                                   peak RSS of N stage-1 training steps of the
//                                                   conditional Transformer (D57 K40, width 128,
//                                                   batch 128)
//   mam_bench_libtorch --benchmark_filter=transformer   only the Transformer pairs: the training
//                                                   pass at batch 128, the sampling pass at batch
//                                                   1000, each with mam's fraction of its FLOP floor
#include <dlfcn.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include "libtorch/reference_model.hpp"
#include "libtorch/reference_transformer.hpp"
#include "support/mam_operations.hpp"
#include "support/transformer_operations.hpp"

namespace mam::bench {
namespace {

// ---------------------------------------------------------------------------------------------
// The LibTorch side of each operation, at the same shape, seeds of its own.

/// How the LibTorch side runs: as the reference does (both heads on every pass) or lean, and
/// in float32 or in LibTorch's own mixed precision.
struct TorchSide {
  bool reference_passes = true;
  bool bfloat16 = false;  ///< CPU autocast to bfloat16: linear layers on oneDNN (AMX where present)
};

/// One iteration under CPU autocast, as `with torch.autocast("cpu", dtype=torch.bfloat16)`
/// around a training step: products in bfloat16 from float32 parameters. Leaving it clears
/// autocast's cache of bfloat16 weight copies, which would otherwise outlive the optimizer
/// step that changes the weights.
class AutocastIteration {
 public:
  explicit AutocastIteration(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  ~AutocastIteration() {
    if (!enabled_) return;
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
  AutocastIteration(const AutocastIteration&) = delete;
  AutocastIteration& operator=(const AutocastIteration&) = delete;

 private:
  bool enabled_;
};

torch::Tensor reference_codes(const Shape& s, std::uint64_t seed, double unknown_rate) {
  Rng rng(seed);
  return reference::to_reference(random_codes(s, rng, unknown_rate));
}

void torch_dual_forward_backward(benchmark::State& state, const Shape& s, int threads, const TorchSide& side) {
  torch::set_num_threads(threads);
  torch::manual_seed(4);
  reference::DualMLP net(s.d, s.k, s.hidden, s.layers, side.reference_passes);
  const torch::Tensor x = reference_codes(s, 4, 0.5);
  const torch::Tensor d_marginal = torch::rand({s.batch}), d_conditional = torch::rand({s.batch, s.d * s.k});
  for (auto _ : state) {
    const AutocastIteration autocast(side.bfloat16);
    net.marginal->zero_grad();
    net.conditional->zero_grad();
    const torch::Tensor one_hot = net.one_hot(x);
    const torch::Tensor f = net.marginal->forward(one_hot).squeeze(-1);
    const torch::Tensor logits = net.conditional->forward(one_hot);
    torch::autograd::backward({f, logits}, {d_marginal, d_conditional});
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

void torch_hidden_product(benchmark::State& state, const Shape& s, int threads, const TorchSide&) {
  torch::set_num_threads(threads);
  torch::manual_seed(16);
  const torch::Tensor weight = torch::rand({s.hidden, s.hidden}) * 2 - 1, x = torch::rand({s.batch, s.hidden}) * 2 - 1;
  for (auto _ : state) benchmark::DoNotOptimize(torch::mm(x, weight.t()).data_ptr());  // as torch::nn::Linear
  state.SetItemsProcessed(state.iterations() * s.batch);
}

void torch_energy_training_step(benchmark::State& state, const Shape& s, int threads, const TorchSide& side) {
  torch::set_num_threads(threads);
  torch::manual_seed(11);
  reference::DualMLP net(s.d, s.k, s.hidden, s.layers, side.reference_passes);
  reference::EnergyStep step(net, s.batch, AdamOptions{}.learning_rate);
  for (auto _ : state) {
    const AutocastIteration autocast(side.bfloat16);
    benchmark::DoNotOptimize(step());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

void torch_marginal_training_step(benchmark::State& state, const Shape& s, int threads, const TorchSide& side) {
  torch::set_num_threads(threads);
  torch::manual_seed(15);
  reference::DualMLP net(s.d, s.k, s.hidden, s.layers, side.reference_passes);
  Rng rng(15);
  reference::MarginalStep step(net, reference::to_reference(stand_in_data(s, rng)), s.batch,
                               AdamOptions{}.learning_rate);
  for (auto _ : state) {
    const AutocastIteration autocast(side.bfloat16);
    benchmark::DoNotOptimize(step());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

void torch_log_marginal(benchmark::State& state, const Shape& s, int threads, const TorchSide& side) {
  torch::set_num_threads(threads);
  torch::manual_seed(12);
  reference::DualMLP net(s.d, s.k, s.hidden, s.layers, side.reference_passes);
  const torch::Tensor x = reference_codes(s, 12, 0.5);
  for (auto _ : state) {
    const AutocastIteration autocast(side.bfloat16);
    benchmark::DoNotOptimize(reference::log_marginal(net, x).data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

void torch_chain_rule_likelihood(benchmark::State& state, const Shape& s, int threads, const TorchSide& side) {
  torch::set_num_threads(threads);
  torch::manual_seed(13);
  reference::DualMLP net(s.d, s.k, s.hidden, s.layers, side.reference_passes);
  const torch::Tensor x = reference_codes(s, 13, 0.0);
  for (auto _ : state) {
    const AutocastIteration autocast(side.bfloat16);
    benchmark::DoNotOptimize(reference::chain_rule(net, x, reference::random_order(s.batch, s.d)).data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

void torch_ancestral_sampling(benchmark::State& state, const Shape& s, int threads, const TorchSide& side) {
  torch::set_num_threads(threads);
  torch::manual_seed(14);
  reference::DualMLP net(s.d, s.k, s.hidden, s.layers, side.reference_passes);
  for (auto _ : state) {
    const AutocastIteration autocast(side.bfloat16);
    benchmark::DoNotOptimize(reference::sample(net, reference::random_order(s.batch, s.d)).data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

reference::TransformerNet reference_transformer(const TransformerShape& s, bool conditional = true) {
  return reference::TransformerNet(s.d, s.k, s.width, s.heads, s.layers, s.feed_forward, conditional);
}

torch::Tensor reference_codes(const TransformerShape& s, std::uint64_t seed) {
  return reference::to_reference(transformer_codes(s, seed));
}

void torch_transformer_forward_backward(benchmark::State& state, const TransformerShape& s, int threads) {
  torch::set_num_threads(threads);
  torch::manual_seed(4);
  reference::TransformerNet net = reference_transformer(s);
  const torch::Tensor x = reference_codes(s, 4), d_logits = torch::rand({s.batch, s.d, s.k});
  for (auto _ : state) {
    net->zero_grad();
    net->forward(x).backward(d_logits);
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

void torch_transformer_sampling_pass(benchmark::State& state, const TransformerShape& s, int threads) {
  torch::set_num_threads(threads);
  torch::manual_seed(5);
  reference::TransformerNet net = reference_transformer(s);
  const torch::Tensor x = reference_codes(s, 5);
  const torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(net->forward(x).data_ptr());
  state.SetItemsProcessed(state.iterations() * s.batch);
}

/// The molecule shape (D = 57 SELFIES tokens, K = 40) at the reference's Transformer sizes
/// (feed-forward 4 x width, as its 768 / 3072): the training pass at batch 128 and the
/// sampling pass at batch 1000.
constexpr TransformerShape transformer_shapes[] = {
    {57, 40, 128, 4, 4, 512, 128}, {57, 40, 256, 8, 4, 1024, 128},
    {57, 40, 128, 4, 4, 512, 1000}, {57, 40, 256, 8, 4, 1024, 1000}};

// The targets for the Transformer at 2 threads: the training pass, the sampling pass.
constexpr double transformer_training_target = 0.8, transformer_sampling_target = 0.6;

void register_transformer_pairs(Suite& suite, const TransformerShape& s, int threads) {
  const std::string suffix = "/" + s.tag() + "/threads:" + std::to_string(threads);
  const bool training = s.batch < 1000;
  const std::string op = training ? "transformer_forward_backward" : "transformer_sampling_pass";
  const std::string mam_name = "mam/" + op + suffix, torch_name = "libtorch/" + op + suffix;
  const double target = threads == 2 ? (training ? transformer_training_target : transformer_sampling_target) : 0.0;
  if (training) {
    suite.add(mam_name, [=](benchmark::State& state) { mam_transformer_forward_backward(state, s, threads); });
    suite.add(torch_name, [=](benchmark::State& state) { torch_transformer_forward_backward(state, s, threads); });
  } else {
    suite.add(mam_name, [=](benchmark::State& state) { mam_transformer_sampling_pass(state, s, threads); });
    suite.add(torch_name, [=](benchmark::State& state) { torch_transformer_sampling_pass(state, s, threads); });
  }
  suite.add_ratio({op + " mam/LibTorch" + suffix, mam_name, torch_name, target, false});
  // The FLOP floor: the pass's product FLOPs at the float kernel's rate, measured right
  // after; the ratio is the fraction of that floor the pass reaches (1 = all kernel time).
  const std::string gemm_name = "kernel_rate/transformer_float_gemm/" + s.tag() + suffix.substr(suffix.rfind('/'));
  suite.add(gemm_name, [=](benchmark::State& state) { float_gemm_at(state, s, threads); });
  const double flops = training ? s.forward_backward_flops() : s.forward_flops();
  suite.add_ratio({op + " mam's fraction of the FLOP floor" + suffix, gemm_name, mam_name, 0.0, true,
                   flops / float_gemm_flops(s)});
}

// ---------------------------------------------------------------------------------------------
// Registration: every operation as a mam / LibTorch pair.

using MamBody = void (*)(benchmark::State&, const Shape&, int);
using TorchBody = void (*)(benchmark::State&, const Shape&, int, const TorchSide&);

struct Operation {
  const char* name;
  MamBody mam;
  TorchBody libtorch;
  bool has_lean_variant;  ///< the reference runs a head whose output it does not use
  bool has_bf16_variant = true;  ///< mam's side follows Shape::precision
};

constexpr Operation operations[] = {
    {"hidden_layer_product", mam_hidden_product, torch_hidden_product, false, false},
    {"dual_mlp_forward_backward", mam_dual_forward_backward, torch_dual_forward_backward, false},
    {"energy_training_step", mam_energy_training_step, torch_energy_training_step, true},
    {"marginal_training_step", mam_marginal_training_step, torch_marginal_training_step, true},
    {"log_marginal", mam_log_marginal, torch_log_marginal, true},
    {"chain_rule_likelihood", mam_chain_rule_likelihood, torch_chain_rule_likelihood, true},
    {"ancestral_sampling", mam_ancestral_sampling, torch_ancestral_sampling, true},
};

const Shape cpu_shape{100, 2, 512, 4, 256}, ising_shape{100, 2, 2048, 4, 512}, molecule_shape{55, 40, 1024, 4, 256};

// The targets for mam / LibTorch, all at 2 threads.
double target_ratio(const std::string& operation, const Shape& s, int threads) {
  if (threads != 2) return 0.0;
  if (s.tag() == cpu_shape.tag()) {
    if (operation == "energy_training_step") return 0.4;
    if (operation == "dual_mlp_forward_backward") return 0.7;
    if (operation == "chain_rule_likelihood" || operation == "ancestral_sampling") return 0.5;
  }
  if (s.tag() == molecule_shape.tag() && operation == "energy_training_step") return 0.3;
  return 0.0;
}

// mam, then LibTorch as the reference runs it, then (where it differs) the lean LibTorch
// variant, back to back; the ratios against the reference-faithful peer carry the targets.
// Where AMX-BF16 is present, mam's bfloat16 products are timed against the same float32 peer
// and against LibTorch in its own bfloat16 autocast: precision against equal precision.
void register_pairs(Suite& suite, const Shape& s, int threads) {
  const std::string suffix = "/" + s.tag() + "/threads:" + std::to_string(threads);
  for (const Operation& op : operations) {
    const double target = target_ratio(op.name, s, threads);
    const std::string mam_name = std::string("mam/") + op.name + suffix;
    const std::string torch_name = std::string("libtorch/") + op.name + suffix;
    suite.add(mam_name, [=](benchmark::State& state) { op.mam(state, s, threads); });
    suite.add(torch_name, [=](benchmark::State& state) { op.libtorch(state, s, threads, TorchSide{}); });
    suite.add_ratio({std::string(op.name) + " mam/LibTorch" + suffix, mam_name, torch_name, target, false});
    if (op.has_bf16_variant && amx_bf16_available()) {
      const std::string bf16_name = std::string("mam_bf16/") + op.name + suffix;
      const std::string torch_bf16_name = std::string("libtorch_bf16/") + op.name + suffix;
      Shape bf16 = s;
      bf16.precision = MatmulPrecision::bfloat16;
      suite.add(bf16_name, [=](benchmark::State& state) { op.mam(state, bf16, threads); });
      suite.add(torch_bf16_name, [=](benchmark::State& state) { op.libtorch(state, s, threads, TorchSide{true, true}); });
      suite.add_ratio({std::string(op.name) + " mam_bf16/LibTorch" + suffix, bf16_name, torch_name, target, false});
      suite.add_ratio({std::string(op.name) + " mam_bf16/LibTorch_bf16" + suffix, bf16_name, torch_bf16_name, target,
                       false});
    }
    if (!op.has_lean_variant) continue;
    const std::string lean_name = std::string("libtorch_lean/") + op.name + suffix;
    suite.add(lean_name, [=](benchmark::State& state) { op.libtorch(state, s, threads, TorchSide{false, false}); });
    suite.add_ratio({std::string(op.name) + " mam/LibTorch-lean" + suffix, mam_name, lean_name, 0.0, false});
  }
}

// ---------------------------------------------------------------------------------------------
// What the LibTorch side runs on: OpenBLAS's kernel and threading, LibTorch's threads.

void print_backends() {
  using Text = char* (*)();
  using Count = int (*)();
  const auto corename = reinterpret_cast<Text>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const auto config = reinterpret_cast<Text>(::dlsym(RTLD_DEFAULT, "openblas_get_config"));
  const auto parallel = reinterpret_cast<Count>(::dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  if (corename != nullptr && config != nullptr)
    std::printf("OpenBLAS: core %s, config '%s', threading %s (OPENBLAS_CORETYPE=%s)\n", corename(), config(),
                parallel == nullptr ? "?" : parallel() == 2 ? "OpenMP" : parallel() == 1 ? "pthreads" : "none",
                coretype != nullptr ? coretype : "(unset)");
  else
    std::printf("OpenBLAS: not loaded (LibTorch's BLAS is another library: it may be the slow reference BLAS)\n");
  std::printf("LibTorch %s, %s\n", TORCH_VERSION, at::get_parallel_info().c_str());
}

// ---------------------------------------------------------------------------------------------
// --check: mam's parameters copied into the LibTorch networks give the same outputs and
// gradients, so both sides compute the same function.

// An Eigen column-major out x in matrix as a torch out x in tensor.
torch::Tensor to_tensor(const Eigen::Ref<const Matrix<float>>& m) {
  return torch::from_blob(const_cast<float*>(m.data()), {m.cols(), m.rows()}).t().clone();
}

void copy_parameters(const ResidualMLP<float>& from, reference::MLPRes& to) {
  torch::NoGradGuard no_grad;
  const auto& p = from.parameters();
  const Index d = from.num_variables(), k = from.num_values();
  // mam's one-hot puts '?' in the last slot of a position, the reference in the first.
  const Matrix<float> dense = from.input_layer().dense_weight(p);
  Matrix<float> reordered(dense.rows(), dense.cols());
  for (Index i = 0; i < d; ++i) {
    reordered.col(i * (k + 1)) = dense.col(i * (k + 1) + k);
    reordered.middleCols(i * (k + 1) + 1, k) = dense.middleCols(i * (k + 1), k);
  }
  to->input_layer->weight.copy_(to_tensor(reordered));
  to->input_layer->bias.copy_(to_tensor(from.input_layer().bias(p)).flatten());
  for (std::size_t l = 0; l < from.residual_blocks().size(); ++l) {
    auto layer = (*to->hidden_layers)[l]->as<torch::nn::Linear>();
    layer->weight.copy_(to_tensor(from.residual_blocks()[l].weight(p)));
    layer->bias.copy_(to_tensor(from.residual_blocks()[l].bias(p)).flatten());
  }
  to->output_layer->weight.copy_(to_tensor(from.head().weight(p)));
  to->output_layer->bias.copy_(to_tensor(from.head().bias(p)).flatten());
}

// Largest |a - b| relative to the largest |b|.
double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-30);
}

/// Calls visit(name, part, tensor) for every parameter tensor of the LibTorch twin, with
/// `part` the same numbers read from `flat`, a vector in mam's parameter layout (the
/// parameters or a gradient of `net`), shaped as the tensor (vectors as n x 1). The layers are
/// mam's own, built at the offsets the layout of transformer.hpp gives, so a walk that ends
/// anywhere but at num_parameters() means the two layouts differ.
template <class Visit>
bool for_each_transformer_parameter(const Transformer<float>& net, const Vector<float>& flat,
                                    reference::TransformerNet& twin, Visit visit) {
  const TransformerConfig& c = net.config();
  const Index w = c.width, k = c.num_values;
  // The reference's symbol 0 is '?', mam's is K.
  const auto table = net.embedding().table(flat);
  Matrix<float> symbols(w, k + 1);
  symbols << table.col(k), table.leftCols(k);
  visit("embedding", Matrix<float>(symbols.transpose()), twin->embedding->weight);
  Index offset = net.embedding().num_parameters() + net.positional_encoding().num_parameters();
  auto linear_stack = [&](const std::string& name, const FeedForward<float>& stack, torch::nn::Sequential& torch_stack) {
    std::size_t j = 0;
    for (const auto& module : torch_stack->children()) {
      auto* linear = module->as<torch::nn::Linear>();
      if (linear == nullptr) continue;  // GELU
      const Linear<float>& layer = stack.layers()[j++];
      visit(name + " linear " + std::to_string(j) + " W", Matrix<float>(layer.weight(flat)), linear->weight);
      visit(name + " linear " + std::to_string(j) + " b", Matrix<float>(layer.bias(flat)), linear->bias);
    }
  };
  auto layer_norm = [&](const std::string& name, const LayerNorm<float>& norm, torch::nn::LayerNorm& torch_norm) {
    visit(name + " gain", Matrix<float>(norm.gain(flat)), torch_norm->weight);
    visit(name + " bias", Matrix<float>(norm.bias(flat)), torch_norm->bias);
  };
  for (Index l = 0; l < c.layers; ++l) {
    auto block = (*twin->blocks)[l]->as<reference::TransformerBlock>();
    const std::string name = "block " + std::to_string(l + 1);
    const LayerNorm<float> norm1(w, offset);
    const MultiHeadAttention<float> attention(w, c.heads, c.num_variables, offset + norm1.num_parameters());
    const LayerNorm<float> norm2(w, attention.offset() + attention.num_parameters());
    const FeedForward<float> feed_forward({w, c.feed_forward, w}, norm2.offset() + norm2.num_parameters());
    offset = feed_forward.offset() + feed_forward.num_parameters();
    layer_norm(name + " LN1", norm1, block->ln1);
    const auto qkv = attention.qkv_weight(flat);
    visit(name + " W_q", Matrix<float>(qkv.topRows(w)), block->attn->query->weight);
    visit(name + " W_k", Matrix<float>(qkv.middleRows(w, w)), block->attn->key->weight);
    visit(name + " W_v", Matrix<float>(qkv.bottomRows(w)), block->attn->value->weight);
    visit(name + " W_o", Matrix<float>(attention.output_weight(flat)), block->attn->proj->weight);
    layer_norm(name + " LN2", norm2, block->ln2);
    linear_stack(name + " feed-forward", feed_forward, block->mlp);
  }
  const LayerNorm<float> final_norm(w, offset);
  layer_norm("final LN", final_norm, twin->ln_f);
  linear_stack("head", net.head(), twin->head);
  return final_norm.offset() + final_norm.num_parameters() == net.head().offset() &&
         net.head().offset() + net.head().num_parameters() == net.num_parameters();
}

void copy_parameters(const Transformer<float>& from, reference::TransformerNet& to) {
  torch::NoGradGuard no_grad;
  for_each_transformer_parameter(from, from.parameters(), to, [](const std::string&, const Matrix<float>& part,
                                                                 torch::Tensor& tensor) {
    tensor.copy_(to_tensor(part).reshape(tensor.sizes()));
  });
}

/// mam's Transformer (sinusoidal positions, mean pooling) and its LibTorch twin with the same
/// parameters: the same outputs and parameter gradients, for the conditional and the marginal
/// net.
bool check_transformer(const std::function<void(const std::string&, double, double)>& report) {
  bool ok = true;
  const TransformerShape s{9, 5, 16, 4, 2, 64, 6};
  const CodeMatrix codes = transformer_codes(s, 22);
  const torch::Tensor x = reference::to_reference(codes);
  for (const bool conditional : {true, false}) {
    Rng rng(22);
    Transformer<float> net(s.config(conditional), rng);
    // Biases of zero would leave their gradients and the products' bias additions untested.
    for (float& p : net.parameters()) p += static_cast<float>(rng.uniform(-0.05, 0.05));
    reference::TransformerNet twin = reference_transformer(s, conditional);
    copy_parameters(net, twin);
    const std::string name = std::string(conditional ? "transformer conditional" : "transformer marginal");

    Transformer<float>::Context context;
    net.forward(codes, context);
    const torch::Tensor torch_out = twin->forward(x);
    const torch::Tensor mam_out =
        conditional ? to_tensor(context.output).t().reshape({s.batch, s.d, s.k}) : to_tensor(context.output).reshape({s.batch});
    report(name + " output " + s.tag(), relative_difference(mam_out, torch_out.detach()), 2e-4);

    const Matrix<float> d_out = Matrix<float>::Random(net.output_size(), s.batch);
    Vector<float> gradient = net.zero_gradient();
    net.backward(context, d_out, gradient);
    twin->zero_grad();
    torch_out.backward(to_tensor(d_out).t().reshape(torch_out.sizes()));
    const bool same_layout = for_each_transformer_parameter(
        net, gradient, twin, [&](const std::string& part, const Matrix<float>& mam_grad, torch::Tensor& tensor) {
          report(name + " gradient " + part,
                 relative_difference(to_tensor(mam_grad).reshape(tensor.sizes()), tensor.grad()), 2e-4);
        });
    ok = ok && same_layout;
    std::printf("%-60s %s\n", (name + ": the walk covers every parameter").c_str(), same_layout ? "ok" : "FAILED");
  }
  return ok;
}

bool check_same_computation() {
  bool ok = true;
  auto report = [&](const std::string& what, double difference, double tolerance = 2e-4) {
    const bool pass = difference < tolerance;
    ok = ok && pass;
    std::printf("%-60s relative difference %.2e %s\n", what.c_str(), difference, pass ? "ok" : "FAILED");
  };
  for (const Shape& s : {Shape{12, 3, 64, 3, 16}, Shape{9, 2, 32, 4, 8}}) {
    Rng rng(21);
    auto model = make_residual_model<float>(s.d, s.k, s.hidden, s.layers, rng);
    reference::DualMLP net(s.d, s.k, s.hidden, s.layers, false);
    copy_parameters(model.marginal(), net.marginal);
    copy_parameters(model.conditional(), net.conditional);
    const CodeMatrix codes = random_codes(s, rng);
    const torch::Tensor x = reference::to_reference(codes);

    // Outputs: log p(x_S) and the conditional logits.
    const Vector<double> log_p = model.log_marginal(codes);
    report("log_marginal " + s.tag(),
           relative_difference(torch::from_blob(const_cast<double*>(log_p.data()), {s.batch}, torch::kDouble).to(torch::kFloat),
                               reference::log_marginal(net, x)));
    {  // LibTorch's bfloat16 side computes the same function, to bfloat16's precision
      const torch::Tensor in_float = reference::log_marginal(net, x);
      torch::Tensor in_bf16;
      {
        const AutocastIteration autocast(true);
        in_bf16 = reference::log_marginal(net, x);
      }
      const double difference = relative_difference(in_bf16.to(torch::kFloat), in_float);
      report("log_marginal " + s.tag() + " (LibTorch in bfloat16 autocast)", difference, 3e-2);
      const bool in_bfloat16 = in_bf16.scalar_type() == torch::kBFloat16 && difference > 0.0;
      ok = ok && in_bfloat16;
      std::printf("%-60s %s\n", "  its output is bfloat16, not float32", in_bfloat16 ? "ok" : "FAILED");
    }
    const Matrix<float> logits = model.conditional_logits(codes);
    torch::Tensor torch_logits;
    {
      torch::NoGradGuard no_grad;
      torch_logits = net.logits(x).reshape({s.batch, s.d * s.k});
    }
    report("conditional logits " + s.tag(), relative_difference(to_tensor(logits).t(), torch_logits));

    // Gradients of <d_out, output> for both networks, every layer.
    const Matrix<float> d_f = Matrix<float>::Random(1, s.batch), d_logits = Matrix<float>::Random(s.d * s.k, s.batch);
    for (int which = 0; which < 2; ++which) {
      const auto& mam_net = which == 0 ? model.marginal() : model.conditional();
      auto& torch_net = which == 0 ? net.marginal : net.conditional;
      const Matrix<float>& d_out = which == 0 ? d_f : d_logits;
      ResidualMLP<float>::Context context;
      mam_net.forward(codes, context);
      Vector<float> gradient = mam_net.zero_gradient();
      mam_net.backward(context, d_out, gradient);
      torch_net->zero_grad();
      const torch::Tensor out = torch_net->forward(net.one_hot(x));
      out.backward(to_tensor(d_out).t());
      const std::string name = std::string(which == 0 ? "marginal" : "conditional") + " gradient " + s.tag();
      for (std::size_t l = 0; l < mam_net.residual_blocks().size(); ++l) {
        const auto layer = (*torch_net->hidden_layers)[l]->as<torch::nn::Linear>();
        report(name + " block " + std::to_string(l + 1) + " W",
               relative_difference(to_tensor(mam_net.residual_blocks()[l].weight(gradient)), layer->weight.grad()));
      }
      report(name + " head W", relative_difference(to_tensor(mam_net.head().weight(gradient)),
                                                     torch_net->output_layer->weight.grad()));
      reference::MLPRes copy(s.d * (s.k + 1), s.hidden, mam_net.output_size(), s.layers);
      ResidualMLP<float> gradient_net(mam_net.config());
      gradient_net.set_parameters(gradient);
      copy_parameters(gradient_net, copy);  // the input layer's gradient, in the reference's column order
      report(name + " input W", relative_difference(copy->input_layer->weight, torch_net->input_layer->weight.grad()));
    }
  }
  ok = check_transformer(report) && ok;
  return ok;
}

// ---------------------------------------------------------------------------------------------
// --memory: peak resident memory of energy-based training steps, one side per process.

long status_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  return -1;
}

void print_memory(const std::string& side, const std::string& shape, int threads, int steps, long before, double loss) {
  const long peak = status_kib("VmHWM:");
  std::printf("{\"side\": \"%s\", \"shape\": \"%s\", \"threads\": %d, \"steps\": %d, \"rss_before_kib\": %ld, "
              "\"peak_rss_kib\": %ld, \"step_peak_kib\": %ld, \"last_loss\": %.6g}\n",
              side.c_str(), shape.c_str(), threads, steps, before, peak, peak - before, loss);
}

/// Stage-1 training steps of the conditional Transformer (forward, backward of a fixed
/// dL/d logits, Adam) at the molecule shape, width 128, batch 128.
int measure_transformer_memory(const std::string& side, int steps, int threads) {
  const TransformerShape s = transformer_shapes[0];
  set_num_threads(threads);
  torch::set_num_threads(threads);
  const long before = status_kib("VmRSS:");
  double loss = 0.0;
  if (side == "transformer_mam") {
    MamTransformerStep step(s);
    for (int i = 0; i < steps; ++i) loss = step();
  } else {
    torch::manual_seed(11);
    reference::TransformerNet net = reference_transformer(s);
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(AdamOptions{}.learning_rate));
    const torch::Tensor x = reference_codes(s, 11), d_logits = torch::rand({s.batch, s.d, s.k});
    for (int i = 0; i < steps; ++i) {
      adam.zero_grad();
      const torch::Tensor objective = (net->forward(x) * d_logits).sum();
      objective.backward();
      adam.step();
      loss = objective.item<double>();
    }
  }
  print_memory(side, s.tag(), threads, steps, before, loss);
  return std::isfinite(loss) ? 0 : 1;
}

int measure_memory(const std::string& side, const Shape& s, int steps, int threads) {
  if (side == "transformer_mam" || side == "transformer_libtorch") return measure_transformer_memory(side, steps, threads);
  set_num_threads(threads);
  torch::set_num_threads(threads);
  const long before = status_kib("VmRSS:");
  double loss = 0.0;
  if (side == "mam_bf16" && !amx_bf16_available()) {
    std::fprintf(stderr, "--memory=mam_bf16 needs a CPU with AMX-BF16 (and Linux's permission to use it)\n");
    return 2;
  }
  if (side == "mam" || side == "mam_bf16") {
    Shape shape = s;
    if (side == "mam_bf16") shape.precision = MatmulPrecision::bfloat16;
    MamEnergyStep step(shape);
    for (int i = 0; i < steps; ++i) loss = step();
  } else if (side == "libtorch" || side == "libtorch_lean" || side == "libtorch_bf16") {
    torch::manual_seed(11);
    reference::DualMLP net(s.d, s.k, s.hidden, s.layers, side != "libtorch_lean");
    reference::EnergyStep step(net, s.batch, AdamOptions{}.learning_rate);
    for (int i = 0; i < steps; ++i) {
      const AutocastIteration autocast(side == "libtorch_bf16");
      loss = step();
    }
  } else {
    std::fprintf(stderr,
                 "--memory takes mam, mam_bf16, libtorch, libtorch_lean, libtorch_bf16, transformer_mam or "
                 "transformer_libtorch, got '%s'\n",
                 side.c_str());
    return 2;
  }
  print_memory(side, s.tag(), threads, steps, before, loss);
  return std::isfinite(loss) ? 0 : 1;
}

}  // namespace
}  // namespace mam::bench

int main(int argc, char** argv) {
  using namespace mam::bench;
  // Our own flags first; the rest goes to Google Benchmark.
  std::map<std::string, std::string> flags;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string key = arg.substr(0, eq);
    if (key == "--check" || key == "--memory" || key == "--shape" || key == "--steps" || key == "--threads")
      flags[key] = eq == std::string::npos ? "" : arg.substr(eq + 1);
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  at::set_num_interop_threads(2);  // once per process, before any parallel work

  if (flags.count("--check") != 0) return check_same_computation() ? 0 : 1;
  if (flags.count("--memory") != 0) {
    const std::string shape = flags.count("--shape") != 0 ? flags["--shape"] : "cpu";
    const Shape s = shape == "ising" ? ising_shape : shape == "molecule" ? molecule_shape : cpu_shape;
    const int steps = flags.count("--steps") != 0 ? std::stoi(flags["--steps"]) : 10;
    const int threads = flags.count("--threads") != 0 ? std::stoi(flags["--threads"]) : 2;
    return measure_memory(flags["--memory"], s, steps, threads);
  }

  print_backends();
  Suite suite;
  for (const Shape& s : {cpu_shape, ising_shape, molecule_shape})
    for (int threads : {1, 2}) register_pairs(suite, s, threads);
  for (const TransformerShape& s : transformer_shapes)
    for (int threads : {1, 2}) register_transformer_pairs(suite, s, threads);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RecordingReporter reporter(::isatty(STDOUT_FILENO) != 0);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_ratios(suite, reporter);
  benchmark::Shutdown();
  return 0;
}
