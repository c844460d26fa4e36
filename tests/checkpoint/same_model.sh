# Sourced by the checkpoint end-to-end tests (not a test itself).
# same_model A B: every dataset of two model/checkpoint files is bitwise identical
# (attributes such as the config text hold the run_dir and may differ). Uses the
# caller's $WORK scratch directory and fail function; prints how many it compared.
same_model() {
  local a=$1 b=$2 d n=0
  for d in $(h5ls -r "$a" | awk '$2 == "Dataset" {print $1}'); do
    h5dump -b LE -d "$d" -o "$WORK/a.bin" "$a" > /dev/null
    h5dump -b LE -d "$d" -o "$WORK/b.bin" "$b" > /dev/null
    cmp -s "$WORK/a.bin" "$WORK/b.bin" || fail "$d differs between $a and $b"
    n=$((n + 1))
  done
  [ "$n" -ge 4 ] || fail "only $n datasets in $a"
  SAME_MODEL_COUNT=$n
}
