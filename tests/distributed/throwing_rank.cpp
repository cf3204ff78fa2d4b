// A program that fails on purpose inside mam::mpi::run_or_abort (run by throwing_rank.cmake):
//
//   mam_mpi_throwing_rank one_rank    rank 1 throws while the others wait in an allreduce
//   mam_mpi_throwing_rank every_rank  every rank throws the same error after an allreduce
//
// Either way every rank must end, with a non-zero exit, and the message must be printed once.
#include <iostream>
#include <string>

#include <mam/core/error.hpp>
#include <mam/distributed/mpi.hpp>

int main(int argc, char** argv) {
  mam::mpi::Environment environment(argc, argv);
  mam::mpi::Communicator world;
  const std::string mode = argc > 1 ? argv[1] : "";
  return mam::mpi::run_or_abort(
      world,
      [&] {
        double total = 1.0;
        if (mode == "one_rank") {
          if (world.rank() == 1) {
            throw mam::value_error("throwing_rank: expected rank 1 to go on, got a deliberate failure on rank 1");
          }
          world.sum(&total, 1);  // never completes: rank 1 is not coming
          return 0;
        }
        if (mode == "every_rank") {
          world.sum(&total, 1);
          if (total == world.size()) {
            throw mam::numeric_error("throwing_rank: expected a finite loss, got the same failure on every rank");
          }
          return 0;
        }
        throw mam::value_error("throwing_rank: expected one_rank or every_rank, got '" + mode + "'");
      },
      [&](const char* message) { std::cerr << "mam test: rank " << world.rank() << ": " << message << '\n'; });
}
