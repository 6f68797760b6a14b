#!/usr/bin/env python3
"""check-svg.py: the icons are well-formed SVG documents. Prints TAP."""
import sys
import xml.etree.ElementTree as ET

print("TAP version 13")
print(f"1..{len(sys.argv) - 1}")
failed = False
for number, path in enumerate(sys.argv[1:], start=1):
    try:
        root = ET.parse(path).getroot()
        ok = root.tag.endswith("svg")
        reason = "" if ok else f" (root element is {root.tag})"
    except ET.ParseError as error:
        ok, reason = False, f" ({error})"
    failed |= not ok
    print(f"{'ok' if ok else 'not ok'} {number} - {path} is SVG{reason}")
sys.exit(1 if failed else 0)
