#!/usr/bin/python3
# e2e.py: the console end to end, as a new user goes through it, with the
# real agent on a private bus, driven through AT-SPI.
#
# Each step is a function of the shared Scenario; STEPS runs them in order,
# and a step relies only on what the steps before it did. To add a step,
# write a step_* function and put it in STEPS where it belongs in the story.
# A step saves a screenshot of every wizard page it passes through
# (COFFER_SCREENSHOT_DIR).
#
# Run by run-under-xvfb.sh (own X server, private session bus, throwaway home).
# Environment: COFFER_CONSOLE, COFFER_CLI. Prints TAP.

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from consoletest import (check, cli, find, find_showing, finish, ok,  # noqa: E402
                         screenshot, start_console, start_watchdog, stop_console, wait_for)

TIME_LIMIT = 300


class Scenario:
    """What the steps share: the folders of the story and the console's nodes."""

    def __init__(self):
        home = os.environ["HOME"]
        self.home = home
        self.vault = os.path.join(home, "vault")            # made by the Register Server wizard
        self.keep = os.path.join(home, "usb-key")            # where the passphrase is saved
        self.source = os.path.join(home, "Documents")        # what is backed up
        self.excluded = os.path.join(self.source, "cache")   # excluded from the backup
        self.recovered = os.path.join(home, "recovered")     # where files are recovered to
        self.app = None
        self.window = None
        self.job_id = None                                   # the Back Up Now job

    def write_source(self):
        os.makedirs(self.excluded, exist_ok=True)
        os.makedirs(self.keep, exist_ok=True)
        with open(os.path.join(self.source, "report.txt"), "wb") as f:
            f.write(b"The quarterly report.\n" * 1000)
        with open(os.path.join(self.source, "photo.bin"), "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024))
        with open(os.path.join(self.excluded, "scratch.tmp"), "wb") as f:
            f.write(b"not worth keeping\n")

    def action(self, name):
        pane = find(self.window, "the Actions pane", name="Actions", roleName="filler")
        return find(pane, f"the {name} action", name=name, roleName="push button")

    def navigate(self, node):
        navigation = find(self.window, "the navigation tree", name="Navigation",
                          roleName="tree table")
        find(navigation, f"the navigation node {node}", name=node, roleName="table cell").click()


def step_start(s):
    s.write_source()
    s.app = start_console()
    s.window = find(s.app, "the main window", name="Coffer Backup", roleName="frame")
    find_showing(s.window, "the not-registered overview",
                 name="This server is not registered to a vault", roleName="label")
    ok("the console starts and says this server is not registered")


def step_register(s):
    # Registers from the CLI until the Register Server wizard drives it.
    result = cli("register", "--create-local-vault", s.vault, "--generate-passphrase",
                 "--save-passphrase-to", s.keep, "--machine-name", "e2e")
    check(result.returncode == 0, "this server registers to a new local vault")
    find_showing(s.window, "the registered overview", name="This server is registered to a vault",
                 roleName="label")
    ok("the overview shows the vault")
    screenshot("overview-registered", s.window)


STEPS = [
    step_start,
    step_register,
    # step_schedule_backup: a folder with an exclusion
    # step_back_up_now
    # step_job_completes
    # step_recover_file
    # step_set_throttling
    # step_pause_schedule
]


def main():
    start_watchdog(TIME_LIMIT)
    scenario = Scenario()
    for step in STEPS:
        step(scenario)
    stop_console()
    finish()


if __name__ == "__main__":
    main()
