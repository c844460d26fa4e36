#!/usr/bin/env python3
"""Accuracy parity with PyTorch, A/B of the candidate causes (issue 17).

For each synth profile: generates TRAIN_ROWS training rows (data seed 1) and TEST_ROWS
test rows (data seed 2, with the true click probabilities, so the best reachable AUC is
known), then trains every variant with 3 model seeds at the benchmark shape
(input_dim 2^20, embed 64, hidden 1024, lr 0.003, batch 1024, one thread, one pass):

  sparsetrain: model.sparsity 1 (dense) or the default sparse model, x optim.skipped_steps
               decay | hold, x data.dense_features true | false
  PyTorch:     scripts/pytorch_baseline.py (EmbeddingBag sum + SparseAdam, Linear + Adam,
               the same featurization), x --init sparsetrain | pytorch, x dense features

Prints one Markdown table per profile (test AUC per seed, the median, the median's gap to
PyTorch with PyTorch's default init on the same inputs, samples/s) and writes them with the
commands to OUT (default scripts/bench/results/parity.md). Runs JOBS processes at a time
(default 2: AUC does not depend on it; the samples/s column does, compare within a run only).

With --sweep-sparsity S1,S2,... [--sweep-lsh TxB,...] it runs, instead of the A/B, the default
model at those model.sparsity values and LSH settings (tables x bits), beside PyTorch: what
sparsity costs in AUC and gains in speed. With --compare 'LABEL=ARGS;...' [--dense true,false] it
runs those candidate settings of the sparsetrain model instead (choosing defaults across profiles);
ARGS may also change the shape (e.g. "w31=--model.hidden 31 --model.sparsity 1", or for
--torch-compare "h31=--hidden 31").

  scripts/bench_parity.py [--profiles kaggle,1tb] [--rows 500000] [--test-rows 100000]
                          [--seeds 1,2,3] [--jobs 2] [--only REGEX] [--out FILE]
                          [--sweep-sparsity 0.01,0.03,0.1,1 [--sweep-lsh 2x5,8x6]]

In the sweep each sparsetrain row also shows "LSH recall@k (random)": the median over seeds of
the mean recall of the neurons LSH selects per hidden layer against the exact top-k by
pre-activation (k = the neurons it computes), then in brackets a random selection's k / width.
build/bench_lsh_recall (SPARSETRAIN_BUILD_BENCH, next to --binary) measures it on each run's
model.h5 over the first --recall-rows test rows (default 20,000; 0 leaves the column out).
"""
import argparse
import concurrent.futures as cf
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from pytorch_baseline import auc_exact  # noqa: E402  (one exact AUC for every figure here)

SHAPE = ["--data.input_dim", "1048576", "--model.embed_dim", "64", "--model.hidden", "1024", "--optim.lr", "0.003",
         "--train.batch_size", "1024", "--train.threads", "1", "--train.log_every", "100000"]
TORCH_SHAPE = ["--input-dim", "1048576", "--embed-dim", "64", "--hidden", "1024", "--lr", "0.003",
               "--batch-size", "1024", "--threads", "1"]
# --shape wide: ThirdAI's 1B shape (configs/criteo-1tb-1b-wide.ini: 100,000 ids x 10,240, no hidden
# layer), at that config's learning rate. ~12.5 GB per run: use --jobs 1.
WIDE = ["--data.input_dim", "100000", "--model.embed_dim", "10240", "--model.hidden", "", "--optim.lr", "0.001",
        "--train.batch_size", "1024", "--train.threads", "1", "--train.log_every", "100000"]
TORCH_WIDE = ["--input-dim", "100000", "--embed-dim", "10240", "--hidden", "", "--lr", "0.001", "--batch-size", "1024",
              "--threads", "1"]
# --shape: (sparsetrain's arguments, pytorch_baseline.py's) for the same network.
SHAPES = {"benchmark": (SHAPE, TORCH_SHAPE), "wide": (WIDE, TORCH_WIDE)}


