#!/usr/bin/env python3
"""Checks that timestamps in a JSON file carry the user's offset: YYYY-MM-DDTHH:MM:SS[.fff]+08:00.

Usage: check_iso8601.py FILE FIELD... [--min-count N]

Each FIELD is a dotted path into the JSON document; `name[]` walks every item of a list, e.g.
`events[].start` or `meta.created_at`. Every value found must be a string in the format above
(seconds required, fraction optional, the offset exactly +08:00). Exits 0 when all are, and at
least N values were found in all (default 1); otherwise prints each problem and exits 1.
Standard library only.
"""

import json
import re
import sys

PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+08:00$")


def values(node, parts, path):
    """Yields (path, value) for every value at the dotted `parts` below `node`."""
    if not parts:
        yield path, node
        return
    head, rest = parts[0], parts[1:]
    each = head.endswith("[]")
    key = head[:-2] if each else head
    if key:
        if not isinstance(node, dict) or key not in node:
            yield f"{path}.{key}".lstrip("."), None
            return
        node, path = node[key], f"{path}.{key}".lstrip(".")
    if each:
        if not isinstance(node, list):
            yield path + "[]", None
            return
        for i, item in enumerate(node):
            yield from values(item, rest, f"{path}[{i}]")
    else:
        yield from values(node, rest, path)


def main(argv):
    args = list(argv)
    min_count = 1
    if "--min-count" in args:
        i = args.index("--min-count")
        try:
            min_count = int(args[i + 1])
        except (IndexError, ValueError):
            print("--min-count takes a number")
            return 2
        del args[i : i + 2]
    if len(args) < 2:
        print(__doc__.strip().splitlines()[2])
        return 2
    file, fields = args[0], args[1:]
    try:
        with open(file, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        print(f"FAIL: {file} does not exist")
        return 1
    except (OSError, ValueError) as e:
        print(f"FAIL: {file} is not readable JSON: {e}")
        return 1
    problems, found = [], 0
    for field in fields:
        for path, value in values(doc, field.split("."), ""):
            if value is None:
                problems.append(f"{path}: missing")
                continue
            found += 1
            if not isinstance(value, str) or not PATTERN.match(value):
                problems.append(f"{path}: {value!r} is not YYYY-MM-DDTHH:MM:SS+08:00")
    if found < min_count:
        problems.append(f"found {found} timestamps, expected at least {min_count}")
    for p in problems:
        print("FAIL:", p)
    if not problems:
        print(f"OK: {found} timestamps with +08:00")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
