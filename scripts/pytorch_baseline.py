#!/usr/bin/env python3
"""Dense PyTorch baseline for sparsetrain's model, on the same Criteo TSV files.

Same featurization as the C++ reader (src/data/featurizer.cpp), re-implemented in numpy
with uint64 arithmetic: 39 hashed ids per row (13 log_squared-binned integers + 26 hex
categoricals, one token per missing value per field), fmix64 of (field << 40 | value)
mixed with the seed, reduced to [0, input_dim) by Lemire's multiply-shift; 13 dense
values log(1 + max(v, 0)). `--check-ids DUMP` compares against the C++ featurizer's
output (tests/bench/featurize_dump.cpp, build/bench_featurize_dump) and exits.

Same architecture, trained DENSELY (every hidden neuron, every sample):
  h0 = relu(EmbeddingBag(ids, mode='sum') + bias + Linear(13, D, bias=False)(dense))
  h  = relu(Linear(h)) for each hidden width;  logit = Linear(h, 1);  BCE with logits
SparseAdam for the embedding table (sparse gradients), Adam for everything else, same
lr / betas / eps / batch size, same initial weight distributions as sparsetrain.

Timing: the training files are featurized into tensors FIRST (not timed); samples/s
counts the training steps only (forward, backward, optimizer), with evaluation paused
out of the clock; samples_per_cpu_s divides by the process CPU time of the same steps
(robust to other processes competing for the cores). sparsetrain's samples/s includes reading, parsing and featurizing
the TSV, so the comparison is conservative for sparsetrain.

Prints progress to stderr and one JSON summary line to stdout; --curve FILE writes
one JSON line per evaluation: {"samples", "train_s", "auc", "logloss"}.
Needs Debian's python3-torch and python3-numpy (/usr/bin/python3).
"""
import argparse
import json
import math
import os
import sys
import time
import zlib

import numpy as np

U64 = np.uint64
M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
NUM_INT, NUM_CAT = 13, 26
NUM_FIELDS = NUM_INT + NUM_CAT
MISSING_BIT = 1 << 39
TABLE_SIZE = 1 << 16


def fmix64_int(k):
    """fmix64 on a Python int (for the scalar seed mix)."""
    k &= M64
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & M64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & M64
    k ^= k >> 33
    return k


def fmix64(k):
    """fmix64 on a uint64 numpy array (wrapping arithmetic)."""
    k = k ^ (k >> U64(33))
    k = k * U64(0xFF51AFD7ED558CCD)
    k = k ^ (k >> U64(33))
    k = k * U64(0xC4CEB9FE1A85EC53)
    k = k ^ (k >> U64(33))
    return k


class Featurizer:
    """numpy port of sparsetrain::data::Featurizer (log_squared, dense features on)."""

    def __init__(self, input_dim, hash_seed=0, hash_fn="fmix64"):
        assert 1 <= input_dim <= (1 << 32)
        self.input_dim = int(input_dim)
        self.hash_fn = hash_fn
        self.seed_mix = U64(fmix64_int(hash_seed + GOLDEN))
        v = np.arange(TABLE_SIZE, dtype=np.float64)
        with np.errstate(divide="ignore"):
            l = np.log(v)
        self.log_bin = np.where(v > 2, np.floor(l * l), v).astype(np.uint16).astype(np.int64)
        self.log1p = np.log1p(v).astype(np.float32)

    def reduce(self, key):
        if self.hash_fn == "crc32":  # issue 17's run: CRC32 of the (field, token) key, modulo input_dim
            raw = np.ascontiguousarray(key, dtype="<u8").tobytes()
            crc = np.fromiter((zlib.crc32(raw[i:i + 8]) for i in range(0, len(raw), 8)), dtype=np.uint64,
                              count=key.size)
            return (crc % U64(self.input_dim)).astype(np.uint32).reshape(key.shape)
        h = fmix64(key ^ self.seed_mix)
        d = self.input_dim
        if d == (1 << 32):
            return (h >> U64(32)).astype(np.uint32)
        # (h * d) >> 64 with a 128-bit product, from 32-bit halves (d < 2^32).
        hi, lo = h >> U64(32), h & U64(0xFFFFFFFF)
        return ((hi * U64(d) + ((lo * U64(d)) >> U64(32))) >> U64(32)).astype(np.uint32)

    def int_token(self, v):
        out = v.copy()
        big = v > 2
        small = big & (v < TABLE_SIZE)
        out[small] = self.log_bin[v[small]]
        large = big & ~small
        if large.any():
            l = np.log(v[large].astype(np.float64))
            out[large] = np.floor(l * l).astype(np.int64)
        return out

    def int_ids(self, field, present, value):
        key = np.full(value.shape, field << 40, dtype=U64)
        tok = self.int_token(value).astype(U64) & U64(MISSING_BIT - 1)  # int64 -> uint64 wraps like C++
        key = np.where(present, key | tok, key | U64(MISSING_BIT))
        return self.reduce(key)

    def cat_ids(self, field, present, value):
        key = U64((NUM_INT + field) << 40)
        key = np.where(present, key | value.astype(U64), key | U64(MISSING_BIT))
        return self.reduce(key)

    def dense(self, present, value):
        v = np.where(present & (value > 0), value, 0)
        out = np.empty(v.shape, dtype=np.float32)
        small = v < TABLE_SIZE
        out[small] = self.log1p[v[small]]
        if (~small).any():
            out[~small] = np.log1p(v[~small].astype(np.float64)).astype(np.float32)
        return out


