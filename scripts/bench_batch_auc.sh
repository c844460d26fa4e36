#!/usr/bin/env bash
# Test AUC against the global batch size (README "Accuracy against global batch").
#
#   scripts/bench_batch_auc.sh [BIN]          BIN defaults to build/sparsetrain
#
# A sharded multi-rank run computes exactly what one process with the same global batch
# computes, so accuracy depends only on the global batch and the learning rate: this
# measures it with one process, one thread (`--train.threads 1`), everything under `nice`.
#
# 1. `sparsetrain synth` writes a training set and a separate held-out test set (other
#    seed, with its true click probabilities, from which the best reachable test AUC is
#    computed) into a temporary directory (WORK; deleted at the end unless KEEP=1).
# 2. For each global batch G in BATCHES: one run of EPOCHS passes over the same training
#    data (so every G sees the same samples), lr = BASE_LR * sqrt(G / BASE_BATCH)
#    (square-root scaling), linear warm-up over WARMUP_FRAC of the run's steps.
#    Then, for each G in LINEAR_BATCHES, the same with linear scaling,
#    lr = min(BASE_LR * G / BASE_BATCH, LR_CAP).
# 3. Prints a markdown table: rule, global batch, lr, warm-up steps, steps, samples,
#    test AUC, logloss, the training loss of the last window (the steps after the last
#    log line: noisy when that is a few steps), training seconds and CPU seconds
#    (the run's own figures) and wall seconds (the whole command, including loading and
#    the final evaluation). On a shared machine wall time counts other people's load;
#    CPU seconds do not.
#
# TRAIN_ROWS = 34 x 720,896 = 34 x 88 x 8,192: every batch size below divides an epoch,
# so no run has a partial batch; 6 epochs = 147,062,784 samples = 204 steps at 720,896.
# On one core at 200-320k samples/s each run takes 8-13 min (5 runs ~50 min).
# Measured (scripts/bench/results/batch_auc.md): 6 epochs over this synthetic data
# overfit (training loss falls to ~0.10 while test logloss reaches the constant
# predictor's 0.136 or worse), so also run the one-epoch control:
#   EPOCHS=1 LINEAR_BATCHES= scripts/bench_batch_auc.sh
# Every parameter can be overridden from the environment, e.g. a smoke test:
#   TRAIN_ROWS=1441792 EPOCHS=1 TEST_ROWS=50000 scripts/bench_batch_auc.sh
# WORK=DIR KEEP=1 keeps (and reuses) the generated data and the run directories.
# A run stopped by a signal exits 85 after writing a checkpoint; the script then stops
# (set -e): rerun it (the run directories are recreated from scratch).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${1:-$ROOT/build/sparsetrain}")

PROFILE=${PROFILE:-1tb}
TRAIN_ROWS=${TRAIN_ROWS:-24510464}
TEST_ROWS=${TEST_ROWS:-500000}
EPOCHS=${EPOCHS:-6}
TRAIN_SEED=${TRAIN_SEED:-1001}
TEST_SEED=${TEST_SEED:-1002}
BATCHES=${BATCHES:-"8192 65536 720896"}
LINEAR_BATCHES=${LINEAR_BATCHES-"65536 720896"}   # empty: skip the linear-scaling runs
BASE_LR=${BASE_LR:-0.003}
BASE_BATCH=${BASE_BATCH:-1024}
LR_CAP=${LR_CAP:-0.1}
WARMUP_FRAC=${WARMUP_FRAC:-0.05}
THREADS=${THREADS:-1}
NICE=${NICE:-19}
LOG_EVERY=${LOG_EVERY:-50}
KEEP=${KEEP:-0}
WORK=${WORK:-$(mktemp -d /tmp/bench_batch_auc.XXXXXX)}
mkdir -p "$WORK"
[[ $KEEP == 1 ]] || trap 'rm -rf "$WORK"' EXIT
N=(nice -n "$NICE")
export OMP_NUM_THREADS=$THREADS

TRAIN=$WORK/train.tsv TEST=$WORK/test.tsv TEST_PROB=$WORK/test.prob
if [[ ! -s $TRAIN ]]; then
  echo "# synth: $TRAIN_ROWS training rows (profile $PROFILE, seed $TRAIN_SEED) -> $TRAIN"
  "${N[@]}" "$BIN" synth --profile "$PROFILE" --rows "$TRAIN_ROWS" --seed "$TRAIN_SEED" \
    --threads "$THREADS" --output "$TRAIN.tmp" && mv "$TRAIN.tmp" "$TRAIN"
fi
if [[ ! -s $TEST || ! -s $TEST_PROB ]]; then
  echo "# synth: $TEST_ROWS test rows (profile $PROFILE, seed $TEST_SEED) -> $TEST"
  "${N[@]}" "$BIN" synth --profile "$PROFILE" --rows "$TEST_ROWS" --seed "$TEST_SEED" \
    --threads "$THREADS" --output "$TEST" --probabilities "$TEST_PROB"
