#!/bin/sh
# check-layers.sh: lower layers never include upper ones (HACKING.md).
#   libcoffer: never GTK, never the agent, CLI or console.
#   agent and CLI: never GTK, never the console.
#   console: only the D-Bus part of libcoffer (it talks to the agent only).
set -eu
cd "$COFFER_SOURCE_ROOT"

echo "TAP version 13"
echo "1..3"
status=0

check () {
  number=$1; description=$2; shift 2
  if found=$(grep -nE "$@" 2>/dev/null); then
    printf '%s\n' "$found" | sed 's/^/# /'
    echo "not ok $number - $description"
    status=1
  else
    echo "ok $number - $description"
  fi
}

check 1 "libcoffer includes no GTK and no upper layer" \
  -r '#include [<"](gtk/|gdk/|agent-|cli-|console-)' src/libcoffer
check 2 "the agent and the CLI include no GTK and no console" \
  -r '#include [<"](gtk/|gdk/|console-)' src/agent src/cli
check 3 "the console reaches the core only through D-Bus" \
  -r '#include [<"](coffer-catalog|coffer-paths|coffer\.h|agent-|cli-)' src/console
exit $status
