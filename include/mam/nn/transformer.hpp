#pragma once
// The Transformer of the reference MaM code ("TransformerNet"), as a marginal network (one
// output) or a conditional network (D*K logits):
//
//   x_0 = E[symbol(x_i)] + P[i]                      token embedding of K + 1 symbols ('?' is
//                                                     symbol K) plus a positional encoding
//   m_l = x_l + MHA(LN1_l(x_l))                      pre-LayerNorm blocks, l = 0..layers-1:
//   x_{l+1} = m_l + FF(LN2_l(m_l))                   bidirectional attention, GELU feed-forward
//   z = LN_final(x_layers)
//   conditional: logits of position i = MLP(z_i)     width -> width -> width -> K, GELU between;
//                                                     output row i*K + v (position-major)
//   marginal:    MLP(mean over positions of z_i)     width -> head_width -> head_width -> 1
//                or MLP(z_cls) with a learned [CLS] token appended to every sample's D
//                tokens (MarginalPooling::cls), which attends and is attended to like them
//
// There is no causal mask: the order of a walk is never an input, only which positions are
// '?'. Activations are width x (D * batch), one column per token with a sample's D tokens in
// consecutive columns (D + 1 with the [CLS] token last), so every linear layer is one
// product over all tokens, and the conditional head's K x (D * batch) output is already the
// D*K x batch output in memory.
//
// Of the contract's optional members (nn/network.hpp) it has the warm start's
// (copy_trunk_from, set_head_to_zero) only: walks and row reads use the generic fallbacks
// (a Transformer cannot update one position cheaply: a full pass per step).
//
// Parameters live in one flat vector, every layer a view of a slice of it, in this order,
// which is also the order initialize() draws them from its Rng:
//   token embedding (width x (K+1)), N(0, 1);
//   the learned positional table (width x D), N(0, 1), if the encoding is learned;
//   the [CLS] token (width), N(0, 1), if the marginal head reads one;
//   per block: LN1 (gain 1, bias 0), attention (W_qkv, W_o; Xavier uniform), LN2, feed-forward
//   (Xavier-uniform weights, zero biases);
//   the final LayerNorm; the head (Xavier-uniform weights, zero biases).
// (The reference draws its biases from N(0, 1e-6); zero is the same network to six digits.)

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/feed_forward.hpp"
#include "mam/nn/layer_norm.hpp"
#include "mam/nn/multi_head_attention.hpp"
#include "mam/nn/network.hpp"
#include "mam/nn/positional_encoding.hpp"
#include "mam/nn/token_embedding.hpp"

namespace mam {

/// How the marginal net reads one number out of its token features.
enum class MarginalPooling {
  mean,  ///< the mean of the D positions' features (the reference's)
  cls    ///< the features of a learned [CLS] token, an extra token of every sample
};

inline std::string to_string(MarginalPooling pooling) { return pooling == MarginalPooling::mean ? "mean" : "cls"; }

struct TransformerConfig {
  Index num_variables = 0;  ///< D: positions (tokens) per sample
  Index num_values = 0;     ///< K: values per position (the '?' symbol is added internally)
  Index width = 64;         ///< embedding width, the same through every block
  Index heads = 4;          ///< attention heads; must divide width
  Index layers = 2;         ///< Transformer blocks
  Index feed_forward = 128; ///< hidden width of each block's feed-forward
  Index head_width = 128;   ///< hidden width of the marginal head (the conditional head uses width)
  Index output_size = 0;    ///< 1 for a marginal net, D*K for a conditional net
  PositionalEncodingKind positional_encoding = PositionalEncodingKind::sinusoidal;
  MarginalPooling pooling = MarginalPooling::mean;  ///< marginal nets only (a conditional net has mean)
};

template <class Scalar>
class Transformer {
  static_assert(std::is_floating_point<Scalar>::value, "mam::Transformer needs float or double");

 public:
  using scalar_type = Scalar;

  /// What one block's pass leaves for its backward pass.
  struct BlockCache {
    Matrix<Scalar> input;        ///< x_l, width x tokens
    typename LayerNorm<Scalar>::Cache norm1, norm2;
    Matrix<Scalar> normalized1;  ///< LN1(x_l), the attention's input
    typename MultiHeadAttention<Scalar>::Cache attention;
    Matrix<Scalar> middle;       ///< m_l
    Matrix<Scalar> normalized2;  ///< LN2(m_l), the feed-forward's input
    typename FeedForward<Scalar>::Cache feed_forward;
  };

