#pragma once
// Linear layer y = W x + b on a batch (x: in x batch, y: out x batch). The layer owns no
// numbers: it is a view of a slice [offset, offset + num_parameters()) of its network's flat
// parameter vector, laid out as W (out x in, column-major) followed by b (out).

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/float_gemm.hpp"
#include "mam/nn/init.hpp"

namespace mam {

template <class Scalar>
class Linear {
  static_assert(std::is_floating_point<Scalar>::value, "mam::Linear needs float or double");

 public:
  using MatrixMap = Eigen::Map<Matrix<Scalar>>;
  using ConstMatrixMap = Eigen::Map<const Matrix<Scalar>>;
  using VectorMap = Eigen::Map<Vector<Scalar>>;
  using ConstVectorMap = Eigen::Map<const Vector<Scalar>>;

  Linear() = default;
  Linear(Index in_features, Index out_features, Index offset = 0)
      : in_(in_features), out_(out_features), offset_(offset) {
    detail::require<shape_error>(in_features > 0 && out_features > 0, "mam::Linear",
                                 "positive in and out features",
                                 detail::concat(in_features, " x ", out_features));
  }

  Index in_features() const { return in_; }
  Index out_features() const { return out_; }
  Index offset() const { return offset_; }
  Index num_parameters() const { return out_ * in_ + out_; }

  ConstMatrixMap weight(const Vector<Scalar>& parameters) const {
    return ConstMatrixMap(parameters.data() + offset_, out_, in_);
  }
  MatrixMap weight(Vector<Scalar>& parameters) const {
    return MatrixMap(parameters.data() + offset_, out_, in_);
  }
  ConstVectorMap bias(const Vector<Scalar>& parameters) const {
    return ConstVectorMap(parameters.data() + offset_ + out_ * in_, out_);
  }
  VectorMap bias(Vector<Scalar>& parameters) const {
    return VectorMap(parameters.data() + offset_ + out_ * in_, out_);
  }

  /// PyTorch's default initialization of nn.Linear.
  void initialize(Vector<Scalar>& parameters, Rng& rng) const {
    const double bound = linear_init_bound(in_);
    auto w = weight(parameters);
    auto b = bias(parameters);
    fill_uniform(w, bound, rng);
    fill_uniform(b, bound, rng);
  }

  /// y = W x (no bias): callers fuse the bias into their element-wise pass. `packed_weight`,
  /// if given, is W as it is in `parameters`, packed (see detail::PackedFloatLhs).
  void multiply(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& x, Matrix<Scalar>& y,
                const detail::PackedFloatLhs* packed_weight = nullptr) const {
    y.resize(out_, x.cols());
    detail::multiply(weight(parameters), x, y, false, packed_weight);
  }

  /// y = W x + b.
  void forward(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& x, Matrix<Scalar>& y,
               const detail::PackedFloatLhs* packed_weight = nullptr) const {
    multiply(parameters, x, y, packed_weight);
    y.colwise() += bias(parameters);
  }

  /// Accumulates dL/dW += dy x^T and dL/db += sum_batch dy into `gradient` (same layout as
  /// the parameters). If `dx` is given, sets dx = W^T dy.
  void backward(const Vector<Scalar>& parameters, const Eigen::Ref<const Matrix<Scalar>>& x,
                const Eigen::Ref<const Matrix<Scalar>>& dy, Vector<Scalar>& gradient,
                Matrix<Scalar>* dx = nullptr) const {
    detail::multiply(dy, x.transpose(), weight(gradient), true);
    bias(gradient) += dy.rowwise().sum();
    if (dx != nullptr) {
      dx->resize(in_, dy.cols());
      detail::multiply(weight(parameters).transpose(), dy, *dx, false);
    }
  }

 private:
  Index in_ = 0;
  Index out_ = 0;
  Index offset_ = 0;
};

}  // namespace mam
