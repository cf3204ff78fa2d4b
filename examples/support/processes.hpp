#pragma once
// The processes of one example run. The examples always run over MPI: started directly they
// are one process (MPI's singleton), under `mpirun -np N` N processes that train one model
// together (mam/train/data_parallel.hpp; each may still use --threads OpenMP threads).
//
// Every process reads the input data and builds the same model and trainers from the same
// seed; the trainers split every batch between them. Rank 0 alone prepares the output
// directory, computes what only it needs (ground truth, evaluation), prints (progress bars,
// messages, the JSON line) and writes every file; whatever the others must know of the file
// system (does a checkpoint exist?) is rank 0's answer, sent to them. While rank 0 works
// alone the others sleep in meet() rather than spin in MPI's next collective, leaving it the
// cores.
//
// main() of an example:
//
//   int main(int argc, char** argv) {
//     return ex::run_program(argc, argv, "mam_ising", [&](ex::Processes& processes) {
//       CLI::App app{...};
//       if (const auto code = ex::parse_command_line(app, argc, argv, processes)) return *code;
//       try {
//         return processes.conclude(train(o, processes));
//       } catch (const mam::error& e) {
//         if (!processes.alone()) throw;  // run_or_abort reports it and ends every process
//         std::fprintf(stderr, "mam_ising: %s\n", e.what());
//         return 1;
//       }
//     });
//   }

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include <mam/core/types.hpp>
#include <mam/distributed/mpi.hpp>
#include <mam/train/process_group.hpp>

namespace mam::examples {

/// This run's processes as the examples use them: who is rank 0, meeting points, and rank
/// 0's answers sent to all. Every member that communicates is collective: every process calls
/// it at the same point of the program.
class Processes {
 public:
  explicit Processes(mam::mpi::Communicator& world) : world_(world) {}

  /// For TrainerOptions::data_parallel.processes.
  mam::ProcessGroup* group() const { return &world_; }
  int rank() const { return world_.rank(); }
  int size() const { return world_.size(); }
  /// Rank 0 prints and writes the files.
  bool root() const { return world_.rank() == 0; }
  /// One process: no mpirun, or -np 1.
  bool alone() const { return world_.size() == 1; }

  /// Every process waits here for all the others, asleep: after rank 0 worked alone, before
  /// the next collective. Alone: nothing.
  void meet() const {
    if (!alone()) mam::mpi::wait_idle(world_);
  }

  /// Runs `work` on rank 0 only; the others wait for it asleep, and all go on together.
  template <class Work>
  void on_root(Work&& work) const {
    if (root()) std::forward<Work>(work)();
    meet();
  }

  /// Rank 0's `value` in every process (the others' are ignored); they wait for it asleep.
  bool from_root(bool value) const {
    if (alone()) return value;
    meet();
    double bit = value ? 1.0 : 0.0;
    world_.broadcast(&bit, 1);
    return bit != 0.0;
  }
  int from_root(int value) const {
    if (alone()) return value;
    meet();
    double number = static_cast<double>(value);
    world_.broadcast(&number, 1);
    return static_cast<int>(number);
  }

  /// Rank 0's `codes` in every process, shape included; the others wait for them asleep.
  void broadcast(mam::CodeMatrix& codes) const {
    if (alone()) return;
    meet();
    std::string bytes;
    if (root()) {
      const std::int64_t shape[2] = {static_cast<std::int64_t>(codes.rows()), static_cast<std::int64_t>(codes.cols())};
      bytes.resize(sizeof shape + sizeof(mam::Code) * static_cast<std::size_t>(codes.size()));
      std::memcpy(bytes.data(), shape, sizeof shape);
      if (codes.size() > 0) std::memcpy(bytes.data() + sizeof shape, codes.data(), bytes.size() - sizeof shape);
    }
    world_.broadcast(bytes);
    if (root()) return;
    std::int64_t shape[2] = {0, 0};
    std::memcpy(shape, bytes.data(), sizeof shape);
    codes.resize(static_cast<mam::Index>(shape[0]), static_cast<mam::Index>(shape[1]));
    if (codes.size() > 0) std::memcpy(codes.data(), bytes.data() + sizeof shape, bytes.size() - sizeof shape);
  }

  /// The end of the program: every process meets (after rank 0's evaluation and output) and
  /// returns rank 0's exit code.
  int conclude(int code) const { return from_root(code); }

 private:
  mam::mpi::Communicator& world_;
};

/// main() of an example: MPI (mam::mpi::Environment) around `program(processes)`, which
/// returns the exit code. An exception that escapes it is printed as "<name>: <message>" and
/// ends every process (mam::mpi::run_or_abort), so that no process waits for a failed one.
template <class Program>
int run_program(int& argc, char**& argv, const char* name, Program&& program) {
  const auto report = [name](const char* message) {
    std::fprintf(stderr, "%s: %s\n", name, message);
    std::fflush(stderr);
  };
  try {
    mam::mpi::Environment environment(argc, argv);
    mam::mpi::Communicator world;
    Processes processes(world);
    return mam::mpi::run_or_abort(
        world,
        [&] { return program(processes); },
        report);
  } catch (const std::exception& e) {  // MPI did not start (run_or_abort lets nothing escape)
    report(e.what());
    return 1;
  }
}

/// Parses the command line as CLI11_PARSE does, but only rank 0 prints (--help, errors): the
/// exit code every process returns then, or nothing when the program goes on.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const Processes& processes) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    if (processes.root()) return app.exit(e);
    std::ostream nowhere(nullptr);
    return app.exit(e, nowhere, nowhere);
  }
}

}  // namespace mam::examples
