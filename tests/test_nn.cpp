#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <mam/core/rng.hpp>
#include <mam/core/threads.hpp>
#include <mam/model/residual.hpp>
#include <mam/nn/activation.hpp>
#include <mam/nn/linear.hpp>
#include <mam/nn/one_hot_input.hpp>
#include <mam/nn/residual_mlp.hpp>

#include "support/gradient_check.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Matrix;
using mam::Rng;
using mam::Vector;

namespace {

CodeMatrix random_codes(Index d, Index k, Index batch, Rng& rng, double unknown_rate = 0.3) {
  CodeMatrix codes(d, batch);
  for (Index b = 0; b < batch; ++b)
    for (Index i = 0; i < d; ++i)
      codes(i, b) = rng.uniform() < unknown_rate ? mam::unknown
                                                 : static_cast<mam::Code>(rng.uniform_int(k));
  return codes;
}

Matrix<double> random_matrix(Index rows, Index cols, Rng& rng) {
  Matrix<double> m(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) m(i, j) = rng.normal();
  return m;
}

// sum(R .* output) has gradient R with respect to the output: any backward check reduces to it.
double weighted_sum(const Matrix<double>& output, const Matrix<double>& weights) {
  return (output.array() * weights.array()).sum();
}

// run(threads) returns (outputs, gradient) of one pass: both must be the same bits on 1 and
// 2 threads in the head's part, which mam's own loops compute (the trunk below it is Eigen's
// products), and that part must be non-zero.
template <class Run>
void check_head_bits_on_one_and_two_threads(const mam::ResidualMLP<float>& net, Run run) {
  const auto one = run(1);
  const auto two = run(2);
  mam::set_num_threads(1);
  CHECK(one.first == two.first);
  const Index head = net.head().offset();
  CHECK(one.second.tail(net.num_parameters() - head) == two.second.tail(net.num_parameters() - head));
  CHECK(one.second.tail(net.num_parameters() - head).cwiseAbs().maxCoeff() > 0.0f);
}

}  // namespace

TEMPLATE_TEST_CASE("activation derivatives match finite differences", "[nn]", mam::LeakyReLU,
                   mam::SiLU, mam::GELU) {
  for (double z : {-3.0, -1.2, -0.3, 0.2, 0.7, 2.5, 6.0}) {
    const double h = 1e-6;
    const double numeric = (TestType::value(z + h) - TestType::value(z - h)) / (2 * h);
    CHECK(TestType::derivative(z) == Approx(numeric).epsilon(1e-7));
  }
  CHECK(mam::LeakyReLU::value(-2.0) == Approx(-0.02));
  CHECK(mam::GELU::value(1.0) == Approx(0.8413447460685429));  // 1 * Phi(1)
  CHECK(mam::SiLU::value(1.0) == Approx(0.7310585786300049));   // sigmoid(1)
  CHECK(mam::activation_from_string(TestType::name) ==
        mam::activation_from_string(std::string(TestType::name)));
  CHECK_THROWS_AS(mam::activation_from_string("relu6"), mam::value_error);
}

TEMPLATE_TEST_CASE("vectorized activations equal the scalar ones", "[nn]", mam::LeakyReLU, mam::SiLU, mam::GELU) {
  // Enough values for several SIMD packets plus a remainder, far into both tails.
  Eigen::ArrayXf zf = Eigen::ArrayXf::LinSpaced(67, -30.0f, 30.0f);
  Eigen::ArrayXd zd = zf.cast<double>();
  const Eigen::ArrayXf values_f = TestType::values(zf), derivatives_f = TestType::derivatives(zf);
  const Eigen::ArrayXd values_d = TestType::values(zd), derivatives_d = TestType::derivatives(zd);
  for (Index i = 0; i < zf.size(); ++i) {
    INFO("z = " << zf[i]);
    CHECK(values_f[i] == Approx(TestType::value(zf[i])).epsilon(1e-6).margin(1e-30));
    CHECK(derivatives_f[i] == Approx(TestType::derivative(zf[i])).epsilon(1e-6).margin(1e-12));
    CHECK(values_d[i] == Approx(TestType::value(zd[i])).epsilon(1e-14).margin(1e-300));
    CHECK(derivatives_d[i] == Approx(TestType::derivative(zd[i])).epsilon(1e-14).margin(1e-14));
  }
}

