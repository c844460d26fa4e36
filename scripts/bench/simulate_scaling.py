#!/usr/bin/env python3
"""Runs the SMPI scaling simulation (tests/bench/smpi) and prints its tables.

Called by scripts/simulate_scaling.sh, which builds the programs first. Steps:
  1. unit costs: the real driver under mpirun on this machine (plan, pack, serve per row,
     median of 3 runs at P = 2) and the owner's merge at every simulated P (--merge-bench);
  2. calibration: the real driver under mpirun at P = 2 and 4 against smpirun of the same
     driver on a platform of this machine, with the same unit costs;
  3. the hpc7a cluster: strong scaling at G = 8,192 and 720,000, weak scaling at 683 and
     15,000 rows per rank, P = 1, 12, 48, 384, 1,536, sharded and replicated (runs that would
     not fit this machine's memory in one simulation process are listed as skipped);
  4. the same configurations in scripts/cost_model.py, side by side.
The last line printed is JSON with the efficiencies.
"""
import argparse
import concurrent.futures
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import cost_model  # noqa: E402  (scripts/cost_model.py: U(B), Open MPI's alltoallv rule, the model)

RANKS_PER_NODE = 12
SMPI_ALGO = {"linear": "ompi_basic_linear", "pairwise": "ring"}  # SimGrid's names (ring = Open MPI's pairwise)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_json(cmd, env=None, timeout=None):
    t0 = time.time()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"did not finish in {timeout:.0f} s") from None
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    d = json.loads(lines[-1])
    d["_wall_s"] = time.time() - t0
    return d


class Sim:
    def __init__(self, args):
        self.a = args
        self.build = args.build
        self.driver = os.path.join(self.build, "smpi_scaling")
        self.real = os.path.join(self.build, "smpi_scaling_mpi")
        self.platform = os.path.join(self.build, "cluster_platform.so")
        self.env1 = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
                         OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_mpi_yield_when_idle="1")
        self.costs = {}
        self.merge_cache = {}

    # ---- unit costs -------------------------------------------------------------------
    def real_run(self, P, G):
        cmd = ["mpirun", "-np", str(P), "--oversubscribe", "--bind-to", "none", self.real,
               "--global-batch", str(G), "--steps", "7", "--warmup", "3"]
        return run_json(cmd, self.env1)

    def measure_unit_costs(self):
        runs = [self.real_run(2, 65536) for _ in range(3)]
        u = {k: statistics.median(r["unit_costs_ns"][k] for r in runs)
             for k in ("plan_per_id", "pack_per_row", "serve_per_row")}
        self.costs = {"--plan-ns": u["plan_per_id"], "--pack-ns": u["pack_per_row"],
                      "--serve-ns": u["serve_per_row"]}

    def merge_ns(self, P, mode, batch_args):
        key = (P, mode, tuple(batch_args))
        if P == 1:
            return 0.0
        if key not in self.merge_cache:
            d = run_json([self.real, "--merge-bench", str(P), "--mode", mode] + list(batch_args), self.env1)
            self.merge_cache[key] = d["merge_ns_per_row"]
        return self.merge_cache[key]

    # ---- simulation -------------------------------------------------------------------
    def cost_args(self, P, mode, batch_args):
        args = []
        for k, v in self.costs.items():
            args += [k, f"{v:.4g}"]
        return args + ["--merge-ns", f"{self.merge_ns(P, mode, batch_args):.4g}"]

    def smpirun(self, P, hostfile, mode, batch_args, env, algo):
        cmd = ["smpirun", "-np", str(P), "-platform", self.platform, "-hostfile", hostfile,
               "--cfg=smpi/host-speed:1Gf", "--cfg=smpi/simulate-computation:no",
               "--cfg=smpi/coll-selector:ompi", f"--cfg=smpi/alltoallv:{algo}",
               "--cfg=smpi/lat-factor:0:1", "--cfg=smpi/bw-factor:0:1",  # platform figures are end-to-end
               "--cfg=network/crosstraffic:0", "--log=root.thres:critical", self.driver, "--mode", mode,
               "--steps", str(self.a.steps if P < 256 else 1), "--warmup", "1"] + list(batch_args) + \
            self.cost_args(P, mode, batch_args)
        return run_json(cmd, env, timeout=self.a.timeout)

    def hostfile(self, P, per_node):
        path = os.path.join(self.build, f"hosts_{P}_{per_node}.txt")
        with open(path, "w") as f:
            f.writelines(f"node-{r // per_node}-{r % per_node}\n" for r in range(P))
        return path

    def cluster(self, P, mode, batch_args, per_node=RANKS_PER_NODE, env_extra=None, driver_extra=()):
        algo = SMPI_ALGO[cost_model.ompi_alltoallv_algo(P)] if P >= 4 else "ring"
        env = dict(os.environ, ST_SIM_RANKS_PER_NODE=str(per_node), **(env_extra or {}))
        return self.smpirun(P, self.hostfile(P, per_node), mode, list(batch_args) + list(driver_extra), env, algo)

    def vm(self, P, mode, batch_args):
        env = dict(os.environ, ST_SIM_PLATFORM="vm", ST_SIM_RANKS=str(P))
        algo = SMPI_ALGO[cost_model.ompi_alltoallv_algo(P)] if P >= 4 else "ring"
        return self.smpirun(P, self.hostfile(P, P), mode, batch_args, env, algo)


