#pragma once
// The reference MaM code (github.com/PrincetonLIPS/MaM, mam/models/nn.py and mam_eb.py /
// mam.py) written the natural LibTorch way: torch::nn modules, autograd, torch::optim::Adam.
// It is the peer that mam is timed against in mam_bench_libtorch, so it computes what the
// reference computes, with the reference's encoding: a sample is a B x D tensor of codes
// where 0 is '?' and 1..K are the values (BIT_UNKNOWN_VAL = 0), one-hot encoded into
// D*(K+1) features and multiplied densely by nn.Linear.
//
// The reference calls its dual network (MLPResDual.forward: both heads on one one-hot input)
// even where it uses one head's output: sampling and the chain rule read only the logits,
// f(samples), f(x_<=d) and f(all ?) only the marginal. DualMLP::reference_passes = true
// does the same; false runs only the head whose output is used, a leaner peer than the
// reference that shows how much of mam's lead is that saving. Terms the reference evaluates
// that never reach the loss (the KL step's mb_loss_2 on a data batch, stage 2's
// logp_real/logp_fake for logging) are left out in both.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include <mam/core/types.hpp>

namespace mam::bench::reference {

/// MLPRes: input Linear + LeakyReLU, (layers - 1) residual blocks x = LeakyReLU(Wx + b) + x,
/// linear head.
struct MLPResImpl : torch::nn::Module {
  MLPResImpl(std::int64_t in, std::int64_t hidden, std::int64_t out, std::int64_t layers)
      : input_layer(register_module("input_layer", torch::nn::Linear(in, hidden))),
        hidden_layers(register_module("hidden_layers", torch::nn::ModuleList())),
        output_layer(register_module("output_layer", torch::nn::Linear(hidden, out))) {
    for (std::int64_t l = 1; l < layers; ++l) hidden_layers->push_back(torch::nn::Linear(hidden, hidden));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = torch::leaky_relu(input_layer(x));
    for (const auto& layer : *hidden_layers) x = torch::leaky_relu(layer->as<torch::nn::Linear>()->forward(x)) + x;
    return output_layer(x);
  }

  torch::nn::Linear input_layer;
  torch::nn::ModuleList hidden_layers;
  torch::nn::Linear output_layer;
};
TORCH_MODULE(MLPRes);

/// MLPResDual: the marginal net (head 1) and the conditional net (head D*K) on one input.
struct DualMLP {
  std::int64_t d, k;
  bool reference_passes;  ///< both heads on every call, as the reference's MLPResDual
  MLPRes marginal, conditional;

  DualMLP(std::int64_t num_variables, std::int64_t num_values, std::int64_t hidden, std::int64_t layers,
          bool both_heads_always = true)
      : d(num_variables),
        k(num_values),
        reference_passes(both_heads_always),
        marginal(num_variables * (num_values + 1), hidden, 1, layers),
        conditional(num_variables * (num_values + 1), hidden, num_variables * num_values, layers) {}

  /// convert_val_to_onehot + flatten: B x D codes -> B x D*(K+1) floats.
  torch::Tensor one_hot(const torch::Tensor& x) const {
    return torch::one_hot(x, k + 1).to(torch::kFloat32).flatten(1);
  }
  /// f(x), B (with reference_passes, the logits are computed too and dropped).
  torch::Tensor log_marginal_raw(const torch::Tensor& x) {
    const torch::Tensor input = one_hot(x);
    if (reference_passes) conditional->forward(input);
    return marginal->forward(input).squeeze(-1);
  }
  /// Conditional logits, B x D x K (with reference_passes, f(x) is computed too and dropped).
  torch::Tensor logits(const torch::Tensor& x) {
    const torch::Tensor input = one_hot(x);
    if (reference_passes) marginal->forward(input);
    return conditional->forward(input).view({x.size(0), d, k});
  }

  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> all = marginal->parameters();
    for (auto& p : conditional->parameters()) all.push_back(p);
    return all;
  }
};

/// mam's D x B codes (unknown = -1, values 0..K-1) in the reference's B x D encoding.
inline torch::Tensor to_reference(const CodeMatrix& codes) {
  torch::Tensor x = torch::empty({codes.cols(), codes.rows()}, torch::kLong);
  auto a = x.accessor<std::int64_t, 2>();
  for (Index b = 0; b < codes.cols(); ++b)
    for (Index i = 0; i < codes.rows(); ++i) a[b][i] = codes(i, b) == unknown ? 0 : codes(i, b) + 1;
  return x;
}

