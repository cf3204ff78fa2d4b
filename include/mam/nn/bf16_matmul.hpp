#pragma once
// Matrix products y = A x with A and x rounded to bfloat16 and the sums kept in float, on the
// AMX tile units of recent Intel CPUs (Sapphire Rapids and later). On the project machine a
// tile product runs at about 7x the float GEMM's rate; rounding the inputs to 8 significant
// bits changes a product by about 1e-3 relative, which is why it is an option
// (MatmulPrecision::bfloat16) and never the default.
//
// A is packed once (Bf16PackedMatrix) and then used for many products: a network packs its
// weights when a pass starts and reuses them for every step of an order walk.
//
// Tile formulation (Intel's TDPBF16PS): C (16 x 16 float) += L (16 x 32 bf16) * R, where R
// holds 16 pairs of rows, each pair interleaved ("VNNI" layout). We compute y^T = x^T A^T:
// L's rows are columns of x (contiguous in column-major x), R is a 32 x 16 slab of A^T,
// packed ahead of time, and C's rows are columns of y, so tiles load and store directly in
// Eigen's column-major layout.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define MAM_DETAIL_AMX_BUILD 1  // the platform can express tile code; the CPU is checked at run time
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mam/core/error.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/matmul_precision.hpp"

namespace mam {

namespace detail {

/// Round-to-nearest-even float -> bfloat16 (the upper 16 bits), NaN kept a (quiet) NaN.
/// Branch-free, so that loops over it vectorize.
inline std::uint16_t to_bfloat16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const std::uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  const std::uint32_t quiet_nan = (bits >> 16) | 0x0040u;
  return static_cast<std::uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

inline float from_bfloat16(std::uint16_t value) {
  const std::uint32_t bits = static_cast<std::uint32_t>(value) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

inline Index round_up(Index value, Index multiple) { return (value + multiple - 1) / multiple * multiple; }

#ifdef MAM_DETAIL_AMX_BUILD
inline bool probe_amx_bf16() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool amx_bf16 = (edx >> 22) & 1u, amx_tile = (edx >> 24) & 1u;
  if (!amx_bf16 || !amx_tile) return false;
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  if (!((eax >> 5) & 1u)) return false;  // AVX512-BF16, for packing
  // Linux hands out the 8 KiB of tile registers only to processes that ask
  // (ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); the permission covers every thread.
  constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
  return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
}
#endif

}  // namespace detail

/// Whether this process can run bfloat16 tile products: the CPU has AMX-TILE, AMX-BF16 and
/// AVX512-BF16 and the kernel granted the tile registers. Asked once; the answer is a fact
/// of the machine.
inline bool amx_bf16_available() {
#ifdef MAM_DETAIL_AMX_BUILD
  static const bool available = detail::probe_amx_bf16();
  return available;
#else
  return false;
#endif
}

namespace detail {

/// One 64-byte line of a packed matrix: 16 rows of two columns, (first[i], second[i]) for
/// i = 0..15, each rounded to bfloat16.
inline void interleave_line_portable(const float* first, const float* second, std::uint16_t* line) {
  for (int i = 0; i < 16; ++i) {
    line[2 * i] = to_bfloat16(first[i]);
    line[2 * i + 1] = to_bfloat16(second[i]);
  }
}

#ifdef MAM_DETAIL_AMX_BUILD
// The same with AVX512-BF16 (every AMX CPU has it): two conversions and one shuffle. The
// instruction treats subnormal inputs as zero, which the portable version does not.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline void interleave_line_avx512(const float* first,
                                                                                            const float* second,
                                                                                            std::uint16_t* line) {
  const __m512i pairs = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i both = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_loadu_ps(second), _mm512_loadu_ps(first)));
  _mm512_storeu_si512(line, _mm512_permutexvar_epi16(pairs, both));
}
#endif

inline void interleave_line(const float* first, const float* second, std::uint16_t* line) {
#ifdef MAM_DETAIL_AMX_BUILD
  if (amx_bf16_available()) return interleave_line_avx512(first, second, line);
#endif
  interleave_line_portable(first, second, line);
}

/// One line from 16 columns `stride` floats apart: (pair[0], pair[1]) of each, in order.
inline void gather_line_portable(const float* pair, Index stride, std::uint16_t* line) {
  for (int i = 0; i < 16; ++i) {
    line[2 * i] = to_bfloat16(pair[i * stride]);
    line[2 * i + 1] = to_bfloat16(pair[i * stride + 1]);
  }
}

