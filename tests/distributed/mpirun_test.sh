#!/usr/bin/env bash
# Runs one test command under mpiexec for ctest (tests/distributed/CMakeLists.txt,
# mam_add_mpi_test):
#
#   mpirun_test.sh <mpiexec> <processes> <seconds> <command> [args...]
#
# A run that hangs (ranks waiting in a collective for one that is gone) is killed after
# <seconds> and fails (exit 124) instead of blocking ctest. Each rank gets one OpenMP thread:
# several ranks share the cores (3 ranks on 2 cores), and spinning OpenMP teams of
# oversubscribed processes slow each other down tenfold.
set -euo pipefail

if (($# < 4)); then
  printf 'usage: %s <mpiexec> <processes> <seconds> <command> [args...]\n' "$0" >&2
  exit 2
fi
mpiexec="$1"
processes="$2"
seconds="$3"
shift 3

export OMP_NUM_THREADS=1
options=(-np "$processes")
# Open MPI's own options (MPICH's mpiexec passes the environment and neither binds nor
# refuses root by default).
if "$mpiexec" --version 2>&1 | grep -q -e 'Open MPI' -e 'OpenRTE'; then
  # More ranks than cores; no binding (two ranks pinned to one core each leave OpenMP one
  # core); the ranks' OMP_NUM_THREADS.
  options+=(--oversubscribe --bind-to none -x OMP_NUM_THREADS=1)
  if [[ "$(id -u)" -eq 0 ]]; then
    # Containers and CI run as root, which Open MPI refuses unless asked.
    options+=(--allow-run-as-root)
  fi
fi

# --kill-after: a mpiexec that ignores SIGTERM is killed 10 s later.
exec timeout --kill-after=10 "$seconds" "$mpiexec" "${options[@]}" "$@"