HEX = np.full(256, -1, dtype=np.int64)
for _c in range(10):
    HEX[ord("0") + _c] = _c
for _c in range(6):
    HEX[ord("a") + _c] = 10 + _c
    HEX[ord("A") + _c] = 10 + _c


def parse_chunk(buf, fz):
    """Vectorized parse + featurize of whole lines (bytes ending in '\\n').
    Returns (labels float32, ids uint32 [n,39], dense float32 [n,13], skipped)."""
    buf = buf.replace(b"\r\n", b"\n")
    lines = buf.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    good = [l for l in lines if l.count(b"\t") == NUM_FIELDS]  # 40 columns: labeled rows
    skipped = len(lines) - len(good)
    if not good:
        return (np.zeros(0, np.float32), np.zeros((0, NUM_FIELDS), np.uint32),
                np.zeros((0, NUM_INT), np.float32), skipped)
    clean = b"\n".join(good) + b"\n"
    data = np.frombuffer(clean, dtype=np.uint8)
    sep = np.flatnonzero((data == 9) | (data == 10))
    n = len(good)
    ends = sep.reshape(n, NUM_FIELDS + 1)
    starts = np.empty_like(ends)
    starts[:, 0] = np.concatenate(([0], ends[:-1, -1] + 1))
    starts[:, 1:] = ends[:, :-1] + 1
    lens = ends - starts
    last = len(data) - 1

    ok = (lens[:, 0] == 1) & ((data[starts[:, 0]] == ord("0")) | (data[starts[:, 0]] == ord("1")))
    labels = (data[starts[:, 0]].astype(np.int64) - ord("0")).astype(np.float32)

    # Integers: optional '-', 1..18 digits.
    s, ln = starts[:, 1:1 + NUM_INT], lens[:, 1:1 + NUM_INT]
    ipresent = ln > 0
    neg = ipresent & (data[np.minimum(s, last)] == ord("-"))
    ds, nd = s + neg, ln - neg
    ok &= ~(ipresent & ((nd < 1) | (nd > 18))).any(axis=1)
    ival = np.zeros(s.shape, dtype=np.int64)
    for k in range(18):
        inside = k < nd
        d = data[np.minimum(ds + k, last)].astype(np.int64) - ord("0")
        ok &= ~(inside & ((d < 0) | (d > 9))).any(axis=1)
        ival = np.where(inside, ival * 10 + d, ival)
    ival = np.where(neg, -ival, ival)

    # Categoricals: 0..8 hex digits (an empty field is missing).
    s, ln = starts[:, 1 + NUM_INT:], lens[:, 1 + NUM_INT:]
    cpresent = ln > 0
    ok &= ~(ln > 8).any(axis=1)
    cval = np.zeros(s.shape, dtype=np.int64)
    for k in range(8):
        inside = k < ln
        d = HEX[data[np.minimum(s + k, last)]]
        ok &= ~(inside & (d < 0)).any(axis=1)
        cval = np.where(inside, (cval << 4) | d, cval)

    ids = np.empty((n, NUM_FIELDS), dtype=np.uint32)
    dense = np.empty((n, NUM_INT), dtype=np.float32)
    for i in range(NUM_INT):
        ids[:, i] = fz.int_ids(i, ipresent[:, i], ival[:, i])
        dense[:, i] = fz.dense(ipresent[:, i], ival[:, i])
    for i in range(NUM_CAT):
        ids[:, NUM_INT + i] = fz.cat_ids(i, cpresent[:, i], cval[:, i])
    skipped += int((~ok).sum())
    return labels[ok], ids[ok], dense[ok], skipped


