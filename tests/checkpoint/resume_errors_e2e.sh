#!/usr/bin/env bash
# What a resume does with a run_dir that is not as the checkpoint left it, end to end, one
# process (the replicated table: rank 0 reads the checkpoint; resume_e2e.sh covers the
# sharded path under mpirun):
#   1. the input file changed size since the checkpoint, or the model config changed: an
#      error naming the file and both sizes (the key and both values), the run_dir untouched
#      (config.ini too: it describes the results that are there);
#   2. the newest checkpoint damaged: warning naming the dataset, set aside as .bad, the
#      previous one used, final model bitwise the uninterrupted run's;
#   3. the same step damaged again: set aside as .bad.1, the first .bad kept as it was;
#   4. every checkpoint damaged: error "none of the 3 checkpoint(s) ... is usable", exit 1,
#      every file kept (as .bad);
#   5. checkpoint.resume = never (with train.overwrite): the earlier checkpoints moved to
#      checkpoints.replaced-<time>, byte for byte, and the run starts from step 0;
#   6. metrics.jsonl shorter than the checkpoint saw, or missing: a warning, and the resumed
#      run appends its lines after what is there;
#   7. config.ini that cannot be written: an error before any training.
# Usage: resume_errors_e2e.sh <sparsetrain binary> <fixtures dir>
source "$(dirname "$0")/../common/e2e.sh"
step() { echo "== $*"; }
source "$(dirname "$0")/same_model.sh"

cp "$FIX/criteo_sample_train.tsv" "$WORK/train.tsv"
# ~200 steps, a checkpoint every 40 (and one at the end, step 204), 3 kept.
RUN=(--data.train "$WORK/train.tsv" --data.test "" --data.input_dim 65536 --model.embed_dim 16 --model.hidden 128
     --model.sparsity 0.25 --train.batch_size 64 --train.epochs 2 --train.seed 7 --train.log_every 10
     --checkpoint.every_steps 40 --checkpoint.keep 3)
CK=ckpt-000000000204.h5
PREV=ckpt-000000000200.h5
train() {  # train RUN_DIR [args...]: output in $WORK/out, exit status in $rc
  local dir=$1
  shift
  rc=0
  "$BIN" train "${RUN[@]}" --train.run_dir "$dir" "$@" > "$WORK/out" 2>&1 || rc=$?
}
expect() {  # expect STATUS PATTERN: the last run's exit status and a line of its output
  [ "$rc" = "$1" ] || { tail -5 "$WORK/out" >&2; fail "exit status $rc, expected $1"; }
  grep -qE -- "$2" "$WORK/out" || { tail -5 "$WORK/out" >&2; fail "no line matching: $2"; }
  grep -E -- "$2" "$WORK/out" | head -2 | cut -c1-190 | sed 's/^/   /'
}
damage() { printf 'garbage!' | dd of="$1" bs=1 seek=6000000 conv=notrunc status=none; }  # inside the table's data
listing() { (cd "$1" && find . -type f -exec md5sum {} + | sort -k2); }

step "reference: uninterrupted run"
train "$WORK/ref"
expect 0 '^\{"steps":204,'
[ -f "$WORK/ref/checkpoints/$CK" ] && [ -f "$WORK/ref/checkpoints/$PREV" ] || fail "no checkpoints at steps 200 and 204"
cp -r "$WORK/ref" "$WORK/r"

step "1. the input file grew by one line since the checkpoint; then another lsh.tables"
before=$(listing "$WORK/r")
tail -1 "$WORK/train.tsv" >> "$WORK/train.tsv"
train "$WORK/r"
expect 1 "^error: input '$WORK/train.tsv' \([0-9]+ bytes\) is not the input the checkpoint read: '$WORK/train.tsv' \([0-9]+ bytes\)"
diff <(echo "$before") <(listing "$WORK/r") >&2 || fail "the refused resume changed the run_dir"
cp "$FIX/criteo_sample_train.tsv" "$WORK/train.tsv"
train "$WORK/r" --lsh.tables 4
expect 1 "^  lsh.tables: checkpoint '[0-9]+', now '4'"
diff <(echo "$before") <(listing "$WORK/r") >&2 || fail "the refused resume changed the run_dir (config.ini?)"

