#!/usr/bin/env bash
# Fails (and lists the files) when any C++ file of the tree differs from what clang-format
# makes of it with the repository's .clang-format: the tracked files and the new ones git does
# not ignore (so a file is checked before its first commit). scripts/test.sh runs it.
#   scripts/check_format.sh          check
#   scripts/check_format.sh --fix    reformat the files in place
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}
[[ -n "$CLANG_FORMAT" ]] || { echo "check_format: clang-format not found (scripts/setup.sh installs it)" >&2; exit 2; }
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  mapfile -t listed < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.h')
  files=()
  for f in "${listed[@]}"; do [[ -f "$f" ]] && files+=("$f"); done  # not those deleted but uncommitted
else  # an unpacked tarball: the same directories git tracks
  mapfile -t files < <(find src include tests -name '*.cpp' -o -name '*.h' | sort)
fi
if [[ "${1:-}" == "--fix" ]]; then
  "$CLANG_FORMAT" -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$CLANG_FORMAT" --dry-run --Werror "$f" > /dev/null 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "check_format: ${#bad[@]} file(s) not formatted (run scripts/check_format.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
