#pragma once
// mam::ProcessGroup over MPI, for data-parallel training across processes (and machines).
// The only header of the library that includes <mpi.h>: link the CMake target mam::mpi
// (mam::mam plus MPI::MPI_CXX; it exists when CMake found MPI). MPI is initialized at
// MPI_THREAD_FUNNELED, so OpenMP keeps its threads inside each process while only the main
// thread calls MPI.
//
//   #include <mam/distributed/mpi.hpp>
//
//   int main(int argc, char** argv) {
//     mam::mpi::Environment environment(argc, argv);  // MPI_Init_thread ... MPI_Finalize
//     mam::mpi::Communicator world;                   // MPI_COMM_WORLD; failures throw mam::error
//     const auto report = [&](const char* m) { std::cerr << "rank " << world.rank() << ": " << m << '\n'; };
//     return mam::mpi::run_or_abort(world, [&] {
//       mam::EnergyTrainerOptions options;                 // as for one process, same seed everywhere
//       options.trainer.data_parallel.processes = &world;  // each rank computes its shards' gradient
//       /* build the model and trainer, mam::fit(...); rank 0 writes files and prints */
//       return 0;
//     }, report);
//   }
//
// Run it with `mpiexec -np 4 ./app`.

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/train/process_group.hpp"

namespace mam::mpi {

namespace detail {

/// The most elements one MPI call moves: MPI counts are ints, gradients can be longer.
inline constexpr std::size_t max_chunk = INT_MAX;

/// Calls piece(offset, count) for consecutive pieces of at most Chunk elements that cover
/// 0 .. total - 1 (no call when total is 0).
template <std::size_t Chunk, class Piece>
void for_each_chunk(std::size_t total, Piece&& piece) {
  static_assert(Chunk >= 1 && Chunk <= max_chunk, "an MPI count is a positive int");
  for (std::size_t offset = 0; offset < total; offset += Chunk) {
    piece(offset, static_cast<int>(std::min(Chunk, total - offset)));
  }
}

/// Turns an MPI return code other than MPI_SUCCESS into a mam::error that names the
/// function and the MPI operation.
inline void check(int code, const char* function, const char* operation) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  const std::string reason = length > 0 ? std::string(text, static_cast<std::size_t>(length))
                                         : mam::detail::concat("MPI error code ", code);
  mam::detail::fail(function, mam::detail::concat(operation, " to succeed"), reason);
}

template <class T>
MPI_Datatype datatype();
template <>
inline MPI_Datatype datatype<double>() { return MPI_DOUBLE; }
template <>
inline MPI_Datatype datatype<float>() { return MPI_FLOAT; }
template <>
inline MPI_Datatype datatype<char>() { return MPI_BYTE; }

/// Frees a derived datatype however its scope ends.
struct TypeGuard {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  TypeGuard() = default;
  TypeGuard(const TypeGuard&) = delete;
  TypeGuard& operator=(const TypeGuard&) = delete;
  ~TypeGuard() {
    if (type != MPI_DATATYPE_NULL) MPI_Type_free(&type);
  }
};

// The operations behind Communicator, with the chunk size a parameter so that the tests can
// cross chunk boundaries without gigabytes.

template <std::size_t Chunk = max_chunk, class T>
void sum(MPI_Comm comm, T* values, std::size_t count) {
  for_each_chunk<Chunk>(count, [&](std::size_t offset, int n) {
    check(MPI_Allreduce(MPI_IN_PLACE, values + offset, n, datatype<T>(), MPI_SUM, comm),
          "mam::mpi::Communicator::sum", "MPI_Allreduce");
  });
}

template <std::size_t Chunk = max_chunk, class T>
void broadcast(MPI_Comm comm, T* values, std::size_t count) {
  for_each_chunk<Chunk>(count, [&](std::size_t offset, int n) {
    check(MPI_Bcast(values + offset, n, datatype<T>(), 0, comm), "mam::mpi::Communicator::broadcast",
          "MPI_Bcast");
  });
}

template <std::size_t Chunk = max_chunk>
void broadcast(MPI_Comm comm, std::string& bytes) {
  std::uint64_t size = bytes.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, 0, comm), "mam::mpi::Communicator::broadcast", "MPI_Bcast");
  bytes.resize(static_cast<std::size_t>(size));
  broadcast<Chunk>(comm, bytes.data(), bytes.size());
}

