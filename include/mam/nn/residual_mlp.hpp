#pragma once
// The residual MLP of the reference MaM code ("MLPRes"):
//
//   h_0 = act(W_0 one_hot(x) + b_0)                       input layer, D*(K+1) -> H
//   h_l = act(W_l h_{l-1} + b_l) + h_{l-1},  l = 1..n-1   residual blocks, H -> H
//   out = W_n h_{n-1} + b_n                               linear head, H -> output_size
//
// or, for a marginal network, the observed-value-sum head (Head::observed_value_sum,
// nn/observed_value_sum_head.hpp), c plus one learned score per observed position and value
// read off h_{n-1}. Its parameters lie where a linear head's of D*K outputs would (as an
// H x D*K table, then D*K biases), then c; it runs in float also under bfloat16 precision.
//
// The network is stateless about activations: forward() fills a Context that backward()
// consumes, so several passes of one network can be alive at once. Parameters live in one
// flat vector; every layer is a view of a slice of it.
//
// With set_matmul_precision(MatmulPrecision::bfloat16) (float networks on AMX CPUs) the
// hidden layers' and the head's products run in bfloat16 with float sums, forward and
// backward. The weights are packed (W for forward, W^T for backward) once per version of the
// parameters and shared by every pass until they change: a training step packs once, an
// inference model once. Change the parameters between passes, not within one: a walk's
// recompute() and a backward() keep the packing their forward() took. The input layer (a
// gather and a scatter), the activations and the parameters stay in float.
//
// In float precision on the AVX2 kernel, passes that reuse the weights keep W packed the same
// way (detail::PackedFloatLhs): walks, from their first recompute(), and forward passes over
// fewer than `packed_pass_columns` samples, which would otherwise pack W for each of a few
// columns' products (a query of 16 images); a pass of a full batch takes the packing only if
// the same parameters already have one (a walk of this step packed them).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/activation.hpp"
#include "mam/nn/bf16_matmul.hpp"
#include "mam/nn/detail/activation_loops.hpp"
#include "mam/nn/detail/packed_weights.hpp"
#include "mam/nn/linear.hpp"
#include "mam/nn/observed_value_sum_head.hpp"
#include "mam/nn/one_hot_input.hpp"

namespace mam {

/// What the last hidden layer feeds (see the top of this file).
enum class Head {
  linear,             ///< output_size outputs, W h + b
  observed_value_sum  ///< one output: c plus e_{i,x_i} . h + b_{i,x_i} over the observed positions i
};

inline std::string to_string(Head head) { return head == Head::linear ? "linear" : "observed_value_sum"; }

struct ResidualMLPConfig {
  Index num_variables = 0;  ///< D: positions per sample
  Index num_values = 0;     ///< K: values per position (the '?' slot is added internally)
  Index hidden = 0;         ///< H: width of every hidden layer
  Index num_layers = 4;     ///< input layer plus (num_layers - 1) residual blocks
  Index output_size = 0;    ///< head width: 1 for a marginal net, D*K for a conditional net
  Activation activation = Activation::leaky_relu;
  Head head = Head::linear;  ///< observed_value_sum needs output_size 1
};

template <class Scalar>
class ResidualMLP {
  static_assert(std::is_floating_point<Scalar>::value, "mam::ResidualMLP needs float or double");

 public:
  using scalar_type = Scalar;

  /// The packing of the residual blocks' and the head's weights (in that order) at one
  /// version of the parameters (nn/detail/packed_weights.hpp).
  using PackedWeights = detail::PackedWeights;

  /// Forward passes over fewer samples than this pack the float weights once for all passes
  /// of the same parameters (see the file comment).
  static constexpr Index packed_pass_columns = 128;

  /// What one forward pass leaves for its backward pass, plus reusable backward buffers.
  /// Reusing a Context across steps of the same shape allocates nothing.
  struct Context {
    CodeMatrix codes;                        ///< D x batch input
    std::vector<Matrix<Scalar>> pre;         ///< pre-activations z_l, H x batch each
    std::vector<Matrix<Scalar>> hidden;      ///< h_l, H x batch each
    Matrix<Scalar> output;                   ///< output_size x batch
    Matrix<Scalar> grad_hidden, grad_pre;    ///< backward workspace
    /// recompute() without the head (a walk): the head's weights by rows, so that
    /// output_rows reads K contiguous rows instead of K floats from each of H columns.
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> head_by_rows;
    std::shared_ptr<const PackedWeights> packed;  ///< the packed weights of this pass, if any
    Bf16Operand operand;                          ///< bfloat16 precision: the current product's input
    Bf16PackedMatrix packed_backward;             ///< bfloat16 backward: the current dL/dz
    /// Head::observed_value_sum backward: reusable buffers.
    typename ObservedValueSumHead<Scalar>::Scratch sum_head_scratch;

