#!/usr/bin/env bash
# Runs the whole test suite (unit tests, MPI tests under a real mpirun, end-to-end
# runs of the binary). The README's test command and .ci/run call exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
# Open MPI refuses to start as root unless told it is fine (CI and containers run as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Oversubscribed ranks on 2 cores must yield instead of spinning.
export OMPI_MCA_mpi_yield_when_idle=1
# Tests share 2 cores (ctest -j2): OpenMP threads must sleep, not spin, at barriers.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
SKIP_APT=${SKIP_APT:-0} scripts/setup.sh
ctest --test-dir build --output-on-failure -j2 "$@"
