#pragma once
// The input layer of a MaM network. A sample is D codes, each in 0..K-1 or `unknown`; its
// one-hot encoding has D*(K+1) entries, (K+1) per position with the last slot meaning '?'.
// Multiplying that sparse matrix densely costs O(D*(K+1)*H) per sample; here each sample
// instead sums the D weight columns its codes select (O(D*H)), and backward scatter-adds.
// The result equals W * one_hot(codes) + b exactly up to summation order.
//
// Storage: W (out x D*(K+1)) is kept as a vertical stack of row blocks of `block_rows`
// rows, each block column-major. A sample reads, in every block, a short contiguous piece
// of D columns; the block (D*(K+1) columns of block_rows values) is contiguous, so it stays
// in L1/L2 while the whole batch streams past it. With the plain column-major layout the
// column stride is out*sizeof(Scalar), usually a power of two, and the same pieces would
// fight over a handful of cache sets. dense_weight() gives the usual matrix.

#include <algorithm>
#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/float_gemm.hpp"
#include "mam/nn/init.hpp"

namespace mam {

/// Column of the one-hot encoding (and of the layer's weight) that code `code` at `position`
/// selects.
inline Index one_hot_column(Index position, Code code, Index num_values) {
  // Branch-free: in MaM batches '?' is a coin flip, and a mispredicted branch per entry
  // costs more than the rest of what the callers do with the entry.
  return position * (num_values + 1) + code + static_cast<Index>(code == unknown) * (num_values + 1);
}

/// Dense one-hot encoding, D*(K+1) x batch: for tests and for comparing with the gather.
template <class Scalar>
Matrix<Scalar> one_hot(const Eigen::Ref<const CodeMatrix>& codes, Index num_values) {
  validate_codes(codes, codes.rows(), num_values, "mam::one_hot");
  Matrix<Scalar> encoded = Matrix<Scalar>::Zero(codes.rows() * (num_values + 1), codes.cols());
  for (Index b = 0; b < codes.cols(); ++b)
    for (Index i = 0; i < codes.rows(); ++i)
      encoded(one_hot_column(i, codes(i, b), num_values), b) = Scalar(1);
  return encoded;
}

template <class Scalar>
class OneHotInput {
  static_assert(std::is_floating_point<Scalar>::value, "mam::OneHotInput needs float or double");

 public:
  using MatrixMap = Eigen::Map<Matrix<Scalar>>;
  using ConstMatrixMap = Eigen::Map<const Matrix<Scalar>>;
  using VectorMap = Eigen::Map<Vector<Scalar>>;
  using ConstVectorMap = Eigen::Map<const Vector<Scalar>>;

  /// Rows per storage block: two 64-byte cache lines of floats per column. The same for
  /// double, so that a parameter vector means the same weights in both precisions.
  static constexpr Index block_rows = 32;

  OneHotInput() = default;
  OneHotInput(Index num_variables, Index num_values, Index out_features, Index offset = 0)
      : d_(num_variables), k_(num_values), out_(out_features), offset_(offset) {
    detail::require<shape_error>(num_variables > 0 && num_values > 0 && out_features > 0,
                                 "mam::OneHotInput", "positive D, K and output width",
                                 detail::concat("D=", num_variables, " K=", num_values,
                                                " out=", out_features));
  }

  Index num_variables() const { return d_; }
  Index num_values() const { return k_; }
  Index in_features() const { return d_ * (k_ + 1); }
  Index out_features() const { return out_; }
  Index offset() const { return offset_; }
  Index num_parameters() const { return out_ * in_features() + out_; }
  Index num_blocks() const { return (out_ + block_rows - 1) / block_rows; }
  Index rows_in_block(Index block) const { return std::min(block_rows, out_ - block * block_rows); }

  /// Block `block` of W: rows [block * block_rows, + rows_in_block), all columns.
  ConstMatrixMap weight_block(const Vector<Scalar>& parameters, Index block) const {
    return ConstMatrixMap(parameters.data() + block_offset(block), rows_in_block(block), in_features());
  }
  MatrixMap weight_block(Vector<Scalar>& parameters, Index block) const {
    return MatrixMap(parameters.data() + block_offset(block), rows_in_block(block), in_features());
  }
  ConstVectorMap bias(const Vector<Scalar>& parameters) const {
    return ConstVectorMap(parameters.data() + offset_ + out_ * in_features(), out_);
  }
  VectorMap bias(Vector<Scalar>& parameters) const {
    return VectorMap(parameters.data() + offset_ + out_ * in_features(), out_);
  }

