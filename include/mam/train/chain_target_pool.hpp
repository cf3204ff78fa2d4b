#pragma once
// Monte Carlo targets for the marginal network, read off the chain rule. The pool holds
// complete sequences, each with a uniformly random order sigma and the running sums
//   C_j = sum_{i <= j} log p_phi(x_sigma(i) | x_sigma(<i)),   C_0 = 0,
// so the prefix "first j positions of sigma revealed, the rest '?'" comes with C_j, a sample
// of the chain rule whose mean over orders is log p(x_S) when the conditionals are
// consistent. Regressing f on such targets carries the chain rule across all D steps in one
// loss, where self-consistency moves information one step per residual (see
// chain_target_loss). Sequences come from data (their chain along a fresh order costs D
// conditional passes) or from the model (ancestral draws, whose log-probabilities are the
// chain for free). New sequences replace the oldest, like a replay buffer.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/io/checkpoint.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/model/workspace.hpp"
#include "mam/sample/options.hpp"
#include "mam/train/training_core.hpp"

namespace mam {

class ChainTargetPool {
 public:
  ChainTargetPool() = default;

  /// An empty pool for sequences of `num_variables` positions holding at most `capacity`.
  ChainTargetPool(Index num_variables, Index capacity)
      : sequences_(num_variables, capacity), orders_(num_variables, capacity), sums_(num_variables + 1, capacity) {
    const char* function = "mam::ChainTargetPool";
    detail::require<shape_error>(num_variables > 0, function, "num_variables > 0", num_variables);
    detail::require<value_error>(capacity > 0, function, "capacity > 0", capacity);
  }

  Index num_variables() const { return sequences_.rows(); }
  Index capacity() const { return sequences_.cols(); }
  /// Sequences held (at most capacity()).
  Index size() const { return size_; }

  /// Adds every column of `data` (complete samples) with the chain-rule sums of the model's
  /// conditionals along a uniformly random order per column.
  template <class Model>
  void add_data(const Model& model, const Eigen::Ref<const CodeMatrix>& data, Rng& rng,
                Workspace<Model>* workspace = nullptr) {
    add(model, data, 0, rng, workspace);
  }

  /// Adds `count` ancestral samples of the model (temperature 1, a random order each) with
  /// the log-probabilities they were drawn with.
  template <class Model>
  void add_samples(const Model& model, Index count, Rng& rng, Workspace<Model>* workspace = nullptr) {
    add(model, CodeMatrix(model.num_variables(), 0), count, rng, workspace);
  }

  /// add_data(data) and add_samples(sample_count) in one walk: each of its D network passes
  /// then multiplies one wider matrix, which costs less per sequence (measured at D=196,
  /// H=512: a walk of 64 sequences 17% less than two of 32, one of 1 6x more than one of 64).
  template <class Model>
  void add(const Model& model, const Eigen::Ref<const CodeMatrix>& data, Index sample_count, Rng& rng,
           Workspace<Model>* workspace = nullptr) {
    add_walk_from(model, data, std::vector<Index>(static_cast<std::size_t>(data.cols()), num_variables()),
                  sample_count, rng, workspace, "mam::ChainTargetPool::add");
  }

  /// add(data, sample_count), where data column c keeps only the first kept[c] positions of
  /// its order and the model draws the rest from its conditionals: a data point inpainted by
  /// the model, the kind of sequence that inpainting queries ask about. kept[c] = D adds the
  /// data point as it is, 0 an ancestral sample. Unlike a data point, such a sequence is new
  /// on every refresh, so the marginal net cannot learn the training set by heart from them.
  template <class Model>
  void add_partly_resampled(const Model& model, const Eigen::Ref<const CodeMatrix>& data,
                            const std::vector<Index>& kept, Index sample_count, Rng& rng,
                            Workspace<Model>* workspace = nullptr) {
    add_walk_from(model, data, kept, sample_count, rng, workspace, "mam::ChainTargetPool::add_partly_resampled");
  }

