#pragma once
// Float matrix products C = A B and C += A B for CPUs with AVX2 and FMA but without AVX-512
// in the build, where Eigen's own kernel runs at about two thirds of the machine's rate: on
// the project's AMD EPYC (AVX2 + FMA), mam_bench's hidden-layer product (H x H times
// H x batch) takes Eigen 1.3-1.8 times as long as this kernel, which is about as fast as
// OpenBLAS's. Builds with AVX-512 keep Eigen's kernels, which use the wider registers.
//
// The layout is the usual one of BLIS-style GEMM: B is packed in panels of 6 columns and A in
// panels of 16 rows, one KC-deep slice at a time, so the 16 x 6 micro-kernel streams both
// from contiguous memory and keeps its tile of C in 12 registers. Packing reads any strides,
// so transposed operands (W^T dy, dy x^T) cost no copies of their own. A weight matrix that
// many products share can be packed once ahead (PackedFloatLhs), in the same layout.

#include <algorithm>
#include <cstring>
#include <type_traits>

#include <Eigen/Core>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__AVX512F__)
#include <immintrin.h>
#define MAM_DETAIL_AVX2_GEMM_BUILD 1  // the platform can express the kernel; the CPU is checked at run time
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mam/core/error.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"

namespace mam {
namespace detail {

/// A float matrix seen through its strides: element (i, j) at data[i * row_stride + j * col_stride].
struct FloatOperand {
  const float* data = nullptr;
  Index rows = 0, cols = 0, row_stride = 1, col_stride = 1;

