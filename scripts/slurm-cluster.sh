#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for mtsnn's Slurm tests (scripts/slurm-test.sh).
#
#   scripts/slurm-cluster.sh start [FILE]  install slurm-wlm and munge when missing (apt), write
#                                     the config, start munged, slurmctld and slurmd (only those
#                                     not already running) and wait until the node is usable;
#                                     with FILE, also lists in FILE what this call started
#   scripts/slurm-cluster.sh stop [FILE]   stop the daemons that `start` started (with FILE: those
#                                     that the `start` given FILE started), and no others
#   scripts/slurm-cluster.sh status   which daemons run, which of them `start` started, sinfo
#   scripts/slurm-cluster.sh env      prints `export SLURM_CONF=...` for the cluster's config
#
# Needs root, like the daemons (SlurmUser=root; munged runs as the `munge` user). There is no
# systemd and there are no cgroups where it is meant to run, so it starts the daemons directly.
#
# Environment:
#   MTSNN_SLURM_DIR          scratch directory: config, state, spool, logs, PIDs
#                            (default /var/tmp/mtsnn-slurm)
#   MTSNN_SLURM_CRED_EXPIRE  AuthInfo=cred_expire: how long Slurm holds a requeued job before it
#                            may run again (Slurm's default is 120 s, its minimum 5 s; default 10)
#   MTSNN_SLURM_TIMEOUT      seconds `start` waits for the node to come up (default 90)
#   MTSNN_SLURM_KEEP_STATE=1 keep the jobs of an earlier run of this cluster (slurmctld without -c)
#
# When a cluster is already running (munged, slurmctld or slurmd started by someone else), `start`
# starts only what is missing, and uses the config that the running slurmctld (or slurmd) reads;
# `stop` stops only the processes whose ids `start` recorded in $MTSNN_SLURM_DIR/run/started.
#
# Measured on this project's 2-core Debian 12 machines (slurm-wlm 22.05.8, munge 0.5.15): `start`
# with the packages installed takes 0.3-0.5 s until sinfo shows the node idle, `stop` 0.3 s.
# The requeue hold (cred_expire): from `scontrol requeue` to the task running again 10.7-12.1 s
# with cred_expire=10 (6 runs), 121.8 s with Slurm's default of 120 (1 run). Slurm sets the hold
# in batch_requeue_fini() (src/slurmctld/job_mgr.c) to now + cred_expire + 1 for every requeue,
# RequeueExit included; cred_expire (AuthInfo) is the only knob, and it must outlast a job's
# launch.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${MTSNN_SLURM_DIR:-/var/tmp/mtsnn-slurm}"
cred_expire="${MTSNN_SLURM_CRED_EXPIRE:-10}"
timeout="${MTSNN_SLURM_TIMEOUT:-90}"
our_conf="$dir/etc/slurm.conf"
started="$dir/run/started"
marker="# written by mtsnn scripts/slurm-cluster.sh"

# `|| true`: a closed output (a caller piped into head) must not stop a `stop` half-way.
say() { echo "slurm-cluster: $*" 2>/dev/null || true; }
die() { echo "slurm-cluster: error: $*" >&2 || true; exit 1; }

# Start time of a live process in clock ticks since boot (field 22 of /proc/PID/stat); fails for
# a process that is gone or a zombie. With the id it names one process, so a recorded id that was
# reused by another process is never killed.
start_time() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    # Fields after the command name start at field 3 (the state).
    set -- $stat
    [[ "$1" != Z && "$1" != X ]] || return 1
    echo "${20}"
}

# The id of the oldest live process named exactly $1, or nothing.
pid_of() {
    local pid
    for pid in $(pgrep -x "$1" 2>/dev/null); do
        if start_time "$pid" >/dev/null; then echo "$pid"; return; fi
    done
}

