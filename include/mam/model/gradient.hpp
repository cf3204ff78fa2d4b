#pragma once
// Gradients of a MarginalizationModel's trainable numbers: both networks' flat parameter
// vectors and the scalar log Z. Losses add into it; optimizers read it.

#include "mam/core/parallel.hpp"
#include "mam/core/types.hpp"

namespace mam {

template <class Scalar>
struct ModelGradient {
  Vector<Scalar> marginal;
  Vector<Scalar> conditional;
  double log_z = 0.0;

  /// A zero gradient shaped like `model`'s parameters.
  template <class Model>
  static ModelGradient zeros_like(const Model& model) {
    return {Vector<Scalar>::Zero(model.marginal().num_parameters()),
            Vector<Scalar>::Zero(model.conditional().num_parameters()), 0.0};
  }

  void set_zero() {
    detail::set_zero_in_parallel(marginal);
    detail::set_zero_in_parallel(conditional);
    log_z = 0.0;
  }
};

}  // namespace mam
