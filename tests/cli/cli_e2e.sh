#!/usr/bin/env bash
# The binary's command line: help, unknown commands, bad keys/values stopping before
# any work (no run directory created), missing inputs, and README listing every key.
set -euo pipefail
BIN=$1  # $2, the fixtures directory, is not needed: the configs name their data
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$ROOT"  # configs name their data relative to the repository root

"$BIN" --help > "$T/help" || fail "--help exited non-zero"
for cmd in train evaluate predict synth; do grep -q "^  $cmd " "$T/help" || fail "--help does not list $cmd"; done
"$BIN" train --help > "$T/train_help"
"$BIN" evaluate --help > "$T/h"; grep -q -- "--model" "$T/h" || fail "evaluate --help lacks --model"
"$BIN" predict --help > "$T/h"; grep -q -- "--output" "$T/h" || fail "predict --help lacks --output"
"$BIN" synth --help > "$T/h"; grep -q -- "--rows" "$T/h" || fail "synth --help lacks --rows"

set +e
"$BIN" frobnicate > "$T/out" 2>&1; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "unknown command exit code $rc"
grep -q "unknown command 'frobnicate'" "$T/out" || fail "unknown command message: $(cat "$T/out")"

# Bad keys and values stop before any work: message names key/value/allowed; no run dir.
expect_error() {  # expect_error PATTERN ARGS...
  local pattern=$1; shift
  set +e; "$BIN" train --config "$ROOT/configs/criteo-sample.ini" --train.run_dir "$T/run" "$@" > "$T/out" 2>&1; local rc=$?; set -e
  [[ $rc -ne 0 ]] || fail "expected failure for $*"
  grep -qF -- "$pattern" "$T/out" || fail "message for $* lacks '$pattern': $(cat "$T/out")"
  [[ ! -e "$T/run" ]] || fail "run dir created despite bad config ($*)"
}
expect_error "train.bogus" --train.bogus 1
expect_error "allowed: an integer in [1, 4194304]" --train.batch_size 0
expect_error "allowed: one of skip|fail" --data.on_error maybe
expect_error "allowed: one of simhash|dwta" --lsh.family minhash
expect_error "'abc'" --optim.lr abc
expect_error "cannot open input '/nonexistent/x.tsv'" --data.train /nonexistent/x.tsv
expect_error "matches no file" --data.test "$T/none*.tsv"
printf '[train]\nbatch_sise = 3\n' > "$T/bad.ini"
set +e; "$BIN" train --config "$T/bad.ini" > "$T/out" 2>&1; rc=$?; set -e
[[ $rc -ne 0 ]] && grep -q "bad.ini" "$T/out" && grep -q "batch_sise" "$T/out" || fail "bad ini key: $(cat "$T/out")"

# synth: the rows asked for, the same bytes for a seed whatever the thread count, gzip when
# the name ends in .gz, 39 columns with --no-label, one probability per row in the side file,
# a clear error for each bad argument, and an earlier file kept when a run fails.
"$BIN" synth --rows 500 --seed 3 --profile heavytail --threads 1 --output "$T/s1.tsv" --probabilities "$T/s1.p" > "$T/out"
grep -qE '^\{"rows":500,"bytes":[0-9]+,"positive_rate":0\.[0-9]+,' "$T/out" || fail "synth summary: $(cat "$T/out")"
[[ $(wc -l < "$T/s1.tsv") -eq 500 && $(wc -l < "$T/s1.p") -eq 500 ]] || fail "synth wrote $(wc -l < "$T/s1.tsv") rows"
[[ $(awk -F'\t' 'NF != 40' "$T/s1.tsv" | wc -l) -eq 0 ]] || fail "synth rows without 40 columns"
"$BIN" synth --rows 500 --seed 3 --profile heavytail --threads 2 --output "$T/s2.tsv.gz" > /dev/null
cmp -s "$T/s1.tsv" <(gzip -dc "$T/s2.tsv.gz") || fail "synth: 1 and 2 threads (or plain and gzip) differ"
"$BIN" synth --rows 500 --seed 4 --profile heavytail --output "$T/s3.tsv" > /dev/null
cmp -s "$T/s1.tsv" "$T/s3.tsv" && fail "synth: seeds 3 and 4 gave the same bytes"
"$BIN" synth --rows 50 --no-label --output "$T/u.tsv" > /dev/null
[[ $(awk -F'\t' 'NF != 39' "$T/u.tsv" | wc -l) -eq 0 ]] || fail "synth --no-label rows without 39 columns"
expect_synth_error() {  # expect_synth_error PATTERN ARGS...
  local pattern=$1; shift
  set +e; "$BIN" synth "$@" > "$T/out" 2>&1; local rc=$?; set -e
  [[ $rc -ne 0 ]] && grep -qF -- "$pattern" "$T/out" || fail "synth $*: exit $rc, $(cat "$T/out")"
}
expect_synth_error "missing required option --output" --rows 10
expect_synth_error "--rows must be at least 1" --rows 0 --output "$T/x.tsv"
expect_synth_error "(allowed: kaggle, 1tb, lowctr, crosses, nonmonotone, heavytail, lighttail)" --profile nope --output "$T/x.tsv"
expect_synth_error "--cardinality-scale must be > 0" --cardinality-scale 0 --output "$T/x.tsv"
expect_synth_error "cannot open for writing" --rows 10 --output "$T/no/such/dir/x.tsv"
# A failed run leaves an earlier output as it was, and no partial file.
expect_synth_error "cannot open for writing" --rows 10 --output "$T/s1.tsv" --probabilities "$T/no/dir/p"
[[ $(wc -l < "$T/s1.tsv") -eq 500 ]] || fail "a failed synth run changed the earlier $T/s1.tsv"
ls "$T"/*.tmp.* > /dev/null 2>&1 && fail "a failed synth run left $(ls "$T"/*.tmp.*)"

# Every config key is documented in the README.
keys=$(grep -oE '^  X\((data|model|lsh|optim|train|dist|checkpoint), *[a-z_0-9]+' "$ROOT/include/sparsetrain/cli/config_keys.h" \
       | sed -E 's/^  X\(([a-z]+), *([a-z_0-9]+)/\1.\2/')
[[ $(echo "$keys" | wc -l) -gt 30 ]] || fail "could not read keys from config_keys.h"
for k in $keys; do
  grep -qF "\`$k\`" "$ROOT/README.md" || fail "README.md does not document $k"
  grep -qF -- "--$k" "$T/train_help" || fail "train --help does not list $k"
done
echo "cli_e2e: all checks passed"
