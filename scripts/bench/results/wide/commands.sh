#!/bin/bash
# Run alone on 2026-12-06 (Intel Xeon VM, 2 vCPUs) to measure the README table "The wide input layer"; the same commands as scripts/bench_all.sh's wide stage. Kept as it ran.
# The wide stage of scripts/bench_all.sh, alone (same commands), 3 repetitions.
set -u
OUT=/tmp/exp/wout; rm -f $OUT/*
TB=/work/main/build-dev/bench_train_bench
head -n 60000 /tmp/sparsetrain-parity/kaggle-train.tsv > /tmp/exp/wide.tsv
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
M=(--data.input_dim 100000 --model.embed_dim 10240 --model.hidden "" --optim.lr 0.001 --train.batch_size 1024 --train.threads 1)
for r in 1 2 3; do
  for es in 0.0125 0.025 0.05 1; do
    name=wide_es${es}_$r; [[ $es == 1 ]] && name=wide_dense_$r
    /usr/bin/time -v -o $OUT/$name.time $TB --data.train /tmp/exp/wide.tsv "${M[@]}" --model.embed_sparsity $es > $OUT/$name.stdout 2> $OUT/$name.stderr
    grep '^{' $OUT/$name.stdout | tail -1 > $OUT/$name.json
    echo "$name $(cut -c1-200 $OUT/$name.json)"
  done
  /usr/bin/time -v -o $OUT/wide_torch_$r.time env OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 /work/main/scripts/pytorch_baseline.py --train /tmp/exp/wide.tsv --input-dim 100000 --embed-dim 10240 --hidden "" --lr 0.001 --batch-size 1024 --threads 1 > $OUT/wide_torch_$r.stdout 2> $OUT/wide_torch_$r.stderr
  grep '^{' $OUT/wide_torch_$r.stdout | tail -1 > $OUT/wide_torch_$r.json
  echo "wide_torch_$r $(cut -c1-200 $OUT/wide_torch_$r.json)"
done
