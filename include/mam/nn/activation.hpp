#pragma once
// Element-wise activations and their derivatives. The derivative is written in terms of the
// pre-activation z, which every network context keeps for its backward pass. Each comes as
// a scalar function (value, derivative) and as an Eigen array expression (values,
// derivatives) that the networks apply to whole columns: Eigen vectorizes exp, where a loop
// over std::exp calls libm once per element.

#include <cmath>
#include <string>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// LeakyReLU with PyTorch's default negative slope 0.01 (the reference MaM networks use it).
struct LeakyReLU {
  static constexpr const char* name = "leaky_relu";
  static constexpr double negative_slope = 0.01;
  template <class S>
  static S value(S z) { return z > S(0) ? z : S(negative_slope) * z; }
  template <class S>
  static S derivative(S z) { return z > S(0) ? S(1) : S(negative_slope); }
  // max(z, a z) equals the two-sided form for 0 < a < 1 and vectorizes; Eigen 3.4's select
  // does not, and its scalar loop branches on the sign, a misprediction per second element.
  static_assert(negative_slope > 0.0 && negative_slope < 1.0, "values() relies on 0 < slope < 1");
  template <class Z>
  static auto values(const Eigen::ArrayBase<Z>& z) {
    using S = typename Z::Scalar;
    return z.max(S(negative_slope) * z);
  }
  template <class Z>
  static auto derivatives(const Eigen::ArrayBase<Z>& z) {
    using S = typename Z::Scalar;
    return (z > S(0)).select(S(1), z.Constant(z.rows(), z.cols(), S(negative_slope)));
  }
};

/// SiLU (swish): z * sigmoid(z).
struct SiLU {
  static constexpr const char* name = "silu";
  template <class S>
  static S value(S z) { return z / (S(1) + std::exp(-z)); }
  template <class S>
  static S derivative(S z) {
    const S s = S(1) / (S(1) + std::exp(-z));
    return s * (S(1) + z * (S(1) - s));
  }
  template <class Z>
  static auto values(const Eigen::ArrayBase<Z>& z) {
    using S = typename Z::Scalar;
    return z.derived() / (S(1) + (-z.derived()).exp());
  }
  template <class Z>
  static auto derivatives(const Eigen::ArrayBase<Z>& z) {
    using S = typename Z::Scalar;
    const auto sigmoid = (S(1) + (-z.derived()).exp()).inverse();
    return sigmoid * (S(1) + z.derived() * (S(1) - sigmoid));
  }
};

/// GELU, the exact erf form (PyTorch's default, not the tanh approximation).
struct GELU {
  static constexpr const char* name = "gelu";
  template <class S>
  static S value(S z) { return S(0.5) * z * (S(1) + std::erf(z * S(M_SQRT1_2))); }
  template <class S>
  static S derivative(S z) {
    const S cdf = S(0.5) * (S(1) + std::erf(z * S(M_SQRT1_2)));
    const S pdf = std::exp(S(-0.5) * z * z) * S(0.39894228040143267794);  // 1/sqrt(2 pi)
    return cdf + z * pdf;
  }
  // erf has no vectorized form in Eigen's core modules: element by element.
  template <class Z>
  static auto values(const Eigen::ArrayBase<Z>& z) {
    return z.derived().unaryExpr([](typename Z::Scalar v) { return value(v); });
  }
  template <class Z>
  static auto derivatives(const Eigen::ArrayBase<Z>& z) {
    return z.derived().unaryExpr([](typename Z::Scalar v) { return derivative(v); });
  }
};

/// Run-time choice of activation, so networks can be described in checkpoints and chosen
/// from the command line. Dispatch happens once per layer call, never per element.
enum class Activation { leaky_relu, silu, gelu };

inline std::string to_string(Activation activation) {
  switch (activation) {
    case Activation::leaky_relu: return LeakyReLU::name;
    case Activation::silu: return SiLU::name;
    case Activation::gelu: return GELU::name;
  }
  return "unknown";
}

inline Activation activation_from_string(const std::string& name) {
  if (name == LeakyReLU::name) return Activation::leaky_relu;
  if (name == SiLU::name) return Activation::silu;
  if (name == GELU::name) return Activation::gelu;
  detail::fail<value_error>("mam::activation_from_string", "leaky_relu, silu or gelu",
                            "'" + name + "'");
}

/// Calls f(FunctorType{}) for the functor of `activation`.
template <class F>
decltype(auto) visit_activation(Activation activation, F&& f) {
  switch (activation) {
    case Activation::silu: return f(SiLU{});
    case Activation::gelu: return f(GELU{});
    case Activation::leaky_relu: break;
  }
  return f(LeakyReLU{});
}

}  // namespace mam
