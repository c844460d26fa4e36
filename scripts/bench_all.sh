#!/usr/bin/env bash
# The benchmark suite: sparsetrain sparse vs dense vs PyTorch on CPU, on generated
# Criteo-like data with a known best AUC. Prints a Markdown table and writes
# scripts/bench/results/latest.md (table + exact commands) and auc_vs_time.png.
#
#   scripts/bench_all.sh                 full run (~10-15 min on 2 cores, ~16 min for the wide input
#                                        layer (WIDE=0 skips it; it needs ~16 GB of memory), ~25 min for the
#                                        accuracy per synth profile; PARITY=0 skips that)
#   QUICK=1 scripts/bench_all.sh         smoke test of the script (~3 min, results not kept)
#
# Knobs (environment): BUILD_DIR (default build), WORK_DIR (/tmp/sparsetrain-bench),
# RESULTS_DIR, TRAIN_ROWS, TEST_ROWS, REPS, TP_STEPS, INPUT_DIM, EMBED_DIM, HIDDEN,
# SPARSITY, LR, BATCH, LSH_ARGS (extra `--lsh.key value` args for the sparse runs),
# TUNED_ARGS (args of the second sparse variant, "default sparse": the config defaults, written out
# (sparsity 0.03, 2 tables x 4 bits); empty = skip),
# EVALS, MEM_INPUT_DIM, MPI_STEPS, TARGET_AUC, SKIP_BUILD=1; for the accuracy per profile
# (scripts/bench_parity.py, written to RESULTS/parity.md): PARITY=0|1, PARITY_PROFILES,
# PARITY_ROWS, PARITY_TEST_ROWS, PARITY_SEEDS, PARITY_ONLY (a regex of the sparsetrain variants);
# for the narrow control (a dense hidden layer of the sparse model's k neurons, in both systems,
# one run at a time, written to RESULTS/narrow.md): NARROW=0|1, NARROW_PROFILES, NARROW_WIDTH;
# for the wide input layer (ThirdAI's 100,000 x 10,240 shape, ~12.5 GB per run, one at a time):
# WIDE=0|1, WIDE_ROWS, WIDE_TORCH_ROWS (default WIDE_ROWS; PyTorch trains ~250 samples/s there), WIDE_REPS,
# WIDE_SPARSITY.
#
# Needs (Debian packages): the build dependencies of scripts/setup.sh, plus for the
# comparison and the plot: python3-numpy python3-torch gnuplot-nox (python3-h5py for the
# same-start check), and an optimized
# BLAS for PyTorch's Linear layers (libopenblas0-pthread); mpirun (openmpi-bin) for the
# 2-rank row. Missing optional pieces are skipped with a note.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

QUICK=${QUICK:-0}
if [[ "$QUICK" == "1" ]]; then
  : "${TRAIN_ROWS:=200000}" "${TEST_ROWS:=50000}" "${REPS:=1}" "${TP_STEPS:=50}" "${EVALS:=3}"
  : "${MEM_INPUT_DIM:=1048576}" "${MPI_STEPS:=50}" "${RESULTS_DIR:=${WORK_DIR:-/tmp/sparsetrain-bench}/results-quick}"
  : "${PARITY_PROFILES:=kaggle,crosses}" "${PARITY_ROWS:=30000}" "${PARITY_TEST_ROWS:=10000}" "${PARITY_SEEDS:=1}"
  : "${WIDE_ROWS:=5000}" "${WIDE_TORCH_ROWS:=2000}" "${WIDE_REPS:=1}"