# ---- memory check: one simulation process holds every rank's buffers --------------------
def sim_bytes(P, b, mode, c):
    u = cost_model.touched(b, c)
    if mode == "sharded" and P > 1:
        return c["input_dim"] * 256 + P * 6 * u * 256      # the table's rows + ~6 row buffers a rank
    return P * (P * u * 264 * 2 + 4 * u * 256)             # every rank receives every rank's rows


class MemoryBudget:
    """Simulations run side by side only while their estimated memory fits together."""

    def __init__(self, total):
        self.total = self.free = total
        self.cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, nbytes):
        with self.cond:  # a run larger than the whole budget runs alone
            self.cond.wait_for(lambda: self.free >= min(nbytes, self.total))
            self.free -= nbytes
        try:
            yield
        finally:
            with self.cond:
                self.free += nbytes
                self.cond.notify_all()


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 8 << 30


def fmt_ms(s):
    return f"{s * 1e3:.1f}" if s * 1e3 < 100 else f"{s * 1e3:.0f}"


def parts_of(d):
    p = d["parts_s"]
    wire = p.get("table_wire", 0) + p["dense_exchange"] + p["control"]
    apply_ = p["embed_apply"] + p["dense_apply"]
    other = d["step_s"] - p["compute"] - wire - apply_
    return p["compute"], wire, apply_, max(other, 0.0)


def model_step(c, P, G, mode):
    t, _sent, _info = cost_model.step(c, P, G, mode)
    return cost_model.total(t)