  /// `batch` prefixes: a held sequence drawn uniformly, then j; column c of `inputs` reveals
  /// the first j positions of that sequence's order and targets[c] = C_j. The first
  /// round(complete_share x batch) columns are complete (j = D), the rest have j uniform in
  /// 1..D. Uniform j alone gives complete sequences, the queries log p(x) of whole data
  /// points, one column in D.
  void draw(Index batch, Rng& rng, CodeMatrix& inputs, Vector<double>& targets, double complete_share = 0.0) const {
    const char* function = "mam::ChainTargetPool::draw";
    detail::require<value_error>(size_ > 0, function, "a pool holding sequences", "an empty pool");
    detail::require<value_error>(batch > 0, function, "batch > 0", batch);
    detail::require<value_error>(complete_share >= 0.0 && complete_share <= 1.0, function, "complete_share in [0, 1]",
                                 complete_share);
    const Index d = num_variables();
    const auto complete = static_cast<Index>(std::lround(complete_share * static_cast<double>(batch)));
    inputs.setConstant(d, batch, unknown);
    targets.resize(batch);
    for (Index c = 0; c < batch; ++c) {
      const auto s = static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(size_)));
      const Index j = c < complete ? d : 1 + static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(d)));
      for (Index step = 0; step < j; ++step) {
        const Index p = orders_(step, s);
        inputs(p, c) = sequences_(p, s);
      }
      targets[c] = sums_(j, s);
    }
  }

  /// Held sequences (D x size), their orders (row j: the j-th position revealed) and chain
  /// sums ((D+1) x size, row j: C_j).
  auto sequences() const { return sequences_.leftCols(size_); }
  auto orders() const { return orders_.leftCols(size_); }
  auto chain_sums() const { return sums_.leftCols(size_); }

  /// Writes the pool into `checkpoint` as integers under `prefix` (the sums bit for bit).
  template <class Scalar>
  void append_to(io::Checkpoint<Scalar>& checkpoint, const std::string& prefix) const {
    const Index d = num_variables();
    std::vector<std::uint64_t> shape{static_cast<std::uint64_t>(d), static_cast<std::uint64_t>(capacity()),
                                     static_cast<std::uint64_t>(size_), static_cast<std::uint64_t>(next_)};
    std::vector<std::uint64_t> orders, sums;
    for (Index s = 0; s < size_; ++s) {
      for (Index i = 0; i < d; ++i) orders.push_back(static_cast<std::uint64_t>(orders_(i, s)));
      for (Index j = 0; j <= d; ++j) sums.push_back(bits_of(sums_(j, s)));
    }
    checkpoint.integers.push_back({prefix + ".shape", std::move(shape)});
    checkpoint.integers.push_back(detail::codes_to_integers(prefix + ".sequences", sequences()));
    checkpoint.integers.push_back({prefix + ".orders", std::move(orders)});
    checkpoint.integers.push_back({prefix + ".sums", std::move(sums)});
  }

  /// The pool stored in `checkpoint` under `prefix`, validated against this pool's shape
  /// and codes in 0..num_values-1; throws format_error (architecture_error for another
  /// shape) and leaves this pool as it is.
  template <class Scalar>
  ChainTargetPool restored(const char* function, const std::string& path, const io::Checkpoint<Scalar>& checkpoint,
                           const std::string& prefix, Index num_values) const {
    auto find_named = [&](const std::string& name) { return io::detail::find_named(checkpoint.integers, name); };
    auto find = [&](const std::string& name) -> const std::vector<std::uint64_t>& {
      const io::NamedIntegers* entry = find_named(prefix + "." + name);
      if (entry == nullptr) throw format_error(detail::concat(function, ": '", path, "' holds no ", prefix, ".", name));
      return entry->values;
    };
    const auto& shape = find("shape");
    const Index d = num_variables();
    if (shape.size() != 4) throw format_error(detail::concat(function, ": '", path, "': a malformed ", prefix, ".shape"));
    if (shape[0] != static_cast<std::uint64_t>(d) || shape[1] != static_cast<std::uint64_t>(capacity()))
      throw architecture_error(detail::concat(function, ": '", path, "': expected a pool of ", d, " x ", capacity(),
                                              ", got ", shape[0], " x ", shape[1]));
    const std::uint64_t size = shape[2], next = shape[3];
    const CodeMatrix codes = detail::integers_to_codes(function, path, find_named(prefix + ".sequences"), d, num_values);
    const auto& orders = find("orders");
    const auto& sums = find("sums");
    const auto n = static_cast<std::uint64_t>(d);
    if (size > shape[1] || next >= shape[1] || (size < shape[1] && next != size) ||
        static_cast<std::uint64_t>(codes.cols()) != size || orders.size() != size * n || sums.size() != size * (n + 1))
      throw format_error(detail::concat(function, ": '", path, "': inconsistent sizes in ", prefix));
    ChainTargetPool pool(d, capacity());
    pool.size_ = static_cast<Index>(size);
    pool.next_ = static_cast<Index>(next);
    pool.sequences_.leftCols(pool.size_) = codes;
    for (Index s = 0; s < pool.size_; ++s) {
      std::vector<bool> seen(static_cast<std::size_t>(d), false);
      for (Index i = 0; i < d; ++i) {
        const std::uint64_t position = orders[static_cast<std::size_t>(s * d + i)];
        if (position >= n || seen[position])
          throw format_error(detail::concat(function, ": '", path, "': sequence ", s, " of ", prefix,
                                            " holds an order that is no permutation"));
        seen[position] = true;
        pool.orders_(i, s) = static_cast<Index>(position);
      }
      for (Index j = 0; j <= d; ++j) {
        const double sum = value_of(sums[static_cast<std::size_t>(s * (d + 1) + j)]);
        if (!std::isfinite(sum) || sum > 0.0)
          throw format_error(detail::concat(function, ": '", path, "': sequence ", s, " of ", prefix,
                                            " holds a chain sum that is no log-probability: ", sum));
        pool.sums_(j, s) = sum;
      }
    }
    return pool;
  }

 private:
  template <class Model>
  void require_model(const Model& model, const char* function) const {
    detail::require<shape_error>(model.num_variables() == num_variables(), function,
                                 detail::concat("a model of ", num_variables(), " variables"), model.num_variables());
  }

  // add and add_partly_resampled after validating their arguments for `function`.
  template <class Model>
  void add_walk_from(const Model& model, const Eigen::Ref<const CodeMatrix>& data, const std::vector<Index>& kept,
                     Index sample_count, Rng& rng, Workspace<Model>* workspace, const char* function) {
    require_model(model, function);
    detail::require<value_error>(sample_count >= 0, function, "sample_count >= 0", sample_count);
    const Index from_data = data.cols();
    detail::require<shape_error>(kept.size() == static_cast<std::size_t>(from_data), function,
                                 detail::concat("a kept count per data column (", from_data, ")"), kept.size());
    for (Index count : kept)
      detail::require<value_error>(count >= 0 && count <= num_variables(), function,
                                   detail::concat("kept counts in 0..", num_variables()), count);
    if (from_data > 0) {
      validate_codes(data, num_variables(), model.num_values(), function);
      detail::require<value_error>((data.array() != unknown).all(), function, "complete samples", "'?' entries");
    }
    add_walk(model, from_data + sample_count, rng, workspace, [&](Index c, Index step, Index p, const auto& logits) {
      return c < from_data && step < kept[static_cast<std::size_t>(c)] ? data(p, c)
                                                                       : detail::draw_value(logits, SamplingOptions{}, rng);
    });
  }

  // Reveals `count` new sequences along random orders, the value at each step chosen by
  // `choose(c, step, p, logits)` (step: how many positions of c were revealed before p),
  // and stores them with their running log-probability sums.
  template <class Model, class Choose>
  void add_walk(const Model& model, Index count, Rng& rng, Workspace<Model>* workspace, Choose&& choose) {
    if (count == 0) return;
    const Index d = num_variables();
    CodeMatrix state = CodeMatrix::Constant(d, count, unknown);
    const Orders orders = random_orders(state, false, rng);
    Matrix<double> sums = Matrix<double>::Zero(d + 1, count);
    std::vector<Index> step(static_cast<std::size_t>(count), 0);
    reveal_along_orders(
        model.conditional(), state, orders,
        [&](Index c, Index p, const auto& logits) {
          Index& j = step[static_cast<std::size_t>(c)];
          const Code value = choose(c, j, p, logits);
          sums(j + 1, c) = sums(j, c) + log_softmax_at(logits, value);
          ++j;
          return value;
        },
        workspace != nullptr ? &workspace->conditional : nullptr);
    for (Index c = 0; c < count; ++c) {
      sequences_.col(next_) = state.col(c);
      for (Index j = 0; j < d; ++j) orders_(j, next_) = orders[static_cast<std::size_t>(c)][static_cast<std::size_t>(j)];
      sums_.col(next_) = sums.col(c);
      next_ = (next_ + 1) % capacity();
      size_ = std::min(size_ + 1, capacity());
    }
  }

  static std::uint64_t bits_of(double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
  }
  static double value_of(std::uint64_t bits) {
    double value = 0.0;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }

  CodeMatrix sequences_;
  Eigen::Matrix<Index, Eigen::Dynamic, Eigen::Dynamic> orders_;
  Matrix<double> sums_;
  Index size_ = 0;
  Index next_ = 0;  ///< the column the next sequence goes to (the oldest once full)
};

}  // namespace mam
