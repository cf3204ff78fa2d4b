// The model: one energy-based training step as a trainer takes it (censor-and-resample of a
// persistent buffer, the KL energy loss with self-consistency, clipping, Adam on both
// networks), the one-pass marginal log p(x_S) against the D-pass chain rule, and ancestral
// sampling. The MaM claim is the ratio: a marginal in one pass where the chain rule needs D.
#include <string>

#include "support/mam_operations.hpp"

namespace mam::bench {
namespace {

void register_shape(Suite& suite, const Shape& s, int threads) {
  const std::string suffix = "/" + s.tag() + "/threads:" + std::to_string(threads);
  auto add = [&](const std::string& name, void (*body)(benchmark::State&, const Shape&, int)) {
    suite.add(name + suffix, [=](benchmark::State& state) { body(state, s, threads); });
  };
  add("energy_training_step", mam_energy_training_step);
  add("marginal_training_step", mam_marginal_training_step);
  add("log_marginal", mam_log_marginal);
  add("chain_rule_likelihood", mam_chain_rule_likelihood);
  add("ancestral_sampling", mam_ancestral_sampling);

  // The chain rule takes D conditional passes where the marginal takes one: aim for 0.8 D.
  suite.add_ratio({"MaM speed-up: chain rule / marginal" + suffix, "chain_rule_likelihood" + suffix,
                   "log_marginal" + suffix, 0.8 * static_cast<double>(s.d), true});
}

}  // namespace

void register_model_benchmarks(Suite& suite) {
  for (int threads : {1, 2}) register_shape(suite, {100, 2, 512, 4, 256}, threads);
}

}  // namespace mam::bench
