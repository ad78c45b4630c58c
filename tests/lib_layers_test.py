#!/usr/bin/env python3
"""Check that the files of lib/ depend on each other one way only.

A file depends on another when it calls a function the other defines, or
calls through the mode table (`ops->`), which reaches the mode files that
define `struct fr_ring_ops` tables. Prints the layers (each file after all it
depends on) and fails on a cycle, naming it.

    lib_layers_test.py LIBDIR
"""
import os
import re
import sys

FUNC_DEF = re.compile(r"^(?!static\b)[A-Za-z_][\w \*]*?\b(fri?_\w+)\s*\(", re.M)
OPS_TABLE = re.compile(r"^const struct fr_ring_ops \w+ = \{", re.M)
IDENT = re.compile(r"\b(fri?_\w+)\s*\(")
OPS_CALL = re.compile(r"->ops->\w+\s*\(|\bops->\w+\s*\(")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def main(libdir):
    sources = {}
    for name in sorted(os.listdir(libdir)):
        if name.endswith(".c"):
            with open(os.path.join(libdir, name), encoding="utf-8") as fh:
                sources[name] = strip_comments(fh.read())
    defined = {}
    for name, text in sources.items():
        for fn in FUNC_DEF.findall(text):
            defined.setdefault(fn, name)
    modes = {name for name, text in sources.items() if OPS_TABLE.search(text)}
    deps = {name: set() for name in sources}
    for name, text in sources.items():
        for fn in IDENT.findall(text):
            owner = defined.get(fn)
            if owner and owner != name:
                deps[name].add(owner)
        if OPS_CALL.search(text):
            deps[name] |= modes - {name}

    # Layers: repeatedly take the files whose dependencies are all placed.
    placed, layers = set(), []
    while len(placed) < len(deps):
        layer = sorted(n for n in deps if n not in placed and deps[n] <= placed)
        if not layer:
            break
        layers.append(layer)
        placed |= set(layer)
    for i, layer in enumerate(layers):
        print(f"layer {i}: " + ", ".join(
            f"{n} -> {' '.join(sorted(d[:-2] for d in deps[n])) or '(none)'}" for n in layer))
    rest = {n for n in deps if n not in placed}
    if not rest:
        print(f"no cycle among {len(deps)} files of lib/")
        return 0
    # Name one cycle: walk dependencies inside the remainder until a file repeats.
    path, node = [], sorted(rest)[0]
    while node not in path:
        path.append(node)
        node = sorted(d for d in deps[node] if d in rest)[0]
    cycle = path[path.index(node):] + [node]
    print("FAIL: dependency cycle: " + " -> ".join(cycle), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "lib"))