def load(path, fz, max_rows=0, chunk_bytes=32 << 20):
    labels, ids, dense, skipped, rows = [], [], [], 0, 0
    with open(path, "rb") as f:
        rest = b""
        while True:
            block = f.read(chunk_bytes)
            buf = rest + block
            if not block:
                whole, rest = buf, b""
                if whole and not whole.endswith(b"\n"):
                    whole += b"\n"
            else:
                cut = buf.rfind(b"\n") + 1
                whole, rest = buf[:cut], buf[cut:]
            if whole:
                l, i, d, sk = parse_chunk(whole, fz)
                labels.append(l), ids.append(i), dense.append(d)
                skipped += sk
                rows += len(l)
            if not block or (max_rows and rows >= max_rows):
                break
    labels, ids, dense = np.concatenate(labels), np.concatenate(ids), np.concatenate(dense)
    if max_rows:
        labels, ids, dense = labels[:max_rows], ids[:max_rows], dense[:max_rows]
    return labels, ids, dense, skipped


def auc_exact(scores, labels):
    """ROC-AUC with tied scores counted as half (average ranks)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels) > 0.5
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    _, inv, cnt = np.unique(s, return_inverse=True, return_counts=True)
    avg = np.cumsum(cnt) - (cnt - 1) / 2.0
    ranks = np.empty(len(s))
    ranks[order] = avg[inv]
    npos = int(labels.sum())
    nneg = len(labels) - npos
    if npos == 0 or nneg == 0:
        return float("nan")
    return float((ranks[labels].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def check_ids(args):
    fz = Featurizer(args.input_dim, args.hash_seed)
    labels, ids, dense, skipped = load(args.train, fz)
    ref_rows, sweep = [], []
    with open(args.check_ids) as f:
        in_sweep = False
        for line in f:
            if line.startswith("int_id_sweep"):
                in_sweep = True
            elif in_sweep:
                sweep.append(int(line))
            else:
                ref_rows.append(line.split())
    ok = True
    if len(ref_rows) != len(labels):
        print(f"row count differs: C++ {len(ref_rows)}, numpy {len(labels)} (numpy skipped {skipped})")
        return 1
    ref = np.array(ref_rows, dtype=np.float64)
    bad_label = int((ref[:, 0] != labels).sum())
    bad_ids = int((ref[:, 1:40].astype(np.uint64) != ids.astype(np.uint64)).sum())
    bad_dense = int((ref[:, 40:53].astype(np.float32) != dense).sum())
    v = np.arange(-100, 200000, dtype=np.int64)
    mine = fz.int_ids(0, np.ones(len(v), bool), v)
    bad_sweep = int((np.array(sweep, dtype=np.uint32) != mine).sum())
    for name, bad in (("labels", bad_label), ("ids", bad_ids), ("dense", bad_dense), ("int sweep", bad_sweep)):
        print(f"{name}: {bad} mismatches")
        ok &= bad == 0
    print(f"check-ids: {len(labels)} rows x 39 ids, {len(sweep)} int_id values: {'MATCH' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def sparsetrain_blocks(net):
    """(block name, (torch weight, torch bias or None)) in sparsetrain's model-file layout:
    embed (rows x D), embed_bias (1 x D), dense_proj (13 x D: Linear's weight transposed), fc<l> and
    out (out x in+1: the bias is the last column)."""
    blocks = [("embed", (net.embed.weight, None)), ("embed_bias", (net.embed_bias, None)),
              ("dense_proj", (net.dense_proj.weight, None))]
    blocks += [(f"fc{l + 1}", (fc.weight, fc.bias)) for l, fc in enumerate(net.fcs)]
    return blocks + [("out", (net.out.weight, net.out.bias))]


def file_layout(name, w, b):
    """A block's torch tensors as sparsetrain's model file stores them (see sparsetrain_blocks)."""
    import torch
    if name == "dense_proj":
        return w.t()
    if b is None:
        return w.reshape(-1, w.shape[-1])
    return torch.cat([w, b[:, None]], dim=1)


def load_sparsetrain_weights(net, path, dense_features=True):
    """Copies a sparsetrain model file's weights into net. Without dense features the file has no
    dense_proj (sparsetrain builds none) and the projection, which then sees only zeros, keeps its
    init. A missing block or a shape that does not match this network stops with the file, the
    dataset and both shapes."""
    import h5py  # Debian's python3-h5py; only this option needs it
    import torch
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        sys.exit(f"pytorch_baseline: --init-from {path}: not a readable HDF5 model file ({e})")
    with f, torch.no_grad():
        for name, (w, b) in sparsetrain_blocks(net):
            key = f"params/{name}/w"
            if key not in f:
                if name == "dense_proj" and not dense_features:
                    continue
                sys.exit(f"pytorch_baseline: --init-from {path}: no dataset {key}")
            want = tuple(file_layout(name, w, b).shape)
            if f[key].shape != want:
                sys.exit(f"pytorch_baseline: --init-from {path}: {key} has shape {f[key].shape}, this network's is "
                         f"{want} (--input-dim, --embed-dim, --hidden as the model was trained?)")
            a = torch.from_numpy(f[key][()])
            if name == "dense_proj":
                w.copy_(a.t())
            elif b is None:
                w.copy_(a.reshape(w.shape))
            else:
                w.copy_(a[:, :-1]), b.copy_(a[:, -1])


def save_sparsetrain_weights(net, path):
    import h5py
    import torch
    with h5py.File(path, "w") as f, torch.no_grad():
        for name, (w, b) in sparsetrain_blocks(net):
            f[f"params/{name}/w"] = file_layout(name, w, b).contiguous().numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test")
    ap.add_argument("--input-dim", type=int, default=1 << 20)
    ap.add_argument("--hash-seed", type=int, default=0)
    ap.add_argument("--embed-dim", type=int, default=64)
    ap.add_argument("--hidden", default="1024", help="comma-separated widths, like model.hidden")
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--lr-final", type=float, default=1.0,
                    help="fall linearly to lr x this at the last step (sparsetrain's optim.lr_final); 1 = constant")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-rows", type=int, default=0, help="train on the first N rows (0 = all)")
    ap.add_argument("--evals", type=int, default=0,
                    help="evaluate on --test this many times at evenly spaced steps (plus at the end)")
    ap.add_argument("--eval-every", type=int, default=0, help="evaluate every N steps (overrides --evals)")
    ap.add_argument("--curve", help="write one JSON line per evaluation here")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--init", choices=["sparsetrain", "pytorch"], default="sparsetrain",
                    help="initial weights: sparsetrain's distributions, or PyTorch's defaults (Linear: "
                         "Kaiming-uniform weights and uniform biases; the table N(0, 0.01^2), as CTR code scales it)")
    ap.add_argument("--dense-features", choices=["true", "false"], default="true",
                    help="false: no dense input (like --data.dense_features false): only the 39 hashed ids")
    ap.add_argument("--hash", choices=["fmix64", "crc32"], default="fmix64",
                    help="feature hash: sparsetrain's (fmix64, Lemire reduction), or CRC32 of the same 8-byte "
                         "(field, token) key modulo --input-dim, as in the run that filed issue 17")
    ap.add_argument("--init-from", metavar="MODEL_H5",
                    help="start from the weights of a sparsetrain model file (needs python3-h5py): the "
                         "same-start check of scripts/bench/same_start.py")
    ap.add_argument("--save", metavar="MODEL_H5",
                    help="write the final weights in sparsetrain's model-file layout (params/<block>/w)")
    ap.add_argument("--denormals", choices=["flush", "keep"], default="flush",
                    help="like sparsetrain's train.denormals: 'flush' sets FTZ+DAZ (torch.set_flush_denormal), "
                         "so neither side pays Intel's subnormal assists")
    ap.add_argument("--check-ids", metavar="DUMP",
                    help="compare the featurization of --train with featurize_dump's output and exit")
    args = ap.parse_args()

    if args.check_ids:
        return check_ids(args)

    # Thread counts must be fixed before torch (and its BLAS) start.
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(args.threads))
    try:
        import torch
    except ImportError:
        print("pytorch_baseline: PyTorch missing; install Debian's: apt-get install python3-torch", file=sys.stderr)
        return 3
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.denormals == "flush" and not torch.set_flush_denormal(True):
        print("pytorch_baseline: this CPU cannot flush denormals (no SSE3 FTZ/DAZ)", file=sys.stderr)

    fz = Featurizer(args.input_dim, args.hash_seed, args.hash)
    t0 = time.perf_counter()
    y_tr, ids_tr, dn_tr, sk = load(args.train, fz, args.max_rows)
    if args.test:
        y_te, ids_te, dn_te, sk_te = load(args.test, fz)
    if args.dense_features == "false":  # zero inputs: the projection gets no signal and no gradient
        dn_tr = np.zeros_like(dn_tr)
        if args.test:
            dn_te = np.zeros_like(dn_te)
    featurize_s = time.perf_counter() - t0
    print(f"featurized {len(y_tr)} train rows ({sk} skipped)"
          + (f" and {len(y_te)} test rows" if args.test else "") + f" in {featurize_s:.1f} s (not timed)",
          file=sys.stderr)
    # int64 ids: EmbeddingBag's index type.
    ids_tr_t = torch.from_numpy(ids_tr.astype(np.int64))
    dn_tr_t, y_tr_t = torch.from_numpy(dn_tr), torch.from_numpy(y_tr)
    if args.test:
        ids_te_t, dn_te_t = torch.from_numpy(ids_te.astype(np.int64)), torch.from_numpy(dn_te)

    D = args.embed_dim
    hidden = [int(h) for h in args.hidden.split(",") if h.strip()]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.EmbeddingBag(args.input_dim, D, mode="sum", sparse=True)
            self.embed_bias = torch.nn.Parameter(torch.zeros(D))
            self.dense_proj = torch.nn.Linear(NUM_INT, D, bias=False)
            self.fcs = torch.nn.ModuleList()
            i = D
            for h in hidden:
                self.fcs.append(torch.nn.Linear(i, h))
                i = h
            self.out = torch.nn.Linear(i, 1)
            if args.init == "pytorch":  # Linear keeps its defaults; the table N(0, 1) scaled by 0.01
                with torch.no_grad():
                    self.embed.weight.normal_(0.0, 0.01)
                return
            # sparsetrain's init (src/model/network.cpp): uniform with the given std,
            # biases 0.
            def uni(t, std):
                a = math.sqrt(3.0) * std
                with torch.no_grad():
                    t.uniform_(-a, a)
            # Rows start at 0.1 of unit variance for the 39-row sum (Network::init_weights).
            uni(self.embed.weight, 0.1 / math.sqrt(NUM_FIELDS))
            # The dense projection at the sum's scale: inputs of mean squared norm ~119.
            uni(self.dense_proj.weight, 0.1 / math.sqrt(119.0))
            i = D
            for fc, h in zip(self.fcs, hidden):
                uni(fc.weight, math.sqrt(2.0 / i))
                torch.nn.init.zeros_(fc.bias)
                i = h
            uni(self.out.weight, math.sqrt(1.0 / i))
            torch.nn.init.zeros_(self.out.bias)

        def forward(self, ids, dense):
            h = torch.relu(self.embed(ids) + self.embed_bias + self.dense_proj(dense))
            for fc in self.fcs:
                h = torch.relu(fc(h))
            return self.out(h).squeeze(1)

    net = Net()
    if args.init_from:
        load_sparsetrain_weights(net, args.init_from, args.dense_features == "true")
    dense_params = [p for n, p in net.named_parameters() if not n.startswith("embed.")]
    opt_sparse = torch.optim.SparseAdam([net.embed.weight], lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps)
    opt_dense = torch.optim.Adam(dense_params, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    n_params = sum(p.numel() for p in net.parameters())

    def evaluate():
        net.eval()
        probs = []
        with torch.no_grad():
            for a in range(0, len(y_te), 8192):
                probs.append(torch.sigmoid(net(ids_te_t[a:a + 8192], dn_te_t[a:a + 8192])).numpy())
        net.train()
        p = np.concatenate(probs).astype(np.float64)
        q = np.clip(p, 1e-7, 1 - 1e-7)
        logloss = float(-np.mean(np.where(y_te > 0.5, np.log(q), np.log(1 - q))))
        return auc_exact(p, y_te), logloss

    B = args.batch_size
    N = len(y_tr)
    steps = (N + B - 1) // B
    if args.eval_every > 0:
        eval_steps = set(range(args.eval_every, steps + 1, args.eval_every))
    elif args.evals > 0:
        eval_steps = {max(1, round(steps * k / args.evals)) for k in range(1, args.evals + 1)}
    else:
        eval_steps = set()
    if args.test:
        eval_steps.add(steps)
    curve = open(args.curve, "w") if args.curve else None
    # Step s (from 1) runs at lr x (1 - (1 - lr_final) x s / steps), as sparsetrain's linear schedule.
    def factor(k):  # LambdaLR's k counts the steps done, so step k + 1 is next
        return 1.0 - (1.0 - args.lr_final) * min(1.0, (k + 1) / steps)
    schedules = [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in (opt_sparse, opt_dense)]
    train_s, cpu_s, samples, loss_sum, last = 0.0, 0.0, 0, 0.0, None
    t, c = time.perf_counter(), time.process_time()
    for step in range(1, steps + 1):
        a = (step - 1) * B
        ids_b, dn_b, y_b = ids_tr_t[a:a + B], dn_tr_t[a:a + B], y_tr_t[a:a + B]
        logits = net(ids_b, dn_b)
        loss = loss_fn(logits, y_b)
        opt_sparse.zero_grad(set_to_none=True)
        opt_dense.zero_grad(set_to_none=True)
        loss.backward()
        opt_sparse.step()
        opt_dense.step()
        for sched in schedules:
            sched.step()
        samples += len(y_b)
        loss_sum += float(loss) * len(y_b)
        if step in eval_steps:
            train_s += time.perf_counter() - t
            cpu_s += time.process_time() - c
            auc, logloss = evaluate()
            last = {"samples": samples, "train_s": round(train_s, 4), "cpu_s": round(cpu_s, 4), "auc": auc,
                    "logloss": logloss}
            if curve:
                curve.write(json.dumps(last) + "\n")
                curve.flush()
            print(f"eval step {step}: {samples} samples, {train_s:.1f} s training, auc={auc:.5f} "
                  f"logloss={logloss:.5f}", file=sys.stderr)
            t, c = time.perf_counter(), time.process_time()
    if step not in eval_steps:
        train_s += time.perf_counter() - t
        cpu_s += time.process_time() - c
    summary = {
        "system": "pytorch", "torch": torch.__version__, "threads": args.threads, "steps": steps,
        "samples": samples, "train_s": round(train_s, 4), "cpu_s": round(cpu_s, 4),
        "samples_per_s": samples / max(train_s, 1e-9), "samples_per_cpu_s": samples / max(cpu_s, 1e-9),
        "parameters": n_params, "train_loss": loss_sum / max(samples, 1), "featurize_s": round(featurize_s, 2),
        "denormals": args.denormals, "init": args.init, "hash": args.hash, "lr_final": args.lr_final, "dense_features": args.dense_features, "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
    }
    if last:
        summary.update(auc=last["auc"], logloss=last["logloss"], test_rows=int(len(y_te)))
    if args.save:
        save_sparsetrain_weights(net, args.save)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