  const float* at(Index i, Index j) const { return data + i * row_stride + j * col_stride; }
};

template <class Expr>
constexpr bool has_direct_access() {
  return (Eigen::internal::traits<Expr>::Flags & Eigen::DirectAccessBit) != 0;
}

/// The strides of an Eigen float expression with direct access (a matrix, map, block, or the
/// transpose of one).
template <class Expr>
FloatOperand float_operand(const Eigen::MatrixBase<Expr>& expression) {
  const Expr& e = expression.derived();
  FloatOperand op;
  op.data = e.data();
  op.rows = e.rows();
  op.cols = e.cols();
  op.row_stride = Expr::IsRowMajor ? e.outerStride() : e.innerStride();
  op.col_stride = Expr::IsRowMajor ? e.innerStride() : e.outerStride();
  return op;
}

namespace gemm {

constexpr Index tile_rows = 16;   // MR: two 8-float registers of a column of C
constexpr Index tile_cols = 6;    // NR: 12 accumulators + 2 of A + 1 broadcast of the 16 registers
constexpr Index depth_block = 256;  // KC: a 16 x KC panel of A and a KC x 6 panel of B stay in L1
constexpr Index row_block = 192;    // MC: the packed MC x KC block of A stays in L2
constexpr Index in_place_columns = 16;

// Rows [row, row + rows) and depth [first, first + depth) of A into 16-row panels, each laid
// out step by step (16 floats per step), zero rows filling the last panel. Reads follow A's
// contiguous direction: a column-major A (the weights) one column of the block at a time,
// since 64-byte pieces a column apart (2 KiB at 512 rows) are what the prefetchers cannot
// follow.
inline void pack_a(const FloatOperand& a, Index row, Index rows, Index first, Index depth, float* out) {
  const Index full_panels = rows / tile_rows, tail = rows - full_panels * tile_rows;
  float* tail_panel = out + full_panels * tile_rows * depth;
  if (tail > 0) std::fill(tail_panel, tail_panel + tile_rows * depth, 0.0f);
  if (a.row_stride == 1) {
    for (Index p = 0; p < depth; ++p) {
      const float* source = a.at(row, first + p);
      // A fixed-size copy, which the compiler unrolls; a variable one became a slow "rep movs".
      for (Index panel = 0; panel < full_panels; ++panel)
        std::memcpy(out + (panel * depth + p) * tile_rows, source + panel * tile_rows, sizeof(float) * tile_rows);
      std::copy_n(source + full_panels * tile_rows, tail, tail_panel + p * tile_rows);
    }
    return;
  }
  // Rows strided (A is a transposed matrix): walk along each row, usually contiguous.
  for (Index r = 0; r < rows; ++r) {
    const float* source = a.at(row + r, first);
    float* panel = out + (r / tile_rows) * tile_rows * depth + r % tile_rows;
    for (Index p = 0; p < depth; ++p) panel[p * tile_rows] = source[p * a.col_stride];
  }
}

// Columns [column, column + columns) and depth [first, first + depth) of B into 6-column
// panels (6 floats per step), zero columns filling the last panel. A row-major B (x^T in
// dy x^T) is read along its rows, a column-major one along its columns.
inline void pack_b(const FloatOperand& b, Index column, Index columns, Index first, Index depth, float* out) {
  for (Index panel = 0; panel < columns; panel += tile_cols, out += tile_cols * depth) {
    const Index width = std::min(tile_cols, columns - panel);
    if (b.col_stride == 1 && b.row_stride != 1 && width == tile_cols) {
      for (Index p = 0; p < depth; ++p)
        std::memcpy(out + p * tile_cols, b.at(first + p, column + panel), sizeof(float) * tile_cols);
      continue;
    }
    for (Index j = 0; j < tile_cols; ++j) {
      if (j >= width) {
        for (Index p = 0; p < depth; ++p) out[p * tile_cols + j] = 0.0f;
        continue;
      }
      const float* source = b.at(first, column + panel + j);
      for (Index p = 0; p < depth; ++p) out[p * tile_cols + j] = source[p * b.row_stride];
    }
  }
}

// Rows rounded up to whole 16-row panels (the last one zero-filled).
constexpr Index panel_rows(Index rows) { return (rows + tile_rows - 1) / tile_rows * tile_rows; }

// The offset in a whole-matrix packing of A (see PackedFloatLhs) of the panel of rows from
// `row` (a multiple of 16) in the depth block that starts at `first`: the blocks before it
// hold `first` steps of every padded row, and this one `depth` steps per row.
constexpr Index packed_offset(Index padded_rows, Index first, Index depth, Index row) {
  return first * padded_rows + row * depth;
}

}  // namespace gemm

/// A left operand packed once, whole, in the layout the kernel packs A into: per 256-deep
/// block, 16-row panels laid out step by step. Products with it skip packing A, and the
/// threads of one product share it. The networks keep their weights packed this way while the
/// parameters stay the same: a walk multiplies by the same weights once per step, and a pass
/// over a few columns (a query) would otherwise spend as long packing as multiplying.
class PackedFloatLhs {
 public:
  PackedFloatLhs() = default;

  /// Packs `a`, a matrix or a view with direct access (any strides: W, or W^T).
  template <class Expr>
  explicit PackedFloatLhs(const Eigen::MatrixBase<Expr>& a) {
    const FloatOperand operand = float_operand(a);
    rows_ = operand.rows;
    cols_ = operand.cols;
    const Index padded_rows = gemm::panel_rows(rows_);
    data_.resize(padded_rows * cols_);
    for (Index first = 0; first < cols_; first += gemm::depth_block) {
      const Index depth = std::min(gemm::depth_block, cols_ - first);
      gemm::pack_a(operand, 0, rows_, first, depth, data_.data() + gemm::packed_offset(padded_rows, first, depth, 0));
    }
  }

  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  const float* data() const { return data_.data(); }