template <std::size_t Chunk = max_chunk, class T>
void gather_all(MPI_Comm comm, const T* values, std::size_t count, T* all) {
  constexpr const char* function = "mam::mpi::Communicator::gather_all";
  if (count <= Chunk) {
    check(MPI_Allgather(values, static_cast<int>(count), datatype<T>(), all, static_cast<int>(count),
                        datatype<T>(), comm),
          function, "MPI_Allgather");
    return;
  }
  // Piece by piece: each rank's piece lands `count` elements after the previous rank's,
  // through a receive type of n elements whose extent is a whole rank's share.
  for_each_chunk<Chunk>(count, [&](std::size_t offset, int n) {
    TypeGuard block, strided;
    check(MPI_Type_contiguous(n, datatype<T>(), &block.type), function, "MPI_Type_contiguous");
    check(MPI_Type_create_resized(block.type, 0, static_cast<MPI_Aint>(count * sizeof(T)), &strided.type),
          function, "MPI_Type_create_resized");
    check(MPI_Type_commit(&strided.type), function, "MPI_Type_commit");
    check(MPI_Allgather(values + offset, n, datatype<T>(), all + offset, 1, strided.type, comm), function,
          "MPI_Allgather");
  });
}

template <std::size_t Chunk = max_chunk>
std::vector<std::string> gather_at_root(MPI_Comm comm, const std::string& bytes) {
  constexpr const char* function = "mam::mpi::Communicator::gather_at_root";
  int rank = 0, size = 0;
  check(MPI_Comm_rank(comm, &rank), function, "MPI_Comm_rank");
  check(MPI_Comm_size(comm, &size), function, "MPI_Comm_size");
  // Every rank learns every size (an allgather, not a gather): all of them must agree on how
  // many rounds of MPI_Gatherv the longest string takes.
  const std::uint64_t mine = bytes.size();
  std::vector<std::uint64_t> sizes(static_cast<std::size_t>(size));
  check(MPI_Allgather(&mine, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, comm), function,
        "MPI_Allgather");
  const std::uint64_t longest = *std::max_element(sizes.begin(), sizes.end());

  std::vector<std::string> all;
  if (rank == 0) {
    all.resize(sizes.size());
    for (std::size_t r = 0; r < sizes.size(); ++r) all[r].resize(static_cast<std::size_t>(sizes[r]));
  }
  // A round moves at most `piece` bytes of each rank, so its total and displacements
  // (ints) stay within Chunk.
  const std::uint64_t piece = std::max<std::size_t>(1, Chunk / static_cast<std::size_t>(size));
  std::vector<int> counts(sizes.size()), offsets(sizes.size());
  std::string round;
  for (std::uint64_t from = 0; from < longest; from += piece) {
    int total = 0;
    for (std::size_t r = 0; r < sizes.size(); ++r) {
      counts[r] = sizes[r] > from ? static_cast<int>(std::min(piece, sizes[r] - from)) : 0;
      offsets[r] = total;
      total += counts[r];
    }
    const int send = counts[static_cast<std::size_t>(rank)];
    if (rank == 0) round.resize(static_cast<std::size_t>(total));
    check(MPI_Gatherv(send > 0 ? bytes.data() + from : bytes.data(), send, MPI_BYTE,
                      rank == 0 ? round.data() : nullptr, counts.data(), offsets.data(), MPI_BYTE, 0, comm),
          function, "MPI_Gatherv");
    if (rank == 0) {
      for (std::size_t r = 0; r < sizes.size(); ++r) {
        std::copy_n(round.data() + offsets[r], counts[r], all[r].data() + from);
      }
    }
  }
  return all;
}

}  // namespace detail

/// Owns MPI's lifetime: MPI_Init_thread at MPI_THREAD_FUNNELED in the constructor,
/// MPI_Finalize in the destructor. Where MPI is already initialized (by the program or
/// another library) it owns nothing: the thread level and the finalization stay theirs.
class Environment {
 public:
  /// MPI without the command line.
  Environment() : Environment(nullptr, nullptr) {}
  /// MPI may read (and remove) its own arguments.
  Environment(int& argc, char**& argv) : Environment(&argc, &argv) {}

  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  ~Environment() {
    if (!owner_) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

 private:
  Environment(int* argc, char*** argv) {
    constexpr const char* function = "mam::mpi::Environment";
    int initialized = 0, finalized = 0;
    detail::check(MPI_Initialized(&initialized), function, "MPI_Initialized");
    if (initialized) return;
    detail::check(MPI_Finalized(&finalized), function, "MPI_Finalized");
    mam::detail::require(!finalized, function, "MPI not yet finalized (MPI starts once per process)",
                         "MPI finalized");
    int provided = MPI_THREAD_SINGLE;
    detail::check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), function, "MPI_Init_thread");
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();  // no destructor runs after a throwing constructor
      mam::detail::fail(function, "MPI thread level MPI_THREAD_FUNNELED or higher",
                        mam::detail::concat("level ", provided, " (MPI_THREAD_SINGLE)"));
    }
    owner_ = true;
  }

  bool owner_ = false;
};

