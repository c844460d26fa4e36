#!/usr/bin/env python3
"""Summarises commands.sh's runs: per profile and embed_sparsity, 1 process vs 2 sharded ranks,
medians of the repetitions (runs in parentheses)."""
import glob
import json
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, name + ".json")) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def med(xs):
    return statistics.median(xs)


print("| profile | embed_sparsity | ranks | samples/s, wall (runs) | work CPU us/sample, summed over ranks | "
      "work efficiency (1 rank / 2 ranks) | bytes sent per rank and step | phases, CPU ms/step summed over ranks |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for prof in ("kaggle", "1tb"):
    for es in ("0.025", "1"):
        work1 = None
        for np_ in (1, 2):
            runs = sorted(glob.glob(os.path.join(HERE, f"{prof}_es{es}_np{np_}_*.json")))
            ds = [load(os.path.basename(r)[:-5]) for r in runs if os.path.getsize(r) > 0]
            if not ds:
                continue
            sps = [d["samples"] / d["seconds"] for d in ds]
            work = med([d["work_cpu_us_per_sample"] for d in ds])
            if np_ == 1:
                work1 = work
            eff = f"{work1 / work:.2f}" if np_ == 2 and work1 else ""
            phases = ds[0]["cpu_ms_per_step_summed_over_ranks"]
            keys = [k for k in phases if k != "work"]
            mid = sorted(ds, key=lambda d: d["work_cpu_us_per_sample"])[len(ds) // 2]
            ph = ", ".join(f"{k} {mid['cpu_ms_per_step_summed_over_ranks'][k]:.1f}" for k in keys
                           if mid["cpu_ms_per_step_summed_over_ranks"][k] >= 0.05)
            print(f"| {prof} | {es} | {np_} | {med(sps):,.0f} ({', '.join(f'{x:,.0f}' for x in sps)}) | {work:.1f} | {eff} | "
                  f"{med([d['bytes_sent_per_step_per_rank'] for d in ds]) / 1e6:.2f} MB | {ph} |")