def variants():
    """(name, system, dense_features, extra args) of every run per seed."""
    out = []
    for dense in ("true", "false"):
        for model, margs in (("sparsetrain dense (sparsity 1)", ["--model.sparsity", "1"]),
                             ("sparsetrain default sparse", [])):
            for skipped in ("decay", "hold"):
                out.append((f"{model}, skipped_steps {skipped}", "st", dense,
                            margs + ["--optim.skipped_steps", skipped, "--data.dense_features", dense]))
        for init in ("sparsetrain", "pytorch"):
            out.append((f"PyTorch, {init} init", "torch", dense, ["--init", init, "--dense-features", dense]))
    return out


def sweep_variants(sparsities, lsh_settings):
    """What sparsity costs: the default model (dense features on) at other model.sparsity
    values, then at other LSH table settings ("TABLESxBITS"), beside PyTorch."""
    out = [(f"sparsetrain sparsity {sp}", "st", "true", ["--model.sparsity", sp]) for sp in sparsities]
    for setting in lsh_settings:
        tables, bits = setting.split("x")
        out.append((f"sparsetrain default sparse, lsh {tables} tables x {bits} bits", "st", "true",
                    ["--lsh.tables", tables, "--lsh.bits", bits]))
    out.append(("PyTorch, pytorch init", "torch", "true", ["--init", "pytorch", "--dense-features", "true"]))
    return out


def labelled(spec):
    """(label, argument list) for each item of "LABEL=ARGS;LABEL=ARGS" (empty items skipped)."""
    for item in filter(None, spec.split(";")):
        label, _, extra = item.partition("=")
        yield label.strip(), extra.split()


def compare_variants(spec, dense_settings, with_torch=True, torch_spec=""):
    """Candidate defaults side by side: spec is "LABEL=ARGS;LABEL=ARGS" (ARGS may be empty =
    today's defaults), each run with every dense-features setting, beside PyTorch; torch_spec
    the same for more PyTorch variants (pytorch_baseline.py's arguments)."""
    out = []
    for dense in dense_settings:
        for label, extra in labelled(spec):
            out.append((f"sparsetrain {label}", "st", dense, extra + ["--data.dense_features", dense]))
        for label, extra in labelled(torch_spec):
            out.append((f"PyTorch {label}", "torch", dense, ["--init", "pytorch", "--dense-features", dense] + extra))
        if with_torch:
            out.append(("PyTorch, pytorch init", "torch", dense, ["--init", "pytorch", "--dense-features", dense]))
    return out


def make_data(binary, work, profile, rows, test_rows):
    train, test, probs = (work / f"{profile}-train.tsv", work / f"{profile}-test.tsv", work / f"{profile}-test.p")
    if not train.exists():
        subprocess.run([binary, "synth", "--rows", str(rows), "--seed", "1", "--profile", profile, "--output",
                        str(train)], check=True, stdout=subprocess.DEVNULL)
    if not test.exists():
        subprocess.run([binary, "synth", "--rows", str(test_rows), "--seed", "2", "--profile", profile, "--output",
                        str(test), "--probabilities", str(probs)], check=True, stdout=subprocess.DEVNULL)
    labels = np.array([line[0] == ord("1") for line in open(test, "rb")], dtype=np.float64)
    best = auc_exact(np.loadtxt(probs), labels)
    return train, test, best, float(labels.mean())


