#!/usr/bin/python3
# smoke.py: starts coffer-console on a fresh machine and checks, through
# AT-SPI as a person would see it, that the main window shows its three panes,
# that the console started the agent and shows it is not registered, that the
# Actions pane offers what can be done and says why the rest cannot, that
# About opens its dialog and Register Server its wizard, and that the console notices
# when the agent stops and starts it again on Retry.
#
# Run by run-under-xvfb.sh (own X server, private session bus, throwaway home).
# Environment: COFFER_CONSOLE, COFFER_CLI; COFFER_SCREENSHOT_DIR to save
# screenshots. Prints TAP, one line per check, and stops at the first failed
# check; a watchdog ends it within TIME_LIMIT seconds.

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

from dogtail import predicate, tree  # noqa: E402 (needs the config above)

import gi  # noqa: E402

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

TIME_LIMIT = 90
AGENT_BUS_NAME = "io.github.coffer.Agent1"
APP_NAME = "coffer-console"
ACTIONS = [
    "Register Server",
    "Schedule Backup",
    "Back Up Now",
    "Recover Data",
    "Change Properties",
    "Unregister Server",
    "About",
]

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


def on_watchdog(signum, frame):
    fail(f"the test did not finish within {TIME_LIMIT} s")


def screenshot(name):
    folder = os.environ.get("COFFER_SCREENSHOT_DIR")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"console-{name}.png")
    subprocess.run(["import", "-window", "root", path], stdout=sys.stderr, check=False, timeout=10)
    print(f"# screenshot: {path}", flush=True)


