#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include <mam/io/network_checkpoint.hpp>
#include <mam/nn/residual_mlp.hpp>

using mam::CodeMatrix;
using mam::Index;
using mam::Matrix;
using mam::Rng;
using mam::Vector;

namespace {

struct TemporaryDirectory {
  std::filesystem::path path;
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mam-net-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TemporaryDirectory() { std::filesystem::remove_all(path); }
  std::string file(const char* name) const { return (path / name).string(); }
};

CodeMatrix random_codes(Index d, Index k, Index batch, Rng& rng) {
  CodeMatrix codes(d, batch);
  for (Index b = 0; b < batch; ++b)
    for (Index i = 0; i < d; ++i)
      codes(i, b) = rng.uniform() < 0.3 ? mam::unknown : static_cast<mam::Code>(rng.uniform_int(k));
  return codes;
}

// One training step of a toy regression: drive every output towards 1.
template <class Net>
void train_step(Net& net, mam::Adam<float>& adam, Rng& rng) {
  const CodeMatrix codes = random_codes(net.num_variables(), net.num_values(), 8, rng);
  auto context = net.forward(codes);
  const Matrix<float> d_out = (context.output.array() - 1.0f).matrix() / 8.0f;
  Vector<float> gradient = net.zero_gradient();
  net.backward(context, d_out, gradient);
  adam.step(0, net.parameters(), gradient);
}

}  // namespace

TEST_CASE("save_network / load_network round trip is bit-exact", "[io]") {
  TemporaryDirectory dir;
  Rng rng(1);
  const mam::ResidualMLP<double> net({6, 3, 10, 3, 18, mam::Activation::gelu}, rng);
  mam::io::save_network(dir.file("net.ckpt"), net, {{"note", "hello"}});

  mam::ResidualMLP<double> restored({6, 3, 10, 3, 18, mam::Activation::gelu});
  const auto metadata = mam::io::load_network(dir.file("net.ckpt"), restored);
  CHECK(restored.parameters() == net.parameters());
  REQUIRE(metadata.size() == 1);
  CHECK(metadata[0].second == "hello");
  const CodeMatrix codes = random_codes(6, 3, 5, rng);
  CHECK(restored(codes) == net(codes));
}

TEST_CASE("a checkpoint of another architecture or scalar type is refused", "[io]") {
  TemporaryDirectory dir;
  Rng rng(2);
  const mam::ResidualMLP<float> net({6, 3, 10, 3, 18}, rng);
  mam::io::save_network(dir.file("net.ckpt"), net);

  mam::ResidualMLP<float> wider({6, 3, 12, 3, 18});
  CHECK_THROWS_AS(mam::io::load_network(dir.file("net.ckpt"), wider), mam::architecture_error);
  CHECK_THROWS_WITH(mam::io::load_network(dir.file("net.ckpt"), wider), Catch::Contains("hidden"));
  mam::ResidualMLP<float> other_activation({6, 3, 10, 3, 18, mam::Activation::silu});
  CHECK_THROWS_AS(mam::io::load_network(dir.file("net.ckpt"), other_activation), mam::architecture_error);
  mam::ResidualMLP<double> as_double({6, 3, 10, 3, 18});
  CHECK_THROWS_AS(mam::io::load_network(dir.file("net.ckpt"), as_double), mam::architecture_error);

  // A failed load leaves the target untouched.
  const Vector<float> before = wider.parameters();
  try {
    mam::io::load_network(dir.file("net.ckpt"), wider);
  } catch (const mam::error&) {
  }
  CHECK(wider.parameters() == before);

  // Optimizer or RNG state that the file lacks is an error, not a silent default.
  mam::ResidualMLP<float> same({6, 3, 10, 3, 18});
  mam::Adam<float> adam;
  adam.add_group(same.num_parameters());
  CHECK_THROWS_AS(mam::io::load_network(dir.file("net.ckpt"), same, &adam), mam::format_error);
  CHECK_THROWS_AS(mam::io::load_network(dir.file("net.ckpt"), same, nullptr, &rng), mam::format_error);
}

TEST_CASE("training resumed from a checkpoint continues bit-identically", "[io][determinism]") {
  TemporaryDirectory dir;
  const mam::ResidualMLPConfig config{5, 2, 16, 3, 4};
  auto fresh = [&](std::uint64_t seed, mam::ResidualMLP<float>& net, mam::Adam<float>& adam, Rng& rng) {
    rng.reseed(seed);
    net = mam::ResidualMLP<float>(config, rng);
    adam = mam::Adam<float>();
    adam.add_group(net.num_parameters(), {1e-2});
  };

  mam::ResidualMLP<float> straight;
  mam::Adam<float> straight_adam;
  Rng straight_rng;
  fresh(7, straight, straight_adam, straight_rng);
  for (int step = 0; step < 20; ++step) train_step(straight, straight_adam, straight_rng);

  mam::ResidualMLP<float> first;
  mam::Adam<float> first_adam;
  Rng first_rng;
  fresh(7, first, first_adam, first_rng);
  for (int step = 0; step < 8; ++step) train_step(first, first_adam, first_rng);
  mam::io::save_network(dir.file("resume.ckpt"), first, {}, &first_adam, &first_rng);

  mam::ResidualMLP<float> resumed;
  mam::Adam<float> resumed_adam;
  Rng resumed_rng;
  fresh(12345, resumed, resumed_adam, resumed_rng);  // deliberately other numbers
  mam::io::load_network(dir.file("resume.ckpt"), resumed, &resumed_adam, &resumed_rng);
  CHECK(resumed_adam.group(0).steps == 8);
  for (int step = 8; step < 20; ++step) train_step(resumed, resumed_adam, resumed_rng);

  CHECK(resumed.parameters() == straight.parameters());
  CHECK(resumed_rng == straight_rng);

  // And the same seed twice gives the same trained parameters (a second fresh run).
  mam::ResidualMLP<float> again;
  mam::Adam<float> again_adam;
  Rng again_rng;
  fresh(7, again, again_adam, again_rng);
  for (int step = 0; step < 20; ++step) train_step(again, again_adam, again_rng);
  CHECK(again.parameters() == straight.parameters());
}

TEST_CASE("the marginal head is part of a network's architecture: a checkpoint of the other head is refused", "[io]") {
  TemporaryDirectory dir;
  Rng rng(3);
  const mam::ResidualMLPConfig sum_config{6, 3, 10, 2, 1, mam::Activation::leaky_relu, mam::Head::observed_value_sum};
  const mam::ResidualMLP<float> summed(sum_config, rng);
  mam::io::save_network(dir.file("sum.ckpt"), summed);
  mam::ResidualMLP<float> restored(sum_config);
  mam::io::load_network(dir.file("sum.ckpt"), restored);
  const CodeMatrix codes = random_codes(6, 3, 5, rng);
  CHECK(restored(codes) == summed(codes));

  const mam::ResidualMLP<float> linear({6, 3, 10, 2, 1}, rng);
  mam::io::save_network(dir.file("linear.ckpt"), linear);
  CHECK_THROWS_WITH(mam::io::load_network(dir.file("linear.ckpt"), restored), Catch::Contains("head"));
  mam::ResidualMLP<float> linear_again({6, 3, 10, 2, 1});
  CHECK_THROWS_AS(mam::io::load_network(dir.file("sum.ckpt"), linear_again), mam::architecture_error);
}