def lsh_recall(binary, model, test, rows):
    """Per hidden layer, bench_lsh_recall's line on `model` over the first `rows` rows of `test`."""
    cmd = [str(pathlib.Path(binary).parent / "bench_lsh_recall"), "--model", str(model), "--data", str(test),
           "--rows", str(rows), "--train.threads", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def with_overrides(shape, extra):
    """(shape, rest): the shape's "--option value" pairs with those that `extra` also names taken
    from `extra` (a variant may change the width: both CLIs reject an option given twice), and
    the rest of `extra`."""
    shape, rest, i = list(shape), [], 0
    while i < len(extra):
        if extra[i] in shape[0::2] and i + 1 < len(extra):
            shape[shape.index(extra[i]) + 1] = extra[i + 1]
            i += 2
        else:
            rest.append(extra[i])
            i += 1
    return shape, rest


def run_one(binary, work, train, test, name, system, dense, extra, seed, recall_rows=0, shape="benchmark"):
    st_shape, torch_shape = SHAPES[shape]
    shape_args, extra = with_overrides(st_shape if system == "st" else torch_shape, extra)
    if system == "st":
        # One directory per (profile, variant, dense features, seed): two runs that share one
        # would overwrite each other's model.h5 (extra[-1] is not always the dense setting).
        run_dir = work / "runs" / re.sub(r"[^A-Za-z0-9]+", "_", f"{train.stem}_{name}_dense_{dense}_{seed}")
        cmd = [binary, "train", *shape_args, "--data.train", str(train), "--data.test", str(test), "--train.seed", str(seed),
               "--train.run_dir", str(run_dir), "--train.overwrite", "true", *extra]
    else:
        cmd = [sys.executable, str(ROOT / "scripts/pytorch_baseline.py"), "--train", str(train), "--test", str(test),
               *shape_args, "--seed", str(seed), *extra]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    # Training steps only: sparsetrain's own reading and parsing taken out (PyTorch's input is
    # featurized before its clock starts), the like-for-like rate.
    steps = summary["samples_per_s"] if system == "torch" else summary["samples"] / max(
        summary["seconds"] - summary["read_s"], 1e-9)
    out = {"auc": summary["auc"], "sps": summary["samples_per_s"], "steps_sps": steps, "cmd": " ".join(cmd)}
    if system == "st" and recall_rows > 0:
        out["recall"] = lsh_recall(binary, run_dir / "model.h5", test, recall_rows)
    if system == "st":  # ~0.8 GB at the benchmark shape, 4 GB wide: a sweep of 200 runs filled the disk
        (run_dir / "model.h5").unlink(missing_ok=True)
    return out


def recall_cell(runs):
    """Median over seeds of each hidden layer's recall, with a random selection's (k / width)."""
    if not all("recall" in r for r in runs):
        return ""
    layers = zip(*(r["recall"] for r in runs))
    return " / ".join(f"{statistics.median(x['recall'] for x in layer):.3f} ({layer[0]['random_recall']:.3f})"
                      for layer in layers)


def table(profile, best, rate, jobs, results, recall=False):
    torch_ref = {d: statistics.median(r["auc"] for r in results[("PyTorch, pytorch init", d)])
                 for d in ("true", "false") if ("PyTorch, pytorch init", d) in results}
    versus = "vs PyTorch (its init, same inputs)"
    if not torch_ref:  # --torch false: against the first variant of each dense-features setting
        versus = "vs the first variant (same inputs)"
        for (name, dense), runs in results.items():
            torch_ref.setdefault(dense, statistics.median(r["auc"] for r in runs))
    lines = [f"### profile `{profile}`: click rate {rate:.3f}, best reachable test AUC {best:.4f}", "",
             f"| variant | dense features | test AUC per seed | median | {versus} | "
             f"samples/s ({jobs} runs at a time) | training steps only |" + (" LSH recall@k (random) |" if recall else ""),
             "| --- | --- | --- | ---: | ---: | ---: | ---: |" + (" ---: |" if recall else "")]
    for (name, dense), runs in results.items():
        aucs = [r["auc"] for r in runs]
        med = statistics.median(aucs)
        sps = statistics.median(r["sps"] for r in runs)
        steps = statistics.median(r["steps_sps"] for r in runs)
        lines.append(f"| {name} | {dense} | {', '.join(f'{a:.4f}' for a in aucs)} | {med:.4f} | "
                     f"{med - torch_ref[dense]:+.4f} | {sps:,.0f} | {steps:,.0f} |" +
                     (f" {recall_cell(runs)} |" if recall else ""))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", default="kaggle,1tb")
    ap.add_argument("--rows", type=int, default=500000)
    ap.add_argument("--test-rows", type=int, default=100000)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="", help="run only the variants whose name matches this regex")
    ap.add_argument("--st-args", default="", help="more arguments for every sparsetrain run, e.g. '--model.init pytorch' "
                    "(named in the variant)")
    ap.add_argument("--sweep-sparsity", default="", help="instead of the A/B: these model.sparsity values, e.g. 0.01,0.03,1")
    ap.add_argument("--sweep-lsh", default="", help="with --sweep-sparsity: these TABLESxBITS settings, e.g. 2x5,8x6")
    ap.add_argument("--compare", default="", help="instead of the A/B: candidate defaults 'LABEL=ARGS;LABEL=ARGS' "
                    "(e.g. 'default=;2 tables=--lsh.tables 2'), each with every --dense setting, beside PyTorch")
    ap.add_argument("--dense", default="true,false", help="with --compare: the data.dense_features settings")
    ap.add_argument("--torch", default="true", choices=["true", "false"], help="with --compare: the PyTorch rows")
    ap.add_argument("--shape", default="benchmark", choices=sorted(SHAPES),
                    help="benchmark: 2^20 x 64, hidden 1024, lr 0.003; wide: 100,000 x 10,240, no hidden, lr 0.001")
    ap.add_argument("--binary", default=str(ROOT / "build/sparsetrain"))
    ap.add_argument("--torch-compare", default="",
                    help="with --compare: PyTorch variants 'LABEL=ARGS;...' of pytorch_baseline.py's arguments "
                         "(e.g. 'crc32=--hash crc32'), with PyTorch's init and every --dense setting")
    ap.add_argument("--work", default="/tmp/sparsetrain-parity")
    ap.add_argument("--out", default=str(ROOT / "scripts/bench/results/parity.md"))
    ap.add_argument("--recall-rows", type=int, default=20000,
                    help="with --sweep-sparsity: test rows for each run's LSH recall column (0: no column)")
    args = ap.parse_args()
    work = pathlib.Path(args.work)
    (work / "runs").mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.compare:
        chosen = compare_variants(args.compare, args.dense.split(","), args.torch == "true", args.torch_compare)
    elif args.sweep_sparsity:
        chosen = sweep_variants(args.sweep_sparsity.split(","), [x for x in args.sweep_lsh.split(",") if x])
    else:
        chosen = [v for v in variants() if re.search(args.only, v[0]) or "pytorch init" in v[0]]
    if args.st_args:
        chosen = [(f"{n}, {args.st_args}", sy, d, e + args.st_args.split()) if sy == "st" else (n, sy, d, e)
                  for n, sy, d, e in chosen]
    recall_rows = args.recall_rows if args.sweep_sparsity else 0
    if recall_rows > 0 and not (pathlib.Path(args.binary).parent / "bench_lsh_recall").exists():
        sys.exit(f"bench_parity.py: the recall column needs {pathlib.Path(args.binary).parent / 'bench_lsh_recall'} "
                 "(build with -DSPARSETRAIN_BUILD_BENCH=ON), or pass --recall-rows 0")
    cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout
    report = ["# Accuracy parity with PyTorch (scripts/bench_parity.py)\n",
              f"{args.shape} shape; {args.rows:,} training rows (data seed 1), {args.test_rows:,} test rows (data seed 2), one pass, "
              f"model seeds {args.seeds}; {cpu.strip()}, {args.jobs} runs at a time; "
              f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} (PyTorch's speed depends on it, "
              f"its AUC does not: scripts/bench_all.sh sets it where OpenBLAS falls back to generic kernels); "
              f"{time.strftime('%Y-%m-%d')}.\n"]
    for profile in args.profiles.split(","):
        train, test, best, rate = make_data(args.binary, work, profile, args.rows, args.test_rows)
        with cf.ThreadPoolExecutor(args.jobs) as pool:
            futs = {(name, dense): [pool.submit(run_one, args.binary, work, train, test, name, system, dense, extra, s,
                                                recall_rows, args.shape) for s in seeds] for name, system, dense, extra in chosen}
            results = {k: [f.result() for f in fs] for k, fs in futs.items()}
        text = table(profile, best, rate, args.jobs, results, recall=recall_rows > 0)
        print(text, flush=True)
        report.append(text)
        report.append("Commands (seed 1):\n\n```\n" +
                      "\n".join(runs[0]["cmd"] for runs in results.values()) + "\n```\n")
    pathlib.Path(args.out).write_text("\n".join(report))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
