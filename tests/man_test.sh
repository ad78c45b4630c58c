#!/usr/bin/env bash
# The manual pages (man/) render without a single groff warning and say what
# the code says:
#   - every page renders with `groff -man -ww` (terminal and typesetter), the
#     .so pages through the page they name, and `man` finds every call;
#   - every function of include/framering.h is in a SYNOPSIS exactly as the
#     header declares it (and nothing else is), with its own page name;
#   - every struct/enum a page shows is the header's, field for field;
#   - framering.3's examples are examples/producer.c and examples/consumer.c;
#   - framering.1 has a section for every subcommand of tools/framering.c's
#     command table (and none other), naming every option of its --help text;
#   - every page is installed by man/meson.build and carries the version.
#   man_test.sh SOURCE_ROOT VERSION
set -euo pipefail
top=$1 version=$2
mandir="$top/man"

# shellcheck source=tools/deps.sh
. "$top/tools/deps.sh"
if ! command -v groff >/dev/null; then
	fr_ensure_packages groff-base || true
fi
command -v groff >/dev/null || { echo "man: groff is missing (Debian: groff-base)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man1" "$tmp/man3"
fail=0
pages=0 links=0

# A page is either a full page or a one-line ".so man3/X.3" pointing at one.
for page in "$mandir"/*.[13]; do
	cp "$page" "$tmp/man${page##*.}/"
done
for page in "$tmp"/man1/* "$tmp"/man3/*; do
	rel=${page#"$tmp"/}
	if LC_ALL=C grep -q '[^[:print:][:space:]]' "$page"; then
		echo "man: $rel: not plain ASCII (use groff escapes)" >&2
		fail=1
	fi
	# Rendered from the tree's root so that .so requests resolve as man does.
	for dev in utf8 ps; do
		out=$(cd "$tmp" && groff -man -ww -z -T"$dev" "$rel" 2>&1) || true
		if [ -n "$out" ]; then
			printf 'man: %s (groff -T%s):\n%s\n' "$rel" "$dev" "$out" >&2
			fail=1
		fi
	done
	if grep -q '^\.so ' "$page"; then links=$((links + 1)); else pages=$((pages + 1)); fi
done

# `man` itself, where it is installed: every call of the header has a page.
calls=$(sed -n 's/^[a-z][a-z0-9_ ]*[ *]\(fr_[a-z0-9_]*\)(.*/\1/p' "$top/include/framering.h")
if command -v man >/dev/null; then
	for fn in $calls; do
		if ! out=$(MANWIDTH=80 man -M "$tmp" --warnings=all 3 "$fn" 2>&1 >/dev/null) || [ -n "$out" ]; then
			printf 'man: "man 3 %s": %s\n' "$fn" "${out:-no page}" >&2
			fail=1
		fi
	done
	man_checked="man(1) finds all $(wc -w <<<"$calls") calls"
else
	man_checked="man(1) not installed: lookups not checked"
fi

python3 - "$top" "$version" <<'EOF' || fail=1
import glob, os, re, sys

top, version = sys.argv[1], sys.argv[2]
mandir = os.path.join(top, "man")
errors = []


def err(msg):
    errors.append(msg)


def read(path):
    with open(path, encoding="ascii") as f:
        return f.read()


# ---- troff to text ----------------------------------------------------------

ESCAPE = re.compile(r"\\(f(\[[^]]*\]|\(..|.)|s[-+]?\d+|\((..)|\[([^]]*)\]|(.))")
SPECIAL = {"aq": "'", "dq": '"', "en": "-", "em": "-", "lq": '"', "rq": '"', "mi": "-"}
SIMPLE = {"-": "-", "e": "\\", "&": "", "|": "", "^": "", "c": "", "%": "", "~": " ",
          " ": " ", "0": " "}


def unescape(text):
    """The characters that a line of troff source prints (one pass)."""
    def one(m):
        name = m.group(3) or m.group(4)
        if name:
            return SPECIAL.get(name, "?")
        if m.group(5) is not None:
            return SIMPLE.get(m.group(5), m.group(5))
        return ""  # font and size changes
    return ESCAPE.sub(one, text)


def macro_args(rest):
    """Arguments of a macro line, as troff splits them."""
    args, i = [], 0
    while i < len(rest):
        if rest[i] in " \t":
            i += 1
            continue
        if rest[i] == '"':
            j, arg = i + 1, ""
            while j < len(rest):
                if rest[j] == '"':
                    if j + 1 < len(rest) and rest[j + 1] == '"':
                        arg += '"'
                        j += 2
                        continue
                    break
                arg += rest[j]
                j += 1
            args.append(arg)
            i = j + 1
        else:
            j = i
            while j < len(rest) and rest[j] not in " \t":
                j += 1
            args.append(rest[i:j])
            i = j
    return args


ALTERNATING = {"BI", "IB", "BR", "RB", "IR", "RI"}
JOINED = {"B", "I", "SM", "SB"}


def text_lines(lines):
    """The text of troff source lines (macros resolved, escapes removed)."""
    out = []
    for line in lines:
        if line.startswith(".\\\"") or line.startswith("'\\\""):
            continue
        if line.startswith("."):
            m = re.match(r"\.\s*([A-Za-z]+)\s*(.*)", line)
            if not m:
                continue
            name, args = m.group(1), macro_args(m.group(2))
            if name in ALTERNATING:
                out.append("".join(args))
            elif name in JOINED or name in ("SS", "SH", "TP"):
                out.append(" ".join(args))
            continue
        out.append(line)
    return [unescape(l) for l in out]


def sections(src, level="SH"):
    """{title: [lines]} for the .SH (or .SS) sections of a page."""
    result, title = {}, None
    for line in src.splitlines():
        m = re.match(r"\.(SH|SS)\s+(.*)", line)
        if m and (m.group(1) == level or (level == "SS" and m.group(1) == "SH")):
            title = " ".join(macro_args(m.group(2)))
            if m.group(1) == level:
                result[title] = []
            else:
                title = None
            continue
        if title is not None:
            result[title].append(line)
    return result


def squash(text):
    return re.sub(r"\s+", " ", text).strip()


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def ex_blocks(src):
    """(marker, lines) of every .EX/.EE block; marker: the comment line before."""
    blocks, lines = [], src.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".EX":
            j = i + 1
            while lines[j].strip() != ".EE":
                j += 1
            k = i - 1
            while k >= 0 and lines[k].strip() in (".PP", ".in +4n"):
                k -= 1
            marker = lines[k][3:].strip() if lines[k].startswith('.\\"') else None
            blocks.append((marker, [unescape(l) for l in lines[i + 1:j]]))
    return blocks


# ---- the header -------------------------------------------------------------

header = read(os.path.join(top, "include", "framering.h"))
code = strip_c_comments(header)
code = "\n".join(l for l in code.splitlines() if not l.lstrip().startswith("#"))
types = {}
for m in re.finditer(r"\b(struct|enum)\s+(\w+)\s*\{(.*?)\}\s*;", code, re.S):
    types[m.group(1) + " " + m.group(2)] = squash(m.group(0))
decl_code = re.sub(r"\b(struct|enum)\s+\w+\s*\{.*?\}\s*;", " ", code, flags=re.S)
protos = {}
for stmt in decl_code.split(";"):
    m = re.search(r"\b(fr_\w+)\s*\(", stmt)
    if m:
        protos[m.group(1)] = squash(stmt.replace('extern "C" {', "").replace("}", "")) + ";"

# ---- the pages --------------------------------------------------------------

paths = sorted(glob.glob(os.path.join(mandir, "*.[13]")))
meson = read(os.path.join(mandir, "meson.build"))
full, stubs = {}, {}
for path in paths:
    name = os.path.basename(path)
    src = read(path)
    if "'%s'" % name not in meson:
        err("%s is not installed by man/meson.build" % name)
    m = re.match(r"\.so (man[13])/([\w.]+)\n?$", src)
    if src.startswith(".so"):
        if not m:
            err("%s: a link page is one line: .so man3/PAGE.3" % name)
        else:
            stubs[name] = m.group(2)
        continue
    full[name] = src

names_of = {}
for name, src in full.items():
    stem, sec = name.rsplit(".", 1)
    th = re.search(r"^\.TH (\S+) (\S+) (\S+) \"([^\"]*)\"", src, re.M)
    if not th:
        err("%s: no .TH line" % name)
    else:
        if th.group(1) != stem.upper() or th.group(2) != sec:
            err("%s: .TH says %s(%s)" % (name, th.group(1), th.group(2)))
        if th.group(4) != "framering " + version:
            err("%s: .TH says \"%s\", the project is framering %s"
                % (name, th.group(4), version))
    sh = sections(src)
    for required in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
        if required not in sh:
            err("%s: no %s section" % (name, required))
    nm = squash(" ".join(text_lines(sh.get("NAME", []))))
    names_of[name] = [n.strip() for n in nm.split(" - ")[0].split(",")]
    if stem not in names_of[name]:
        err("%s: NAME does not list %s" % (name, stem))

for stub, target in stubs.items():
    if target not in full:
        err("%s: .so names %s, which is not a full page" % (stub, target))
    elif stub[:-2] not in names_of[target]:
        err("%s: %s does not list %s in its NAME" % (stub, target, stub[:-2]))

# Every prototype in a SYNOPSIS, and which page has it.
documented = {}
for name, src in full.items():
    if not name.endswith(".3"):
        continue
    syn = text_lines(sections(src).get("SYNOPSIS", []))
    text = squash(" ".join(syn))
    if "#include <framering.h>" not in text:
        err("%s: SYNOPSIS has no #include <framering.h>" % name)
    for stmt in text.replace("#include <framering.h>", "").split(";"):
        m = re.search(r"\b(fr_\w+)\s*\(", stmt)
        if m:
            documented.setdefault(m.group(1), []).append((name, squash(stmt) + ";"))

for fn, proto in sorted(protos.items()):
    if fn not in documented:
        err("%s is declared in framering.h but in no SYNOPSIS" % fn)
        continue
    for page, seen in documented[fn]:
        if seen != proto:
            err("%s: SYNOPSIS has\n    %s\n  framering.h has\n    %s" % (page, seen, proto))
        if fn not in names_of[page]:
            err("%s: %s is in the SYNOPSIS but not in NAME" % (page, fn))
    if fn + ".3" not in full and fn + ".3" not in stubs:
        err("no man/%s.3: `man %s` would find nothing" % (fn, fn))
for fn in sorted(set(documented) - set(protos)):
    err("%s: documented in %s but not declared in framering.h"
        % (fn, ", ".join(p for p, _ in documented[fn])))

# Structs and enums shown in the pages are the header's; every struct is shown.
shown = set()
for name, src in full.items():
    for marker, lines in ex_blocks(src):
        body = squash(strip_c_comments("\n".join(lines)))
        m = re.match(r"(struct|enum) (\w+) \{", body)
        if not m:
            continue
        key = m.group(1) + " " + m.group(2)
        shown.add(key)
        if key not in types:
            err("%s shows %s, which framering.h does not define" % (name, key))
        elif body != types[key]:
            err("%s: %s differs from framering.h:\n    %s\n  framering.h:\n    %s"
                % (name, key, body, types[key]))
for key in sorted(types):
    if key.startswith("struct ") and key not in shown:
        err("%s is defined in framering.h but shown in no page" % key)

# framering.3's examples are the files of examples/.
examples = 0
for marker, lines in ex_blocks(full.get("framering.3", "")):
    if not marker or not marker.startswith("examples/"):
        continue
    examples += 1
    want = [squash(l) for l in read(os.path.join(top, marker)).splitlines() if l.strip()]
    have = [squash(l) for l in lines if l.strip()]
    if want != have:
        diff = next((i for i, (a, b) in enumerate(zip(want, have)) if a != b),
                    min(len(want), len(have)))
        err("framering.3: the example marked %s differs from the file at line %d:\n"
            "    page: %s\n    file: %s" % (marker, diff + 1,
                                          have[diff] if diff < len(have) else "(end)",
                                          want[diff] if diff < len(want) else "(end)"))
for ex in ("examples/producer.c", "examples/consumer.c"):
    if not any(m == ex for m, _ in ex_blocks(full.get("framering.3", ""))):
        err("framering.3 has no example marked %s" % ex)

# framering.1: a section per subcommand, naming the options of its --help text.
tool = read(os.path.join(top, "tools", "framering.c"))
table = re.search(r"\bcommands\[\]\s*=\s*\{(.*?)\};", tool, re.S)
commands = re.findall(r"\{\s*\"([a-z-]+)\"\s*,\s*cmd_\w+", table.group(1)) if table else []
if not commands:
    err("tools/framering.c: no command table found")
page1 = full.get("framering.1", "")
sh1 = sections(page1)
cmd_sections = sections("\n".join([".SH COMMANDS"] + sh1.get("COMMANDS", [])), "SS")
for extra in sorted(set(cmd_sections) - set(commands)):
    err("framering.1 has a section for '%s', which is no command of tools/framering.c"
        % extra)
sources = []
for root, _, files in os.walk(os.path.join(top, "tools")):
    sources += [os.path.join(root, f) for f in files if f.endswith(".c")]
options_checked = 0
for cmd in commands:
    if cmd not in cmd_sections:
        err("framering.1: no section (.SS %s) for the command '%s'" % (cmd, cmd))
        continue
    text = squash(" ".join(text_lines(cmd_sections[cmd])))
    help_text = None
    for path in sources:
        lines = read(path).splitlines()
        for i, line in enumerate(lines):
            if re.search(r'"Usage: framering %s\b' % re.escape(cmd), line):
                block = []
                for l in lines[i:]:
                    block += re.findall(r'"((?:[^"\\]|\\.)*)"', l)
                    if l.rstrip().endswith(";"):
                        break
                help_text = "".join(block).replace("\\n", "\n")
                break
        if help_text:
            break
    if help_text is None:
        err("no --help text (\"Usage: framering %s ...\") found under tools/" % cmd)
        continue
    for short, long in re.findall(r"^\s+(-[A-Za-z]), (--[a-z][a-z0-9-]*)", help_text, re.M):
        options_checked += 1
        if "%s, %s" % (short, long) not in text:
            err("framering.1, section %s: no '%s, %s' (framering %s --help)"
                % (cmd, short, long, cmd))
    for long in sorted(set(re.findall(r"--[a-z][a-z0-9-]*", help_text))):
        options_checked += 1
        if not re.search(re.escape(long) + r"(?![a-z0-9-])", text):
            err("framering.1, section %s: %s is not described (framering %s --help)"
                % (cmd, long, cmd))
top_text = squash(" ".join(text_lines(sh1.get("OPTIONS", []))))
for opt in sorted(set(re.findall(r'strcmp\(cmd, "(--[a-z-]+)"\)', tool))):
    if opt not in top_text:
        err("framering.1: OPTIONS does not describe %s (tools/framering.c)" % opt)

if errors:
    for e in errors:
        print("man: " + e, file=sys.stderr)
    sys.exit(1)
print("man: %d functions in a SYNOPSIS as declared, %d structs as defined, "
      "%d examples as in examples/, %d commands with %d options as in their --help"
      % (len(protos), len([k for k in types if k.startswith("struct ")]), examples,
         len(commands), options_checked))
EOF

if [ "$fail" -ne 0 ]; then
	echo "man: FAILED" >&2
	exit 1
fi
echo "man: $pages pages and $links .so links render without a groff warning; $man_checked"
