#!/usr/bin/env python3
"""Tabulates a dead-class study: for each sweep folder given (one remedy, many seeds), how many runs
had a dead class (an output neuron that fired for no test input) after epoch 1 and after epoch E =
10 (or the last epoch every run of the folder has recorded), how many restarts the guard made, and the mean test accuracy of each epoch.

    scripts/dead-classes.py results/dead-classes/mnist-mlp/paper results/dead-classes/mnist-mlp/guard

Reads every `*/metrics.jsonl` below each folder (the sweep's points); prints Markdown.
"""

import json
import statistics
import sys
from pathlib import Path


def runs(folder):
    out = []
    def natural(path):
        name = path.parent.name
        digits = name.rstrip("0123456789")
        return (digits, int(name[len(digits):] or 0))

    for metrics in sorted(Path(folder).glob("*/metrics.jsonl"), key=natural):
        lines = [json.loads(l) for l in metrics.read_text().splitlines() if l.strip()]
        if lines:
            out.append((metrics.parent.name, lines))
    return out


def dead(line):
    return [c for c, f in enumerate(line.get("output_firing", [])) if f == 0.0]


def main(folders):
    if not folders:
        sys.exit(__doc__)
    rows, curves = [], []
    for folder in folders:
        points = runs(folder)
        if not points:
            sys.exit(f"{folder}: no */metrics.jsonl")
        epochs = min(len(lines) for _, lines in points)
        last = min(10, epochs)
        dead1 = [name for name, lines in points if dead(lines[0])]
        dead_last = [name for name, lines in points if dead(lines[last - 1])]
        restarts = sum(
            len(l.get("restarted_classes", [])) for _, lines in points for l in lines[:last]
        )
        final = [lines[last - 1]["test_accuracy"] * 100 for _, lines in points]
        rows.append(
            f"| {folder} | {len(points)} | {last} | {len(dead1)} ({', '.join(dead1) or '–'}) "
            f"| {len(dead_last)} ({', '.join(dead_last) or '–'}) | {restarts} "
            f"| {statistics.mean(final):.2f} ± {statistics.stdev(final) if len(final) > 1 else 0:.2f} "
            f"| {min(final):.2f} |"
        )
        curves.append(
            (folder, [statistics.mean(l[e]["test_accuracy"] * 100 for _, l in points) for e in range(last)])
        )
    print("| study | runs | epoch E | dead after epoch 1 | dead after epoch E | restarts to E | test % after E (mean ± std) | lowest |")
    print("|---|---:|---:|---|---|---:|---:|---:|")
    print("\n".join(rows))
    print()
    width = max(len(c) for _, c in curves)
    print("| study | " + " | ".join(f"ep {e + 1}" for e in range(width)) + " |")
    print("|---|" + "---:|" * width)
    for folder, c in curves:
        print(f"| {folder} | " + " | ".join(f"{a:.2f}" for a in c) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