step "2. the newest checkpoint damaged: set aside, the previous one used"
damage "$WORK/r/checkpoints/$CK"
cp "$WORK/r/checkpoints/$CK" "$WORK/first_bad"
train "$WORK/r"
expect 0 "^warning: checkpoint '.*$CK': dataset /params/[a-z_0-9]+/[a-z_]+ is damaged"
expect 0 "^warning: moved it to .*$CK\.bad; trying the previous checkpoint"
expect 0 "^resumed from .*$PREV at step 200 "
same_model "$WORK/ref/model.h5" "$WORK/r/model.h5"
echo "   final model: $SAME_MODEL_COUNT datasets bitwise the uninterrupted run's"

step "3. the rewritten step damaged again: .bad.1, the first .bad kept"
damage "$WORK/r/checkpoints/$CK"
train "$WORK/r"
expect 0 "^warning: moved it to .*$CK\.bad\.1; trying the previous checkpoint"
cmp -s "$WORK/first_bad" "$WORK/r/checkpoints/$CK.bad" || fail "the first quarantined checkpoint was replaced"

step "4. every checkpoint damaged: a clear error, every file kept"
for f in "$WORK"/r/checkpoints/ckpt-*.h5; do damage "$f"; done
train "$WORK/r"
expect 1 "^error: none of the 3 checkpoint\(s\) in .*/checkpoints is usable \(last problem: checkpoint '.*ckpt-000000000160\.h5': dataset"
n=$(find "$WORK/r/checkpoints" -name 'ckpt-*.h5.bad*' | wc -l)
[ "$n" = 5 ] || fail "$n quarantined files, expected 5 (3 now, 2 from steps 2 and 3)"

step "5. checkpoint.resume = never: the earlier checkpoints moved aside, not deleted"
cp -r "$WORK/ref" "$WORK/n"
before=$(listing "$WORK/n/checkpoints")
train "$WORK/n" --checkpoint.resume never --train.overwrite true
expect 0 "^note: checkpoint.resume = never: moved the existing checkpoints to .*/checkpoints\.replaced-[0-9]+$"
aside=$(find "$WORK/n" -maxdepth 1 -name 'checkpoints.replaced-*')
[ "$(listing "$aside")" = "$before" ] || fail "$aside is not the earlier checkpoints, byte for byte"
grep -q '^resumed from' "$WORK/out" && fail "resume = never resumed"
same_model "$WORK/ref/model.h5" "$WORK/n/model.h5"  # the same seed from step 0: the same model
echo "   new run from step 0: $SAME_MODEL_COUNT datasets bitwise the first run's"

step "6. metrics.jsonl shorter than at the checkpoint, or missing: warned"
cp -r "$WORK/ref" "$WORK/m"
rm "$WORK/m/checkpoints/$CK"
head -5 "$WORK/ref/metrics.jsonl" > "$WORK/m/metrics.jsonl"
train "$WORK/m"
expect 0 "^warning: .*metrics.jsonl has [0-9]+ bytes, the checkpoint saw [0-9]+; lines are missing before the resume point"
[ "$(wc -l < "$WORK/m/metrics.jsonl")" -gt 5 ] || fail "the resumed run did not append its metrics"
rm "$WORK/m/checkpoints/$CK" "$WORK/m/metrics.jsonl"
train "$WORK/m"
expect 0 "^warning: .*metrics.jsonl is missing; the resumed run starts a new one"
[ -s "$WORK/m/metrics.jsonl" ] || fail "no new metrics.jsonl"
step "7. config.ini cannot be written (here its temporary name is taken by a directory): an error"
mkdir -p "$WORK/c/config.ini.tmp"
train "$WORK/c"
expect 1 "^error: cannot write .*/c/config.ini.tmp"
[ -e "$WORK/c/model.h5" ] && fail "a run that could not write config.ini went on to train"
echo "PASS"
