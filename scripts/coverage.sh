#!/usr/bin/env bash
# Line coverage of src/ by the whole test suite (gcc + gcov, no other tool): builds with
# SPARSETRAIN_COVERAGE in BUILD (default build-cov), runs ctest there, then prints each source
# file's uncovered lines, most first, and the total. With FILE... it also lists those files'
# uncovered lines. Not part of CI (~10 minutes on 2 cores).
#   scripts/coverage.sh [src/train/checkpointing.cpp ...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build-cov}
mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DSPARSETRAIN_COVERAGE=ON \
  -DSPARSETRAIN_BUILD_BENCH=OFF > "$BUILD/cmake.log" 2>&1 || { tail -20 "$BUILD/cmake.log"; exit 1; }
cmake --build "$BUILD" -j "$(nproc)" > "$BUILD/make.log" 2>&1 || { tail -20 "$BUILD/make.log"; exit 1; }
find "$BUILD" -name '*.gcda' -delete
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1 OMP_WAIT_POLICY=passive
(cd "$BUILD" && ctest -j "$(nproc)" > ctest.log 2>&1) || echo "coverage: some tests failed ($BUILD/ctest.log); counting anyway" >&2
out="$BUILD/gcov"
rm -rf "$out" && mkdir -p "$out"
# One gcov call per object directory of the project's libraries (st_*): their .gcda files.
while IFS= read -r dir; do
  (cd "$out" && gcov -p -o "$ROOT/$dir" "$ROOT/$dir"/*.gcda > /dev/null 2>&1) || true
done < <(find "$BUILD" -name '*.gcda' -path '*/CMakeFiles/st_*' -printf '%h\n' | sort -u)
python3 - "$out" "$ROOT" "$@" << 'PY'
import glob, os, sys
out, root, listed = sys.argv[1], sys.argv[2], sys.argv[3:]
prefix = (root.strip("/") + "/src/").replace("/", "#")
files = {}
for path in glob.glob(os.path.join(out, "*.gcov")):
    name = os.path.basename(path)
    if prefix not in name:
        continue
    src = "src/" + name.split(prefix, 1)[1][:-len(".gcov")].replace("#", "/")
    lines, missed = 0, []
    for line in open(path, errors="replace"):
        count, _, rest = line.partition(":")
        number, _, text = rest.partition(":")
        count = count.strip()
        if count == "-" or not number.strip().isdigit() or int(number) == 0:
            continue
        lines += 1
        if count.startswith(("#####", "=====")):
            missed.append((int(number), text.rstrip()))
    old = files.get(src, (0, []))  # a header seen from several objects: keep the best-covered view
    if not old[0] or len(missed) < len(old[1]):
        files[src] = (lines, missed)
total = sum(v[0] for v in files.values())
missed = sum(len(v[1]) for v in files.values())
print(f"{'uncovered':>9} {'lines':>6}  file")
for src, (lines, miss) in sorted(files.items(), key=lambda kv: -len(kv[1][1])):
    if miss:
        print(f"{len(miss):9d} {lines:6d}  {src}")
print(f"total: {total - missed} of {total} lines of src/ run by the tests ({100.0 * (total - missed) / max(total, 1):.1f}%)")
for src in listed:
    print(f"\n{src}: uncovered lines")
    for number, text in files.get(src, (0, []))[1]:
        print(f"{number:6d}: {text}")
PY