def design_steps(sim, summary, nodes_list):
    """What would move the 48- and 384-rank results, at G = 720,000 (sharded), in the simulator:
    fewer ranks per node with more threads each (the same nodes and cores: fewer partners per
    alltoallv, each rank the node's whole NIC), and bfloat16 rows on the wire (emulated by
    rows of 32 floats: half the bytes on the wire, every other cost unchanged)."""
    batch = ["--global-batch", "720000"]
    t1 = sim.cluster(1, "sharded", batch)["step_s"]
    print("## Next design steps (SIMULATED, sharded, G = 720,000)\n")
    print("Same nodes and cores as ThirdAI's layout (48 cores per node in use); a rank of T threads runs at "
          "T x 0.9 x one dev-VM thread (ASSUMED: the 0.9 parallel efficiency measured here at 2 threads "
          "holds at T). bf16 wire: gradient and fetched rows of 128 instead of 256 bytes (emulated with "
          "32-float rows; not built: it rounds the rows and needs an AUC check).\n")
    print("| nodes | ranks x threads per node | P | wire rows | step ms | efficiency (vs 1 rank x 4 threads) | "
          "compute | wire | apply | plumbing |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for nodes in nodes_list:
        for per_node, threads in ((12, 4), (4, 12), (2, 24), (1, 48)):
            for bf16 in (False, True):
                P = nodes * per_node
                if bf16 and per_node != 12:
                    continue
                if 128 <= P < 256:  # Open MPI's linear alltoallv: 16k+ flows at once, over 4 min a round
                    print(f"| {nodes} | {per_node} x {threads} | {P} | fp32 | not simulated: SimGrid's solver "
                          f"with the linear alltoallv's {P * (P - 1):,} flows took over 4 minutes a round | | | | | |")
                    continue
                env = {"ST_SIM_RANK_GFLOPS": f"{threads * 0.9:g}"}
                extra = ["--embed-dim", "32"] if bf16 else []
                try:
                    d = sim.cluster(P, "sharded", batch, per_node, env, extra)
                except RuntimeError as e:
                    print(f"| {nodes} | {per_node} x {threads} | {P} | {'bf16' if bf16 else 'fp32'} | "
                          f"{str(e).splitlines()[0][:60]} | | | | | |")
                    continue
                # 1 rank of 4 threads at 3.6 Gf is T1; this layout has nodes x 48 cores in use
                eff = t1 / d["step_s"] / (nodes * 12)
                print(f"| {nodes} | {per_node} x {threads} | {P} | {'bf16' if bf16 else 'fp32'} | "
                      f"{fmt_ms(d['step_s'])} | {eff:.2f} | " + " | ".join(fmt_ms(x) for x in parts_of(d)) + " |")
                summary[f"n{nodes}_{per_node}x{threads}{'_bf16' if bf16 else ''}_eff"] = round(eff, 3)
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--Ps", default="12,48,384,1536")
    ap.add_argument("--strong", default="8192,720000")
    ap.add_argument("--weak", default="683,15000")
    ap.add_argument("--steps", type=int, default=2,
                    help="timed steps per simulation (1 from 256 ranks, where a step costs a minute of flow "
                         "solving), after one warm-up step: the table's first fetch leaves the ranks skewed, "
                         "which the first step's first collective would absorb")
    ap.add_argument("--skip-calibration", action="store_true")
    ap.add_argument("--unit-costs", help="PLAN,PACK,SERVE ns (instead of measuring them: to repeat a run)")
    ap.add_argument("--design-nodes", default="4,32", help="node counts of the design-step table")
    ap.add_argument("--sections", default="main,design", help="main (the tables), design (next design steps)")
    ap.add_argument("--timeout", type=float, default=1500, help="seconds one simulation may take")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="simulations run at once")
    args = ap.parse_args()
    sim = Sim(args)
    c = {k: v for k, (v, _m, _s) in cost_model.CONSTANTS.items()}
    c["touched_scale"] = c["cardinality_scale"] = 1.0
    budget = 0.8 * mem_available()

    if args.unit_costs:
        plan, pack, serve = (float(x) for x in args.unit_costs.split(","))
        sim.costs = {"--plan-ns": plan, "--pack-ns": pack, "--serve-ns": serve}
    else:
        log("unit costs: the real driver under mpirun, P = 2, G = 65,536, 3 runs")
        sim.measure_unit_costs()
    print("## Unit costs " + ("given with --unit-costs" if args.unit_costs else
                              "measured on this machine (one thread; median of 3 runs of "
                              "`mpirun -np 2 smpi_scaling_mpi --global-batch 65536`)") + "\n")
    print("| cost | ns |\n|---|---|")
    for k, v in sim.costs.items():
        print(f"| {k[2:]} per id/row | {v:.1f} |")
    print("| merge per row | measured at each P with `smpi_scaling_mpi --merge-bench P` (table below) |\n")

    summary = {}
    if not args.skip_calibration:
        print("## Calibration: real mpirun on this machine vs the simulation of this machine\n")
        print("G = 65,536, sharded; the VM platform gives each rank 2 / P of a core and the shared-memory "
              "bandwidth below; step time = median over 7 steps of the slowest rank.\n")
        print("| P | real mpirun (ms, median of 3 runs) | simulated (ms) | simulated / real |\n|---|---|---|---|")
        for P in (2, 4):
            real = statistics.median(sim.real_run(P, 65536)["step_s"] for _ in range(3))
            simd = sim.vm(P, "sharded", ["--global-batch", "65536"])["step_s"]
            summary[f"calib_p{P}_ratio"] = round(simd / real, 3)
            print(f"| {P} | {fmt_ms(real)} | {fmt_ms(simd)} | {simd / real:.2f} |")
        print()

    if "main" in args.sections:
        main_tables(args, sim, c, budget, summary)
    if "design" in args.sections:
        design_steps(sim, summary, [int(x) for x in args.design_nodes.split(",")])
    print(json.dumps(summary))


