#!/usr/bin/env bash
# build-aux/fuzz.sh: builds the libFuzzer harnesses of tests/fuzz and runs
# each for a bounded time; `bash build-aux/dev.sh test` runs it for 20 s a
# harness, and a longer run is this script with more seconds.
#
#   bash build-aux/fuzz.sh [SECONDS] [HARNESS…]
#
# SECONDS: how long each harness fuzzes (default $COFFER_FUZZ_SECONDS, or
# 20). HARNESS: names such as `tree` or `fuzz-tree` (default: every one).
# $COFFER_FUZZ_JOBS harnesses run at once (default 2, the cores CI has).
#
# The build folder is _build-fuzz (clang, -Dfuzzing=true -Dgui=false: every
# C file with the address and undefined-behaviour sanitizers and libFuzzer's
# coverage). Each harness first replays its seed corpus (meson test --suite
# fuzz), then fuzzes from tests/fuzz/corpus/fuzz-NAME/ into a scratch copy,
# so the corpus in git never changes by itself. A crash, a sanitizer report,
# a leak, a failed assertion, a GLib critical or warning, or an input that
# runs over 10 s fails the run: the input is kept as
# _build-fuzz/fuzz-findings/fuzz-NAME-crash-… (or leak-, timeout-…) and the
# log as _build-fuzz/fuzz-logs/fuzz-NAME.log. Reproduce it with
#   _build-fuzz/tests/fuzz/fuzz-NAME FILE
# and, once fixed, add FILE to tests/fuzz/corpus/fuzz-NAME/ (HACKING.md).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

seconds=${1:-${COFFER_FUZZ_SECONDS:-20}}
[ $# -gt 0 ] && shift
case "$seconds" in
  ''|*[!0-9]*)
    echo "Usage: bash build-aux/fuzz.sh [SECONDS] [HARNESS…]" >&2
    exit 2
    ;;
esac
jobs=${COFFER_FUZZ_JOBS:-2}
build=_build-fuzz

say () { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" -Dfuzzing=true -Dgui=false >/dev/null
else
  CC=clang meson setup "$build" -Dfuzzing=true -Dgui=false
fi
say "Building the fuzz harnesses in $build (clang, address and undefined-behaviour sanitizers)"
meson compile -C "$build" -j 2 fuzzers

# Findings fail the run; GLib's slice allocator would hide use after free.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export G_SLICE=always-malloc

say "Replaying the seed corpora"
meson test -C "$build" --suite fuzz --print-errorlogs --num-processes "$jobs"

harnesses=()
if [ $# -eq 0 ]; then
  for dir in tests/fuzz/corpus/fuzz-*/; do
    harnesses+=("$(basename "$dir")")
  done
else
  for name in "$@"; do
    harnesses+=("fuzz-${name#fuzz-}")
  done
fi

mkdir -p "$build/fuzz-logs" "$build/fuzz-findings"
scratch=$(mktemp -d "$top/$build/fuzz-scratch.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Fuzzes one harness; its log says how many inputs ran.
run_one () {
  local name=$1 log="$build/fuzz-logs/$1.log"
  local options=()
  case "$name" in
    fuzz-credentials|fuzz-key-file|fuzz-lock|fuzz-machine-*|fuzz-point|fuzz-vault-json)
      options+=(-dict=tests/fuzz/json.dict) ;;
  esac
  mkdir -p "$scratch/$name"
  if "$build/tests/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$build/fuzz-findings/$name-" "${options[@]}" \
       "$scratch/$name" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
    printf '%-20s %10s inputs in %s s, no finding\n' "$name" \
      "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" "$seconds"
  else
    printf '%-20s FAILED: see %s\n' "$name" "$log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*-CRITICAL|.*-WARNING|.*ERROR:|artifact_prefix|Test unit written)' \
      "$log" | head -20 | sed 's/^/    /'
    return 1
  fi
}

say "Fuzzing ${#harnesses[@]} harnesses for $seconds s each, $jobs at a time"
failed=0
running=0
for name in "${harnesses[@]}"; do
  if [ ! -x "$build/tests/fuzz/$name" ]; then
    echo "No harness $name (tests/fuzz/$name.c)" >&2
    exit 2
  fi
  run_one "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done

if [ "$failed" -ne 0 ]; then
  echo "The fuzzers found a problem: see above, and the inputs in $build/fuzz-findings/" >&2
  exit 1
fi
say "The fuzzers found nothing"
