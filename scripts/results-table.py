#!/usr/bin/env python3
"""Prints README's results table from the runs under results/ (each with run.json and metrics.jsonl).

Usage: scripts/results-table.py [RUN_DIR ...]   (default: every results/*/ with a metrics.jsonl)
"final" is the test accuracy after the last epoch; "best" the highest after any epoch (chosen on the
test set, so an optimistic figure); wall time is the run's own elapsed_seconds. Runs saved before
`--init` existed started from the fan-in initialisation, which differs from today's default for
convolutions only: their options gain `--init fan-in`, so that the command repeats them.
"""
import json
import pathlib
import sys

dirs = [pathlib.Path(d) for d in sys.argv[1:]] or sorted(
    p.parent for p in pathlib.Path("results").glob("*/metrics.jsonl"))
print("| run | net | data set | command options | epochs | final test | best test (epoch) | wall time |")
print("|---|---|---|---|---:|---:|---:|---:|")
for d in dirs:
    run = json.loads((d / "run.json").read_text())
    rows = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines() if line.strip()]
    best = max(rows, key=lambda r: r["test_accuracy"])
    cmd = run["command"]
    opts = " ".join(a for a in cmd[2:] if not a.startswith("results/") and a not in ("--out",))
    if "init" not in run["hyper"] and "C" in run["net"]:
        opts += " --init fan-in"
    hours = rows[-1]["elapsed_seconds"] / 3600
    print(f"| [{d.name}]({d}/) | `{run['net']}` | {run['config']['dataset']} | `{opts}` | {rows[-1]['epoch']} "
          f"| {100 * rows[-1]['test_accuracy']:.2f} % | {100 * best['test_accuracy']:.2f} % ({best['epoch']}) "
          f"| {hours:.2f} h |")
