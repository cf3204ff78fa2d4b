#pragma once
// Multi-head bidirectional self-attention (no mask: every token sees every token of its
// sample), the reference Transformer's SelfAttention, without biases:
//
//   [Q; K; V] = W_qkv x                     one product over all tokens (3 width x tokens)
//   A_h = softmax over keys of K_h^T Q_h / sqrt(d_head)   per sample and head, L x L
//   O_h = V_h A_h                           the heads side by side: O is width x tokens
//   y   = W_o O
//
// Tokens are columns, a sample's L tokens consecutive; head h owns rows h*d_head ..
// (h+1)*d_head - 1 of Q, K, V and O. Column i of A_h is query i's distribution over the keys,
// so the softmax runs down contiguous columns. It subtracts each column's maximum, so huge
// logits stay finite.
//
// A view of a slice [offset, offset + 4 width^2) of the network's flat parameter vector:
// W_qkv (3 width x width, column-major), then W_o (width x width).

#include <cmath>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/float_gemm.hpp"
#include "mam/nn/init.hpp"

namespace mam {

template <class Scalar>
class MultiHeadAttention {
  static_assert(std::is_floating_point<Scalar>::value, "mam::MultiHeadAttention needs float or double");

 public:
  using MatrixMap = Eigen::Map<Matrix<Scalar>>;
  using ConstMatrixMap = Eigen::Map<const Matrix<Scalar>>;

  /// What forward() leaves for backward().
  struct Cache {
    Matrix<Scalar> qkv;            ///< 3 width x tokens
    Matrix<Scalar> probabilities;  ///< L x (tokens * heads): A_h of sample s at columns (s * heads + h) * L
    Matrix<Scalar> attended;       ///< O, width x tokens
    Matrix<Scalar> grad_attended, grad_qkv;  ///< backward workspace
  };

  MultiHeadAttention() = default;
  MultiHeadAttention(Index width, Index heads, Index length, Index offset)
      : width_(width), heads_(heads), length_(length), offset_(offset) {
    detail::require<shape_error>(width > 0 && heads > 0 && length > 0 && width % heads == 0,
                                 "mam::MultiHeadAttention", "positive width, heads and length, width divisible by heads",
                                 detail::concat("width ", width, ", ", heads, " heads, length ", length));
  }

  Index width() const { return width_; }
  Index heads() const { return heads_; }
  Index head_width() const { return width_ / heads_; }
  Index length() const { return length_; }
  Index offset() const { return offset_; }
  Index num_parameters() const { return 4 * width_ * width_; }

  ConstMatrixMap qkv_weight(const Vector<Scalar>& p) const { return {p.data() + offset_, 3 * width_, width_}; }
  MatrixMap qkv_weight(Vector<Scalar>& p) const { return {p.data() + offset_, 3 * width_, width_}; }
  ConstMatrixMap output_weight(const Vector<Scalar>& p) const {
    return {p.data() + offset_ + 3 * width_ * width_, width_, width_};
  }
  MatrixMap output_weight(Vector<Scalar>& p) const { return {p.data() + offset_ + 3 * width_ * width_, width_, width_}; }

  /// Xavier uniform for each of the four width x width projections (drawn column by column of
  /// W_qkv, then of W_o; W_qkv's three blocks share the bound of a width x width layer).
  void initialize(Vector<Scalar>& parameters, Rng& rng) const {
    const double bound = xavier_uniform_bound(width_, width_);
    auto qkv = qkv_weight(parameters);
    auto out = output_weight(parameters);
    fill_uniform(qkv, bound, rng);
    fill_uniform(out, bound, rng);
  }

