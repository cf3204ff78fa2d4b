#pragma once
// Layer normalization over the rows of each column (one column per token):
//
//   y = gain .* (x - mean(x)) / sqrt(var(x) + epsilon) + bias
//
// with the biased variance and epsilon = 1e-6, as the reference Transformer's nn.LayerNorm.
// Like Linear, the layer is a view of a slice [offset, offset + 2 * width) of its network's
// flat parameter vector: the gain, then the bias.

#include <type_traits>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

template <class Scalar>
class LayerNorm {
  static_assert(std::is_floating_point<Scalar>::value, "mam::LayerNorm needs float or double");

 public:
  using VectorMap = Eigen::Map<Vector<Scalar>>;
  using ConstVectorMap = Eigen::Map<const Vector<Scalar>>;

  static constexpr double epsilon = 1e-6;

  /// What forward() leaves for backward(): the normalized input (before gain and bias) and
  /// 1 / sqrt(var + epsilon) of each column.
  struct Cache {
    Matrix<Scalar> normalized;
    Eigen::Array<Scalar, 1, Eigen::Dynamic> inverse_std;
  };

  LayerNorm() = default;
  LayerNorm(Index width, Index offset) : width_(width), offset_(offset) {
    detail::require<shape_error>(width > 0, "mam::LayerNorm", "width > 0", width);
  }

  Index width() const { return width_; }
  Index offset() const { return offset_; }
  Index num_parameters() const { return 2 * width_; }

  ConstVectorMap gain(const Vector<Scalar>& parameters) const { return {parameters.data() + offset_, width_}; }
  VectorMap gain(Vector<Scalar>& parameters) const { return {parameters.data() + offset_, width_}; }
  ConstVectorMap bias(const Vector<Scalar>& parameters) const { return {parameters.data() + offset_ + width_, width_}; }
  VectorMap bias(Vector<Scalar>& parameters) const { return {parameters.data() + offset_ + width_, width_}; }

  /// Gain 1, bias 0 (PyTorch's initialization; draws nothing).
  void initialize(Vector<Scalar>& parameters) const {
    gain(parameters).setOnes();
    bias(parameters).setZero();
  }

  /// y = LayerNorm(x), column by column (x: width x tokens).
  void forward(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& x, Cache& cache,
               Matrix<Scalar>& y) const {
    const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> mean = x.colwise().mean();
    cache.normalized = x.rowwise() - mean;
    cache.inverse_std =
        (cache.normalized.array().square().colwise().mean() + static_cast<Scalar>(epsilon)).rsqrt();
    cache.normalized.array().rowwise() *= cache.inverse_std;
    y = (cache.normalized.array().colwise() * gain(parameters).array()).colwise() + bias(parameters).array();
  }

  /// Adds dL/d gain and dL/d bias to `gradient`, and sets dx = dL/dx, given dy = dL/dy of the
  /// pass in `cache`. With g = gain .* dy and n the width:
  ///   dx = inverse_std * (g - mean(g) - normalized * mean(g .* normalized)).
  void backward(const Vector<Scalar>& parameters, const Cache& cache, const Eigen::Ref<const Matrix<Scalar>>& dy,
                Vector<Scalar>& gradient, Matrix<Scalar>& dx) const {
    gain(gradient) += (dy.array() * cache.normalized.array()).rowwise().sum().matrix();
    bias(gradient) += dy.rowwise().sum();
    dx = dy.array().colwise() * gain(parameters).array();
    const Eigen::Array<Scalar, 1, Eigen::Dynamic> mean_g = dx.array().colwise().mean();
    const Eigen::Array<Scalar, 1, Eigen::Dynamic> mean_gn = (dx.array() * cache.normalized.array()).colwise().mean();
    dx.array() = ((dx.array().rowwise() - mean_g) - cache.normalized.array().rowwise() * mean_gn).rowwise() *
                 cache.inverse_std;
  }

 private:
  Index width_ = 0;
  Index offset_ = 0;
};

}  // namespace mam