def main_tables(args, sim, c, budget, summary):
    Ps = [int(x) for x in args.Ps.split(",")]
    scenarios = [("strong", int(g)) for g in args.strong.split(",")] + [("weak", int(b)) for b in args.weak.split(",")]
    # Every configuration first (skipping what would not fit in memory), the merge costs
    # measured serially (thread CPU of one core), then the simulations, args.jobs at a time:
    # with simulated computation off their results do not depend on the host's load.
    runs, skipped = [], {}
    for kind, v in scenarios:
        batch_args = ["--global-batch", str(v)] if kind == "strong" else ["--rank-batch", str(v)]
        runs.append((kind, v, 1, "sharded", batch_args))
        for P in Ps:
            b = math.ceil(v / P) if kind == "strong" else v
            for mode in ("sharded", "replicated"):
                need = sim_bytes(P, b, mode, c)
                if need > budget:
                    skipped[(kind, v, P, mode)] = need
                else:
                    runs.append((kind, v, P, mode, batch_args))
    for kind, v, P, mode, batch_args in runs:
        sim.merge_ns(P, mode, batch_args)
    results = {}
    memory = MemoryBudget(budget)

    def simulate(kind, v, P, mode, batch_args):
        b = math.ceil(v / P) if kind == "strong" else v
        with memory.hold(sim_bytes(P, b, mode, c) + (1 << 30)):
            try:
                return sim.cluster(P, mode, batch_args)
            except RuntimeError as e:
                return {"_error": str(e).splitlines()[0][:80]}

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(simulate, *run): run[:4] for run in runs}
        for f in concurrent.futures.as_completed(futures):
            key = futures[f]
            results[key] = d = f.result()
            log(f"done {key}: " + (d["_error"] if "_error" in d else
                                   f"step {d['step_s'] * 1e3:.2f} ms, {d['_wall_s']:.0f} s"))

    print("## The hpc7a cluster (SIMULATED)\n")
    print("efficiency = T1 / (P x TP) strong, T1 / TP weak; T1 = the simulated single rank (4 cores) at the "
          "same global batch (strong) or rows per rank (weak). Parts in ms per step of the slowest rank: "
          "compute (forward, backward, reading), wire (time in collectives, waiting included), apply (Adam), "
          "plumbing (planning, packing, merging, serving). Model = scripts/cost_model.py's step time; "
          "sim s = seconds the simulation took here.\n")
    for kind, v in scenarios:
        batch_args = ["--global-batch", str(v)] if kind == "strong" else ["--rank-batch", str(v)]
        t1 = results[(kind, v, 1, "sharded")]
        print(f"### {'Strong scaling, global batch' if kind == 'strong' else 'Weak scaling, rows per rank'} {v:,}\n")
        print("| P | mode | step ms | speedup | efficiency | MB sent / rank / step | compute | wire | apply | "
              "plumbing | merge ns/row | model ms | sim / model | sim s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        m1 = model_step(c, 1, v, "sharded")
        print(f"| 1 | single | {fmt_ms(t1['step_s'])} | 1 | 1 | 0 | " + " | ".join(fmt_ms(x) for x in parts_of(t1)) +
              f" | - | {fmt_ms(m1)} | {t1['step_s'] / m1:.2f} | {t1['_wall_s']:.0f} |")
        for P in Ps:
            for mode in ("sharded", "replicated"):
                if (kind, v, P, mode) in skipped:
                    print(f"| {P} | {mode} | not simulated: needs ~{skipped[(kind, v, P, mode)] / 2**30:.0f} GiB "
                          f"in one process (this machine: {budget / 2**30:.0f}) | | | | | | | | | | | |")
                    continue
                d = results[(kind, v, P, mode)]
                if "_error" in d:
                    print(f"| {P} | {mode} | {d['_error']} | | | | | | | | | | | |")
                    continue
                sp = t1["step_s"] / d["step_s"] * (1 if kind == "strong" else P)
                eff = sp / P
                m = model_step(c, P, v if kind == "strong" else v * P, mode)
                print(f"| {P} | {mode} | {fmt_ms(d['step_s'])} | {sp:.1f} | {eff:.2f} | "
                      f"{d['per_rank']['bytes_sent'] / 1e6:.1f} | " + " | ".join(fmt_ms(x) for x in parts_of(d)) +
                      f" | {sim.merge_ns(P, mode, batch_args):.0f} | {fmt_ms(m)} | {d['step_s'] / m:.2f} | "
                      f"{d['_wall_s']:.0f} |")
                unit = "g" if kind == "strong" else "b"
                tag = f"p{P}_{unit}{v // 1000}k" if v >= 1000 else f"p{P}_{unit}{v}"
                summary[f"{tag}_{mode}_eff"] = round(eff, 3)
        print()


if __name__ == "__main__":
    main()
