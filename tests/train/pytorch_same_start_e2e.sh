#!/usr/bin/env bash
# sparsetrain computes PyTorch's steps under PyTorch's rules: from the same initial weights
# (pytorch_baseline.py --init-from), 3 batches of the bundled sample under
# `--optim.skipped_steps hold --optim.table_eps raw` must leave every block within 1% of
# PyTorch's (EmbeddingBag + SparseAdam, Linear + Adam), and each of the other rule sets must
# differ visibly (scripts/bench/same_start.py --check). This also runs pytorch_baseline.py's
# --init-from and --save. Skipped (exit 77) where Debian's python3-torch or python3-h5py is
# missing: `WITH_TORCH=1 scripts/setup.sh` installs them.
source "$(dirname "$0")/../common/e2e.sh"
PY=${PYTHON:-/usr/bin/python3}
if ! "$PY" -c "import numpy, h5py, torch" 2>/dev/null; then
  echo "SKIP: $PY cannot import numpy, h5py and torch (WITH_TORCH=1 scripts/setup.sh installs them)"
  exit 77
fi
# A small shape keeps it to seconds; the benchmark shape's figures are in parity_rules.md.
"$PY" "$ROOT/scripts/bench/same_start.py" --binary "$BIN" --train "$FIX/criteo_sample_train.tsv" --work "$WORK" \
  --input-dim 65536 --embed-dim 32 --hidden 64 --batch-size 256 --steps 3 --check
