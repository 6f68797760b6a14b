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

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from consoletest import (check, cli, find, find_showing, finish, ok, press,  # noqa: E402
                         rawinput, screenshot, set_text, start_console, start_watchdog,
                         stop_console, wait_for)

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
    for name in ("Check Backups…", "Repair Backups…"):
        button = s.action(name)
        wait_for(lambda: button.description == "Register this server to a vault first",
                 f"{name} to say what it needs")
        check(not button.sensitive, f"{name} cannot be used before registering")


def wizard_button(wizard, name):
    return find_showing(wizard, f"the wizard's {name} button", name=name, roleName="push button")


def wizard_next(wizard, page):
    """Saves page's screenshot, then goes on with Next."""
    screenshot(f"register-{page}", wizard)
    press(wizard_button(wizard, "Next"), f"Next on the {page} page to become usable")


def step_register(s):
    # A passphrase file of the name the wizard would use, from an earlier
    # registration today: it must survive.
    earlier = os.path.join(s.keep, time.strftime("CofferPassphrase-e2e-%Y-%m-%d.txt"))
    with open(earlier, "w") as f:
        f.write("an earlier passphrase\n")
    press(s.action("Register Server"))
    # An assistant's window is named after its current page.
    wizard = find(s.app, "the Register Server wizard", name="Vault Identification",
                  roleName="frame")
    s.register_wizard = wizard

    # Vault Identification: a damaged credentials file first.
    damaged = os.path.join(s.home, "Damaged.VaultCredentials")
    with open(damaged, "w") as f:
        f.write('{"format": 1, "vault-id": "broken"')
    find_showing(wizard, "the credentials file choice", name="Use a vault credentials file",
                 roleName="radio button").doActionNamed("click")
    set_text(find_showing(wizard, "the credentials file entry", name="Vault credentials file",
                          roleName="text"), damaged)
    set_text(find_showing(wizard, "the server name entry", name="Server name", roleName="text"),
             "e2e")
    wizard_next(wizard, "vault-file")

    # Proxy Configuration: no proxy.
    find_showing(wizard, "the no-proxy choice", name="No proxy", roleName="radio button")
    wizard_next(wizard, "proxy")

    # Encryption Setting: the rule is shown as the user types.
    passphrase = find_showing(wizard, "the passphrase entry", name="Passphrase",
                              roleName="password text")
    set_text(passphrase, "too-short")
    find_showing(wizard, "the 16-character rule",
                 name="At least 16 characters: 7 more characters needed.", roleName="label")
    check(not wizard_button(wizard, "Next").sensitive,
          "a 9-character passphrase cannot be used, and the page says 7 more are needed")
    press(find_showing(wizard, "the Generate Passphrase button", name="Generate Passphrase",
                       roleName="push button"))
    generated = wait_for(lambda: len(passphrase.text) == 32 and passphrase.text,
                         "a generated passphrase of 32 characters")
    set_text(find_showing(wizard, "the save folder entry", name="Save the passphrase in",
                          roleName="text"), s.keep)
    find_showing(wizard, "the warning about saving on this computer",
                 name="This folder is on this computer. If this computer's disk is lost, the "
                 "passphrase is lost with it, and the backups cannot be recovered without it. "
                 "Keep a copy somewhere else, such as a USB drive.", roleName="label")
    ok("Generate Passphrase makes 32 characters, and saving them on this computer is warned about")
    wizard_next(wizard, "encryption")

    # Cache Folder, Confirmation, Register.
    find_showing(wizard, "the cache folder entry", name="Cache folder", roleName="text")
    wizard_next(wizard, "cache")
    find_showing(wizard, "the confirmation", name="Coffer is ready to register this server. "
                 "Check the settings below, then choose Register.", roleName="label")
    screenshot("register-confirmation", wizard)
    press(wizard_button(wizard, "Register"))

    # The agent refuses the damaged file: its message is on the first page.
    message = wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing
        and n.name.startswith("Invalid vault credentials provided."),
        retry=False, requireResult=False), "the agent's message on Vault Identification", 60)
    ok("a damaged credentials file brings the wizard back to Vault Identification with: "
       + message.name.splitlines()[0])
    screenshot("register-refused", wizard)
    check(os.listdir(s.keep) == [os.path.basename(earlier)],
          "a refused registration leaves no passphrase file behind")

    # Now the embedded default: a new vault in a local folder.
    find_showing(wizard, "the new vault choice", name="Create a new vault in a local folder",
                 roleName="radio button").doActionNamed("click")
    set_text(find_showing(wizard, "the vault folder entry", name="Vault folder", roleName="text"),
             s.vault)
    wizard_next(wizard, "vault")
    wizard_next(wizard, "proxy-again")
    check(passphrase.text == generated, "the passphrase is kept when going round again")
    press(wizard_button(wizard, "Next"))
    press(wizard_button(wizard, "Next"))
    press(wizard_button(wizard, "Register"))
    done = wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing
        and n.name.startswith("This server is registered to vault “Coffer-Vault” as “e2e”."),
        retry=False, requireResult=False), "the wizard to say the server is registered", 90)
    ok("the wizard registers the server to a new local vault: " + done.name.split(".")[0])
    screenshot("register-done", wizard)
    with open(earlier) as f:
        check(f.read() == "an earlier passphrase\n", "an earlier passphrase file is left alone")
    saved = [name for name in os.listdir(s.keep)
             if name.startswith("CofferPassphrase-e2e-") and name != os.path.basename(earlier)]
    check(len(saved) == 1, f"the passphrase was saved where the user chose, beside it: {saved}")
    path = os.path.join(s.keep, saved[0])
    with open(path) as f:
        check(f.read() == generated + "\n", "the saved passphrase is the generated one")
    check(os.stat(path).st_mode & 0o777 == 0o600, "the passphrase file is readable by its owner only")
    press(wizard_button(wizard, "Close"))

    find_showing(s.window, "the registered overview", name="This server is registered to a vault",
                 roleName="label")
    back_up = s.action("Back Up Now")
    wait_for(lambda: back_up.description == "Choose what to back up first, with Schedule Backup",
             "Back Up Now to say what it needs")
    check(not back_up.sensitive, "Back Up Now waits until there is something to back up")
    result = cli("status")
    check("Coffer-Vault" in result.stdout and "e2e" in result.stdout,
          "coffer status names the vault and the server")
    screenshot("overview-registered", s.window)


