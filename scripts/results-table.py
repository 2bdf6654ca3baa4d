#!/usr/bin/env python3
"""Prints the results table of docs/results.md from the runs under results/ (each with run.json and metrics.jsonl)
and the seed sweeps there (`mtsnn sweep --grid seed`, a folder with summary.json and one run folder
per seed).

Usage: scripts/results-table.py [DIR ...]   (default: every results/*/ with a metrics.jsonl or a
seed sweep's summary.json)
"final" is the test accuracy after the last epoch; "best" the highest after any epoch (chosen on the
test set, so an optimistic figure); wall time is the run's own elapsed_seconds. A seed sweep is one
row: mean ± sample std (n − 1) over the seeds whose runs reached the sweep's epochs, n of how many,
and the mean wall time per run. Runs saved before `--init` existed started from the fan-in
initialisation, which differs from today's default for convolutions only: their options gain
`--init fan-in`, so that the command repeats them.
"""
import json
import pathlib
import statistics
import sys


def metrics(d):
    rows = {}
    for line in (d / "metrics.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            rows[r["epoch"]] = r  # a resumed run may repeat an epoch: the last line wins
    return [rows[e] for e in sorted(rows)]


def spread(xs):
    """`mean ± std` in percent; no std for one run."""
    mean = 100 * statistics.mean(xs)
    return f"{mean:.2f} ± {100 * statistics.stdev(xs):.2f} %" if len(xs) > 1 else f"{mean:.2f} %"


def run_row(d):
    run = json.loads((d / "run.json").read_text())
    rows = metrics(d)
    best = max(rows, key=lambda r: r["test_accuracy"])
    cmd = run["command"]
    # The options as typed, but where the run was written (`--out DIR`, which may lie outside the
    # repository); a run of the defaults says so.
    words = cmd[2:]
    opts = " ".join(a for i, a in enumerate(words) if a != "--out" and (i == 0 or words[i - 1] != "--out"))
    opts = opts or "(defaults)"
    if "init" not in run["hyper"] and "C" in run["net"]:
        opts += " --init fan-in"
    hours = rows[-1]["elapsed_seconds"] / 3600
    return (f"| [{d.name}]({d}/) | `{run['net']}` | {run['config']['dataset']} | `{opts}` | {rows[-1]['epoch']} "
            f"| {100 * rows[-1]['test_accuracy']:.2f} % | {100 * best['test_accuracy']:.2f} % ({best['epoch']}) "
            f"| {hours:.2f} h |")


def seed_row(d, summary):
    want = summary["epochs"]
    done, reached = [], []
    for p in summary["points"]:
        run = d / p["dir"]
        rows = metrics(run) if (run / "metrics.jsonl").is_file() else []
        reached.append(str(rows[-1]["epoch"]) if rows else "0")
        if rows and rows[-1]["epoch"] >= want:
            done.append(rows)
    seeds = ",".join(p["value"] for p in summary["points"])
    opts = " ".join(a for a in summary["settings"] if not a.startswith("results/"))
    opts = f"--grid seed --seeds {seeds} {opts} --epochs {want}"
    epochs = f"{want}" if all(e == str(want) for e in reached) else f"{want} (reached {', '.join(reached)})"
    if not done:
        return (f"| [{d.name}]({d}/) | `{summary['net']}` | {summary['dataset']} | `{opts}` | {epochs} "
                f"| – (no run complete) | – | – |")
    finals = [rows[-1]["test_accuracy"] for rows in done]
    bests = [max(r["test_accuracy"] for r in rows) for rows in done]
    hours = statistics.mean(rows[-1]["elapsed_seconds"] for rows in done) / 3600
    return (f"| [{d.name}]({d}/) | `{summary['net']}` | {summary['dataset']} | `{opts}` | {epochs} "
            f"| {spread(finals)} (n = {len(done)} of {len(summary['points'])}; min {100 * min(finals):.2f}, "
            f"max {100 * max(finals):.2f}) | {spread(bests)} | {hours:.2f} h per run |")


def seed_summary(d):
    f = d / "summary.json"
    if f.is_file():
        s = json.loads(f.read_text())
        if s.get("grid") == "seed":
            return s
    return None


dirs = [pathlib.Path(d) for d in sys.argv[1:]] or sorted(
    p for p in pathlib.Path("results").glob("*/")
    if (p / "metrics.jsonl").is_file() or seed_summary(p) is not None)
print("| run | net | data set | command options | epochs | final test | best test (epoch) | wall time |")
print("|---|---|---|---|---:|---:|---:|---:|")
for d in dirs:
    s = seed_summary(d)
    print(seed_row(d, s) if s is not None else run_row(d))
