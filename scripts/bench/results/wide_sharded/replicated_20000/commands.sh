#!/bin/bash
# Run alone on 2026-12-06 (Intel Xeon VM, 2 vCPUs), before BatchRows::plan_blocks (bytes and the replicated runs do not depend on it). One run each. Kept as it ran.
# Bytes per step and rank, 2 ranks, wide shape (100000 x 10240) and a smaller table (20000 x 10240) for replicated.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1 OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1
B=/tmp/benchbin/bench_scaling_bench
cd /work/main
for dim in 100000 20000; do
  for mode in sharded replicated; do
    [[ $dim == 100000 && $mode == replicated ]] && continue   # 2 x 12.5 GB does not fit this 24 GB VM
    for es in 0.025 1; do
      /usr/bin/time -v -o /tmp/shw/b_${dim}_${mode}_${es}.time mpirun -np 2 --oversubscribe $B --config configs/criteo-1tb-1b-wide.ini \
        --data.train /tmp/exp/wide.tsv --data.test "" --data.input_dim $dim --dist.embedding $mode --model.embed_sparsity $es \
        --train.batch_size 1024 --train.threads 1 --bench.steps 20 --bench.warmup 3 > /tmp/shw/b_${dim}_${mode}_${es}.json 2> /tmp/shw/b_${dim}_${mode}_${es}.err
      echo "$dim $mode $es rc=$? $(tail -1 /tmp/shw/b_${dim}_${mode}_${es}.json | grep -o '"bytes_sent_per_step_per_rank":[0-9]*') $(grep 'Maximum resident' /tmp/shw/b_${dim}_${mode}_${es}.time)"
    done
  done
done
