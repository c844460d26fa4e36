#!/usr/bin/env bash
# dist.embedding = sharded must compute exactly what replicated computes (one thread per
# rank, same rank count, same seed), under a real mpirun:
#  (1) P = 2 and 3: train both ways with checkpoints and the replica check on; model.h5
#      and every checkpoint (weights, Adam m and v, per-row steps, LSH sources, cursors)
#      are bitwise identical, and so is the summary line (loss, AUC, logloss).
#      The same with optim.moments = bfloat16 (stochastically rounded moments); and the
#      sharded model does not depend on the threads per rank. The same with
#      optim.table_eps = raw (the input table's own eps rule, applied by the owners).
#  (2) Resharding: resume a P = 2 checkpoint on 3 ranks and a P = 3 one on 2 ranks, once
#      sharded and once replicated, from copies of the same file: the finished models are
#      bitwise identical.
#  (3) evaluate under mpirun -np 2 and 3 on a sharded model (rows fetched from their owners)
#      prints the single-process figures, and predict writes the same file.
#  (4) model.embed_sparsity < 1 (the owners hold rows of 16 floats; only chosen blocks are
#      fetched; block sums are kept on every rank): (1) for P = 2 (and 2 threads per rank
#      give the same sharded model), a P = 2 checkpoint resumed on 3 ranks both ways, and
#      evaluate/predict on 2 ranks as in (3).
source "$(dirname "$0")/../common/e2e.sh"
source "$(dirname "$0")/../checkpoint/same_model.sh"

cat > "$WORK/t.ini" <<EOF
[data]
train = $FIX/criteo_sample_train.tsv
test = $FIX/criteo_sample_test.tsv
input_dim = 65536
[model]
embed_dim = 16
hidden = 128
sparsity = 0.25
[lsh]
bits = 5
tables = 8
rebuild_every = 10
[optim]
lr = 0.005
[train]
batch_size = 128
epochs = 2
log_every = 1000
threads = 1
[dist]
verify_every = 7
[checkpoint]
every_steps = 25
keep = 10
EOF

# run NAME RANKS ARGS...: trains into $WORK/NAME (or continues there), prints the summary line.
run() {
  local name=$1 np=$2; shift 2
  local rc=0
  timeout 300 mpirun -np "$np" --oversubscribe "$BIN" train --config "$WORK/t.ini" --train.run_dir "$WORK/$name" "$@" \
    > "$WORK/$name.out" 2> "$WORK/$name.err" || rc=$?
  [[ $rc -eq 0 ]] || { cat "$WORK/$name.err" >&2; fail "$name: exit $rc"; }
  tail -n 1 "$WORK/$name.out"
}
# same_scores MODEL NP: evaluate under mpirun -np NP (the table sharded, rows fetched from their
# owners) prints the single-process figures, and predict writes the same file. SCORES = the figures.
same_scores() {
  local model=$1 np=$2 one many
  one=$("$BIN" evaluate --model "$model" --data "$FIX/criteo_sample_test.tsv" | tail -n 1)
  many=$(mpirun -np "$np" --oversubscribe "$BIN" evaluate --model "$model" --data "$FIX/criteo_sample_test.tsv" \
    2> "$WORK/ev.err" | tail -n 1)
  [[ -n "$one" && "$one" == "$many" ]] || fail "evaluate $model: 1 process '$one', $np sharded ranks '$many'"
  "$BIN" predict --model "$model" --data "$FIX/criteo_sample_test.tsv" --output "$WORK/p1.txt" > /dev/null
  mpirun -np "$np" --oversubscribe "$BIN" predict --model "$model" --data "$FIX/criteo_sample_test.tsv" \
    --output "$WORK/pn.txt" > /dev/null 2> "$WORK/pr.err"
  [[ $(wc -l < "$WORK/pn.txt") -eq 1617 ]] || fail "predict $model on $np ranks wrote $(wc -l < "$WORK/pn.txt") lines"
  cmp -s "$WORK/p1.txt" "$WORK/pn.txt" || fail "predict $model: $np sharded ranks differ from 1 process"
  SCORES=$many
}
# The summary without timings and byte counts (the modes move different bytes).
strip() { sed -E 's/"(seconds|samples_per_s|cpu_s|samples_per_cpu_s|read_s|rebuild_s|comm_s|comm_bytes)":[^,]*,//g'; }

# (1)
for np in 2 3; do
  a=$(run rep$np "$np" --dist.embedding replicated | strip)
  b=$(run sh$np "$np" --dist.embedding sharded | strip)
  [[ "$a" == "$b" ]] || fail "P=$np: summaries differ: replicated $a, sharded $b"
  same_model "$WORK/rep$np/model.h5" "$WORK/sh$np/model.h5"
  # dist.verify_every: the table's state hash over its owners equals the replicated one's.
  grep '"verified"' "$WORK/rep$np/metrics.jsonl" > "$WORK/v_rep"
  grep '"verified"' "$WORK/sh$np/metrics.jsonl" > "$WORK/v_sh"
  [[ $(wc -l < "$WORK/v_rep") -ge 10 ]] || fail "P=$np: too few replica checks"
  cmp -s "$WORK/v_rep" "$WORK/v_sh" || fail "P=$np: the table hashes of the replica checks differ"
  n=0
  for c in "$WORK"/rep$np/checkpoints/ckpt-*.h5; do
    same_model "$c" "$WORK/sh$np/checkpoints/$(basename "$c")"
    n=$((n + 1))
  done
  [[ $n -ge 3 ]] || fail "P=$np: only $n checkpoints"
  echo "P=$np: sharded == replicated (summary, model.h5, $n checkpoints of $SAME_MODEL_COUNT datasets)"
