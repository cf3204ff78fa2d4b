#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include <mam/core/error.hpp>
#include <mam/core/threads.hpp>
#include <mam/nn/float_gemm.hpp>

using mam::Index;
using mam::Matrix;

namespace {

// The product in double: the reference the float kernels are held to.
Matrix<double> exact_product(const Matrix<float>& a, const Matrix<float>& b) {
  return a.cast<double>() * b.cast<double>();
}

// Float sums of k terms of size |a||b| differ from the exact ones by about k eps |a||b|.
double float_tolerance(Index depth) { return 4.0 * (depth + 1) * 1.2e-7; }

double max_error(const Eigen::Ref<const Matrix<float>>& got, const Matrix<double>& want) {
  return got.rows() == 0 || got.cols() == 0 ? 0.0 : (got.cast<double>() - want).cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE("detail::multiply equals the exact product for every operand layout and edge size", "[nn][gemm]") {
  // Sizes around the kernel's 16 x 6 tiles, its 256-deep and 192-row blocks, the 16-column
  // switch between in-place and packed A, the 2-thread switch from a row to a column split
  // (96 columns), and the Eigen fallbacks (vectors, empty depth).
  const std::vector<Index> rows = {1, 15, 16, 17, 40, 193, 401};
  const std::vector<Index> cols = {1, 5, 6, 7, 16, 17, 48, 130};
  const std::vector<Index> depths = {0, 1, 7, 8, 255, 257, 520};
  const int threads = GENERATE(1, 2);
  mam::set_num_threads(threads);
  for (Index m : rows)
    for (Index n : cols)
      for (Index k : depths) {
        INFO("m " << m << ", n " << n << ", k " << k << ", threads " << threads);
        const Matrix<float> a = Matrix<float>::Random(m, k), b = Matrix<float>::Random(k, n);
        const Matrix<float> a_t = a.transpose(), b_t = b.transpose();
        const Matrix<float> start = Matrix<float>::Random(m, n);
        const Matrix<double> product = exact_product(a, b);
        const double tolerance = float_tolerance(k);

        Matrix<float> c = start;
        mam::detail::multiply(a, b, c, false);
        CHECK(max_error(c, product) <= tolerance);

        c = start;
        mam::detail::multiply(a_t.transpose(), b, c, true);  // W^T dy of a backward pass
        CHECK(max_error(c, product + start.cast<double>()) <= tolerance + 1e-6);

        c = start;
        mam::detail::multiply(a, b_t.transpose(), c, true);  // dy x^T of a weight gradient
        CHECK(max_error(c, product + start.cast<double>()) <= tolerance + 1e-6);

        // A packed once (the networks' kept weights), as W and as W^T: the same product.
        const mam::detail::PackedFloatLhs packed(a), packed_transposed(a_t.transpose());
        c = start;
        mam::detail::multiply(a, b, c, false, &packed);
        CHECK(max_error(c, product) <= tolerance);
        c = start;
        mam::detail::multiply(a_t.transpose(), b, c, true, &packed_transposed);
        CHECK(max_error(c, product + start.cast<double>()) <= tolerance + 1e-6);

        // Into a block of a larger matrix, both operands transposed: the rest stays untouched.
        Matrix<float> frame = Matrix<float>::Constant(m + 3, n + 2, 7.0f);
        mam::detail::multiply(a_t.transpose(), b_t.transpose(), frame.block(1, 2, m, n), false);
        CHECK(max_error(frame.block(1, 2, m, n), product) <= tolerance);
        frame.block(1, 2, m, n).setConstant(7.0f);
        CHECK((frame.array() == 7.0f).all());
      }
  mam::set_num_threads(1);
}

TEST_CASE("detail::multiply gives the same bits on 1 and 2 threads", "[nn][gemm][threads]") {
  // On the AVX2 kernel every element of C is summed in the same order however C is split
  // between threads. Eigen's kernels (AVX-512 builds, where the AVX2 one is left out) choose
  // their depth blocking by the thread count, so there the two agree to float rounding only.
  const bool same_bits = mam::detail::packed_float_products();
  INFO((same_bits ? "the AVX2 kernel" : "Eigen's kernels"));
  for (auto [m, n, k] : {std::tuple<Index, Index, Index>{512, 300, 300}, {700, 20, 512}, {64, 1000, 40}}) {
    const Matrix<float> a = Matrix<float>::Random(m, k), b = Matrix<float>::Random(k, n);
    Matrix<float> one(m, n), two(m, n);
    mam::set_num_threads(1);
    mam::detail::multiply(a, b, one, false);
    mam::set_num_threads(2);
    mam::detail::multiply(a, b, two, false);
    mam::set_num_threads(1);
    if (same_bits)
      CHECK((one.array() == two.array()).all());
    else
      CHECK(max_error(two, one.cast<double>()) <= 2.0 * float_tolerance(k));
    CHECK(max_error(two, exact_product(a, b)) <= float_tolerance(k));
  }
}

TEST_CASE("a packed left operand gives the bits of the product that packs it itself", "[nn][gemm][threads]") {
  // The kernel reads the same panels in the same order either way, in place (16 columns or
  // fewer) or packed, on a row split (few columns) or a column split between threads.
  for (auto [m, n, k] : {std::tuple<Index, Index, Index>{512, 16, 512}, {512, 17, 512}, {200, 130, 300}, {33, 7, 9}}) {
    INFO("m " << m << ", n " << n << ", k " << k);
    const Matrix<float> a = Matrix<float>::Random(m, k), b = Matrix<float>::Random(k, n);
    const mam::detail::PackedFloatLhs packed(a);
    for (int threads : {1, 2}) {
      mam::set_num_threads(threads);
      Matrix<float> plain(m, n), from_packed(m, n);
      mam::detail::multiply(a, b, plain, false);
      mam::detail::multiply(a, b, from_packed, false, &packed);
      CHECK((plain.array() == from_packed.array()).all());
    }
  }
  mam::set_num_threads(1);
}

TEST_CASE("detail::multiply refuses operands whose shapes do not chain", "[nn][gemm]") {
  const Matrix<float> a = Matrix<float>::Random(20, 30), b = Matrix<float>::Random(31, 10);
  Matrix<float> c(20, 10);
  CHECK_THROWS_AS(mam::detail::multiply(a, b, c, false), mam::shape_error);
  const Matrix<float> fits = Matrix<float>::Random(30, 10);
  Matrix<float> wrong(21, 10);
  CHECK_THROWS_AS(mam::detail::multiply(a, fits, wrong, false), mam::shape_error);
  CHECK_THROWS_WITH(mam::detail::multiply(a, fits, wrong, false),
                    Catch::Contains("mam::detail::multiply") && Catch::Contains("21 x 10 = 20 x 30 times 30 x 10"));
  // A packing of another matrix's shape.
  const Matrix<float> wider = Matrix<float>::Random(20, 31);
  const mam::detail::PackedFloatLhs other(wider);
  CHECK_THROWS_WITH(mam::detail::multiply(a, fits, c, false, &other),
                    Catch::Contains("lhs packed as 20 x 30") && Catch::Contains("20 x 31"));
}

TEST_CASE("detail::multiply in double is Eigen's product", "[nn][gemm]") {
  const Matrix<double> a = Matrix<double>::Random(37, 300), b = Matrix<double>::Random(300, 29);
  Matrix<double> c = Matrix<double>::Ones(37, 29);
  mam::detail::multiply(a, b, c, true);
  CHECK((c - (a * b + Matrix<double>::Ones(37, 29))).cwiseAbs().maxCoeff() <= 1e-12);
}
