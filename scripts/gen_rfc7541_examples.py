#!/usr/bin/env python3
"""Extract RFC 7541 Appendix C.2-C.6 examples into JSON test vectors.

Usage: python3 scripts/gen_rfc7541_examples.py ../shared/spec/rfc7541.txt \
           > crates/h2kit-proto/tests/data/rfc7541-appendix-c.json
Each example: its section, header list, wire bytes (hex), and the dynamic table's size and
entry count after decoding. Examples of one section (C.3, C.4, ...) share one context.
"""
import json
import re
import sys

lines = open(sys.argv[1]).read().split("\n")
# Drop page-break furniture.
lines = [l for l in lines if not re.match(r"^(Peon & Ruellan|Internet-Draft|RFC 7541)", l)]
start = next(i for i, l in enumerate(lines) if l.startswith("C.2.  "))
end = next(i for i, l in enumerate(lines) if l.startswith("Appendix D") or l.startswith("Authors' Addresses") and i > start)
examples = []
cur = None
mode = None
for l in lines[start:end]:
    m = re.match(r"^(C\.[2-6]\.\d)\.\s", l)
    if m:
        cur = {"section": m.group(1), "headers": [], "wire": "", "table_size": None, "table_entries": 0}
        examples.append(cur)
        mode = None
        continue
    if cur is None:
        continue
    s = l.strip()
    if s.startswith("Header list to encode"):
        mode = "headers"
        continue
    if s.startswith("Hex dump of encoded data"):
        mode = "hex"
        continue
    if s.startswith("Decoding process"):
        mode = None
        continue
    if s.startswith("Dynamic Table (after decoding)"):
        mode = "table"
        continue
    if s.startswith("Decoded header list"):
        mode = None
        continue
    if mode == "headers" and s:
        name, value = s.split(": ", 1) if ": " in s else (s.rstrip(":"), "")
        if s.startswith(":"):
            name, value = s[1:].split(": ", 1)
            name = ":" + name
        cur["headers"].append([name, value])
    elif mode == "hex" and "|" in l:
        cur["wire"] += l.split("|")[0].replace(" ", "")
    elif mode == "table":
        if re.match(r"^\s+\[\s*\d+\]", l):
            cur["table_entries"] += 1
        m = re.match(r"^\s+Table size:\s+(\d+)", l)
        if m:
            cur["table_size"] = int(m.group(1))
json.dump(examples, sys.stdout, indent=1)
print()