#ifdef MAM_DETAIL_AMX_BUILD
// Each pair is 8 bytes: two gathers of 8 pairs, one conversion, already in line order.
__attribute__((target("avx512f,avx512bf16"))) inline void gather_line_avx512(const float* pair, Index stride,
                                                                              std::uint16_t* line) {
  const long long bytes = static_cast<long long>(stride) * 4;
  const __m512i offsets = _mm512_set_epi64(7 * bytes, 6 * bytes, 5 * bytes, 4 * bytes, 3 * bytes, 2 * bytes, bytes, 0);
  const __m512d low = _mm512_i64gather_pd(offsets, pair, 1);
  const __m512d high = _mm512_i64gather_pd(offsets, pair + 8 * stride, 1);
  const __m512bh both = _mm512_cvtne2ps_pbh(_mm512_castpd_ps(high), _mm512_castpd_ps(low));
  _mm512_storeu_si512(line, reinterpret_cast<__m512i>(both));
}
#endif

inline void gather_line(const float* pair, Index stride, std::uint16_t* line) {
#ifdef MAM_DETAIL_AMX_BUILD
  if (amx_bf16_available()) return gather_line_avx512(pair, stride, line);
#endif
  gather_line_portable(pair, stride, line);
}

#ifdef MAM_DETAIL_AMX_BUILD
__attribute__((target("avx512f,avx512bf16"))) inline void convert_avx512(const float* in, Index count,
                                                                          std::uint16_t* out) {
  Index i = 0;
  for (; i + 16 <= count; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(in + i))));
  for (; i < count; ++i) out[i] = to_bfloat16(in[i]);
}

__attribute__((target("avx512f,avx512bf16"))) inline void gather_sixteen_avx512(const float* in, Index stride,
                                                                                 std::uint16_t* out) {
  const __m512i offsets = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32(static_cast<int>(stride)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_i32gather_ps(offsets, in, 4))));
}
#endif

/// out[i] = bfloat16(in[i]) for i < count.
inline void convert(const float* in, Index count, std::uint16_t* out) {
#ifdef MAM_DETAIL_AMX_BUILD
  if (amx_bf16_available()) return convert_avx512(in, count, out);
#endif
  for (Index i = 0; i < count; ++i) out[i] = to_bfloat16(in[i]);
}

/// out[c] = bfloat16(in[c * stride]) for c < count (at most 16; the gather needs
/// 16 * stride to fit an int).
inline void convert_strided(const float* in, Index stride, Index count, std::uint16_t* out) {
#ifdef MAM_DETAIL_AMX_BUILD
  if (count == 16 && 16 * stride <= std::numeric_limits<int>::max() && amx_bf16_available())
    return gather_sixteen_avx512(in, stride, out);
#endif
  for (Index c = 0; c < count; ++c) out[c] = to_bfloat16(in[c * stride]);
}

/// std::allocator whose value-initialization leaves the element unwritten, so that growing a
/// vector of packed bfloat16 values does not first fill it with zeros on one thread: every
/// pack writes each element and zeroes the padding itself.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}

  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible<U>::value) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// bfloat16 storage that grows without zeroing (see UninitializedAllocator).
using Bf16Storage = std::vector<std::uint16_t, UninitializedAllocator<std::uint16_t>>;

}  // namespace detail

/// A float matrix A (rows x cols) rounded to bfloat16 and laid out for y = A x on AMX tiles:
/// row blocks of 32 (two tiles), and within a block pairs of columns interleaved per row, so
/// that the 16 x 32 slab of A^T one tile needs is 1 KiB of contiguous memory. Padding rows and
/// columns are zero.
class Bf16PackedMatrix {
 public:
  static constexpr Index row_block = 32, column_block = 32;

  Bf16PackedMatrix() = default;

  /// Packs `a`, or its transpose with `transposed` (for products with A^T).
  void pack(const Eigen::Ref<const Matrix<float>>& a, bool transposed = false) {
    if (transposed)
      pack_rows(a);
    else
      pack_columns(a);
  }

  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  Index padded_rows() const { return padded_rows_; }
  Index padded_cols() const { return padded_cols_; }
  bool empty() const { return data_.empty(); }

  /// Element (row, col) as a float (for tests).
  float operator()(Index row, Index col) const {
    return detail::from_bfloat16(data_[static_cast<std::size_t>(offset(row, col))]);
  }

  /// The 1 KiB tile of rows first_row .. first_row+15 (a multiple of 16) and columns
  /// first_col .. first_col+31 (a multiple of 32): 16 lines of 64 bytes.
  const std::uint16_t* tile(Index first_row, Index first_col) const {
    return data_.data() + offset(first_row, first_col);
  }