  /// W as an ordinary out x D*(K+1) matrix (a copy).
  Matrix<Scalar> dense_weight(const Vector<Scalar>& parameters) const {
    Matrix<Scalar> w(out_, in_features());
    for (Index block = 0; block < num_blocks(); ++block)
      w.middleRows(block * block_rows, rows_in_block(block)) = weight_block(parameters, block);
    return w;
  }

  /// Stores an ordinary out x D*(K+1) matrix as W.
  void set_dense_weight(Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& w) const {
    detail::require<shape_error>(w.rows() == out_ && w.cols() == in_features(),
                                 "mam::OneHotInput::set_dense_weight",
                                 detail::concat(out_, " x ", in_features()),
                                 detail::concat(w.rows(), " x ", w.cols()));
    for (Index block = 0; block < num_blocks(); ++block)
      weight_block(parameters, block) = w.middleRows(block * block_rows, rows_in_block(block));
  }

  /// Same distribution as nn.Linear(D*(K+1), out) in PyTorch.
  void initialize(Vector<Scalar>& parameters, Rng& rng) const {
    const double bound = linear_init_bound(in_features());
    for (Index block = 0; block < num_blocks(); ++block) {
      auto w = weight_block(parameters, block);
      fill_uniform(w, bound, rng);
    }
    auto b = bias(parameters);
    fill_uniform(b, bound, rng);
  }

  /// y = W one_hot(codes) + b (out x batch). Codes must already be validated.
  void forward(const Vector<Scalar>& parameters, const Eigen::Ref<const CodeMatrix>& codes,
               Matrix<Scalar>& y) const {
    const Index batch = codes.cols(), out_rows = out_;
    y.resize(out_rows, batch);
    const Scalar* b = parameters.data() + offset_ + out_ * in_features();
    const KnownEntries known = known_entries(codes);
    const Strategy strategy = choose_strategy(known);
    if (strategy == Strategy::difference_table) {
      // y = base + sum over known (i, k) of (w[:, (i, k)] - w[:, (i, ?)]),
      // with base = b + sum_i w[:, (i, ?)]: '?' entries cost nothing per sample.
#pragma omp parallel for schedule(static) if (batch * d_ * out_ >= detail::parallel_work_threshold)
      for (Index block = 0; block < num_blocks(); ++block) {
        const Index row = block * block_rows, rows = rows_in_block(block);
        const Scalar* w = parameters.data() + block_offset(block);
        Vector<Scalar> base = Eigen::Map<const Vector<Scalar>>(b + row, rows);
        Matrix<Scalar> difference(rows, in_features());
        for (Index i = 0; i < d_; ++i) {
          const Index first = i * (k_ + 1);
          const Eigen::Map<const Vector<Scalar>> unknown_column(w + (first + k_) * rows, rows);
          base += unknown_column;
          difference.middleCols(first, k_ + 1) =
              Eigen::Map<const Matrix<Scalar>>(w + first * rows, rows, k_ + 1).colwise() - unknown_column;
        }
        for (Index s = 0; s < batch; ++s) {
          const std::size_t first = known.start[static_cast<std::size_t>(s)];
          const auto count = static_cast<Index>(known.start[static_cast<std::size_t>(s + 1)] - first);
          accumulate(difference.data(), rows, base.data(), known.column.data() + first, count,
                     y.data() + s * out_rows + row);
        }
      }
      return;
    }
    const Index d = d_;
    const std::vector<Index> columns = selected_columns(codes);
    constexpr Index group = 4;
#pragma omp parallel for schedule(static) if (batch * d_ * out_ >= detail::parallel_work_threshold)
    for (Index block = 0; block < num_blocks(); ++block) {
      const Index row = block * block_rows, rows = rows_in_block(block);
      const Scalar* w = parameters.data() + block_offset(block);
      Index s = 0;
      if (rows == block_rows)
        for (; s + group <= batch; s += group)
          gather_group<block_rows, group>(w, b + row, columns.data() + s * d, d,
                                          y.data() + s * out_rows + row, out_rows);
      for (; s < batch; ++s)
        accumulate(w, rows, b + row, columns.data() + s * d, d, y.data() + s * out_rows + row);
    }
  }

