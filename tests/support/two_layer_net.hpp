#pragma once
// A second network family for the tests, written against the network contract
// (mam/nn/network.hpp) alone and sharing no code with ResidualMLP:
//
//   h = tanh(W_1 one_hot(x) + b_1),   out = W_2 h + b_2
//
// with a dense one-hot input of D*(K+1) entries ('?' is the last slot of each position). It
// has neither the incremental walk nor the row-block head, so every loss, sampler and
// trainer reaches it through the generic fallbacks (mam/nn/network_operations.hpp).

#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <mam/core/codes.hpp>
#include <mam/core/error.hpp>
#include <mam/core/rng.hpp>
#include <mam/core/types.hpp>
#include <mam/model/marginalization_model.hpp>

namespace mam::test {

template <class Scalar>
class TwoLayerNet {
 public:
  using scalar_type = Scalar;

  struct Context {
    CodeMatrix codes;
    Matrix<Scalar> output;
    Matrix<Scalar> input;   // D*(K+1) x batch one-hot
    Matrix<Scalar> hidden;  // H x batch, after tanh
  };

  TwoLayerNet(Index num_variables, Index num_values, Index hidden, Index output_size, Rng& rng)
      : d_(num_variables), k_(num_values), h_(hidden), out_(output_size) {
    detail::require<shape_error>(d_ > 0 && k_ > 0 && h_ > 0 && out_ > 0, "mam::test::TwoLayerNet",
                                 "positive sizes", detail::concat(d_, ", ", k_, ", ", h_, ", ", out_));
    parameters_.resize(h_ * inputs() + h_ + out_ * h_ + out_);
    const double input_scale = 1.0 / std::sqrt(static_cast<double>(d_));
    const double hidden_scale = 1.0 / std::sqrt(static_cast<double>(h_));
    for (Index i = 0; i < h_ * inputs() + h_; ++i) parameters_[i] = static_cast<Scalar>(rng.uniform(-input_scale, input_scale));
    for (Index i = h_ * inputs() + h_; i < parameters_.size(); ++i)
      parameters_[i] = static_cast<Scalar>(rng.uniform(-hidden_scale, hidden_scale));
  }

  Index num_variables() const { return d_; }
  Index num_values() const { return k_; }
  Index output_size() const { return out_; }
  Index num_parameters() const { return parameters_.size(); }
  Vector<Scalar>& parameters() { return parameters_; }
  const Vector<Scalar>& parameters() const { return parameters_; }
  void set_parameters(const Eigen::Ref<const Vector<Scalar>>& values) {
    detail::require<shape_error>(values.size() == num_parameters(), "mam::test::TwoLayerNet::set_parameters",
                                 detail::concat(num_parameters(), " parameters"), values.size());
    parameters_ = values;
  }

  std::vector<std::pair<std::string, std::string>> architecture() const {
    return {{"kind", "two_layer_test_net"},
            {"num_variables", std::to_string(d_)},
            {"num_values", std::to_string(k_)},
            {"hidden", std::to_string(h_)},
            {"output_size", std::to_string(out_)}};
  }

  // The head is cheap here: it is computed whether or not `with_head` asks for it.
  void forward(const Eigen::Ref<const CodeMatrix>& codes, Context& context, bool /*with_head*/ = true) const {
    validate_codes(codes, d_, k_, "mam::test::TwoLayerNet::forward");
    context.codes = codes;
    context.input = Matrix<Scalar>::Zero(inputs(), codes.cols());
    for (Index c = 0; c < codes.cols(); ++c)
      for (Index i = 0; i < d_; ++i) context.input(i * (k_ + 1) + (codes(i, c) == unknown ? k_ : codes(i, c)), c) = 1;
    context.hidden = ((w1(parameters_) * context.input).colwise() + b1(parameters_)).array().tanh().matrix();
    context.output = (w2(parameters_) * context.hidden).colwise() + b2(parameters_);
  }

  void backward(Context& context, const Eigen::Ref<const Matrix<Scalar>>& d_output, Vector<Scalar>& gradient) const {
    detail::require<shape_error>(d_output.rows() == out_ && d_output.cols() == context.codes.cols() &&
                                     gradient.size() == num_parameters(),
                                 "mam::test::TwoLayerNet::backward", "output gradients of a filled context",
                                 detail::concat(d_output.rows(), " x ", d_output.cols()));
    w2(gradient).noalias() += d_output * context.hidden.transpose();
    b2(gradient) += d_output.rowwise().sum();
    const Matrix<Scalar> d_pre =
        ((w2(parameters_).transpose() * d_output).array() * (1 - context.hidden.array().square())).matrix();
    w1(gradient).noalias() += d_pre * context.input.transpose();
    b1(gradient) += d_pre.rowwise().sum();
  }

  Matrix<Scalar> operator()(const Eigen::Ref<const CodeMatrix>& codes) const {
    Context context;
    forward(codes, context, true);
    return context.output;
  }

 private:
  Index inputs() const { return d_ * (k_ + 1); }
  // Views of the flat vector `p` (parameters or a gradient): W_1, b_1, W_2, b_2 in order.
  template <class V>
  using MatrixView = Eigen::Map<std::conditional_t<std::is_const<V>::value, const Matrix<Scalar>, Matrix<Scalar>>>;
  template <class V>
  MatrixView<V> w1(V& p) const { return {p.data(), h_, inputs()}; }
  template <class V>
  auto b1(V& p) const { return p.segment(h_ * inputs(), h_); }
  template <class V>
  MatrixView<V> w2(V& p) const { return {p.data() + h_ * inputs() + h_, out_, h_}; }
  template <class V>
  auto b2(V& p) const { return p.segment(h_ * inputs() + h_ + out_ * h_, out_); }

  Index d_ = 0, k_ = 0, h_ = 0, out_ = 0;
  Vector<Scalar> parameters_;
};

/// A marginal and a conditional TwoLayerNet over D variables with K values, `hidden` wide.
template <class Scalar>
MarginalizationModel<TwoLayerNet<Scalar>> make_two_layer_model(Index d, Index k, Index hidden, Rng& rng) {
  TwoLayerNet<Scalar> marginal(d, k, hidden, 1, rng);
  TwoLayerNet<Scalar> conditional(d, k, hidden, d * k, rng);
  return MarginalizationModel<TwoLayerNet<Scalar>>(std::move(marginal), std::move(conditional));
}

}  // namespace mam::test
