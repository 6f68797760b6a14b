#!/usr/bin/env python3
"""check-potfiles.py: po/POTFILES.in lists exactly the files with translatable strings.

A C file is translatable when it marks a string with _(), N_(), C_() or
ngettext(); a .ui file when an element has translatable="yes"; a .desktop.in
or .metainfo.xml.in file always. Prints TAP.
"""
import os
import re
import sys

top = os.environ.get("COFFER_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
os.chdir(top)

C_MARK = re.compile(r'(?<![A-Za-z0-9_])(?:N?_|C_|g_dngettext|ngettext)\s*\(\s*"')
UI_MARK = re.compile(r'translatable="yes"')


def translatable(path):
    if path.endswith((".desktop.in", ".metainfo.xml.in")):
        return True
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (UnicodeDecodeError, OSError):
        return False
    if path.endswith((".c", ".h")):
        return C_MARK.search(text) is not None
    if path.endswith(".ui"):
        return UI_MARK.search(text) is not None
    return False


found = set()
for root in ("src", "ui", "resources", "data"):
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if translatable(path):
                found.add(path)

with open("po/POTFILES.in", encoding="utf-8") as f:
    listed = {line.strip() for line in f if line.strip() and not line.startswith("#")}

missing = sorted(found - listed)
stale = sorted(path for path in listed if not os.path.exists(path))

print("TAP version 13")
print("1..2")
if missing:
    for path in missing:
        print(f"# not in po/POTFILES.in: {path}")
    print("not ok 1 - every file with translatable strings is in po/POTFILES.in")
else:
    print("ok 1 - every file with translatable strings is in po/POTFILES.in")
if stale:
    for path in stale:
        print(f"# listed but missing: {path}")
    print("not ok 2 - po/POTFILES.in names only files that exist")
else:
    print("ok 2 - po/POTFILES.in names only files that exist")
sys.exit(1 if missing or stale else 0)