 private:
  // Row r sits in 16-row group r/16; within it, column pair c/2 is one 64-byte line holding
  // (A(r, c), A(r, c+1)) for the 16 rows of the group.
  Index offset(Index row, Index col) const {
    return ((row / 16) * (padded_cols_ / 2) + col / 2) * 32 + (row % 16) * 2 + col % 2;
  }

  void resize(Index rows, Index cols) {
    rows_ = rows;
    cols_ = cols;
    padded_rows_ = detail::round_up(rows_, row_block);
    padded_cols_ = detail::round_up(cols_, column_block);
    data_.resize(static_cast<std::size_t>(padded_rows_ * padded_cols_));
    // Only the padding must be zero (the rest is written by every pack): the rows past
    // rows_ in every column, then the columns past cols_ in the real rows.
    for (Index c = 0; c < padded_cols_; ++c)
      for (Index r = rows_; r < padded_rows_; ++r) data_[static_cast<std::size_t>(offset(r, c))] = 0;
    for (Index c = cols_; c < padded_cols_; ++c)
      for (Index r = 0; r < rows_; ++r) data_[static_cast<std::size_t>(offset(r, c))] = 0;
  }

  // A itself: a line takes 16 consecutive rows of two columns of a.
  void pack_columns(const Eigen::Ref<const Matrix<float>>& a) {
    resize(a.rows(), a.cols());
    const Index full_groups = rows_ / 16, full_pairs = cols_ / 2;
    auto at = [&](Index r, Index c) { return a.data() + c * a.outerStride() + r; };
#pragma omp parallel for schedule(static) if (a.size() >= detail::parallel_work_threshold)
    for (Index g = 0; g < full_groups; ++g)
      for (Index p = 0; p < full_pairs; ++p)
        detail::interleave_line(at(16 * g, 2 * p), at(16 * g, 2 * p + 1), data_.data() + offset(16 * g, 2 * p));
    // The ragged last rows and the odd last column, one element at a time.
    for (Index c = 0; c < cols_; ++c)
      for (Index r = c < 2 * full_pairs ? 16 * full_groups : 0; r < rows_; ++r)
        data_[static_cast<std::size_t>(offset(r, c))] = detail::to_bfloat16(a(r, c));
  }

  // A = a^T: a line takes, from 16 consecutive columns of a, the same two consecutive rows,
  // which are already the interleaved pairs the line needs.
  void pack_rows(const Eigen::Ref<const Matrix<float>>& a) {
    resize(a.cols(), a.rows());
    const Index full_groups = rows_ / 16, full_pairs = cols_ / 2;
#pragma omp parallel for schedule(static) if (a.size() >= detail::parallel_work_threshold)
    for (Index g = 0; g < full_groups; ++g)
      for (Index p = 0; p < full_pairs; ++p)
        detail::gather_line(a.data() + (16 * g) * a.outerStride() + 2 * p, a.outerStride(),
                            data_.data() + offset(16 * g, 2 * p));
    for (Index c = 0; c < cols_; ++c)
      for (Index r = c < 2 * full_pairs ? 16 * full_groups : 0; r < rows_; ++r)
        data_[static_cast<std::size_t>(offset(r, c))] = detail::to_bfloat16(a(c, r));
  }

  Index rows_ = 0, cols_ = 0, padded_rows_ = 0, padded_cols_ = 0;
  detail::Bf16Storage data_;
};

/// x rounded to bfloat16, column-major with its rows padded to a multiple of 32 and its
/// columns to a multiple of 16 (zeros): the left tiles of y^T = x^T A^T. Reused between
/// products so that steady-state passes allocate nothing.
struct Bf16Operand {
  detail::Bf16Storage data;
  Index rows = 0, cols = 0, padded_rows = 0, padded_cols = 0;

  void assign(const Eigen::Ref<const Matrix<float>>& x) {
    resize(x.rows(), x.cols());
#pragma omp parallel for schedule(static) if (x.size() >= detail::parallel_work_threshold)
    for (Index c = 0; c < cols; ++c) detail::convert(x.data() + c * x.outerStride(), rows, data.data() + c * padded_rows);
  }

