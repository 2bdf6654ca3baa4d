#!/usr/bin/env python3
"""The longest functions of a crate's non-test code, in lines from `fn` to its closing brace.

Usage: scripts/longest-fns.py [SRC_DIR] [N] [LIMIT]  (default crates/mtsnn-core/src, 10, 120).
Prints the N longest and exits 1 when one exceeds LIMIT lines. A function is a line whose code
starts with `fn`, `pub fn`, `async fn`, … at any indentation; its body ends at the first line back
at its indentation that closes a brace. `#[cfg(test)]` modules and `mod tests` are skipped.
"""
import pathlib
import re
import sys

src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "crates/mtsnn-core/src")
top = int(sys.argv[2]) if len(sys.argv) > 2 else 10
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 120
FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")

found = []
for path in sorted(src.rglob("*.rs")):
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^\s*mod tests\s*\{", line) or (
            line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(r"^\s*mod \w+", lines[i + 1])
        ):
            # Skip the test module: to the closing brace at its indentation.
            start = i if "mod" in line else i + 1
            indent = len(lines[start]) - len(lines[start].lstrip())
            i = start + 1
            while i < len(lines) and not (lines[i].startswith(" " * indent + "}") and len(lines[i]) - len(lines[i].lstrip()) == indent):
                i += 1
            i += 1
            continue
        m = FN.match(line)
        if m and not line.rstrip().endswith(";"):
            indent = len(m.group(1))
            j = i
            while j < len(lines):
                l = lines[j]
                if j > i and l.strip().startswith("}") and len(l) - len(l.lstrip()) == indent:
                    break
                if j == i and l.rstrip().endswith("}"):
                    break
                j += 1
            found.append((j - i + 1, f"{path.relative_to(src)}:{i + 1}", m.group(7)))
        i += 1

found.sort(reverse=True)
for n, where, name in found[:top]:
    print(f"{n:5} {name:30} {where}")
sys.exit(1 if found and found[0][0] > limit else 0)
