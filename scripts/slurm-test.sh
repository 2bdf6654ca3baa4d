#!/usr/bin/env bash
# Tests mtsnn's Slurm executor on a real Slurm: a one-node cluster on this machine
# (scripts/slurm-cluster.sh start; on exit it stops what it started, and only that).
#
#   1. mechanics: submits scripts/slurm/sweep.sbatch.in (the shape of the batch script that
#      `mtsnn sweep --executor slurm` writes) with a stand-in for mtsnn (scripts/slurm/fake-mtsnn.py),
#      preempts one array task with `scancel --signal=USR1 --batch`, and checks that the script
#      passes the signal on, sees status 75, requeues the task, and that the task runs again with
#      SLURM_RESTART_COUNT=1 and resumes where it stopped.
#   2. sweep: the same through the mtsnn CLI: `mtsnn sweep --executor slurm --submit` on a 4-seed
#      sweep, one point preempted mid-epoch with USR1, every point complete in the end, `sweep status`
#      and `sweep summary`, and the preempted point's model.safetensors identical to that of the same
#      `mtsnn train` command run here without interruption.
#
# Usage: scripts/slurm-test.sh            (as root: it installs slurm-wlm and munge when missing)
# Environment: MTSNN (the binary; default target/release/mtsnn), MTSNN_SLURM_TEST_ONLY=mechanics|sweep,
#   MTSNN_SLURM_TEST_TIMEOUT (seconds each test may take to finish its jobs; default 480),
#   MTSNN_SLURM_TEST_NET (default 784-800-10), MTSNN_SLURM_TEST_TRAIN (--limit-train, default 50000:
#   an epoch of a few seconds on one thread), MTSNN_SLURM_TEST_KEEP=1 (keep the work folder);
#   and those of scripts/slurm-cluster.sh (MTSNN_SLURM_DIR, MTSNN_SLURM_CRED_EXPIRE...).
# Prints `slurm-test: N passed, N failed` last; exits non-zero when a test failed.
#
# Timings measured on this project's 2-core machines (Slurm 22.05.8; see slurm/slurm.conf.in):
#   - cluster start 0.3-0.5 s (packages installed), stop 0.3 s;
#   - a task is running about 0.1-0.3 s after sbatch when a CPU is free (sched_interval=2);
#   - USR1 from scancel reaches the batch script's trap within 30 ms;
#   - from `scontrol requeue` to the task running again: 10.8-12.1 s with cred_expire=10
#     (the requeued task is PENDING, reason BeginTime, for cred_expire seconds: Slurm's default,
#     120 s, is the "about two minutes" hold; then the scheduler starts it within sched_interval).
#   - the mechanics test takes about 35 s in all; the sweep test about 35 s (784-800-10, 50,000
#     samples: an epoch of 391 batches in 2-3 s at 16,000-17,000 samples/s on one thread; the
#     preempted point stopped 0.8 s after USR1, after batch 113 of 391, and resumed there).
# Slurm 22.05's scancel, given JOB_TASK of an array that still has pending tasks, delivers the
# signal but gets "Job is in transitional state" back (job_str_signal() answers so whenever the
# array's meta record is pending) and retries for about 18 s (at +5, +11 and +18 s): with a short
# cred_expire, a retry signals the task again after it was requeued and restarted, interrupting it
# a second time. So the tests preempt the array's last task (by then no task is pending) and run
# scancel under `timeout 4`, which ends it before its first retry.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