    Index batch_size() const { return codes.cols(); }
  };

  ResidualMLP() = default;

  explicit ResidualMLP(const ResidualMLPConfig& config) : config_(config) {
    const char* function = "mam::ResidualMLP";
    detail::require<shape_error>(config.num_variables > 0, function, "num_variables > 0",
                                 config.num_variables);
    detail::require<shape_error>(config.num_values > 0, function, "num_values > 0",
                                 config.num_values);
    detail::require<shape_error>(config.hidden > 0, function, "hidden > 0", config.hidden);
    detail::require<shape_error>(config.num_layers >= 1, function, "num_layers >= 1",
                                 config.num_layers);
    detail::require<shape_error>(config.output_size > 0, function, "output_size > 0",
                                 config.output_size);
    detail::require<shape_error>(config.head == Head::linear || config.output_size == 1, function,
                                 "output_size 1 with the observed-value-sum head", config.output_size);
    Index offset = 0;
    input_ = OneHotInput<Scalar>(config.num_variables, config.num_values, config.hidden, offset);
    offset += input_.num_parameters();
    for (Index l = 1; l < config.num_layers; ++l) {
      blocks_.emplace_back(config.hidden, config.hidden, offset);
      offset += blocks_.back().num_parameters();
    }
    head_ = Linear<Scalar>(config.hidden, head_rows_count(), offset);
    offset += head_.num_parameters();
    if (config.head == Head::observed_value_sum) {
      sum_head_ = ObservedValueSumHead<Scalar>(config.num_variables, config.num_values, config.hidden, head_.offset());
      offset += 1;  // the constant c, last
    }
    parameters_ = Vector<Scalar>::Zero(offset);
  }

  ResidualMLP(const ResidualMLPConfig& config, Rng& rng) : ResidualMLP(config) { initialize(rng); }

  const ResidualMLPConfig& config() const { return config_; }
  Index num_variables() const { return config_.num_variables; }
  Index num_values() const { return config_.num_values; }
  Index output_size() const { return config_.output_size; }
  Index num_parameters() const { return parameters_.size(); }

  /// Mutable access. Passes that start after this call see the parameters as they are then
  /// (the packed weights are made again), so change them through a reference taken after the
  /// last pass, as optimizers do, not through one kept from before it.
  Vector<Scalar>& parameters() {
    packing_.invalidate();
    return parameters_;
  }
  const Vector<Scalar>& parameters() const { return parameters_; }

  /// Replaces all parameters (size must match).
  void set_parameters(const Eigen::Ref<const Vector<Scalar>>& values) {
    detail::require<shape_error>(values.size() == num_parameters(),
                                 "mam::ResidualMLP::set_parameters",
                                 detail::concat(num_parameters(), " parameters"), values.size());
    packing_.invalidate();
    parameters_ = values;
  }

  /// A zero vector shaped like the parameters, for backward() to accumulate into.
  Vector<Scalar> zero_gradient() const { return Vector<Scalar>::Zero(num_parameters()); }

  /// PyTorch's default initialization of every linear layer, drawn from `rng` in layer order.
  void initialize(Rng& rng) {
    packing_.invalidate();
    input_.initialize(parameters_, rng);
    for (const auto& block : blocks_) block.initialize(parameters_, rng);
    head_.initialize(parameters_, rng);
    if (config_.head == Head::observed_value_sum) parameters_[parameters_.size() - 1] = Scalar(0);
  }

