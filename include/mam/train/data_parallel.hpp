#pragma once
// Data-parallel training: every batch is cut into shards, each with its own random stream
// and its own samples (buffer columns, chain-target pool), and the processes of a
// ProcessGroup hold the shards in order, shards / size each. Every process computes the
// gradient of its shards, one sum over the processes joins them, and every process takes the
// same Adam step, so the parameters stay equal everywhere.
//
// The random streams belong to shards, not processes: a run depends on the number of shards,
// not on how many processes hold them. One process with 2 shards computes what 2 processes
// with one each compute (to the rounding of the sums), and a checkpoint of 4 shards resumes on
// 1, 2 or 4 processes. One shard (the default alone) is the single-process trainer as it
// always was: one stream, the same draws, the same checkpoints.

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/read_file.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/train/process_group.hpp"

namespace mam {

struct DataParallelOptions {
  /// The processes that train together (mam/distributed/mpi.hpp makes one of MPI's); null:
  /// this process alone. Every process builds its trainer with the same seed and options.
  ProcessGroup* processes = nullptr;
  /// The shards of every batch: a multiple of the number of processes that divides the batch
  /// size; 0 means one per process. More shards than processes accumulate the gradients of
  /// several shards in each process.
  Index shards = 0;
};

namespace detail {

/// Columns [begin, begin + size) of a batch.
struct ColumnRange {
  Index begin = 0;
  Index size = 0;
};

/// Shard `shard` of `n` items cut into `shards` nearly equal, consecutive parts.
inline ColumnRange shard_range(Index n, Index shard, Index shards) {
  const Index begin = n * shard / shards;
  return {begin, n * (shard + 1) / shards - begin};
}

/// Which shards of every batch this process holds, their random streams, and the collective
/// steps of a data-parallel trainer.
class Shards {
 public:
  Shards(const DataParallelOptions& options, Index batch_size, std::uint64_t seed, const char* function)
      : processes_(options.processes) {
    require<value_error>(options.shards >= 0, function, "data_parallel.shards >= 0 (0 = one per process)",
                         options.shards);
    const Index size = processes_ != nullptr ? processes_->size() : 1;
    const Index rank = processes_ != nullptr ? processes_->rank() : 0;
    require<value_error>(size >= 1 && rank >= 0 && rank < size, function, "a process group with 0 <= rank < size",
                         concat("rank ", rank, " of ", size));
    count_ = options.shards == 0 ? size : options.shards;
    require<value_error>(count_ % size == 0, function,
                         concat("data_parallel.shards a multiple of the ", size, " processes"), count_);
    require<value_error>(batch_size % count_ == 0, function,
                         concat("a batch_size that the ", count_, " shards divide"), batch_size);
    local_ = count_ / size;
    first_ = rank * local_;
    if (count_ == 1) return;
    // Shard s draws from the seed's stream jumped s + 1 times (2^128 draws apart): the
    // trainer's own stream, shared by every process, stays the seed's.
    for (Index s = 0; s < local_; ++s) {
      Rng stream(seed);
      for (Index j = 0; j <= first_ + s; ++j) stream.jump();
      streams_.push_back(stream);
    }
  }

  /// The shards of every batch.
  Index count() const { return count_; }
  /// The shards this process holds: first() .. first() + local_count() - 1.
  Index local_count() const { return local_; }
  Index first() const { return first_; }
  /// The group when it has more than one process, else null.
  ProcessGroup* processes() const { return processes_ != nullptr && processes_->size() > 1 ? processes_ : nullptr; }

  /// Local shard `local`'s stream; with one shard, `single` (the trainer's own stream).
  Rng& stream(Index local, Rng& single) { return count_ == 1 ? single : streams_[static_cast<std::size_t>(local)]; }
  std::vector<Rng>& streams() { return streams_; }
  const std::vector<Rng>& streams() const { return streams_; }

  /// Local shard `local`'s part of `n` items.
  ColumnRange range(Index n, Index local) const { return shard_range(n, first_ + local, count_); }
  /// The part of `n` items that all of this process's shards hold together.
  ColumnRange local_range(Index n) const {
    const ColumnRange first = shard_range(n, first_, count_), last = shard_range(n, first_ + local_ - 1, count_);
    return {first.begin, last.begin + last.size - first.begin};
  }
  /// Local shard `local`'s part of `n` items, counted from the start of local_range(n).
  ColumnRange local_part(Index n, Index local) const {
    const ColumnRange part = range(n, local);
    return {part.begin - local_range(n).begin, part.size};
  }

 private:
  ProcessGroup* processes_ = nullptr;
  Index count_ = 1;
  Index local_ = 1;
  Index first_ = 0;
  std::vector<Rng> streams_;
};

/// Replaces `values` by rank 0's in every process of `processes` (none: nothing to do).
template <class Scalar>
void broadcast_values(ProcessGroup* processes, Scalar* values, std::size_t count) {
  if (processes != nullptr) processes->broadcast(values, count);
}

// An error carried from rank 0 to the others, as its kind and message, so that every process
// throws the same one and none waits for a collective the failed one never reaches.
inline char error_kind(const std::exception& e) {
  if (dynamic_cast<const architecture_error*>(&e) != nullptr) return 'a';
  if (dynamic_cast<const format_error*>(&e) != nullptr) return 'f';
  if (dynamic_cast<const io_error*>(&e) != nullptr) return 'i';
  if (dynamic_cast<const value_error*>(&e) != nullptr) return 'v';
  if (dynamic_cast<const shape_error*>(&e) != nullptr) return 's';
  if (dynamic_cast<const numeric_error*>(&e) != nullptr) return 'n';
  return 'e';
}
[[noreturn]] inline void throw_error_of_kind(char kind, const std::string& message) {
  switch (kind) {
    case 'a': throw architecture_error(message);
    case 'f': throw format_error(message);
    case 'i': throw io_error(message);
    case 'v': throw value_error(message);
    case 's': throw shape_error(message);
    case 'n': throw numeric_error(message);
    default: throw error(message);
  }
}

/// Runs `action` on rank 0 only (alone: here) and has every process of the group learn
/// whether it succeeded: an exception on rank 0 is thrown, as the same kind of mam::error
/// with the same message, in every process.
template <class Action>
void on_root(ProcessGroup* processes, Action&& action) {
  if (processes == nullptr) {
    action();
    return;
  }
  std::string status;  // empty: success; else the error's kind, then its message
  if (processes->rank() == 0) {
    try {
      action();
    } catch (const std::exception& e) {
      status = std::string(1, error_kind(e)) + e.what();
    }
  }
  processes->broadcast(status);
  if (!status.empty()) throw_error_of_kind(status[0], status.substr(1));
}

/// The bytes of the file at `path`, read by rank 0 and sent to every process (alone: read
/// here). A file that rank 0 cannot read is an io_error everywhere.
inline std::string read_on_root(ProcessGroup* processes, const char* function, const std::string& path) {
  std::string bytes;
  on_root(processes, [&] { bytes = read_whole_file(function, path); });
  if (processes != nullptr) processes->broadcast(bytes);
  return bytes;
}

}  // namespace detail
}  // namespace mam
