#!/usr/bin/env bash
# clang-tidy with the repository's .clang-tidy over the project's sources (or the files
# given), using build/compile_commands.json. Prints each finding; exits non-zero if any.
# Not part of CI: it compiles every file once more (~10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_TIDY=${CLANG_TIDY:-$(command -v clang-tidy-14 || command -v clang-tidy || true)}
[[ -n "$CLANG_TIDY" ]] || { echo "tidy: clang-tidy not found (scripts/setup.sh installs it)" >&2; exit 2; }
[[ -f build/compile_commands.json ]] || { echo "tidy: build/compile_commands.json missing: run scripts/setup.sh" >&2; exit 2; }
if [[ $# -gt 0 ]]; then files=("$@"); else mapfile -t files < <(git ls-files 'src/*.cpp'); fi
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$CLANG_TIDY" -p build --quiet "${files[@]}" > "$out" 2> /dev/null || true
grep -E "(warning|error):" "$out" || { echo "tidy: ${#files[@]} files, no findings"; exit 0; }
echo "tidy: $(grep -cE '(warning|error):' "$out") finding(s) in ${#files[@]} files" >&2
exit 1