  /// Takes the trunk (input layer and residual blocks) of `other`, a network of the same
  /// D, K, width, depth and activation with any head; this network's head is left as it is.
  /// The trunk leads the flat parameter vector, so this is one contiguous copy.
  void copy_trunk_from(const ResidualMLP& other) {
    const ResidualMLPConfig& theirs = other.config();
    const bool same = theirs.num_variables == config_.num_variables && theirs.num_values == config_.num_values &&
                      theirs.hidden == config_.hidden && theirs.num_layers == config_.num_layers &&
                      theirs.activation == config_.activation;
    detail::require<architecture_error>(
        same, "mam::ResidualMLP::copy_trunk_from",
        detail::concat("a trunk of D=", config_.num_variables, ", K=", config_.num_values, ", hidden ", config_.hidden,
                       ", ", config_.num_layers, " layers, ", to_string(config_.activation)),
        detail::concat("D=", theirs.num_variables, ", K=", theirs.num_values, ", hidden ", theirs.hidden, ", ",
                       theirs.num_layers, " layers, ", to_string(theirs.activation)));
    packing_.invalidate();
    parameters_.head(head_.offset()) = other.parameters().head(head_.offset());
  }

  /// How forward passes multiply (see the file comment). bfloat16 needs a float network and
  /// amx_bf16_available(); it is a setting of this object, not saved in checkpoints.
  void set_matmul_precision(MatmulPrecision precision) {
    const char* function = "mam::ResidualMLP::set_matmul_precision";
    if (precision == MatmulPrecision::bfloat16) {
      detail::require<value_error>(std::is_same<Scalar, float>::value, function, "a float network for bfloat16",
                                   "a double one");
      detail::require<error>(amx_bf16_available(), function,
                             "a CPU with AMX-BF16 (and Linux's permission to use it) for bfloat16", "none");
    }
    packing_.invalidate();
    precision_ = precision;
  }
  MatmulPrecision matmul_precision() const { return precision_; }

  /// Sets the head's parameters to zero: the network then outputs 0 for every input.
  void set_head_to_zero() {
    packing_.invalidate();
    parameters_.tail(parameters_.size() - head_.offset()).setZero();
  }

  const OneHotInput<Scalar>& input_layer() const { return input_; }
  const std::vector<Linear<Scalar>>& residual_blocks() const { return blocks_; }
  /// The head's slice of the parameters. With Head::observed_value_sum its weight block is
  /// the H x D*K table of the file comment (not a D*K x H weight), and c follows it.
  const Linear<Scalar>& head() const { return head_; }

  /// The output for the all-'?' input where the head makes it a parameter, so that callers
  /// normalizing by it skip a pass: c with Head::observed_value_sum; none with the linear
  /// head, whose value needs the trunk.
  std::optional<Scalar> output_at_all_unknown() const {
    if (config_.head == Head::observed_value_sum) return sum_head_.constant(parameters_);
    return std::nullopt;
  }

  /// Describes the architecture (for checkpoints: a checkpoint of another shape is refused).
  /// The head is named only when it is not the linear one, so that checkpoints written
  /// before heads were a choice still load.
  std::vector<std::pair<std::string, std::string>> architecture() const {
    std::vector<std::pair<std::string, std::string>> description{
        {"kind", "residual_mlp"},
        {"num_variables", std::to_string(config_.num_variables)},
        {"num_values", std::to_string(config_.num_values)},
        {"hidden", std::to_string(config_.hidden)},
        {"num_layers", std::to_string(config_.num_layers)},
        {"output_size", std::to_string(config_.output_size)},
        {"activation", to_string(config_.activation)}};
    if (config_.head != Head::linear) description.emplace_back("head", to_string(config_.head));
    return description;
  }

  /// Forward pass of a D x batch code matrix into `context` (its buffers are reused). With
  /// `with_head` = false the output is not computed, for callers that read a few outputs
  /// per sample (output_rows) and back-propagate through those only (backward_rows).
  void forward(const Eigen::Ref<const CodeMatrix>& codes, Context& context, bool with_head = true) const {
    validate_codes(codes, config_.num_variables, config_.num_values, "mam::ResidualMLP::forward");
    context.codes = codes;
    input_.forward(parameters_, context.codes, pre_input(context));
    // A new pass takes the weights as they are now.
    if (precision_ == MatmulPrecision::bfloat16 || (float_packing_used() && codes.cols() < packed_pass_columns))
      context.packed = packing();
    else
      context.packed = packing_.current();
    context.head_by_rows.resize(0, 0);
    compute_layers(context, with_head);
  }

