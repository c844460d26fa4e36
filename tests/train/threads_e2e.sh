#!/usr/bin/env bash
# Threads per rank when train.threads = 0: N ranks on a node share its CPUs instead of
# each starting one thread per CPU (Open MPI binds to a whole socket above 2 ranks, or
# not at all with --bind-to none). Checks the "threads=" the binary reports for
#   1 process (no mpirun)             -> every CPU it may use
#   mpirun -np 2 --bind-to none       -> max(1, CPUs allowed / 2): every CPU is shared by both
#   mpirun -np 2 --bind-to core       -> 1: one CPU each, not shared
#   mpirun -np 2, OMP_NUM_THREADS=1   -> 1 (the user's setting wins)
#   --train.threads 3                 -> 3
source "$(dirname "$0")/../common/e2e.sh"
unset OMP_NUM_THREADS
ARGS=(--data.train "$FIX/criteo_sample_train.tsv" --data.test "" --data.input_dim 65536 --model.embed_dim 16
      --model.hidden 64 --train.batch_size 256 --train.max_steps 2 --train.log_every 1000)

threads_of() { grep -m1 -o 'threads=[0-9]*' "$1" | cut -d= -f2; }

allowed=$(nproc)                              # CPUs this shell may run on (affinity)
share=$(( allowed / 2 )); (( share < 1 )) && share=1

"$BIN" train "${ARGS[@]}" --train.run_dir "$WORK/serial" > "$WORK/serial.out"
got=$(threads_of "$WORK/serial.out"); echo "1 process: threads=$got (CPUs allowed: $allowed)"
[[ $got -eq $allowed ]] || fail "1 process: threads=$got, expected $allowed"

mpirun -np 2 --bind-to none --oversubscribe "$BIN" train "${ARGS[@]}" --train.run_dir "$WORK/np2" > "$WORK/np2.out"
got=$(threads_of "$WORK/np2.out"); echo "2 ranks, no binding: threads=$got (allowed $allowed -> share $share)"
[[ $got -eq $share ]] || fail "2 ranks: threads=$got, expected $share"
grep -q "shared with 1 other rank(s) on this node" "$WORK/np2.out" || fail "2 ranks: the reason is not printed"

if (( allowed >= 2 )); then
  mpirun -np 2 --bind-to core "$BIN" train "${ARGS[@]}" --train.run_dir "$WORK/core" > "$WORK/core.out"
  got=$(threads_of "$WORK/core.out"); echo "2 ranks bound to a core each: threads=$got"
  [[ $got -eq 1 ]] || fail "2 ranks bound to cores: threads=$got, expected 1"
fi

OMP_NUM_THREADS=1 mpirun -np 2 --bind-to none -x OMP_NUM_THREADS "$BIN" train "${ARGS[@]}" --train.run_dir "$WORK/env" > "$WORK/env.out"
got=$(threads_of "$WORK/env.out"); echo "OMP_NUM_THREADS=1: threads=$got"
[[ $got -eq 1 ]] || fail "OMP_NUM_THREADS=1: threads=$got"
grep -q "(OMP_NUM_THREADS)" "$WORK/env.out" || fail "OMP_NUM_THREADS: the reason is not printed"

"$BIN" train "${ARGS[@]}" --train.threads 3 --train.run_dir "$WORK/three" > "$WORK/three.out"
got=$(threads_of "$WORK/three.out"); echo "--train.threads 3: threads=$got"
[[ $got -eq 3 ]] || fail "--train.threads 3: threads=$got"
echo "PASS"