def step_back_up_now(s):
    press(s.action("Back Up Now"), "Back Up Now to become usable once registered")
    wizard = find(s.app, "the Back Up Now wizard", name="Retain Backup Till", roleName="frame")
    find_showing(wizard, "the retention calendar", name="Retain backup till", roleName="calendar")
    wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing and n.name.endswith("30 days from today."),
        retry=False, requireResult=False), "the default retention of 30 days")
    ok("Back Up Now offers to keep the backup 30 days")
    screenshot("backup-retain", wizard)
    press(find_showing(wizard, "Next", name="Next", roleName="push button"))
    wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing and n.name.startswith("Coffer will back up"),
        retry=False, requireResult=False), "the Back Up Now confirmation")
    screenshot("backup-confirmation", wizard)
    press(find_showing(wizard, "the Back Up button", name="Back Up", roleName="push button"))
    phase = find_showing(wizard, "the phase of the backup", name="Phase", roleName="label")
    sent = find_showing(wizard, "the data sent", name="Data sent", roleName="label")
    screenshot("backup-progress", wizard)
    wait_for(lambda: phase.text in ("Completed", "Completed with warnings"),
             "the backup to complete in the wizard", 120)
    ok(f"the wizard follows the backup to the end: {phase.text}, {sent.text} sent")
    screenshot("backup-done", wizard)
    press(find_showing(wizard, "the Close button", name="Close", roleName="push button"))


def step_job_completes(s):
    s.navigate("Jobs")
    history = find_showing(s.window, "the job history", name="Job history", roleName="table")
    row = wait_for(lambda: history.findChild(
        lambda n: n.roleName == "table cell" and n.name == "Completed", retry=False,
        requireResult=False), "the backup to show as Completed in the Jobs pane", 60)
    ok("the Jobs pane shows the backup as Completed")
    screenshot("jobs", s.window)

    # Double-click opens Job Details.
    row.grabFocus()
    rawinput.doubleClick(*center(row))
    details = find(s.app, "the Job Details window", name="Job Details", roleName="dialog")
    done = find_showing(details, "the files backed up", name="Files backed up", roleName="label")
    check(done.text == "2", f"Job Details says 2 files were backed up (the excluded one is not): {done.text}")
    find_showing(details, "no failed item", name="Failed items heading", roleName="label")
    screenshot("job-details", details)
    press(find_showing(details, "the Copy button", name="Copy", roleName="push button"))
    copied = wait_for(lambda: clipboard_text(), "the job's details on the clipboard")
    check(copied.startswith("Backup job ") and "Files backed up: 2\n" in copied,
          "Copy puts the job's details on the clipboard")
    press(find_showing(details, "the Close button", name="Close", roleName="push button"))
    wait_for(lambda: not details.showing, "Job Details to close")

    # What the agent's notification runs: a second coffer-console hands the
    # job to the one running, which shows its details.
    jobs = json.loads(cli("jobs", "--json").stdout)
    s.job_id = max(job["id"] for job in jobs if job["kind"] == "backup")
    second = subprocess.run([os.environ["COFFER_CONSOLE"], "--job", str(s.job_id)],
                            stdout=sys.stderr, timeout=30)
    check(second.returncode == 0, "coffer-console --job ID hands the job to the running console")
    details = find(s.app, "Job Details opened by --job", name="Job Details", roleName="dialog",
                   showing_only=True)
    heading = find_showing(details, "the job's heading", name="Job", roleName="label")
    wait_for(lambda: heading.text == f"Backup job {s.job_id}", "the job's number in Job Details")
    ok(f"the running console shows {heading.text}")
    press(find_showing(details, "the Close button", name="Close", roleName="push button"))
    wait_for(lambda: not details.showing, "Job Details to close")

    # The overview shows the last backup and the data it sent.
    s.navigate("Overview")
    last = find_showing(s.window, "the last backup", name="Last backup:", roleName="label")
    last_value = wait_for(lambda: s.window.findChild(
        lambda n: n.roleName == "label" and n.showing and " · Completed · " in n.name,
        retry=False, requireResult=False), "the last backup on the overview")
    chart = find_showing(s.window, "the chart", name="Data transferred per day", roleName="chart")
    check(last is not None and "MB" in chart.description,
          f"the overview shows the last backup ({last_value.name}) and charts it ({chart.description})")
    screenshot("overview-activity", s.window)


