#!/usr/bin/env bash
# One rank hits a fatal error: the whole job must stop within seconds, exit non-zero,
# and print that rank's message (not hang with the other ranks blocked in a collective).
#   (a) rank 1's --data.train names a file that does not exist (per-rank path through
#       the launcher's rank variable): rank 1 fails before training, rank 0 trains on
#       and waits in the first collective;
#   (b) a malformed row in the part of the file only rank 1 reads, with
#       data.on_error = fail: rank 1 fails in the middle of training;
#   (c) replicas forced out of step (rank 1 uses another learning rate) with
#       dist.verify_every = 1: the replica check stops the job at step 1 naming the blocks.
source "$(dirname "$0")/../common/e2e.sh"

COMMON=(--data.input_dim 65536 --model.embed_dim 16 --model.hidden 64 --train.batch_size 64 --train.log_every 1000)

# expect_abort NAME PATTERN CMD...: CMD must exit non-zero within 60 s with PATTERN on stderr.
expect_abort() {
  local name=$1 pattern=$2; shift 2
  local t0=$SECONDS rc=0
  timeout 60 "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || rc=$?
  local took=$((SECONDS - t0))
  echo "$name: exit $rc after ${took}s; $(grep -m1 '^error:' "$WORK/$name.err" || true)"
  [[ $rc -ne 0 ]] || fail "$name: the job exited 0"
  [[ $rc -ne 124 ]] || fail "$name: the job hung (killed by timeout 60)"
  [[ $took -le 30 ]] || fail "$name: took ${took}s to stop"
  grep -q -- "$pattern" "$WORK/$name.err" || { cat "$WORK/$name.err"; fail "$name: stderr lacks '$pattern'"; }
}

# (a) A per-rank input path: rank 0 gets the sample, rank 1 a missing file.
cp "$FIX/criteo_sample_train.tsv" "$WORK/rank0.tsv"
expect_abort missing_input "error: rank 1: .*$WORK/rank1.tsv" \
  mpirun -np 2 bash -c 'exec "$0" train --data.train "$1/rank${OMPI_COMM_WORLD_RANK}.tsv" --train.run_dir "$1/a" "${@:2}"' \
  "$BIN" "$WORK" "${COMMON[@]}"

# (b) 6,470 good rows, with line 5,000 broken (in rank 1's half of the bytes).
awk -F'\t' -v OFS='\t' 'NR == 5000 {$1 = "click"} {print}' "$FIX/criteo_sample_train.tsv" > "$WORK/bad.tsv"
expect_abort bad_row "error: rank 1: .*bad.tsv.*5000" \
  mpirun -np 2 "$BIN" train --data.train "$WORK/bad.tsv" --data.on_error fail --train.run_dir "$WORK/b" "${COMMON[@]}"
# rank 0 reached training before the abort: the failure really happened mid-run.
grep -q "rank 0" "$WORK/bad_row.err" && fail "bad_row: rank 0 reported an error of its own"

# (c) Replicas out of step: the bitwise replica check must catch it at the first check.
expect_abort replica_check "replica check failed at step 1" \
  mpirun -np 2 bash -c 'exec "$0" train --data.train "$1" --optim.lr "0.00${OMPI_COMM_WORLD_RANK}1" --dist.verify_every 1 --train.run_dir "$2/c" "${@:3}"' \
  "$BIN" "$FIX/criteo_sample_train.tsv" "$WORK" "${COMMON[@]}"
grep -q "block(s) .*embed" "$WORK/replica_check.err" || fail "replica_check: the differing blocks are not named"
echo PASS
