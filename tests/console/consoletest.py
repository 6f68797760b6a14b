# consoletest.py: what the console's AT-SPI tests share — TAP output, a
# watchdog, waiting for nodes, screenshots, the agent on the private bus and
# the CLI beside it.
#
# A test calls start_console() and then looks nodes up with find(); every
# wait fails the test with a message naming what it waited for. Screenshots
# go to COFFER_SCREENSHOT_DIR when it is set: of the whole screen, or cropped
# to one window.

import os
import signal
import subprocess
import sys
import time

try:
    from dogtail.config import config
except ImportError:
    print("1..0 # SKIP python3-dogtail is not installed", flush=True)
    sys.exit(0)

config.logDebugToFile = False
config.logDebugToStdOut = False
config.searchCutoffCount = 20  # with the 0.5 s back-off: 10 s per lookup
config.actionDelay = 0.5

from dogtail import predicate, rawinput, tree  # noqa: E402 (needs the config above)

import gi  # noqa: E402

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

AGENT_BUS_NAME = "io.github.coffer.Agent1"
APP_NAME = "coffer-console"

console = None
checks = 0


def stop_console():
    if console is not None and console.poll() is None:
        console.terminate()
        try:
            console.wait(5)
        except subprocess.TimeoutExpired:
            console.kill()


def fail(message):
    print(f"not ok {checks + 1} - {message}", flush=True)
    screenshot("failure")
    stop_console()
    sys.exit(1)


def ok(message):
    global checks
    checks += 1
    print(f"ok {checks} - {message}", flush=True)


def check(condition, message):
    if not condition:
        fail(message)
    ok(message)


def finish():
    print(f"1..{checks}", flush=True)


def start_watchdog(seconds):
    def on_watchdog(signum, frame):
        fail(f"the test did not finish within {seconds} s")

    signal.signal(signal.SIGALRM, on_watchdog)
    signal.alarm(seconds)


def screenshot(name, node=None):
    """Saves the screen, or only node's extents, as console-NAME.png."""
    folder = os.environ.get("COFFER_SCREENSHOT_DIR")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"console-{name}.png")
    command = ["import", "-window", "root"]
    if node is not None:
        try:
            (x, y), (width, height) = node.position, node.size
            if width > 0 and height > 0:
                command += ["-crop", f"{width}x{height}+{max(x, 0)}+{max(y, 0)}", "+repage"]
        except Exception:  # the node went away: take the whole screen
            pass
    time.sleep(0.3)  # let the last frame be drawn
    subprocess.run(command + [path], stdout=sys.stderr, check=False, timeout=10)
    print(f"# screenshot: {path}", flush=True)


def wait_for(condition, what, timeout=15.0):
    """Polls condition() until it returns a true value; fails naming what."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if console is not None and console.poll() is not None:
            fail(f"coffer-console exited with status {console.returncode} while waiting for {what}")
        try:
            value = condition()
        except Exception:  # a node that went away while looking at it
            value = None
        if value:
            return value
        time.sleep(0.25)
    fail(f"timed out after {timeout:.0f} s waiting for {what}")


def find(node, what, showing_only=None, timeout=15.0, **kwargs):
    """Waits for a descendant of node matching kwargs (name, roleName, ...)."""
    return wait_for(lambda: node.findChild(predicate.GenericPredicate(**kwargs), retry=False,
                                           requireResult=False, showingOnly=showing_only),
                    what, timeout)


def find_showing(node, what, timeout=15.0, **kwargs):
    """Like find(), for a node that is showing on screen now."""
    return find(node, what, showing_only=True, timeout=timeout, **kwargs)


def find_application():
    for application in tree.root.applications():
        if application.name == APP_NAME:
            return application
    return None


def start_console(*arguments):
    """Starts coffer-console; returns its accessible application."""
    global console
    # The console's messages go to stderr: stdout is for TAP.
    console = subprocess.Popen([os.environ["COFFER_CONSOLE"], *arguments], stdout=sys.stderr)
    return wait_for(find_application, "coffer-console on the accessibility bus")


def set_text(node, text):
    """Replaces the text of an editable text node, as typing would."""
    node.grabFocus()
    node.text = text


def press(node, what=None):
    """Clicks a button through its accessible action, once it is sensitive."""
    wait_for(lambda: node.sensitive, what or f"{node.name} to become sensitive")
    node.doActionNamed("click")


def agent_has_owner():
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    reply = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "NameHasOwner", GLib.Variant("(s)", (AGENT_BUS_NAME,)),
                          GLib.VariantType("(b)"), Gio.DBusCallFlags.NONE, 5000, None)
    return reply.unpack()[0]


def agent_pid():
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    reply = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionUnixProcessID", GLib.Variant("(s)", (AGENT_BUS_NAME,)),
                          GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, 5000, None)
    return reply.unpack()[0]


def cli(*arguments, timeout=60):
    """Runs the coffer CLI on the same bus; returns the CompletedProcess."""
    return subprocess.run([os.environ["COFFER_CLI"], *arguments], capture_output=True, text=True,
                          timeout=timeout)


__all__ = ["check", "cli", "fail", "find", "find_showing", "finish", "ok", "press", "rawinput",
           "screenshot", "set_text", "start_console", "start_watchdog", "stop_console", "wait_for",
           "agent_has_owner", "agent_pid"]
