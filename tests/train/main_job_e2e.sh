#!/usr/bin/env bash
# The README's main job end to end: train on the bundled sample, then evaluate and
# predict with the saved model; bad rows at prediction keep their place.
source "$(dirname "$0")/../common/e2e.sh"
unset OMP_NUM_THREADS  # the main job as the README runs it: threads from the CPUs
cd "$ROOT" || exit 1

"$BIN" train --config configs/criteo-sample.ini --train.run_dir "$WORK/run" > "$WORK/train.out" 2> "$WORK/train.err"
summary=$(tail -n 1 "$WORK/train.out")
echo "train: $summary"
grep -q "^# parameters: [0-9]" "$WORK/train.out" || fail "no parameter count printed"
grep -q "^#   \[data\]" "$WORK/train.out" || fail "resolved config not printed"
for f in model.h5 metrics.jsonl config.ini; do [[ -s "$WORK/run/$f" ]] || fail "missing $WORK/run/$f"; done
auc=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["auc"])' "$summary")
python3 -c "import sys; a=float('$auc'); sys.exit(0 if a >= 0.70 else 1)" || fail "test AUC $auc < 0.70"
grep -q '"auc"' "$WORK/run/metrics.jsonl" || fail "metrics.jsonl has no evaluation line"
grep -q '"samples_per_s"' "$WORK/run/metrics.jsonl" || fail "metrics.jsonl has no progress line"
# Progress a person can read (issue 16, section 5), and the same fields in metrics.jsonl.
grep -qE '^step [0-9]+ \| epoch 1/[0-9]+ \| [0-9.]+% \| [0-9hms]+ elapsed \| ETA [0-9hms?]+ \| [0-9.kM]+ samples/s \| loss [0-9.]+$' \
  "$WORK/train.err" || fail "no progress line like 'step N | epoch 1/E | P% | T elapsed | ETA T | R samples/s | loss L': $(grep '^step' "$WORK/train.err" | head -2)"
python3 - "$WORK/run/metrics.jsonl" <<'PY' || fail "metrics.jsonl progress fields"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"samples_per_s"' in l]
shares = [l["shard_read"] for l in lines]
assert all(0 <= a <= b <= 1 for a, b in zip(shares, shares[1:])), shares
assert all(l["epochs"] >= l["epoch"] >= 1 and l["elapsed_s"] >= 0 for l in lines), lines[-1]
assert lines[-1]["eta_s"] is not None and lines[-1]["eta_s"] >= 0, lines[-1]
PY

# evaluate on the saved model reproduces the training run's final evaluation exactly.
ev=$("$BIN" evaluate --model "$WORK/run/model.h5" --data "$FIX/criteo_sample_test.tsv" | tail -n 1)
echo "evaluate: $ev"
python3 - "$summary" "$ev" <<'PY' || fail "evaluate differs from train's final evaluation"
import json, sys
s, e = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert e["rows"] == 1617, e
assert abs(e["auc"] - s["auc"]) < 1e-6 and abs(e["logloss"] - s["logloss"]) < 1e-6, (s, e)
PY

# evaluate keeps every line valid JSON (issue 16, D10): one label only gives "auc":null and a
# warning; no valid rows is an error, not a logloss of 0.
awk -F'\t' '$1 == 0 && n++ < 200' "$FIX/criteo_sample_test.tsv" > "$WORK/negatives.tsv"
one=$("$BIN" evaluate --model "$WORK/run/model.h5" --data "$WORK/negatives.tsv" 2> "$WORK/one.err" | tail -n 1)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["rows"] == 200 and d["auc"] is None and d["logloss"] > 0, d' \
  "$one" || fail "one-label evaluate printed '$one'"
grep -q "same label" "$WORK/one.err" || fail "one-label evaluate gave no warning"
printf 'garbage\n' > "$WORK/garbage.tsv"
if "$BIN" evaluate --model "$WORK/run/model.h5" --data "$WORK/garbage.tsv" > "$WORK/g.out" 2> "$WORK/g.err"; then
  fail "evaluate on 0 valid rows succeeded: $(cat "$WORK/g.out")"
fi
grep -q "no valid labeled rows" "$WORK/g.err" || fail "0-row evaluate error unclear: $(cat "$WORK/g.err")"

