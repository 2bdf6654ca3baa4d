#!/usr/bin/env bash
# Checks of the tracked tree (what `git ls-files` lists), no build needed:
#   - no tracked file over 5 MB (5,000,000 bytes; MAX_BYTES=N changes it) outside web/models/: full
#     models and checkpoints stay out of git (results/REMOVED-MODELS.txt's policy, enforced by .gitignore);
#   - the tracked tree holds at most 30 MB (30,000,000 bytes; MAX_TREE_BYTES=N changes it): one small
#     export per result row (results/REMOVED-MODELS.txt);
#   - every relative link and anchor in every tracked `.md` file resolves: `[x](docs/cli.md)`,
#     `[x](#some-heading)`, `[x](file.md#heading)`, `![x](figure.png)`, reference definitions
#     `[x]: path` and HTML `href="..."`/`src="..."`; a target must be a tracked file (or a folder
#     holding one), an anchor a heading of the target `.md` (GitHub's slugs: lowercase, spaces to
#     '-', punctuation dropped, repeats numbered -1, -2, ...) or an explicit `<a id/name="...">`.
#     http(s)/mailto and other URL schemes, and anything inside code blocks or code spans, are not
#     checked; anchors into non-Markdown files (`main.rs#L10`) are not checked either;
#   - python/LICENSE-* are copies of the root LICENSE-* (setuptools packs those copies).
# Prints each failure with its file (and line), then `check-tree: N passed, M failed`; exits 1 on
# any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export MAX_BYTES="${MAX_BYTES:-5000000}"
export MAX_TREE_BYTES="${MAX_TREE_BYTES:-30000000}"
exec python3 - <<'PY'
import os
import re
import subprocess
import sys
import unicodedata
from urllib.parse import unquote

MAX_BYTES = int(os.environ["MAX_BYTES"])
MAX_TREE_BYTES = int(os.environ["MAX_TREE_BYTES"])
SIZE_EXEMPT = ("web/models/",)

tracked = [p for p in subprocess.run(["git", "ls-files", "-z"], check=True,
                                     capture_output=True).stdout.decode().split("\0") if p]
tracked_set = set(tracked)
tracked_dirs = set()
for p in tracked:
    parts = p.split("/")
    for i in range(1, len(parts)):
        tracked_dirs.add("/".join(parts[:i]))

passed = 0
failures = []


def fail(msg):
    failures.append(msg)


# Sizes: the working tree's file where it exists, else the index's blob.
index_sizes = {}
missing = [p for p in tracked if not os.path.lexists(p)]
if missing:
    staged = subprocess.run(["git", "ls-files", "-s", "-z", "--"] + missing, check=True,
                            capture_output=True).stdout.decode().split("\0")
    blobs = {}
    for entry in staged:
        if entry:
            meta, path = entry.split("\t", 1)
            blobs[path] = meta.split()[1]
    if blobs:
        out = subprocess.run(["git", "cat-file", "--batch-check=%(objectname) %(objectsize)"],
                             input="\n".join(blobs.values()) + "\n", check=True,
                             capture_output=True, text=True).stdout.split("\n")
        by_id = dict(line.split() for line in out if line and "missing" not in line)
        index_sizes = {p: int(by_id.get(b, 0)) for p, b in blobs.items()}

total = 0
for p in tracked:
    size = os.lstat(p).st_size if os.path.lexists(p) else index_sizes.get(p, 0)
    total += size
    if size > MAX_BYTES and not p.startswith(SIZE_EXEMPT):
        fail(f"{p}: {size} bytes, over {MAX_BYTES} (only web/models/ may hold files this large)")
    else:
        passed += 1
if total > MAX_TREE_BYTES:
    fail(f"the tracked tree holds {total} bytes, over {MAX_TREE_BYTES}: keep one small export per "
         "result row (results/REMOVED-MODELS.txt)")
else:
    passed += 1

# The Python package's licence copies.
for name in ("LICENSE-MIT", "LICENSE-APACHE"):
    copy = f"python/{name}"
    if not os.path.exists(name) or not os.path.exists(copy):
        fail(f"{copy}: missing (it and {name} must both exist)")
    elif open(name, "rb").read() != open(copy, "rb").read():
        fail(f"{copy}: differs from {name} (copy the root file)")
    else:
        passed += 1


