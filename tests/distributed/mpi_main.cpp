// Catch2's main for the MPI test executables (target mam_mpi_catch_main): MPI lives around
// the session, and the exit code is non-zero on every rank when a test failed on any rank.
//
// Every rank runs every test case and prints its own report, so a failure shows on the rank
// where it happened (a passing rank prints one summary line). Test cases call collectives on
// every rank in the same order: check with CHECK, not REQUIRE, before a collective, since a
// REQUIRE that fails on one rank skips the rest of its test case there and the ranks'
// collectives no longer match (mpirun_test.sh's timeout then ends the run).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <mpi.h>

#include "mam/distributed/mpi.hpp"

int main(int argc, char** argv) {
  const mam::mpi::Environment environment(argc, argv);
  Catch::Session session;
  // Open MPI hands the ranks a terminal, and the ranks' colours interleave into ctest's logs:
  // plain text unless asked (--use-colour yes).
  session.configData().useColour = Catch::UseColour::No;
  int result = session.applyCommandLine(argc, argv);  // same arguments, same answer on every rank
  if (result == 0) result = session.run();
  // The worst rank's result, everywhere: mpiexec's exit code then does not depend on which
  // rank it reports.
  MPI_Allreduce(MPI_IN_PLACE, &result, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return result;
}
