#!/usr/bin/env bash
# Scaling on a simulated hpc7a cluster: the real exchange code (collective::Comm, the fused
# GradientExchange, embedding::ShardedTable) under SimGrid's SMPI, 1 to 1,536 ranks.
#
#   scripts/simulate_scaling.sh [BUILD_DIR] [-- simulate_scaling.py options]
#
# Installs SimGrid (Debian's libsimgrid-dev) when smpirun is missing, builds the driver
# (tests/bench/smpi, CMake option SPARSETRAIN_SMPI) into BUILD_DIR (default build-smpi),
# then runs scripts/bench/simulate_scaling.py: unit costs measured here, a calibration
# against real mpirun, the cluster tables (strong scaling at 8,192 and 720,000, weak at 683
# and 15,000 rows per rank, P = 12, 48, 384, 1,536, sharded and replicated), the cost
# model beside them. Markdown on stdout, progress on stderr, the last line JSON. About
# 30-60 minutes on the 2-core dev VM; 16+ GiB of memory for the largest runs (the others
# are listed as skipped where it lacks).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-smpi}
shift || true
[[ ${1:-} == -- ]] && shift

if ! command -v smpirun > /dev/null; then
  echo "# installing SimGrid (libsimgrid-dev)" >&2
  SUDO=$([[ $(id -u) == 0 ]] && echo "" || echo sudo)
  $SUDO apt-get install -y libsimgrid-dev >&2
fi
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSPARSETRAIN_SMPI=ON \
  -DSPARSETRAIN_BUILD_TESTS=OFF -DSPARSETRAIN_BUILD_BENCH=OFF > /dev/null
cmake --build "$BUILD" -j "$(nproc)" --target smpi_scaling smpi_scaling_mpi cluster_platform > /dev/null
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; SimGrid $(smpirun -version 2>/dev/null | head -1)" >&2
exec python3 "$ROOT/scripts/bench/simulate_scaling.py" --build "$BUILD" "$@"
