// mam_first_steps: a residual MLP learns the exact conditionals of an Ising lattice.
//
// A first end-to-end run of the library's pieces (one-hot input with '?', residual MLP,
// Adam, gradient clipping, seeded RNG, checkpoint): every training example is a random spin
// configuration of an L x L torus with one site hidden ('?'); the label is drawn from the
// exact conditional p(s_i | rest) = sigmoid(4 sigma * sum of neighbours + 2b) (spins +-1,
// log f(s) = s^T (sigma A) s + b sum(s)). The network sees only codes and labels; at the end
// we compare its predicted probabilities with the exact ones, which no sampling noise blurs.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include <mam/mam.hpp>
#include <mam/io/network_checkpoint.hpp>

namespace {

struct Lattice {
  int side;
  double sigma, field;

  int sites() const { return side * side; }

  /// Exact p(x_i = 1 | all other sites) where x = (s + 1) / 2.
  double conditional(const mam::CodeMatrix& codes, mam::Index sample, int site) const {
    const int r = site / side, c = site % side;
    const int neighbours[4] = {((r + 1) % side) * side + c, ((r + side - 1) % side) * side + c,
                               r * side + (c + 1) % side, r * side + (c + side - 1) % side};
    double sum = 0.0;
    for (int n : neighbours) sum += 2.0 * codes(n, sample) - 1.0;
    return 1.0 / (1.0 + std::exp(-(4.0 * sigma * sum + 2.0 * field)));
  }
};

struct Batch {
  mam::CodeMatrix codes;
  std::vector<int> hidden_site;
  std::vector<mam::Code> label;
  std::vector<double> exact;  // p(x_site = 1 | rest)
};

Batch draw_batch(const Lattice& lattice, mam::Index size, mam::Rng& rng) {
  Batch batch{mam::CodeMatrix(lattice.sites(), size), {}, {}, {}};
  for (mam::Index b = 0; b < size; ++b) {
    for (int i = 0; i < lattice.sites(); ++i) batch.codes(i, b) = static_cast<mam::Code>(rng.uniform_int(2));
    const int site = static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(lattice.sites())));
    const double p = lattice.conditional(batch.codes, b, site);
    batch.codes(site, b) = mam::unknown;
    batch.hidden_site.push_back(site);
    batch.exact.push_back(p);
    batch.label.push_back(rng.uniform() < p ? 1 : 0);
  }
  return batch;
}

/// Mean cross-entropy of the labels under the network's logits at the hidden site, and its
/// gradient with respect to the logits (2*D x batch).
double cross_entropy(const mam::Matrix<float>& logits, const Batch& batch, mam::Matrix<float>& d_logits) {
  const auto n = static_cast<double>(batch.label.size());
  d_logits.setZero(logits.rows(), logits.cols());
  double loss = 0.0;
  for (mam::Index b = 0; b < logits.cols(); ++b) {
    const mam::Index row = 2 * batch.hidden_site[static_cast<std::size_t>(b)];
    const double l0 = logits(row, b), l1 = logits(row + 1, b);
    const double m = std::max(l0, l1);
    const double log_norm = m + std::log(std::exp(l0 - m) + std::exp(l1 - m));
    const double p1 = std::exp(l1 - log_norm);
    const bool one = batch.label[static_cast<std::size_t>(b)] == 1;
    loss -= (one ? l1 : l0) - log_norm;
    d_logits(row, b) = static_cast<float>(((1.0 - p1) - (one ? 0.0 : 1.0)) / n);
    d_logits(row + 1, b) = static_cast<float>((p1 - (one ? 1.0 : 0.0)) / n);
  }
  return loss / n;
}

