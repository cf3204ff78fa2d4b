#!/usr/bin/env bash
# Shared setup for scripts/* — source it, don't run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
#   mam_add_packages librdkit-dev     # optional: packages this script needs on top
#   mam_ensure_packages               # install missing Debian packages (or explain how)
#   mam_build [target...]             # configure + build (all targets by default)
#
# Environment variables honored:
#   MAM_BUILD_DIR       build directory (default: <repo>/build)
#   MAM_BUILD_TYPE      CMAKE_BUILD_TYPE (default: Release)
#   MAM_JOBS            parallel build/test jobs (default: nproc)
#   MAM_CMAKE_ARGS      extra arguments for the cmake configure step (split on whitespace,
#                       no quoting: -DFOO=1 -DBAR=2)
#   CMAKE_GENERATOR     (CMake's own) generator for a fresh build dir; default Ninja if found
#   MAM_EXTRA_PACKAGES  extra Debian packages to require (space-separated)
#   MAM_SKIP_PACKAGES   set to 1 to skip the Debian package check entirely
set -euo pipefail

MAM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MAM_BUILD_DIR="${MAM_BUILD_DIR:-$MAM_ROOT/build}"
[[ "$MAM_BUILD_DIR" == /* ]] || MAM_BUILD_DIR="$PWD/$MAM_BUILD_DIR"
MAM_BUILD_TYPE="${MAM_BUILD_TYPE:-Release}"
MAM_JOBS="${MAM_JOBS:-$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}"

# Debian packages needed to build and test mam.
MAM_PACKAGES=(
  cmake
  g++
  ninja-build
  pkg-config
  libeigen3-dev
  catch2
  libbenchmark-dev
  zlib1g-dev
  libcli11-dev
  libstb-dev
  dataset-fashion-mnist
  # RDKit: optional in CMake (mam_molecules and the SELFIES/RDKit tests are skipped without
  # it), installed here so the test suite covers them.
  librdkit-dev
  libboost-dev
  rdkit-data
  # MPI: the examples need it (they run data-parallel under mpirun; configure with
  # -DMAM_BUILD_EXAMPLES=OFF without it); the library and its unit tests do not (mam::mpi and
  # the tests/distributed tests are then skipped). Installed here so the test suite covers
  # data-parallel training.
  libopenmpi-dev
  openmpi-bin
)
if [[ -n "${MAM_EXTRA_PACKAGES:-}" ]]; then
  read -r -a _mam_extra_packages <<<"$MAM_EXTRA_PACKAGES"
  MAM_PACKAGES+=("${_mam_extra_packages[@]}")
  unset _mam_extra_packages
fi

mam_log() { printf '[mam] %s\n' "$*" >&2; }

# mam_add_packages pkg...: require more Debian packages (call before mam_ensure_packages).
mam_add_packages() { MAM_PACKAGES+=("$@"); }

# Prints the packages of MAM_PACKAGES that are not installed, one per line.
mam_missing_packages() {
  local pkg status
  for pkg in "${MAM_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == *" ok installed" ]] || printf '%s\n' "$pkg"
  done
}

# Installs missing packages when root; otherwise prints the command to run and exits 1.
mam_ensure_packages() {
  if [[ "${MAM_SKIP_PACKAGES:-0}" == 1 ]]; then
    return 0
  fi
  if ! command -v dpkg-query >/dev/null 2>&1; then
    mam_log "dpkg-query not found: not checking packages (need: ${MAM_PACKAGES[*]})"
    return 0
  fi
  local missing=()
  mapfile -t missing < <(mam_missing_packages)
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if [[ "$(id -u)" -eq 0 ]]; then
    mam_log "installing missing packages: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    mam_log "missing packages: ${missing[*]}"
    mam_log "install them with:"
    printf '  sudo apt-get install -y %s\n' "${missing[*]}" >&2
    exit 1
  fi
}

# Configures MAM_BUILD_DIR (Ninja when available, warnings and -march=native on).
mam_configure() {
  local args=(
    -S "$MAM_ROOT"
    -B "$MAM_BUILD_DIR"
    -DCMAKE_BUILD_TYPE="$MAM_BUILD_TYPE"
    -DMAM_WARNINGS=ON
    -DMAM_NATIVE=ON
  )
  # The generator can only be chosen for a fresh build directory; CMake's own CMAKE_GENERATOR
  # environment variable wins over the Ninja default.
  if [[ ! -f "$MAM_BUILD_DIR/CMakeCache.txt" && -z "${CMAKE_GENERATOR:-}" ]] &&
    command -v ninja >/dev/null 2>&1; then
    args+=(-G Ninja)
  fi
  if [[ -n "${MAM_CMAKE_ARGS:-}" ]]; then
    local extra=()
    read -r -a extra <<<"$MAM_CMAKE_ARGS"
    args+=("${extra[@]}")
  fi
  cmake "${args[@]}"
}

# mam_build [target...]: configure, then build the given targets (default: all).
mam_build() {
  mam_configure
  local targets=() target
  for target in "$@"; do
    targets+=(--target "$target")
  done
  cmake --build "$MAM_BUILD_DIR" -j "$MAM_JOBS" ${targets[@]+"${targets[@]}"}
}