# The config file a running slurm daemon reads: -f FILE on its command line, else SLURM_CONF in its
# environment, else the default.
conf_of_pid() {
    local pid="$1" arg prev="" conf=""
    while IFS= read -r -d '' arg; do
        if [[ "$prev" == "-f" ]]; then conf="$arg"; fi
        prev="$arg"
    done < "/proc/$pid/cmdline"
    if [[ -z "$conf" ]]; then
        conf="$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | sed -n 's/^SLURM_CONF=//p' | head -n1)"
    fi
    echo "${conf:-/etc/slurm/slurm.conf}"
}

# The config the cluster uses: that of a running slurmctld or slurmd, else ours.
cluster_conf() {
    local pid
    for name in slurmctld slurmd; do
        pid="$(pid_of "$name")"
        if [[ -n "$pid" ]]; then conf_of_pid "$pid"; return; fi
    done
    echo "$our_conf"
}

install_packages() {
    local missing=()
    for cmd in slurmctld slurmd sbatch munged; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
    done
    [[ ${#missing[@]} -eq 0 ]] && return
    [[ "$(id -u)" -eq 0 ]] || die "${missing[*]} missing, and installing slurm-wlm and munge needs root"
    say "installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    # Another apt-get may hold dpkg's lock (DPkg::Lock::Timeout waits for it) or that of the package
    # lists (apt-get update then fails at once): try again for a while rather than fail.
    local try
    for try in 1 2 3 4 5 6 7 8 9 10; do
        if apt-get -o DPkg::Lock::Timeout=600 update -qq \
            && apt-get -o DPkg::Lock::Timeout=600 install -y -qq slurm-wlm munge >/dev/null; then
            return
        fi
        say "apt-get failed (try $try of 10); trying again in 15 s"
        sleep 15
    done
    die "could not install slurm-wlm and munge"
}

write_config() {
    local host cpus
    host="$(hostname -s)"
    cpus="$(nproc)"
    mkdir -p "$dir/etc" "$dir/state" "$dir/spool" "$dir/log" "$dir/run"
    sed -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" -e "s|@DIR@|$dir|g" \
        -e "s|@CRED_EXPIRE@|$cred_expire|g" "$here/slurm/slurm.conf.in" > "$our_conf.tmp"
    { echo "$marker"; cat "$our_conf.tmp"; } > "$our_conf"
    rm -f "$our_conf.tmp"
    # Commands that do not see SLURM_CONF (a shell opened later, mtsnn run by hand) read
    # /etc/slurm/slurm.conf: point it at ours when nobody else's is there.
    mkdir -p /etc/slurm
    if [[ ! -e /etc/slurm/slurm.conf && ! -L /etc/slurm/slurm.conf ]]; then
        ln -s "$our_conf" /etc/slurm/slurm.conf
        note "link /etc/slurm/slurm.conf"
    fi
}

munge_setup() {
    local key=/etc/munge/munge.key
    mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
    if [[ ! -s "$key" ]]; then
        say "creating $key"
        dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge "$key" /run/munge /var/lib/munge /var/log/munge
    chmod 0700 /etc/munge /var/log/munge
    chmod 0400 "$key"
    chmod 0755 /run/munge
    chmod 0711 /var/lib/munge
}

# Notes a line in the list of what start started, and in the caller's list ($session) if any.
note() {
    echo "$1" >> "$started"
    if [[ -n "$session" ]]; then echo "$1" >> "$session"; fi
}

# Records that we started process $2 named $1.
record() {
    local st
    st="$(start_time "$2")" || die "$1 (pid $2) exited right after it started"
    note "$1 $2 $st"
}

# Waits up to $2 s for the file $1 to hold a live process id; prints it.
wait_pidfile() {
    local file="$1" limit="$2" pid i
    for ((i = 0; i < limit * 10; i++)); do
        if [[ -s "$file" ]]; then
            pid="$(tr -d ' \n' < "$file")"
            if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; return 0; fi
        fi
        sleep 0.1
    done
    return 1
}

# A value from a slurm.conf, e.g. conf_value FILE SlurmdLogFile.
conf_value() { sed -n "s/^ *$2 *= *\([^ #]*\).*/\1/Ip" "$1" 2>/dev/null | head -n1; }

# The daemons' log tails and sinfo, to stderr: what a failed start shows.
tails() {
    local conf="$1" name log
    for name in munged slurmctld slurmd; do
        case "$name" in
            munged) log=/var/log/munge/munged.log ;;
            slurmctld) log="$(conf_value "$conf" SlurmctldLogFile)" ;;
            slurmd) log="$(conf_value "$conf" SlurmdLogFile)" ;;
        esac
        echo "---- $name: ${log:-(no log file)} (last 30 lines)" >&2
        if [[ -n "$log" && -f "$log" ]]; then tail -n 30 "$log" >&2; fi
    done
    echo "---- sinfo" >&2
    SLURM_CONF="$conf" timeout 10 sinfo -N -l >&2 || true
}

