#!/usr/bin/env bash
# dist.exchange = sparse | dense | auto are three ways to compute the same sums, so
# they must train to the same model: with 2 ranks bit for bit (a + b is the same in
# any order), with 3 ranks up to float summation order (AUC within 1e-3; measured
# equal to 1e-6). dist.verify_every = 1 compares every replica's parameters and
# optimizer state bitwise after every step: it must pass in every mode (its failure
# path is tested in fault_abort_e2e.sh). Sparse must also send fewer bytes than dense
# for this embedding table (touched rows << rows).
source "$(dirname "$0")/../common/e2e.sh"

ARGS=(--data.train "$FIX/criteo_sample_train.tsv" --data.test "$FIX/criteo_sample_test.tsv"
      --data.input_dim 65536 --model.embed_dim 16 --model.hidden 128 --model.sparsity 0.25
      --lsh.bits 5 --lsh.tables 8 --optim.lr 0.005 --train.batch_size 128 --train.log_every 1000
      --dist.verify_every 1 --dist.embedding replicated)
field() { tail -n 1 "$1" | grep -o "\"$2\":[0-9.e+-]*" | cut -d: -f2; }

for np in 2 3; do
  for mode in sparse dense auto; do
    rc=0
    timeout 300 mpirun -np "$np" --oversubscribe "$BIN" train "${ARGS[@]}" --dist.exchange "$mode" \
      --train.run_dir "$WORK/$np-$mode" > "$WORK/$np-$mode.out" 2> "$WORK/$np-$mode.err" || rc=$?
    [[ $rc -eq 0 ]] || { cat "$WORK/$np-$mode.err"; fail "$np ranks, $mode: exit $rc"; }
    echo "$np ranks, $mode: auc $(field "$WORK/$np-$mode.out" auc), comm_bytes $(field "$WORK/$np-$mode.out" comm_bytes)"
  done
  ref=$(field "$WORK/$np-sparse.out" auc)
  tol=$([[ $np -eq 2 ]] && echo 0 || echo 1e-3)
  for mode in dense auto; do
    a=$(field "$WORK/$np-$mode.out" auc)
    awk -v a="$a" -v b="$ref" -v t="$tol" 'BEGIN {d = a - b; if (d < 0) d = -d; exit !(d <= t)}' ||
      fail "$np ranks: $mode AUC $a vs sparse $ref (tolerance $tol)"
  done
  if [[ $np -eq 2 ]]; then
    for b in embed fc1 out; do
      for m in sparse dense; do h5dump -d "/params/$b/w" -b LE -o "$WORK/$m.$b.bin" "$WORK/2-$m/model.h5" > /dev/null; done
      cmp -s "$WORK/sparse.$b.bin" "$WORK/dense.$b.bin" || fail "2 ranks: block $b differs between sparse and dense"
    done
  fi
  sb=$(field "$WORK/$np-sparse.out" comm_bytes); db=$(field "$WORK/$np-dense.out" comm_bytes)
  awk -v s="$sb" -v d="$db" 'BEGIN {exit !(s < d)}' || fail "$np ranks: sparse sent $sb bytes, dense $db"
done
echo PASS
