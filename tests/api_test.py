#!/usr/bin/env python3
"""Check the public API's bookkeeping: the header's FR_VERSION is the project's
version, every exported function (FR_API in lib/) is declared in the header and
listed in the symbol map, and the map lists nothing else.

    api_test.py SOURCE_ROOT PROJECT_VERSION
"""
import os
import re
import sys


def read(root, *path):
    with open(os.path.join(root, *path), encoding="utf-8") as fh:
        return fh.read()


def main(root, version):
    header = read(root, "include", "framering.h")
    failures = []
    m = re.search(r'#define FR_VERSION "([^"]+)"', header)
    if not m or m.group(1) != version:
        failures.append(f"FR_VERSION is {m.group(1) if m else 'missing'}, meson says {version}")
    parts = dict(re.findall(r"#define FR_VERSION_(MAJOR|MINOR|PATCH) (\d+)", header))
    if ".".join(parts.get(k, "?") for k in ("MAJOR", "MINOR", "PATCH")) != version:
        failures.append(f"FR_VERSION_MAJOR/MINOR/PATCH say {parts}, meson says {version}")
    exported = set()
    for name in os.listdir(os.path.join(root, "lib")):
        if name.endswith(".c"):
            exported |= set(re.findall(r"^FR_API [^(]*?\b(fr_\w+)\(", read(root, "lib", name), re.M))
    mapped = set(re.findall(r"^\s*(fr_\w+);", read(root, "lib", "framering.map"), re.M))
    declared = set(re.findall(r"\b(fr_\w+)\s*\(", header))
    for fn in sorted(exported - mapped):
        failures.append(f"{fn} is exported but not in lib/framering.map")
    for fn in sorted(mapped - exported):
        failures.append(f"{fn} is in lib/framering.map but not exported (FR_API)")
    for fn in sorted(exported - declared):
        failures.append(f"{fn} is exported but not declared in include/framering.h")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print(f"{len(exported)} exported functions, version {version}: "
          f"{'ok' if not failures else str(len(failures)) + ' problems'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
