#!/usr/bin/env bash
# train.eval_every: an evaluation on data.test every N steps, in metrics.jsonl and on stderr,
# of the model as it is at that step: the evaluation at step 50 of a long run equals the final
# evaluation of the same run stopped by train.max_steps 50.
# Usage: eval_every_e2e.sh <sparsetrain binary> <fixtures dir>
source "$(dirname "$0")/../common/e2e.sh"
# 2 epochs of 6,470 rows in batches of 128: 102 steps.
RUN=(--data.train "$FIX/criteo_sample_train.tsv" --data.test "$FIX/criteo_sample_test.tsv" --data.input_dim 65536
     --model.embed_dim 16 --model.hidden 64 --train.batch_size 128 --train.epochs 2 --train.seed 5)
"$BIN" train "${RUN[@]}" --train.eval_every 25 --train.run_dir "$WORK/long" > "$WORK/long.out" 2>&1 ||
  { tail "$WORK/long.out"; fail "the run with eval_every failed"; }
steps=$(sed -n 's/^{"step":\([0-9]*\),.*"eval_rows":.*/\1/p' "$WORK/long/metrics.jsonl" | tr '\n' ' ')
[ "$steps" = "25 50 75 100 102 " ] || fail "evaluations at steps '$steps', expected 25 50 75 100 and the final 102"
rows=$(($(wc -l < "$FIX/criteo_sample_test.tsv")))
grep -q "^eval step 50: rows=$rows auc=0\.[0-9]* logloss=" "$WORK/long.out" || fail "no 'eval step 50' line on stderr"
at50=$(grep '^{"step":50,' "$WORK/long/metrics.jsonl" | grep -o '"auc":[^,]*,"logloss":[^}]*')
"$BIN" train "${RUN[@]}" --train.max_steps 50 --train.run_dir "$WORK/short" > "$WORK/short.out" 2>&1 ||
  { tail "$WORK/short.out"; fail "the run with max_steps 50 failed"; }
final=$(grep '^{"step":50,' "$WORK/short/metrics.jsonl" | grep -o '"auc":[^,]*,"logloss":[^}]*')
[ -n "$at50" ] && [ "$at50" = "$final" ] || fail "step 50 of the long run ($at50) is not the 50-step run's final ($final)"
echo "   step 50: $at50, the same as the 50-step run's final evaluation"
echo "PASS"
