#pragma once
// The observed-value-sum head of a marginal network:
//
//   out = c + sum over observed positions i of (e_{i,x_i} . h + b_{i,x_i})   one output
//
// with a vector e and a bias b per (position, value), read against the last hidden layer h.
// It gives log p(x_S) the chain rule's shape, a sum of one term per revealed position read
// off the context's features, where a linear head must build each term's dependence on x_i
// inside the trunk. It outputs exactly c for the all-'?' input.
//
// Parameters, from `offset` in the network's flat vector: e_r (r = i*K + v) as column r of
// an H x D*K table (contiguous per entry), then the D*K biases b_r, then c. A pass reads only
// the observed entries, O(|S| H) per sample.

#include <cstddef>
#include <vector>

#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"

namespace mam {

template <class Scalar>
class ObservedValueSumHead {
 public:
  /// Reusable backward buffers: the samples observing each entry r,
  /// samples[start[r] .. start[r+1]) (a counting sort by entry).
  struct Scratch {
    std::vector<Index> start, samples, next;
  };

  ObservedValueSumHead() = default;
  ObservedValueSumHead(Index num_variables, Index num_values, Index hidden, Index offset)
      : d_(num_variables), k_(num_values), h_(hidden), offset_(offset) {}

  Index offset() const { return offset_; }
  Index num_parameters() const { return h_ * d_ * k_ + d_ * k_ + 1; }
  /// c: the output for the all-'?' input.
  Scalar constant(const Vector<Scalar>& parameters) const { return parameters[offset_ + num_parameters() - 1]; }

  /// output(0, c) = c + sum over the observed entries r of sample c of (e_r . h_c + b_r).
  void forward(const Vector<Scalar>& parameters, const CodeMatrix& codes, const Matrix<Scalar>& features,
               Matrix<Scalar>& output) const {
    const Index batch = codes.cols();
    const auto table = score_table(parameters);
    const auto bias = biases(parameters);
    const Scalar constant_term = constant(parameters);
    output.resize(1, batch);
#pragma omp parallel for schedule(static) if (d_ * h_ * batch >= detail::parallel_work_threshold)
    for (Index c = 0; c < batch; ++c) {
      Scalar sum = constant_term;
      for (Index i = 0; i < d_; ++i) {
        const Code code = codes(i, c);
        if (code == unknown) continue;
        const Index r = i * k_ + code;
        sum += table.col(r).dot(features.col(c)) + bias[r];
      }
      output(0, c) = sum;
    }
  }

  /// The mirror of forward(): d_features (H x batch) = dL/dh, and into `gradient`
  /// dL/de_r += sum of g_c h_c and dL/db_r += sum of g_c over the samples c that observe r,
  /// dL/dc += sum of g_c. Split over threads without sharing a written element: dL/dh by
  /// samples, dL/de by table entries, each summing its samples in order (so the gradient
  /// does not depend on the thread count).
  void backward(const Vector<Scalar>& parameters, const CodeMatrix& codes, const Matrix<Scalar>& features,
                const Eigen::Ref<const Matrix<Scalar>>& d_output, Vector<Scalar>& gradient,
                Matrix<Scalar>& d_features, Scratch& scratch) const {
    const Index batch = codes.cols(), entries = d_ * k_;
    const auto table = score_table(parameters);
    auto table_gradient = score_table(gradient);
    auto bias_gradient = biases(gradient);
    auto& start = scratch.start;
    auto& samples = scratch.samples;
    auto& next = scratch.next;
    start.assign(static_cast<std::size_t>(entries + 1), 0);
    for (Index c = 0; c < batch; ++c)
      for (Index i = 0; i < d_; ++i)
        if (codes(i, c) != unknown) ++start[static_cast<std::size_t>(i * k_ + codes(i, c) + 1)];
    for (Index r = 0; r < entries; ++r) start[static_cast<std::size_t>(r + 1)] += start[static_cast<std::size_t>(r)];
    samples.resize(static_cast<std::size_t>(start.back()));
    next.assign(start.begin(), start.end() - 1);
    for (Index c = 0; c < batch; ++c)
      for (Index i = 0; i < d_; ++i)
        if (codes(i, c) != unknown) samples[static_cast<std::size_t>(next[static_cast<std::size_t>(i * k_ + codes(i, c))]++)] = c;

    d_features.resize(h_, batch);
    const bool parallel = d_ * h_ * batch >= detail::parallel_work_threshold;
#pragma omp parallel if (parallel)
    {
#pragma omp for schedule(static) nowait
      for (Index c = 0; c < batch; ++c) {
        auto column = d_features.col(c);
        column.setZero();
        for (Index i = 0; i < d_; ++i)
          if (codes(i, c) != unknown) column += table.col(i * k_ + codes(i, c));
        column *= d_output(0, c);
      }
#pragma omp for schedule(dynamic, 8)
      for (Index r = 0; r < entries; ++r) {
        auto entry = table_gradient.col(r);
        Scalar bias_sum = 0;
        for (Index n = start[static_cast<std::size_t>(r)]; n < start[static_cast<std::size_t>(r + 1)]; ++n) {
          const Index c = samples[static_cast<std::size_t>(n)];
          entry += d_output(0, c) * features.col(c);
          bias_sum += d_output(0, c);
        }
        bias_gradient[r] += bias_sum;
      }
    }
    gradient[offset_ + num_parameters() - 1] += d_output.sum();
  }

 private:
  // The table of score vectors e_r and the biases b_r, as views of a flat vector (the
  // parameters or a gradient).
  Eigen::Map<const Matrix<Scalar>> score_table(const Vector<Scalar>& p) const { return {p.data() + offset_, h_, d_ * k_}; }
  Eigen::Map<Matrix<Scalar>> score_table(Vector<Scalar>& p) const { return {p.data() + offset_, h_, d_ * k_}; }
  auto biases(const Vector<Scalar>& p) const { return p.segment(offset_ + h_ * d_ * k_, d_ * k_); }
  auto biases(Vector<Scalar>& p) const { return p.segment(offset_ + h_ * d_ * k_, d_ * k_); }

  Index d_ = 0, k_ = 0, h_ = 0, offset_ = 0;
};

}  // namespace mam