fi
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
WORK=${WORK_DIR:-/tmp/sparsetrain-bench}
RESULTS=${RESULTS_DIR:-$ROOT/scripts/bench/results}
TRAIN_ROWS=${TRAIN_ROWS:-2000000}
TEST_ROWS=${TEST_ROWS:-200000}
REPS=${REPS:-5}
TP_STEPS=${TP_STEPS:-250}
INPUT_DIM=${INPUT_DIM:-1048576}
EMBED_DIM=${EMBED_DIM:-64}
HIDDEN=${HIDDEN:-1024}
SPARSITY=${SPARSITY:-0.05}
LR=${LR:-0.003}
BATCH=${BATCH:-1024}
# The first sparse variant pins the original SLIDE-style settings (sparsity 0.05, 16 x 6-bit
# tables); the second ("default sparse", internally "tuned") is the config defaults, written
# out so the report names them: sparsity 0.03, 2 tables x 4 bits.
LSH_ARGS=${LSH_ARGS---lsh.tables 16 --lsh.bits 6}
TUNED_ARGS=${TUNED_ARGS---model.sparsity 0.03 --lsh.tables 2 --lsh.bits 4}   # TUNED_ARGS= skips it
EVALS=${EVALS:-8}
MEM_INPUT_DIM=${MEM_INPUT_DIM:-4194304}
MPI_STEPS=${MPI_STEPS:-300}
TARGET_AUC=${TARGET_AUC:-}
PY=${PYTHON:-/usr/bin/python3}   # Debian's python3 (python3-torch / python3-numpy live there)
NCPU=$(getconf _NPROCESSORS_ONLN)   # before OMP_NUM_THREADS is set: GNU nproc obeys it
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

