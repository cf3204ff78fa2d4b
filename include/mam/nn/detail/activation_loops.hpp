#pragma once
// The element-wise passes of a network's hidden layers, one column (sample) at a time over
// threads: the activation, the activation of a residual block with its bias and skip
// connection, and the activation's backward. Each column is a contiguous run of values, so
// Act::values and Act::derivatives (nn/activation.hpp) run in Eigen's vectorized array forms.

#include <Eigen/Core>

#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"

namespace mam::detail {

// A contiguous run of values as an Eigen array, for the activations' vectorized forms.
template <class Scalar>
Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> column(Scalar* data, Index rows) {
  return {data, rows};
}
template <class Scalar>
Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>> column(const Scalar* data, Index rows) {
  return {data, rows};
}

template <class Act, class Scalar>
void activate(Act, const Matrix<Scalar>& z, Matrix<Scalar>& h) {
  h.resize(z.rows(), z.cols());
  const Index rows = z.rows();
#pragma omp parallel for schedule(static) if (z.size() >= parallel_work_threshold)
  for (Index j = 0; j < z.cols(); ++j) {
    const Scalar* zc = z.data() + j * rows;
    Scalar* hc = h.data() + j * rows;
    column(hc, rows) = Act::values(column(zc, rows));
  }
}

// z += b (in place, so backward sees the true pre-activation); h = act(z) + skip.
template <class Act, class Bias, class Scalar>
void activate_residual(Act, const Bias& bias, Matrix<Scalar>& z, const Matrix<Scalar>& skip, Matrix<Scalar>& h) {
  h.resize(z.rows(), z.cols());
  const Index rows = z.rows();
  const Scalar* b = bias.data();
#pragma omp parallel for schedule(static) if (z.size() >= parallel_work_threshold)
  for (Index j = 0; j < z.cols(); ++j) {
    Scalar* zc = z.data() + j * rows;
    const Scalar* sc = skip.data() + j * rows;
    Scalar* hc = h.data() + j * rows;
    auto zj = column(zc, rows);
    zj += column(b, rows);
    column(hc, rows) = Act::values(zj) + column(sc, rows);
  }
}

// grad_pre = grad_hidden * act'(z).
template <class Act, class Scalar>
void activation_backward(Act, const Matrix<Scalar>& z, const Matrix<Scalar>& grad_hidden, Matrix<Scalar>& grad_pre) {
  grad_pre.resize(z.rows(), z.cols());
  const Index rows = z.rows();
#pragma omp parallel for schedule(static) if (z.size() >= parallel_work_threshold)
  for (Index j = 0; j < z.cols(); ++j) {
    const Scalar* zc = z.data() + j * rows;
    const Scalar* gc = grad_hidden.data() + j * rows;
    Scalar* out = grad_pre.data() + j * rows;
    column(out, rows) = column(gc, rows) * Act::derivatives(column(zc, rows));
  }
}

}  // namespace mam::detail
