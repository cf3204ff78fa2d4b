#pragma once
// A network of the mam contract (mam/nn/network.hpp), as small as one can be:
// out = W one_hot(x) + b, a log-linear model. Copy it, rename it, and replace forward()
// and backward() with your architecture; everything else stays as it is.

#include <string>
#include <utility>
#include <vector>

#include <mam/core/codes.hpp>
#include <mam/core/error.hpp>
#include <mam/core/types.hpp>

template <class Scalar>
class MyNetwork {
 public:
  using scalar_type = Scalar;

  // What forward() leaves for backward(). `codes` and `output` are required; add whatever
  // your backward() needs (activations), and reuse it across passes to save allocations.
  struct Context {
    mam::CodeMatrix codes;       // the pass's input, D x batch, one sample per column
    mam::Matrix<Scalar> output;  // output_size() x batch
  };

  // output_size: 1 for a marginal network, D*K for a conditional one.
  MyNetwork(mam::Index num_variables, mam::Index num_values, mam::Index output_size)
      : d_(num_variables),
        k_(num_values),
        outputs_(output_size),
        parameters_(mam::Vector<Scalar>::Zero(output_size * (num_variables * (num_values + 1) + 1))) {}

  mam::Index num_variables() const { return d_; }
  mam::Index num_values() const { return k_; }
  mam::Index output_size() const { return outputs_; }
  mam::Index num_parameters() const { return parameters_.size(); }
  mam::Vector<Scalar>& parameters() { return parameters_; }
  const mam::Vector<Scalar>& parameters() const { return parameters_; }
  void set_parameters(const Eigen::Ref<const mam::Vector<Scalar>>& values) {
    mam::detail::require<mam::shape_error>(values.size() == num_parameters(), "MyNetwork::set_parameters",
                                           mam::detail::concat(num_parameters(), " parameters"), values.size());
    parameters_ = values;
  }

  // Saved in checkpoints: loading a checkpoint of another architecture is refused.
  std::vector<std::pair<std::string, std::string>> architecture() const {
    return {{"kind", "my_network"},
            {"num_variables", std::to_string(d_)},
            {"num_values", std::to_string(k_)},
            {"output_size", std::to_string(outputs_)}};
  }

  // Validates the codes, keeps them in the context and computes the output. A network may
  // skip its head when `with_head` is false only if it also has output_row_blocks() and
  // backward_rows(); this one always computes it.
  void forward(const Eigen::Ref<const mam::CodeMatrix>& codes, Context& context, bool /*with_head*/) const {
    mam::validate_codes(codes, d_, k_, "MyNetwork::forward");
    context.codes = codes;
    context.output = bias(parameters_).replicate(1, codes.cols());
    for (mam::Index c = 0; c < codes.cols(); ++c)
      for (mam::Index i = 0; i < d_; ++i) context.output.col(c) += weight(parameters_).col(column(i, codes(i, c)));
  }

  // Adds dL/d parameters to `gradient`, given dL/d output of the pass in `context`.
  void backward(Context& context, const Eigen::Ref<const mam::Matrix<Scalar>>& d_output,
                mam::Vector<Scalar>& gradient) const {
    auto weight_gradient = weight(gradient);
    bias(gradient) += d_output.rowwise().sum();
    for (mam::Index c = 0; c < context.codes.cols(); ++c)
      for (mam::Index i = 0; i < d_; ++i) weight_gradient.col(column(i, context.codes(i, c))) += d_output.col(c);
  }

  mam::Matrix<Scalar> operator()(const Eigen::Ref<const mam::CodeMatrix>& codes) const {
    Context context;
    forward(codes, context, true);
    return context.output;
  }

 private:
  // The one-hot column of `code` at `position`: K + 1 per position, the last one for '?'.
  mam::Index column(mam::Index position, mam::Code code) const {
    return position * (k_ + 1) + (code == mam::unknown ? k_ : code);
  }
  // W (output_size x D*(K+1)) and b (output_size) as views of a flat vector: the parameters
  // or a gradient.
  Eigen::Map<mam::Matrix<Scalar>> weight(mam::Vector<Scalar>& p) const { return {p.data(), outputs_, d_ * (k_ + 1)}; }
  Eigen::Map<const mam::Matrix<Scalar>> weight(const mam::Vector<Scalar>& p) const {
    return {p.data(), outputs_, d_ * (k_ + 1)};
  }
  auto bias(mam::Vector<Scalar>& p) const { return p.tail(outputs_); }
  auto bias(const mam::Vector<Scalar>& p) const { return p.tail(outputs_); }

  mam::Index d_, k_, outputs_;
  mam::Vector<Scalar> parameters_;
};
