#!/usr/bin/env bash
# Bring up a single-node Slurm cluster on this host, so that `sbatch` (job arrays included)
# works for the integration tests and for CI.
#
# Intended for a throw-away Debian 12 (bookworm) machine or container on which it runs as
# root; systemd need not be running (the daemons are started directly, in the background).
#
# What it does, each step only if needed (running it again on a working cluster is a no-op):
#   1. installs Debian's packages slurmctld, slurmd, slurm-client and munge (apt-get);
#   2. makes sure a munge key exists (/etc/munge/munge.key, munge:munge, 0400) and that munged
#      is running (as the `munge` user), checked with `munge -n | unmunge`;
#   3. writes /etc/slurm/slurm.conf (the path Debian's Slurm reads): one node, named after
#      `hostname -s`, addressed as 127.0.0.1 (no DNS needed), with all of `nproc`'s CPUs and a
#      bit less than the memory in /proc/meminfo, one partition `debug` (the default, no time
#      limit), daemons and jobs as root, no cgroups, no accounting;
#      an existing slurm.conf that this script did not write is left alone (it exits with an
#      error instead) unless SLURM_UP_OVERWRITE=1; a /etc/slurm/cgroup.conf is renamed to
#      cgroup.conf.orig (slurmd reads it even without cgroup plugins, and dies on errors in it);
#   4. starts slurmctld and slurmd (restarting them if the configuration changed) and waits
#      until the node is idle, resuming it if it came up down or drained.
# It exits 0 once the cluster takes jobs, and non-zero with the daemons' log tails otherwise.
#
# Environment (all optional):
#   SLURM_UP_TIMEOUT    seconds to wait for the node to become idle (default 60)
#   SLURM_UP_CPUS       CPUs to give the node (default: `nproc`)
#   SLURM_UP_OVERWRITE  set to 1 to replace a slurm.conf that this script did not write
#   SLURM_UP_MIN_JOB_AGE  Slurm's MinJobAge: seconds a finished job's record is kept
#                       (default 86400, one day; at least 2; see below)
#
# Things worth knowing when writing jobs for this cluster:
#   - jobs run as the submitting user, in the directory sbatch was run from (unless --chdir),
#     with the submitter's environment (PATH included; sbatch's default is --export=ALL);
#   - with task/none nothing pins a job to its CPUs: --cpus-per-task only decides how many jobs
#     run at once (at most `nproc` CPUs' worth); each job still sees all of the host's CPUs;
#   - a job's output goes to ./slurm-%A_%a.out (arrays) or ./slurm-%j.out unless --output;
#   - there is no accounting database, so `sacct` does not work: poll with
#     `squeue -h -t all -j ID` or `scontrol show job -o ID` (plain `squeue` hides finished jobs);
#   - `sbatch --wait` waits for a whole job array and exits with the highest exit status of its
#     elements (1 for one killed by a signal). It only sees the elements whose records slurmctld
#     still holds: an element that finished more than MinJobAge seconds before the last one is
#     forgotten, and if it had failed `sbatch --wait` exits 0 all the same. Hence the long
#     MinJobAge here. The price: `sbatch --wait` polls after 2 s, then 8 s later, then every
#     32 s (it only backs off while the interval is below MinJobAge/2), so it returns up to
#     32 s after the job ended; poll `squeue`/`scontrol` yourself where that matters.
#     Finished jobs' records pile up (at most MaxJobCount, 100000);
#     `scripts/slurm/down.sh --forget-jobs` clears them.
# Logs: /var/log/slurm/slurmctld.log, /var/log/slurm/slurmd.log, /var/log/munge/munged.log.
# Stop everything again with scripts/slurm/down.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH="$PATH:/usr/sbin:/sbin" # the daemons live in /usr/sbin

SLURM_CONF=/etc/slurm/slurm.conf
STATE_DIR=/var/lib/slurm/slurmctld
SPOOL_DIR=/var/lib/slurm/slurmd
LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm-up            # marks what this script started (read by down.sh)
MUNGE_KEY=/etc/munge/munge.key
MARKER="# Written by scripts/slurm/up.sh"
TIMEOUT="${SLURM_UP_TIMEOUT:-60}"
MIN_JOB_AGE="${SLURM_UP_MIN_JOB_AGE:-86400}"

log() { echo "slurm/up: $*" >&2; }

die() {
    log "ERROR: $*"
    show_logs
    exit 1
}

show_logs() {
    local f
    for f in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log \
        "$RUN_DIR/slurmctld.stderr" "$RUN_DIR/slurmd.stderr" "$RUN_DIR/munged.stderr"; do
        if [[ -s "$f" ]]; then
            echo "----- last lines of $f -----" >&2
            tail -n 25 "$f" >&2 || true
        fi
    done
}