  /// What one forward pass leaves for its backward pass, plus reusable backward buffers.
  struct Context {
    CodeMatrix codes;       ///< D x batch input
    Matrix<Scalar> output;  ///< output_size x batch
    std::vector<BlockCache> blocks;
    Matrix<Scalar> stream;    ///< x_layers, the final LayerNorm's input
    typename LayerNorm<Scalar>::Cache final_norm;
    Matrix<Scalar> features;  ///< z, width x tokens
    Matrix<Scalar> pooled;    ///< marginal head: the mean of z over each sample's tokens (or its [CLS] features), width x batch
    Matrix<Scalar> embedded;  ///< [CLS] pooling: the D * batch token embeddings the [CLS] columns join
    typename FeedForward<Scalar>::Cache head;
    Matrix<Scalar> head_output;                                   ///< conditional head: K x tokens
    Matrix<Scalar> grad, grad_branch, grad_normalized, grad_head;  ///< backward workspace

    Index batch_size() const { return codes.cols(); }
  };

  Transformer() = default;

  explicit Transformer(const TransformerConfig& config) : config_(config) {
    validate(config);
    const Index d = config.num_variables, k = config.num_values, w = config.width;
    Index offset = 0;
    embedding_ = TokenEmbedding<Scalar>(k, w, offset);
    offset += embedding_.num_parameters();
    positions_ = PositionalEncoding<Scalar>(config.positional_encoding, d, w, offset);
    offset += positions_.num_parameters();
    if (config.pooling == MarginalPooling::cls) {
      cls_offset_ = offset;
      offset += w;
    }
    for (Index l = 0; l < config.layers; ++l) {
      Block block;
      block.norm1 = LayerNorm<Scalar>(w, offset);
      offset += block.norm1.num_parameters();
      block.attention = MultiHeadAttention<Scalar>(w, config.heads, tokens_per_sample(), offset);
      offset += block.attention.num_parameters();
      block.norm2 = LayerNorm<Scalar>(w, offset);
      offset += block.norm2.num_parameters();
      block.feed_forward = FeedForward<Scalar>({w, config.feed_forward, w}, offset);
      offset += block.feed_forward.num_parameters();
      blocks_.push_back(std::move(block));
    }
    final_norm_ = LayerNorm<Scalar>(w, offset);
    offset += final_norm_.num_parameters();
    if (is_conditional())
      head_ = FeedForward<Scalar>({w, w, w, k}, offset);
    else
      head_ = FeedForward<Scalar>({w, config.head_width, config.head_width, 1}, offset);
    offset += head_.num_parameters();
    parameters_ = Vector<Scalar>::Zero(offset);
  }

  Transformer(const TransformerConfig& config, Rng& rng) : Transformer(config) { initialize(rng); }

  const TransformerConfig& config() const { return config_; }
  Index num_variables() const { return config_.num_variables; }
  Index num_values() const { return config_.num_values; }
  Index output_size() const { return config_.output_size; }
  Index num_parameters() const { return parameters_.size(); }
  /// D*K logits per sample (the conditional head) rather than one number (the marginal head).
  bool is_conditional() const { return config_.output_size == config_.num_variables * config_.num_values; }
  /// D, plus the [CLS] token with MarginalPooling::cls.
  Index tokens_per_sample() const { return config_.num_variables + (reads_cls() ? 1 : 0); }

  Vector<Scalar>& parameters() { return parameters_; }
  const Vector<Scalar>& parameters() const { return parameters_; }

  void set_parameters(const Eigen::Ref<const Vector<Scalar>>& values) {
    detail::require<shape_error>(values.size() == num_parameters(), "mam::Transformer::set_parameters",
                                 detail::concat(num_parameters(), " parameters"), values.size());
    parameters_ = values;
  }

  /// A zero vector shaped like the parameters, for backward() to accumulate into.
  Vector<Scalar> zero_gradient() const { return Vector<Scalar>::Zero(num_parameters()); }