/// A uniformly random order per sample (gen_order 'random'): rank of each position, B x D.
inline torch::Tensor random_order(std::int64_t batch, std::int64_t d) {
  return torch::argsort(torch::rand({batch, d}), /*dim=*/-1, /*descending=*/false);
}

/// Draws one value (1..K) per row of B x K logits, as Categorical(logits=...).sample().
inline torch::Tensor draw(const torch::Tensor& logits) {
  return torch::multinomial(torch::softmax(logits, -1), 1).squeeze(-1) + 1;
}

/// MAM.sample: all '?', then position order == i of every sample from p_phi, i = 0..D-1.
inline torch::Tensor sample(DualMLP& net, const torch::Tensor& order) {
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::zeros_like(order);
  for (std::int64_t i = 0; i < net.d; ++i) {
    const torch::Tensor select = order == i;
    const torch::Tensor logits = net.logits(x).index({select});
    x = x + select * draw(logits).unsqueeze(-1);
  }
  return x;
}

/// MAM.censor_and_sample: erase the positions whose order is among the last `steps`, refill
/// them from p_phi in that order.
inline torch::Tensor censor_and_sample(DualMLP& net, const torch::Tensor& samples, std::int64_t steps,
                                       const torch::Tensor& order) {
  torch::NoGradGuard no_grad;
  torch::Tensor x = samples * (order < net.d - steps);
  for (std::int64_t i = steps - 1; i >= 0; --i) {
    const torch::Tensor select = order == net.d - 1 - i;
    const torch::Tensor logits = net.logits(x).index({select});
    x = x + select * draw(logits).unsqueeze(-1);
  }
  return x;
}

/// log p_phi(x at `select` | ...) from B x K logits of the selected positions.
inline torch::Tensor log_prob_selected(const torch::Tensor& logits, const torch::Tensor& x, const torch::Tensor& select) {
  const torch::Tensor value = x.index({select}) - 1;
  return torch::log_softmax(logits, -1).gather(1, value.unsqueeze(1)).squeeze(1);
}

/// MAM.est_logp with mc_ll = 1: the chain rule along one random order per sample.
inline torch::Tensor chain_rule(DualMLP& net, const torch::Tensor& x, const torch::Tensor& order) {
  torch::NoGradGuard no_grad;
  torch::Tensor log_p = torch::zeros({x.size(0)});
  for (std::int64_t j = 0; j < net.d; ++j) {
    const torch::Tensor select = order == j;
    const torch::Tensor logits = net.logits(x * (order < j)).index({select});
    log_p = log_p + log_prob_selected(logits, x, select);
  }
  return log_p;
}

/// MAM.eval_ll: f(x) - f(all ?) from one pass with the all-'?' row appended.
inline torch::Tensor log_marginal(DualMLP& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const torch::Tensor f = net.log_marginal_raw(torch::cat({x, torch::zeros({1, net.d}, torch::kLong)}));
  return f.slice(0, 0, x.size(0)) - f[x.size(0)];
}

/// MAM.eval_mar_bl_loss: MSE of f(x_<=d) against f(x_<d) + log p_phi(x_sigma(d) | x_<d) with
/// d ~ U{1..D} per sample. With `train_conditional` false the conditional is a fixed teacher.
inline torch::Tensor self_consistency(DualMLP& net, const torch::Tensor& x, const torch::Tensor& order,
                                      bool train_conditional) {
  const torch::Tensor ind = torch::randint(1, net.d + 1, {x.size(0), 1});
  const torch::Tensor mask_curr = order < ind, select_prev = order == ind - 1, mask_prev = order < ind - 1;
  const torch::Tensor f_curr = net.log_marginal_raw(x * mask_curr);
  const torch::Tensor x_prev = x * mask_prev;
  const torch::Tensor one_hot_prev = net.one_hot(x_prev);
  const torch::Tensor f_prev = net.marginal->forward(one_hot_prev).squeeze(-1);
  torch::Tensor logits_prev;
  {
    torch::AutoGradMode grad(train_conditional);
    logits_prev = net.conditional->forward(one_hot_prev).view({x.size(0), net.d, net.k}).index({select_prev});
  }
  return torch::mse_loss(f_curr, log_prob_selected(logits_prev, x, select_prev) + f_prev);
}

/// MAM.eval_mar_bl_x_begin: (f(all ?) - log Z)^2.
inline torch::Tensor anchor(DualMLP& net, double log_z) {
  const torch::Tensor f = net.log_marginal_raw(torch::zeros({1, net.d}, torch::kLong));
  return torch::mse_loss(f, torch::full({1}, log_z));
}

