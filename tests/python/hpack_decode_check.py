#!/usr/bin/env python3
"""Decode field blocks produced by h2kit's HPACK encoder with Python's `hpack` package.

Input: a JSON file written by crates/h2kit-proto/tests/hpack_python.rs:
  [ {"name": str, "cases": [ {"wire": hex, "headers": [[name_hex, value_hex], ...]}, ... ]}, ... ]
Each story shares one decoder, as the blocks of one connection would. Prints a summary line;
exits 1 on the first mismatch, 2 if `hpack` is missing (a missing peer is a failure, not a skip).
"""
import json
import sys

try:
    import hpack
except ImportError:
    print("python package 'hpack' is not installed (pip install hpack)", file=sys.stderr)
    sys.exit(2)


def main(path):
    stories = json.load(open(path))
    blocks = fields = 0
    for story in stories:
        dec = hpack.Decoder()
        dec.max_header_list_size = 1 << 30
        for i, case in enumerate(story["cases"]):
            got = dec.decode(bytes.fromhex(case["wire"]), raw=True)
            want = [(bytes.fromhex(n), bytes.fromhex(v)) for n, v in case["headers"]]
            got = [(bytes(n), bytes(v)) for n, v in got]
            if got != want:
                print(f"{story['name']} case {i}: mismatch\n got  {got}\n want {want}", file=sys.stderr)
                return 1
            blocks += 1
            fields += len(got)
    print(f"hpack {hpack.__version__}: {len(stories)} stories, {blocks} blocks, {fields} fields, 0 mismatches")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
