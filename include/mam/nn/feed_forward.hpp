#pragma once
// A stack of Linear layers with GELU between them (not after the last):
//
//   widths {n_0, n_1, ..., n_m}:  h_1 = W_1 x + b_1,  h_{j+1} = W_{j+1} GELU(h_j) + b_{j+1}
//
// the Transformer's feed-forward (width -> ff width -> width) and its two heads (the
// conditional head width -> width -> width -> K, the marginal head width -> h -> h -> 1). The
// layers are consecutive slices of the network's flat parameter vector from `offset`, each
// laid out as Linear's (W, then b). Initialization is the reference Transformer's: Xavier
// uniform weights, zero biases.

#include <algorithm>
#include <cstddef>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/activation.hpp"
#include "mam/nn/init.hpp"
#include "mam/nn/linear.hpp"

namespace mam {

template <class Scalar>
class FeedForward {
  static_assert(std::is_floating_point<Scalar>::value, "mam::FeedForward needs float or double");

 public:
  /// What forward() leaves for backward(): each layer's pre-activation h_j and the GELU of
  /// every one but the last (the next layer's input).
  struct Cache {
    std::vector<Matrix<Scalar>> pre, activated;
    Matrix<Scalar> grad_pre, grad_activated;  ///< backward workspace
  };

  FeedForward() = default;
  FeedForward(const std::vector<Index>& widths, Index offset) {
    detail::require<shape_error>(widths.size() >= 2, "mam::FeedForward", "at least two widths (input and output)",
                                 widths.size());
    for (std::size_t j = 1; j < widths.size(); ++j) {
      layers_.emplace_back(widths[j - 1], widths[j], offset);
      offset += layers_.back().num_parameters();
    }
  }

  Index in_features() const { return layers_.front().in_features(); }
  Index out_features() const { return layers_.back().out_features(); }
  Index offset() const { return layers_.front().offset(); }
  Index num_parameters() const {
    Index count = 0;
    for (const auto& layer : layers_) count += layer.num_parameters();
    return count;
  }
  const std::vector<Linear<Scalar>>& layers() const { return layers_; }

  /// Xavier-uniform weights (drawn layer by layer, column by column), zero biases.
  void initialize(Vector<Scalar>& parameters, Rng& rng) const {
    for (const auto& layer : layers_) {
      auto weight = layer.weight(parameters);
      fill_uniform(weight, xavier_uniform_bound(layer.in_features(), layer.out_features()), rng);
      layer.bias(parameters).setZero();
    }
  }

  /// y = the stack applied to x (in_features x tokens), one product per layer.
  void forward(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& x, Cache& cache,
               Matrix<Scalar>& y) const {
    const std::size_t count = layers_.size();
    cache.pre.resize(count - 1);
    cache.activated.resize(count - 1);
    for (std::size_t j = 0; j + 1 < count; ++j) {
      layers_[j].forward(parameters, j == 0 ? x : Eigen::Ref<const Matrix<Scalar>>(cache.activated[j - 1]),
                         cache.pre[j]);
      gelu_by_columns(cache.pre[j], cache.activated[j],
                      [](const auto& pre, auto&& out, const auto&) { out = GELU::values(pre); });
    }
    layers_.back().forward(parameters, count == 1 ? x : Eigen::Ref<const Matrix<Scalar>>(cache.activated.back()), y);
  }

  /// Adds dL/d parameters to `gradient` and sets dx = dL/dx, given dy = dL/dy and the input x
  /// of the pass in `cache`.
  void backward(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& x, Cache& cache,
                const Eigen::Ref<const Matrix<Scalar>>& dy, Vector<Scalar>& gradient, Matrix<Scalar>& dx) const {
    const std::size_t count = layers_.size();
    auto input_of = [&](std::size_t j) {
      return j == 0 ? x : Eigen::Ref<const Matrix<Scalar>>(cache.activated[j - 1]);
    };
    if (count == 1) return layers_[0].backward(parameters, x, dy, gradient, &dx);
    layers_.back().backward(parameters, input_of(count - 1), dy, gradient, &cache.grad_activated);
    for (std::size_t j = count - 1; j-- > 0;) {
      gelu_by_columns(cache.pre[j], cache.grad_pre, [&](const auto& pre, auto&& out, Index first) {
        out = cache.grad_activated.middleCols(first, pre.cols()).array() * GELU::derivatives(pre);
      });
      layers_[j].backward(parameters, input_of(j), cache.grad_pre, gradient, j == 0 ? &dx : &cache.grad_activated);
    }
  }

 private:
  // out = f(pre) column block by column block, the blocks shared between the threads: the
  // element-wise GELU of a Transformer's feed-forward is otherwise a serial part of the pass.
  // f(pre block, out block, first column) writes one block.
  template <class F>
  static void gelu_by_columns(const Matrix<Scalar>& pre, Matrix<Scalar>& out, F&& f) {
    out.resize(pre.rows(), pre.cols());
    constexpr Index block = 64;
    const Index blocks = (pre.cols() + block - 1) / block;
#pragma omp parallel for schedule(static) if (pre.size() >= detail::parallel_work_threshold)
    for (Index b = 0; b < blocks; ++b) {
      const Index first = b * block, count = std::min(block, pre.cols() - first);
      f(pre.middleCols(first, count).array(), out.middleCols(first, count).array(), first);
    }
  }

  std::vector<Linear<Scalar>> layers_;
};

}  // namespace mam
