#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp) with clang-14, ASan and UBSan into
# build-fuzz/, seeds their corpora and runs each target for SECONDS seconds, one after the
# other. Prints each target's runs and execs/s; exits non-zero if any target crashed
# (sanitizer error, failed property, timeout or out-of-memory), naming the reproducer.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (default 30 s, every target)
# Re-run a reproducer: build-fuzz/fuzz_<target> build-fuzz/crashes/<target>-crash-...
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (build jobs, default nproc),
# FUZZ_PARALLEL (targets run at a time, default 1).
# The corpora grow in build-fuzz/corpus/<target> across runs; seeds are made afresh each
# run in build-fuzz/seeds/<target> (the model-file seeds by the freshly built binary, so
# they always have the current file format).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
shift || true
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
ALL_TARGETS=()
for f in tests/fuzz/*_fuzz.cpp; do
  n=$(basename "$f" _fuzz.cpp)
  ALL_TARGETS+=("$n")
done
if [[ $# -gt 0 ]]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi

# --- build ----------------------------------------------------------------------------
# A build directory already configured with SPARSETRAIN_FUZZ=ON is reused as it is
# (scripts/test.sh passes its ASan test build, which has the fuzzers too).
if [[ -f $BUILD/CMakeCache.txt ]]; then
  grep -q '^SPARSETRAIN_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt" ||
    { echo "fuzz.sh: $BUILD is configured without -DSPARSETRAIN_FUZZ=ON" >&2; exit 2; }
else
  cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DSPARSETRAIN_FUZZ=ON -DSPARSETRAIN_WERROR=ON -DSPARSETRAIN_BUILD_TESTS=OFF -DSPARSETRAIN_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$BUILD" -j"$JOBS" --target fuzzers sparsetrain

# --- seeds ----------------------------------------------------------------------------
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# Readable sanitizer reports (clang's runtime needs llvm-symbolizer; Debian's llvm-14 has it).
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} && -x /usr/lib/llvm-14/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi
SEEDS=$BUILD/seeds
rm -rf "$SEEDS"
mkdir -p "$SEEDS" "$BUILD/crashes"
fixture=tests/fixtures/criteo_kaggle_head8k.tsv

# Rows: a few real lines (labeled; one made unlabeled; one with CRLF).
mkdir -p "$SEEDS/criteo_row"
i=0
while IFS= read -r line; do
  printf '%s' "$line" >"$SEEDS/criteo_row/line$i"
  i=$((i + 1))
done < <(sed -n '1,4p' "$fixture"; sed -n '2p' tests/fixtures/criteo_sample_test.tsv)
printf '%s' "$(sed -n 5p "$fixture" | cut -f2-)" >"$SEEDS/criteo_row/unlabeled"
printf '%s\r' "$(sed -n 6p "$fixture")" >"$SEEDS/criteo_row/crlf"

# Line source: [control][parameter][file]; control = mode | max_line choice << 2
# (see tests/fuzz/line_source_fuzz.cpp). A few lines, plain, gzip and cut gzip.
mkdir -p "$SEEDS/line_source"
text=$(sed -n '1,5p' "$fixture")
{ printf '\x0c\x80'; printf '%s\n' "$text"; } >"$SEEDS/line_source/plain"
{ printf '\x00\x40'; printf '%s' "$text"; } >"$SEEDS/line_source/plain_maxline8"
{ printf '\x05\x00'; printf '%s\n' "$text" | gzip -1 -c; } >"$SEEDS/line_source/gzip_file"
{ printf '\x0e\xc0'; printf '%s\n' "$text"; } >"$SEEDS/line_source/gzip_here"
{ printf '\x0b\xa0'; printf '%s\r\n\n' "$text"; } >"$SEEDS/line_source/gzip_cut"

# Config: [control][INI]\0[arg]\0... ; control bit 0: 1 = read as a --config file.
mkdir -p "$SEEDS/config"
for ini in configs/*.ini; do
  n=$(basename "$ini" .ini)
  { printf '\x00'; cat "$ini"; } >"$SEEDS/config/$n.base"
  { printf '\x01'; cat "$ini"; } >"$SEEDS/config/$n.file"
done
printf '\x00[model]\nhidden = 64,32\nsparsity = 0.5,1\n\x00--train.seed\x003\x00--lsh.family=dwta\x00--data.train\x00a.tsv,b*.gz' \
  >"$SEEDS/config/overrides"

# Model files and checkpoints: tiny models trained by the binary just built (current format).
mkdir -p "$SEEDS/model_file"
run=$BUILD/seed-runs
rm -rf "$run"
mkdir -p "$run"
head -n 400 "$fixture" >"$run/rows.tsv"
tiny=(--data.train "$run/rows.tsv" --data.test "" --data.input_dim 512 --model.embed_dim 4 --lsh.bits 2
      --lsh.tables 2 --lsh.bucket_capacity 4 --train.batch_size 50 --train.max_steps 4 --train.log_every 2
      --checkpoint.every_steps 2 --checkpoint.keep 1)
"$BUILD/sparsetrain" train "${tiny[@]}" --model.hidden 16,8 --model.sparsity 0.5 --lsh.rebuild_every 1 \
  --train.run_dir "$run/sparse" >"$run/sparse.log" 2>&1 || { cat "$run/sparse.log"; exit 1; }
"$BUILD/sparsetrain" train "${tiny[@]}" --model.hidden 8 --model.sparsity 1 --data.dense_features false \
  --optim.moments bfloat16 --train.run_dir "$run/dense" >"$run/dense.log" 2>&1 || { cat "$run/dense.log"; exit 1; }
for kind in sparse dense; do
  cp "$run/$kind/model.h5" "$SEEDS/model_file/$kind-model.h5"
  for c in "$run/$kind"/checkpoints/ckpt-*.h5; do cp "$c" "$SEEDS/model_file/$kind-$(basename "$c")"; done
done

# --- run ------------------------------------------------------------------------------
# allocator_may_return_null: a request too large to serve returns null (new throws
# bad_alloc), as it does without ASan: HDF5 asks for sizes read from a corrupt file and
# reports the failure; a bad_alloc escaping the code under test is still a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1}
# -timeout: an input taking over 10 s is a hang (reported like a crash); -rss_limit_mb:
# libFuzzer's default 2 GiB, also the largest single allocation allowed.
declare -A MAX_LEN=([criteo_row]=4096 [line_source]=16384 [config]=4096 [model_file]=262144)
run_target() {  # run_target NAME: one fuzzer for SECS seconds; its summary line into fuzz-NAME.result
  local t=$1 bin=$BUILD/fuzz_$1 log=$BUILD/fuzz-$1.log rc=0
  mkdir -p "$BUILD/corpus/$t"
  "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len="${MAX_LEN[$t]:-0}" \
    -print_final_stats=1 -artifact_prefix="$BUILD/crashes/$t-" \
    "$BUILD/corpus/$t" "$SEEDS/$t" >"$log" 2>&1 || rc=$?
  local runs eps cov line repro
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$({ grep -oE 'cov: [0-9]+' "$log" || true; } | tail -1 | cut -d' ' -f2)
  line=$(printf '%-12s %9s runs %7s execs/s  cov %5s  corpus %5s files' "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}" \
         "$(find "$BUILD/corpus/$t" -type f | wc -l)")
  if [[ $rc -ne 0 ]]; then
    repro=$({ grep -oE "(Test unit|artifact) written to [^ ]+" "$log" || true; } | tail -1 | awk '{print $NF}')
    echo "fuzz_$t: CRASH (exit $rc), reproducer: ${repro:-see $log}"
    grep -E "ERROR: |FUZZ_CHECK|SUMMARY|runtime error" "$log" | head -20 || true
    line="$line  CRASH (exit $rc): ${repro:-$log}"
  fi
  echo "$line" >"$BUILD/fuzz-$t.result"
}

for t in "${TARGETS[@]}"; do
  [[ -x $BUILD/fuzz_$t ]] || { echo "fuzz.sh: no target $t ($BUILD/fuzz_$t)" >&2; exit 2; }
  rm -f "$BUILD/fuzz-$t.result"
done
# FUZZ_PARALLEL targets at a time (default 1); each gets SECS seconds of its own.
PARALLEL=${FUZZ_PARALLEL:-1}
for t in "${TARGETS[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge $PARALLEL ]]; do wait -n || true; done
  echo "== fuzz_$t: ${SECS}s"
  run_target "$t" &
done
wait

failed=()
summary=()
for t in "${TARGETS[@]}"; do
  line=$(cat "$BUILD/fuzz-$t.result" 2>/dev/null || echo "$t: no result (see $BUILD/fuzz-$t.log)  CRASH")
  summary+=("$line")
  [[ $line == *CRASH* ]] && failed+=("$t")
done

echo "== fuzz summary (${SECS}s per target, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1))"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: ${#failed[@]} target(s) crashed: ${failed[*]} (reproducers in $BUILD/crashes/)"
  exit 1
fi