done

# (1b) bfloat16 moments: stochastic rounding keyed by global row, so the owners round alike.
a=$(run repb 2 --dist.embedding replicated --optim.moments bfloat16 --train.epochs 1 | strip)
b=$(run shb 2 --dist.embedding sharded --optim.moments bfloat16 --train.epochs 1 | strip)
[[ "$a" == "$b" ]] || fail "bfloat16 moments: summaries differ: replicated $a, sharded $b"
same_model "$WORK/repb/checkpoints/ckpt-000000000050.h5" "$WORK/shb/checkpoints/ckpt-000000000050.h5"
echo "bfloat16 moments, P=2: sharded == replicated (checkpoint of step 50)"

# (1d) optim.table_eps = raw: the owners apply the input table's rule as the replicated table
# does, and it is in effect (the table's weights differ from the default rule's at step 50).
a=$(run repr 2 --dist.embedding replicated --optim.table_eps raw --train.epochs 1 | strip)
b=$(run shr 2 --dist.embedding sharded --optim.table_eps raw --train.epochs 1 | strip)
[[ "$a" == "$b" ]] || fail "table_eps raw: summaries differ: replicated $a, sharded $b"
same_model "$WORK/repr/checkpoints/ckpt-000000000050.h5" "$WORK/shr/checkpoints/ckpt-000000000050.h5"
h5dump -b LE -d /params/embed/w -o "$WORK/raw.bin" "$WORK/shr/checkpoints/ckpt-000000000050.h5" > /dev/null
h5dump -b LE -d /params/embed/w -o "$WORK/cor.bin" "$WORK/sh2/checkpoints/ckpt-000000000050.h5" > /dev/null
! cmp -s "$WORK/raw.bin" "$WORK/cor.bin" || fail "table_eps raw left the table as the default rule does"
echo "table_eps raw, P=2: sharded == replicated, and the table differs from the default rule's"

# (1c) threads: 2 ranks x 2 threads train the same sharded model as 2 x 1 (batches of 600
# rows, so the plan's and the backward's parallel paths run).
run th1 2 --dist.embedding sharded --train.epochs 1 --train.batch_size 600 --train.threads 1 > /dev/null
run th2 2 --dist.embedding sharded --train.epochs 1 --train.batch_size 600 --train.threads 2 > /dev/null
same_model "$WORK/th1/model.h5" "$WORK/th2/model.h5"
echo "sharded, P=2: 1 and 2 threads per rank give the same model"

# (2) the checkpoint of step 50 of each run, resumed on the other rank count, both ways.
for from in 2 3; do
  to=$((5 - from))
  for mode in sharded replicated; do
    mkdir -p "$WORK/re$from$mode/checkpoints"
    cp "$WORK/sh$from/checkpoints/ckpt-000000000050.h5" "$WORK/re$from$mode/checkpoints/"
    cp "$WORK/sh$from/metrics.jsonl" "$WORK/re$from$mode/"
    run "re$from$mode" "$to" --dist.embedding "$mode" > /dev/null
    grep -q "resumed from .*ckpt-000000000050.h5" "$WORK/re$from$mode.err" || fail "re$from$mode did not resume"
  done
  same_model "$WORK/re${from}sharded/model.h5" "$WORK/re${from}replicated/model.h5"
  echo "a P=$from checkpoint resumed on $to ranks: sharded == replicated"
done

# (3)
same_scores "$WORK/sh3/model.h5" 3
same_scores "$WORK/sh2/model.h5" 2
echo "evaluate and predict on 2 and 3 ranks on a sharded model match one process: $SCORES"

# (4)
wide=(--model.embed_dim 64 --model.embed_sparsity 0.5)
a=$(run wrep 2 --dist.embedding replicated "${wide[@]}" | strip)
b=$(run wsh 2 --dist.embedding sharded "${wide[@]}" | strip)
[[ "$a" == "$b" ]] || fail "embed_sparsity: summaries differ: replicated $a, sharded $b"
same_model "$WORK/wrep/model.h5" "$WORK/wsh/model.h5"
grep '"verified"' "$WORK/wrep/metrics.jsonl" > "$WORK/v_rep"
grep '"verified"' "$WORK/wsh/metrics.jsonl" > "$WORK/v_sh"
cmp -s "$WORK/v_rep" "$WORK/v_sh" || fail "embed_sparsity: the table hashes of the replica checks differ"
for c in "$WORK"/wrep/checkpoints/ckpt-*.h5; do same_model "$c" "$WORK/wsh/checkpoints/$(basename "$c")"; done
run wth2 2 --dist.embedding sharded "${wide[@]}" --train.threads 2 > /dev/null
same_model "$WORK/wsh/model.h5" "$WORK/wth2/model.h5"
for mode in sharded replicated; do
  mkdir -p "$WORK/wre$mode/checkpoints"
  cp "$WORK/wsh/checkpoints/ckpt-000000000050.h5" "$WORK/wre$mode/checkpoints/"
  cp "$WORK/wsh/metrics.jsonl" "$WORK/wre$mode/"
  run "wre$mode" 3 --dist.embedding "$mode" "${wide[@]}" > /dev/null
  grep -q "resumed from .*ckpt-000000000050.h5" "$WORK/wre$mode.err" || fail "wre$mode did not resume"
done
same_model "$WORK/wresharded/model.h5" "$WORK/wrereplicated/model.h5"
same_scores "$WORK/wsh/model.h5" 2
echo "embed_sparsity 0.5, P=2: sharded == replicated (summary, model.h5, checkpoints, replica checks), 1 or 2 threads;" \
  "resumed on 3 ranks both ways alike; evaluate and predict on 2 ranks match one process"
echo "PASS"
