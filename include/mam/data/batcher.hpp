#pragma once
// Minibatches from a data set stored one sample per column: epochs of a fresh random
// permutation each, drawn with an explicit Rng. The state (permutation and cursor) is
// small and public, so a checkpoint can resume the exact sequence of batches.

#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"

namespace mam {

class Batcher {
 public:
  explicit Batcher(Index size) : size_(size) {
    detail::require<value_error>(size > 0, "mam::Batcher", "a non-empty data set", size);
  }

  Index size() const { return size_; }

  /// Indices of the next `count` samples. An epoch ends when every sample has been used
  /// once; the next starts with a new permutation (a batch may span two epochs).
  std::vector<Index> next(Index count, Rng& rng) {
    detail::require<value_error>(count >= 0, "mam::Batcher::next", "count >= 0", count);
    std::vector<Index> indices;
    indices.reserve(static_cast<std::size_t>(count));
    while (static_cast<Index>(indices.size()) < count) {
      if (cursor_ >= order_.size()) {
        order_ = rng.permutation(size_);
        cursor_ = 0;
      }
      indices.push_back(order_[cursor_++]);
    }
    return indices;
  }

  /// The current epoch's permutation and position in it (empty before the first batch).
  const std::vector<Index>& order() const { return order_; }
  std::size_t cursor() const { return cursor_; }

  void set_state(std::vector<Index> order, std::size_t cursor) {
    const char* function = "mam::Batcher::set_state";
    detail::require<value_error>(order.empty() || static_cast<Index>(order.size()) == size_, function,
                                 detail::concat("a permutation of ", size_, " indices"), order.size());
    detail::require<value_error>(cursor <= order.size(), function, "cursor within the permutation", cursor);
    std::vector<bool> seen(static_cast<std::size_t>(size_), false);
    for (Index i : order) {
      detail::require<value_error>(i >= 0 && i < size_ && !seen[static_cast<std::size_t>(i)], function,
                                   "a permutation", detail::concat("index ", i));
      seen[static_cast<std::size_t>(i)] = true;
    }
    order_ = std::move(order);
    cursor_ = cursor;
  }

 private:
  Index size_;
  std::vector<Index> order_;
  std::size_t cursor_ = 0;
};

/// The columns `indices` of `data`, in that order.
inline CodeMatrix gather_columns(const Eigen::Ref<const CodeMatrix>& data, const std::vector<Index>& indices) {
  CodeMatrix batch(data.rows(), static_cast<Index>(indices.size()));
  for (std::size_t j = 0; j < indices.size(); ++j) {
    detail::require<value_error>(indices[j] >= 0 && indices[j] < data.cols(), "mam::gather_columns",
                                 detail::concat("indices below ", data.cols()), indices[j]);
    batch.col(static_cast<Index>(j)) = data.col(indices[j]);
  }
  return batch;
}

}  // namespace mam