  /// The reference's initialization, drawn from `rng` in the parameters' order (file comment).
  void initialize(Rng& rng) {
    embedding_.initialize(parameters_, rng);
    positions_.initialize(parameters_, rng);
    if (reads_cls()) {
      auto cls = parameters_.segment(cls_offset_, config_.width);
      fill_normal(cls, rng);
    }
    for (const auto& block : blocks_) {
      block.norm1.initialize(parameters_);
      block.attention.initialize(parameters_, rng);
      block.norm2.initialize(parameters_);
      block.feed_forward.initialize(parameters_, rng);
    }
    final_norm_.initialize(parameters_);
    head_.initialize(parameters_, rng);
  }

  /// Takes the trunk (embedding, positions, blocks and final LayerNorm) of `other`, a
  /// Transformer of the same D, K, width, heads, layers, feed-forward width and positional
  /// encoding with any head: stage 2's warm start, the marginal net starting from the
  /// conditional net's features. The trunk leads the flat parameters: two contiguous copies,
  /// around this net's [CLS] token if it reads one.
  void copy_trunk_from(const Transformer& other) {
    const TransformerConfig& theirs = other.config();
    const bool same = theirs.num_variables == config_.num_variables && theirs.num_values == config_.num_values &&
                      theirs.width == config_.width && theirs.heads == config_.heads &&
                      theirs.layers == config_.layers && theirs.feed_forward == config_.feed_forward &&
                      theirs.positional_encoding == config_.positional_encoding;
    detail::require<architecture_error>(same, "mam::Transformer::copy_trunk_from", trunk_description(config_),
                                        trunk_description(theirs));
    // Embedding and positions lead both vectors; a [CLS] token (this net's own) may sit
    // between them and the blocks.
    const Index front = embedding_.num_parameters() + positions_.num_parameters();
    parameters_.head(front) = other.parameters().head(front);
    const Index blocks = blocks_.front().norm1.offset(), theirs_blocks = other.blocks_.front().norm1.offset();
    parameters_.segment(blocks, head_.offset() - blocks) =
        other.parameters().segment(theirs_blocks, other.head_.offset() - theirs_blocks);
  }

  /// Sets the head's output layer to zero: the network then outputs 0 for every input. The
  /// head's hidden layers keep their values, so the first step moves the output layer and
  /// later steps reach the whole network; zeroing the whole head would leave every hidden
  /// unit at GELU(0) = 0 for good, with no gradient past the output bias.
  void set_head_to_zero() {
    const Linear<Scalar>& last = head_.layers().back();
    parameters_.segment(last.offset(), last.num_parameters()).setZero();
  }

  /// The layers, each a view of a slice of parameters() (for tests and inspection).
  const TokenEmbedding<Scalar>& embedding() const { return embedding_; }
  const PositionalEncoding<Scalar>& positional_encoding() const { return positions_; }
  const FeedForward<Scalar>& head() const { return head_; }

  /// Describes the architecture (for checkpoints: a checkpoint of another shape is refused).
  ArchitectureDescription architecture() const {
    ArchitectureDescription description{{"kind", "transformer"},
            {"num_variables", std::to_string(config_.num_variables)},
            {"num_values", std::to_string(config_.num_values)},
            {"width", std::to_string(config_.width)},
            {"heads", std::to_string(config_.heads)},
            {"layers", std::to_string(config_.layers)},
            {"feed_forward", std::to_string(config_.feed_forward)},
            {"head_width", std::to_string(config_.head_width)},
            {"output_size", std::to_string(config_.output_size)},
            {"positional_encoding", to_string(config_.positional_encoding)}};
    // Only the [CLS] head says so: checkpoints from before that option (mean pooling) load.
    if (reads_cls()) description.emplace_back("pooling", to_string(config_.pooling));
    return description;
  }