 private:
  Vector<float> data_;
  Index rows_ = 0, cols_ = 0;
};

#ifdef MAM_DETAIL_AVX2_GEMM_BUILD

/// Whether this CPU runs AVX2 and FMA instructions (and the OS saves their registers). Asked
/// once; the answer is a fact of the machine.
inline bool avx2_fma_available() {
  static const bool available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return available;
}

namespace gemm {

// One column of a tile: 16 floats = or += two registers. (A lambda would not inherit the
// kernel's target attribute.)
__attribute__((target("avx2,fma"))) inline void store_column(float* column, __m256 upper, __m256 lower,
                                                             bool accumulate) {
  if (accumulate) {
    upper = _mm256_add_ps(upper, _mm256_loadu_ps(column));
    lower = _mm256_add_ps(lower, _mm256_loadu_ps(column + 8));
  }
  _mm256_storeu_ps(column, upper);
  _mm256_storeu_ps(column + 8, lower);
}

// The 16 x 6 tile c (column stride ldc) = or += the product of a 16 x depth panel of A (16
// contiguous floats per step, `a_step` apart: 16 when packed, A's column stride when read in
// place) and a packed depth x 6 panel of B (6 floats per step).
__attribute__((target("avx2,fma"))) inline void micro_kernel(Index depth, const float* a, Index a_step,
                                                             const float* b, float* c, Index ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(),
         c11 = _mm256_setzero_ps(), c02 = _mm256_setzero_ps(), c12 = _mm256_setzero_ps(),
         c03 = _mm256_setzero_ps(), c13 = _mm256_setzero_ps(), c04 = _mm256_setzero_ps(),
         c14 = _mm256_setzero_ps(), c05 = _mm256_setzero_ps(), c15 = _mm256_setzero_ps();
  for (Index p = 0; p < depth; ++p, a += a_step, b += tile_cols) {
    const __m256 a0 = _mm256_loadu_ps(a), a1 = _mm256_loadu_ps(a + 8);
    __m256 s = _mm256_broadcast_ss(b);
    c00 = _mm256_fmadd_ps(a0, s, c00), c10 = _mm256_fmadd_ps(a1, s, c10);
    s = _mm256_broadcast_ss(b + 1);
    c01 = _mm256_fmadd_ps(a0, s, c01), c11 = _mm256_fmadd_ps(a1, s, c11);
    s = _mm256_broadcast_ss(b + 2);
    c02 = _mm256_fmadd_ps(a0, s, c02), c12 = _mm256_fmadd_ps(a1, s, c12);
    s = _mm256_broadcast_ss(b + 3);
    c03 = _mm256_fmadd_ps(a0, s, c03), c13 = _mm256_fmadd_ps(a1, s, c13);
    s = _mm256_broadcast_ss(b + 4);
    c04 = _mm256_fmadd_ps(a0, s, c04), c14 = _mm256_fmadd_ps(a1, s, c14);
    s = _mm256_broadcast_ss(b + 5);
    c05 = _mm256_fmadd_ps(a0, s, c05), c15 = _mm256_fmadd_ps(a1, s, c15);
  }
  store_column(c, c00, c10, accumulate);
  store_column(c + ldc, c01, c11, accumulate);
  store_column(c + 2 * ldc, c02, c12, accumulate);
  store_column(c + 3 * ldc, c03, c13, accumulate);
  store_column(c + 4 * ldc, c04, c14, accumulate);
  store_column(c + 5 * ldc, c05, c15, accumulate);
}

// C[rows r0.., columns c0..] (+)= A[r0.., :] B[:, c0..] for one thread's share of C. With
// `prepacked` (A packed whole, r0 a multiple of 16) A is read from there and never packed.
inline void multiply_share(const FloatOperand& a, const FloatOperand& b, float* c, Index ldc, Index r0,
                           Index rows, Index c0, Index columns, bool accumulate,
                           const float* prepacked = nullptr) {
  const Index depth_total = a.cols, padded_rows = panel_rows(a.rows);
  // With very few columns each panel of A is used by few tiles, so packing it costs about
  // what it saves; a column-major A is then read where it lies. Read in place, a 16-row strip
  // of a 512-row matrix sits in 2 KiB-apart pieces that share two L1 sets, so from 17 columns
  // on the packed copy wins (a 512 x 512 product of 32 columns: about 50 against 36-42
  // GFLOP/s on one core of the project's AMD EPYC).
  const bool in_place = prepacked == nullptr && a.row_stride == 1 && columns <= in_place_columns;
  const Index panel_columns = (columns + tile_cols - 1) / tile_cols * tile_cols;
  // Eigen vectors: aligned for the kernel's loads, and not zero-filled like std::vector.
  Vector<float> packed_b(panel_columns * std::min(depth_block, depth_total));
  Vector<float> packed_a(prepacked != nullptr ? 0
                                               : std::min(row_block, panel_rows(rows)) *
                                                     std::min(depth_block, depth_total));
  alignas(32) float edge[tile_rows * tile_cols];
  for (Index first = 0; first < depth_total; first += depth_block) {
    const Index depth = std::min(depth_block, depth_total - first);
    const bool add = accumulate || first > 0;
    pack_b(b, c0, columns, first, depth, packed_b.data());
    for (Index block = 0; block < rows; block += row_block) {
      const Index height = std::min(row_block, rows - block);
      const Index full_rows = height / tile_rows * tile_rows;
      const float* a_block =
          prepacked != nullptr ? prepacked + packed_offset(padded_rows, first, depth, r0 + block) : packed_a.data();
      if (prepacked == nullptr && !in_place)
        pack_a(a, r0 + block, height, first, depth, packed_a.data());
      else if (prepacked == nullptr && full_rows < height)  // in place but for the last rows, fewer than a panel
        pack_a(a, r0 + block + full_rows, height - full_rows, first, depth, packed_a.data());
      for (Index j = 0; j < columns; j += tile_cols) {
        const float* b_panel = packed_b.data() + j * depth;
        const Index width = std::min(tile_cols, columns - j);
        for (Index i = 0; i < height; i += tile_rows) {
          const Index tile_height = std::min(tile_rows, height - i);
          const float* a_panel = a_block + i * depth;
          Index a_step = tile_rows;
          if (in_place && tile_height == tile_rows) {
            a_panel = a.at(r0 + block + i, first);
            a_step = a.col_stride;
          } else if (in_place) {  // the last rows of A, packed above with zero rows
            a_panel = packed_a.data();
          }
          float* tile = c + (r0 + block + i) + (c0 + j) * ldc;
          if (tile_height == tile_rows && width == tile_cols) {
            micro_kernel(depth, a_panel, a_step, b_panel, tile, ldc, add);
            continue;
          }
          // An edge tile goes through a full-size buffer.
          micro_kernel(depth, a_panel, a_step, b_panel, edge, tile_rows, false);
          for (Index jj = 0; jj < width; ++jj)
            for (Index ii = 0; ii < tile_height; ++ii)
              tile[ii + jj * ldc] = (add ? tile[ii + jj * ldc] : 0.0f) + edge[ii + jj * tile_rows];
        }
      }
    }
  }
}

}  // namespace gemm

/// C (rows x cols, column-major with leading dimension ldc) = A B, or += A B with `accumulate`.
/// Splits C between the threads of mam::num_threads(): by columns when there are enough of
/// them, by rows otherwise (the few-column products of order walks).
/// `prepacked` is A packed whole (PackedFloatLhs::data()), or null to pack A here.
inline void avx2_gemm(const FloatOperand& a, const FloatOperand& b, float* c, Index ldc, bool accumulate,
                      const float* prepacked = nullptr) {
  using namespace gemm;
  const Index m = a.rows, n = b.cols;
  if (m == 0 || n == 0) return;
  if (a.cols == 0) {
    if (!accumulate)
      for (Index j = 0; j < n; ++j) std::fill(c + j * ldc, c + j * ldc + m, 0.0f);
    return;
  }
  int threads = 1;
#ifdef _OPENMP
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(a.cols);
  if (!omp_in_parallel() && work >= 64.0 * parallel_work_threshold) threads = num_threads();
#endif
  const bool by_columns = n >= threads * 8 * tile_cols;
  const Index unit = by_columns ? tile_cols : tile_rows, extent = by_columns ? n : m;
  const Index units = (extent + unit - 1) / unit;
  threads = static_cast<int>(std::min<Index>(threads, units));
  if (threads <= 1) return multiply_share(a, b, c, ldc, 0, m, 0, n, accumulate, prepacked);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    const Index begin = units * t / threads * unit, end = std::min(extent, units * (t + 1) / threads * unit);
    if (by_columns)
      multiply_share(a, b, c, ldc, 0, m, begin, end - begin, accumulate, prepacked);
    else
      multiply_share(a, b, c, ldc, begin, end - begin, 0, n, accumulate, prepacked);
  }
#endif
}

#endif  // MAM_DETAIL_AVX2_GEMM_BUILD

/// Whether float products run on the kernel that reads a PackedFloatLhs (so that keeping
/// one is worth its memory).
inline bool packed_float_products() {
#ifdef MAM_DETAIL_AVX2_GEMM_BUILD
  return avx2_fma_available();
#else
  return false;
#endif
}

/// dest = lhs * rhs, or dest += lhs * rhs with `accumulate`: the library's one entry point for
/// the networks' large products. Float products with directly addressable operands run on the
/// AVX2 kernel where it is available and the product is large enough to pay for packing;
/// everything else (double, small or vector products, AVX-512 builds) is Eigen's.
/// `packed_lhs`, when given, is lhs packed by PackedFloatLhs; the kernel then reads it instead
/// of packing lhs (the other paths read lhs itself).
template <class Lhs, class Rhs, class Dest>
void multiply(const Eigen::MatrixBase<Lhs>& lhs, const Eigen::MatrixBase<Rhs>& rhs, Dest&& dest, bool accumulate,
              const PackedFloatLhs* packed_lhs = nullptr) {
  if (lhs.cols() != rhs.rows() || dest.rows() != lhs.rows() || dest.cols() != rhs.cols())
    fail<shape_error>("mam::detail::multiply", "C (m x n) = A (m x k) B (k x n)",
                      concat(dest.rows(), " x ", dest.cols(), " = ", lhs.rows(), " x ", lhs.cols(), " times ",
                             rhs.rows(), " x ", rhs.cols()));
  if (packed_lhs != nullptr && (packed_lhs->rows() != lhs.rows() || packed_lhs->cols() != lhs.cols()))
    fail<shape_error>("mam::detail::multiply", concat("lhs packed as ", lhs.rows(), " x ", lhs.cols()),
                      concat(packed_lhs->rows(), " x ", packed_lhs->cols()));
#ifdef MAM_DETAIL_AVX2_GEMM_BUILD
  using D = std::decay_t<Dest>;
  using Scalar = typename D::Scalar;
  if constexpr (std::is_same<Scalar, float>::value && std::is_same<typename Lhs::Scalar, float>::value &&
                std::is_same<typename Rhs::Scalar, float>::value && has_direct_access<Lhs>() &&
                has_direct_access<Rhs>() && has_direct_access<D>() && !D::IsRowMajor) {
    const bool large = lhs.rows() >= gemm::tile_rows && rhs.cols() >= gemm::tile_cols && lhs.cols() >= 8;
    if (large && dest.innerStride() == 1 && avx2_fma_available()) {
      return avx2_gemm(float_operand(lhs), float_operand(rhs), dest.data(), dest.outerStride(), accumulate,
                       packed_lhs != nullptr ? packed_lhs->data() : nullptr);
    }
  }
#endif
  if (accumulate)
    dest.noalias() += lhs.derived() * rhs.derived();
  else
    dest.noalias() = lhs.derived() * rhs.derived();
}

}  // namespace detail
}  // namespace mam