  /// Sets the code of `position` in sample `sample` of a context filled by forward(),
  /// updating the input layer in O(H) instead of redoing its O(D*H) gather. Outputs are
  /// stale until recompute(): change many codes, then recompute once. Samplers and the
  /// chain rule reveal one position per sample and step this way.
  void update_code(Context& context, Index sample, Index position, Code code) const {
    const char* function = "mam::ResidualMLP::update_code";
    // Called once per sample and step of every walk: messages are built only on failure.
    detail::require<shape_error>(context.pre.size() == static_cast<std::size_t>(config_.num_layers),
                                 function, "a context filled by forward()", "an empty context");
    if (!(sample >= 0 && sample < context.batch_size() && position >= 0 && position < config_.num_variables))
      detail::fail<shape_error>(function,
                                detail::concat("sample < ", context.batch_size(), " and position < ",
                                               config_.num_variables),
                                detail::concat("sample ", sample, ", position ", position));
    if (!(code == unknown || (code >= 0 && code < config_.num_values)))
      detail::fail<value_error>(function, detail::concat("a code in 0..", config_.num_values - 1, " or mam::unknown"),
                                code);
    Code& current = context.codes(position, sample);
    input_.update_position(parameters_, sample, position, current, code, context.pre[0]);
    current = code;
  }

  /// Recomputes every layer above the input layer from the context's input pre-activation
  /// (after update_code calls; forward() calls it itself). With `with_head` = false the
  /// output is left stale, for callers that need only a few outputs per sample
  /// (output_rows): samplers read K of the D*K conditional logits per step. In bfloat16
  /// precision the weights are those forward() packed.
  void recompute(Context& context, bool with_head = true) const {
    // A caller that recomputes without the head is walking: it will read output rows at
    // every step, so the head's rows are worth copying once (a single forward() is not).
    if (!with_head && context.head_by_rows.rows() == 0) context.head_by_rows = head_.weight(parameters_);
    if (!context.packed && float_packing_used()) context.packed = packing();
    compute_layers(context, with_head);
  }

  /// Sets `rows` to outputs first_row .. first_row+count-1 of sample `sample`, from the
  /// context's last hidden layer: O(count * H) instead of the whole head. Within a walk
  /// (recompute without the head) the head's weights are those of its first recompute().
  void output_rows(const Context& context, Index sample, Index first_row, Index count, Vector<Scalar>& rows) const {
    require_linear_head("mam::ResidualMLP::output_rows");
    if (!(sample >= 0 && sample < context.batch_size() && first_row >= 0 && count >= 0 &&
          first_row + count <= config_.output_size && !context.hidden.empty()))
      detail::fail<shape_error>(
          "mam::ResidualMLP::output_rows",
          detail::concat("rows within ", config_.output_size, " outputs of a sample below ", context.batch_size()),
          detail::concat("rows ", first_row, "..", first_row + count - 1, " of sample ", sample));
    rows.resize(count);
    head_rows(context, sample, first_row, count, rows);
  }

  /// output_rows for every sample of the context at once, spread over threads: column c of
  /// `rows` (count x batch) is set to outputs first_rows[c] .. first_rows[c]+count-1 of
  /// sample c, or to zero where first_rows[c] is negative (a sample with nothing to read).
  /// Walks and the self-consistency loss read one position's K logits per sample this way.
  void output_row_blocks(const Context& context, const std::vector<Index>& first_rows, Index count,
                         Matrix<Scalar>& rows) const {
    require_linear_head("mam::ResidualMLP::output_row_blocks");
    const Index batch = context.batch_size();
    bool valid = static_cast<Index>(first_rows.size()) == batch && count >= 0 && !context.hidden.empty();
    for (std::size_t c = 0; valid && c < first_rows.size(); ++c)
      valid = first_rows[c] + count <= config_.output_size;
    if (!valid)
      detail::fail<shape_error>("mam::ResidualMLP::output_row_blocks",
                                detail::concat("one first row per sample (", batch, ") with rows within ",
                                               config_.output_size, " outputs"),
                                detail::concat(first_rows.size(), " first rows of ", count, " rows each"));
    rows.resize(count, batch);
#pragma omp parallel for schedule(static) if (count * config_.hidden * batch >= detail::parallel_work_threshold)
    for (Index c = 0; c < batch; ++c) {
      const Index first = first_rows[static_cast<std::size_t>(c)];
      if (first < 0) {
        rows.col(c).setZero();
        continue;
      }
      auto column = rows.col(c);
      head_rows(context, c, first, count, column);
    }
  }

