#!/usr/bin/env bash
# slurm/train.sbatch on a real one-node Slurm (22.05, Debian's slurm-wlm), as root:
#   - installs slurm-wlm and munge when missing (apt-get), writes a private slurm.conf
#     (SLURM_CONF, own ports and state dirs: /etc/slurm is not touched), starts munged
#     (if no munged answers yet), slurmctld and slurmd, and stops what it started on exit;
#   - job A: `scontrol requeue` mid-run, released with StartTime=now: the second run
#     (SLURM_RESTART_COUNT=1) resumes from a checkpoint and ends with a model bitwise equal
#     to an uninterrupted `mpirun -np 2` run;
#   - job B: SIGUSR1 to the batch shell only (what --signal=B:USR1@T sends before the time
#     limit): the script forwards it, the ranks checkpoint and exit 85, the script requeues
#     its own job, which resumes from exactly that checkpoint; same final model.
# Usage: slurm_e2e.sh <sparsetrain binary> <fixtures dir>
source "$(dirname "$0")/../common/e2e.sh"
chmod 755 "$WORK"
STATE=/tmp/sparsetrain-slurm-e2e  # pid files of the daemons this test starts
mkdir -p "$STATE"
step() { echo "== $*"; }
[ "$(id -u)" = 0 ] || fail "needs root (installs packages, runs slurmd)"

# The daemons' ports (16817, 16818), their pid files under $STATE and munged are the
# machine's: one run of this test at a time. CTest's RESOURCE_LOCK orders the runs of one
# ctest; this lock also those of other build trees or CI jobs on the machine. The daemons
# are started without the lock's descriptor (9>&-), so only this shell holds it.
exec 9> "$STATE.lock"
if ! flock -n 9; then
  echo "   waiting for another run of this test (lock $STATE.lock)"
  flock -w 300 9 || { rm -rf "$WORK"; fail "another run of slurm_e2e.sh held $STATE.lock for 5 minutes"; }
fi

# Daemons of an earlier run of this test that was killed before its cleanup: ours by
# their pid files and command lines, so they are stopped by pid.
stop_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2> /dev/null || true)
  if [ -n "$pid" ] && grep -q "sparsetrain-slurm-e2e\|st_slurm_e2e" "/proc/$pid/cmdline" 2> /dev/null; then
    kill "$pid" 2> /dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null || true
  fi
  rm -f "$f"
}
stop_pidfile "$STATE/slurmctld.pid"
stop_pidfile "$STATE/slurmd.pid"

