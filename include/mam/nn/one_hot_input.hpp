#pragma once
// The input layer of a MaM network. A sample is D codes, each in 0..K-1 or `unknown`; its
// one-hot encoding has D*(K+1) entries, (K+1) per position with the last slot meaning '?'.
// Multiplying that sparse matrix densely costs O(D*(K+1)*H) per sample; here each sample
// instead sums the D weight columns its codes select (O(D*H)), and backward scatter-adds.
// The result equals W * one_hot(codes) + b exactly up to summation order.

#include <algorithm>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/init.hpp"

namespace mam {

/// Column of the one-hot encoding (and of the layer's weight) that code `code` at `position`
/// selects.
inline Index one_hot_column(Index position, Code code, Index num_values) {
  return position * (num_values + 1) + (code == unknown ? num_values : code);
}

/// Checks that `codes` is D x batch with every entry in 0..K-1 or `unknown`.
inline void validate_codes(const Eigen::Ref<const CodeMatrix>& codes, Index num_variables,
                           Index num_values, const char* function) {
  detail::require<shape_error>(codes.rows() == num_variables, function,
                               detail::concat("codes with ", num_variables,
                                              " rows (one column per sample)"),
                               detail::concat(codes.rows(), " rows"));
  for (Index b = 0; b < codes.cols(); ++b)
    for (Index i = 0; i < num_variables; ++i) {
      const Code c = codes(i, b);
      if (c != unknown && (c < 0 || c >= num_values))
        detail::fail<value_error>(
            function, detail::concat("codes in 0..", num_values - 1, " or mam::unknown"),
            detail::concat(c, " at position ", i, " of sample ", b));
    }
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

  ConstMatrixMap weight(const Vector<Scalar>& parameters) const {
    return ConstMatrixMap(parameters.data() + offset_, out_, in_features());
  }
  MatrixMap weight(Vector<Scalar>& parameters) const {
    return MatrixMap(parameters.data() + offset_, out_, in_features());
  }
  ConstVectorMap bias(const Vector<Scalar>& parameters) const {
    return ConstVectorMap(parameters.data() + offset_ + out_ * in_features(), out_);
  }
  VectorMap bias(Vector<Scalar>& parameters) const {
    return VectorMap(parameters.data() + offset_ + out_ * in_features(), out_);
  }

  /// Same distribution as nn.Linear(D*(K+1), out) in PyTorch.
  void initialize(Vector<Scalar>& parameters, Rng& rng) const {
    const double bound = linear_init_bound(in_features());
    auto w = weight(parameters);
    auto b = bias(parameters);
    fill_uniform(w, bound, rng);
    fill_uniform(b, bound, rng);
  }

  /// y = W one_hot(codes) + b (out x batch). Codes must already be validated.
  void forward(const Vector<Scalar>& parameters, const Eigen::Ref<const CodeMatrix>& codes,
               Matrix<Scalar>& y) const {
    const Index batch = codes.cols();
    y.resize(out_, batch);
    const Scalar* w = parameters.data() + offset_;
    const Scalar* b = w + out_ * in_features();
    const Index d = d_, k = k_, out_rows = out_;
    // Rows are processed in chunks of `chunk` so that a sample's partial sums stay in
    // registers while its D columns stream in, and the chunk of W that all samples share
    // stays in L1. Sample blocks go to threads.
    constexpr Index samples_per_task = 16;
    const Index tasks = (batch + samples_per_task - 1) / samples_per_task;
#pragma omp parallel for schedule(static)
    for (Index task = 0; task < tasks; ++task) {
      const Index first = task * samples_per_task;
      const Index count = std::min(batch, first + samples_per_task) - first;
      // Offsets of the selected columns, computed once and reused by every row chunk.
      std::vector<Index> offsets(static_cast<std::size_t>(count * d));
      for (Index s = 0; s < count; ++s) {
        const Code* sample = codes.data() + (first + s) * codes.outerStride();
        for (Index i = 0; i < d; ++i)
          offsets[static_cast<std::size_t>(s * d + i)] = one_hot_column(i, sample[i], k) * out_rows;
      }
      for (Index row = 0; row < out_rows; row += chunk) {
        const Index rows = std::min(chunk, out_rows - row);
        for (Index s = 0; s < count; ++s) {
          const Index* columns = offsets.data() + s * d;
          Scalar* out = y.data() + (first + s) * out_rows + row;
          if (rows == chunk)
            gather_chunk<chunk>(w + row, b + row, columns, d, out);
          else
            gather_rows(w + row, b + row, columns, d, rows, out);
        }
      }
    }
  }

  /// Changes the code of one position of one sample in an existing output y (as produced by
  /// forward): O(out) instead of a new O(D*out) gather. Chain-rule likelihoods and samplers
  /// reveal one position per step and use this.
  void update_position(const Vector<Scalar>& parameters, Index sample, Index position,
                       Code old_code, Code new_code, Matrix<Scalar>& y) const {
    if (old_code == new_code) return;
    const ConstMatrixMap w = weight(parameters);
    y.col(sample) += w.col(one_hot_column(position, new_code, k_)) -
                     w.col(one_hot_column(position, old_code, k_));
  }

  /// Accumulates dL/dW (scatter-add of dy's columns) and dL/db into `gradient`.
  void backward(const Eigen::Ref<const CodeMatrix>& codes,
                const Eigen::Ref<const Matrix<Scalar>>& dy, Vector<Scalar>& gradient) const {
    const Index batch = codes.cols();
    Scalar* gw = gradient.data() + offset_;
    // Row chunks go to threads, so no two threads ever add into the same entry of dW.
    const Index chunks = (out_ + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
    for (Index c = 0; c < chunks; ++c) {
      const Index row = c * chunk;
      const Index rows = std::min(chunk, out_ - row);
      for (Index s = 0; s < batch; ++s) {
        const Scalar* grad_out = dy.data() + s * dy.outerStride() + row;
        const Code* sample = codes.data() + s * codes.outerStride();
        for (Index i = 0; i < d_; ++i) {
          Scalar* column = gw + one_hot_column(i, sample[i], k_) * out_ + row;
          for (Index h = 0; h < rows; ++h) column[h] += grad_out[h];
        }
      }
    }
    bias(gradient) += dy.rowwise().sum();
  }

  /// dL/d(one_hot(codes)) = W^T dy, D*(K+1) x batch: the gradient with respect to the
  /// one-hot input, as gradient-informed discrete samplers use it.
  void input_gradient(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& dy,
                      Matrix<Scalar>& dx) const {
    dx.resize(in_features(), dy.cols());
    dx.noalias() = weight(parameters).transpose() * dy;
  }

 private:
  // 64 floats (four AVX-512 registers, 256 bytes per column chunk) or 32 doubles.
  static constexpr Index chunk = 256 / static_cast<Index>(sizeof(Scalar));

  // out = b + sum_i w[columns[i] ...] over `Rows` rows. A fixed-size Eigen array keeps the
  // partial sums in vector registers.
  template <Index Rows>
  static void gather_chunk(const Scalar* w, const Scalar* b, const Index* columns, Index d,
                           Scalar* out) {
    using Chunk = Eigen::Array<Scalar, Rows, 1>;
    Chunk acc = Eigen::Map<const Chunk>(b);
    for (Index i = 0; i < d; ++i) acc += Eigen::Map<const Chunk>(w + columns[i]);
    Eigen::Map<Chunk> result(out);
    result = acc;
  }

  static void gather_rows(const Scalar* w, const Scalar* b, const Index* columns, Index d,
                          Index rows, Scalar* out) {
    using Rows = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
    Eigen::Map<Rows> acc(out, rows);
    acc = Eigen::Map<const Rows>(b, rows);
    for (Index i = 0; i < d; ++i) acc += Eigen::Map<const Rows>(w + columns[i], rows);
  }

  Index d_ = 0;
  Index k_ = 0;
  Index out_ = 0;
  Index offset_ = 0;
};

}  // namespace mam