  Context forward(const Eigen::Ref<const CodeMatrix>& codes) const {
    Context context;
    forward(codes, context);
    return context;
  }

  /// Output only (output_size x batch).
  Matrix<Scalar> operator()(const Eigen::Ref<const CodeMatrix>& codes) const {
    return forward(codes).output;
  }

  /// Back-propagates d_output (output_size x batch, dL/d output) through the pass recorded in
  /// `context`, adding dL/d parameters into `gradient`. If `input_gradient` is given, it is
  /// set to dL/d one_hot(codes) (D*(K+1) x batch).
  void backward(Context& context, const Eigen::Ref<const Matrix<Scalar>>& d_output,
                Vector<Scalar>& gradient, Matrix<Scalar>* input_gradient = nullptr) const {
    const char* function = "mam::ResidualMLP::backward";
    require_backward_shapes(function, context, d_output.rows() == config_.output_size, d_output, gradient);
    take_packing_if_missing(context);
    if (config_.head == Head::observed_value_sum)
      sum_head_.backward(parameters_, context.codes, context.hidden.back(), d_output, gradient, context.grad_hidden,
                         context.sum_head_scratch);
    else if (precision_ == MatmulPrecision::bfloat16)
      backward_linear_bf16(context, blocks_.size(), head_, context.hidden.back(), d_output, gradient,
                           context.grad_hidden, false);
    else
      head_.backward(parameters_, context.hidden.back(), d_output, gradient, &context.grad_hidden);
    backward_trunk(context, gradient, input_gradient);
  }

  /// backward() for a d_output that is zero outside `count` rows per sample: rows
  /// first_rows[c] .. first_rows[c]+count-1 of sample c carry d_rows.col(c) (count x batch).
  /// The head then costs O(count * H) per sample instead of a dense GEMM, the mirror of
  /// output_rows(): self-consistency trains one position's K logits per sample.
  void backward_rows(Context& context, const std::vector<Index>& first_rows,
                     const Eigen::Ref<const Matrix<Scalar>>& d_rows, Vector<Scalar>& gradient) const {
    const char* function = "mam::ResidualMLP::backward_rows";
    require_linear_head(function);
    const Index count = d_rows.rows();
    require_backward_shapes(function, context, static_cast<Index>(first_rows.size()) == d_rows.cols(), d_rows,
                            gradient);
    take_packing_if_missing(context);
    const Index batch = context.batch_size();
    const auto& last = context.hidden.back();
    auto weight = head_.weight(parameters_);
    auto weight_gradient = head_.weight(gradient);
    auto bias_gradient = head_.bias(gradient);
    auto& grad_hidden = context.grad_hidden;
    grad_hidden.resize(config_.hidden, batch);
    for (Index c = 0; c < batch; ++c) {  // all checked before the gradient is touched
      const Index first = first_rows[static_cast<std::size_t>(c)];
      if (!(first >= 0 && first + count <= config_.output_size))  // the message only on failure
        detail::fail<shape_error>(function, detail::concat("rows within ", config_.output_size, " outputs"),
                                  detail::concat("rows ", first, "..", first + count - 1, " of sample ", c));
    }
    // Both loops split over threads without sharing a written element: dL/dh by samples, and
    // dL/dW by blocks of its columns, each block summing the samples in the same order (so
    // the gradient does not depend on the thread count).
    const bool parallel = count * config_.hidden * batch >= detail::parallel_work_threshold;
    const Index column_block = 64, column_blocks = (config_.hidden + column_block - 1) / column_block;
#pragma omp parallel if (parallel)
    {
#pragma omp for schedule(static) nowait
      for (Index c = 0; c < batch; ++c) {
        const Index first = first_rows[static_cast<std::size_t>(c)];
        grad_hidden.col(c).noalias() = weight.middleRows(first, count).transpose() * d_rows.col(c);
      }
#pragma omp for schedule(static)
      for (Index b = 0; b < column_blocks; ++b) {
        const Index from = b * column_block, width = std::min(column_block, config_.hidden - from);
        for (Index c = 0; c < batch; ++c) {
          const Index first = first_rows[static_cast<std::size_t>(c)];
          weight_gradient.block(first, from, count, width).noalias() +=
              d_rows.col(c) * last.col(c).segment(from, width).transpose();
        }
      }
    }
    for (Index c = 0; c < batch; ++c)
      bias_gradient.segment(first_rows[static_cast<std::size_t>(c)], count) += d_rows.col(c);
    backward_trunk(context, gradient, nullptr);
  }

