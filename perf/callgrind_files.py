#!/usr/bin/env python3
"""Self cost (Ir) of a callgrind dump by source file and by source line, inlined code included.

Swift inlines most of the request path into the event loop's function, so callgrind's per-function
view shows one function; the DWARF line table still maps every instruction to the file and line it
came from (callgrind's `fi=`/`fe=` records). This folds the dump by that.

    perf/callgrind_files.py perf/.cache/callgrind/callgrind.out.<pid>.1-03 [--requests 5000] [--lines 25]
"""
import argparse, collections, re

ap = argparse.ArgumentParser()
ap.add_argument("dump")
ap.add_argument("--requests", type=int, default=0, help="divide by this (Ir per request)")
ap.add_argument("--lines", type=int, default=25)
a = ap.parse_args()

names = {"fl": {}, "fi": {}, "fe": {}, "fn": {}}
def resolve(kind, text):
    m = re.match(r"\((\d+)\)(?:\s+(.*))?", text)
    if not m: return text
    table = names["fl"]  # fl/fi/fe share one file-name table
    if m.group(2): table[m.group(1)] = m.group(2)
    return table.get(m.group(1), "?")

by_file = collections.Counter()
by_symbol = collections.Counter()  # code without line info (libc, libuv, the Swift runtime): by function
fn = "?"
by_line = collections.Counter()
file = current = "?"
line = 0
skip_next = False
for raw in open(a.dump):
    raw = raw.rstrip("\n")
    if not raw: continue
    key = raw.split("=", 1)[0]
    if key in ("fl",):
        file = current = resolve("fl", raw[3:]); continue
    if key in ("fi", "fe"):
        current = resolve(key, raw[3:]); continue
    if key == "fn":
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", raw[3:])
        if m and m.group(2): names["fn"][m.group(1)] = m.group(2)
        fn = names["fn"].get(m.group(1), "?") if m else raw[3:]
        continue
    if key == "cfn":
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", raw[4:])
        if m and m.group(2): names["fn"][m.group(1)] = m.group(2)
        continue
    if key in ("cfl", "cfi", "ob", "cob"):
        if key in ("cfl", "cfi"): resolve(key, raw[4:])
        continue
    if key == "calls":
        skip_next = True; continue
    if not (raw[0].isdigit() or raw[0] in "+-*"): continue
    parts = raw.split()
    pos = parts[0]
    if pos.startswith("+"): line += int(pos[1:])
    elif pos.startswith("-"): line -= int(pos[1:])
    elif pos != "*": line = int(pos)
    if skip_next:  # the inclusive cost of a call: not self cost
        skip_next = False; continue
    cost = int(parts[1]) if len(parts) > 1 else 0
    by_file[current] += cost
    by_line[(current, line)] += cost
    if current in ("???", "?"): by_symbol[fn] += cost

total = sum(by_file.values()) or 1
div = a.requests or 1
unit = "Ir/request" if a.requests else "Ir"
print(f"{total / div:,.0f} {unit} in total (self cost)\n\nby file:")
for f, c in by_file.most_common(20):
    print(f"  {c / div:>10,.0f} {100 * c / total:5.1f}%  {f.split('/work/main/')[-1]}")
print("\nwithout line info, by function:")
for f, c in by_symbol.most_common(12):
    print(f"  {c / div:>10,.0f} {100 * c / total:5.1f}%  {f[:100]}")
print("\nby line:")
for (f, l), c in by_line.most_common(a.lines):
    print(f"  {c / div:>10,.0f} {100 * c / total:5.1f}%  {f.split('/work/main/')[-1]}:{l}")