double binary_entropy(double p) {
  return p <= 0.0 || p >= 1.0 ? 0.0 : -(p * std::log(p) + (1 - p) * std::log(1 - p));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mam_first_steps: a residual MLP learns the exact conditionals of an Ising torus"};
  int side = 4, steps = 4000, hidden = 128, layers = 3, batch_size = 256, threads = 1;
  double sigma = 0.1, field = 0.2, learning_rate = 3e-3, clip = 1.0;
  std::uint64_t seed = 0;
  std::string checkpoint = "first_steps.ckpt";
  app.add_option("--lattice", side, "lattice side L (L x L torus)")->check(CLI::Range(2, 64));
  app.add_option("--sigma", sigma, "coupling scale sigma (each edge carries 2 sigma)");
  app.add_option("--field", field, "external field b");
  app.add_option("--steps", steps, "training steps")->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden, "hidden width H")->check(CLI::PositiveNumber);
  app.add_option("--layers", layers, "layers (input + residual blocks)")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch_size, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--lr", learning_rate, "peak Adam learning rate (cosine decay to 0)")->check(CLI::PositiveNumber);
  app.add_option("--clip", clip, "gradient clipping by global norm")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "threads (needs an OpenMP build)")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "random seed");
  app.add_option("--checkpoint", checkpoint, "where to write the trained network");
  CLI11_PARSE(app, argc, argv);

  try {
    mam::set_num_threads(threads);
    const Lattice lattice{side, sigma, field};
    mam::Rng rng(seed);
    mam::ResidualMLP<float> net({lattice.sites(), 2, hidden, layers, 2 * lattice.sites()}, rng);
    mam::Adam<float> adam;
    const auto group = adam.add_group(net.num_parameters(), {learning_rate});
    mam::ResidualMLP<float>::Context context;
    mam::Vector<float> gradient = net.zero_gradient();
    mam::Matrix<float> d_logits;

    std::printf("mam_first_steps: %dx%d torus, sigma=%g, b=%g, %ld parameters\n", side, side,
                sigma, field, static_cast<long>(net.num_parameters()));
    const auto start = std::chrono::steady_clock::now();
    double smoothed = 0.0;
    // Labels are noisy draws, so the rate decays: late steps average the noise out.
    const mam::CosineSchedule schedule{learning_rate, 0.0, steps / 20, steps};
    for (int step = 1; step <= steps; ++step) {
      adam.set_learning_rate(group, schedule(step - 1));
      const Batch batch = draw_batch(lattice, batch_size, rng);
      net.forward(batch.codes, context);
      const double loss = cross_entropy(context.output, batch, d_logits);
      gradient.setZero();
      net.backward(context, d_logits, gradient);
      mam::clip_grad_norm<float>({&gradient}, clip);
      adam.step(group, net.parameters(), gradient);
      smoothed = step == 1 ? loss : 0.98 * smoothed + 0.02 * loss;
      if (step % 250 == 0 || step == steps)
        std::printf("step %5d/%d  cross-entropy %.4f nats\n", step, steps, smoothed);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // Held-out evaluation against the exact conditionals.
    mam::Rng test_rng(seed + 1);
    const Batch test = draw_batch(lattice, 4096, test_rng);
    const mam::Matrix<float> logits = net(test.codes);
    double abs_error = 0.0, max_error = 0.0, model_ce = 0.0, floor_ce = 0.0;
    for (mam::Index b = 0; b < logits.cols(); ++b) {
      const mam::Index row = 2 * test.hidden_site[static_cast<std::size_t>(b)];
      const double p_model = 1.0 / (1.0 + std::exp(static_cast<double>(logits(row, b) - logits(row + 1, b))));
      const double p = test.exact[static_cast<std::size_t>(b)];
      abs_error += std::abs(p_model - p);
      max_error = std::max(max_error, std::abs(p_model - p));
      model_ce -= p * std::log(p_model) + (1 - p) * std::log(1 - p_model);
      floor_ce += binary_entropy(p);
    }
    const double n = static_cast<double>(logits.cols());
    mam::io::save_network(checkpoint, net, {{"example", "first_steps"}, {"seed", std::to_string(seed)}});
    std::printf("held-out: mean |p_model - p_exact| = %.4f (max %.4f); expected cross-entropy %.4f nats, exact floor %.4f\n",
                abs_error / n, max_error, model_ce / n, floor_ce / n);
    std::printf("{\"mean_abs_error\": %.6f, \"max_abs_error\": %.6f, \"cross_entropy_nats\": %.6f, "
                "\"entropy_floor_nats\": %.6f, \"train_seconds\": %.3f, \"seed\": %llu}\n",
                abs_error / n, max_error, model_ce / n, floor_ce / n, seconds,
                static_cast<unsigned long long>(seed));
  } catch (const mam::error& e) {
    std::fprintf(stderr, "mam_first_steps: %s\n", e.what());
    return 1;
  }
  return 0;
}
