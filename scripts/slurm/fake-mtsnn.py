#!/usr/bin/env python3
"""A stand-in for `mtsnn sweep run-point DIR --index I`, for scripts/slurm-test.sh's check of the
Slurm mechanics. It keeps the contract of the real command's files: DIR/point-I/state.json =
{"state": "running"|"interrupted"|"complete", "epoch": E, "batch": B, "batches": NB}, and it exits
with 75 after saving a checkpoint mid-epoch when it gets USR1 or TERM. Two epochs of 20 batches of
0.25 s (FAKE_MTSNN_BATCH_SECONDS). It also logs each start (with SLURM_RESTART_COUNT and where it resumed) to DIR/point-I/log."""
import json
import os
import signal
import sys
import time

BATCHES, EPOCHS = 20, 2
BATCH_SECONDS = float(os.environ.get("FAKE_MTSNN_BATCH_SECONDS", "0.25"))

if len(sys.argv) != 6 or sys.argv[1:3] != ["sweep", "run-point"] or sys.argv[4] != "--index":
    sys.exit("usage: fake-mtsnn.py sweep run-point DIR --index I")
folder = os.path.join(sys.argv[3], f"point-{int(sys.argv[5])}")
os.makedirs(folder, exist_ok=True)
checkpoint = os.path.join(folder, "checkpoint.json")
restart = os.environ.get("SLURM_RESTART_COUNT", "0")
epoch, batch = 1, 0
if os.path.exists(checkpoint):
    with open(checkpoint) as f:
        saved = json.load(f)
    epoch, batch = saved["epoch"], saved["batch"]

signals = []
signal.signal(signal.SIGUSR1, lambda s, _: signals.append(signal.Signals(s).name))
signal.signal(signal.SIGTERM, lambda s, _: signals.append(signal.Signals(s).name))


def write_json(path, value):
    with open(path + ".tmp", "w") as f:
        json.dump(value, f)
    os.replace(path + ".tmp", path)


def state(name):
    write_json(os.path.join(folder, "state.json"),
               {"state": name, "epoch": epoch, "batch": batch, "batches": BATCHES, "restart": int(restart)})


def log(line):
    with open(os.path.join(folder, "log"), "a") as f:
        f.write(f"{time.time():.3f} {line}\n")


log(f"start restart={restart} epoch={epoch} batch={batch}")
while epoch <= EPOCHS:
    while batch < BATCHES:
        state("running")
        time.sleep(BATCH_SECONDS)
        batch += 1
        if signals:
            write_json(checkpoint, {"epoch": epoch, "batch": batch})
            state("interrupted")
            log(f"interrupted by {signals[0]} epoch={epoch} batch={batch}")
            sys.exit(75)
    epoch, batch = epoch + 1, 0
    write_json(checkpoint, {"epoch": epoch, "batch": batch})
epoch, batch = EPOCHS, BATCHES
state("complete")
log("complete")