def schedule_next(wizard, page):
    """Saves the Schedule Backup page's screenshot, then goes on with Next."""
    screenshot(f"schedule-{page}", wizard)
    press(wizard_button(wizard, "Next"), f"Next on the schedule's {page} page to become usable")


def step_schedule_backup(s):
    press(s.action("Schedule Backup"), "Schedule Backup to become usable once registered")
    wizard = find(s.app, "the Schedule Backup wizard", name="Getting Started", roleName="frame")
    schedule_next(wizard, "getting-started")

    # Select Items: Add Folders… opens a folder chooser; type the folder's path.
    press(find_showing(wizard, "Add Folders…", name="Add Folders…", roleName="push button"))
    chooser = find(s.app, "the folder chooser", name="Choose Folders to Back Up",
                   roleName="file chooser")
    find_showing(chooser, "the chooser's Cancel button", name="Cancel", roleName="push button")
    time.sleep(1)  # mapped and focused before keys are sent to it
    rawinput.keyCombo("<ctrl>L")
    location = find_showing(chooser, "the location entry", roleName="text")
    set_text(location, s.source + "/")
    press(find_showing(chooser, "the Add button", name="Add", roleName="push button"))
    items = find_showing(wizard, "the items list", name="Items to back up", roleName="table")
    find(items, "the chosen folder in the items", name=s.source, roleName="table cell")
    ok("Add Folders… adds the folder chosen in the file chooser")

    # Exclusion Settings: the cache folder, with its subfolders.
    press(find_showing(wizard, "Exclusion Settings…", name="Exclusion Settings…",
                       roleName="push button"))
    dialog = find(s.app, "the Exclusion Settings dialog", name="Exclusion Settings",
                  roleName="dialog")
    set_text(find_showing(dialog, "the folder to exclude", name="Folder to exclude",
                          roleName="text"), s.excluded)
    press(find_showing(dialog, "Exclude Folder", name="Exclude Folder", roleName="push button"))
    exclusions = find_showing(dialog, "the exclusions", name="Exclusions", roleName="table")
    find(exclusions, "the excluded folder", name=s.excluded, roleName="table cell")
    find(exclusions, "Subfolders Yes", name="Yes", roleName="table cell")
    set_text(find_showing(dialog, "the file type to exclude", name="File type to exclude",
                          roleName="text"), "tmp")
    press(find_showing(dialog, "Exclude File Type", name="Exclude File Type",
                       roleName="push button"))
    find(exclusions, "the excluded file type", name=".tmp", roleName="table cell")
    ok("Exclusion Settings excludes a folder with its subfolders and a file type")
    screenshot("schedule-exclusions", dialog)
    press(find_showing(dialog, "the Close button", name="Close", roleName="push button"))
    wait_for(lambda: not dialog.showing, "Exclusion Settings to close")
    schedule_next(wizard, "items")

    # Specify Backup Schedule: three times a day, not four.
    add_time = find_showing(wizard, "Add Time", name="Add Time", roleName="push button")
    press(add_time)
    press(add_time)
    find_showing(wizard, "the third time", name="Backup time 3", roleName="combo box")
    press(add_time)
    find_showing(wizard, "the refusal of a fourth time",
                 name="Maximum allowed is three times a day", roleName="label")
    check(not wizard.findChild(lambda n: n.name == "Backup time 4", retry=False,
                               requireResult=False),
          "a fourth backup time is refused: Maximum allowed is three times a day")
    schedule_next(wizard, "times")

    # Select Retention Policy: the daily rule, in its range.
    days = find_showing(wizard, "the daily retention", name="Days to keep daily backups",
                        roleName="spin button")
    days.value = 5
    check(days.value == 7, "the daily retention cannot go below 7 days")
    days.value = 45
    schedule_next(wizard, "retention")

    screenshot("schedule-confirmation", wizard)
    press(wizard_button(wizard, "Apply"))
    done = wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing
        and n.name.startswith("The backup schedule is saved."),
        retry=False, requireResult=False), "the wizard to save the schedule", 60)
    ok("the wizard saves the schedule: " + done.name.split(".")[0])
    screenshot("schedule-done", wizard)
    press(wizard_button(wizard, "Close"))

    policy = json.loads(cli("policy", "show", "--json").stdout)
    check(s.source in policy.get("items", []) and s.excluded in policy.get("exclusions", [])
          and ".tmp" in policy.get("exclusions", []),
          "coffer policy show has the folder, its excluded subfolder and .tmp")
    check(policy.get("schedule") == "daily" and len(policy.get("times", [])) == 3
          and policy.get("retain-daily") == 45,
          f"the schedule is daily at {', '.join(policy.get('times', []))}, kept 45 days")