  /// Changes the code of one position of one sample in an existing output y (as produced by
  /// forward): O(out) instead of a new O(D*out) gather. Chain-rule likelihoods and samplers
  /// reveal one position per step and use this.
  void update_position(const Vector<Scalar>& parameters, Index sample, Index position,
                       Code old_code, Code new_code, Matrix<Scalar>& y) const {
    if (old_code == new_code) return;
    const Index added = one_hot_column(position, new_code, k_);
    const Index removed = one_hot_column(position, old_code, k_);
    for (Index block = 0; block < num_blocks(); ++block) {
      const auto w = weight_block(parameters, block);
      y.col(sample).segment(block * block_rows, w.rows()) += w.col(added) - w.col(removed);
    }
  }

  /// Accumulates dL/dW (scatter-add of dy's columns) and dL/db into `gradient`.
  void backward(const Eigen::Ref<const CodeMatrix>& codes,
                const Eigen::Ref<const Matrix<Scalar>>& dy, Vector<Scalar>& gradient) const {
    const Index batch = codes.cols();
    const KnownEntries known = known_entries(codes);
    const Strategy strategy = choose_strategy(known);
    const std::vector<Index> columns =
        strategy == Strategy::all_columns ? selected_columns(codes) : std::vector<Index>{};
    // Blocks go to threads, so no two threads ever add into the same entry of dW.
#pragma omp parallel for schedule(static) if (batch * d_ * out_ >= detail::parallel_work_threshold)
    for (Index block = 0; block < num_blocks(); ++block) {
      const Index row = block * block_rows, rows = rows_in_block(block);
      Scalar* gw = gradient.data() + block_offset(block);
      if (strategy == Strategy::all_columns) {
        for (Index s = 0; s < batch; ++s)
          scatter(dy.data() + s * dy.outerStride() + row, rows, columns.data() + s * d_, d_, gw);
        continue;
      }
      // Known entries scatter into a cache-sized table; the '?' column of position i gets
      // the rest of the batch: (sum of dy) - (what the known entries of i received).
      Matrix<Scalar> sums = Matrix<Scalar>::Zero(rows, in_features());
      for (Index s = 0; s < batch; ++s) {
        const std::size_t first = known.start[static_cast<std::size_t>(s)];
        const auto count = static_cast<Index>(known.start[static_cast<std::size_t>(s + 1)] - first);
        scatter(dy.data() + s * dy.outerStride() + row, rows, known.column.data() + first, count,
                sums.data());
      }
      const Vector<Scalar> total = dy.middleRows(row, rows).rowwise().sum();
      for (Index i = 0; i < d_; ++i) {
        const Index first = i * (k_ + 1);
        Eigen::Map<Matrix<Scalar>> known_columns(gw + first * rows, rows, k_);
        known_columns += sums.middleCols(first, k_);
        Eigen::Map<Vector<Scalar>>(gw + (first + k_) * rows, rows) +=
            total - sums.middleCols(first, k_).rowwise().sum();
      }
    }
    bias(gradient) += dy.rowwise().sum();
  }

  /// dL/d(one_hot(codes)) = W^T dy, D*(K+1) x batch: the gradient with respect to the
  /// one-hot input, as gradient-informed discrete samplers use it.
  void input_gradient(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& dy,
                      Matrix<Scalar>& dx) const {
    dx.setZero(in_features(), dy.cols());
    for (Index block = 0; block < num_blocks(); ++block)
      detail::multiply(weight_block(parameters, block).transpose(),
                       dy.middleRows(block * block_rows, rows_in_block(block)), dx, true);
  }

 private:
  Index block_offset(Index block) const { return offset_ + block * block_rows * in_features(); }

  /// The known entries of every sample, in compressed rows: sample s owns entries
  /// [start[s], start[s+1]), entry j selecting one-hot column column[j].
  struct KnownEntries {
    std::vector<std::size_t> start;
    std::vector<Index> column;
    Index unknowns = 0;
  };

  KnownEntries known_entries(const Eigen::Ref<const CodeMatrix>& codes) const {
    const Index batch = codes.cols();
    KnownEntries known;
    known.start.resize(static_cast<std::size_t>(batch + 1));
    known.column.resize(static_cast<std::size_t>(batch * d_));
    std::size_t n = 0;
    for (Index s = 0; s < batch; ++s) {
      known.start[static_cast<std::size_t>(s)] = n;
      const Code* sample = codes.data() + s * codes.outerStride();
      for (Index i = 0; i < d_; ++i) {  // branch-free: a '?' entry is written, then overwritten
        known.column[n] = i * (k_ + 1) + sample[i];
        n += sample[i] != unknown;
      }
    }
    known.start[static_cast<std::size_t>(batch)] = n;
    known.unknowns = batch * d_ - static_cast<Index>(n);
    return known;
  }

