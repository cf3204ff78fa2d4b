#pragma once
// The optional parts of the network contract (nn/network.hpp), called through one function
// each: the network's own member when it has one, else the one generic fallback, written
// here and nowhere else. Losses, samplers and walks call these, so a network family that
// implements only forward() and backward() works with all of them, and one with the fast
// members (ResidualMLP) keeps its incremental path.
//
//   forward_for_rows(net, codes, context)     a pass from which only row blocks are read
//   update_code(net, context, sample, position, code)
//   recompute(net, context, with_head)
//   output_row_blocks(net, context, first_rows, count, rows)
//   backward_rows(net, context, first_rows, d_rows, gradient)
//
// Cost of the fallbacks: recompute() is a whole forward pass (a walk of D steps costs D
// passes, where the incremental walk updates one input column per step), and the row
// functions use the whole head (a d_output of output_size() rows, mostly zero).

#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/network.hpp"

namespace mam {

/// forward() for a caller that reads outputs only through output_row_blocks() and trains
/// only through backward_rows(): networks with the row-block head skip their head, others
/// compute it (the fallbacks slice it).
template <class Net>
void forward_for_rows(const Net& net, const Eigen::Ref<const CodeMatrix>& codes, typename Net::Context& context) {
  net.forward(codes, context, !has_row_block_head_v<Net>);
}

/// Sets the code of `position` in sample `sample` of a filled context; the outputs are stale
/// until recompute(). Fallback: the context's codes are edited, for recompute() to pass again.
template <class Net>
void update_code(const Net& net, typename Net::Context& context, Index sample, Index position, Code code) {
  if constexpr (is_walkable_network_v<Net>) {
    net.update_code(context, sample, position, code);
  } else {
    const char* function = "mam::update_code";
    if (!(sample >= 0 && sample < context.codes.cols() && position >= 0 && position < net.num_variables()))
      detail::fail<shape_error>(
          function, detail::concat("sample < ", context.codes.cols(), " and position < ", net.num_variables()),
          detail::concat("sample ", sample, ", position ", position));
    if (!(code == unknown || (code >= 0 && code < net.num_values())))
      detail::fail<value_error>(function, detail::concat("a code in 0..", net.num_values() - 1, " or mam::unknown"),
                                code);
    context.codes(position, sample) = code;
  }
}

/// Brings the outputs of a context up to date after update_code() calls. With `with_head` =
/// false only output_row_blocks() may be read afterwards. Fallback: a whole forward pass over
/// the context's codes.
template <class Net>
void recompute(const Net& net, typename Net::Context& context, bool with_head) {
  if constexpr (is_walkable_network_v<Net>) {
    net.recompute(context, with_head || !has_row_block_head_v<Net>);
  } else {
    const CodeMatrix codes = context.codes;  // forward() overwrites the context's copy
    net.forward(codes, context, with_head || !has_row_block_head_v<Net>);
  }
}

/// Column c of `rows` (count x batch) becomes outputs first_rows[c] .. first_rows[c]+count-1
/// of sample c, or zero where first_rows[c] is negative. The context must come from
/// forward_for_rows(), forward(..., true) or recompute(). Fallback: a slice of context.output.
template <class Net>
void output_row_blocks(const Net& net, const typename Net::Context& context, const std::vector<Index>& first_rows,
                       Index count, Matrix<typename Net::scalar_type>& rows) {
  if constexpr (has_row_block_head_v<Net>) {
    net.output_row_blocks(context, first_rows, count, rows);
  } else {
    const Index batch = context.codes.cols();
    bool valid = static_cast<Index>(first_rows.size()) == batch && count >= 0 &&
                 context.output.rows() == net.output_size() && context.output.cols() == batch;
    for (std::size_t c = 0; valid && c < first_rows.size(); ++c) valid = first_rows[c] + count <= net.output_size();
    if (!valid)
      detail::fail<shape_error>("mam::output_row_blocks",
                                detail::concat("one first row per sample (", batch, ") with rows within ",
                                               net.output_size(), " outputs of a filled context"),
                                detail::concat(first_rows.size(), " first rows of ", count, " rows each"));
    rows.resize(count, batch);
    for (Index c = 0; c < batch; ++c) {
      const Index first = first_rows[static_cast<std::size_t>(c)];
      if (first < 0)
        rows.col(c).setZero();
      else
        rows.col(c) = context.output.col(c).segment(first, count);
    }
  }
}

/// backward() for a d_output that is zero outside `count` = d_rows.rows() rows per sample:
/// rows first_rows[c] .. first_rows[c]+count-1 of sample c carry d_rows.col(c). Fallback:
/// backward() with the dense d_output.
template <class Net>
void backward_rows(const Net& net, typename Net::Context& context, const std::vector<Index>& first_rows,
                   const Eigen::Ref<const Matrix<typename Net::scalar_type>>& d_rows,
                   Vector<typename Net::scalar_type>& gradient) {
  if constexpr (has_row_block_head_v<Net>) {
    net.backward_rows(context, first_rows, d_rows, gradient);
  } else {
    const Index batch = d_rows.cols(), count = d_rows.rows();
    bool valid = static_cast<Index>(first_rows.size()) == batch && batch == context.codes.cols();
    for (std::size_t c = 0; valid && c < first_rows.size(); ++c)
      valid = first_rows[c] >= 0 && first_rows[c] + count <= net.output_size();
    if (!valid)
      detail::fail<shape_error>("mam::backward_rows",
                                detail::concat("one first row per sample of the context (", context.codes.cols(),
                                               ") with rows within ", net.output_size(), " outputs"),
                                detail::concat(first_rows.size(), " first rows for ", batch, " samples of ", count,
                                               " rows each"));
    Matrix<typename Net::scalar_type> d_output = Matrix<typename Net::scalar_type>::Zero(net.output_size(), batch);
    for (Index c = 0; c < batch; ++c) d_output.col(c).segment(first_rows[static_cast<std::size_t>(c)], count) = d_rows.col(c);
    net.backward(context, d_output, gradient);
  }
}

}  // namespace mam
