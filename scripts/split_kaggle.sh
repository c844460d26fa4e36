#!/usr/bin/env bash
# Splits Criteo Kaggle train.txt chronologically: the first 90% of rows for training,
# the last 10% held out, next to the input as train.split.tsv / test.split.tsv.
# Streams the file (no full copy in memory).
set -euo pipefail
in=${1:?usage: scripts/split_kaggle.sh /path/to/train.txt}
dir=$(dirname "$in")
rows=$(wc -l < "$in")
train_rows=$(( rows * 9 / 10 ))
head -n "$train_rows" "$in" > "$dir/train.split.tsv"
tail -n +"$(( train_rows + 1 ))" "$in" > "$dir/test.split.tsv"
echo "split $rows rows: $train_rows -> $dir/train.split.tsv, $(( rows - train_rows )) -> $dir/test.split.tsv"