def step_recover_file(s):
    os.makedirs(s.recovered, exist_ok=True)
    press(s.action("Recover Data"), "Recover Data to become usable once registered")
    wizard = find(s.app, "the Recover Data wizard", name="Getting Started", roleName="frame")
    find_showing(wizard, "This server", name="This server", roleName="radio button")
    screenshot("recover-getting-started", wizard)
    press(wizard_button(wizard, "Next"))

    # Select Recovery Point: the backup just made, on today's bold date.
    wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing and "recovery point" in n.name,
        retry=False, requireResult=False), "the recovery points to be read", 60)
    find_showing(wizard, "the calendar", name="Recovery point date", roleName="calendar")
    screenshot("recover-point", wizard)
    press(wizard_button(wizard, "Next"))

    # Select Items: the lazy tree shows the root; search finds the file.
    tree = find_showing(wizard, "the point's tree", name="Backed-up files and folders",
                        roleName="tree table")
    # Open each folder down to Documents: each is read when it is opened.
    for name in s.source.strip("/").split("/"):
        folder = find(tree, f"the folder {name} in the tree", name=name, roleName="table cell",
                      timeout=30)
        folder.doActionNamed("expand or contract")
    find(tree, "report.txt in the opened Documents folder", name="report.txt",
         roleName="table cell", timeout=30)
    check(not tree.findChild(lambda n: n.name == "scratch.tmp", retry=False,
                             requireResult=False),
          "the tree opens folder by folder down to Documents, without the excluded file")
    screenshot("recover-browse", wizard)
    find_showing(wizard, "the Search tab", name="Search", roleName="radio button").doActionNamed(
        "click")
    set_text(find_showing(wizard, "the search entry", name="Search for", roleName="text"),
             "report.txt")
    press(find_showing(wizard, "the Search button", name="Search", roleName="push button"))
    results = find_showing(wizard, "the search results", name="Search results", roleName="table")
    target = os.path.join(s.source, "report.txt")
    cell = find(results, "report.txt among the results", name=target, roleName="table cell",
                timeout=30)
    cell.doActionNamed("activate")
    wait_for(lambda: wizard_button(wizard, "Next").sensitive, "Next once report.txt is checked")
    ok("Search finds report.txt in the recovery point, and it can be checked")
    screenshot("recover-search", wizard)
    press(wizard_button(wizard, "Next"))

    # Recovery Options: another folder.
    find_showing(wizard, "Another location", name="Another location:",
                 roleName="radio button").doActionNamed("click")
    set_text(find_showing(wizard, "the target folder", name="Folder to recover to",
                          roleName="text"), s.recovered)
    screenshot("recover-options", wizard)
    press(wizard_button(wizard, "Next"))
    screenshot("recover-confirmation", wizard)
    press(wizard_button(wizard, "Recover"))
    done = wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing and n.name.startswith("The recovery"),
        retry=False, requireResult=False), "the recovery to end", 120)
    check(done.name == "The recovery is complete.", "the wizard follows the recovery: " + done.name)
    summary = wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing and n.name.startswith("Recovered "),
        retry=False, requireResult=False), "the recovery's summary")
    check(summary.name.startswith("Recovered 1 file ("),
          f"the summary counts the one file in the singular: {summary.name}")
    screenshot("recover-done", wizard)
    press(wizard_button(wizard, "Close"))

    found = [os.path.join(folder, name) for folder, _, names in os.walk(s.recovered)
             for name in names if name == "report.txt"]
    check(len(found) == 1, f"report.txt was recovered into {s.recovered}")
    with open(found[0], "rb") as recovered, open(target, "rb") as original:
        check(recovered.read() == original.read(), "the recovered file has the original's bytes")