# --- Markdown ---------------------------------------------------------------------------------

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def strip_code(lines):
    """The lines with fenced/indented code blocks blanked and code spans replaced by spaces."""
    out = []
    fence = None
    prev_blank = True
    in_indented = False
    for line in lines:
        m = FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip()[len(m.group(1)):].strip():
                fence = None
            out.append("")
            continue
        if m:
            fence = m.group(1)
            out.append("")
            continue
        # An indented code block starts after a blank line (not inside a list item; close enough).
        if (line.startswith("    ") or line.startswith("\t")) and (prev_blank or in_indented) \
                and not re.match(r"^\s*([-*+]|\d+[.)])\s", line):
            in_indented = in_indented or prev_blank
        else:
            in_indented = False if line.strip() else in_indented
        if in_indented and line.strip():
            out.append("")
            prev_blank = False
            continue
        prev_blank = not line.strip()
        out.append(line)
    text = "\n".join(out)
    # Code spans may not cross a blank line; replace them keeping the newlines (line numbers).
    text = CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    return text


def slug_text(heading):
    """A heading's visible text: links and images to their text, code and emphasis marks dropped."""
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    t = re.sub(r"!?\[([^\]]*)\]\[[^\]]*\]", r"\1", t)
    t = re.sub(r"<[^>]+>", "", t)
    t = t.replace("`", "")
    t = re.sub(r"(?<![\w])_(.+?)_(?![\w])", r"\1", t)
    t = re.sub(r"(?<![\w])__(.+?)__(?![\w])", r"\1", t)
    return t.strip()


def github_slug(text):
    """github-slugger: lowercase; drop everything but letters, marks, digits, '_', '-' and
    spaces; each space becomes '-'."""
    out = []
    for ch in text.lower():
        cat = unicodedata.category(ch)
        if ch in "-_" or ch == " " or cat[0] in "LNM":
            out.append("-" if ch == " " else ch)
    return "".join(out)


anchor_cache = {}


def anchors(path):
    if path in anchor_cache:
        return anchor_cache[path]
    try:
        lines = open(path, encoding="utf-8").read().split("\n")
    except OSError:
        anchor_cache[path] = set()
        return anchor_cache[path]
    text = strip_code(lines)
    code_free = text.split("\n")
    found = set()
    seen = {}

    def add(heading):
        base = github_slug(slug_text(heading))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")

    for i, line in enumerate(code_free):
        # Headings are found on the code-free text, their slugs made from the original line
        # (a code span's text is part of the slug).
        m = re.match(r"^ {0,3}(#{1,6})\s+(.*?)(\s+#+)?\s*$", line)
        if m:
            add(re.match(r"^ {0,3}#{1,6}\s+(.*?)(\s+#+)?\s*$", lines[i]).group(1))
        elif i + 1 < len(code_free) and line.strip() and not line.startswith("    ") \
                and re.match(r"^ {0,3}(=+|-+)\s*$", code_free[i + 1]) \
                and not re.match(r"^\s*([-*+]\s|\||>)", line) and not re.match(r"^ {0,3}(-+|=+)\s*$", line):
            # A setext heading; a '---' under a blank line or a table/list is not one.
            add(lines[i].strip())
        for a in re.finditer(r"<a\s[^>]*\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", line, re.I):
            found.add(a.group(1))
    anchor_cache[path] = found
    return found


INLINE = re.compile(r"\]\(\s*(<[^>\n]*>|[^)\s]*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFDEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
HTML = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def check_link(md, lineno, target):
    global passed
    target = target.strip()
    if target.startswith("<") and target.endswith(">"):
        target = target[1:-1]
    if not target or SCHEME.match(target) or target.startswith("//"):
        return
    where = f"{md}:{lineno}"
    path, _, anchor = target.partition("#")
    path = unquote(path.split("?", 1)[0])
    anchor = unquote(anchor)
    if path:
        base = "" if path.startswith("/") else os.path.dirname(md)
        resolved = os.path.normpath(os.path.join(base, path.lstrip("/"))).replace(os.sep, "/")
        if resolved.startswith("../") or resolved == "..":
            fail(f"{where}: link '{target}' leaves the repository")
            return
        if resolved == ".":
            resolved = ""
        if resolved not in tracked_set and resolved not in tracked_dirs and resolved != "":
            why = "exists but is not tracked" if os.path.exists(resolved) else "no such file"
            fail(f"{where}: broken link '{target}' ({resolved}: {why})")
            return
    else:
        resolved = md
    if anchor and resolved.lower().endswith((".md", ".markdown")) and resolved in tracked_set:
        if anchor not in anchors(resolved) and anchor.lower() not in anchors(resolved):
            fail(f"{where}: broken anchor '{target}' (no heading '#{anchor}' in {resolved})")
            return
    passed += 1


for md in tracked:
    if not md.lower().endswith((".md", ".markdown")) or not os.path.exists(md):
        continue
    text = strip_code(open(md, encoding="utf-8").read().split("\n"))
    for regex in (INLINE, REFDEF, HTML):
        for m in regex.finditer(text):
            lineno = text.count("\n", 0, m.start(1)) + 1
            check_link(md, lineno, m.group(1))

for f in failures:
    print(f"check-tree: FAIL {f}")
print(f"check-tree: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
PY