  /// y = attention(x), x and y width x (L * batch).
  void forward(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& x, Cache& cache,
               Matrix<Scalar>& y) const {
    require_tokens("mam::MultiHeadAttention::forward", x.rows(), x.cols());
    const Index tokens = x.cols(), dh = head_width(), pairs = tokens / length_ * heads_;
    const Scalar scale = Scalar(1) / std::sqrt(static_cast<Scalar>(dh));
    cache.qkv.resize(3 * width_, tokens);
    detail::multiply(qkv_weight(parameters), x, cache.qkv, false);
    cache.probabilities.resize(length_, tokens * heads_);
    cache.attended.resize(width_, tokens);
#pragma omp parallel if (pairs * length_ * length_ * dh >= detail::parallel_work_threshold)
    {
      Eigen::Array<Scalar, 1, Eigen::Dynamic> column;  // one per thread: a max, then a sum per query
#pragma omp for schedule(static)
      for (Index pair = 0; pair < pairs; ++pair) {
        const auto q = head_block(cache.qkv, 0, pair), k = head_block(cache.qkv, 1, pair);
        const auto v = head_block(cache.qkv, 2, pair);
        auto a = cache.probabilities.middleCols(pair * length_, length_);
        a.noalias() = scale * (k.transpose() * q);
        column = a.colwise().maxCoeff().array();
        a.array() = (a.array().rowwise() - column).exp();
        column = a.colwise().sum().array();
        a.array().rowwise() /= column;
        head_block(cache.attended, 0, pair).noalias() = v * a;
      }
    }
    y.resize(width_, tokens);
    detail::multiply(output_weight(parameters), cache.attended, y, false);
  }

  /// Adds dL/d W_qkv and dL/d W_o to `gradient` and sets dx = dL/dx, given dy = dL/dy and
  /// the input x of the pass in `cache`. Per sample and head, with dA = V_h^T dO_h:
  ///   dV_h = dO_h A_h^T,  dS = A .* (dA - 1 (sum over keys of A .* dA)),
  ///   dQ_h = scale K_h dS,  dK_h = scale Q_h dS^T.
  void backward(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& x, Cache& cache,
                const Eigen::Ref<const Matrix<Scalar>>& dy, Vector<Scalar>& gradient, Matrix<Scalar>& dx) const {
    require_tokens("mam::MultiHeadAttention::backward", dy.rows(), dy.cols());
    const Index tokens = dy.cols(), dh = head_width(), pairs = tokens / length_ * heads_;
    const Scalar scale = Scalar(1) / std::sqrt(static_cast<Scalar>(dh));
    detail::multiply(dy, cache.attended.transpose(), output_weight(gradient), true);
    cache.grad_attended.resize(width_, tokens);
    detail::multiply(output_weight(parameters).transpose(), dy, cache.grad_attended, false);
    cache.grad_qkv.resize(3 * width_, tokens);
#pragma omp parallel if (pairs * length_ * length_ * dh >= detail::parallel_work_threshold)
    {
      Matrix<Scalar> grad_scores(length_, length_);  // one per thread
#pragma omp for schedule(static)
      for (Index pair = 0; pair < pairs; ++pair) {
        const auto q = head_block(cache.qkv, 0, pair), k = head_block(cache.qkv, 1, pair);
        const auto v = head_block(cache.qkv, 2, pair);
        const auto a = cache.probabilities.middleCols(pair * length_, length_);
        const auto d_attended = head_block(cache.grad_attended, 0, pair);
        head_block(cache.grad_qkv, 2, pair).noalias() = d_attended * a.transpose();
        grad_scores.noalias() = v.transpose() * d_attended;
        const Eigen::Array<Scalar, 1, Eigen::Dynamic> weighted = (a.array() * grad_scores.array()).colwise().sum();
        grad_scores.array() = a.array() * (grad_scores.array().rowwise() - weighted) * scale;
        head_block(cache.grad_qkv, 0, pair).noalias() = k * grad_scores;
        head_block(cache.grad_qkv, 1, pair).noalias() = q * grad_scores.transpose();
      }
    }
    detail::multiply(cache.grad_qkv, x.transpose(), qkv_weight(gradient), true);
    dx.resize(width_, tokens);
    detail::multiply(qkv_weight(parameters).transpose(), cache.grad_qkv, dx, false);
  }

 private:
  // The d_head x L block of one (sample, head) pair in part `part` (0, 1, 2 for Q, K, V of the
  // 3 width rows of qkv; 0 for the width rows of the attended values).
  template <class Activations>
  auto head_block(Activations& m, Index part, Index pair) const {
    const Index dh = head_width();
    return m.block(part * width_ + pair % heads_ * dh, pair / heads_ * length_, dh, length_);
  }

  void require_tokens(const char* function, Index rows, Index columns) const {
    detail::require<shape_error>(rows == width_ && columns % length_ == 0, function,
                                 detail::concat(width_, " rows and a multiple of ", length_, " columns"),
                                 detail::concat(rows, " x ", columns));
  }

  Index width_ = 0;
  Index heads_ = 0;
  Index length_ = 0;
  Index offset_ = 0;
};

}  // namespace mam
