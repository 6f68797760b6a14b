#!/bin/sh
# run-under-xvfb.sh: runs a console GUI test on its own X server and private
# session bus, in a throwaway home.
#
# Usage: run-under-xvfb.sh PYTHON SCRIPT
#
# The private bus (COFFER_DBUS_CONFIG) D-Bus-activates the agent just built;
# the activated agent inherits this environment from the bus, so the home and
# XDG folders are set before the bus starts. The console is reached through
# AT-SPI: GTK 3 loads the bridge from GTK_MODULES, and the accessibility bus
# is activated on the private bus.
set -eu

python=$1
script=$2

: "${COFFER_DBUS_CONFIG:?is not set; run this through meson test}"
: "${COFFER_CONSOLE:?is not set; run this through meson test}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coffer-console-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

export HOME="$tmp/home"
export XDG_CONFIG_HOME="$tmp/home/.config"
export XDG_CACHE_HOME="$tmp/home/.cache"
export XDG_DATA_HOME="$tmp/home/.local/share"
export XDG_STATE_HOME="$tmp/home/.local/state"
export XDG_RUNTIME_DIR="$tmp/runtime"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME"
mkdir -m 0700 "$XDG_RUNTIME_DIR"

export GTK_MODULES=gail:atk-bridge
unset NO_AT_BRIDGE
# The tests look controls up by their English names.
export LANGUAGE=C LC_ALL=C.UTF-8
# Do not let the test reach the user's display or session bus.
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS AT_SPI_BUS_ADDRESS

# The test's TAP goes to this script's stdout (kept as fd 3); what the X
# server, the bus and the services it starts print goes to stderr.
exec 3>&1
status=0
xvfb-run --auto-servernum --server-args="-screen 0 1280x800x24" \
  dbus-run-session --config-file="$COFFER_DBUS_CONFIG" -- \
  sh -c 'exec "$@" >&3 3>&-' sh "$python" "$script" >&2 || status=$?
exit "$status"