/// A ProcessGroup over a duplicate of an MPI communicator: the library's messages never mix
/// with the program's own on the original. Failed MPI calls throw mam::error (the duplicate
/// returns errors instead of aborting) naming the operation and MPI's reason.
class Communicator final : public ProcessGroup {
 public:
  /// Needs MPI initialized (a live Environment).
  explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD) {
    constexpr const char* function = "mam::mpi::Communicator";
    int initialized = 0;
    detail::check(MPI_Initialized(&initialized), function, "MPI_Initialized");
    mam::detail::require(initialized != 0, function, "MPI initialized (a live mam::mpi::Environment)",
                         "MPI not initialized");
    detail::check(MPI_Comm_dup(comm, &comm_), function, "MPI_Comm_dup");
    try {
      detail::check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), function, "MPI_Comm_set_errhandler");
      detail::check(MPI_Comm_rank(comm_, &rank_), function, "MPI_Comm_rank");
      detail::check(MPI_Comm_size(comm_, &size_), function, "MPI_Comm_size");
    } catch (...) {
      MPI_Comm_free(&comm_);
      throw;
    }
  }

  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  ~Communicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  /// The duplicate, for the program's own MPI calls alongside the library's.
  MPI_Comm handle() const { return comm_; }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void sum(double* values, std::size_t count) override { detail::sum(comm_, values, count); }
  void sum(float* values, std::size_t count) override { detail::sum(comm_, values, count); }

  void gather_all(const double* values, std::size_t count, double* all) override {
    detail::gather_all(comm_, values, count, all);
  }

  void broadcast(double* values, std::size_t count) override { detail::broadcast(comm_, values, count); }
  void broadcast(float* values, std::size_t count) override { detail::broadcast(comm_, values, count); }
  void broadcast(std::string& bytes) override { detail::broadcast(comm_, bytes); }

  std::vector<std::string> gather_at_root(const std::string& bytes) override {
    return detail::gather_at_root(comm_, bytes);
  }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

/// A barrier that sleeps instead of spinning: ranks that wait (for rank 0 to evaluate or
/// write a checkpoint) leave it the cores. Tests the barrier every 2 ms.
inline void wait_idle(const Communicator& world) {
  constexpr const char* function = "mam::mpi::wait_idle";
  MPI_Request request = MPI_REQUEST_NULL;
  detail::check(MPI_Ibarrier(world.handle(), &request), function, "MPI_Ibarrier");
  for (;;) {
    int done = 0;
    detail::check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), function, "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

/// Runs `body` (returning the program's exit code) so that an error on any rank ends every
/// rank with a non-zero exit instead of a hang: an exception escaping `body` is passed to
/// `report` (its what(); the caller prints, e.g. to stderr) and then MPI_Abort(world, 1) ends
/// every process, including those waiting in a collective for the one that threw.
///
/// It restores the default actions of SIGINT and SIGTERM first. Ranks other than 0 sleep one
/// second before reporting: a failure every rank meets at once
/// (a non-finite loss after the gradient reduction, an unreadable input) is then reported
/// once, by rank 0, whose MPI_Abort ends the others during their sleep. A failure of one
/// rank alone is reported by that rank, a second late.
template <class Body, class Report>
int run_or_abort(Communicator& world, Body&& body, Report&& report) {
  const auto abort_with = [&](const char* message) {
    // The job is ending: a handler the program set for a graceful stop (a checkpoint on
    // SIGTERM, say) must not keep this rank alive through the SIGTERM with which the MPI
    // launcher ends it, to report the same failure a second time.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (world.rank() != 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    try {
      report(message);
    } catch (...) {
      // Aborting matters more than the report.
    }
    MPI_Abort(world.handle(), 1);
  };
  try {
    return std::forward<Body>(body)();
  } catch (const std::exception& e) {
    abort_with(e.what());
  } catch (...) {
    abort_with("an exception not derived from std::exception");
  }
  return 1;  // MPI_Abort does not return
}

}  // namespace mam::mpi
