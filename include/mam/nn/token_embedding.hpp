#pragma once
// The token embedding of a Transformer over D positions with K values: K + 1 symbols, the
// last (index K) for '?' (mam::unknown), each a learned column of `width` numbers. A view of
// a slice [offset, offset + width * (K + 1)) of its network's flat parameter vector: the
// width x (K + 1) table, column-major.
//
// Tokens are laid out one column each, a sample's D tokens in consecutive columns (column
// s * D + i is position i of sample s), so a pass over a batch is one gather.

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/init.hpp"

namespace mam {

template <class Scalar>
class TokenEmbedding {
  static_assert(std::is_floating_point<Scalar>::value, "mam::TokenEmbedding needs float or double");

 public:
  using MatrixMap = Eigen::Map<Matrix<Scalar>>;
  using ConstMatrixMap = Eigen::Map<const Matrix<Scalar>>;

  TokenEmbedding() = default;
  TokenEmbedding(Index num_values, Index width, Index offset) : k_(num_values), width_(width), offset_(offset) {
    detail::require<shape_error>(num_values > 0 && width > 0, "mam::TokenEmbedding",
                                 "positive num_values and width", detail::concat(num_values, " and ", width));
  }

  Index num_symbols() const { return k_ + 1; }
  Index width() const { return width_; }
  Index offset() const { return offset_; }
  Index num_parameters() const { return width_ * (k_ + 1); }

  ConstMatrixMap table(const Vector<Scalar>& parameters) const {
    return {parameters.data() + offset_, width_, k_ + 1};
  }
  MatrixMap table(Vector<Scalar>& parameters) const { return {parameters.data() + offset_, width_, k_ + 1}; }

  /// The symbol of a code: the value itself, or K for '?'.
  Index symbol(Code code) const { return code == unknown ? k_ : static_cast<Index>(code); }

  /// N(0, 1) entries, column by column (PyTorch's nn.Embedding, as the reference).
  void initialize(Vector<Scalar>& parameters, Rng& rng) const {
    auto values = table(parameters);
    fill_normal(values, rng);
  }

  /// x = width x (D * batch): column s * D + i is the embedding of codes(i, s). The codes
  /// must be valid (the network checks them first).
  void forward(const Vector<Scalar>& parameters, const Eigen::Ref<const CodeMatrix>& codes, Matrix<Scalar>& x) const {
    const Index d = codes.rows(), batch = codes.cols();
    const auto values = table(parameters);
    x.resize(width_, d * batch);
#pragma omp parallel for schedule(static) if (width_ * d * batch >= detail::parallel_work_threshold)
    for (Index s = 0; s < batch; ++s)
      for (Index i = 0; i < d; ++i) x.col(s * d + i) = values.col(symbol(codes(i, s)));
  }

  /// Adds dL/d table to `gradient` given dx = dL/dx (same layout as forward's x). Serial: two
  /// tokens of one symbol add into the same column.
  void backward(const Eigen::Ref<const CodeMatrix>& codes, const Eigen::Ref<const Matrix<Scalar>>& dx,
                Vector<Scalar>& gradient) const {
    const Index d = codes.rows();
    auto table_gradient = table(gradient);
    for (Index s = 0; s < codes.cols(); ++s)
      for (Index i = 0; i < d; ++i) table_gradient.col(symbol(codes(i, s))) += dx.col(s * d + i);
  }

 private:
  Index k_ = 0;
  Index width_ = 0;
  Index offset_ = 0;
};

}  // namespace mam
