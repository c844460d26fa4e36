#!/usr/bin/env bash
# What a hostile new user tried (issue 16, D2 D3 D5 D6 D8), end to end: every case ends
# with a clear error and exit status 1, or with the right result; none hangs, crashes,
# reads nothing as success, or replaces an earlier run's results.
source "$(dirname "$0")/../common/e2e.sh"
step() { echo "== $*"; }
cd "$ROOT" || exit 1
BASE=(--config configs/criteo-sample.ini --data.input_dim 65536 --data.test "$FIX/criteo_sample_test.tsv")
SMALL=("${BASE[@]}" --model.embed_dim 16 --model.hidden 32)

# expect_error <file with stderr> <status> <text>: status 1 and the message on stderr.
expect_error() {
  [[ "$2" == 1 ]] || fail "exit status $2, expected 1: $(tail -n 3 "$1")"
  grep -qF -- "$3" "$1" || fail "no '$3' in: $(tail -n 3 "$1")"
}

step "D2: pipes and FIFOs are refused at start, never read as empty, never waited on"
rc=0; cat "$FIX/criteo_sample_test.tsv" | timeout 60 "$BIN" train "${SMALL[@]}" --data.train /dev/stdin \
  --train.run_dir "$WORK/pipe" > /dev/null 2> "$WORK/pipe.err" || rc=$?
expect_error "$WORK/pipe.err" "$rc" "is a pipe or FIFO"
mkfifo "$WORK/fifo"
rc=0; timeout 60 "$BIN" train "${SMALL[@]}" --data.train "$WORK/fifo" --train.run_dir "$WORK/fifo_run" \
  > /dev/null 2> "$WORK/fifo.err" || rc=$?
expect_error "$WORK/fifo.err" "$rc" "is a pipe or FIFO"
# A redirected file is a regular file: that works.
"$BIN" train "${SMALL[@]}" --data.train /dev/stdin --train.run_dir "$WORK/redirect" \
  < "$FIX/criteo_sample_train.tsv" > /dev/null 2> "$WORK/redirect.err" || fail "train < file failed: $(tail -n 2 "$WORK/redirect.err")"

step "D3: no valid rows is an error (empty, random bytes), gzip is told by its magic bytes"
: > "$WORK/empty.tsv"
head -c 200000 /dev/urandom > "$WORK/random.tsv"
for f in empty random; do
  rc=0; "$BIN" train "${SMALL[@]}" --data.train "$WORK/$f.tsv" --train.run_dir "$WORK/run_$f" > /dev/null 2> "$WORK/$f.err" || rc=$?
  expect_error "$WORK/$f.err" "$rc" "no valid training rows"
  [[ ! -e "$WORK/run_$f/model.h5" ]] || fail "a run on $f.tsv wrote model.h5"
done
gzip -c "$FIX/criteo_sample_train.tsv" > "$WORK/gzip_without_suffix.tsv"
"$BIN" train "${SMALL[@]}" --data.train "$WORK/gzip_without_suffix.tsv" --train.run_dir "$WORK/gz" > "$WORK/gz.out" 2> "$WORK/gz.err" \
  || fail "gzip without .gz failed: $(tail -n 2 "$WORK/gz.err")"
grep -q "^data: rows=$(wc -l < "$FIX/criteo_sample_train.tsv") skipped=0" "$WORK/gz.err" || fail "gzip without .gz not read as gzip: $(grep '^data:' "$WORK/gz.err")"

step "D3: an earlier run's results are never replaced silently"
"$BIN" train "${SMALL[@]}" --data.train "$FIX/criteo_sample_train.tsv" --train.run_dir "$WORK/keep" > "$WORK/keep.out" 2>&1
cp "$WORK/keep/model.h5" "$WORK/keep.model"
cp "$WORK/keep/metrics.jsonl" "$WORK/keep.metrics"
rc=0; "$BIN" train "${SMALL[@]}" --data.train "$WORK/empty.tsv" --train.run_dir "$WORK/keep" > /dev/null 2> "$WORK/again.err" || rc=$?
expect_error "$WORK/again.err" "$rc" "holds the results of an earlier run (model.h5, metrics.jsonl)"
cmp -s "$WORK/keep/model.h5" "$WORK/keep.model" || fail "the refused run changed model.h5"
cmp -s "$WORK/keep/metrics.jsonl" "$WORK/keep.metrics" || fail "the refused run changed metrics.jsonl"
"$BIN" train "${SMALL[@]}" --data.train "$FIX/criteo_sample_train.tsv" --train.run_dir "$WORK/keep" --train.seed 7 \
  --train.overwrite true > /dev/null 2> "$WORK/over.err" || fail "--train.overwrite true failed: $(tail -n 2 "$WORK/over.err")"
