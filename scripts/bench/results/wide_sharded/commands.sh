#!/bin/bash
# Run alone on 2026-12-06 (Intel Xeon VM, 2 vCPUs) for the README section "The wide input layer",
# sharded: the wide shape (100,000 x 10,240, no hidden layer, lr 0.001, global batch 1024, 1 thread
# per rank) on 1 process (whole table) and on 2 sharded ranks, embed_sparsity 0.025 and 1, two
# generated profiles (60k rows each of bench_parity.py's kaggle and 1tb training files), 3
# repetitions, 40 timed steps after 3 warm-up ones. Kept as it ran.
set -u
OUT=/work/main/scripts/bench/results/wide_sharded
B=/tmp/benchbin/bench_scaling_bench2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1 OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1
cd /work/main
for prof in kaggle 1tb; do
  head -n 60000 /tmp/sparsetrain-parity/$prof-train.tsv > /tmp/exp/wide_$prof.tsv
  for r in 1 2 3; do
    for es in 0.025 1; do
      for np in 1 2; do
        name=${prof}_es${es}_np${np}_$r
        mpirun -np $np --oversubscribe $B --config configs/criteo-1tb-1b-wide.ini --data.train /tmp/exp/wide_$prof.tsv \
          --data.test "" --dist.embedding sharded --model.embed_sparsity $es --train.batch_size 1024 --train.threads 1 \
          --bench.steps 40 --bench.warmup 3 > $OUT/$name.json 2> $OUT/$name.err
        echo "$name rc=$? $(tail -1 $OUT/$name.json | cut -c1-160)"
      done
    done
  done
done