  /// Forward pass of a D x batch code matrix into `context` (its buffers are reused). The
  /// output is always computed: without the row-block head, `with_head` changes nothing.
  void forward(const Eigen::Ref<const CodeMatrix>& codes, Context& context, bool /*with_head*/ = true) const {
    validate_codes(codes, config_.num_variables, config_.num_values, "mam::Transformer::forward");
    context.codes = codes;
    const Index d = config_.num_variables, batch = codes.cols(), t = tokens_per_sample();
    context.blocks.resize(blocks_.size());
    Matrix<Scalar>& x0 = context.blocks.front().input;
    Matrix<Scalar>& embedded = reads_cls() ? context.embedded : x0;
    embedding_.forward(parameters_, context.codes, embedded);
    positions_.add_to(parameters_, embedded);
    if (reads_cls()) {  // each sample's D tokens, then its [CLS] token
      x0.resize(config_.width, t * batch);
      for (Index s = 0; s < batch; ++s) {
        x0.middleCols(s * t, d) = embedded.middleCols(s * d, d);
        x0.col(s * t + d) = parameters_.segment(cls_offset_, config_.width);
      }
    }
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      const Block& block = blocks_[l];
      BlockCache& cache = context.blocks[l];
      Matrix<Scalar>& next = l + 1 < blocks_.size() ? context.blocks[l + 1].input : context.stream;
      block.norm1.forward(parameters_, cache.input, cache.norm1, cache.normalized1);
      block.attention.forward(parameters_, cache.normalized1, cache.attention, cache.middle);
      cache.middle += cache.input;
      block.norm2.forward(parameters_, cache.middle, cache.norm2, cache.normalized2);
      block.feed_forward.forward(parameters_, cache.normalized2, cache.feed_forward, next);
      next += cache.middle;
    }
    final_norm_.forward(parameters_, context.stream, context.final_norm, context.features);
    if (is_conditional()) {
      head_.forward(parameters_, context.features, context.head, context.head_output);
      // K x (D * batch), column s*D + i, is the D*K x batch position-major output in memory.
      context.output = Eigen::Map<const Matrix<Scalar>>(context.head_output.data(), d * config_.num_values, batch);
    } else {
      context.pooled.resize(config_.width, batch);
      for (Index s = 0; s < batch; ++s)
        context.pooled.col(s) = reads_cls() ? context.features.col(s * t + d)
                                            : Vector<Scalar>(context.features.middleCols(s * t, d).rowwise().mean());
      head_.forward(parameters_, context.pooled, context.head, context.output);
    }
  }

  Context forward(const Eigen::Ref<const CodeMatrix>& codes) const {
    Context context;
    forward(codes, context);
    return context;
  }

  /// Output only (output_size x batch).
  Matrix<Scalar> operator()(const Eigen::Ref<const CodeMatrix>& codes) const { return forward(codes).output; }

  /// Back-propagates d_output (output_size x batch, dL/d output) through the pass recorded in
  /// `context`, adding dL/d parameters into `gradient`.
  void backward(Context& context, const Eigen::Ref<const Matrix<Scalar>>& d_output, Vector<Scalar>& gradient) const {
    const char* function = "mam::Transformer::backward";
    const Index d = config_.num_variables, batch = context.batch_size(), t = tokens_per_sample();
    detail::require<shape_error>(
        d_output.rows() == config_.output_size && d_output.cols() == batch &&
            context.blocks.size() == blocks_.size() && context.features.cols() == t * batch,
        function, detail::concat("output gradients for the ", batch, " samples of a context filled by forward()"),
        detail::concat(d_output.rows(), " x ", d_output.cols()));
    detail::require<shape_error>(gradient.size() == num_parameters(), function,
                                 detail::concat("gradient of size ", num_parameters()), gradient.size());
    Matrix<Scalar>& grad = context.grad;
    if (is_conditional()) {
      context.grad_head = d_output;  // contiguous, so that it reads as K x (D * batch)
      const Eigen::Map<const Matrix<Scalar>> per_token(context.grad_head.data(), config_.num_values, d * batch);
      head_.backward(parameters_, context.features, context.head, per_token, gradient, context.grad_branch);
    } else {
      head_.backward(parameters_, context.pooled, context.head, d_output, gradient, context.grad_head);
      context.grad_branch.resize(config_.width, t * batch);
      if (reads_cls()) {
        context.grad_branch.setZero();
        for (Index s = 0; s < batch; ++s) context.grad_branch.col(s * t + d) = context.grad_head.col(s);
      } else {
        for (Index s = 0; s < batch; ++s)
          context.grad_branch.middleCols(s * d, d) = (context.grad_head.col(s) / static_cast<Scalar>(d)).replicate(1, d);
      }
    }
    final_norm_.backward(parameters_, context.final_norm, context.grad_branch, gradient, grad);
    for (std::size_t l = blocks_.size(); l-- > 0;) {
      const Block& block = blocks_[l];
      BlockCache& cache = context.blocks[l];
      // x_{l+1} = m_l + FF(LN2(m_l)): the skip passes grad through, the branch adds to it.
      block.feed_forward.backward(parameters_, cache.normalized2, cache.feed_forward, grad, gradient,
                                  context.grad_branch);
      block.norm2.backward(parameters_, cache.norm2, context.grad_branch, gradient, context.grad_normalized);
      grad += context.grad_normalized;
      // m_l = x_l + MHA(LN1(x_l)).
      block.attention.backward(parameters_, cache.normalized1, cache.attention, grad, gradient, context.grad_branch);
      block.norm1.backward(parameters_, cache.norm1, context.grad_branch, gradient, context.grad_normalized);
      grad += context.grad_normalized;
    }
    if (reads_cls()) {  // the [CLS] columns go to its vector, the token columns on down
      Matrix<Scalar>& grad_tokens = context.grad_normalized;
      grad_tokens.resize(config_.width, d * batch);
      auto grad_cls = gradient.segment(cls_offset_, config_.width);
      for (Index s = 0; s < batch; ++s) {
        grad_tokens.middleCols(s * d, d) = grad.middleCols(s * t, d);
        grad_cls += grad.col(s * t + d);
      }
      positions_.backward(grad_tokens, gradient);
      embedding_.backward(context.codes, grad_tokens, gradient);
      return;
    }
    positions_.backward(grad, gradient);
    embedding_.backward(context.codes, grad, gradient);
  }