def check_dialog(s, action, title):
    """Opens Check Backups or Repair Backups from the Actions pane."""
    press(s.action(action), f"{action} to become usable once registered")
    return find(s.app, f"the {title} dialog", name=title, roleName="dialog", showing_only=True)


def dialog_button(dialog, name):
    return find_showing(dialog, f"the {name} button", name=name, roleName="push button")


def run_check(dialog, start, what, screenshot_name):
    """Presses start in a Check or Repair dialog; returns its result label once shown."""
    press(dialog_button(dialog, start))
    find_showing(dialog, f"the {what}'s phase", name="Phase", roleName="label")
    screenshot(f"{screenshot_name}-progress", dialog)
    result = find_showing(dialog, f"the {what}'s result", name="Result", roleName="label",
                          timeout=120)
    wait_for(lambda: result.text, f"the {what}'s result to be written")
    screenshot(f"{screenshot_name}-result", dialog)
    return result


def agent_message(dialog):
    return find_showing(dialog, "the agent's message", name="The agent's message",
                        roleName="label").text


def step_check_backups(s):
    # A job already running: the agent refuses, and the dialog says why.
    # Throttled, a check reading the vault's packs runs long enough.
    slow = cli("properties", "set", "--throttle", "on", "--work-bandwidth", "512Kbps",
               "--non-work-bandwidth", "512Kbps")
    check(slow.returncode == 0, f"coffer properties set throttles to 512 Kbps: {slow.stderr}")
    busy = cli("check", "--read-data")
    found = re.search(r"job (\d+) started", busy.stdout)
    check(busy.returncode == 0 and found is not None,
          f"coffer check starts a job: {busy.stdout}{busy.stderr}")
    dialog = check_dialog(s, "Check Backups…", "Check Backups")
    read_data = find_showing(dialog, "Read every byte", name="Read every byte (slower)",
                             roleName="check box")
    check(read_data.checked, "Check Backups reads every byte unless told not to")
    screenshot("check-intro", dialog)
    press(dialog_button(dialog, "Start"))
    refused = find_showing(dialog, "the refusal", name="Why the job did not start",
                           roleName="label", timeout=30)
    wait_for(lambda: refused.text, "the agent's refusal to be written")
    check(refused.text == "Another job is in progress.",
          f"a check refused by the agent stays on the first page, saying why: {refused.text}")
    screenshot("check-refused", dialog)
    cancelled = cli("job", "cancel", found.group(1))
    check(cancelled.returncode == 0, f"coffer job cancel stops that check: {cancelled.stderr}")
    fast = cli("properties", "set", "--throttle", "off")
    check(fast.returncode == 0, f"coffer properties set turns throttling off: {fast.stderr}")
    wait_for(lambda: json.loads(cli("job", "show", found.group(1), "--json").stdout)["status"]
             == "cancelled", "the throttled check to end", 30)

    result = run_check(dialog, "Start", "check", "check")
    check(result.text == "No damage was found.",
          f"Check Backups says no damage was found: {result.text}")
    message = agent_message(dialog)
    check("every blob read and verified" in message,
          f"the check read every byte: {message}")
    press(dialog_button(dialog, "Close"))
    wait_for(lambda: not dialog.showing, "Check Backups to close")


def largest_pack(s):
    packs = [os.path.join(folder, name)
             for folder, _, names in os.walk(os.path.join(s.vault, "machines"))
             if os.sep + "data" in folder for name in names]
    return max(packs, key=os.path.getsize)