 private:
  // Rows of the head's product: the outputs, or the D*K scores they are summed from.
  Index head_rows_count() const {
    return config_.head == Head::linear ? config_.output_size : config_.num_variables * config_.num_values;
  }

  // Reading or training single output rows addresses the linear head's outputs.
  void require_linear_head(const char* function) const {
    if (config_.head != Head::linear)
      detail::fail<shape_error>(function, "a network with a linear head", "the observed-value-sum head");
  }

  void require_backward_shapes(const char* function, const Context& context, bool rows_match,
                               const Eigen::Ref<const Matrix<Scalar>>& d_output, const Vector<Scalar>& gradient) const {
    detail::require<shape_error>(
        rows_match && d_output.cols() == context.batch_size() &&
            context.hidden.size() == static_cast<std::size_t>(config_.num_layers),
        function,
        detail::concat("output gradients for the ", context.batch_size(),
                       " samples of a context filled by forward()"),
        detail::concat(d_output.rows(), " x ", d_output.cols()));
    detail::require<shape_error>(gradient.size() == num_parameters(), function,
                                 detail::concat("gradient of size ", num_parameters()), gradient.size());
  }

  // From dL/d(last hidden layer) in context.grad_hidden down to the input layer.
  void backward_trunk(Context& context, Vector<Scalar>& gradient, Matrix<Scalar>* input_gradient) const {
    auto& grad_hidden = context.grad_hidden;
    auto& grad_pre = context.grad_pre;
    visit_activation(config_.activation, [&](auto act) {
      for (Index l = config_.num_layers - 1; l >= 1; --l) {
        const auto& block = blocks_[static_cast<std::size_t>(l - 1)];
        const auto& below = context.hidden[static_cast<std::size_t>(l - 1)];
        detail::activation_backward(act, context.pre[static_cast<std::size_t>(l)], grad_hidden, grad_pre);
        if (precision_ == MatmulPrecision::bfloat16) {
          backward_linear_bf16(context, static_cast<std::size_t>(l - 1), block, below, grad_pre, gradient,
                               grad_hidden, true);
          continue;
        }
        detail::multiply(grad_pre, below.transpose(), block.weight(gradient), true);
        block.bias(gradient) += grad_pre.rowwise().sum();
        // The skip connection passes grad_hidden straight through; the block adds W^T dz.
        detail::multiply(block.weight(parameters_).transpose(), grad_pre, grad_hidden, true);
      }
      detail::activation_backward(act, context.pre[0], grad_hidden, grad_pre);
    });
    input_.backward(context.codes, grad_pre, gradient);
    if (input_gradient != nullptr) input_.input_gradient(parameters_, grad_pre, *input_gradient);
  }

  // Every layer above the input layer (recompute() without its walk bookkeeping).
  void compute_layers(Context& context, bool with_head) const {
    const bool bf16 = precision_ == MatmulPrecision::bfloat16;
    take_packing_if_missing(context);
    const Index layers = config_.num_layers;
    context.hidden.resize(static_cast<std::size_t>(layers));
    visit_activation(config_.activation, [&](auto act) {
      detail::activate(act, context.pre[0], context.hidden[0]);
      for (Index l = 1; l < layers; ++l) {
        const auto& block = blocks_[static_cast<std::size_t>(l - 1)];
        auto& z = context.pre[static_cast<std::size_t>(l)];
        if (bf16)
          multiply_packed(context, static_cast<std::size_t>(l - 1), context.hidden[static_cast<std::size_t>(l - 1)], z);
        else
          block.multiply(parameters_, context.hidden[static_cast<std::size_t>(l - 1)], z,
                         packed_float(context, static_cast<std::size_t>(l - 1)));
        detail::activate_residual(act, block.bias(parameters_), z,
                          context.hidden[static_cast<std::size_t>(l - 1)],
                          context.hidden[static_cast<std::size_t>(l)]);
      }
    });
    if (!with_head) return;
    if (config_.head == Head::observed_value_sum)
      return sum_head_.forward(parameters_, context.codes, context.hidden.back(), context.output);
    if (!bf16)
      return head_.forward(parameters_, context.hidden.back(), context.output, packed_float(context, blocks_.size()));
    multiply_packed(context, blocks_.size(), context.hidden.back(), context.output);
    context.output.colwise() += head_.bias(parameters_);
  }