  /// x^T as the operand, without a float copy of the transpose.
  void assign_transposed(const Eigen::Ref<const Matrix<float>>& x) {
    resize(x.cols(), x.rows());
    // Row r of x becomes column r of the operand. Sixteen columns of x at a time: sixteen
    // sequential read streams and one contiguous 32-byte write per row.
    const Index blocks = (x.cols() + 15) / 16;
#pragma omp parallel for schedule(static) if (x.size() >= detail::parallel_work_threshold)
    for (Index b = 0; b < blocks; ++b) {
      const Index first = 16 * b, width = std::min<Index>(16, x.cols() - first);
      const float* in = x.data() + first * x.outerStride();
      for (Index r = 0; r < x.rows(); ++r)
        detail::convert_strided(in + r, x.outerStride(), width, data.data() + r * padded_rows + first);
    }
  }

 private:
  void resize(Index new_rows, Index new_cols) {
    rows = new_rows;
    cols = new_cols;
    padded_rows = detail::round_up(rows, Bf16PackedMatrix::column_block);
    padded_cols = detail::round_up(cols, 16);
    data.resize(static_cast<std::size_t>(padded_rows * padded_cols));
    // Only the padding must be zero (the rest is written by every assign): the tail of every
    // column, then the padding columns.
    for (Index c = 0; c < cols; ++c)
      std::fill(data.begin() + c * padded_rows + rows, data.begin() + (c + 1) * padded_rows, std::uint16_t{0});
    std::fill(data.begin() + cols * padded_rows, data.end(), std::uint16_t{0});
  }
};

namespace detail {

#ifdef MAM_DETAIL_AMX_BUILD
struct TileConfig {
  std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};
};