def step_repair_backups(s):
    # Damage the vault: one byte in the middle of its largest pack.
    pack = largest_pack(s)
    size = os.path.getsize(pack)
    with open(pack, "r+b") as f:
        f.seek(size // 2)
        byte = f.read(1)
        f.seek(size // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    ok(f"one byte of the vault's largest pack ({size} bytes) is flipped")

    dialog = check_dialog(s, "Check Backups…", "Check Backups")
    result = run_check(dialog, "Start", "check", "check-damage")
    check(result.text == "The check found damage.",
          f"Check Backups says it found damage: {result.text}; {agent_message(dialog)}")

    # Details lists the damaged pack and the file that needs it.
    press(dialog_button(dialog, "Details"))
    details = find(s.app, "Job Details of the check", name="Job Details", roleName="dialog",
                   showing_only=True)
    failed = find_showing(details, "the failed items", name="Failed items", roleName="table")
    item = wait_for(lambda: failed.findChild(
        lambda n: n.roleName == "table cell" and "photo.bin" in n.name, retry=False,
        requireResult=False), "the damaged pack's entry naming photo.bin", 30)
    ok(f"Job Details names the file that needs the damaged pack: {item.name[:120]}")
    screenshot("check-damage-details", details)
    press(dialog_button(details, "Close"))
    wait_for(lambda: not details.showing, "Job Details to close")

    # Repair… asks first, then repairs.
    press(dialog_button(dialog, "Repair…"))
    wait_for(lambda: dialog.name == "Repair Backups", "the dialog to ask about the repair")
    find_showing(dialog, "what a repair does", name="Repair this server's backups?",
                 roleName="label")
    screenshot("repair-confirm", dialog)
    result = run_check(dialog, "Repair", "repair", "repair")
    check(result.text == "The backups were repaired.",
          f"Repair says it repaired the backups: {result.text}; {agent_message(dialog)}")
    damaged = [name for folder, _, names in os.walk(os.path.join(s.vault, "damaged"))
               for name in names]
    check(os.path.basename(pack) in damaged,
          f"the damaged pack is in the vault's damaged/ folder, not deleted: {damaged}")
    press(dialog_button(dialog, "Close"))
    wait_for(lambda: not dialog.showing, "Repair Backups to close")

    # A second check finds nothing; Repair Backups from the Actions pane asks first.
    dialog = check_dialog(s, "Check Backups…", "Check Backups")
    result = run_check(dialog, "Start", "check", "check-after-repair")
    check(result.text == "No damage was found.",
          f"a check after the repair finds no damage: {result.text}; {agent_message(dialog)}")
    press(dialog_button(dialog, "Close"))
    wait_for(lambda: not dialog.showing, "Check Backups to close")
    dialog = check_dialog(s, "Repair Backups…", "Repair Backups")
    find_showing(dialog, "what a repair does", name="Repair this server's backups?",
                 roleName="label")
    ok("Repair Backups asks before it repairs")
    screenshot("repair-intro", dialog)
    press(dialog_button(dialog, "Cancel"))
    wait_for(lambda: not dialog.showing, "Repair Backups to close")


def step_set_throttling(s):
    press(s.action("Change Properties"))
    dialog = find(s.app, "the Change Properties dialog", name="Change Properties",
                  roleName="dialog")
    enable = find_showing(dialog, "the throttling switch",
                          name="Enable internet bandwidth usage throttling for backup operations",
                          roleName="check box")
    wait_for(lambda: enable.sensitive, "the properties to be read")
    enable.doActionNamed("click")
    unit = find_showing(dialog, "the work-hours unit", name="Work hours bandwidth unit",
                        roleName="combo box")
    # Chosen through the combo box's selection: its popup menu is not
    # opened, as AT-SPI clicks on a GTK 3 combo's items are unreliable.
    unit.querySelection().selectChild(1)
    work = find_showing(dialog, "the work-hours bandwidth", name="Work hours bandwidth",
                        roleName="spin button")
    wait_for(lambda: work.maxValue == 1023, "the work-hours bandwidth to be in Mbps")
    work.value = 2000
    check(work.value == 1023, "the work-hours bandwidth cannot go above 1023 Mbps")
    work.value = 2
    for tab in ["Proxy Configuration", "Encryption", "Cache", "Throttling"]:
        find_showing(dialog, f"the {tab} tab", name=tab, roleName="radio button").doActionNamed(
            "click")
        screenshot("properties-" + tab.split()[0].lower(), dialog)
    press(find_showing(dialog, "the OK button", name="OK", roleName="push button"))
    wait_for(lambda: not dialog.showing, "Change Properties to apply and close", 30)

    shown = cli("properties", "show", "--json")
    properties = json.loads(shown.stdout)
    check(properties.get("throttle") is True and properties.get("work-bandwidth") == 2000000,
          "coffer properties show has throttling on at 2 Mbps in work hours")
    text = cli("properties", "show").stdout
    check("2 Mbps" in text or "2.0 Mbps" in text or "2000 Kbps" in text,
          "coffer properties show prints the work-hours bandwidth set in the console")


def step_watch_running_job(s):
    """Job Details of a running backup shows its figures as they grow."""
    # Throttled to the least the properties allow, so that the backup's one
    # pack takes half a minute to reach the vault: long enough to watch.
    slow = cli("properties", "set", "--throttle", "on", "--work-bandwidth", "512Kbps",
               "--non-work-bandwidth", "512Kbps")
    check(slow.returncode == 0, f"coffer properties set throttles to 512 Kbps: {slow.stderr}")
    video = os.path.join(s.source, "video.bin")
    with open(video, "wb") as f:
        f.write(os.urandom(2 * 1024 * 1024))
    started = cli("backup")
    found = re.search(r"job (\d+) started", started.stdout)
    check(started.returncode == 0 and found is not None,
          f"coffer backup starts a job: {started.stdout}{started.stderr}")
    job_id = found.group(1)
    subprocess.run([os.environ["COFFER_CONSOLE"], "--job", job_id], stdout=sys.stderr, timeout=30)
    details = find(s.app, "Job Details of the running backup", name="Job Details",
                   roleName="dialog", showing_only=True)
    status = find_showing(details, "the job's status", name="Status", roleName="label")
    scanned = find_showing(details, "the data scanned", name="Data scanned", roleName="label")
    files = find_showing(details, "the files scanned", name="Files scanned", roleName="label")

    def scanned_while_running():
        exact = re.search(r"\((\d+) bytes\)", scanned.text)
        return (status.text == "In progress" and exact is not None
                and int(exact.group(1)) >= 2 * 1024 * 1024 and int(files.text) >= 3)

    wait_for(scanned_while_running,
             "Job Details to show the data and files scanned while the backup runs", 20)
    ok(f"Job Details of a running backup shows {scanned.text} and {files.text} files scanned")
    bar = find_showing(details, "the job's progress bar", name="Job progress",
                       roleName="progress bar")
    wait_for(lambda: 0 < bar.value < 0.9 * bar.maxValue and status.text == "In progress",
             "the progress bar to show the backup unfinished while its data is on its way "
             "to the vault", 5)
    ok(f"the progress bar is at {bar.value / bar.maxValue:.0%} while the data is on its way")
    duration = find_showing(details, "the job's duration", name="Duration", roleName="label")
    wait_for(lambda: duration.text.endswith(" s") and status.text == "In progress",
             "the running backup's duration so far")
    ok(f"Job Details says how long the backup has run: {duration.text}")
    screenshot("job-details-running", details)
    shown = json.loads(cli("job", "show", job_id, "--json").stdout)
    check(shown["status"] == "running" and shown["bytes-scanned"] >= 2 * 1024 * 1024
          and shown["phase"] != "Initializing",
          f"coffer job show has the running backup's figures too: {shown['phase']}, "
          f"{shown['bytes-scanned']} bytes scanned")

    asked = time.monotonic()
    cancelled = cli("job", "cancel", job_id)
    check(cancelled.returncode == 0, f"coffer job cancel stops the backup: {cancelled.stderr}")
    # Well before the pack could have reached the vault at 512 Kbps.
    wait_for(lambda: status.text == "Cancelled", "Job Details to show the backup as Cancelled", 10)
    ok(f"Job Details follows the backup to Cancelled, {time.monotonic() - asked:.1f} s after "
       "coffer job cancel")
    press(find_showing(details, "the Close button", name="Close", roleName="push button"))
    wait_for(lambda: not details.showing, "Job Details to close")
    os.unlink(video)
    fast = cli("properties", "set", "--throttle", "off")
    check(fast.returncode == 0, f"coffer properties set turns throttling off: {fast.stderr}")


def wrapped_keys(s):
    """The machine's wrapped master keys, as the vault holds them."""
    keys = {}
    for folder, _, names in os.walk(os.path.join(s.vault, "machines")):
        if os.path.basename(folder) == "keys":
            for name in names:
                with open(os.path.join(folder, name), "rb") as f:
                    keys[name] = f.read()
    return keys


def step_change_passphrase(s):
    before = set(os.listdir(s.keep))
    keys_before = wrapped_keys(s)
    press(s.action("Change Properties"))
    dialog = find(s.app, "the Change Properties dialog", name="Change Properties",
                  roleName="dialog")
    find_showing(dialog, "the Encryption tab", name="Encryption",
                 roleName="radio button").doActionNamed("click")
    press(find_showing(dialog, "Generate Passphrase", name="Generate Passphrase",
                       roleName="push button"))
    passphrase = find_showing(dialog, "the new passphrase", name="Passphrase", roleName="text")
    generated = wait_for(lambda: len(passphrase.text) == 32 and passphrase.text,
                         "a generated passphrase of 32 characters")
    set_text(find_showing(dialog, "the save folder", name="Save the passphrase in",
                          roleName="text"), s.keep)
    press(find_showing(dialog, "the OK button", name="OK", roleName="push button"))
    wait_for(lambda: not dialog.showing, "Change Properties to change the passphrase", 60)

    saved = sorted(set(os.listdir(s.keep)) - before)
    check(len(saved) == 1 and saved[0].startswith("CofferPassphrase-e2e-"),
          f"the new passphrase is saved as a new file beside the old one: {saved}")
    path = os.path.join(s.keep, saved[0])
    with open(path) as f:
        check(f.read() == generated + "\n", "the saved file holds the new passphrase")
    check(os.stat(path).st_mode & 0o777 == 0o600, "the new passphrase file is 0600")
    check(wrapped_keys(s) != keys_before, "the machine's keys in the vault are wrapped anew")


def step_move_cache(s):
    new_cache = os.path.join(s.home, "new-cache")
    press(s.action("Change Properties"))
    dialog = find(s.app, "the Change Properties dialog", name="Change Properties",
                  roleName="dialog")
    find_showing(dialog, "the Cache tab", name="Cache", roleName="radio button").doActionNamed(
        "click")
    entry = find_showing(dialog, "the new cache folder", name="New cache folder", roleName="text")
    wait_for(lambda: entry.sensitive, "the properties to be read")
    set_text(entry, "relative/cache")
    check(not find_showing(dialog, "the OK button", name="OK", roleName="push button").sensitive,
          "a cache folder that is not a full path cannot be applied")
    set_text(entry, new_cache)
    press(find_showing(dialog, "the OK button", name="OK", roleName="push button"))
    wait_for(lambda: not dialog.showing, "Change Properties to start the cache move", 30)
    wait_for(lambda: json.loads(cli("properties", "show", "--json").stdout).get("cache-folder")
             == new_cache, "the cache folder to be moved", 90)
    check(os.path.exists(os.path.join(new_cache, "CACHEDIR.TAG")),
          f"Change Properties moves the cache folder to {new_cache}")


def step_pause_schedule(s):
    press(s.action("Schedule Backup"))
    wizard = find(s.app, "the Schedule Backup wizard", name="Modify or Stop a Scheduled Backup",
                  roleName="frame")
    find_showing(wizard, "the pause choice",
                 name="Stop using this backup schedule, but keep the stored backups until a "
                 "schedule is activated again", roleName="radio button").doActionNamed("click")
    screenshot("schedule-modify", wizard)
    press(wizard_button(wizard, "Next"))
    press(wizard_button(wizard, "Apply"))
    done = wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing
        and n.name.startswith("The backup schedule is paused."),
        retry=False, requireResult=False), "the wizard to pause the schedule", 60)
    ok("the wizard pauses the schedule: " + done.name.split(".")[0])
    press(wizard_button(wizard, "Close"))
    policy = json.loads(cli("policy", "show", "--json").stdout)
    check(policy.get("state") == "paused", "coffer policy show says the schedule is paused")

    # Opened again, it offers to re-enable the schedule.
    press(s.action("Schedule Backup"))
    wizard = find(s.app, "the Schedule Backup wizard", name="Modify or Stop a Scheduled Backup",
                  roleName="frame")
    find_showing(wizard, "Re-enable backup schedule", name="Re-enable backup schedule",
                 roleName="radio button")
    ok("a paused schedule offers Re-enable backup schedule")
    screenshot("schedule-paused", wizard)
    press(wizard_button(wizard, "Cancel"))