node_usable() {
    # Node state of every node, e.g. "idle", "mix", "alloc", "down*", "unk*", "drain".
    local states
    states="$(SLURM_CONF="$1" timeout 10 sinfo -h -N -o '%t' 2>/dev/null)" || return 1
    [[ -n "$states" ]] || return 1
    grep -qxE 'idle|mix|alloc|comp' <<< "$states"
}

start() {
    install_packages
    mkdir -p "$dir/run"
    exec 9> "$dir/run/lock"
    flock -w 120 9 || die "another slurm-cluster.sh holds $dir/run/lock"
    touch "$started"

    local munged_pid ctld_pid slurmd_pid conf
    munged_pid="$(pid_of munged)"
    ctld_pid="$(pid_of slurmctld)"
    slurmd_pid="$(pid_of slurmd)"
    if [[ -n "$ctld_pid" || -n "$slurmd_pid" ]]; then
        conf="$(cluster_conf)"
        say "a cluster is running already (slurmctld ${ctld_pid:-none}, slurmd ${slurmd_pid:-none}); its config: $conf"
    else
        write_config
        conf="$our_conf"
    fi
    export SLURM_CONF="$conf"

    if [[ -n "$munged_pid" ]]; then
        say "munged runs already (pid $munged_pid)"
    else
        munge_setup
        rm -f /run/munge/munged.pid
        # --force: a socket left behind by a munged that died is no reason to refuse.
        runuser -u munge -- /usr/sbin/munged --force 9>&-
        munged_pid="$(wait_pidfile /run/munge/munged.pid 10)" \
            || { tails "$conf"; die "munged did not start"; }
        record munged "$munged_pid"
        say "started munged (pid $munged_pid)"
    fi
    munge -n | unmunge >/dev/null || { tails "$conf"; die "munge does not work"; }

    if [[ -n "$ctld_pid" ]]; then
        say "slurmctld runs already (pid $ctld_pid)"
    else
        local pidfile
        pidfile="$(conf_value "$conf" SlurmctldPidFile)"
        pidfile="${pidfile:-/run/slurmctld.pid}"
        rm -f "$pidfile"
        local clear=(-c)
        [[ "${MTSNN_SLURM_KEEP_STATE:-0}" == 1 ]] && clear=()
        # 9>&-: the daemons must not inherit (and so hold) the lock.
        slurmctld -f "$conf" "${clear[@]}" 9>&-
        ctld_pid="$(wait_pidfile "$pidfile" 20)" || { tails "$conf"; die "slurmctld did not start"; }
        record slurmctld "$ctld_pid"
        say "started slurmctld (pid $ctld_pid)"
    fi

    if [[ -n "$slurmd_pid" ]]; then
        say "slurmd runs already (pid $slurmd_pid)"
    else
        local pidfile
        pidfile="$(conf_value "$conf" SlurmdPidFile)"
        pidfile="${pidfile:-/run/slurmd.pid}"
        rm -f "$pidfile"
        slurmd -f "$conf" 9>&-
        slurmd_pid="$(wait_pidfile "$pidfile" 20)" || { tails "$conf"; die "slurmd did not start"; }
        record slurmd "$slurmd_pid"
        say "started slurmd (pid $slurmd_pid)"
    fi

    local t0=$SECONDS
    until node_usable "$conf"; do
        if ((SECONDS - t0 >= timeout)); then
            tails "$conf"
            die "the node did not become idle within ${timeout}s"
        fi
        # A node that slurmctld marked down before slurmd registered comes back by itself
        # (ReturnToService=2), but one drained or down from an earlier run of our cluster needs
        # resuming (someone else's cluster is theirs to mend).
        if ((SECONDS - t0 >= 5)) && [[ "$conf" == "$our_conf" ]]; then
            SLURM_CONF="$conf" scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
        fi
        sleep 0.5
    done
    say "node up after $((SECONDS - t0))s:"
    sinfo -N
    say "SLURM_CONF=$conf"
}

