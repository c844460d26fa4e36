#!/usr/bin/env bash
# Data-parallel scaling on one machine: 1 rank x 1 thread against 2 ranks x 1 thread,
# same data, same config, same global batch.
#
#   scripts/bench_scaling.sh [BUILD_DIR] [ROWS] [REPEATS]
#
# 1. Generates ROWS (default 6,000,000, ~1.5 GB) Criteo-like rows with
#    `sparsetrain synth` into $BENCH_DIR (default /tmp/sparsetrain-bench), enough for
#    a 30 s+ single-rank run. Reused when already there.
# 2. Runs `sparsetrain train` over it (input_dim 2^20, embed 64, hidden 1024 at 3%
#    LSH sparsity, global batch 2048, one epoch, dist.exchange auto), alternating
#    1 rank and 2 ranks REPEATS times (default 2), and prints per run: samples/s,
#    bytes sent per step, comm time share, and how much CPU other processes used
#    meanwhile (from /proc/stat; this machine is shared, and 2 ranks on 2 cores only
#    scale if nobody else wants a core). Then the ratio of the medians.
# 3. Runs bench_scaling_bench (tests/bench/scaling_bench.cpp) for 1 and 2 ranks on a
#    few hundred steps: wall and CPU time per phase (read, compute, exchange = wait +
#    transfer + merge, optimizer), so a ratio below target can be explained.
# Also 1 rank x 2 threads on the same two cores (threads or ranks: which to use on a node).
# OMP_NUM_THREADS=1 everywhere else: one core per rank. On a shared machine run it as
# `nice -n -10 scripts/bench_scaling.sh ...` (root): 2 ranks on 2 cores only scale
# when nobody else wants a core, and the cpu_of_other_processes column says how
# much someone else did.
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

busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# run NP [THREADS]: one training run (NP ranks x THREADS threads, default 1); prints a
# JSON line with the summary and the load figures.
run() {
  local np=$1 threads=${2:-1}
  local tag=$np; [[ $threads -gt 1 ]] && tag=${np}x$threads
  local cmd=("$BIN" train --config "$DIR/bench.ini" --train.run_dir "$DIR/run$tag" --train.threads "$threads")
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
  python3 - "$np" "$threads" "$(tail -n 1 "$DIR/run$tag.out")" "$b0" "$b1" "$ours" "$t0" "$t1" <<'PY'
import json, sys
np_, threads, s = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
b0, b1, ours, t0, t1 = map(float, sys.argv[4:])
wall = t1 - t0
other = max(0.0, (b1 - b0) / 100.0 - ours)  # /proc/stat counts 1/100 s
print(json.dumps({"ranks": np_, "threads": threads, "samples_per_s": round(s["samples_per_s"], 1), "steps": s["steps"],
                  "seconds": round(s["seconds"], 2),
                  "bytes_sent_per_step": round(s["comm_bytes"] / max(s["steps"], 1)),
                  "comm_share": round(s["comm_s"] / s["seconds"], 3),
                  "cpu_of_this_run": round(ours / wall, 2), "cpu_of_other_processes": round(other / wall, 2)}))
PY
}

echo "# $(nproc --all) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $ROWS rows, global batch 2048"
: > "$DIR/runs.jsonl"
for ((i = 0; i < REPEATS; ++i)); do
  for np in 1 2; do run "$np" | tee -a "$DIR/runs.jsonl"; done
  run 1 2 | tee -a "$DIR/runs.jsonl"  # the same two cores as one rank with two threads
done
python3 - "$DIR/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = {(p, t): statistics.median(r["samples_per_s"] for r in runs if r["ranks"] == p and r["threads"] == t)
       for p, t in ((1, 1), (2, 1), (1, 2))}
print(json.dumps({"median_samples_per_s_1_rank": med[1, 1], "median_samples_per_s_2_ranks": med[2, 1],
                  "speedup_2_over_1": round(med[2, 1] / med[1, 1], 3), "target": 1.8,
                  "median_samples_per_s_1_rank_2_threads": med[1, 2],
                  "speedup_2_threads_over_1": round(med[1, 2] / med[1, 1], 3)}))
PY

if [[ -x $PROBE ]]; then
  echo "# where the time goes (bench_scaling_bench, 300 steps; wall and CPU ms per step, mean over ranks)"
  "$PROBE" --config "$DIR/bench.ini" --bench.steps 300
  mpirun -np 2 --bind-to none "$PROBE" --config "$DIR/bench.ini" --bench.steps 300
  echo "# does a non-blocking collective progress while the rank computes? (for overlap)"
  mpirun -np 2 --bind-to none "$PROBE" --bench.probe 1
fi