 private:
  struct Block {
    LayerNorm<Scalar> norm1;
    MultiHeadAttention<Scalar> attention;
    LayerNorm<Scalar> norm2;
    FeedForward<Scalar> feed_forward;
  };

  bool reads_cls() const { return cls_offset_ >= 0; }

  static std::string trunk_description(const TransformerConfig& c) {
    return detail::concat("a trunk of D=", c.num_variables, ", K=", c.num_values, ", width ", c.width, ", ", c.heads,
                          " heads, ", c.layers, " layers, feed-forward ", c.feed_forward, ", ",
                          to_string(c.positional_encoding), " positions");
  }

  static void validate(const TransformerConfig& config) {
    const char* function = "mam::Transformer";
    detail::require<shape_error>(config.num_variables > 0, function, "num_variables > 0", config.num_variables);
    detail::require<shape_error>(config.num_values > 0, function, "num_values > 0", config.num_values);
    detail::require<shape_error>(config.width > 0, function, "width > 0", config.width);
    detail::require<shape_error>(config.heads > 0 && config.width % config.heads == 0, function,
                                 detail::concat("a number of heads dividing width ", config.width), config.heads);
    detail::require<shape_error>(
        config.positional_encoding != PositionalEncodingKind::sinusoidal || config.width % 2 == 0, function,
        "an even width for the sinusoidal positional encoding", config.width);
    detail::require<shape_error>(config.layers >= 1, function, "layers >= 1", config.layers);
    detail::require<shape_error>(config.feed_forward > 0, function, "feed_forward > 0", config.feed_forward);
    detail::require<shape_error>(config.head_width > 0, function, "head_width > 0", config.head_width);
    detail::require<shape_error>(config.pooling == MarginalPooling::mean || config.output_size == 1, function,
                                 "mean pooling for a conditional net (the [CLS] token serves the marginal head)",
                                 to_string(config.pooling));
    detail::require<shape_error>(
        config.output_size == 1 || config.output_size == config.num_variables * config.num_values, function,
        detail::concat("output_size 1 (marginal) or D*K = ", config.num_variables * config.num_values,
                       " (conditional)"),
        config.output_size);
  }

  TransformerConfig config_{};
  TokenEmbedding<Scalar> embedding_{};
  PositionalEncoding<Scalar> positions_{};
  std::vector<Block> blocks_;
  LayerNorm<Scalar> final_norm_{};
  FeedForward<Scalar> head_{};
  Index cls_offset_ = -1;  ///< where the [CLS] token's vector starts; -1 without one
  Vector<Scalar> parameters_;
};

}  // namespace mam
