#!/usr/bin/env bash
# Scaling on one machine, in both input-table modes (dist.embedding), side by side.
#
#   scripts/bench_scaling.sh [BUILD_DIR] [ROWS] [REPEATS]
#
# 1. Generates ROWS (default 6,000,000, ~1.5 GB) Criteo-like rows with
#    `sparsetrain synth` into $BENCH_DIR (default /tmp/sparsetrain-bench). Reused when
#    already there.
# 2. Work efficiency (the part that means something on 2 cores): bench_scaling_bench
#    (tests/bench/scaling_bench.cpp, the trainer's own step) at P = 1, 2, 4 and 8 ranks
#    (oversubscribed), replicated and sharded, global batch 8,192 and 65,536, 1 thread
#    per rank (input_dim 2^20, embed 64, hidden 1024 at 3% LSH sparsity). Per run: thread
#    CPU ms per step summed over ranks by phase (compute, plan, pack, merge, apply,
#    fetch), bytes and messages per rank and step, the owners' row imbalance, and
#    work efficiency = work CPU per sample at P = 1 / work CPU per sample summed over
#    the P ranks (P = 1: the median of three runs). Thread CPU outside MPI calls does not
#    count time spent waiting for oversubscribed peers. Targets (sharded, P = 8): >= 0.8 at
#    8,192, >= 0.9 at 65,536.
# 3. Wall-clock throughput, REPEATS times (default 2; 0 skips it): `sparsetrain train`
#    with 1 rank, 2 ranks (both modes) and 1 rank x 2 threads on the same two cores,
#    global batch 2048, with how much CPU other processes used meanwhile.
# OMP_NUM_THREADS=1 everywhere else: one core per rank. On a shared machine run it as
# `nice -n -10 scripts/bench_scaling.sh ...` (root).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
ROWS=${2:-6000000}
REPEATS=${3:-2}
DIR=${BENCH_DIR:-/tmp/sparsetrain-bench}
BIN=$BUILD/sparsetrain
PROBE=$BUILD/bench_scaling_bench
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$DIR"

DATA=$DIR/synth_$ROWS.tsv
if [[ ! -s $DATA ]]; then
  echo "# generating $ROWS rows -> $DATA"
  "$BIN" synth --rows "$ROWS" --seed 7 --output "$DATA.tmp" && mv "$DATA.tmp" "$DATA"
fi
cat "$DATA" > /dev/null  # into the page cache: both runs read from memory

cat > "$DIR/bench.ini" <<EOF
[data]
train = $DATA
input_dim = 1048576
[model]
embed_dim = 64
hidden = 1024
sparsity = 0.03
[train]
batch_size = 2048
epochs = 1
threads = 1
log_every = 1000000
[dist]
exchange = auto
EOF

# ---- 2. work efficiency, both modes -------------------------------------------------------
# probe NP MODE G STEPS: one bench_scaling_bench run, its JSON line appended to work.jsonl.
probe() {
  local np=$1 mode=$2 g=$3 steps=$4
  local cmd=("$PROBE" --config "$DIR/bench.ini" --dist.embedding "$mode" --train.batch_size "$g" --bench.steps "$steps")
  [[ $np -gt 1 ]] && cmd=(mpirun -np "$np" --oversubscribe --bind-to none "${cmd[@]}")
  OMPI_MCA_mpi_yield_when_idle=1 "${cmd[@]}" 2> "$DIR/probe.err" | tail -n 1 | tee -a "$DIR/work.jsonl"
}
if [[ -x $PROBE ]]; then
  : > "$DIR/work.jsonl"
  echo "# work efficiency: bench_scaling_bench, 1 thread per rank, thread CPU ($(lscpu | sed -n 's/^Model name: *//p'))"
  for g in 8192 65536; do
    steps=40; [[ $g -gt 8192 ]] && steps=20
    # This VM's single-rank speed drifts by up to 40% between runs: the baseline is the median
    # of three P = 1 runs spread over the others.
    probe 1 replicated "$g" "$steps"
    for np in 2 4 8; do
      for mode in replicated sharded; do probe "$np" "$mode" "$g" "$steps"; done
      [[ $np -eq 8 ]] || probe 1 replicated "$g" "$steps"
    done
  done
  python3 "$ROOT/scripts/bench/scaling_table.py" "$DIR/work.jsonl"
