#!/usr/bin/env bash
# Installs every Debian package sparsetrain needs on a bare Debian 12 machine,
# then configures and builds Release into build/. Safe to run again.
#   scripts/setup.sh            install + build
#   SKIP_APT=1 scripts/setup.sh build only (packages already there)
#   WITH_TORCH=1 scripts/setup.sh  also the PyTorch peer (python3-torch, python3-h5py, numpy):
#                                  scripts/bench_all.sh and bench_parity.py's PyTorch rows and
#                                  the test that compares the two (skipped without them)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git
  libopenmpi-dev openmpi-bin            # MPI (mpirun, mpicxx)
  libhdf5-dev libhdf5-openmpi-dev hdf5-tools  # checkpoints / model files (parallel HDF5; h5ls, h5dump)
  libboost-program-options-dev          # config: INI + command line
  zlib1g-dev                            # gzip input (Criteo 1TB ships as .gz)
  libgtest-dev googletest               # unit tests
  libbenchmark-dev                      # micro-benchmarks
  python3                               # test helpers
  clang-14 libclang-rt-14-dev libfuzzer-14-dev  # ASan/UBSan test build and fuzz targets (scripts/test.sh, fuzz.sh)
  libomp-14-dev                         # OpenMP for clang
  llvm-14                               # llvm-symbolizer: sanitizer reports with file:line
  clang-format-14 clang-tidy-14         # scripts/check_format.sh (CI), scripts/tidy.sh
)

if [[ "${SKIP_APT:-0}" != "1" ]]; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  if [[ "${WITH_TORCH:-0}" == "1" ]]; then PACKAGES+=(python3-torch python3-h5py python3-numpy); fi
  $SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi

JOBS=$(nproc 2>/dev/null || echo 2)
# Warnings are errors: the build is warning-free with Debian 12's GCC 12 (and clang 14).
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSPARSETRAIN_WERROR=ON
cmake --build build -j"$JOBS"
echo "setup: built $(pwd)/build/sparsetrain"