def step_stop_schedule(s):
    press(s.action("Schedule Backup"))
    wizard = find(s.app, "the Schedule Backup wizard", name="Modify or Stop a Scheduled Backup",
                  roleName="frame")
    find_showing(wizard, "the delete choice",
                 name="Stop using this backup schedule and delete all the stored backups",
                 roleName="radio button").doActionNamed("click")
    press(wizard_button(wizard, "Next"))
    name = find_showing(wizard, "the vault name entry", name="Vault name", roleName="text")
    set_text(name, "coffer-vault")
    check(not wizard_button(wizard, "Next").sensitive,
          "deleting the backups needs the vault's name exactly: coffer-vault is refused")
    set_text(name, "Coffer-Vault")
    screenshot("schedule-delete", wizard)
    press(wizard_button(wizard, "Next"), "Next once the vault's name is typed")
    press(wizard_button(wizard, "Apply"))
    done = wait_for(lambda: wizard.findChild(
        lambda n: n.roleName == "label" and n.showing
        and n.name.startswith("The backup schedule is stopped."),
        retry=False, requireResult=False), "the wizard to stop the schedule", 60)
    ok("the wizard stops the schedule: " + done.name)
    press(wizard_button(wizard, "Close"))
    wait_for(lambda: json.loads(cli("recover", "points", "--json").stdout or "null") == [],
             "every recovery point of this server to be deleted", 90)
    ok("coffer recover points lists no recovery point left")


def clipboard_text():
    """The clipboard's text, read as another application would."""
    import gi
    gi.require_version("Gtk", "3.0")
    gi.require_version("Gdk", "3.0")
    from gi.repository import Gdk, Gtk
    Gtk.init_check(None)
    return Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD).wait_for_text()


def center(node):
    (x, y), (width, height) = node.position, node.size
    return x + width // 2, y + height // 2


STEPS = [
    step_start,
    step_register,
    step_schedule_backup,
    step_back_up_now,
    step_job_completes,
    step_recover_file,
    step_check_backups,
    step_repair_backups,
    step_set_throttling,
    step_watch_running_job,
    step_change_passphrase,
    step_move_cache,
    step_pause_schedule,
    step_stop_schedule,
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
