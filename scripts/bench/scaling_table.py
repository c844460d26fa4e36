#!/usr/bin/env python3
"""Markdown table of bench_scaling_bench runs (one JSON line each): work efficiency of
the replicated and sharded input table at each rank count and global batch, against the
median of the P = 1 runs of the same global batch, with the CPU by phase, bytes and
messages per rank."""
import json
import statistics
import sys


def main(path):
    runs = [json.loads(line) for line in open(path) if line.startswith("{")]
    # The P = 1 baseline: the median of its runs (this VM's single-rank speed drifts).
    ones = {}
    for r in runs:
        if r["ranks"] == 1:
            ones.setdefault(r["global_batch"], []).append(r["work_cpu_us_per_sample"])
    base = {g: statistics.median(v) for g, v in ones.items()}
    phases = ["compute", "plan", "pack", "merge", "apply", "fetch"]
    print("| global batch | P | mode | work CPU ms/step (sum over ranks) | " + " | ".join(phases) +
          " | work efficiency | bytes/step/rank | messages/step/rank | owner rows max/mean |")
    print("|" + " --- |" * (10 + len(phases) - 1))
    eff = {}
    for r in sorted(runs, key=lambda r: (r["global_batch"], r["ranks"], r["embedding"])):
        cpu = r["cpu_ms_per_step_summed_over_ranks"]
        e = base[r["global_batch"]] / r["work_cpu_us_per_sample"] if r["global_batch"] in base else float("nan")
        eff[(r["global_batch"], r["ranks"], r["embedding"])] = e
        print(f"| {r['global_batch']:,} | {r['ranks']} | {r['embedding']} | {cpu['work']:.1f} | " +
              " | ".join(f"{cpu[p]:.2f}" for p in phases) +
              f" | {e:.3f} | {r['bytes_sent_per_step_per_rank']:,.0f} | {r['messages_per_step_per_rank']:.1f} | "
              f"{r['owner_rows_max_over_mean']:.3f} |")
    targets = {8192: 0.8, 65536: 0.9}
    out = {}
    for g, t in targets.items():
        for mode in ("replicated", "sharded"):
            if (g, 8, mode) in eff:
                out[f"p8_g{g}_{mode}_eff"] = round(eff[(g, 8, mode)], 3)
        if (g, 8, "sharded") in eff:
            out[f"p8_g{g}_target_{t}"] = "met" if eff[(g, 8, "sharded")] >= t else "missed"
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
