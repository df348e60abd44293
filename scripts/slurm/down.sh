#!/usr/bin/env bash
# Stop the single-node Slurm cluster that scripts/slurm/up.sh brought up on this host.
#
# Stops slurmd and slurmctld (asking slurmctld to shut both down first, then signalling the
# processes named in /run/slurmd.pid and /run/slurmctld.pid if they are still there).
# Jobs are not cancelled: a running job carries on (its slurmstepd outlives slurmd) and is
# picked up again by the next up.sh, as are pending jobs (kept in slurmctld's saved state).
# Cancel them first (`scancel`) if they should not survive.
# munged is stopped only if up.sh started it (a munged that was already running, e.g. one
# started by the system's init scripts, is left alone); set KEEP_MUNGE=1 to leave it running
# in any case.
# The packages, /etc/slurm/slurm.conf and the munge key stay, so the next up.sh is quick.
#
# Usage: down.sh [--forget-jobs]
#   --forget-jobs  also delete slurmctld's saved state (/var/lib/slurm/slurmctld): all job
#                  records, finished or not, so the next up.sh starts with an empty queue and
#                  job ids from 1 (up.sh keeps finished jobs' records for a day; see there).
# Exits 0 when no Slurm daemon is left running (also when none was running to begin with).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

RUN_DIR=/run/slurm-up
STATE_DIR=/var/lib/slurm/slurmctld
MARKER="# Written by scripts/slurm/up.sh"
log() { echo "slurm/down: $*" >&2; }

forget_jobs=0
case "${1:-}" in
    "") ;;
    --forget-jobs) forget_jobs=1 ;;
    *)
        echo "usage: $0 [--forget-jobs]" >&2
        exit 2
        ;;
esac

if [[ "$(id -u)" -ne 0 ]]; then
    log "ERROR: must run as root"
    exit 1
fi

# Prints the pid recorded in pid file $1 if that process is alive and is named $2.
live_pid() {
    local pidfile="$1" name="$2" pid
    [[ -r "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]] || return 1
    echo "$pid"
}

# The pids of daemon $1: the one in its pid file, else any process with exactly that name.
daemon_pids() {
    live_pid "$2" "$1" || pgrep -x "$1" || true
}

wait_gone() { # seconds pid...
    local n=$(($1 * 5)) p alive
    shift
    while ((n-- > 0)); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [[ "$alive" -eq 0 ]] && return 0
        sleep 0.2
    done
    return 1
}

stop_daemon() { # name pidfile grace-seconds (time it may take to exit on its own)
    local name="$1" pidfile="$2" grace="$3" pids
    pids="$(daemon_pids "$name" "$pidfile")"
    [[ -n "$pids" ]] || return 0
    # shellcheck disable=SC2086
    if [[ "$grace" -gt 0 ]] && wait_gone "$grace" $pids; then return 0; fi
    log "stopping $name (pid $(tr "\n" " " <<<"$pids" | sed "s/ $//"))"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    if ! wait_gone 15 $pids; then
        log "$name did not stop on SIGTERM; sending SIGKILL"
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        # shellcheck disable=SC2086
        wait_gone 5 $pids || { log "ERROR: $name (pid $pids) is still running"; return 1; }
    fi
}

grace=0
any_slurm=0
[[ -n "$(daemon_pids slurmctld /run/slurmctld.pid)$(daemon_pids slurmd /run/slurmd.pid)" ]] && any_slurm=1

if [[ "$any_slurm" -eq 1 ]]; then
    # The clean way: slurmctld saves its state and tells every slurmd to exit too.
    if command -v scontrol >/dev/null 2>&1 && timeout -k 2 8 scontrol ping >/dev/null 2>&1; then
        log "scontrol shutdown"
        timeout -k 2 8 scontrol shutdown >/dev/null 2>&1 && grace=10
    fi
fi
rc=0
stop_daemon slurmd /run/slurmd.pid "$grace" || rc=1
stop_daemon slurmctld /run/slurmctld.pid "$grace" || rc=1
rm -f "$RUN_DIR/slurmd.started" "$RUN_DIR/slurmctld.started"

if [[ -e "$RUN_DIR/munged.started" && "${KEEP_MUNGE:-0}" != 1 ]]; then
    pids="$(daemon_pids munged /run/munge/munged.pid)"
    if [[ -n "$pids" ]]; then
        stop_daemon munged /run/munge/munged.pid 0 || rc=1
    fi
    rm -f "$RUN_DIR/munged.started"
fi

if [[ "$forget_jobs" -eq 1 && "$rc" -eq 0 ]]; then
    if grep -qF "$MARKER" /etc/slurm/slurm.conf 2>/dev/null; then
        log "forgetting all jobs (clearing $STATE_DIR)"
        find "$STATE_DIR" -mindepth 1 -delete
    else
        log "ERROR: /etc/slurm/slurm.conf was not written by up.sh; not clearing $STATE_DIR"
        rc=1
    fi
fi

[[ "$rc" -eq 0 ]] && log "Slurm daemons stopped"
exit "$rc"