  enum class Strategy {
    all_columns,      ///< every sample sums its D selected columns
    difference_table  ///< known entries only, from a per-block table of w - w[:, (i, ?)]
  };

  /// Skipping '?' entries pays once they outnumber the per-block set-up of the difference
  /// table (about four column operations per table column, measured), and only while a
  /// block of the table stays in cache: at D=55, K=40 it would not, and was slower.
  Strategy choose_strategy(const KnownEntries& known) const {
    const Index table_bytes = in_features() * block_rows * static_cast<Index>(sizeof(Scalar));
    if (known.unknowns > 4 * in_features() && table_bytes <= 64 * 1024) return Strategy::difference_table;
    return Strategy::all_columns;
  }

  /// Column each (position, sample) selects, sample-major: D entries per sample.
  std::vector<Index> selected_columns(const Eigen::Ref<const CodeMatrix>& codes) const {
    const Index batch = codes.cols();
    std::vector<Index> columns(static_cast<std::size_t>(batch * d_));
    for (Index s = 0; s < batch; ++s) {
      const Code* sample = codes.data() + s * codes.outerStride();
      for (Index i = 0; i < d_; ++i)
        columns[static_cast<std::size_t>(s * d_ + i)] = one_hot_column(i, sample[i], k_);
    }
    return columns;
  }

  // out[:, j] = b + sum_i w[:, columns_j[i]] for Samples consecutive samples j, within one
  // full block (Rows rows, so column c starts at w + c * Rows). The Samples * Rows partial
  // sums are independent vector chains, enough to keep the loads in flight.
  template <Index Rows, Index Samples>
  static void gather_group(const Scalar* w, const Scalar* b, const Index* columns, Index d,
                           Scalar* out, Index out_stride) {
    using Piece = Eigen::Array<Scalar, Rows, 1>;
    Piece acc[Samples];
    for (Index j = 0; j < Samples; ++j) acc[j] = Eigen::Map<const Piece>(b);
    for (Index i = 0; i < d; ++i)
      for (Index j = 0; j < Samples; ++j) acc[j] += Eigen::Map<const Piece>(w + columns[j * d + i] * Rows);
    for (Index j = 0; j < Samples; ++j) Eigen::Map<Piece>(out + j * out_stride) = acc[j];
  }

  // out = base + sum_j table[:, columns[j]] over j < count, for a table whose columns hold
  // `rows` values. Four interleaved partial sums break the dependency chain of one long sum.
  static void accumulate(const Scalar* table, Index rows, const Scalar* base, const Index* columns,
                         Index count, Scalar* out) {
    if (rows == block_rows) {
      using Piece = Eigen::Array<Scalar, block_rows, 1>;
      Piece a0 = Eigen::Map<const Piece>(base), a1 = Piece::Zero(), a2 = Piece::Zero(), a3 = Piece::Zero();
      Index j = 0;
      for (; j + 4 <= count; j += 4) {
        a0 += Eigen::Map<const Piece>(table + columns[j] * block_rows);
        a1 += Eigen::Map<const Piece>(table + columns[j + 1] * block_rows);
        a2 += Eigen::Map<const Piece>(table + columns[j + 2] * block_rows);
        a3 += Eigen::Map<const Piece>(table + columns[j + 3] * block_rows);
      }
      for (; j < count; ++j) a0 += Eigen::Map<const Piece>(table + columns[j] * block_rows);
      Eigen::Map<Piece> result(out);
      result = (a0 + a1) + (a2 + a3);
      return;
    }
    for (Index h = 0; h < rows; ++h) out[h] = base[h];
    for (Index j = 0; j < count; ++j)
      for (Index h = 0; h < rows; ++h) out[h] += table[columns[j] * rows + h];
  }

  // table[:, columns[j]] += g for j < count (columns of `rows` values).
  static void scatter(const Scalar* g, Index rows, const Index* columns, Index count, Scalar* table) {
    if (rows == block_rows) {
      using Piece = Eigen::Array<Scalar, block_rows, 1>;
      const Piece piece = Eigen::Map<const Piece>(g);
      for (Index j = 0; j < count; ++j) Eigen::Map<Piece>(table + columns[j] * block_rows) += piece;
      return;
    }
    for (Index j = 0; j < count; ++j)
      for (Index h = 0; h < rows; ++h) table[columns[j] * rows + h] += g[h];
  }

  Index d_ = 0;
  Index k_ = 0;
  Index out_ = 0;
  Index offset_ = 0;
};

}  // namespace mam