def wait_for(condition, what, timeout=15.0):
    """Polls condition() until it returns a true value; fails naming what."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if console.poll() is not None:
            fail(f"coffer-console exited with status {console.returncode} while waiting for {what}")
        try:
            value = condition()
        except Exception:  # a node that went away while looking at it
            value = None
        if value:
            return value
        time.sleep(0.25)
    fail(f"timed out after {timeout:.0f} s waiting for {what}")


def find(node, what, showing_only=None, **kwargs):
    """Waits for a descendant of node matching kwargs (name, roleName, ...)."""
    return wait_for(lambda: node.findChild(predicate.GenericPredicate(**kwargs), retry=False,
                                           requireResult=False, showingOnly=showing_only), what)


def find_application():
    for application in tree.root.applications():
        if application.name == APP_NAME:
            return application
    return None


def find_application_frame(name):
    app = find_application()
    return app is not None and any(child.name == name for child in app.children)


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


def agent_status_from_cli():
    """What the agent says, through the CLI on the same bus (or gdbus)."""
    cli = os.environ.get("COFFER_CLI")
    if cli and os.access(cli, os.X_OK):
        result = subprocess.run([cli, "status"], capture_output=True, text=True, timeout=20)
        return result.stdout + result.stderr
    result = subprocess.run(["gdbus", "call", "--session", "--dest", AGENT_BUS_NAME,
                             "--object-path", "/io/github/coffer/Agent1",
                             "--method", "io.github.coffer.Agent1.GetStatus"],
                            capture_output=True, text=True, timeout=20)
    return result.stdout + result.stderr


def main():
    global console

    signal.signal(signal.SIGALRM, on_watchdog)
    signal.alarm(TIME_LIMIT)

    check(not agent_has_owner(), "the agent is not running before the console starts")

    # The console's messages go to stderr: stdout is for TAP.
    console = subprocess.Popen([os.environ["COFFER_CONSOLE"]], stdout=sys.stderr)
    app = wait_for(find_application, "coffer-console on the accessibility bus")
    window = find(app, "the main window", name="Coffer Backup", roleName="frame")
    ok("the console shows its main window")

    # The navigation pane.
    navigation = find(window, "the navigation tree", name="Navigation", roleName="tree table")
    for node in ["Coffer Backup", "Overview", "Backup", "Jobs", "Recovery"]:
        find(navigation, f"the navigation node {node}", name=node, roleName="table cell")
    ok("the navigation tree has Coffer Backup, Overview, Backup, Jobs and Recovery")

    # The overview page: the console started the agent, which is not registered.
    find(window, "the overview text", name="This server is not registered to a vault",
         roleName="label")
    ok("the overview says this server is not registered to a vault")
    check(agent_has_owner(), "the console started the agent by D-Bus activation")
    status = agent_status_from_cli()
    check("This server is not registered to a vault." in status or "'registered': <false>" in status,
          "the agent reports the server is not registered")
    screenshot("overview")

    # The Actions pane.
    pane = find(window, "the Actions pane", name="Actions", roleName="filler")
    buttons = {}
    for name in ACTIONS:
        buttons[name] = find(pane, f"the {name} action", name=name, roleName="push button")
    ok("the Actions pane has " + ", ".join(ACTIONS))
    check(buttons["Register Server"].sensitive, "Register Server can be used")
    check(buttons["About"].sensitive, "About can be used")
    for name in ["Schedule Backup", "Back Up Now", "Recover Data", "Unregister Server"]:
        check(not buttons[name].sensitive, f"{name} cannot be used before registering")
    check(buttons["Back Up Now"].description == "Register this server to a vault first",
          "Back Up Now says why it cannot be used")
    check(buttons["Change Properties"].sensitive,
          "Change Properties can be used before registering (the proxy may be needed to register)")

    # About opens the About dialog.
    buttons["About"].click()
    about = find(app, "the About dialog", name="About Coffer Backup", roleName="dialog")
    find(about, "the program name in the About dialog", name="Coffer Backup", roleName="label")
    ok("About opens the About dialog")
    screenshot("about")
    find(about, "the Close button of the About dialog", name="Close", roleName="push button").click()
    wait_for(lambda: not about.showing, "the About dialog to close")

    # Register Server opens its wizard, which Cancel closes.
    buttons["Register Server"].click()
    wizard = find(app, "the Register Server wizard", name="Vault Identification",
                  roleName="frame")
    find(wizard, "the vault folder entry", name="Vault folder", roleName="text")
    ok("Register Server opens the Register Server wizard")
    find(wizard, "the Cancel button", name="Cancel", roleName="push button",
         showing_only=True).click()
    wait_for(lambda: not find_application_frame("Vault Identification"), "the wizard to close")

    # Selecting a node shows its page.
    find(navigation, "the Jobs node", name="Jobs", roleName="table cell").click()
    find(window, "the Jobs page", name="No jobs yet.", roleName="label",
         showing_only=True)
    ok("selecting Jobs shows the Jobs page")
    screenshot("jobs")

    # When the agent stops, the overview says so, and Retry starts it again.
    find(navigation, "the Overview node", name="Overview", roleName="table cell").click()
    os.kill(agent_pid(), signal.SIGTERM)
    find(window, "the agent-stopped message", name="Cannot reach the Coffer agent",
         roleName="label", showing_only=True)
    check(not buttons["Register Server"].sensitive,
          "the console says it cannot reach the agent once the agent stops")
    find(window, "the Retry button", name="Retry", roleName="push button",
         showing_only=True).click()
    find(window, "the overview text after Retry", name="This server is not registered to a vault",
         roleName="label", showing_only=True)
    check(agent_has_owner() and buttons["Register Server"].sensitive,
          "Retry starts the agent again")

    # Registered from the CLI, the console follows; Unregister Server asks,
    # then unregisters.
    cli = os.environ["COFFER_CLI"]
    vault = os.path.join(os.environ["HOME"], "vault")
    keep = os.path.join(os.environ["HOME"], "keep")
    os.makedirs(keep)
    result = subprocess.run([cli, "register", "--create-local-vault", vault,
                             "--generate-passphrase", "--save-passphrase-to", keep,
                             "--machine-name", "smoke"],
                            capture_output=True, text=True, timeout=60)
    check(result.returncode == 0, "coffer register --create-local-vault registers this server")
    find(window, "the registered overview", name="This server is registered to a vault",
         roleName="label", showing_only=True)
    find(window, "the vault's name", name="Coffer-Vault", roleName="label", showing_only=True)
    wait_for(lambda: buttons["Unregister Server"].sensitive
             and not buttons["Register Server"].sensitive, "Unregister Server to become usable")
    ok("the overview shows the vault once the server is registered")
    screenshot("registered")

    buttons["Unregister Server"].click()
    confirm = find(app, "the unregister confirmation", roleName="alert")
    find(confirm, "the question", name="Unregister this server from vault “Coffer-Vault”?",
         roleName="label")
    screenshot("unregister-confirm")
    find(confirm, "the Unregister button", name="Unregister", roleName="push button").click()
    find(window, "the overview after unregistering", name="This server is not registered to a vault",
         roleName="label", showing_only=True)
    status = agent_status_from_cli()
    check("This server is not registered to a vault." in status,
          "Unregister Server unregisters the server")
    check(os.path.exists(os.path.join(vault, "vault.json")), "the vault keeps its data")

    stop_console()
    check(agent_has_owner(), "the agent keeps running when the console closes")
    print(f"1..{checks}", flush=True)


if __name__ == "__main__":
    main()