grep -q "replacing the earlier run's model.h5, metrics.jsonl" "$WORK/over.err" || fail "overwrite said nothing"
! cmp -s "$WORK/keep/model.h5" "$WORK/keep.model" || fail "--train.overwrite did not replace model.h5"

step "D5: a config larger than the memory the rank may use is refused before allocating"
# 2^48 weights (1 PiB) exceed any machine's memory: refused against MemAvailable or a cgroup.
rc=0; "$BIN" train "${BASE[@]}" --data.train "$FIX/criteo_sample_train.tsv" --model.hidden 16777216,16777216 \
  --train.run_dir "$WORK/huge_ram" > /dev/null 2> "$WORK/huge_ram.err" || rc=$?
expect_error "$WORK/huge_ram.err" "$rc" 'model.hidden = "16777216,16777216"'
grep -qE "MemAvailable|cgroup memory limit" "$WORK/huge_ram.err" || fail "no memory source named: $(cat "$WORK/huge_ram.err")"
[[ ! -e "$WORK/huge_ram/model.h5" ]] || fail "the refused run wrote a model"
# Under RLIMIT_AS. Sanitized builds cannot start under `ulimit -v` (ASan maps terabytes of
# shadow memory), so only the plain build runs this case.
if [[ -z "${ST_SANITIZERS:-}" ]]; then
  rc=0; (ulimit -v 6000000; exec "$BIN" train "${BASE[@]}" --data.train "$FIX/criteo_sample_train.tsv" \
    --model.hidden 16777216,16777216 --train.run_dir "$WORK/huge") > /dev/null 2> "$WORK/huge.err" || rc=$?
  expect_error "$WORK/huge.err" "$rc" "RLIMIT_AS (ulimit -v)"
  grep -qF 'model.hidden = "16777216,16777216"' "$WORK/huge.err" || fail "the message does not name the keys: $(cat "$WORK/huge.err")"
else
  echo "   (skipped under ${ST_SANITIZERS}: the ulimit -v case)"
fi
grep -q "^# memory: the model needs at least" "$WORK/keep.out" || fail "train does not print its memory estimate"

step "D6: under MPI the data counts are every rank's, with each rank's in metrics.jsonl"
# 25 malformed rows in the second half of the file, which rank 1 reads.
{ cat "$FIX/criteo_sample_train.tsv"; for _ in $(seq 25); do printf 'garbage\n'; done; } > "$WORK/bad_tail.tsv"
OMPI_MCA_mpi_yield_when_idle=1 mpirun --allow-run-as-root --oversubscribe -np 2 \
  "$BIN" train "${SMALL[@]}" --data.train "$WORK/bad_tail.tsv" --train.run_dir "$WORK/two" \
  > /dev/null 2> "$WORK/two.err" || fail "2-rank run failed: $(tail -n 3 "$WORK/two.err")"
rows=$(wc -l < "$FIX/criteo_sample_train.tsv")
grep -q "^data: rows=$rows skipped=25 column_count=25 crlf_rows=0 (all ranks)" "$WORK/two.err" \
  || fail "2-rank data line: $(grep '^data:' "$WORK/two.err"), expected rows=$rows skipped=25"
python3 - "$WORK/two/metrics.jsonl" "$rows" <<'PY' || fail "metrics.jsonl data line"
import json, sys
d = [json.loads(l)["data"] for l in open(sys.argv[1]) if '"data"' in l][-1]
assert d["rows"] == int(sys.argv[2]) and d["skipped"] == 25, d
assert len(d["per_rank"]) == 2 and sum(r["rows"] for r in d["per_rank"]) == d["rows"], d
assert d["per_rank"][0]["skipped"] == 0 and d["per_rank"][1]["skipped"] == 25, d
PY

step "D8: a failed model save names the system's reason and leaves no temporary file"
rc=0; (trap '' XFSZ; ulimit -f 2000; exec "$BIN" train "${BASE[@]}" --data.train "$FIX/criteo_sample_train.tsv" \
  --model.embed_dim 64 --model.hidden 32 --train.run_dir "$WORK/full") > /dev/null 2> "$WORK/full.err" || rc=$?
expect_error "$WORK/full.err" "$rc" "File too large"
leftover=$(find "$WORK/full" -name 'model.h5*')
[[ -z "$leftover" ]] || fail "a failed save left $leftover"
echo "PASS"
