#!/bin/sh
# check-format.sh: every C file is formatted as .clang-format says.
# Fix a failure with: clang-format -i FILE
set -eu
cd "$COFFER_SOURCE_ROOT"

files=$(find src tests -name '*.[ch]' | sort)
echo "TAP version 13"
echo "1..1"
if clang-format --dry-run --Werror $files 2>/tmp/coffer-format.$$; then
  echo "ok 1 - C files follow .clang-format"
  rm -f /tmp/coffer-format.$$
else
  sed 's/^/# /' /tmp/coffer-format.$$ | head -60
  rm -f /tmp/coffer-format.$$
  echo "not ok 1 - C files follow .clang-format (run clang-format -i on the files above)"
  exit 1
fi
