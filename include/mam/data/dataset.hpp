#pragma once
// A data set of discrete codes in the library's layout (D x N, one sample per column) with
// its number of values, seeded minibatch streams over it, and batched evaluation of a
// function over many columns. Shared by the examples that train from data.

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/data/batcher.hpp"

namespace mam {

class Dataset {
 public:
  /// `codes`: D x N complete samples (every entry in 0..num_values-1; no '?').
  Dataset(CodeMatrix codes, Index num_values) : codes_(std::move(codes)), num_values_(num_values) {
    const char* function = "mam::Dataset";
    detail::require<value_error>(num_values >= 2, function, "num_values >= 2", num_values);
    detail::require<shape_error>(codes_.rows() > 0 && codes_.cols() > 0, function, "a non-empty D x N matrix",
                                 detail::concat(codes_.rows(), " x ", codes_.cols()));
    validate_codes(codes_, codes_.rows(), num_values_, function);
    detail::require<value_error>((codes_.array() != unknown).all(), function, "complete samples", "'?' entries");
  }

  Index size() const { return codes_.cols(); }
  Index num_variables() const { return codes_.rows(); }
  Index num_values() const { return num_values_; }
  const CodeMatrix& codes() const { return codes_; }

  /// The samples `indices`, in that order.
  CodeMatrix columns(const std::vector<Index>& indices) const { return gather_columns(codes_, indices); }

  /// A data set of the samples `indices`.
  Dataset subset(const std::vector<Index>& indices) const { return Dataset(columns(indices), num_values_); }

  /// `count` distinct samples chosen uniformly at random (all of them, shuffled, when
  /// `count` >= size()).
  Dataset random_subset(Index count, Rng& rng) const {
    detail::require<value_error>(count > 0, "mam::Dataset::random_subset", "count > 0", count);
    std::vector<Index> order = rng.permutation(size());
    order.resize(static_cast<std::size_t>(std::min(count, size())));
    return subset(order);
  }

 private:
  CodeMatrix codes_;
  Index num_values_;
};

/// Minibatches of `batch_size` samples from a data set, epoch after epoch of fresh seeded
/// shuffles (the Batcher's state says where in the epoch the stream is).
class MinibatchStream {
 public:
  MinibatchStream(std::shared_ptr<const Dataset> data, Index batch_size)
      : data_(std::move(data)), batch_size_(batch_size), batcher_(data_ ? data_->size() : 0) {
    detail::require<value_error>(batch_size > 0, "mam::MinibatchStream", "batch_size > 0", batch_size);
  }

  CodeMatrix next(Rng& rng) { return data_->columns(batcher_.next(batch_size_, rng)); }

  Index batch_size() const { return batch_size_; }
  const Dataset& data() const { return *data_; }
  Batcher& batcher() { return batcher_; }
  const Batcher& batcher() const { return batcher_; }

 private:
  std::shared_ptr<const Dataset> data_;
  Index batch_size_;
  Batcher batcher_;
};

/// f applied to consecutive blocks of at most `batch` columns of `x` (bounded memory, one
/// network pass per block); f returns one value per column; the results are concatenated.
template <class F>
Vector<double> map_batches(const Eigen::Ref<const CodeMatrix>& x, Index batch, F&& f) {
  detail::require<value_error>(batch > 0, "mam::map_batches", "batch > 0", batch);
  Vector<double> out(x.cols());
  for (Index first = 0; first < x.cols(); first += batch) {
    const Index n = std::min(batch, x.cols() - first);
    const Vector<double> values = f(x.middleCols(first, n));
    detail::require<shape_error>(values.size() == n, "mam::map_batches",
                                 detail::concat("one value per column (", n, ")"), values.size());
    out.segment(first, n) = values;
  }
  return out;
}

/// The mean of f over the columns of `x`, evaluated as map_batches does (e.g. a test set's
/// mean log-likelihood, one network pass per block of `batch` columns).
template <class F>
double batched_mean(const Eigen::Ref<const CodeMatrix>& x, Index batch, F&& f) {
  detail::require<value_error>(batch > 0, "mam::batched_mean", "batch > 0", batch);
  detail::require<shape_error>(x.cols() > 0, "mam::batched_mean", "at least one column", 0);
  return map_batches(x, batch, std::forward<F>(f)).mean();
}

}  // namespace mam
