# shellcheck shell=bash disable=SC2034  # BIN, FIX, MPI: for the scripts that source this
# The start every end-to-end test shares, sourced first by tests/<module>/*_e2e.sh, which
# CTest runs as `bash <script> <sparsetrain binary> <fixtures dir>`. It gives the script:
#   strict mode (set -euo pipefail);
#   BIN and FIX, the two arguments made absolute (a script may cd);
#   ROOT, the repository (the configs name their data relative to it);
#   WORK, a fresh directory of its own, removed on exit unless KEEP is set (to look into a
#     failure); a script with more to undo sets its own EXIT trap and removes WORK there;
#   fail MESSAGE: prints FAIL: MESSAGE to stderr and exits 1;
#   MPI, the mpirun prefix (as root, more ranks than cores);
#   one OpenMP thread per process, and ranks that yield while they wait: CI has 2 cores and
#     the tests run up to 4 ranks, which must not spin against each other. A script that
#     checks the threads a run picks by itself unsets OMP_NUM_THREADS.
set -euo pipefail
BIN=$(readlink -f "$1")
FIX=$(readlink -f "${2:-.}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "/tmp/st_$(basename "$0" .sh).XXXXXX")
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$WORK"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
export OMP_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI=(mpirun --allow-run-as-root --oversubscribe)