fi
[[ $REPEATS -gt 0 ]] || exit 0

busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# run NP [THREADS]: one training run (NP ranks x THREADS threads, default 1); prints a
# JSON line with the summary and the load figures.
run() {
  local np=$1 threads=${2:-1} mode=${3:-sharded}
  local tag=$np$mode; [[ $threads -gt 1 ]] && tag=${np}x$threads
  local cmd=("$BIN" train --config "$DIR/bench.ini" --train.run_dir "$DIR/run$tag" --train.threads "$threads"
             --dist.embedding "$mode")
  [[ $np -gt 1 ]] && cmd=(mpirun -np "$np" --bind-to none "${cmd[@]}")
  local b0 t0 b1 t1
  rm -rf "$DIR/run$tag"  # a fresh start: an interrupted earlier run may have left a checkpoint there
  b0=$(busy_jiffies); t0=$(date +%s.%N)
  # `times` in the shell that waited for the run: CPU of the run and all its ranks.
  OUT=$DIR/run$tag.out ERR=$DIR/run$tag.err TIMES=$DIR/run$tag.times OMP_NUM_THREADS=$threads \
    bash -c '"$@" > "$OUT" 2> "$ERR"; rc=$?; times > "$TIMES"; exit $rc' _ "${cmd[@]}"
  t1=$(date +%s.%N); b1=$(busy_jiffies)
  local ours
  ours=$(tail -n 1 "$DIR/run$tag.times" | awk '{split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2]}')
  python3 - "$np" "$threads" "$(tail -n 1 "$DIR/run$tag.out")" "$b0" "$b1" "$ours" "$t0" "$t1" "$mode" <<'PY'
import json, sys
np_, threads, s = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
b0, b1, ours, t0, t1 = map(float, sys.argv[4:9])
mode = sys.argv[9]
wall = t1 - t0
other = max(0.0, (b1 - b0) / 100.0 - ours)  # /proc/stat counts 1/100 s
print(json.dumps({"ranks": np_, "threads": threads, "embedding": mode, "samples_per_s": round(s["samples_per_s"], 1), "steps": s["steps"],
                  "seconds": round(s["seconds"], 2),
                  "bytes_sent_per_step": round(s["comm_bytes"] / max(s["steps"], 1)),
                  "comm_share": round(s["comm_s"] / s["seconds"], 3),
                  "cpu_of_this_run": round(ours / wall, 2), "cpu_of_other_processes": round(other / wall, 2)}))
PY
}

echo "# $(nproc --all) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $ROWS rows, global batch 2048"
: > "$DIR/runs.jsonl"
for ((i = 0; i < REPEATS; ++i)); do
  run 1 | tee -a "$DIR/runs.jsonl"
  run 2 1 replicated | tee -a "$DIR/runs.jsonl"
  run 2 1 sharded | tee -a "$DIR/runs.jsonl"
  run 1 2 | tee -a "$DIR/runs.jsonl"  # the same two cores as one rank with two threads
done
python3 - "$DIR/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
def med(p, t, mode=None):
    return statistics.median(r["samples_per_s"] for r in runs
                             if r["ranks"] == p and r["threads"] == t and (mode is None or r["embedding"] == mode))
one = med(1, 1)
print(json.dumps({"median_samples_per_s_1_rank": one,
                  "speedup_2_ranks_replicated": round(med(2, 1, "replicated") / one, 3),
                  "speedup_2_ranks_sharded": round(med(2, 1, "sharded") / one, 3),
                  "speedup_1_rank_2_threads": round(med(1, 2) / one, 3)}))
PY
