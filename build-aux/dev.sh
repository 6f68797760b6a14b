#!/usr/bin/env bash
# build-aux/dev.sh: the set-up behind the README's two commands.
#
#   bash build-aux/dev.sh run    install what is missing, build, run the console
#   bash build-aux/dev.sh test   install what is missing, build, run every test,
#                                then the sanitizer build's tests and the fuzzers
#
# Everything comes from Debian 12's packages (apt-get as root, sudo otherwise);
# a package already installed is never installed again, so on a ready machine
# this installs nothing. Build folders: _build (full), _build-nogui
# (-Dgui=false, proving the core, agent and CLI need no GTK), _build-asan
# (the address and undefined-behaviour sanitizers) and _build-fuzz
# (build-aux/fuzz.sh). COFFER_FUZZ_SECONDS sets each fuzzer's time (20).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

build_packages=(
  build-essential meson ninja-build pkg-config gettext git ca-certificates
  libglib2.0-dev libglib2.0-dev-bin libglib2.0-bin
  libgtk-3-dev libsoup-3.0-dev libsecret-1-dev libssl-dev libsqlite3-dev
  libzstd-dev libjson-glib-dev
)
run_packages=(
  dbus dbus-x11 at-spi2-core adwaita-icon-theme librsvg2-common
  fonts-cantarell gsettings-desktop-schemas dconf-gsettings-backend
)
test_packages=(
  dbus xvfb xauth at-spi2-core python3 python3-gi python3-dogtail
  gir1.2-atspi-2.0 gir1.2-gtk-3.0 adwaita-icon-theme librsvg2-common
  fonts-dejavu-core fonts-cantarell gsettings-desktop-schemas
  dconf-gsettings-backend dconf-cli gnome-keyring libfaketime
  desktop-file-utils appstream clang-format tinyproxy imagemagick rsync attr
  clang libclang-rt-14-dev llvm
)

say () { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root () {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "These packages are missing and neither root nor sudo is available: $*" >&2
    exit 1
  fi
}

# Installs the packages that dpkg does not know as installed.
install_missing () {
  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  say "Installing from Debian: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Node.js and npm run Azurite in the integration tests; a machine that has
# them from elsewhere (another packaging of Node.js) keeps its own.
install_node () {
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    return 0
  fi
  install_missing nodejs npm
}

# Azurite, the Azure Storage emulator the integration tests run, exactly as
# tests/package-lock.json pins it; again only when the lock file changed.
install_azurite () {
  if [ -x tests/node_modules/.bin/azurite-blob ] &&
     [ tests/node_modules/.package-lock.json -nt tests/package-lock.json ]; then
    return 0
  fi
  say "Installing Azurite (npm ci in tests/)"
  (cd tests && npm ci --no-audit --no-fund)
}

configure () {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@"
  fi
}

# A pkg-config folder with every system .pc file but GTK's, so that a
# -Dgui=false build proves it never looks for GTK.
pkgconfig_without_gtk () {
  local dir=$1 pc name
  rm -rf "$dir" && mkdir -p "$dir"
  for pc in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
    [ -d "$pc" ] || continue
    for file in "$pc"/*.pc; do
      [ -e "$file" ] || continue
      name=$(basename "$file")
      case "$name" in
        gtk+-3.0.pc|gtk+-x11-3.0.pc|gtk+-wayland-3.0.pc|gtk+-unix-print-3.0.pc|gdk-3.0.pc|gdk-x11-3.0.pc|gdk-wayland-3.0.pc|gail-3.0.pc) ;;
        *) [ -e "$dir/$name" ] || ln -s "$file" "$dir/$name" ;;
      esac
    done
  done
}

cmd_run () {
  install_missing "${build_packages[@]}" "${run_packages[@]}"
  say "Building in _build"
  configure _build
  meson compile -C _build

  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "There is no display: run this in a desktop session." >&2
    exit 1
  fi

  say "Starting the console"
  if [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || [ -S "${XDG_RUNTIME_DIR:-/nonexistent}/bus" ]; then
    # The desktop's own bus: this build's agent takes over the agent's name.
    _build/src/agent/coffer-agent --replace &
    exec _build/src/console/coffer-console
  else
    # No session bus: a private one that activates this build's agent.
    exec dbus-run-session --config-file=_build/tests/dbus-session.conf -- \
      _build/src/console/coffer-console
  fi
}

cmd_test () {
  install_missing "${build_packages[@]}" "${test_packages[@]}"
  install_node
  install_azurite

  say "Building in _build"
  configure _build
  meson compile -C _build

  say "Running every test"
  meson test -C _build --print-errorlogs --num-processes 2

  say "Building without the console (-Dgui=false, GTK's pkg-config files hidden)"
  pkgconfig_without_gtk "$top/_build-nogui-pkgconfig"
  PKG_CONFIG_LIBDIR="$top/_build-nogui-pkgconfig" configure _build-nogui -Dgui=false
  PKG_CONFIG_LIBDIR="$top/_build-nogui-pkgconfig" meson compile -C _build-nogui
  if grep -q 'gtk-3.0' _build-nogui/build.ninja; then
    echo "The -Dgui=false build refers to GTK" >&2
    exit 1
  fi
  meson test -C _build-nogui --print-errorlogs --num-processes 2 --suite libcoffer --suite agent --suite cli

  say "Building with the address and undefined-behaviour sanitizers (_build-asan, clang)"
  CC=clang configure _build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dgui=false
  meson compile -C _build-asan -j 2
  say "Running the libcoffer and agent tests under the sanitizers"
  # Any finding fails its test. Slow unwinding, so that the suppressions
  # (tests/lsan.supp) see GLib's frames.
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 G_SLICE=always-malloc \
    meson test -C _build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
      --suite libcoffer
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 G_SLICE=always-malloc \
    meson test -C _build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
      --suite agent

  say "Fuzzing every parser of untrusted bytes (build-aux/fuzz.sh)"
  bash build-aux/fuzz.sh "${COFFER_FUZZ_SECONDS:-20}"
  say "All tests passed"
}

case "${1:-}" in
  run) cmd_run ;;
  test) cmd_test ;;
  *)
    echo "Usage: bash build-aux/dev.sh run|test" >&2
    exit 2
    ;;
esac
