#!/usr/bin/python3
"""Checks coffer(1) against the CLI: every command `coffer --help` lists has
its section, every option of every command is described there, and groff
reads the page without a warning. TAP output.

    check-man.py COFFER PAGE
"""

import os
import re
import shutil
import subprocess
import sys

import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "make_man", os.path.join(os.environ["COFFER_SOURCE_ROOT"], "build-aux", "make-man.py"))
make_man = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_man)

coffer, page_path = sys.argv[1:3]
with open(page_path, encoding="utf-8") as f:
    page = f.read()

results = []


def check(ok, name, detail=""):
    results.append((ok, name, detail))


def unroff(text):
    return text.replace("\\-", "-").replace("\\e", "\\")


# Sections by command: the text from one .SS to the next section.
sections = {}
current = None
for line in page.splitlines():
    if line.startswith(".SS "):
        current = unroff(line[4:]).strip('"')
        sections[current] = []
    elif line.startswith(".SH "):
        current = None
    elif current is not None:
        sections[current].append(unroff(line))

for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "FILES"):
    check(".SH " + heading in page, "the page has a %s section" % heading)

commands = make_man.list_commands(coffer)
check(len(commands) >= 20, "coffer --help lists the commands (%d)" % len(commands))
for name, synopsis, summary, planned in commands:
    headings = [h for h in sections if h.startswith("coffer %s" % name)
                and (len(h) == len("coffer " + name) or h[len("coffer " + name)] == " ")]
    check(len(headings) == 1, "coffer %s has its section" % name,
          "sections: %s" % ", ".join(sorted(sections)))
    if len(headings) != 1 or planned:
        continue
    body = "\n".join(sections[headings[0]])
    _, options = make_man.command_help(coffer, name)
    for option, argument, text in options:
        described = re.search(r"^\.(B|BI) %s\b" % re.escape(option), body, re.M) is not None
        check(described, "coffer %s: %s is described" % (name, option))

groff = shutil.which("groff")
if groff is not None:
    result = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", page_path],
                            capture_output=True, text=True)
    check(result.returncode == 0 and result.stderr == "", "groff reads the page without warnings",
          result.stderr)

print("1..%d" % len(results))
for i, (ok, name, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        for line in detail.splitlines():
            print("# " + line)
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
