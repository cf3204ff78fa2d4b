// Tests for mam/nn/bf16_matmul.hpp and MatmulPrecision::bfloat16 in ResidualMLP: rounding
// against hand-worked bit patterns, tile products against the exact product of the rounded
// inputs (so only the float sums may differ), every edge of the tiling, and network passes
// and order walks against the float ones. On a CPU without AMX the option must refuse.

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include <mam/core/rng.hpp>
#include <mam/core/threads.hpp>
#include <mam/mam.hpp>
#include <mam/nn/bf16_matmul.hpp>
#include <mam/nn/residual_mlp.hpp>

using mam::Index;
using mam::Matrix;
using mam::Rng;

namespace {

float from_bits(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

Matrix<float> random_matrix(Index rows, Index cols, Rng& rng) {
  Matrix<float> m(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) m(i, j) = static_cast<float>(rng.normal());
  return m;
}

Matrix<double> rounded(const Matrix<float>& m) {
  return m.unaryExpr([](float v) { return static_cast<double>(mam::detail::from_bfloat16(mam::detail::to_bfloat16(v))); });
}

}  // namespace

TEST_CASE("to_bfloat16 rounds to nearest, ties to even, and keeps NaN and infinity", "[nn][bf16]") {
  using mam::detail::to_bfloat16;
  CHECK(to_bfloat16(1.0f) == 0x3f80);
  CHECK(to_bfloat16(-2.0f) == 0xc000);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa, 1.
  CHECK(to_bfloat16(from_bits(0x3f808000u)) == 0x3f80);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): up.
  CHECK(to_bfloat16(from_bits(0x3f818000u)) == 0x3f82);
  // Just above and below the halfway point.
  CHECK(to_bfloat16(from_bits(0x3f808001u)) == 0x3f81);
  CHECK(to_bfloat16(from_bits(0x3f807fffu)) == 0x3f80);
  CHECK(to_bfloat16(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(std::isnan(mam::detail::from_bfloat16(to_bfloat16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the low bits must not round to infinity.
  CHECK(std::isnan(mam::detail::from_bfloat16(to_bfloat16(from_bits(0x7f800001u)))));
  // The largest float rounds past the largest bfloat16: infinity, as IEEE rounding says.
  CHECK(to_bfloat16(std::numeric_limits<float>::max()) == 0x7f80);
}

TEST_CASE("Bf16PackedMatrix holds every element rounded, also transposed", "[nn][bf16]") {
  Rng rng(1);
  const Matrix<float> a = random_matrix(37, 45, rng);
  mam::Bf16PackedMatrix packed, packed_transpose;
  // Both first hold a full 64 x 64 matrix of ones: repacking into the same buffer must clear
  // what becomes padding.
  packed.pack(Matrix<float>::Ones(64, 64));
  packed_transpose.pack(Matrix<float>::Ones(64, 64), true);
  packed.pack(a);
  packed_transpose.pack(a.transpose().eval(), true);
  CHECK(packed.rows() == 37);
  CHECK(packed.cols() == 45);
  CHECK(packed.padded_rows() == 64);
  CHECK(packed.padded_cols() == 64);
  const Matrix<double> expected = rounded(a);
  double worst = 0.0;
  for (Index c = 0; c < 45; ++c)
    for (Index r = 0; r < 37; ++r) {
      worst = std::max(worst, std::abs(packed(r, c) - expected(r, c)));
      worst = std::max(worst, std::abs(packed_transpose(r, c) - expected(r, c)));
    }
  CHECK(worst == 0.0);
  // The padding is zero: it must add nothing to the products.
  for (const auto* matrix : {&packed, &packed_transpose})
    for (Index c = 0; c < 64; ++c)
      for (Index r = 0; r < 64; ++r)
        if (r >= 37 || c >= 45) CHECK((*matrix)(r, c) == 0.0f);
}

TEST_CASE("multiply_bf16 equals the exact product of the rounded inputs up to float sums", "[nn][bf16]") {
  if (!mam::amx_bf16_available()) {
    mam::Bf16PackedMatrix a;
    a.pack(Matrix<float>::Ones(4, 4));
    mam::Bf16Operand buffer;
    Matrix<float> y;
    CHECK_THROWS_AS(mam::multiply_bf16(a, Matrix<float>::Ones(4, 2), y, buffer), mam::error);
    return;
  }
  Rng rng(2);
  mam::Bf16Operand buffer;  // reused across shapes, as networks reuse it across passes
  // Every edge of the tiling: rows and columns of A and x below, at and above tile sizes.
  const std::vector<std::array<Index, 3>> shapes = {{1, 1, 1},    {16, 32, 16},  {32, 32, 32}, {33, 31, 17},
                                                    {37, 45, 3},  {64, 64, 48},  {100, 200, 1}, {392, 512, 17},
                                                    {512, 96, 64}, {33, 31, 17}, {20, 50, 5}};
  mam::Bf16PackedMatrix packed;  // reused too: a smaller matrix must not see the last one's values
  for (const auto& [m, k, n] : shapes) {
    CAPTURE(m, k, n);
    const Matrix<float> a = random_matrix(m, k, rng), x = random_matrix(k, n, rng);
    packed.pack(a);
    Matrix<float> y;
    mam::multiply_bf16(packed, x, y, buffer);
    REQUIRE(y.rows() == m);
    REQUIRE(y.cols() == n);
    const Matrix<double> exact = rounded(a) * rounded(x);
    // Float sums of k products of size ~1: error ~ k * 2^-24 * |terms|.
    const double tolerance = 1e-6 * static_cast<double>(k) + 1e-6;
    CHECK((y.cast<double>() - exact).cwiseAbs().maxCoeff() < tolerance);
    // Against the float product: the rounding of the inputs, about 2^-8 relative per term.
    const Matrix<float> full = a * x;
    CHECK((y - full).cwiseAbs().maxCoeff() < 0.02 * std::sqrt(static_cast<double>(k)));

    // y += A x, also into a block of a larger matrix.
    Matrix<float> twice = Matrix<float>::Zero(m + 3, n + 2);
    twice.block(2, 1, m, n) = y;
    mam::multiply_add_bf16(packed, buffer, twice.block(2, 1, m, n));
    CHECK((twice.block(2, 1, m, n).cast<double>() - 2.0 * exact).cwiseAbs().maxCoeff() < 2.0 * tolerance);
    CHECK(twice.row(0).cwiseAbs().maxCoeff() == 0.0f);
    CHECK(twice.col(n + 1).cwiseAbs().maxCoeff() == 0.0f);

    // The operand from x^T without a float transpose.
    mam::Bf16Operand from_rows;
    from_rows.assign_transposed(x.transpose().eval());
    Matrix<float> via_rows;
    mam::multiply_bf16(packed, from_rows, via_rows);
    CHECK(via_rows == y);

    // A packed from its transpose gives the same numbers.
    mam::Bf16PackedMatrix from_transpose;
    from_transpose.pack(a.transpose().eval(), true);
    Matrix<float> same;
    mam::multiply_bf16(from_transpose, x, same, buffer);
    CHECK(same == y);
  }
  // x may be a block of a larger matrix (outer stride).
  const Matrix<float> a = random_matrix(40, 30, rng), big = random_matrix(50, 9, rng);
  packed.pack(a);
  Matrix<float> from_block, from_copy;
  mam::multiply_bf16(packed, big.block(3, 2, 30, 5), from_block, buffer);
  mam::multiply_bf16(packed, big.block(3, 2, 30, 5).eval(), from_copy, buffer);
  CHECK(from_block == from_copy);
  // Threads split the blocks of y; every entry is one tile chain either way.
  const Matrix<float> wide_a = random_matrix(512, 512, rng), wide_x = random_matrix(512, 256, rng);
  packed.pack(wide_a);
  Matrix<float> one, two;
  mam::set_num_threads(1);
  mam::multiply_bf16(packed, wide_x, one, buffer);
  mam::set_num_threads(2);
  mam::multiply_bf16(packed, wide_x, two, buffer);
  mam::set_num_threads(1);
  CHECK(one == two);

  Matrix<float> y;
  CHECK_THROWS_AS(mam::multiply_bf16(packed, Matrix<float>::Ones(511, 2), y, buffer), mam::shape_error);
  y.resize(3, 3);
  buffer.assign(Matrix<float>::Ones(512, 2));
  CHECK_THROWS_AS(mam::multiply_add_bf16(packed, buffer, y), mam::shape_error);
}

TEST_CASE("ResidualMLP in bfloat16 precision agrees with float, and double networks refuse it", "[nn][bf16]") {
  Rng init(3);
  mam::ResidualMLP<double> double_net({8, 3, 16, 3, 24}, init);
  CHECK_THROWS_AS(double_net.set_matmul_precision(mam::MatmulPrecision::bfloat16), mam::value_error);
  CHECK(double_net.matmul_precision() == mam::MatmulPrecision::float32);

  mam::ResidualMLP<float> net({30, 3, 96, 4, 90}, init);
  if (!mam::amx_bf16_available()) {
    CHECK_THROWS_AS(net.set_matmul_precision(mam::MatmulPrecision::bfloat16), mam::error);
    return;
  }
  Rng rng(4);
  mam::CodeMatrix codes(30, 20);
  for (Index c = 0; c < codes.cols(); ++c)
    for (Index i = 0; i < 30; ++i)
      codes(i, c) = rng.uniform() < 0.4 ? mam::unknown : static_cast<mam::Code>(rng.uniform_int(3));
  const Matrix<float> in_float = net(codes);
  net.set_matmul_precision(mam::MatmulPrecision::bfloat16);
  CHECK(net.matmul_precision() == mam::MatmulPrecision::bfloat16);
  auto context = net.forward(codes);
  const double scale = in_float.cwiseAbs().maxCoeff();
  const double difference = (context.output - in_float).cwiseAbs().maxCoeff();
  CHECK(difference > 0.0);  // the products did run in bfloat16
  CHECK(difference < 0.02 * scale);

  // update_code + recompute reuses the packed weights and equals a fresh bf16 pass.
  mam::CodeMatrix changed = codes;
  for (Index c = 0; c < codes.cols(); ++c) {
    const Index position = c % 30;
    const mam::Code code = changed(position, c) == mam::unknown ? 1 : mam::unknown;
    net.update_code(context, c, position, code);
    changed(position, c) = code;
  }
  net.recompute(context);
  CHECK((context.output - net(changed)).cwiseAbs().maxCoeff() < 1e-5 * scale);

  // output_rows after a pass without the head: the float head on the bf16 trunk, within
  // rounding of the bf16 head.
  mam::ResidualMLP<float>::Context headless;
  net.forward(codes, headless, false);
  mam::Vector<float> rows;
  net.output_rows(headless, 7, 12, 3, rows);
  const mam::Vector<float> by_float_head =
      net.head().weight(net.parameters()).middleRows(12, 3) * headless.hidden.back().col(7) +
      net.head().bias(net.parameters()).segment(12, 3);
  CHECK((rows - by_float_head).cwiseAbs().maxCoeff() < 1e-5 * scale);
  CHECK((rows - net(codes).col(7).segment(12, 3)).cwiseAbs().maxCoeff() < 0.02 * scale);

  // backward in bf16 against float, from the same (float) forward pass: a bf16 forward
  // moves pre-activations near 0 across the kink of the activation, whose derivative jumps,
  // which would hide the backward products' own error. Every layer's gradient within rounding.
  const Matrix<float> d_output = random_matrix(90, codes.cols(), rng);
  net.set_matmul_precision(mam::MatmulPrecision::float32);
  const auto float_pass = net.forward(codes);
  auto run_backward = [&](mam::MatmulPrecision precision) {
    net.set_matmul_precision(precision);
    auto pass = float_pass;
    mam::Vector<float> gradient = net.zero_gradient();
    net.backward(pass, d_output, gradient);
    return gradient;
  };
  const mam::Vector<float> gradient_float = run_backward(mam::MatmulPrecision::float32);
  const mam::Vector<float> gradient_bf16 = run_backward(mam::MatmulPrecision::bfloat16);
  const double gradient_scale = gradient_float.cwiseAbs().maxCoeff();
  CHECK((gradient_bf16 - gradient_float).cwiseAbs().maxCoeff() > 0.0);
  CHECK((gradient_bf16 - gradient_float).cwiseAbs().maxCoeff() < 0.02 * gradient_scale);
  // Layer by layer, relative to the layer's own size, so that no small layer hides.
  auto check_layer = [&](const mam::Linear<float>& layer) {
    const Matrix<float> exact = layer.weight(gradient_float), approx = layer.weight(gradient_bf16);
    CHECK((approx - exact).norm() < 0.02 * exact.norm());
    CHECK((layer.bias(gradient_bf16) - layer.bias(gradient_float)).norm() <
          0.02 * layer.bias(gradient_float).norm());
  };
  for (const auto& block : net.residual_blocks()) check_layer(block);
  check_layer(net.head());
  const Index input_size = net.input_layer().num_parameters();
  CHECK((gradient_bf16.head(input_size) - gradient_float.head(input_size)).norm() <
        0.02 * gradient_float.head(input_size).norm());

  // Back to float: bit for bit the float pass again.
  net.set_matmul_precision(mam::MatmulPrecision::float32);
  CHECK(net(codes) == in_float);
}

TEST_CASE("bfloat16 weights are packed once per version of the parameters", "[nn][bf16]") {
  if (!mam::amx_bf16_available()) return;  // the refusal is checked above
  Rng init(7);
  mam::ResidualMLP<float> net({12, 3, 64, 3, 36}, init);
  net.set_matmul_precision(mam::MatmulPrecision::bfloat16);
  Rng rng(8);
  mam::CodeMatrix codes(12, 10);
  for (Index c = 0; c < codes.cols(); ++c)
    for (Index i = 0; i < 12; ++i) codes(i, c) = static_cast<mam::Code>(rng.uniform_int(3)) - (i % 4 == 0);
  // What a network that never packed before gives for its current parameters.
  auto fresh = [&](const mam::ResidualMLP<float>& like) {
    mam::ResidualMLP<float> other(like.config());
    other.set_parameters(like.parameters());
    other.set_matmul_precision(mam::MatmulPrecision::bfloat16);
    return Matrix<float>(other(codes));
  };
  const Matrix<float> before = net(codes);
  CHECK(before == net(codes));  // the second pass reuses the first one's packing
  CHECK(before == fresh(net));

  net.parameters() *= 1.5f;  // every way of changing the parameters drops the old packing
  const Matrix<float> scaled = net(codes);
  CHECK(scaled != before);
  CHECK(scaled == fresh(net));
  net.set_parameters(net.parameters() * 0.5f);
  CHECK(net(codes) == fresh(net));
  net.initialize(rng);
  CHECK(net(codes) == fresh(net));
  const mam::ResidualMLP<float> copy = net;  // a copy keeps its own packing
  net.set_head_to_zero();
  CHECK(net(codes).isZero(0.0f));
  CHECK(copy(codes) == fresh(copy));
  CHECK(copy(codes) != net(codes));
}

TEST_CASE("chain rule and marginals of a model in bfloat16 stay within rounding of float", "[nn][bf16]") {
  if (!mam::amx_bf16_available()) return;  // the refusal is checked above
  Rng init(5);
  auto model = mam::make_residual_model<float>(24, 2, 64, 3, init);
  Rng rng(6);
  const mam::CodeMatrix x = mam::sample_ancestral(model, 32, rng);
  Rng orders_float(7), orders_bf16(7);
  const mam::Vector<double> chain_float = model.log_likelihood_chain(x, 1, orders_float);
  const mam::Vector<double> marginal_float = model.log_marginal(x);
  model.conditional().set_matmul_precision(mam::MatmulPrecision::bfloat16);
  model.marginal().set_matmul_precision(mam::MatmulPrecision::bfloat16);
  const mam::Vector<double> chain_bf16 = model.log_likelihood_chain(x, 1, orders_bf16);
  const mam::Vector<double> marginal_bf16 = model.log_marginal(x);
  // 24 conditionals of about 0.7 nats each, every logit off by ~1e-3 relative.
  CHECK((chain_float - chain_bf16).cwiseAbs().maxCoeff() < 0.05);
  CHECK((chain_float - chain_bf16).cwiseAbs().maxCoeff() > 0.0);
  CHECK((marginal_float - marginal_bf16).cwiseAbs().maxCoeff() < 0.05);
}