MTSNN="${MTSNN:-target/release/mtsnn}"
[[ "$MTSNN" == /* ]] || MTSNN="$root/$MTSNN"
only="${MTSNN_SLURM_TEST_ONLY:-}"
limit="${MTSNN_SLURM_TEST_TIMEOUT:-480}"
net="${MTSNN_SLURM_TEST_NET:-784-800-10}"
limit_train="${MTSNN_SLURM_TEST_TRAIN:-50000}"
limit_test=1000
cluster="$root/scripts/slurm-cluster.sh"

work="$(mktemp -d /var/tmp/mtsnn-slurm-test.XXXXXX)"
session="$work/cluster-started"
jobs_submitted=()
passed=0
failed=0

say() { echo "slurm-test: $*"; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

cleanup() {
    local rc=$?
    # Output may be gone (piped into head): writing must not kill the clean-up half-way.
    trap '' PIPE
    for job in "${jobs_submitted[@]}"; do scancel "$job" 2>/dev/null || true; done
    "$cluster" stop "$session" || true
    if [[ "$failed" -eq 0 && "$rc" -eq 0 && "${MTSNN_SLURM_TEST_KEEP:-0}" != 1 ]]; then
        rm -rf "$work"
    else
        say "work folder kept: $work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints "STATE EPOCH BATCH BATCHES RESTART" from a state.json, or "missing". Plain bash, no
# process started: fast enough to poll every few milliseconds (catching a run that starts over).
state_of() {
    local json key out=() re
    [[ -f "$1" ]] && json="$(< "$1")" 2> /dev/null || json=""
    if [[ -z "$json" ]]; then
        echo missing
        return
    fi
    if [[ "$json" =~ \"state\"[[:space:]]*:[[:space:]]*\"([a-z]*)\" ]]; then
        out+=("${BASH_REMATCH[1]}")
    else
        out+=(none)
    fi
    for key in epoch batch batches restart; do
        re="\"$key\"[[:space:]]*:[[:space:]]*([0-9]+)"
        if [[ "$json" =~ $re ]]; then out+=("${BASH_REMATCH[1]}"); else out+=(-); fi
    done
    echo "${out[*]}"
}

# wait_until SECONDS DESCRIPTION COMMAND...: runs COMMAND every 0.1 s until it succeeds.
wait_until() {
    local seconds="$1" what="$2" t0=$SECONDS
    shift 2
    until "$@"; do
        if ((SECONDS - t0 >= seconds)); then
            echo "slurm-test: FAIL: waited ${seconds}s for $what" >&2
            return 1
        fi
        sleep 0.1
    done
}

# A running point's state shows at least one batch of an epoch done, and at most half of it.
running_mid_epoch() {
    local s
    read -r -a s <<< "$(state_of "$1")"
    [[ "${s[0]}" == running && "${s[2]:-}" =~ ^[0-9]+$ && "${s[3]:-}" =~ ^[0-9]+$ ]] || return 1
    ((s[2] >= 1 && 2 * s[2] <= s[3]))
}
state_is() { [[ "$(state_of "$1" | cut -d' ' -f1)" == "$2" ]]; }
task_pending_begintime() { [[ "$(squeue -h -j "$1" -o '%T %r' 2>/dev/null)" == "PENDING BeginTime" ]]; }

# all_complete DIR FOLDER...: every point's state.json says complete; a failed one ends the wait.
all_complete() {
    local dir="$1" folder st
    shift
    for folder in "$@"; do
        st="$(state_of "$dir/$folder/state.json" | cut -d' ' -f1)"
        if [[ "$st" == failed ]]; then
            echo "slurm-test: FAIL: point $folder failed: $(cat "$dir/$folder/state.json")" >&2
            return 2
        fi
        [[ "$st" == complete ]] || return 1
    done
}

wait_all_complete() {
    local seconds="$1" dir="$2" t0=$SECONDS rc
    shift 2
    while :; do
        rc=0
        all_complete "$dir" "$@" || rc=$?
        [[ $rc -eq 0 ]] && return 0
        [[ $rc -eq 2 ]] && return 1
        if ((SECONDS - t0 >= seconds)); then
            echo "slurm-test: FAIL: not every point was complete after ${seconds}s" >&2
            return 1
        fi
        sleep 0.5
    done
}

# What went on: the queue, the job, finished jobs, the daemons' logs, the points' states and logs.
diagnose() {
    local job="$1" dir="$2" conf log f name
    conf="${SLURM_CONF:-/etc/slurm/slurm.conf}"
    {
        echo "======== diagnostics (job $job, folder $dir)"
        echo "---- squeue"; squeue -a -o '%.14i %.10T %.20r %.8M %.10l %R' 2>&1 || true
        echo "---- scontrol show job $job"; scontrol show job "$job" 2>&1 | head -n 80 || true
        if sacct -n -j "$job" >/dev/null 2>&1; then
            echo "---- sacct"; sacct -j "$job" -o JobID,State,ExitCode,Restarts,Elapsed 2>&1 || true
        fi
        log="$(sed -n 's/^ *JobCompLoc *= *//Ip' "$conf" 2>/dev/null | head -n1)"
        if [[ -n "$log" && -f "$log" ]]; then
            echo "---- finished tasks of job $job: $log"
            grep -E "^JobId=$job |ArrayJobId=$job " "$log" | tail -n 20 || true
        fi
        for name in SlurmctldLogFile SlurmdLogFile; do
            log="$(sed -n "s/^ *$name *= *//Ip" "$conf" 2>/dev/null | head -n1)"
            if [[ -n "$log" && -f "$log" ]]; then echo "---- $log (last 40 lines)"; tail -n 40 "$log"; fi
        done
        for f in "$dir"/*/state.json; do
            [[ -f "$f" ]] && echo "---- $f: $(cat "$f")"
        done
        for f in "$dir"/slurm/*.out "$dir"/*/log "$dir"/*.out "$dir"/logs/*; do
            if [[ -f "$f" ]]; then echo "---- $f (last 40 lines)"; tail -n 40 "$f"; fi
        done
        echo "======== end of diagnostics"
    } >&2
}

fail() {
    echo "slurm-test: FAIL: $*" >&2
    return 1
}

# Sends USR1 to one array task's batch script, the way a site's preemption would. `timeout 4`:
# see the header (scancel's retries).
preempt() {
    local rc=0
    timeout 4 scancel --signal=USR1 --batch "$1" || rc=$?
    [[ $rc -eq 0 || $rc -eq 124 ]] || fail "scancel --signal=USR1 --batch $1 exited with $rc"
}

test_mechanics() {
    local dir="$work/mechanics" job out t_sig t_int t_run s victim=3 npoints=4 folders=()
    mkdir -p "$dir/slurm"
    local cmd="python3 $root/scripts/slurm/fake-mtsnn.py sweep run-point $dir --index \"\$SLURM_ARRAY_TASK_ID\""
    sed -e "s|@DIR@|$dir|g" -e "s|@ARRAY@|0-$((npoints - 1))|g" -e "s|@CPUS@|1|g" -e "s|@TIME@|30|g" \
        -e "s|@COMMAND@|$cmd|g" scripts/slurm/sweep.sbatch.in > "$dir/sweep.sbatch"
    for ((i = 0; i < npoints; i++)); do folders+=("point-$i"); done
    out="$(sbatch "$dir/sweep.sbatch")" || { fail "sbatch: $out"; return 1; }
    job="${out##* }"
    jobs_submitted+=("$job")
    say "mechanics: $out; preempting task ${job}_$victim"
    local st="$dir/point-$victim/state.json"

    wait_until 120 "task ${job}_$victim to run" running_mid_epoch "$st" || { diagnose "$job" "$dir"; return 1; }
    t_sig="$(now)"
    preempt "${job}_$victim" || { diagnose "$job" "$dir"; return 1; }
    wait_until 30 "point $victim to be interrupted" state_is "$st" interrupted \
        || { diagnose "$job" "$dir"; return 1; }
    t_int="$(now)"
    read -r -a s <<< "$(state_of "$st")"
    say "mechanics: interrupted $(elapsed "$t_sig" "$t_int") s after the signal, at epoch ${s[1]} batch ${s[2]} of ${s[3]}"
    if ! [[ "${s[2]}" -gt 0 && "${s[2]}" -lt "${s[3]}" ]]; then
        fail "interrupted at batch ${s[2]} of ${s[3]}, not mid-epoch"; diagnose "$job" "$dir"; return 1
    fi
    wait_until 20 "task ${job}_$victim to be pending with reason BeginTime" task_pending_begintime "${job}_$victim" \
        || { diagnose "$job" "$dir"; return 1; }
    restarted() { [[ "$(state_of "$st" | cut -d' ' -f5)" == 1 ]]; }
    wait_until 300 "task ${job}_$victim to run again" restarted || { diagnose "$job" "$dir"; return 1; }
    t_run="$(now)"
    say "mechanics: task ran again $(elapsed "$t_int" "$t_run") s after it was interrupted (the requeue hold)"
    wait_all_complete "$limit" "$dir" "${folders[@]}" || { diagnose "$job" "$dir"; return 1; }

    # The task ran twice: first from the start, then from where it was interrupted.
    local log="$dir/point-$victim/log" starts
    starts="$(grep -c ' start ' "$log")"
    if [[ "$starts" -ne 2 ]]; then
        fail "point $victim started $starts times, not 2 (interrupted more than once?)"; diagnose "$job" "$dir"; return 1
    fi
    if ! grep -q " start restart=1 epoch=${s[1]} batch=${s[2]}\$" "$log"; then
        fail "point $victim did not resume at epoch ${s[1]} batch ${s[2]}"; diagnose "$job" "$dir"; return 1
    fi
    local slog
    slog="$(ls "$dir"/slurm/*_"$victim".out)"
    for want in "got SIGUSR1" "mtsnn exited with status 75" "requeued ${job}_$victim" "restart 1"; do
        grep -q "$want" "$slog" || { fail "$slog lacks '$want'"; diagnose "$job" "$dir"; return 1; }
    done
    say "mechanics: all $npoints tasks complete; task $victim was preempted, requeued and resumed"
}

# The sweep's manifest: DIR/manifest.json ({"points":[{"index","folder","command"}]}), or the
# CLI's DIR/sweep.json ({"points":[{"dir","train_args"}]}, a point's index being its position).
# A Python helper that the two functions below share.
manifest_py='
import json, os, sys
d = sys.argv[1]
path = os.path.join(d, "manifest.json")
if not os.path.exists(path):
    path = os.path.join(d, "sweep.json")
with open(path) as f:
    points = json.load(f)["points"]
def index(i, p): return p.get("index", i)
def folder(p): return p.get("folder", p.get("dir"))
def command(p): return p.get("command", p.get("train_args"))
'

# Prints the points of DIR's manifest as lines "INDEX FOLDER".
manifest_points() {
    python3 -c "$manifest_py
for i, p in enumerate(points):
    print(index(i, p), folder(p))" "$1"
}

# Prints, NUL-separated, the `mtsnn train` arguments of point INDEX of DIR's manifest with --out OUT.
local_train_args() {
    python3 -c "$manifest_py
point = next(p for i, p in enumerate(points) if str(index(i, p)) == sys.argv[2])
cmd = list(command(point))
# The command may start with the program: drop it, and make sure it says train.
if cmd and cmd[0] != \"train\" and os.path.basename(cmd[0]).startswith(\"mtsnn\"):
    cmd = cmd[1:]
if not cmd or cmd[0] != \"train\":
    cmd = [\"train\"] + cmd
out, i = [], 0
while i < len(cmd):
    if cmd[i] == \"--out\":
        i += 2
        continue
    if cmd[i].startswith(\"--out=\"):
        i += 1
        continue
    out.append(cmd[i])
    i += 1
out += [\"--out\", sys.argv[3]]
# The same threads as the Slurm task (the test gives every point one).
if not any(a == \"--threads\" or a.startswith(\"--threads=\") for a in out):
    out += [\"--threads\", \"1\"]
sys.stdout.write(\"\\0\".join(out) + \"\\0\")" "$1" "$2" "$3"
}

# Compares two safetensors files tensor by tensor (the header's __metadata__ aside).
same_tensors() {
    python3 - "$1" "$2" <<'EOF'
import json, struct, sys

def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    return meta, {k: (v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]])
                  for k, v in header.items()}

(ma, a), (mb, b) = load(sys.argv[1]), load(sys.argv[2])
if a.keys() != b.keys():
    sys.exit(f"tensor names differ: {sorted(a)} vs {sorted(b)}")
bad = [k for k in a if a[k] != b[k]]
if bad:
    sys.exit(f"tensors differ: {bad}")
if ma == mb:
    print(f"{len(a)} tensors identical; the metadata holds the same values in another order")
else:
    keys = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
    print(f"{len(a)} tensors identical; metadata differs in {keys}")
EOF
}

test_sweep() {
    if [[ ! -x "$MTSNN" ]]; then
        fail "no mtsnn binary at $MTSNN (build it: cargo build --release -p mtsnn-cli, or set MTSNN)"
        return 1
    fi
    if ! "$MTSNN" sweep --help 2>&1 | grep -q -- '--executor'; then
        fail "$MTSNN sweep has no --executor option"
        return 1
    fi
    [[ -f data/mnist/train-images-idx3-ubyte ]] || scripts/fetch-data.sh mnist

    local dir="$work/sweep" out job i points=() folders=() victim victim_folder
    out="$("$MTSNN" sweep --out "$dir" --net "$net" --dataset mnist --set seed=1,2,3,4 --epochs 2 \
        --limit-train "$limit_train" --limit-test "$limit_test" --threads 1 \
        --executor slurm --submit --cpus-per-task 1 --time 30 2>&1)" \
        || { echo "$out" >&2; fail "mtsnn sweep --executor slurm --submit failed"; return 1; }
    echo "$out" | tail -n 5
    job="$(sed -n 's/^submitted batch job \([0-9][0-9]*\).*/\1/p' <<< "$out" | tail -n1)"
    [[ -n "$job" ]] || { fail "no 'submitted batch job JOBID' line"; return 1; }
    jobs_submitted+=("$job")
    local sb="$dir/sweep.sbatch"
    [[ -f "$sb" ]] || { fail "no $sb"; diagnose "$job" "$dir"; return 1; }
    for want in "#SBATCH --requeue" "#SBATCH --signal=B:USR1@120" "#SBATCH --array" "scontrol requeue" \
        "run-point"; do
        grep -q -- "$want" "$sb" || { fail "$sb lacks '$want'"; diagnose "$job" "$dir"; return 1; }
    done
    mapfile -t points < <(manifest_points "$dir") || true
    [[ ${#points[@]} -ge 4 ]] || { fail "the manifest lists ${#points[@]} points, not 4"; diagnose "$job" "$dir"; return 1; }
    for i in "${points[@]}"; do folders+=("${i#* }"); done
    # The last point: it starts when no task of the array is pending any more (see the header).
    victim="${points[-1]%% *}"
    victim_folder="${points[-1]#* }"
    local st="$dir/$victim_folder/state.json"
    say "sweep: job $job, ${#points[@]} points; preempting point $victim ($victim_folder), task ${job}_$victim"

    wait_until "$limit" "point $victim to be mid-epoch" running_mid_epoch "$st" || { diagnose "$job" "$dir"; return 1; }
    local t_sig t_int t_run s r
    t_sig="$(now)"
    preempt "${job}_$victim" || { diagnose "$job" "$dir"; return 1; }
    wait_until 60 "point $victim to be interrupted" state_is "$st" interrupted || { diagnose "$job" "$dir"; return 1; }
    t_int="$(now)"
    read -r -a s <<< "$(state_of "$st")"
    say "sweep: interrupted $(elapsed "$t_sig" "$t_int") s after the signal, at epoch ${s[1]} batch ${s[2]} of ${s[3]}"
    if ! [[ "${s[2]}" -gt 0 && "${s[2]}" -lt "${s[3]}" ]]; then
        fail "interrupted at batch ${s[2]} of ${s[3]}, not mid-epoch"; diagnose "$job" "$dir"; return 1
    fi
    [[ -f "$dir/$victim_folder/checkpoint.safetensors" ]] \
        || { fail "no checkpoint.safetensors after the interruption"; diagnose "$job" "$dir"; return 1; }
    wait_until 20 "task ${job}_$victim to be requeued (pending, reason BeginTime)" \
        task_pending_begintime "${job}_$victim" || { diagnose "$job" "$dir"; return 1; }
    # Running again: it must go on from the checkpoint, not from the start of the run. Polled every
    # 10 ms, so that a run that started over shows an earlier batch than the one interrupted.
    local t0=$SECONDS
    until state_is "$st" running || state_is "$st" complete; do
        if ((SECONDS - t0 >= limit)); then
            fail "point $victim did not run again within ${limit}s"; diagnose "$job" "$dir"; return 1
        fi
        sleep 0.01
    done
    t_run="$(now)"
    read -r -a r <<< "$(state_of "$st")"
    say "sweep: point $victim ran again $(elapsed "$t_int" "$t_run") s later, first seen at epoch ${r[1]} batch ${r[2]}"
    if [[ "${r[0]}" == running ]] && ((r[1] < s[1] || (r[1] == s[1] && r[2] < s[2]))); then
        fail "point $victim started over (epoch ${r[1]} batch ${r[2]}) instead of resuming at epoch ${s[1]} batch ${s[2]}"
        diagnose "$job" "$dir"; return 1
    fi
    wait_all_complete "$limit" "$dir" "${folders[@]}" || { diagnose "$job" "$dir"; return 1; }
    # The task's log (the batch script's --output) says that the second run resumed.
    local tlog
    tlog="$(ls "$dir"/slurm/*_"$victim".out 2>/dev/null | head -n1)"
    if [[ -n "$tlog" ]] && ! grep -qi 'resum' "$tlog"; then
        fail "$tlog does not say that the point resumed"; diagnose "$job" "$dir"; return 1
    fi
    local restarts
    restarts="$(scontrol show job "${job}_$victim" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p' | head -n1)"
    if [[ -n "$restarts" && "$restarts" != 1 ]]; then
        fail "task ${job}_$victim ran $restarts restarts, not 1"; diagnose "$job" "$dir"; return 1
    fi
    say "sweep: every point complete (Slurm counts ${restarts:-?} restart of the preempted task)"
    for i in "${folders[@]}"; do
        [[ -f "$dir/$i/model.safetensors" ]] || { fail "no $dir/$i/model.safetensors"; return 1; }
    done

    local status
    status="$("$MTSNN" sweep status "$dir" 2>&1)" || { echo "$status" >&2; fail "mtsnn sweep status failed"; return 1; }
    echo "$status"
    "$MTSNN" sweep status "$dir" --json > "$work/status.json" 2>&1 \
        || { cat "$work/status.json" >&2; fail "mtsnn sweep status --json failed"; return 1; }
    python3 - "${#points[@]}" "$work/status.json" <<'EOF' \
        || { cat "$work/status.json" >&2; fail "sweep status --json does not say complete for every point"; return 1; }
import json, sys
# One JSON document, or one per line (JSON Lines); a point's state under "state" or "status".
states = []
def walk(v):
    if isinstance(v, dict):
        st = v.get("state", v.get("status"))
        if isinstance(st, str) and ("index" in v or "folder" in v or "dir" in v):
            states.append(st)
        for x in v.values():
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
with open(sys.argv[2]) as f:
    text = f.read()
try:
    walk(json.loads(text))
except ValueError:
    for line in text.splitlines():
        if line.strip():
            walk(json.loads(line))
if len(states) != int(sys.argv[1]) or any(s != "complete" for s in states):
    sys.exit(f"states: {states}")
EOF
    local summary
    summary="$("$MTSNN" sweep summary "$dir" 2>&1)" || { echo "$summary" >&2; fail "mtsnn sweep summary failed"; return 1; }
    echo "$summary"
    grep -q -e '±' -e 'mean' <<< "$summary" || { fail "sweep summary prints no mean ± std"; return 1; }

    # The same point, trained here in one go: the model must be the same.
    local args=() local_out="$work/local-$victim_folder"
    mapfile -d '' -t args < <(local_train_args "$dir" "$victim" "$local_out")
    say "sweep: training point $victim here without interruption: mtsnn ${args[*]}"
    "$MTSNN" "${args[@]}" > "$work/local-train.log" 2>&1 \
        || { tail -n 30 "$work/local-train.log" >&2; fail "local mtsnn train failed"; return 1; }
    local a="$dir/$victim_folder/model.safetensors" b="$local_out/model.safetensors"
    if cmp -s "$a" "$b"; then
        say "sweep: the preempted point's model.safetensors is byte-identical to the uninterrupted run's"
    else
        local why
        why="$(same_tensors "$a" "$b" 2>&1)" || { fail "models differ: $why"; return 1; }
        say "sweep: model files differ in their metadata only; $why"
    fi
}

run_test() {
    local name="$1" t0=$SECONDS
    say "---- $name"
    if "test_$name"; then
        passed=$((passed + 1))
        say "PASS $name ($((SECONDS - t0)) s)"
    else
        failed=$((failed + 1))
        say "FAIL $name ($((SECONDS - t0)) s)"
    fi
}

"$cluster" start "$session"
eval "$("$cluster" env)"
export SLURM_CONF

[[ -z "$only" || "$only" == mechanics ]] && run_test mechanics
[[ -z "$only" || "$only" == sweep ]] && run_test sweep
echo "slurm-test: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