# Distributed evaluation: two ranks score their shards and merge to exactly the same figures
# (a row's LSH top-up is seeded by its content, not by its position or rank).
ev2=$(OMPI_MCA_mpi_yield_when_idle=1 mpirun --allow-run-as-root --oversubscribe -np 2 \
      "$BIN" evaluate --model "$WORK/run/model.h5" --data "$FIX/criteo_sample_test.tsv" | tail -n 1)
echo "evaluate, 2 ranks: $ev2"
[[ "$ev2" == "$ev" ]] || fail "2-rank evaluate '$ev2' differs from 1-rank '$ev'"

# predict: one probability per row, in order; unlabeled rows (39 columns) work; a bad
# row yields "nan" in its place.
"$BIN" predict --model "$WORK/run/model.h5" --data "$FIX/criteo_sample_test.tsv" --output "$WORK/p.txt" > /dev/null
[[ $(wc -l < "$WORK/p.txt") -eq 1617 ]] || fail "predict wrote $(wc -l < "$WORK/p.txt") lines"
head -n 50 "$FIX/criteo_sample_test.tsv" | cut -f 2- > "$WORK/unlabeled.tsv"
sed -n '10p' "$FIX/criteo_sample_test.tsv" | cut -f 2- | awk -F'\t' -v OFS='\t' '{$3="not-an-int"; print}' >> "$WORK/unlabeled.tsv"
"$BIN" predict --model "$WORK/run/model.h5" --data "$WORK/unlabeled.tsv" --output "$WORK/u.txt" > "$WORK/u.out" 2> "$WORK/u.err"
[[ $(wc -l < "$WORK/u.txt") -eq 51 ]] || fail "unlabeled predict wrote $(wc -l < "$WORK/u.txt") lines"
[[ $(sed -n '51p' "$WORK/u.txt") == nan ]] || fail "bad row did not yield nan"
grep -q "unlabeled.tsv:51: field" "$WORK/u.err" || fail "bad row warning lacks file:line: $(cat "$WORK/u.err")"
# The unlabeled rows score exactly like their labeled versions.
cmp <(head -n 50 "$WORK/p.txt") <(head -n 50 "$WORK/u.txt") || fail "unlabeled predictions differ from labeled ones"
# predict never writes over what it reads (the data file, through a symlink too, or the
# model), and a failed run leaves an existing output file as it was, with no temporary left.
cp "$WORK/unlabeled.tsv" "$WORK/unlabeled.orig"; ln -s "$WORK/unlabeled.tsv" "$WORK/alias.tsv"
for target in "$WORK/unlabeled.tsv" "$WORK/alias.tsv" "$WORK/run/model.h5"; do
  if "$BIN" predict --model "$WORK/run/model.h5" --data "$WORK/unlabeled.tsv" --output "$target" > /dev/null 2> "$WORK/over.err"; then
    fail "predict --output $target (one of its inputs) succeeded"
  fi
  grep -q "is the input file" "$WORK/over.err" || fail "no clear refusal for --output $target: $(cat "$WORK/over.err")"
done
cmp "$WORK/unlabeled.tsv" "$WORK/unlabeled.orig" || fail "predict changed its input file"
"$BIN" evaluate --model "$WORK/run/model.h5" --data "$FIX/criteo_sample_test.tsv" > /dev/null || fail "model.h5 damaged"
if "$BIN" predict --model "$WORK/run/model.h5" --data "$WORK/missing.tsv" --output "$WORK/u.txt" > /dev/null 2>&1; then
  fail "predict on a missing file succeeded"
fi
[[ $(wc -l < "$WORK/u.txt") -eq 51 ]] || fail "a failed predict changed the earlier output"
ls "$WORK"/u.txt.tmp.* > /dev/null 2>&1 && fail "a failed predict left a temporary file"
# The scalar kernels (the fallback on CPUs without AVX-512) train the same job to a
# comparable AUC, and the run reports which kernels it used.
"$BIN" train --config configs/criteo-sample.ini --train.run_dir "$WORK/scalar" --train.kernels scalar \
  > "$WORK/scalar.out" 2> /dev/null
grep -q "kernels=scalar" "$WORK/scalar.out" || fail "scalar run does not report kernels=scalar"
sauc=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["auc"])' "$(tail -n 1 "$WORK/scalar.out")")
python3 -c "import sys; sys.exit(0 if abs($sauc - $auc) < 0.01 and $sauc >= 0.70 else 1)" \
  || fail "scalar kernels: AUC $sauc vs $auc with the default kernels"
echo "main_job_e2e: all checks passed (auc=$auc, scalar kernels auc=$sauc)"
