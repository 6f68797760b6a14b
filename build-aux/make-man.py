#!/usr/bin/python3
"""Writes coffer(1) from coffer.1.in and the help the built CLI prints.

    make-man.py COFFER TEMPLATE OUTPUT

The COMMANDS section is generated: every command `coffer --help` lists, with
its synopsis and summary, the summary `coffer COMMAND --help` gives, and each
of its options with its description. So the page cannot drift from the
program; tests/data/check-man.py checks the result. The rest of the page
(description, exit status, files, environment) is the template's prose.
"""

import os
import re
import subprocess
import sys

OPTION = re.compile(r"^\s+(?:-\w, )?(--[A-Za-z0-9][A-Za-z0-9-]*)(?:=(\S+))?\s{2,}(\S.*)$")
NOT_YET = " (not in this version yet)"


def run_help(coffer, args):
    env = dict(os.environ, LC_ALL="C.UTF-8", LANGUAGE="")
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    result = subprocess.run([coffer] + args + ["--help"], capture_output=True, text=True,
                            env=env, check=True)
    return result.stdout


def command_name(synopsis):
    """The command's words: the leading ones that are not arguments."""
    words = []
    for word in synopsis.split():
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        words.append(word)
    return " ".join(words)


def list_commands(coffer):
    """(name, synopsis, summary, planned) for each command of `coffer --help`."""
    lines = run_help(coffer, []).splitlines()
    commands = []
    in_commands = False
    for line in lines:
        if line == "Commands:":
            in_commands = True
            continue
        if not in_commands:
            continue
        if line == "":
            break
        if line.startswith("      "):
            summary = line.strip()
            planned = summary.endswith(NOT_YET)
            if planned:
                summary = summary[: -len(NOT_YET)]
            name, synopsis = commands[-1][:2]
            commands[-1] = (name, synopsis, summary, planned)
        elif line.startswith("  "):
            synopsis = line.strip()
            commands.append((command_name(synopsis), synopsis, "", False))
    return commands


def command_help(coffer, name):
    """(description, [(option, argument, text)]) from `coffer NAME --help`."""
    text = run_help(coffer, name.split())
    paragraphs = text.split("\n\n")
    description = ""
    options = []
    # Usage, then the summary paragraph, then the option groups.
    if len(paragraphs) > 1 and not paragraphs[1].startswith("Help Options:"):
        description = " ".join(paragraphs[1].split())
    section = None
    for line in text.splitlines():
        if line.endswith("Options:") and not line.startswith(" "):
            section = line
            continue
        if section is None or section == "Help Options:":
            continue
        match = OPTION.match(line)
        if match:
            options.append(match.groups())
    return description, options


NAMED = {"…": "\\&...", "“": "\\(lq", "”": "\\(rq", "‘": "\\(oq", "’": "\\(cq",
         "—": "\\(em", "–": "\\(en"}


def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(NAMED.get(c, c if ord(c) < 128 else "\\[u%04X]" % ord(c)) for c in text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def commands_section(coffer):
    out = []
    for name, synopsis, summary, planned in list_commands(coffer):
        out.append('.SS "coffer %s"' % roff(synopsis).replace('"', '\\(dq'))
        out.append(roff(summary) + ".")
        if planned:
            out.append("Not in this version yet: it says so and exits with status 1.")
            continue
        description, options = command_help(coffer, name)
        if description:
            out.append(".PP")
            out.append(roff(description))
        for option, argument, text in options:
            out.append(".TP")
            if argument:
                out.append(".BI %s= %s" % (roff(option), roff(argument)))
            else:
                out.append(".B %s" % roff(option))
            out.append(roff(text) + ("" if text.endswith(".") else "."))
    return "\n".join(out)


def main():
    coffer, template, output = sys.argv[1:4]
    version = subprocess.run([coffer, "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[-1]
    with open(template, encoding="utf-8") as f:
        page = f.read()
    page = page.replace("@VERSION@", version).replace("@COMMANDS@", commands_section(coffer))
    with open(output, "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    main()
