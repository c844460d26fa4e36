#!/usr/bin/env bash
# The binary's command line: help, unknown commands, bad keys/values stopping before
# any work (no run directory created), missing inputs, and README listing every key.
source "$(dirname "$0")/../common/e2e.sh"
cd "$ROOT"  # configs name their data relative to the repository root

"$BIN" --help > "$WORK/help" || fail "--help exited non-zero"
for cmd in train evaluate predict synth; do grep -q "^  $cmd " "$WORK/help" || fail "--help does not list $cmd"; done
"$BIN" train --help > "$WORK/train_help"
"$BIN" evaluate --help > "$WORK/h"; grep -q -- "--model" "$WORK/h" || fail "evaluate --help lacks --model"
"$BIN" predict --help > "$WORK/h"; grep -q -- "--output" "$WORK/h" || fail "predict --help lacks --output"
"$BIN" synth --help > "$WORK/h"; grep -q -- "--rows" "$WORK/h" || fail "synth --help lacks --rows"

set +e
"$BIN" frobnicate > "$WORK/out" 2>&1; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "unknown command exit code $rc"
grep -q "unknown command 'frobnicate'" "$WORK/out" || fail "unknown command message: $(cat "$WORK/out")"

# Bad keys and values stop before any work: message names key/value/allowed; no run dir.
expect_error() {  # expect_error PATTERN ARGS...
  local pattern=$1; shift
  set +e; "$BIN" train --config "$ROOT/configs/criteo-sample.ini" --train.run_dir "$WORK/run" "$@" > "$WORK/out" 2>&1; local rc=$?; set -e
  [[ $rc -ne 0 ]] || fail "expected failure for $*"
  grep -qF -- "$pattern" "$WORK/out" || fail "message for $* lacks '$pattern': $(cat "$WORK/out")"
  [[ ! -e "$WORK/run" ]] || fail "run dir created despite bad config ($*)"
}
expect_error "train.bogus" --train.bogus 1
expect_error "allowed: an integer in [1, 4194304]" --train.batch_size 0
expect_error "allowed: one of skip|fail" --data.on_error maybe
expect_error "allowed: one of simhash|dwta" --lsh.family minhash
expect_error "'abc'" --optim.lr abc
expect_error "cannot open input '/nonexistent/x.tsv'" --data.train /nonexistent/x.tsv
expect_error "matches no file" --data.test "$WORK/none*.tsv"
printf '[train]\nbatch_sise = 3\n' > "$WORK/bad.ini"
set +e; "$BIN" train --config "$WORK/bad.ini" > "$WORK/out" 2>&1; rc=$?; set -e
[[ $rc -ne 0 ]] && grep -q "bad.ini" "$WORK/out" && grep -q "batch_sise" "$WORK/out" || fail "bad ini key: $(cat "$WORK/out")"

# synth: the rows asked for, the same bytes for a seed whatever the thread count, gzip when
# the name ends in .gz, 39 columns with --no-label, one probability per row in the side file,
# a clear error for each bad argument, and an earlier file kept when a run fails.
"$BIN" synth --rows 500 --seed 3 --profile heavytail --threads 1 --output "$WORK/s1.tsv" --probabilities "$WORK/s1.p" > "$WORK/out"
grep -qE '^\{"rows":500,"bytes":[0-9]+,"positive_rate":0\.[0-9]+,' "$WORK/out" || fail "synth summary: $(cat "$WORK/out")"
[[ $(wc -l < "$WORK/s1.tsv") -eq 500 && $(wc -l < "$WORK/s1.p") -eq 500 ]] || fail "synth wrote $(wc -l < "$WORK/s1.tsv") rows"
[[ $(awk -F'\t' 'NF != 40' "$WORK/s1.tsv" | wc -l) -eq 0 ]] || fail "synth rows without 40 columns"
"$BIN" synth --rows 500 --seed 3 --profile heavytail --threads 2 --output "$WORK/s2.tsv.gz" > /dev/null
cmp -s "$WORK/s1.tsv" <(gzip -dc "$WORK/s2.tsv.gz") || fail "synth: 1 and 2 threads (or plain and gzip) differ"
"$BIN" synth --rows 500 --seed 4 --profile heavytail --output "$WORK/s3.tsv" > /dev/null
cmp -s "$WORK/s1.tsv" "$WORK/s3.tsv" && fail "synth: seeds 3 and 4 gave the same bytes"
"$BIN" synth --rows 50 --no-label --output "$WORK/u.tsv" > /dev/null
[[ $(awk -F'\t' 'NF != 39' "$WORK/u.tsv" | wc -l) -eq 0 ]] || fail "synth --no-label rows without 39 columns"
expect_synth_error() {  # expect_synth_error PATTERN ARGS...
  local pattern=$1; shift
  set +e; "$BIN" synth "$@" > "$WORK/out" 2>&1; local rc=$?; set -e
  [[ $rc -ne 0 ]] && grep -qF -- "$pattern" "$WORK/out" || fail "synth $*: exit $rc, $(cat "$WORK/out")"
}
expect_synth_error "missing required option --output" --rows 10
expect_synth_error "--rows must be at least 1" --rows 0 --output "$WORK/x.tsv"
expect_synth_error "(allowed: kaggle, 1tb, lowctr, crosses, nonmonotone, heavytail, lighttail)" --profile nope --output "$WORK/x.tsv"
expect_synth_error "--cardinality-scale must be > 0" --cardinality-scale 0 --output "$WORK/x.tsv"
expect_synth_error "cannot open for writing" --rows 10 --output "$WORK/no/such/dir/x.tsv"
# A failed run leaves an earlier output as it was, and no partial file.
expect_synth_error "cannot open for writing" --rows 10 --output "$WORK/s1.tsv" --probabilities "$WORK/no/dir/p"
[[ $(wc -l < "$WORK/s1.tsv") -eq 500 ]] || fail "a failed synth run changed the earlier $WORK/s1.tsv"
ls "$WORK"/*.tmp.* > /dev/null 2>&1 && fail "a failed synth run left $(ls "$WORK"/*.tmp.*)"

# Every config key is documented in the README.
keys=$(grep -oE '^  X\((data|model|lsh|optim|train|dist|checkpoint), *[a-z_0-9]+' "$ROOT/include/sparsetrain/cli/config_keys.h" \
       | sed -E 's/^  X\(([a-z]+), *([a-z_0-9]+)/\1.\2/')
[[ $(echo "$keys" | wc -l) -gt 30 ]] || fail "could not read keys from config_keys.h"
for k in $keys; do
  grep -qF "\`$k\`" "$ROOT/README.md" || fail "README.md does not document $k"
  grep -qF -- "--$k" "$WORK/train_help" || fail "train --help does not list $k"
done
echo "cli_e2e: all checks passed"