TEST_CASE("Linear: gradient of weights, bias and input match finite differences", "[nn]") {
  Rng rng(11);
  const mam::Linear<double> layer(5, 3, 2);  // offset 2: the slice is not at the front
  Vector<double> params(2 + layer.num_parameters() + 4);
  for (Index i = 0; i < params.size(); ++i) params[i] = rng.normal();
  Matrix<double> x = random_matrix(5, 4, rng);
  const Matrix<double> r = random_matrix(3, 4, rng);

  Matrix<double> y;
  auto loss = [&] {
    layer.forward(params, x, y);
    return weighted_sum(y, r);
  };
  Vector<double> grad = Vector<double>::Zero(params.size());
  Matrix<double> dx;
  layer.backward(params, x, r, grad, &dx);

  const Vector<double> numeric = mam::test::numerical_gradient(loss, params);
  CHECK(mam::test::max_relative_error(grad, numeric) < 1e-6);
  // Entries outside the layer's slice must not be touched.
  CHECK(grad.head(2).isZero());
  CHECK(grad.tail(4).isZero());

  Vector<double> x_flat = Eigen::Map<Vector<double>>(x.data(), x.size());
  auto loss_x = [&] {
    layer.forward(params, Eigen::Map<Matrix<double>>(x_flat.data(), 5, 4), y);
    return weighted_sum(y, r);
  };
  const Vector<double> numeric_x = mam::test::numerical_gradient(loss_x, x_flat);
  CHECK(mam::test::max_relative_error(Eigen::Map<Vector<double>>(dx.data(), dx.size()), numeric_x) <
        1e-6);
}

TEMPLATE_TEST_CASE("OneHotInput equals the dense product with the explicit one-hot matrix", "[nn]",
                   float, double) {
  using S = TestType;
  const double tolerance = std::is_same<S, float>::value ? 1e-4 : 1e-12;
  // Widths with only a partial storage block, whole blocks, and both; '?' rates that take
  // the all-columns path (0), and the known-entries path (0.5, 0.95) where it applies.
  const Index width = GENERATE(Index{9}, Index{32}, Index{70});
  const double unknown_rate = GENERATE(0.0, 0.5, 0.95);
  Rng rng(12);
  for (auto [d, k] : {std::pair<Index, Index>{7, 2}, {5, 40}, {1, 1}}) {
    INFO("D=" << d << " K=" << k << " H=" << width << " unknown rate " << unknown_rate);
    const mam::OneHotInput<S> gather(d, k, width);
    Vector<S> params(gather.num_parameters());
    gather.initialize(params, rng);
    const Matrix<S> w = gather.dense_weight(params);
    const auto b = gather.bias(params);
    const CodeMatrix codes = random_codes(d, k, 23, rng, unknown_rate);  // 23: a ragged group of 4
    const Matrix<S> x = mam::one_hot<S>(codes, k);

    Matrix<S> y;
    gather.forward(params, codes, y);
    const Matrix<S> y_dense = (w * x).colwise() + b;
    CHECK((y - y_dense).cwiseAbs().maxCoeff() < tolerance);

    // Backward: scatter-add equals the dense outer product, and the input gradient is W^T dy.
    const Matrix<S> dy = random_matrix(width, 23, rng).template cast<S>();
    Vector<S> g = Vector<S>::Zero(params.size());
    gather.backward(codes, dy, g);
    const Matrix<S> gw_dense = dy * x.transpose();
    CHECK((gather.dense_weight(g) - gw_dense).cwiseAbs().maxCoeff() < tolerance * 10);
    CHECK((gather.bias(g) - dy.rowwise().sum()).cwiseAbs().maxCoeff() < tolerance * 10);
    Matrix<S> dx;
    gather.input_gradient(params, dy, dx);
    CHECK((dx - w.transpose() * dy).cwiseAbs().maxCoeff() < tolerance * 10);
  }
}

TEST_CASE("OneHotInput: dense_weight and set_dense_weight are inverse", "[nn]") {
  Rng rng(15);
  const mam::OneHotInput<float> layer(3, 4, 45);
  Vector<float> params = Vector<float>::Zero(layer.num_parameters());
  const Matrix<float> w = Matrix<float>::Random(45, 15);
  layer.set_dense_weight(params, w);
  CHECK(layer.dense_weight(params) == w);
  CHECK(layer.weight_block(params, 1) == w.middleRows(32, 13));
  CHECK_THROWS_AS(layer.set_dense_weight(params, Matrix<float>::Zero(45, 14)), mam::shape_error);
}