/// The Ising target of the reference on a side x side torus over the first side^2 sites
/// (spins s = 2x/(K-1) - 1 from values x in 0..K-1): log f = s^T J s + b sum(s), J = sigma A.
struct IsingTarget {
  torch::Tensor coupling;
  double field, num_values;

  IsingTarget(std::int64_t d, std::int64_t k, double sigma = 0.1, double b = 0.2) : field(b), num_values(double(k)) {
    std::int64_t side = 1;
    while ((side + 1) * (side + 1) <= d) ++side;
    coupling = torch::zeros({d, d});
    auto j = coupling.accessor<float, 2>();
    for (std::int64_t r = 0; r < side; ++r)
      for (std::int64_t c = 0; c < side; ++c) {
        const std::int64_t i = r * side + c, right = r * side + (c + 1) % side, down = ((r + 1) % side) * side + c;
        for (std::int64_t n : {right, down}) {
          j[i][n] += static_cast<float>(sigma);
          j[n][i] += static_cast<float>(sigma);
        }
      }
  }

  /// log f of B x D codes in the reference encoding (values 1..K).
  torch::Tensor operator()(const torch::Tensor& x) const {
    const torch::Tensor s = 2.0 * (x - 1).to(torch::kFloat32) / (num_values - 1.0) - 1.0;
    return (s.mm(coupling) * s).sum(1) + field * s.sum(1);
  }
};

/// MAM.forward with objective 'KL' and gen_order 'random' (mam_eb.py), then backward,
/// clip_grad_norm_ and Adam: one energy-based training step on the persistent `samples`.
struct EnergyStep {
  DualMLP& net;
  IsingTarget target;
  torch::optim::Adam adam;
  torch::Tensor samples;
  std::int64_t gibbs_steps = 4;
  double alpha = 1.0, log_z = 0.0, clip = 1.0;

  EnergyStep(DualMLP& model, std::int64_t batch, double learning_rate)
      : net(model),
        target(model.d, model.k),
        adam(model.parameters(), torch::optim::AdamOptions(learning_rate)),
        samples(sample(model, random_order(batch, model.d))) {}

  double operator()() {
    const std::int64_t batch = samples.size(0);
    const torch::Tensor order = random_order(batch, net.d);
    torch::Tensor energies;
    {
      torch::NoGradGuard no_grad;
      samples = censor_and_sample(net, samples, gibbs_steps, order);
      energies = -target(samples);
    }
    const torch::Tensor logp_x = net.log_marginal_raw(samples);
    const torch::Tensor f_diff = logp_x.detach() + energies;
    const torch::Tensor r = (f_diff - f_diff.mean()) / (f_diff.std() + std::numeric_limits<float>::epsilon());
    const torch::Tensor kl_loss = (r * logp_x).mean();
    const torch::Tensor mb_loss = self_consistency(net, samples, order, true);
    const torch::Tensor loss = alpha * (double(net.d) * mb_loss + anchor(net, log_z)) + kl_loss;
    adam.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(net.parameters(), clip);
    adam.step();
    return loss.item<double>();
  }
};

/// Stage 2 of MLE training (mam.py with include_onpolicy): refresh the on-policy buffer by
/// censor-and-resample, self-consistency on half data + half buffer with the conditional net
/// as a fixed teacher, plus the anchor; Adam on the marginal net only.
struct MarginalStep {
  DualMLP& net;
  torch::Tensor data;
  torch::optim::Adam adam;
  torch::Tensor samples;
  std::int64_t gibbs_steps = 4;
  double log_z = 0.0, clip = 1.0;

  MarginalStep(DualMLP& model, torch::Tensor data_set, std::int64_t batch, double learning_rate)
      : net(model),
        data(std::move(data_set)),
        adam(model.marginal->parameters(), torch::optim::AdamOptions(learning_rate)),
        samples(sample(model, random_order(batch - batch / 2, model.d))) {}

  double operator()() {
    const std::int64_t from_data = samples.size(0);
    {
      torch::NoGradGuard no_grad;
      samples = censor_and_sample(net, samples, gibbs_steps, random_order(samples.size(0), net.d));
    }
    const torch::Tensor rows = torch::randperm(data.size(0)).slice(0, 0, from_data);
    const torch::Tensor x = torch::cat({data.index_select(0, rows), samples});
    const torch::Tensor mb_loss = self_consistency(net, x, random_order(x.size(0), net.d), false);
    const torch::Tensor loss = double(net.d) * mb_loss + anchor(net, log_z);
    adam.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(net.marginal->parameters(), clip);
    adam.step();
    return loss.item<double>();
  }
};

}  // namespace mam::bench::reference
