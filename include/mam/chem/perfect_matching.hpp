#pragma once
// Maximum matching in a general (not necessarily bipartite) undirected graph by Edmonds'
// blossom algorithm, O(V^3). Kekulizing aromatic SMILES needs it: the double bonds of a
// Kekule structure are a perfect matching of the aromatic atoms that still need one, and
// fused ring systems (azulene, 5-7 rings) are not bipartite.

#include <optional>
#include <queue>
#include <vector>

#include "mam/core/error.hpp"

namespace mam {

namespace detail {

class BlossomMatcher {
 public:
  explicit BlossomMatcher(const std::vector<std::vector<int>>& adjacency)
      : graph_(adjacency), size_(static_cast<int>(adjacency.size())), mate_(adjacency.size(), -1) {
    for (int v = 0; v < size_; ++v) {
      for (int w : graph_[static_cast<std::size_t>(v)]) {
        require<value_error>(w >= 0 && w < size_ && w != v, "mam::maximum_matching",
                             "neighbours that are other nodes of the graph", concat(v, " -> ", w));
      }
    }
  }

  std::vector<int> run() {
    for (int root = 0; root < size_; ++root) {
      if (mate_[index(root)] != -1) continue;
      int end = find_augmenting_path(root);
      while (end != -1) {  // flip the path root ... end
        const int parent = parent_[index(end)];
        const int next = mate_[index(parent)];
        mate_[index(end)] = parent;
        mate_[index(parent)] = end;
        end = next;
      }
    }
    return mate_;
  }

 private:
  static std::size_t index(int v) { return static_cast<std::size_t>(v); }

  int lowest_common_ancestor(int a, int b) const {
    std::vector<bool> seen(index(size_), false);
    while (true) {
      a = base_[index(a)];
      seen[index(a)] = true;
      if (mate_[index(a)] == -1) break;
      a = parent_[index(mate_[index(a)])];
    }
    while (true) {
      b = base_[index(b)];
      if (seen[index(b)]) return b;
      b = parent_[index(mate_[index(b)])];
    }
  }

  void mark_blossom_path(int v, int blossom_base, int child) {
    while (base_[index(v)] != blossom_base) {
      in_blossom_[index(base_[index(v)])] = true;
      in_blossom_[index(base_[index(mate_[index(v)])])] = true;
      parent_[index(v)] = child;
      child = mate_[index(v)];
      v = parent_[index(mate_[index(v)])];
    }
  }

  // Breadth-first search for an augmenting path from `root`, contracting odd cycles
  // (blossoms) on the way; returns its unmatched far end, or -1.
  int find_augmenting_path(int root) {
    visited_.assign(index(size_), false);
    parent_.assign(index(size_), -1);
    base_.resize(index(size_));
    for (int v = 0; v < size_; ++v) base_[index(v)] = v;
    std::queue<int> queue;
    visited_[index(root)] = true;
    queue.push(root);
    while (!queue.empty()) {
      const int v = queue.front();
      queue.pop();
      for (int to : graph_[index(v)]) {
        if (base_[index(v)] == base_[index(to)] || mate_[index(v)] == to) continue;
        if (to == root || (mate_[index(to)] != -1 && parent_[index(mate_[index(to)])] != -1)) {
          const int blossom_base = lowest_common_ancestor(v, to);
          in_blossom_.assign(index(size_), false);
          mark_blossom_path(v, blossom_base, to);
          mark_blossom_path(to, blossom_base, v);
          for (int i = 0; i < size_; ++i) {
            if (!in_blossom_[index(base_[index(i)])]) continue;
            base_[index(i)] = blossom_base;
            if (!visited_[index(i)]) {
              visited_[index(i)] = true;
              queue.push(i);
            }
          }
        } else if (parent_[index(to)] == -1) {
          parent_[index(to)] = v;
          if (mate_[index(to)] == -1) return to;
          visited_[index(mate_[index(to)])] = true;
          queue.push(mate_[index(to)]);
        }
      }
    }
    return -1;
  }

  const std::vector<std::vector<int>>& graph_;
  int size_;
  std::vector<int> mate_;
  std::vector<int> parent_;
  std::vector<int> base_;
  std::vector<bool> visited_;
  std::vector<bool> in_blossom_;
};

}  // namespace detail

/// A maximum matching of the undirected graph `adjacency` (node i's neighbours; every edge
/// listed from both ends, no self-loops): element i is i's partner, or -1 if unmatched.
inline std::vector<int> maximum_matching(const std::vector<std::vector<int>>& adjacency) {
  return detail::BlossomMatcher(adjacency).run();
}

/// A perfect matching (every node matched), or nothing if the graph has none.
inline std::optional<std::vector<int>> perfect_matching(const std::vector<std::vector<int>>& adjacency) {
  std::vector<int> mate = maximum_matching(adjacency);
  for (int partner : mate) {
    if (partner == -1) return std::nullopt;
  }
  return mate;
}

}  // namespace mam