fi

# Best reachable test AUC: the planted probabilities against the sampled labels (exact,
# ties get the average rank).
BEST_AUC=$("${N[@]}" python3 - "$TEST_PROB" "$TEST" <<'PY'
import sys
with open(sys.argv[1]) as fh:
    p = [float(x) for x in fh if x.strip()]
with open(sys.argv[2], "rb") as fh:
    y = [ln[0] - 48 for ln in fh if ln.strip()]
assert len(p) == len(y), (len(p), len(y))
order = sorted(range(len(p)), key=p.__getitem__)
rank_sum, i, n = 0.0, 0, len(p)
while i < n:
    j = i
    while j + 1 < n and p[order[j + 1]] == p[order[i]]:
        j += 1
    r = (i + j) / 2 + 1
    rank_sum += r * sum(y[order[k]] for k in range(i, j + 1))
    i = j + 1
pos = sum(y); neg = n - pos
print(f"{(rank_sum - pos * (pos + 1) / 2) / (pos * neg):.5f}")
PY
)
echo "# best reachable test AUC: $BEST_AUC"

RESULTS=$WORK/results.jsonl
: > "$RESULTS"
# run RULE G: one training run; appends a JSON line to $RESULTS.
run() {
  local rule=$1 g=$2 lr steps warmup dir t0 t1
  lr=$(awk -v r="$rule" -v b="$BASE_LR" -v g="$g" -v g0="$BASE_BATCH" -v cap="$LR_CAP" 'BEGIN {
    x = (r == "sqrt") ? b * sqrt(g / g0) : b * g / g0; if (r == "linear" && x > cap) x = cap
    printf "%.6g", x }')
  steps=$(( EPOCHS * ((TRAIN_ROWS + g - 1) / g) ))
  warmup=$(awk -v s="$steps" -v f="$WARMUP_FRAC" 'BEGIN { w = int(s * f + 0.5); print (w < 1 ? 1 : w) }')
  dir=$WORK/runs/${rule}_$g
  rm -rf "$dir"; mkdir -p "$dir"
  echo "# $rule G=$g lr=$lr warmup=$warmup expected steps=$steps ($(date +%T))"
  t0=$(date +%s.%N)
  "${N[@]}" "$BIN" train --data.train "$TRAIN" --data.test "$TEST" --train.run_dir "$dir" \
    --train.batch_size "$g" --optim.lr "$lr" --optim.warmup_steps "$warmup" \
    --train.epochs "$EPOCHS" --train.threads "$THREADS" --train.log_every "$LOG_EVERY" \
    > "$dir.out" 2> "$dir.err"
  t1=$(date +%s.%N)
  tail -n 1 "$dir.out"
  python3 - "$rule" "$g" "$lr" "$warmup" "$t0" "$t1" "$(tail -n 1 "$dir.out")" >> "$RESULTS" <<'PY'
import json, sys
rule, g, lr, warmup, t0, t1, line = sys.argv[1:]
s = json.loads(line)
print(json.dumps({"rule": rule, "batch": int(g), "lr": float(lr), "warmup": int(warmup),
                  "wall_s": float(t1) - float(t0), **s}))
PY
}

for g in $BATCHES; do run sqrt "$g"; done
for g in $LINEAR_BATCHES; do run linear "$g"; done

python3 - "$RESULTS" "$PROFILE" "$TRAIN_ROWS" "$EPOCHS" "$TRAIN_SEED" "$TEST_ROWS" "$TEST_SEED" "$BEST_AUC" \
  "$BASE_LR" "$BASE_BATCH" "$LR_CAP" "$WARMUP_FRAC" "$BIN" <<'PY'
import json, sys
(path, profile, train_rows, epochs, train_seed, test_rows, test_seed, best, base_lr, base_b, cap,
 frac, binary) = sys.argv[1:]
rows = [json.loads(l) for l in open(path) if l.strip()]
print()
print(f"Data: synth --profile {profile}, {int(train_rows):,} training rows (seed {train_seed}) x "
      f"{epochs} epochs; held-out {int(test_rows):,} rows (seed {test_seed}), best reachable test AUC {best}.")
print(f"lr: sqrt = {base_lr} x sqrt(G / {base_b}); linear = min({base_lr} x G / {base_b}, {cap}); "
      f"linear warm-up over {float(frac):.0%} of the steps. Binary: {binary}")
print()
print("| rule | global batch | lr | warm-up steps | steps | samples | test AUC | test logloss | train loss (last window) | train s | CPU s | wall s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['rule']} | {r['batch']:,} | {r['lr']:.6g} | {r['warmup']} | {r['steps']:,} | {r['samples']:,} "
          f"| {r['auc']:.5f} | {r['logloss']:.5f} | {r['train_loss']:.5f} | {r['seconds']:.0f} | {r['cpu_s']:.0f} "
          f"| {r['wall_s']:.0f} |")
PY
