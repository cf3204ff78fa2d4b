#pragma once
// The processes that train one model together, as a trainer sees them: a rank, a size and the
// few collective operations data-parallel training needs. The library's core stays free of
// MPI: mam/distributed/mpi.hpp implements this interface over an MPI communicator (target
// mam::mpi), and a trainer without one (TrainerOptions::data_parallel.processes null) is a
// process of its own.
//
// Every operation is collective: every process of the group calls it, in the same order,
// with the same counts, as MPI's collectives require.

#include <cstddef>
#include <string>
#include <vector>

namespace mam {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;

  /// This process's number, 0 .. size() - 1; rank 0 reads and writes the files.
  virtual int rank() const = 0;
  /// The number of processes.
  virtual int size() const = 0;

  /// Replaces `values` by their sum over the processes, in every process (an allreduce).
  virtual void sum(double* values, std::size_t count) = 0;
  virtual void sum(float* values, std::size_t count) = 0;

  /// Fills `all` (size() x count values) with every process's `count` values, rank by rank,
  /// in every process (an allgather).
  virtual void gather_all(const double* values, std::size_t count, double* all) = 0;

  /// Replaces `values` by rank 0's, in every process (a broadcast).
  virtual void broadcast(double* values, std::size_t count) = 0;
  virtual void broadcast(float* values, std::size_t count) = 0;
  /// Replaces `bytes` by rank 0's, in every process, resizing it.
  virtual void broadcast(std::string& bytes) = 0;

  /// Every process's `bytes`, rank by rank, at rank 0; elsewhere an empty vector (a gather).
  virtual std::vector<std::string> gather_at_root(const std::string& bytes) = 0;
};

}  // namespace mam
