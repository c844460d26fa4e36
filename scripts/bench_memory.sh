#!/usr/bin/env bash
# Peak memory per rank of the 1B-parameter config (configs/criteo-1tb-1b.ini) on
# generated data, sharded over P = 1, 2 and 4 ranks (oversubscribed), and a run of it
# under a per-rank address-space limit below the whole table (ulimit -v), which must
# fail on 1 rank and train on 4.
#
#   scripts/bench_memory.sh [BUILD_DIR] [LIMIT_GB]
#
# Each rank runs under /usr/bin/time -v; the script prints its peak RSS, the bytes per
# parameter held by the rank (parameters / P), and the rest: fixed overhead (code, MPI,
# buffers) plus the step's fetched rows. Needs ~12 GB free for P = 1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
LIMIT_GB=${2:-8}
BIN=$BUILD/sparsetrain
DIR=${BENCH_DIR:-/tmp/sparsetrain-mem}
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
mkdir -p "$DIR"
DATA=$DIR/synth_200k.tsv
[[ -s $DATA ]] || "$BIN" synth --rows 200000 --seed 3 --profile 1tb --output "$DATA" > /dev/null
COMMON=(train --config "$ROOT/configs/criteo-1tb-1b.ini" --data.train "$DATA" --data.test ""
        --train.max_steps 5 --checkpoint.every_minutes 0 --dist.embedding sharded)
echo "# $(lscpu | sed -n 's/^Model name: *//p'); configs/criteo-1tb-1b.ini, 5 steps of 8,192 generated rows"
echo "| ranks | peak RSS per rank (max over ranks) | parameters per rank | RSS / (parameters / P) | seconds |"
echo "| --- | --- | --- | --- | --- |"
for np in 1 2 4; do
  rm -rf "$DIR/run$np"
  t0=$(date +%s.%N)
  mpirun -np "$np" --oversubscribe --bind-to none bash -c \
    '/usr/bin/time -v "$0" "$@" --train.run_dir '"$DIR/run$np"' 2> '"$DIR"'/rank$OMPI_COMM_WORLD_RANK.'"$np"'.err > '"$DIR"'/rank$OMPI_COMM_WORLD_RANK.'"$np"'.out' \
    "$BIN" "${COMMON[@]}"
  t1=$(date +%s.%N)
  PARAMS=$(grep -o 'parameters: [0-9]*' "$DIR/rank0.$np.out" | awk '{print $2}')
  peak=$(grep -h "Maximum resident" "$DIR"/rank*."$np".err | awk '{print $6}' | sort -n | tail -1)  # kB
  python3 -c "
p, np_, kb, s = $PARAMS, $np, $peak, $t1 - $t0
print(f'| {np_} | {kb / 1048576:.2f} GiB | {p / np_ / 1e6:.0f}M | {kb * 1024 / (p / np_):.2f} bytes | {s:.0f} |')"
done
echo "# a per-rank limit of ulimit -v $LIMIT_GB GiB (the whole table's state is ~11.7 GiB):"
for np in 1 4; do
  rm -rf "$DIR/lim$np"
  rc=0
  mpirun -np "$np" --oversubscribe --bind-to none bash -c "ulimit -v $((LIMIT_GB * 1048576)); exec \"\$0\" \"\$@\"" \
    "$BIN" "${COMMON[@]}" --train.run_dir "$DIR/lim$np" > "$DIR/lim$np.out" 2> "$DIR/lim$np.err" || rc=$?
  if [[ $rc -eq 0 ]]; then what=$(tail -n 1 "$DIR/lim$np.out" | cut -c1-60); else what=$(grep -m1 -o 'error: .*' "$DIR/lim$np.err" | cut -c1-120); fi
  echo "ranks $np: exit $rc; $what"
done