  // Outputs first .. first+count-1 of `sample` from the last hidden layer, into `out`
  // (count entries); within a walk from the head's copy by rows.
  template <class Out>
  void head_rows(const Context& context, Index sample, Index first, Index count, Out& out) const {
    const auto h = context.hidden.back().col(sample);
    if (context.head_by_rows.rows() == config_.output_size)
      out.noalias() = context.head_by_rows.middleRows(first, count) * h;
    else
      out.noalias() = head_.weight(parameters_).middleRows(first, count) * h;
    out += head_.bias(parameters_).segment(first, count);
  }

  // A pass started in float32 precision and continued in bfloat16 takes the current packing.
  void take_packing_if_missing(Context& context) const {
    if (precision_ == MatmulPrecision::bfloat16 && (!context.packed || context.packed->weights.empty()))
      context.packed = packing();
  }

  // Whether float passes keep their weights packed: float networks on the AVX2 kernel.
  bool float_packing_used() const {
    return std::is_same<Scalar, float>::value && precision_ == MatmulPrecision::float32 &&
           detail::packed_float_products();
  }

  // The packed float weight of layer `index` (a block, or the head after them) for this pass,
  // or null when the pass multiplies by the parameters as they lie.
  const detail::PackedFloatLhs* packed_float(const Context& context, std::size_t index) const {
    if (!context.packed || context.packed->float_weights.empty()) return nullptr;
    return &context.packed->float_weights[index];
  }

  // The weights of every block and the linear head, packed for this network's precision
  // (the observed-value-sum head reads its table entry by entry: nothing to pack).
  std::shared_ptr<const PackedWeights> pack_weights() const {
    std::vector<const Linear<Scalar>*> layers;
    for (const auto& block : blocks_) layers.push_back(&block);
    if (config_.head == Head::linear) layers.push_back(&head_);
    return detail::pack_weights(layers, parameters_, precision_);
  }

  // The packing of the current parameters for passes that use one.
  std::shared_ptr<const PackedWeights> packing() const {
    return packing_.get([this] { return pack_weights(); });
  }

  // dL/dW += dy x^T and dL/db += sum of dy over the batch; dx = W^T dy, or dx += W^T dy
  // with `add_to_dx` (the skip connection's share is already in dx). Both products in bf16.
  void backward_linear_bf16(Context& context, std::size_t index, const Linear<Scalar>& layer,
                            const Matrix<Scalar>& x, const Eigen::Ref<const Matrix<Scalar>>& dy,
                            Vector<Scalar>& gradient, Matrix<Scalar>& dx, bool add_to_dx) const {
    if constexpr (std::is_same<Scalar, float>::value) {
      context.packed_backward.pack(dy);
      context.operand.assign_transposed(x);
      multiply_add_bf16(context.packed_backward, context.operand, layer.weight(gradient));
      layer.bias(gradient) += dy.rowwise().sum();
      const Bf16PackedMatrix& transposed = context.packed->transposed[index];
      context.operand.assign(dy);
      if (add_to_dx)
        multiply_add_bf16(transposed, context.operand, dx);
      else
        multiply_bf16(transposed, context.operand, dx);
    }
  }

  void multiply_packed(Context& context, std::size_t layer, const Matrix<Scalar>& x, Matrix<Scalar>& y) const {
    if constexpr (std::is_same<Scalar, float>::value) multiply_bf16(context.packed->weights[layer], x, y, context.operand);
  }

  Matrix<Scalar>& pre_input(Context& context) const {
    context.pre.resize(static_cast<std::size_t>(config_.num_layers));
    return context.pre[0];
  }

  ResidualMLPConfig config_{};
  OneHotInput<Scalar> input_{};
  std::vector<Linear<Scalar>> blocks_;
  Linear<Scalar> head_{};  ///< the linear head, or the observed-value-sum head's table and biases
  ObservedValueSumHead<Scalar> sum_head_{};
  Vector<Scalar> parameters_;
  MatmulPrecision precision_ = MatmulPrecision::float32;
  mutable detail::PackingCache packing_;
};

}  // namespace mam