# Prints the pid recorded in pid file $1 if that process is alive and is named $2.
live_pid() {
    local pidfile="$1" name="$2" pid
    [[ -r "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]] || return 1
    echo "$pid"
}

running() { # name pidfile
    live_pid "$2" "$1" >/dev/null || pgrep -x "$1" >/dev/null 2>&1
}

if [[ "$(id -u)" -ne 0 ]]; then
    log "ERROR: must run as root (it installs packages and starts system daemons)"
    exit 1
fi

# ---------------------------------------------------------------- 1. packages
need_install=0
for cmd in sbatch sinfo scontrol slurmctld slurmd munged munge unmunge; do
    command -v "$cmd" >/dev/null 2>&1 || need_install=1
done
mkdir -p "$RUN_DIR"
if [[ "$need_install" -eq 1 ]]; then
    log "installing slurmctld slurmd slurm-client munge (apt-get; output in $RUN_DIR/apt.log)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -q >"$RUN_DIR/apt.log" 2>&1 ||
        ! apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge \
            >>"$RUN_DIR/apt.log" 2>&1; then
        tail -n 25 "$RUN_DIR/apt.log" >&2
        die "apt-get could not install slurmctld slurmd slurm-client munge"
    fi
    for cmd in sbatch sinfo scontrol slurmctld slurmd munged munge unmunge; do
        command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after apt-get install"
    done
fi

# ---------------------------------------------------------------- 2. munge
munge_user=munge
id -u munge >/dev/null 2>&1 || munge_user=root

if [[ ! -s "$MUNGE_KEY" ]]; then
    log "creating munge key $MUNGE_KEY"
    mkdir -p "$(dirname "$MUNGE_KEY")"
    if command -v mungekey >/dev/null 2>&1; then
        mungekey --create --keyfile="$MUNGE_KEY" --force
    elif command -v create-munge-key >/dev/null 2>&1; then
        create-munge-key -f
    else
        dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    fi
fi
# munged refuses keys or directories that other users could read or write.
chown "$munge_user:$munge_user" "$(dirname "$MUNGE_KEY")" "$MUNGE_KEY"
chmod 0700 "$(dirname "$MUNGE_KEY")"
chmod 0400 "$MUNGE_KEY"

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

if ! munge_ok; then
    if running munged /run/munge/munged.pid; then
        die "munged is running but 'munge -n | unmunge' fails"
    fi
    log "starting munged (as $munge_user)"
    for d in /run/munge /var/lib/munge /var/log/munge; do
        mkdir -p "$d"
        chown "$munge_user:$munge_user" "$d"
    done
    chmod 0755 /run/munge
    chmod 0711 /var/lib/munge
    chmod 0700 /var/log/munge
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
    if [[ "$munge_user" == munge ]]; then
        runuser -u munge -- /usr/sbin/munged >"$RUN_DIR/munged.stderr" 2>&1 ||
            die "munged failed to start"
    else
        /usr/sbin/munged --force >"$RUN_DIR/munged.stderr" 2>&1 || die "munged failed to start"
    fi
    touch "$RUN_DIR/munged.started"
    for _ in $(seq 1 50); do
        munge_ok && break
        sleep 0.2
    done
    munge_ok || die "munged started but 'munge -n | unmunge' still fails"
fi

# ---------------------------------------------------------------- 3. slurm.conf
[[ "$MIN_JOB_AGE" =~ ^[0-9]+$ && "$MIN_JOB_AGE" -ge 2 ]] ||
    die "SLURM_UP_MIN_JOB_AGE must be an integer >= 2 (Slurm 22.05 turns 0 into 2)"
node="$(hostname -s)"
[[ -n "$node" ]] || die "hostname -s is empty"
cpus="${SLURM_UP_CPUS:-$(nproc)}"
[[ "$cpus" =~ ^[0-9]+$ && "$cpus" -ge 1 ]] || die "SLURM_UP_CPUS must be a positive integer"
mem_kib="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
# A bit under the total (95 %, and at least 512 MiB less), or slurmd drains the node as
# "Low RealMemory" whenever the kernel reports a little less than the configuration says.
real_mem=$((mem_kib * 95 / 100 / 1024))
[[ $((mem_kib / 1024 - real_mem)) -ge 512 ]] || real_mem=$((mem_kib / 1024 - 512))
[[ "$real_mem" -ge 1 ]] || real_mem=1

new_conf="$(mktemp)"
trap 'rm -f "$new_conf"' EXIT
cat >"$new_conf" <<EOF
$MARKER: a one-node cluster on this host.
# It is rewritten (and the daemons restarted) whenever up.sh computes a different one.
ClusterName=local
SlurmctldHost=${node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
StateSaveLocation=${STATE_DIR}
SlurmdSpoolDir=${SPOOL_DIR}
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
InactiveLimit=0
KillWait=5
MinJobAge=${MIN_JOB_AGE}
MaxArraySize=100001
MaxJobCount=100000
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${real_mem} State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

conf_changed=0
if [[ -e "$SLURM_CONF" ]] && ! cmp -s "$new_conf" "$SLURM_CONF"; then
    if ! grep -qF "$MARKER" "$SLURM_CONF" && [[ "${SLURM_UP_OVERWRITE:-0}" != 1 ]]; then
        log "ERROR: $SLURM_CONF exists and was not written by this script; leaving it alone"
        log "       (set SLURM_UP_OVERWRITE=1 to replace it; the old file is then kept as $SLURM_CONF.orig)"
        exit 1
    fi
    grep -qF "$MARKER" "$SLURM_CONF" || cp -p "$SLURM_CONF" "$SLURM_CONF.orig"
    conf_changed=1
elif [[ ! -e "$SLURM_CONF" ]]; then
    conf_changed=1
fi
if [[ "$conf_changed" -eq 1 ]]; then
    log "writing $SLURM_CONF (node $node, CPUs=$cpus, RealMemory=$real_mem MiB)"
    mkdir -p "$(dirname "$SLURM_CONF")"
    install -m 0644 "$new_conf" "$SLURM_CONF"
fi
# No cgroup plugin is configured and none is needed, but slurmd 22.05 still parses
# /etc/slurm/cgroup.conf when the file exists, and exits if it cannot. Move one aside.
if [[ -e /etc/slurm/cgroup.conf ]]; then
    log "moving /etc/slurm/cgroup.conf aside to /etc/slurm/cgroup.conf.orig (no cgroups here)"
    mv -f /etc/slurm/cgroup.conf /etc/slurm/cgroup.conf.orig
    conf_changed=1
fi

# ---------------------------------------------------------------- 4. daemons
# Slurm's clients retry for a while when slurmctld does not answer; keep each call short.
q() { timeout -k 2 8 "$@"; }
node_state() { # idle, mixed, down, drained, ...; "idle*" etc.: not responding (yet)
    q sinfo -h -n "$node" -o %T 2>/dev/null | head -n 1 || true
}
node_usable() {
    case "$(node_state)" in
        idle | mixed | allocated | completing) return 0 ;;
        *) return 1 ;;
    esac
}

if [[ "$conf_changed" -eq 0 ]] && running slurmctld /run/slurmctld.pid &&
    running slurmd /run/slurmd.pid && q scontrol ping >/dev/null 2>&1 && node_usable; then
    log "cluster already up: node $node is $(node_state)"
    exit 0
fi

if [[ "$conf_changed" -eq 1 ]] &&
    { running slurmctld /run/slurmctld.pid || running slurmd /run/slurmd.pid; }; then
    log "configuration changed: restarting slurmctld and slurmd"
    KEEP_MUNGE=1 "$here/down.sh" || die "could not stop the running Slurm daemons"
fi

mkdir -p "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR"

if ! running slurmctld /run/slurmctld.pid; then
    log "starting slurmctld"
    # Without -D it forks into the background once it has read its configuration.
    /usr/sbin/slurmctld >"$RUN_DIR/slurmctld.stderr" 2>&1 || die "slurmctld failed to start"
    touch "$RUN_DIR/slurmctld.started"
fi
# slurmctld has forked; wait until it answers (the same deadline covers the node below).
deadline=$((SECONDS + TIMEOUT))
until q scontrol ping >/dev/null 2>&1; do
    running slurmctld /run/slurmctld.pid || die "slurmctld exited"
    ((SECONDS < deadline)) || die "slurmctld does not answer 'scontrol ping' after ${TIMEOUT}s"
    sleep 0.2
done

slurmd_started_at=0
if ! running slurmd /run/slurmd.pid; then
    log "starting slurmd"
    slurmd_started_at="$(date +%s)"
    /usr/sbin/slurmd >"$RUN_DIR/slurmd.stderr" 2>&1 || die "slurmd failed to start"
    touch "$RUN_DIR/slurmd.started"
fi

slurmd_registered() {
    local t
    [[ "$slurmd_started_at" -eq 0 ]] && return 0
    t="$(q scontrol show node -o "$node" 2>/dev/null | grep -oE 'SlurmdStartTime=[^ ]+' | cut -d= -f2)"
    [[ -n "$t" && "$t" != None ]] || return 1
    t="$(date -d "$t" +%s 2>/dev/null)" || return 1
    ((t >= slurmd_started_at - 1))
}

next_resume=0
state=""
while ((SECONDS < deadline)); do
    state="$(node_state)"
    case "$state" in
        idle | mixed | allocated | completing)
            # A node that slurmctld still remembers from an earlier slurmd may look idle
            # before the new slurmd has registered.
            if ! slurmd_registered; then
                sleep 0.2
                continue
            fi
            log "cluster up: node $node is $state (partition debug, $cpus CPUs)"
            exit 0
            ;;
        down* | drained* | draining* | fail* | inval*)
            if ((SECONDS >= next_resume)); then
                log "node $node is $state ($(q sinfo -h -n "$node" -o %E 2>/dev/null)); resuming it"
                q scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true
                next_resume=$((SECONDS + 5))
            fi
            ;;
    esac
    running slurmctld /run/slurmctld.pid || die "slurmctld exited"
    running slurmd /run/slurmd.pid || die "slurmd exited"
    sleep 0.5
done
die "node $node not idle after ${TIMEOUT}s (state: ${state:-no answer from slurmctld})"
