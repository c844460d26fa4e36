#!/usr/bin/env bash
# optim.lr_schedule: the rate each step runs at, as metrics.jsonl logs it, against
# lr x (1 - (1 - lr_final) x min(1, step / T)) with T = the run's length in steps: epochs x
# the training rows (counted by rank 0, shared with every rank) / batch, rounded up, or
# optim.schedule_steps; train.max_steps stops a run without shortening T; 'constant' keeps lr.
# Usage: lr_schedule_e2e.sh <sparsetrain binary> <fixtures dir>
source "$(dirname "$0")/../common/e2e.sh"
# 6,470 rows in batches of 128: 51 steps an epoch.
RUN=(--data.input_dim 65536 --model.embed_dim 16 --model.hidden 64 --train.batch_size 128 --train.log_every 10
     --optim.lr 0.01 --train.seed 5)
run() {  # run NAME [args...]: trains on the sample into $WORK/NAME (stderr in NAME.err)
  local name=$1
  shift
  "$BIN" train --data.train "$FIX/criteo_sample_train.tsv" "${RUN[@]}" --train.run_dir "$WORK/$name" "$@" \
    > "$WORK/$name.out" 2> "$WORK/$name.err" || { tail -5 "$WORK/$name.err"; fail "run $name failed"; }
}
# check_rates NAME T FINAL [FIRST]: every lr logged from step FIRST on (default 1) is
# 0.01 x (1 - (1 - FINAL) x min(1, step / T)) (T 0: 0.01).
check_rates() {
  local got
  got=$(sed -n 's/^{"step":\([0-9]*\),.*"lr":\([^,]*\),.*/\1 \2/p' "$WORK/$1/metrics.jsonl" |
    awk -v first="${4:-1}" '$1 >= first')
  [ -n "$got" ] || fail "$1: no lr in metrics.jsonl"
  echo "$got" | awk -v T="$2" -v f="$3" -v name="$1" '{
      want = T > 0 ? 0.01 * (1 - (1 - f) * ($1 < T ? $1 / T : 1)) : 0.01
      if ($2 - want > 1e-7 || want - $2 > 1e-7) { printf "%s: step %d ran at lr %s, expected %.8f\n", name, $1, $2, want; bad = 1 }
    } END { exit bad }' || fail "$1: the rates do not follow the schedule"
  echo "   $1: lr at steps $(echo "$got" | awk '{ printf "%s%s=%s", (NR > 1 ? ", " : ""), $1, $2 }')"
}
banner() { grep -q "^# lr: $2$" "$WORK/$1.err" || fail "$1: no line '# lr: $2' (got: $(grep '^# lr' "$WORK/$1.err"))"; }

run default
banner default "0.01 falling linearly to 0.001 at step 51 (6470 rows in 1 file(s) x 1 epoch(s) / batch 128)"
check_rates default 51 0.1
# 3 epochs: 3 x 51 = 153 steps, each epoch ending on a part batch (not ceil(3 x 6470 / 128) = 152).
run epochs3 --train.epochs 3 --optim.lr_final 0
banner epochs3 "0.01 falling linearly to 0 at step 153 (6470 rows in 1 file(s) x 3 epoch(s) / batch 128)"
check_rates epochs3 153 0
grep -q '^{"steps":153,' "$WORK/epochs3.out" || fail "epochs3: the run did not take the 153 steps its schedule spans"
run fixed --optim.schedule_steps 20
banner fixed "0.01 falling linearly to 0.001 at step 20 (optim.schedule_steps)"
check_rates fixed 20 0.1
# max_steps stops the run; the schedule stays the run's (a resume without it continues it).
# (checkpoint.every_steps: a run stopped early checkpoints where it stops.)
run stopped --train.max_steps 30 --checkpoint.every_steps 1000
grep -q "^# lr: .* at step 51 (.*); train.max_steps stops the run at step 30 " "$WORK/stopped.err" ||
  fail "no note that train.max_steps stops the run before the schedule ends"
check_rates stopped 51 0.1
# Resumed with 2 epochs, the fall ends at step 102, not 51: the rate jumps, and the run says so
# and how to keep the first run's fall; with optim.schedule_steps 51 it keeps it, silently.
cp -r "$WORK/stopped" "$WORK/more"
cp -r "$WORK/stopped" "$WORK/pinned"
run more --train.epochs 2
grep -q "^note: the resumed run trains step 31 at learning rate 0.00726471; the checkpointed run would have used \
0.00452941. Its linear fall ended at step 51, this run's at step 102 (--optim.schedule_steps 51 keeps the \
checkpointed run's fall)$" "$WORK/more.err" || fail "more: no note on the moved fall (got: $(grep '^note' "$WORK/more.err"))"
check_rates more 102 0.1 31
run pinned --train.epochs 2 --optim.schedule_steps 51
! grep -q "learning rate" "$WORK/pinned.err" || fail "pinned: a note on an unchanged rate"
check_rates pinned 51 0.1
run constant --optim.lr_schedule constant
banner constant "0.01, constant (optim.lr_schedule)"
check_rates constant 0 1
# gzip: the same rows, counted through zlib.
gzip -c "$FIX/criteo_sample_train.tsv" > "$WORK/train.tsv.gz"
"$BIN" train --data.train "$WORK/train.tsv.gz" "${RUN[@]}" --train.run_dir "$WORK/gz" > /dev/null 2> "$WORK/gz.err" ||
  fail "gzip run failed"
banner gz "0.01 falling linearly to 0.001 at step 51 (6470 rows in 1 file(s) x 1 epoch(s) / batch 128)"
# Two ranks: rank 0 counts and every rank runs the same schedule (a rank on another rate
# would leave the replicated blocks apart, which verify_every checks each 10 steps).
"${MPI[@]}" -np 2 "$BIN" train --data.train "$FIX/criteo_sample_train.tsv" "${RUN[@]}" --dist.verify_every 10 \
  --train.run_dir "$WORK/np2" > "$WORK/np2.out" 2> "$WORK/np2.err" || { tail -5 "$WORK/np2.err"; fail "2-rank run failed"; }
banner np2 "0.01 falling linearly to 0.001 at step 51 (6470 rows in 1 file(s) x 1 epoch(s) / batch 128)"
check_rates np2 51 0.1
[ "$(grep -c '"verified":true' "$WORK/np2/metrics.jsonl")" -ge 5 ] || fail "np2: replicas not verified 5 times"
echo "PASS"
