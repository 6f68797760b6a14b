#!/bin/sh
# test-activation.sh: the agent built in this tree starts by D-Bus activation.
#
# A private session bus (dbus-run-session) whose configuration names the
# build tree's service directory; the CLI calls the agent, which is not
# running, so the bus must start it from its service file.
set -eu

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME="$work/state" LC_ALL=C.UTF-8 LANGUAGE=C

echo "TAP version 13"
echo "1..3"

out=$(dbus-run-session --config-file="$COFFER_DBUS_CONFIG" -- sh -c '
  "$COFFER_CLI" status
  gdbus introspect --session --dest io.github.coffer.Agent1 \
    --object-path /io/github/coffer/Agent1 --only-properties
' 2>"$work/stderr") || { cat "$work/stderr" >&2; echo "not ok 1 - the CLI reached an activated agent"; exit 1; }

if printf '%s\n' "$out" | grep -qx 'This server is not registered to a vault.'; then
  echo "ok 1 - the CLI reached an activated agent"
else
  printf '%s\n' "$out" | sed 's/^/# /'
  echo "not ok 1 - the CLI reached an activated agent"
  exit 1
fi

if [ -f "$XDG_STATE_HOME/coffer/catalog.sqlite" ]; then
  echo "ok 2 - the activated agent is this tree's, with this test's state folder"
else
  echo "not ok 2 - the activated agent is this tree's, with this test's state folder"
  exit 1
fi

missing=""
for property in Registered VaultName MachineName State Version; do
  printf '%s\n' "$out" | grep -q "readonly .* $property = " || missing="$missing $property"
done
if [ -z "$missing" ]; then
  echo "ok 3 - the agent exports its properties"
else
  echo "not ok 3 - the agent exports its properties (missing:$missing)"
  exit 1
fi