OUT=$WORK/out
mkdir -p "$WORK" "$OUT" "$RESULTS"
rm -f "$OUT"/*.json "$OUT"/*.jsonl "$OUT"/*.dat "$OUT"/*.stdout "$OUT"/*.stderr "$OUT"/commands.txt "$OUT"/env.txt
CMDS=$OUT/commands.txt
T0=$(date +%s)

say() { printf '\n== %s (%ds)\n' "$*" $(( $(date +%s) - T0 )) >&2; }
note() { printf '   note: %s\n' "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# run NAME CMD...: runs CMD, logs it to commands.txt, keeps its stdout/stderr, and its
# last JSON line (stdout) as OUT/NAME.json.
run() {
  local name=$1; shift
  { printf '# %s (load average %s)\n' "$name" "$(load1)"; printf '%q ' "$@"; printf '\n'; } >> "$CMDS"
  printf '   %-14s ' "$name" >&2
  local t
  t=$(date +%s%N)
  if ! "$@" > "$OUT/$name.stdout" 2> "$OUT/$name.stderr"; then
    echo "FAILED: $*" >&2
    tail -5 "$OUT/$name.stderr" >&2
    return 1
  fi
  grep '^{' "$OUT/$name.stdout" | tail -1 > "$OUT/$name.json" || true
  printf '%6.1fs  %s\n' "$(( ($(date +%s%N) - t) / 1000000 ))e-3" "$(cut -c1-150 "$OUT/$name.json")" >&2
}

# ---------------------------------------------------------------- prerequisites
say "prerequisites"
HAVE_TORCH=1 HAVE_GNUPLOT=1 HAVE_MPI=1
MISSING=()
command -v cmake >/dev/null || { echo "cmake missing: run scripts/setup.sh" >&2; exit 1; }
[[ -x /usr/bin/time ]] || MISSING+=(time)
if ! "$PY" -c "import numpy" 2>/dev/null; then
  echo "numpy missing for $PY: apt-get install -y --no-install-recommends python3-numpy" >&2; exit 1
fi
if ! "$PY" -c "import torch" 2>/dev/null; then
  HAVE_TORCH=0; MISSING+=(python3-torch); note "PyTorch missing: the PyTorch rows are skipped"
fi
command -v gnuplot >/dev/null || { HAVE_GNUPLOT=0; MISSING+=(gnuplot-nox); note "gnuplot missing: no plot"; }
command -v mpirun >/dev/null || { HAVE_MPI=0; note "mpirun missing: the 2-rank row is skipped"; }
BLAS=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
if [[ $HAVE_TORCH == 1 && "$BLAS" != *openblas* && "$BLAS" != *blis* && "$BLAS" != *mkl* ]]; then
  MISSING+=(libopenblas0-pthread)
  note "libblas.so.3 is $BLAS (reference BLAS?): PyTorch's Linear layers will be ~20x slower than with OpenBLAS"
fi
# OpenBLAS picks its kernels by CPU model. Debian 12's 0.3.21 does not know newer Xeons
# (e.g. model 207) and falls back to its generic "Prescott" (SSE3) kernels: PyTorch's
# Linear layers then run 2-3x slower than they can (a 1024x64x1024 GEMM: 30 vs 84 GFLOPS
# here), and the comparison would flatter sparsetrain. So where OpenBLAS reports that
# fallback and the CPU has AVX-512 (or AVX2), the PyTorch runs get OPENBLAS_CORETYPE=SkylakeX
# (or Haswell), after a check that a GEMM with it matches float64. A CORETYPE already set
# in the environment is left alone (some machines set one on purpose).
TORCH_ENV=()
if [[ $HAVE_TORCH == 1 && -z "${OPENBLAS_CORETYPE:-}" ]]; then
  gemm_probe() {  # prints "Core: NAME" (OpenBLAS's choice), then GFLOPS and the max error vs float64
    env "$@" OPENBLAS_VERBOSE=2 OMP_NUM_THREADS=1 "$PY" -c '
import time, torch
torch.set_num_threads(1)
a, b = torch.randn(1024, 64), torch.randn(64, 1024)
ref = (a.double() @ b.double()).float()
t = time.perf_counter()
for _ in range(100): c = a @ b
print("GFLOPS", round(100 * 2 * 1024 * 64 * 1024 / (time.perf_counter() - t) / 1e9, 1), "ERR", float((c - ref).abs().max()))
' 2>&1
  }
  probe=$(gemm_probe)
  BLAS_CORE=$(sed -n 's/^Core: //p' <<< "$probe" | head -1)
  if [[ "$BLAS_CORE" == Prescott ]]; then
    want=""
    grep -qw avx512f /proc/cpuinfo && want=SkylakeX
    [[ -z "$want" ]] && grep -qw avx2 /proc/cpuinfo && want=Haswell
    if [[ -n "$want" ]]; then
      tuned=$(gemm_probe OPENBLAS_CORETYPE="$want")
      err=$(sed -n 's/.*ERR //p' <<< "$tuned")
      if "$PY" -c "import sys; sys.exit(0 if float('$err') < 1e-3 else 1)" 2>/dev/null; then
        TORCH_ENV=(OPENBLAS_CORETYPE="$want")
        note "OpenBLAS fell back to generic Prescott kernels ($(grep -o 'GFLOPS [0-9.]*' <<< "$probe")); PyTorch runs with OPENBLAS_CORETYPE=$want ($(grep -o 'GFLOPS [0-9.]*' <<< "$tuned"))"
      else
        note "OPENBLAS_CORETYPE=$want gave a wrong GEMM (max error $err): PyTorch keeps the generic kernels"
      fi
    fi
  fi
fi

if (( ${#MISSING[@]} )); then
  note "to install what is missing: apt-get install -y --no-install-recommends ${MISSING[*]}"
  if [[ " ${MISSING[*]} " == *" time "* ]]; then exit 1; fi
fi

# ---------------------------------------------------------------- build
say "build ($BUILD_DIR)"
if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j"$NCPU" --target sparsetrain bench_train_bench bench_featurize_dump >/dev/null
  cmake --build "$BUILD_DIR" -j"$NCPU" --target bench_parse_bench >/dev/null 2>&1 || note "bench_parse_bench not built"
  cmake --build "$BUILD_DIR" -j"$NCPU" --target bench_scaling_bench >/dev/null 2>&1 || note "bench_scaling_bench not built"
fi
ST=$BUILD_DIR/sparsetrain
TB=$BUILD_DIR/bench_train_bench
FD=$BUILD_DIR/bench_featurize_dump  # the C++ featurizer's ids, for pytorch_baseline.py --check-ids
[[ -x "$ST" && -x "$TB" && -x "$FD" ]] || { echo "missing $ST, $TB or $FD" >&2; exit 1; }

# ---------------------------------------------------------------- data
say "data"
TRAIN=$WORK/train_${TRAIN_ROWS}.tsv
TEST=$WORK/test_${TEST_ROWS}.tsv
TEST_PROB=$WORK/test_${TEST_ROWS}.prob
if [[ ! -s "$TRAIN" ]]; then run synth_train "$ST" synth --rows "$TRAIN_ROWS" --seed 1 --profile kaggle --output "$TRAIN"; fi
if [[ ! -s "$TEST" || ! -s "$TEST_PROB" ]]; then
  run synth_test "$ST" synth --rows "$TEST_ROWS" --seed 2 --profile kaggle --output "$TEST" --probabilities "$TEST_PROB"
fi

{
  echo "DATE=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "DIRTY=$([[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]] && echo 1 || echo 0)"
  echo "CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "NPROC=$NCPU"
  echo "LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "TRAIN_ROWS=$TRAIN_ROWS"; echo "TEST_ROWS=$TEST_ROWS"; echo "REPS=$REPS"
  echo "INPUT_DIM=$INPUT_DIM"; echo "EMBED_DIM=$EMBED_DIM"; echo "HIDDEN=$HIDDEN"; echo "SPARSITY=$SPARSITY"
  echo "LR=$LR"; echo "BATCH=$BATCH"; echo "LSH_ARGS=$LSH_ARGS"; echo "TUNED_ARGS=$TUNED_ARGS"; echo "MEM_INPUT_DIM=$MEM_INPUT_DIM"
  echo "TARGET_AUC=$TARGET_AUC"; echo "TEST_TSV=$TEST"; echo "TEST_PROB=$TEST_PROB"; echo "BLAS=$BLAS"
  if [[ $HAVE_TORCH == 1 ]]; then echo "TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)')"; fi
  echo "BLAS_CORE=${BLAS_CORE:-}"; echo "TORCH_ENV=${TORCH_ENV[*]:-}"
  if [[ $HAVE_MPI == 0 ]]; then echo "MPI_NOTE=skipped: mpirun not found"; fi
} > "$OUT/env.txt"

# ---------------------------------------------------------------- featurizer check
say "featurizer: numpy port (pytorch_baseline.py) vs C++ on the first 20000 test rows"
head -n 20000 "$TEST" > "$WORK/check.tsv"
"$FD" "$WORK/check.tsv" "$INPUT_DIM" > "$WORK/check.dump"
run check_ids "$PY" scripts/pytorch_baseline.py --train "$WORK/check.tsv" --input-dim "$INPUT_DIM" --check-ids "$WORK/check.dump"
grep -q MATCH "$OUT/check_ids.stdout" && ! grep -q MISMATCH "$OUT/check_ids.stdout" \
  || { echo "featurizer mismatch: see $OUT/check_ids.stdout" >&2; exit 1; }

# ---------------------------------------------------------------- parse
say "parse + featurize throughput"
if [[ -x "$BUILD_DIR/bench_parse_bench" ]]; then
  run parse "$BUILD_DIR/bench_parse_bench" --file "$TRAIN" --runs 3
else
  note "bench_parse_bench not present: parse row skipped"
fi

# ---------------------------------------------------------------- throughput, side by side
BASE=(--model.embed_dim "$EMBED_DIM" --model.hidden "$HIDDEN"
      --optim.lr "$LR" --train.batch_size "$BATCH" --train.threads 1 --train.log_every 1000000)
MODEL=(--data.input_dim "$INPUT_DIM" "${BASE[@]}")
# shellcheck disable=SC2206
SPARSE=(--model.sparsity "$SPARSITY" $LSH_ARGS)
DENSE=(--model.sparsity 1)
# shellcheck disable=SC2206
TUNED=($TUNED_ARGS)  # not SPARSITY/LSH_ARGS: a key may appear only once
TORCH=(--input-dim "$INPUT_DIM" --embed-dim "$EMBED_DIM" --hidden "$HIDDEN" --lr "$LR" --batch-size "$BATCH" --threads 1)
fresh() { rm -rf "$WORK/runs/$1"; echo "$WORK/runs/$1"; }

say "throughput: $REPS x (sparse, [default sparse], dense, PyTorch), $TP_STEPS steps of $BATCH, 1 thread"
for r in $(seq 1 "$REPS"); do
  run "tp_sparse_$r" "$ST" train --data.train "$TRAIN" "${MODEL[@]}" "${SPARSE[@]}" --train.max_steps "$TP_STEPS" \
    --train.run_dir "$(fresh tp_sparse)"
  if [[ -n "$TUNED_ARGS" ]]; then
    run "tp_tuned_$r" "$ST" train --data.train "$TRAIN" "${MODEL[@]}" "${TUNED[@]}" --train.max_steps "$TP_STEPS" \
      --train.run_dir "$(fresh tp_tuned)"
  fi
  run "tp_dense_$r" "$ST" train --data.train "$TRAIN" "${MODEL[@]}" "${DENSE[@]}" --train.max_steps "$TP_STEPS" \
    --train.run_dir "$(fresh tp_dense)"
  if [[ $HAVE_TORCH == 1 ]]; then
    run "tp_torch_$r" env "${TORCH_ENV[@]}" "$PY" scripts/pytorch_baseline.py --train "$TRAIN" "${TORCH[@]}" --max-rows $(( TP_STEPS * BATCH ))
  fi
done

# ---------------------------------------------------------------- full-length runs: AUC, curves
say "full-length runs on $TRAIN_ROWS rows with $EVALS evaluations (AUC, curves, time breakdown)"
run full_sparse "$TB" --data.train "$TRAIN" --data.test "$TEST" "${MODEL[@]}" "${SPARSE[@]}" \
  --evals "$EVALS" --curve "$OUT/curve_sparse.jsonl"
run prod_sparse "$ST" train --data.train "$TRAIN" --data.test "$TEST" "${MODEL[@]}" "${SPARSE[@]}" \
  --train.run_dir "$(fresh prod_sparse)"
if [[ -n "$TUNED_ARGS" ]]; then
  run full_tuned "$TB" --data.train "$TRAIN" --data.test "$TEST" "${MODEL[@]}" "${TUNED[@]}" \
    --evals "$EVALS" --curve "$OUT/curve_tuned.jsonl"
fi
if [[ -n "$TUNED_ARGS" ]]; then  # the same run with IEEE subnormals kept: what train.denormals = flush buys
  run full_tuned_keep "$TB" --data.train "$TRAIN" --data.test "$TEST" "${MODEL[@]}" "${TUNED[@]}" --train.denormals keep
fi
run full_dense "$TB" --data.train "$TRAIN" --data.test "$TEST" "${MODEL[@]}" "${DENSE[@]}" \
  --evals "$EVALS" --curve "$OUT/curve_dense.jsonl"
if [[ $HAVE_TORCH == 1 ]]; then
  run full_torch env "${TORCH_ENV[@]}" "$PY" scripts/pytorch_baseline.py --train "$TRAIN" --test "$TEST" "${TORCH[@]}" \
    --evals "$EVALS" --curve "$OUT/curve_torch.jsonl"
fi
run probe_sparse "$TB" --data.train "$TRAIN" "${MODEL[@]}" "${SPARSE[@]}" --train.max_steps "$TP_STEPS" --forward-probe 1

# ---------------------------------------------------------------- memory
say "peak memory per parameter (input_dim $MEM_INPUT_DIM x $EMBED_DIM)"
run mem_train /usr/bin/time -v -o "$OUT/mem.time" "$ST" train --data.train "$TRAIN" --data.input_dim "$MEM_INPUT_DIM" \
  "${BASE[@]}" "${SPARSE[@]}" --train.max_steps 50 --train.run_dir "$(fresh mem)"
"$PY" - "$OUT/mem.time" "$OUT/mem_train.json" > "$OUT/mem.json" <<'EOF'
import json, re, sys
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(sys.argv[1]).read()).group(1))
d = json.loads(open(sys.argv[2]).read())
print(json.dumps({"max_rss_kb": rss, "parameters": d["parameters"]}))
EOF
rm -rf "$WORK/runs/mem"

# ---------------------------------------------------------------- ranks
if [[ $HAVE_MPI == 1 ]]; then
  say "1 vs 2 ranks (mpirun, OMP_NUM_THREADS=1), $MPI_STEPS steps, default sparse"
  if [[ -n "$TUNED_ARGS" ]]; then MPI_SPARSE=("${TUNED[@]}"); else MPI_SPARSE=("${SPARSE[@]}"); fi
  MPI=(mpirun --allow-run-as-root --bind-to none -x OMP_NUM_THREADS=1 -x OMPI_MCA_mpi_yield_when_idle=1)
  for r in $(seq 1 "$REPS"); do
    for np in 1 2; do
      run "mpi_np${np}_$r" "${MPI[@]}" -np "$np" "$ST" train --data.train "$TRAIN" "${MODEL[@]}" "${MPI_SPARSE[@]}" \
        --train.max_steps "$MPI_STEPS" --train.run_dir "$(fresh mpi$np)" || note "mpirun -np $np failed"
    done
  done
fi

# ---------------------------------------------------------------- the wide input layer
# ThirdAI's 1B shape (configs/criteo-1tb-1b-wide.ini): 100,000 ids x 10,240 outputs, no hidden
# layer. model.embed_sparsity WIDE_SPARSITY against 1 (every output), and PyTorch at the same shape
# (EmbeddingBag(100000 x 10240, sum) + SparseAdam -> Linear(10240, 1)), side by side, one run at a
# time (each holds ~12.5 GB), WIDE_ROWS rows of the training file, peak RSS from /usr/bin/time.
# Then the sharded table (WIDE_SHARDED=0 skips it): the trainer's own step (bench_scaling_bench) on
# 1 process and on 2 sharded ranks, WIDE_SPARSITY and 1, WIDE_SHARD_STEPS timed steps: bytes per
# rank and step (only chosen blocks travel, against whole rows) and work per sample.
WIDE_ROWS=${WIDE_ROWS:-60000}
WIDE_TORCH_ROWS=${WIDE_TORCH_ROWS:-$WIDE_ROWS}   # PyTorch's first steps run far slower: the same rows as ours
WIDE_REPS=${WIDE_REPS:-3}
WIDE_SPARSITY=${WIDE_SPARSITY:-0.025}   # configs/criteo-1tb-1b-wide.ini's
if [[ "${WIDE:-1}" == "1" ]]; then
  say "wide input layer: 100000 x 10240, embed_sparsity $WIDE_SPARSITY vs 1 vs PyTorch, $WIDE_ROWS rows, $WIDE_REPS x"
  head -n "$WIDE_ROWS" "$TRAIN" > "$WORK/wide.tsv"
  WIDE_MODEL=(--data.input_dim 100000 --model.embed_dim 10240 --model.hidden "" --optim.lr 0.001
              --train.batch_size "$BATCH" --train.threads 1)
  for r in $(seq 1 "$WIDE_REPS"); do
    for es in "$WIDE_SPARSITY" 1; do
      name=wide_sparse_$r; [[ $es == 1 ]] && name=wide_dense_$r
      run "$name" /usr/bin/time -v -o "$OUT/$name.time" "$TB" --data.train "$WORK/wide.tsv" "${WIDE_MODEL[@]}" \
        --model.embed_sparsity "$es" || note "$name failed"
    done
    SB=$BUILD_DIR/bench_scaling_bench
    if [[ $HAVE_MPI == 1 && -x "$SB" && "${WIDE_SHARDED:-1}" == "1" ]]; then
      for es in "$WIDE_SPARSITY" 1; do
        for np in 1 2; do
          name=wide_shard_es${es}_np${np}_$r
          run "$name" mpirun --allow-run-as-root --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 \
            -x OMPI_MCA_mpi_yield_when_idle=1 -np "$np" "$SB" --data.train "$WORK/wide.tsv" --data.test "" \
            "${WIDE_MODEL[@]}" --dist.embedding sharded --model.embed_sparsity "$es" \
            --bench.steps "${WIDE_SHARD_STEPS:-40}" --bench.warmup 3 || note "$name failed"
        done
      done
    fi
    if [[ $HAVE_TORCH == 1 ]]; then
      run "wide_torch_$r" /usr/bin/time -v -o "$OUT/wide_torch_$r.time" env "${TORCH_ENV[@]}" "$PY" \
        scripts/pytorch_baseline.py --train "$WORK/wide.tsv" --input-dim 100000 --embed-dim 10240 --hidden "" \
        --lr 0.001 --batch-size "$BATCH" --threads 1 --max-rows "$WIDE_TORCH_ROWS" || note "wide_torch_$r failed"
    fi
  done
  rm -f "$WORK/wide.tsv"
fi

# ---------------------------------------------------------------- accuracy per synth profile
# Test AUC per profile (planted models that differ in kind), 3 model seeds, side by side with
# PyTorch under both initialisations, on the same inputs with and without dense features.
if [[ $HAVE_TORCH == 1 && "${PARITY:-1}" == "1" ]]; then
  say "accuracy per synth profile against PyTorch (scripts/bench_parity.py)"
  env "${TORCH_ENV[@]}" "$PY" scripts/bench_parity.py --binary "$BUILD_DIR/sparsetrain" --work "$WORK/parity" \
    --profiles "${PARITY_PROFILES:-kaggle,1tb,crosses,nonmonotone,heavytail,lighttail}" \
    --rows "${PARITY_ROWS:-500000}" --test-rows "${PARITY_TEST_ROWS:-100000}" --seeds "${PARITY_SEEDS:-1,2,3}" \
    --only "${PARITY_ONLY:-decay}" --out "$RESULTS/parity.md"
  # Both systems from the same weights for 3 steps: under PyTorch's rules they must agree.
  if "$PY" -c "import h5py" 2> /dev/null; then
    say "same start as PyTorch (scripts/bench/same_start.py)"
    PROFILE=${PARITY_PROFILES:-kaggle}
    head -n 4096 "$WORK/parity/${PROFILE%%,*}-train.tsv" > "$WORK/same_start.tsv"
    env "${TORCH_ENV[@]}" "$PY" scripts/bench/same_start.py --binary "$BUILD_DIR/sparsetrain" \
      --train "$WORK/same_start.tsv" --work "$WORK/same_start" | tee "$RESULTS/same_start.md"
  else
    note "python3-h5py missing: the same-start check against PyTorch is skipped"
  fi
fi

# ---------------------------------------------------------------- narrow control
# The sparse default (1,024 wide, 31 neurons per sample) beside a dense layer of 31 neurons, in
# sparsetrain and in PyTorch: what the sparsity buys over simply a narrower network, one run at a
# time so that the samples/s compare (scripts/bench/results/narrow_control.md).
if [[ $HAVE_TORCH == 1 && "${NARROW:-1}" == "1" ]]; then
  say "a narrow dense hidden layer in both systems (scripts/bench_parity.py)"
  W=${NARROW_WIDTH:-31}
  env "${TORCH_ENV[@]}" "$PY" scripts/bench_parity.py --binary "$BUILD_DIR/sparsetrain" --work "$WORK/parity" \
    --profiles "${NARROW_PROFILES:-kaggle,heavytail}" --rows "${PARITY_ROWS:-500000}" \
    --test-rows "${PARITY_TEST_ROWS:-100000}" --seeds "${PARITY_SEEDS:-1,2,3}" --dense true --jobs 1 \
    --recall-rows 0 --compare "default=;w$W=--model.hidden $W --model.sparsity 1" \
    --torch-compare "h$W=--hidden $W" --out "$RESULTS/narrow.md"
fi

# ---------------------------------------------------------------- report + plot
echo "LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/env.txt"
say "report"
"$PY" scripts/bench/report.py "$OUT" "$RESULTS/latest.md"
if [[ $HAVE_GNUPLOT == 1 ]]; then
  # shellcheck disable=SC1091
  source "$OUT/plot.env"
  gnuplot -e "dir='$OUT'; out='$RESULTS/auc_vs_time.png'; best_auc=$best_auc; target_auc=$target_auc" \
    scripts/plot_auc_time.gnuplot
fi
rm -rf "$RESULTS/raw" && mkdir -p "$RESULTS/raw"
find "$OUT" -maxdepth 1 -type f -size +0 \( -name '*.json' -o -name '*.jsonl' \) -exec cp {} "$RESULTS/raw/" \;
cp "$OUT/env.txt" "$OUT/commands.txt" "$RESULTS/raw/"
[[ -f "$OUT/parse.stdout" ]] && cp "$OUT/parse.stdout" "$RESULTS/raw/parse.txt"
rm -rf "$WORK/runs"
say "done: $RESULTS/latest.md"