MUNGE_STARTED=
cleanup() {
  local rc=$?
  set +e
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$STATE/slurmctld.pid" ]; then
    # Jobs still running after a failure: cancel them while slurmd can still kill them.
    jobs=$(timeout 10 squeue -h -o %i 2> /dev/null)
    if [ -n "$jobs" ]; then
      timeout 10 scancel --signal=KILL --full $jobs > /dev/null 2>&1
      for _ in $(seq 1 50); do [ -z "$(timeout 5 squeue -h -o %i 2> /dev/null)" ] && break; sleep 0.2; done
    fi
    timeout 10 scontrol shutdown > /dev/null 2>&1
    for _ in $(seq 1 50); do
      [ -e "/proc/$(cat "$STATE/slurmctld.pid" 2> /dev/null || echo 0)" ] || [ -e "/proc/$(cat "$STATE/slurmd.pid" 2> /dev/null || echo 0)" ] || break
      sleep 0.2
    done
  fi
  stop_pidfile "$STATE/slurmctld.pid"
  stop_pidfile "$STATE/slurmd.pid"
  if [ -n "$MUNGE_STARTED" ]; then kill "$MUNGE_STARTED" 2> /dev/null; fi
  if [ "$rc" != 0 ]; then
    echo "--- slurmctld log (tail)"; tail -15 "$WORK/slurmctld.log" 2> /dev/null
    echo "--- slurmd log (tail)"; tail -15 "$WORK/slurmd.log" 2> /dev/null
    for f in "$WORK"/*.log; do case $f in *slurm*) ;; *) echo "--- $f"; tail -25 "$f";; esac; done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

step "slurm and munge"
if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null || ! command -v munged > /dev/null; then
  echo "   installing slurm-wlm and munge (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge > "$WORK/apt.log" 2>&1 ||
    { DEBIAN_FRONTEND=noninteractive apt-get update > /dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge > "$WORK/apt.log" 2>&1; } ||
    fail "apt-get install slurm-wlm munge failed: $(tail -3 "$WORK/apt.log")"
fi
slurmctld -V

if ! timeout 5 munge -n 2> /dev/null | timeout 5 unmunge > /dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || mungekey --create > /dev/null
  mkdir -p /run/munge
  chown munge:munge /run/munge /etc/munge/munge.key 2> /dev/null || true
  chmod 0400 /etc/munge/munge.key
  su -s /bin/sh munge -c "munged" 9>&- || fail "munged did not start"
  MUNGE_STARTED=$(cat /run/munge/munged.pid)
  timeout 5 munge -n | timeout 5 unmunge > /dev/null || fail "munge does not work"
  echo "   started munged (pid $MUNGE_STARTED)"
else
  echo "   munged already running; using it"
fi

HOST=$(hostname -s)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))
mkdir -p "$WORK/state" "$WORK/spool"
export SLURM_CONF=$WORK/slurm.conf
cat > "$SLURM_CONF" << CONF
ClusterName=sttest
SlurmctldHost=$HOST
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
KillWait=30
MinJobAge=600
SchedulerParameters=sched_interval=2
NodeName=$HOST CPUs=$(getconf _NPROCESSORS_ONLN) RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF" 9>&- || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" 9>&- || fail "slurmd did not start"
for i in $(seq 1 60); do
  sinfo -h -o %t 2> /dev/null | grep -q idle && break
  [ "$i" = 60 ] && fail "node not idle after 30 s: $(sinfo 2>&1)"
  sleep 0.5
done
echo "   slurmctld + slurmd up: $(sinfo -h -o '%P %t %c CPUs')"

# ~2,000 steps of a small model; a checkpoint every 40 steps.
cat > "$WORK/tiny.ini" << INI
[data]
train = $FIX/criteo_sample_train.tsv
input_dim = 65536
[model]
embed_dim = 16
hidden = 128
sparsity = 0.25
[lsh]
bits = 5
tables = 8
rebuild_every = 7
rebuild_growth = 1.1
rebuild_max = 40
[train]
batch_size = 64
epochs = 20
log_every = 10
seed = 7
[checkpoint]
every_steps = 40
keep = 2
INI

source "$(dirname "$0")/same_model.sh"
check_same_model() { same_model "$1" "$2"; echo "   final model: $SAME_MODEL_COUNT datasets bitwise identical to the uninterrupted run"; }
job_field() { scontrol show job "$1" -o 2> /dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# Waiting for RUNNING or COMPLETED, a failed end is final: no requeue of this test's comes
# after it, so fail at once instead of waiting out the limit. (Not while waiting for PENDING:
# a job that requeues itself exits 85 on its way there.)
wait_state() {  # wait_state JOBID STATE SECONDS
  local i state
  for i in $(seq 1 $(($3 * 5))); do
    state=$(job_field "$1" JobState)
    [ "$state" = "$2" ] && return 0
    case "$2:$state" in
      PENDING:*) ;;
      *:FAILED | *:CANCELLED | *:TIMEOUT | *:NODE_FAIL | *:OUT_OF_MEMORY | *:BOOT_FAIL | *:DEADLINE)
        fail "job $1 ended $state while waiting for $2 (exit $(job_field "$1" ExitCode), reason $(job_field "$1" Reason))" ;;
    esac
    sleep 0.2
  done
  fail "job $1 not $2 after $3 s (state $(job_field "$1" JobState), reason $(job_field "$1" Reason))"
}
wait_ckpt() {
  local i
  for i in $(seq 1 600); do
    ls "$1"/checkpoints/ckpt-*.h5 > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "no checkpoint in $1 after 60 s"
}
# A requeued job is held (Reason=BeginTime) until Slurm's own delay has passed; release it
# earlier, but not within the same few seconds as the kill of its previous run: slurmd
# rejects a launch credential issued right after it revoked the job's old one ("Job
# credential revoked"), and the job would then fail instead of starting.
release() {
  echo "   held: $(job_field "$1" Reason), StartTime=$(job_field "$1" StartTime) (now $(date +%Y-%m-%dT%H:%M:%S)); releasing in 3 s"
  sleep 3
  scontrol update jobid="$1" StartTime=now
}
submit() {  # submit NAME -> job id
  sbatch --parsable --job-name="st-$1" --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=30 \
    --signal=B:USR1@60 --output="$WORK/$1.log" --chdir="$WORK" --export=ALL,SPARSETRAIN="$BIN" \
    "$ROOT/slurm/train.sbatch" "$WORK/tiny.ini" --train.run_dir "$WORK/$1"
}

step "reference: uninterrupted mpirun -np 2"
mpirun --allow-run-as-root -np 2 "$BIN" train --config "$WORK/tiny.ini" --train.run_dir "$WORK/ref" \
  > "$WORK/ref.log" 2>&1 || fail "reference run failed"
grep '^{"steps"' "$WORK/ref.log" | cut -c1-60 | sed 's/^/   /'

step "job A: scontrol requeue mid-run"
A=$(submit A)
wait_state "$A" RUNNING 60
wait_ckpt "$WORK/A"
sleep 0.5
scontrol requeue "$A"
echo "   requeued job $A: $(job_field "$A" JobState) reason $(job_field "$A" Reason)"
wait_state "$A" PENDING 60
release "$A"
wait_state "$A" COMPLETED 300
[ "$(job_field "$A" Restarts)" = 1 ] || fail "job A restarts = $(job_field "$A" Restarts), expected 1"
grep -q "SLURM_RESTART_COUNT=0" "$WORK/A.log" || fail "no first run in A.log"
grep -q "SLURM_RESTART_COUNT=1" "$WORK/A.log" || fail "no second run (SLURM_RESTART_COUNT=1) in A.log"
grep -q "^resumed from .*/A/checkpoints/ckpt-" "$WORK/A.log" || fail "job A did not resume from a checkpoint"
grep -E "SLURM_RESTART_COUNT|^resumed from|SIG|status 85|training finished" "$WORK/A.log" | sed 's/^/   /'
check_same_model "$WORK/ref/model.h5" "$WORK/A/model.h5"

step "job B: SIGUSR1 to the batch shell (the --signal=B:USR1 warning) -> checkpoint, exit 85, self-requeue"
B=$(submit B)
wait_state "$B" RUNNING 60
wait_ckpt "$WORK/B"
sleep 0.3
scancel --batch --signal=USR1 "$B"
wait_state "$B" PENDING 60
grep -q "checkpoint written and stopped (status 85): requeueing job $B" "$WORK/B.log" ||
  fail "job B did not stop with status 85 and requeue itself"
stop=$(sed -n 's/^SIGUSR1 received: writing a checkpoint after step \([0-9]*\).*/\1/p' "$WORK/B.log" | head -1)
[ -n "$stop" ] || fail "no checkpoint-and-stop message in B.log"
release "$B"
wait_state "$B" COMPLETED 300
[ "$(job_field "$B" Restarts)" = 1 ] || fail "job B restarts = $(job_field "$B" Restarts), expected 1"
grep -q "SLURM_RESTART_COUNT=1" "$WORK/B.log" || fail "no second run in B.log"
grep -q "^resumed from .*ckpt-0*$stop.h5 at step $stop " "$WORK/B.log" || fail "job B did not resume at step $stop"
grep -E "SLURM_RESTART_COUNT|got SIG|^SIGUSR1|status 85|^resumed from|training finished" "$WORK/B.log" | sed 's/^/   /'
check_same_model "$WORK/ref/model.h5" "$WORK/B/model.h5"
echo "PASS"