TEST_CASE("OneHotInput::update_position equals a fresh forward pass", "[nn]") {
  Rng rng(13);
  const mam::OneHotInput<double> layer(6, 3, 8);
  Vector<double> params(layer.num_parameters());
  layer.initialize(params, rng);
  CodeMatrix codes = random_codes(6, 3, 4, rng, 0.5);
  Matrix<double> y, fresh;
  layer.forward(params, codes, y);
  for (int step = 0; step < 20; ++step) {
    const Index sample = static_cast<Index>(rng.uniform_int(4));
    const Index position = static_cast<Index>(rng.uniform_int(6));
    const mam::Code new_code = rng.uniform() < 0.25 ? mam::unknown : static_cast<mam::Code>(rng.uniform_int(3));
    layer.update_position(params, sample, position, codes(position, sample), new_code, y);
    codes(position, sample) = new_code;
  }
  layer.forward(params, codes, fresh);
  CHECK((y - fresh).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("codes are validated: shape and range errors name the problem", "[nn]") {
  Rng rng(14);
  const mam::ResidualMLP<double> net({4, 3, 5, 2, 1}, rng);
  CodeMatrix codes = CodeMatrix::Zero(4, 2);
  CHECK_NOTHROW(net(codes));
  CHECK_THROWS_AS(net(CodeMatrix::Zero(3, 2)), mam::shape_error);
  codes(2, 1) = 3;
  CHECK_THROWS_WITH(net(codes), Catch::Contains("position 2 of sample 1") && Catch::Contains("got 3"));
  codes(2, 1) = -2;
  CHECK_THROWS_AS(net(codes), mam::value_error);
  codes(2, 1) = mam::unknown;
  CHECK_NOTHROW(net(codes));
  CHECK_THROWS_AS(mam::ResidualMLP<double>({0, 3, 5, 2, 1}), mam::shape_error);
  CHECK_THROWS_AS(mam::ResidualMLP<double>({4, 3, 5, 0, 1}), mam::shape_error);

  auto context = net.forward(codes);
  Vector<double> grad = net.zero_gradient();
  CHECK_THROWS_AS(net.backward(context, Matrix<double>::Zero(2, 2), grad), mam::shape_error);
  Vector<double> short_grad(3);
  CHECK_THROWS_AS(net.backward(context, Matrix<double>::Zero(1, 2), short_grad), mam::shape_error);
}

TEST_CASE("ResidualMLP: end-to-end gradients match finite differences", "[nn]") {
  const auto activation = GENERATE(mam::Activation::leaky_relu, mam::Activation::silu,
                                   mam::Activation::gelu);
  const Index layers = GENERATE(1, 3);
  Rng rng(21);
  mam::ResidualMLPConfig config{5, 3, 7, layers, 4, activation};
  mam::ResidualMLP<double> net(config, rng);
  const CodeMatrix codes = random_codes(5, 3, 6, rng);
  const Matrix<double> r = random_matrix(4, 6, rng);

  auto context = net.forward(codes);
  Vector<double> grad = net.zero_gradient();
  Matrix<double> input_grad;
  net.backward(context, r, grad, &input_grad);

  auto loss = [&] { return weighted_sum(net(codes), r); };
  const Vector<double> numeric = mam::test::numerical_gradient(loss, net.parameters());
  INFO("activation " << mam::to_string(activation) << ", layers " << layers);
  CHECK(mam::test::max_relative_error(grad, numeric) < 1e-6);

  // Backward accumulates: a second call doubles the gradient.
  Vector<double> twice = grad;
  net.backward(context, r, twice);
  CHECK((twice - 2 * grad).cwiseAbs().maxCoeff() < 1e-12);

  // Input gradient: the same network evaluated on a dense (relaxed) one-hot input.
  Matrix<double> x = mam::one_hot<double>(codes, 3);
  Vector<double> x_flat = Eigen::Map<Vector<double>>(x.data(), x.size());
  // The dense input layer holds the one-hot layer's weights in an ordinary Linear layout.
  const mam::Linear<double> dense_input(net.input_layer().in_features(), 7);
  Vector<double> dense_params(dense_input.num_parameters());
  dense_input.weight(dense_params) = net.input_layer().dense_weight(net.parameters());
  dense_input.bias(dense_params) = net.input_layer().bias(net.parameters());
  auto dense_loss = [&] {
    const Eigen::Map<Matrix<double>> xm(x_flat.data(), x.rows(), x.cols());
    Matrix<double> h;
    dense_input.forward(dense_params, xm, h);
    mam::visit_activation(activation, [&](auto act) {
      h = h.unaryExpr([&](double z) { return act.value(z); }).eval();
      for (const auto& block : net.residual_blocks()) {
        Matrix<double> z;
        block.forward(net.parameters(), h, z);
        h = (z.unaryExpr([&](double v) { return act.value(v); }) + h).eval();
      }
    });
    Matrix<double> out;
    net.head().forward(net.parameters(), h, out);
    return weighted_sum(out, r);
  };
  CHECK(dense_loss() == Approx(loss()).epsilon(1e-12));
  const Vector<double> numeric_x = mam::test::numerical_gradient(dense_loss, x_flat);
  CHECK(mam::test::max_relative_error(Eigen::Map<Vector<double>>(input_grad.data(), input_grad.size()),
                                      numeric_x) < 1e-6);
}

TEST_CASE("ResidualMLP: several contexts can be alive at once", "[nn]") {
  Rng rng(22);
  mam::ResidualMLP<double> net({4, 2, 6, 3, 2}, rng);
  const CodeMatrix a = random_codes(4, 2, 3, rng), b = random_codes(4, 2, 5, rng);
  const Matrix<double> ra = random_matrix(2, 3, rng), rb = random_matrix(2, 5, rng);

  auto ca = net.forward(a);
  auto cb = net.forward(b);  // a second pass must not disturb the first
  Vector<double> interleaved = net.zero_gradient();
  net.backward(ca, ra, interleaved);
  net.backward(cb, rb, interleaved);

  Vector<double> sequential = net.zero_gradient();
  auto c1 = net.forward(a);
  net.backward(c1, ra, sequential);
  auto c2 = net.forward(b);
  net.backward(c2, rb, sequential);
  CHECK((interleaved - sequential).cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("ResidualMLP::backward_rows equals backward with the other rows zero", "[nn]") {
  Rng rng(26);
  const Index d = 6, k = 3, batch = 7;
  const mam::ResidualMLP<double> net({d, k, 9, 3, d * k, mam::Activation::silu}, rng);
  const CodeMatrix codes = random_codes(d, k, batch, rng);
  const Matrix<double> d_rows = random_matrix(k, batch, rng);
  std::vector<Index> first_rows;
  Matrix<double> dense = Matrix<double>::Zero(d * k, batch);
  for (Index c = 0; c < batch; ++c) {
    first_rows.push_back(k * static_cast<Index>(rng.uniform_int(d)));
    dense.block(first_rows.back(), c, k, 1) = d_rows.col(c);
  }
  auto sparse_context = net.forward(codes), dense_context = net.forward(codes);
  Vector<double> sparse_gradient = net.zero_gradient(), dense_gradient = net.zero_gradient();
  net.backward_rows(sparse_context, first_rows, d_rows, sparse_gradient);
  net.backward(dense_context, dense, dense_gradient);
  CHECK(dense_gradient.cwiseAbs().maxCoeff() > 0.0);
  CHECK((sparse_gradient - dense_gradient).cwiseAbs().maxCoeff() < 1e-13);

  first_rows[2] = d * k - 1;  // rows past the head
  CHECK_THROWS_AS(net.backward_rows(sparse_context, first_rows, d_rows, sparse_gradient), mam::shape_error);
  first_rows.pop_back();  // one sample without rows
  CHECK_THROWS_AS(net.backward_rows(sparse_context, first_rows, d_rows, sparse_gradient), mam::shape_error);
}

TEST_CASE("ResidualMLP::output_row_blocks reads every sample's rows as output_rows does", "[nn]") {
  Rng rng(27);
  const Index d = 6, k = 3, batch = 9;
  const mam::ResidualMLP<double> net({d, k, 11, 3, d * k, mam::Activation::silu}, rng);
  const CodeMatrix codes = random_codes(d, k, batch, rng);
  auto context = net.forward(codes);
  std::vector<Index> first_rows;
  for (Index c = 0; c < batch; ++c) first_rows.push_back(k * static_cast<Index>(rng.uniform_int(d)));
  first_rows[4] = -1;  // a sample with nothing to read
  Matrix<double> rows = Matrix<double>::Constant(2, 2, 7.0);  // resized, and no old value survives
  net.output_row_blocks(context, first_rows, k, rows);
  REQUIRE(rows.rows() == k);
  REQUIRE(rows.cols() == batch);
  for (Index c = 0; c < batch; ++c) {
    const Index first = first_rows[static_cast<std::size_t>(c)];
    if (first < 0) {
      CHECK(rows.col(c).isZero(0.0));
      continue;
    }
    CHECK((rows.col(c) - context.output.block(first, c, k, 1)).cwiseAbs().maxCoeff() < 1e-13);
  }
  // Within a walk (a recompute without the head) the rows come from the head's copy.
  auto walk = net.forward(codes);
  net.recompute(walk, false);
  Matrix<double> walk_rows;
  net.output_row_blocks(walk, first_rows, k, walk_rows);
  CHECK((walk_rows - rows).cwiseAbs().maxCoeff() < 1e-13);

  first_rows[1] = d * k - 1;  // rows past the head
  CHECK_THROWS_AS(net.output_row_blocks(context, first_rows, k, rows), mam::shape_error);
  first_rows.pop_back();  // one sample without a first row
  CHECK_THROWS_AS(net.output_row_blocks(context, first_rows, k, rows), mam::shape_error);
}

TEST_CASE("ResidualMLP::backward_rows and output_row_blocks give the same bits on 1 and 2 threads", "[nn][threads]") {
  // Large enough to cross the parallel-work threshold: the head's gradient is split by
  // column blocks, each summing the samples in order, so no sum is reordered.
  Rng rng(28);
  const Index d = 40, k = 5, batch = 300;
  const mam::ResidualMLP<float> net({d, k, 160, 2, d * k}, rng);
  const CodeMatrix codes = random_codes(d, k, batch, rng, 0.5);
  const Matrix<float> d_rows = random_matrix(k, batch, rng).cast<float>();
  std::vector<Index> first_rows;
  for (Index c = 0; c < batch; ++c) first_rows.push_back(k * static_cast<Index>(rng.uniform_int(d)));
  auto run = [&](int threads) {
    mam::set_num_threads(threads);
    mam::ResidualMLP<float>::Context context;
    net.forward(codes, context, false);
    net.recompute(context, false);
    Matrix<float> rows;
    net.output_row_blocks(context, first_rows, k, rows);
    Vector<float> gradient = net.zero_gradient();
    net.backward_rows(context, first_rows, d_rows, gradient);
    return std::make_pair(rows, gradient);
  };
  check_head_bits_on_one_and_two_threads(net, run);
}

TEST_CASE("ResidualMLP::copy_trunk_from takes the features, not the head, and set_head_to_zero zeroes it", "[nn]") {
  Rng rng(31);
  const Index d = 5, k = 3, batch = 6;
  const mam::ResidualMLP<double> conditional({d, k, 7, 3, d * k, mam::Activation::silu}, rng);
  mam::ResidualMLP<double> marginal({d, k, 7, 3, 1, mam::Activation::silu}, rng);
  const Vector<double> head_before = marginal.parameters().tail(marginal.head().num_parameters());
  const CodeMatrix codes = random_codes(d, k, batch, rng);
  CHECK((marginal.forward(codes).hidden.back() - conditional.forward(codes).hidden.back()).cwiseAbs().maxCoeff() > 0.1);

  marginal.copy_trunk_from(conditional);
  // Same last hidden layer on any input; the head is the marginal net's own.
  CHECK((marginal.forward(codes).hidden.back() - conditional.forward(codes).hidden.back()).cwiseAbs().maxCoeff() == 0.0);
  CHECK(marginal.parameters().tail(marginal.head().num_parameters()) == head_before);
  CHECK(marginal(codes).cwiseAbs().maxCoeff() > 0.0);
  marginal.set_head_to_zero();
  CHECK(marginal(codes).isZero(0.0));
  CHECK(marginal.parameters().head(marginal.head().offset()) ==
        conditional.parameters().head(conditional.head().offset()));

  const mam::ResidualMLP<double> narrower({d, k, 6, 3, d * k, mam::Activation::silu}, rng);
  const mam::ResidualMLP<double> other_activation({d, k, 7, 3, d * k, mam::Activation::leaky_relu}, rng);
  CHECK_THROWS_WITH(marginal.copy_trunk_from(narrower), Catch::StartsWith("mam::ResidualMLP::copy_trunk_from") &&
                                                            Catch::Contains("hidden 7") && Catch::Contains("hidden 6"));
  CHECK_THROWS_AS(marginal.copy_trunk_from(other_activation), mam::architecture_error);
}

TEST_CASE("ResidualMLP in float agrees with double", "[nn]") {
  Rng rng_d(23), rng_f(23);
  mam::ResidualMLP<double> net_d({10, 2, 32, 4, 20}, rng_d);
  mam::ResidualMLP<float> net_f({10, 2, 32, 4, 20}, rng_f);
  CHECK((net_d.parameters().cast<float>() - net_f.parameters()).cwiseAbs().maxCoeff() == 0.0f);
  Rng rng(24);
  const CodeMatrix codes = random_codes(10, 2, 16, rng);
  const Matrix<double> out_d = net_d(codes);
  const Matrix<float> out_f = net_f(codes);
  CHECK((out_d - out_f.cast<double>()).cwiseAbs().maxCoeff() < 1e-4);
}

TEST_CASE("ResidualMLP: same seed gives identical parameters and outputs", "[nn][determinism]") {
  Rng r1(99), r2(99), r3(100);
  mam::ResidualMLP<float> a({20, 3, 16, 3, 60}, r1), b({20, 3, 16, 3, 60}, r2),
      c({20, 3, 16, 3, 60}, r3);
  CHECK(a.parameters() == b.parameters());
  CHECK(a.parameters() != c.parameters());
  Rng data(5);
  const CodeMatrix codes = random_codes(20, 3, 8, data);
  CHECK(a(codes) == b(codes));

  // PyTorch's nn.Linear default: every weight and bias within 1/sqrt(fan_in).
  const double input_bound = 1.0 / std::sqrt(20.0 * 4.0);
  CHECK(a.input_layer().dense_weight(a.parameters()).cwiseAbs().maxCoeff() <= input_bound);
  CHECK(a.head().bias(a.parameters()).cwiseAbs().maxCoeff() <= 1.0 / 4.0);
}

TEST_CASE("ResidualMLP::update_code + recompute equals a fresh forward pass", "[nn]") {
  Rng rng(25);
  const mam::ResidualMLP<double> net({6, 3, 10, 3, 18}, rng);
  CodeMatrix codes = random_codes(6, 3, 5, rng, 0.6);
  auto context = net.forward(codes);
  for (int step = 0; step < 12; ++step) {
    const Index sample = static_cast<Index>(rng.uniform_int(5));
    const Index position = static_cast<Index>(rng.uniform_int(6));
    const mam::Code code = rng.uniform() < 0.3 ? mam::unknown : static_cast<mam::Code>(rng.uniform_int(3));
    net.update_code(context, sample, position, code);
    codes(position, sample) = code;
  }
  net.recompute(context);
  CHECK(context.codes == codes);
  CHECK((context.output - net(codes)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK_THROWS_AS(net.update_code(context, 5, 0, 0), mam::shape_error);
  CHECK_THROWS_AS(net.update_code(context, 0, 0, 3), mam::value_error);
}

TEST_CASE("ResidualMLP: kept packed weights follow every change of the parameters", "[nn]") {
  // Small passes and walks multiply by weights packed once per version of the parameters. A
  // copy packs nothing until its own small pass, and column c of a product does not depend on
  // the other columns, so a copy's pass over the same codes must give the same bits. Each
  // way of changing the parameters must drop the packing.
  Rng rng(27);
  mam::ResidualMLP<float> net({40, 2, 64, 4, 80}, rng);
  const CodeMatrix codes = random_codes(40, 2, 16, rng, 0.4);
  const CodeMatrix batch = random_codes(40, 2, 200, rng, 0.4);  // a full batch: no packing of its own
  auto same_as_a_copy = [&](const mam::ResidualMLP<float>& network) {
    const mam::ResidualMLP<float> copy = network;
    const Matrix<float> small = network(codes), again = network(codes), copied = copy(codes);
    return (small.array() == again.array()).all() && (small.array() == copied.array()).all();
  };
  const Matrix<float> before = net(codes);
  CHECK(same_as_a_copy(net));

  net.parameters() *= 1.25f;
  const Matrix<float> after = net(codes);
  CHECK((after.array() != before.array()).any());
  CHECK(same_as_a_copy(net));

  Rng other(28);
  net.initialize(other);
  CHECK(same_as_a_copy(net));
  net.set_parameters(Vector<float>(net.parameters() * 0.5f));
  CHECK(same_as_a_copy(net));
  net.set_head_to_zero();
  CHECK(net(codes).isZero());
  mam::ResidualMLP<float> trunk({40, 2, 64, 4, 80}, other);
  net.copy_trunk_from(trunk);
  CHECK(same_as_a_copy(net));

  // A walk (its first layer updated in place, so equal up to rounding) and a full batch after
  // it, which takes the walk's packing (bit for bit).
  auto context = net.forward(codes.leftCols(8));
  CodeMatrix walked = codes.leftCols(8);
  for (Index c = 0; c < 8; ++c) {
    net.update_code(context, c, c, 1);
    walked(c, c) = 1;
  }
  net.recompute(context);
  const mam::ResidualMLP<float> copy = net;
  CHECK((context.output - copy(walked)).cwiseAbs().maxCoeff() <= 1e-5f * (1.0f + context.output.cwiseAbs().maxCoeff()));
  CHECK((net(batch).array() == copy(batch).array()).all());
}

TEST_CASE("threaded passes give the same numbers as one thread", "[nn][threads]") {
  // Large enough to cross the parallel-work threshold. mam's own loops give each thread
  // whole row blocks or columns (no sum is reordered); Eigen's threaded products may add in
  // another order, hence a tolerance instead of equality.
  Rng rng(26);
  const mam::ResidualMLP<float> net({64, 3, 96, 3, 64 * 3}, rng);
  const CodeMatrix codes = random_codes(64, 3, 300, rng, 0.5);
  const Matrix<float> d_out = random_matrix(64 * 3, 300, rng).cast<float>();
  auto run = [&](int threads) {
    mam::set_num_threads(threads);
    auto context = net.forward(codes);
    Vector<float> gradient = net.zero_gradient();
    net.backward(context, d_out, gradient);
    return std::make_pair(context.output, gradient);
  };
  const auto one = run(1);
  const auto two = run(2);
  mam::set_num_threads(1);
  CHECK((one.first - two.first).cwiseAbs().maxCoeff() <= 1e-4f * (1.0f + one.first.cwiseAbs().maxCoeff()));
  CHECK((one.second - two.second).cwiseAbs().maxCoeff() <= 1e-4f * (1.0f + one.second.cwiseAbs().maxCoeff()));
}

TEST_CASE("ResidualMLP with the observed-value-sum head: c plus the observed values' scores, exact gradients",
          "[nn]") {
  const Index layers = GENERATE(1, 3);
  const Index d = 5, k = 3, hidden = 7, batch = 6;
  Rng rng(41);
  const mam::ResidualMLPConfig config{d, k, hidden, layers, 1, mam::Activation::silu, mam::Head::observed_value_sum};
  mam::ResidualMLP<double> net(config, rng);
  CHECK(net.parameters()[net.num_parameters() - 1] == 0.0);  // c starts at 0
  net.parameters()[net.num_parameters() - 1] = 0.37;
  CHECK(net.head().out_features() == d * k);
  CHECK(net.num_parameters() == net.head().offset() + net.head().num_parameters() + 1);

  // The same trunk and table as a linear network of D*K outputs (its weight is the table
  // transposed): the sum of its outputs at the observed values, plus c. A column of all '?'
  // gives c alone.
  mam::ResidualMLP<double> linear({d, k, hidden, layers, d * k, mam::Activation::silu}, rng);
  Vector<double> twin = net.parameters().head(linear.num_parameters());
  linear.head().weight(twin) =
      Eigen::Map<const Matrix<double>>(net.parameters().data() + net.head().offset(), hidden, d * k).transpose();
  linear.set_parameters(twin);
  CodeMatrix codes = random_codes(d, k, batch, rng);
  codes.col(batch - 1).setConstant(mam::unknown);
  const Matrix<double> scores = linear(codes), out = net(codes);
  REQUIRE(out.rows() == 1);
  for (Index c = 0; c < batch; ++c) {
    double expected = 0.37;
    for (Index i = 0; i < d; ++i)
      if (codes(i, c) != mam::unknown) expected += scores(i * k + codes(i, c), c);
    CHECK(out(0, c) == Approx(expected).epsilon(1e-12));
  }
  CHECK(out(0, batch - 1) == 0.37);
  REQUIRE(net.output_at_all_unknown().has_value());
  CHECK(*net.output_at_all_unknown() == 0.37);  // the same value, without a pass
  CHECK_FALSE(linear.output_at_all_unknown().has_value());

  // A model normalizes by it: log p(x_S) = f(x_S) - c, the same as with f(all ?) from a pass.
  const mam::ResidualMarginalizationModel<double> model(net, linear);
  const Vector<double> log_marginal = model.log_marginal(codes);
  for (Index c = 0; c < batch; ++c) CHECK(log_marginal[c] == Approx(out(0, c) - out(0, batch - 1)).margin(1e-12));

  // Finite differences of sum(r .* out), parameters and input.
  const Matrix<double> r = random_matrix(1, batch, rng);
  auto context = net.forward(codes);
  Vector<double> grad = net.zero_gradient();
  Matrix<double> input_grad;
  net.backward(context, r, grad, &input_grad);
  auto loss = [&] { return weighted_sum(net(codes), r); };
  CHECK(mam::test::max_relative_error(grad, mam::test::numerical_gradient(loss, net.parameters())) < 1e-6);
  CHECK(grad[net.num_parameters() - 1] == Approx(r.sum()).epsilon(1e-12));
  CHECK(input_grad.rows() == d * (k + 1));

  // A walk's update_code + recompute equals a fresh pass.
  CodeMatrix changed = codes;
  changed(2, 0) = changed(2, 0) == mam::unknown ? 1 : mam::unknown;
  net.update_code(context, 0, 2, changed(2, 0));
  net.recompute(context);
  CHECK((context.output - net(changed)).cwiseAbs().maxCoeff() < 1e-12);

  // The zeroed head outputs 0 everywhere, c included.
  net.set_head_to_zero();
  CHECK(net(codes).isZero(0.0));
}

TEST_CASE("ResidualMLP with the observed-value-sum head: float agrees with double, misuse is refused", "[nn]") {
  const Index d = 12, k = 2;
  const mam::ResidualMLPConfig config{d, k, 32, 3, 1, mam::Activation::leaky_relu, mam::Head::observed_value_sum};
  Rng rng_d(43), rng_f(43);
  mam::ResidualMLP<double> net_d(config, rng_d);
  mam::ResidualMLP<float> net_f(config, rng_f);
  Rng rng(44);
  // 16 columns take the packed float path, 300 the plain one.
  for (Index batch : {16, 300}) {
    const CodeMatrix codes = random_codes(d, k, batch, rng);
    CHECK((net_d(codes) - net_f(codes).cast<double>()).cwiseAbs().maxCoeff() < 1e-4);
  }
  const auto architecture = net_f.architecture();
  CHECK(std::find(architecture.begin(), architecture.end(),
                  std::pair<std::string, std::string>{"head", "observed_value_sum"}) != architecture.end());

  CHECK_THROWS_WITH(mam::ResidualMLP<double>({d, k, 8, 2, d * k, mam::Activation::silu, mam::Head::observed_value_sum}),
                    Catch::Contains("output_size 1 with the observed-value-sum head") && Catch::Contains("got 24"));
  const CodeMatrix codes = random_codes(d, k, 3, rng);
  auto context = net_d.forward(codes);
  Vector<double> rows;
  CHECK_THROWS_WITH(net_d.output_rows(context, 0, 0, 1, rows),
                    Catch::Contains("output_rows") && Catch::Contains("a network with a linear head"));
  Vector<double> grad = net_d.zero_gradient();
  CHECK_THROWS_AS(net_d.backward_rows(context, {0, 0, 0}, Matrix<double>::Ones(1, 3), grad), mam::shape_error);
}

TEST_CASE("ResidualMLP with the observed-value-sum head gives the same bits on 1 and 2 threads", "[nn][threads]") {
  // 40 x 160 x 300 crosses the parallel-work threshold: the table's gradient is split by
  // blocks of its rows, each summing the samples in order.
  Rng rng(45);
  const Index d = 40, k = 5, batch = 300;
  const mam::ResidualMLP<float> net({d, k, 160, 2, 1, mam::Activation::leaky_relu, mam::Head::observed_value_sum}, rng);
  const CodeMatrix codes = random_codes(d, k, batch, rng, 0.5);
  const Matrix<float> d_output = random_matrix(1, batch, rng).cast<float>();
  auto run = [&](int threads) {
    mam::set_num_threads(threads);
    auto context = net.forward(codes);
    Vector<float> gradient = net.zero_gradient();
    net.backward(context, d_output, gradient);
    return std::make_pair(Matrix<float>(context.output), gradient);
  };
  check_head_bits_on_one_and_two_threads(net, run);
}
