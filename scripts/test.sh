#!/usr/bin/env bash
# Runs the whole test suite (unit tests, MPI tests under a real mpirun, end-to-end runs of
# the binary). The README's test command and .ci/run call exactly this. Three stages:
#   1. scripts/setup.sh (packages + the Release build in build/, warnings as errors), the
#      format check (scripts/check_format.sh), then every test on the Release build;
#   2. the same tests built by clang-14 with ASan + UBSan (build-asan/, warnings as errors;
#      the same build holds the fuzz targets), then every test on it;
#   3. every fuzz target for 30 s (scripts/fuzz.sh on build-asan/, two at a time).
# Extra arguments go to both ctest runs. Prints each stage's time at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# Open MPI refuses to start as root unless told it is fine (CI and containers run as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Oversubscribed ranks on 2 cores must yield instead of spinning.
export OMPI_MCA_mpi_yield_when_idle=1
# Tests share 2 cores (ctest -j2): OpenMP threads must sleep, not spin, at barriers.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# Readable sanitizer reports (clang's runtime finds llvm-symbolizer through this).
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}
JOBS=$(nproc 2>/dev/null || echo 2)

CPU=0
TIMES_FILE=$(mktemp)
trap 'rm -f "$TIMES_FILE"' EXIT
cpu_now() {  # CPU=user + system seconds of this shell's finished children (no subshell: `times` must see them)
  times >"$TIMES_FILE"
  CPU=$(tail -1 "$TIMES_FILE" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%d", t }')
}
report=()
stage() {  # stage NAME COMMAND...: runs it and records its wall and CPU time
  local name=$1 t0=$SECONDS c0
  cpu_now
  c0=$CPU
  shift
  echo "== test.sh: $name"
  "$@"
  cpu_now
  report+=("$(printf '%-28s %5d s wall %6d s CPU' "$name" $((SECONDS - t0)) $((CPU - c0)))")
}

stage "setup + Release build" env SKIP_APT="${SKIP_APT:-0}" scripts/setup.sh
stage "format check" scripts/check_format.sh
stage "Release tests" ctest --test-dir build --output-on-failure -j2 "$@"

stage "ASan+UBSan configure" cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DSPARSETRAIN_SANITIZE=address,undefined -DSPARSETRAIN_FUZZ=ON -DSPARSETRAIN_WERROR=ON -DSPARSETRAIN_BUILD_BENCH=OFF
stage "ASan+UBSan build" cmake --build build-asan -j"$JOBS"
stage "ASan+UBSan tests" ctest --test-dir build-asan --output-on-failure -j2 "$@"

# Two targets at a time (2 cores), each for its own 30 s.
stage "fuzz (30 s per target)" env FUZZ_BUILD_DIR=build-asan FUZZ_PARALLEL=2 scripts/fuzz.sh 30

echo "== test.sh: all stages passed"
printf "  %s\n" "${report[@]}"
echo "  total                        $SECONDS s wall ($(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'))"