stop() {
    [[ -d "$dir/run" ]] || { say "nothing to stop"; return; }
    exec 9> "$dir/run/lock"
    flock -w 120 9 || die "another slurm-cluster.sh holds $dir/run/lock"
    local list="${session:-$started}"
    if [[ ! -s "$list" ]]; then
        say "nothing to stop: slurm-cluster.sh start${session:+ $session} started no daemon"
        rm -f "$list"
        return
    fi
    local name pid st pids=()
    # slurmd first, then slurmctld, then munged: the reverse of the order they started in.
    while read -r name pid st; do
        if [[ "$name" == link ]]; then
            if [[ -L "$pid" && "$(readlink "$pid")" == "$our_conf" ]]; then rm -f "$pid"; fi
            continue
        fi
        if [[ "$(start_time "$pid" 2>/dev/null)" == "$st" ]]; then
            say "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid:$st:$name")
        else
            say "$name (pid $pid) has exited already"
        fi
    done < <(tac "$list")
    local entry deadline=$((SECONDS + 30)) alive
    while :; do
        alive=()
        for entry in "${pids[@]}"; do
            IFS=: read -r pid st name <<< "$entry"
            [[ "$(start_time "$pid" 2>/dev/null)" == "$st" ]] && alive+=("$entry")
        done
        [[ ${#alive[@]} -eq 0 ]] && break
        if ((SECONDS >= deadline)); then
            for entry in "${alive[@]}"; do
                IFS=: read -r pid st name <<< "$entry"
                say "$name (pid $pid) ignored SIGTERM for 30s: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            done
            deadline=$((SECONDS + 10))
        fi
        sleep 0.2
    done
    if [[ -n "$session" ]]; then
        # Forget what this session started, and keep what other calls of start did.
        grep -vxF -f "$session" "$started" > "$started.tmp" || true
        mv "$started.tmp" "$started"
        rm -f "$session"
    else
        rm -f "$started"
    fi
    say "stopped"
}

status() {
    local name pid conf ours
    for name in munged slurmctld slurmd; do
        pid="$(pid_of "$name")"
        ours=""
        if [[ -n "$pid" && -f "$started" ]] && grep -q "^$name $pid " "$started"; then
            ours=" (started by slurm-cluster.sh)"
        fi
        if [[ -n "$pid" ]]; then echo "$name: running, pid $pid$ours"; else echo "$name: not running"; fi
    done
    conf="$(cluster_conf)"
    echo "SLURM_CONF=$conf"
    if [[ -n "$(pid_of slurmctld)" ]]; then
        SLURM_CONF="$conf" timeout 10 sinfo -N || true
        SLURM_CONF="$conf" timeout 10 squeue || true
    fi
}

session="${2:-}"
if [[ -n "$session" && "$session" != /* ]]; then session="$PWD/$session"; fi
case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$(cluster_conf)" ;;
    *) echo "usage: $0 start [FILE] | stop [FILE] | status | env" >&2; exit 2 ;;
esac