// One block of y: columns first_n.. (16 * NT of them) and rows first_m..first_m+31.
// Tiles 0..3 accumulate, 4..5 hold x^T, 6..7 hold A^T. Edge tiles go through `scratch`.
template <int NT>
__attribute__((target("amx-tile,amx-bf16"))) void amx_block(const Bf16PackedMatrix& a, const Bf16Operand& x,
                                                             float* y, Index ldy, Index first_m, Index first_n,
                                                             bool accumulate, float* scratch) {
  const Index m_rows = a.rows(), n_cols = x.cols;
  const Index ldx_bytes = x.padded_rows * 2;
  // Whether tile (i, j) lies wholly inside y: then it loads and stores in place.
  auto inside = [&](int i, int j) { return first_n + 16 * (i + 1) <= n_cols && first_m + 16 * (j + 1) <= m_rows; };
  auto y_tile = [&](int i, int j) { return y + (first_n + 16 * i) * ldy + first_m + 16 * j; };
  auto to_scratch = [&](int i, int j) {  // y's part of tile (i, j) into scratch(16 x 16), zeros around it
    float* s = scratch + (i * 2 + j) * 256;
    std::fill(s, s + 256, 0.0f);
    for (Index n = 0; n < 16 && first_n + 16 * i + n < n_cols; ++n)
      for (Index m = 0; m < 16 && first_m + 16 * j + m < m_rows; ++m) s[n * 16 + m] = y_tile(i, j)[n * ldy + m];
  };
  auto from_scratch = [&](int i, int j) {
    const float* s = scratch + (i * 2 + j) * 256;
    for (Index n = 0; n < 16 && first_n + 16 * i + n < n_cols; ++n)
      for (Index m = 0; m < 16 && first_m + 16 * j + m < m_rows; ++m) y_tile(i, j)[n * ldy + m] = s[n * 16 + m];
  };
  const long ldy_bytes = static_cast<long>(ldy * 4);
  // Tile registers are named by immediates, hence the spelled-out cases.
#define MAM_DETAIL_TILE_IN(t, i, j)                                                         \
  if (!accumulate)                                                                          \
    _tile_zero(t);                                                                          \
  else if (inside(i, j))                                                                    \
    _tile_loadd(t, y_tile(i, j), ldy_bytes);                                                \
  else {                                                                                    \
    to_scratch(i, j);                                                                       \
    _tile_loadd(t, scratch + ((i) * 2 + (j)) * 256, 64);                                    \
  }
#define MAM_DETAIL_TILE_OUT(t, i, j)                                                        \
  if (inside(i, j))                                                                         \
    _tile_stored(t, y_tile(i, j), ldy_bytes);                                               \
  else {                                                                                    \
    _tile_stored(t, scratch + ((i) * 2 + (j)) * 256, 64);                                   \
    from_scratch(i, j);                                                                     \
  }
  MAM_DETAIL_TILE_IN(0, 0, 0)
  MAM_DETAIL_TILE_IN(1, 0, 1)
  if (NT == 2) {
    MAM_DETAIL_TILE_IN(2, 1, 0)
    MAM_DETAIL_TILE_IN(3, 1, 1)
  }
  const std::uint16_t* x0 = x.data.data() + first_n * x.padded_rows;
  const std::uint16_t* x1 = x0 + 16 * x.padded_rows;
  for (Index k = 0; k < a.padded_cols(); k += 32) {
    _tile_loadd(6, a.tile(first_m, k), 64);
    _tile_loadd(7, a.tile(first_m + 16, k), 64);
    _tile_loadd(4, x0 + k, ldx_bytes);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if (NT == 2) {
      _tile_loadd(5, x1 + k, ldx_bytes);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  MAM_DETAIL_TILE_OUT(0, 0, 0)
  MAM_DETAIL_TILE_OUT(1, 0, 1)
  if (NT == 2) {
    MAM_DETAIL_TILE_OUT(2, 1, 0)
    MAM_DETAIL_TILE_OUT(3, 1, 1)
  }
#undef MAM_DETAIL_TILE_IN
#undef MAM_DETAIL_TILE_OUT
}

__attribute__((target("amx-tile,amx-bf16"))) inline void amx_product(const Bf16PackedMatrix& a, const Bf16Operand& x,
                                                                     float* y, Index ldy, bool accumulate) {
  const Index m_blocks = a.padded_rows() / 32, n_blocks = (x.padded_cols + 31) / 32;
  const Index work = a.padded_rows() * a.padded_cols() * x.padded_cols;
#pragma omp parallel if (work >= 64 * detail::parallel_work_threshold)
  {
    TileConfig config;
    for (int t = 0; t < 8; ++t) {
      config.rows[t] = 16;
      config.bytes_per_row[t] = 64;
    }
    _tile_loadconfig(&config);
    alignas(64) float scratch[4 * 256];
#pragma omp for schedule(static) collapse(2)
    for (Index mb = 0; mb < m_blocks; ++mb)
      for (Index nb = 0; nb < n_blocks; ++nb) {
        const Index first_n = nb * 32;
        if (first_n + 16 < x.padded_cols)
          amx_block<2>(a, x, y, ldy, mb * 32, first_n, accumulate, scratch);
        else
          amx_block<1>(a, x, y, ldy, mb * 32, first_n, accumulate, scratch);
      }
    _tile_release();
  }
}
#endif

}  // namespace detail

namespace detail {

inline void require_bf16_product(const Bf16PackedMatrix& a, const Bf16Operand& x, const char* function) {
  require<error>(amx_bf16_available(), function, "a CPU with AMX-BF16 (and Linux's permission to use it)", "none");
  require<shape_error>(!a.empty() && x.rows == a.cols(), function, concat("x with ", a.cols(), " rows"), x.rows);
}

inline void run_bf16_product(const Bf16PackedMatrix& a, const Bf16Operand& x, float* y, Index ldy, bool accumulate) {
  if (x.cols == 0) return;
#ifdef MAM_DETAIL_AMX_BUILD
  amx_product(a, x, y, ldy, accumulate);
#else
  (void)a, (void)y, (void)ldy, (void)accumulate;  // unreachable: require_bf16_product refused
#endif
}

}  // namespace detail

/// y = A x for an operand prepared by Bf16Operand::assign (or assign_transposed: then y =
/// A x^T). Needs amx_bf16_available().
inline void multiply_bf16(const Bf16PackedMatrix& a, const Bf16Operand& x, Matrix<float>& y) {
  detail::require_bf16_product(a, x, "mam::multiply_bf16");
  y.resize(a.rows(), x.cols);
  detail::run_bf16_product(a, x, y.data(), y.rows(), false);
}

/// y += A x, y already rows(A) x cols(x) (any outer stride: a block of a larger matrix).
inline void multiply_add_bf16(const Bf16PackedMatrix& a, const Bf16Operand& x, Eigen::Ref<Matrix<float>> y) {
  const char* function = "mam::multiply_add_bf16";
  detail::require_bf16_product(a, x, function);
  detail::require<shape_error>(y.rows() == a.rows() && y.cols() == x.cols, function,
                               detail::concat("y of ", a.rows(), " x ", x.cols, " to add to"),
                               detail::concat(y.rows(), " x ", y.cols()));
  detail::run_bf16_product(a, x, y.data(), y.outerStride(), true);
}

/// y = A x with x rounded into `x_buffer` (kept for reuse between products).
inline void multiply_bf16(const Bf16PackedMatrix& a, const Eigen::Ref<const Matrix<float>>& x, Matrix<float>& y,
                          Bf16Operand& x_buffer) {
  x_buffer.assign(x);
  multiply_bf16(a, x_buffer, y);
}

}  // namespace mam
