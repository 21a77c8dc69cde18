#!/usr/bin/env bash
# .ci/slurm.sh: a real single-node Slurm cluster for the `slurm` test tier.
#
#   .ci/slurm.sh start    install Debian's Slurm + munge packages when missing (apt-get), write
#                         /etc/slurm/slurm.conf, start munged, slurmctld and slurmd on loopback,
#                         wait until the node is idle, print what was started. Idempotent.
#   .ci/slurm.sh stop     stop only the daemons this script started (PID files in $RUN_DIR)
#   .ci/slurm.sh status   the daemons this script started, the node, the memory enforcement
#
# Needs root; the daemons are started by hand (no systemd needed). Exit codes: 0 ok, 1 failed,
# 2 usage, 3 cannot run here (not root, install failed, a foreign cluster is in the way);
# the test tier skips on 3 and 1 with the message printed on stderr.
#
# Knobs (start): ACTORSWARM_SLURM_DIR (state/spool/log/run, default /tmp/actorswarm-slurm),
# ACTORSWARM_SLURM_CPUS (CPUs advertised, default 8: oversubscribes small machines so that
# throttles, not cores, limit concurrency), ACTORSWARM_SLURM_MEMENFORCE=auto|cgroup|jobacct
# (auto: cgroup v1 when its memory controller is writable and slurmd starts with it, else
# jobacct_gather's OverMemoryKill), ACTORSWARM_SLURM_MINJOBAGE (s, default 300).
#
# Final job states without slurmdbd: squeue -t all (for MinJobAge seconds after the end), then
# the job-completion log $LOG_DIR/jobcomp.txt (printed by `start` and `status`).
set -euo pipefail

BASE="${ACTORSWARM_SLURM_DIR:-/tmp/actorswarm-slurm}"
STATE_DIR="$BASE/state"
SPOOL_DIR="$BASE/spool"
LOG_DIR="$BASE/log"
RUN_DIR="$BASE/run"
CONF=/etc/slurm/slurm.conf
CGROUP_CONF=/etc/slurm/cgroup.conf
MARK="# written by actorswarm .ci/slurm.sh"
PACKAGES=(slurmctld slurmd slurm-client munge)

say() { printf '[ci/slurm] %s\n' "$*" >&2; }
cannot() { say "cannot run here: $*"; exit 3; }

# A PID file names a live process that is not a zombie (stop waits for real exits).
alive() {
  local file="$1" pid state
  [ -s "$file" ] || return 1
  pid=$(cat "$file")
  [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$pid/stat" 2>/dev/null || echo X)
  [ "$state" != Z ] && [ "$state" != X ]
}

stop_daemon() {  # $1: name; stops the PID recorded in $RUN_DIR/$1.pid, only that one
  local file="$RUN_DIR/$1.pid" pid
  if alive "$file"; then
    pid=$(cat "$file")
    say "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$file" || break; sleep 0.1; done
    if alive "$file"; then say "$1 (pid $pid) ignored SIGTERM; SIGKILL"; kill -KILL "$pid" || true; fi
  fi
  rm -f "$file"
}

cmd_stop() {
  stop_daemon slurmd
  stop_daemon slurmctld
  stop_daemon munged
}

enforcement() { sed -n 's/^# memory enforcement: //p' "$CONF" 2>/dev/null || true; }

cmd_status() {
  local name up=0
  for name in munged slurmctld slurmd; do
    if alive "$RUN_DIR/$name.pid"; then echo "$name: running, pid $(cat "$RUN_DIR/$name.pid")"; up=$((up + 1))
    else echo "$name: not started by this script"; fi
  done
  echo "memory enforcement: $(enforcement)"
  echo "job-completion log: $LOG_DIR/jobcomp.txt"
  sinfo -N -h -o "node %N: %T, %c CPUs, %m MB, partition %P" 2>/dev/null || echo "sinfo: no answer"
  [ "$up" -ge 2 ]
}

install_packages() {
  local missing=() b
  for b in slurmctld slurmd sbatch munged; do command -v "$b" >/dev/null 2>&1 || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || cannot "no apt-get to install ${PACKAGES[*]}"
  say "installing ${PACKAGES[*]} (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${PACKAGES[@]}" >"$LOG_DIR/apt.log" 2>&1; then
    apt-get update >>"$LOG_DIR/apt.log" 2>&1 || true
    apt-get install -y --no-install-recommends "${PACKAGES[@]}" >>"$LOG_DIR/apt.log" 2>&1 \
      || cannot "apt-get install failed; see $LOG_DIR/apt.log"
  fi
}

start_munge() {
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    head -c 1024 /dev/urandom > /etc/munge/munge.key
  fi
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
  chmod 0700 /etc/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  chmod 0400 /etc/munge/munge.key
  if alive "$RUN_DIR/munged.pid"; then return 0; fi
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "a munged not started by this script answers; using it (stop will leave it alone)"
    return 0
  fi
  rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  for _ in $(seq 1 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  cp /run/munge/munged.pid "$RUN_DIR/munged.pid"
  munge -n | unmunge >/dev/null || { say "munge does not work; see /var/log/munge"; exit 1; }
  say "started munged (pid $(cat "$RUN_DIR/munged.pid"))"
}

cgroup_v1_usable() {
  local probe=/sys/fs/cgroup/memory/actorswarm-slurm-probe.$$
  [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] && [ -d /sys/fs/cgroup/freezer ] \
    && mkdir "$probe" 2>/dev/null && rmdir "$probe"
}

write_conf() {  # $1: cgroup|jobacct. Sets CONF_CHANGED=1 when the file changed.
  local host cpus mem new plugins
  host=$(hostname -s)
  cpus="${ACTORSWARM_SLURM_CPUS:-8}"
  mem=$(( $(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p') - 512 ))
  getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" >> /etc/hosts
  if [ "$1" = cgroup ]; then
    plugins="ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1"
  else
    plugins="ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill"
  fi
  new=$(mktemp)
  cat > "$new" <<EOF
$MARK
# memory enforcement: $1
ClusterName=actorswarm
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
$plugins
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000
MaxJobCount=100000
MaxArraySize=10001
MinJobAge=${ACTORSWARM_SLURM_MINJOBAGE:-300}
KillWait=2
OverTimeLimit=0
InactiveLimit=0
ReturnToService=2
SlurmdTimeout=60
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  if [ -e "$CONF" ] && ! head -1 "$CONF" | grep -qxF "$MARK" \
     && ! grep -q '^# generated by slurm_single_node.sh' "$CONF"; then
    rm -f "$new"
    cannot "$CONF exists and was not written by a test launcher; move it away to use this cluster"
  fi
  mkdir -p /etc/slurm
  if [ "$1" = cgroup ]; then
    printf '%s\n' "$MARK" CgroupPlugin=cgroup/v1 CgroupMountpoint=/sys/fs/cgroup \
      ConstrainCores=no ConstrainRAMSpace=yes ConstrainSwapSpace=no > "$CGROUP_CONF"
  else
    rm -f "$CGROUP_CONF"
  fi
  CONF_CHANGED=0
  if cmp -s "$new" "$CONF"; then rm -f "$new"; else mv "$new" "$CONF"; chmod 644 "$CONF"; CONF_CHANGED=1; fi
}

start_slurm() {  # returns 1 when slurmd does not come up (the caller may fall back)
  if [ "$CONF_CHANGED" = 1 ]; then stop_daemon slurmd; stop_daemon slurmctld; fi
  if ! alive "$RUN_DIR/slurmctld.pid"; then
    slurmctld -f "$CONF"
    for _ in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.1; done
    alive "$RUN_DIR/slurmctld.pid" || { say "slurmctld did not start:"; tail -5 "$LOG_DIR/slurmctld.log" >&2; exit 1; }
    say "started slurmctld (pid $(cat "$RUN_DIR/slurmctld.pid"))"
  fi
  if ! alive "$RUN_DIR/slurmd.pid"; then
    slurmd -f "$CONF" || true
    for _ in $(seq 1 50); do alive "$RUN_DIR/slurmd.pid" && break; sleep 0.1; done
    sleep 0.5
    alive "$RUN_DIR/slurmd.pid" || return 1
    say "started slurmd (pid $(cat "$RUN_DIR/slurmd.pid"))"
  fi
}

wait_idle() {
  local host state=""
  host=$(hostname -s)
  for _ in $(seq 1 150); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    case "$state" in idle*|mixed*|allocated*) return 0 ;; esac
    if [ "$state" = down ] || [ "$state" = drained ]; then
      scontrol update nodename="$host" state=resume 2>/dev/null || true
    fi
    sleep 0.2
  done
  say "node $host is '$state', not idle:"; sinfo -h -n "$host" -o "%T %E" >&2 || true
  exit 1
}

cmd_start() {
  [ "$(id -u)" = 0 ] || cannot "must run as root (it installs packages and starts daemons)"
  [ -d /run/systemd/system ] && say "note: systemd is running; daemons are started by hand anyway"
  mkdir -p "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR" "$RUN_DIR"
  install_packages
  if ! alive "$RUN_DIR/slurmctld.pid" && [ -e "$CONF" ] && scontrol ping 2>/dev/null | grep -q 'is UP'; then
    cannot "a slurmctld not started by this script answers (see $CONF); stop it first"
  fi
  start_munge
  local mode="${ACTORSWARM_SLURM_MEMENFORCE:-auto}" auto=0
  case "$mode" in
    auto) auto=1; if cgroup_v1_usable; then mode=cgroup; else mode=jobacct; fi ;;
    cgroup|jobacct) ;;
    *) say "ACTORSWARM_SLURM_MEMENFORCE must be auto, cgroup or jobacct, not '$mode'"; exit 2 ;;
  esac
  write_conf "$mode"
  if ! start_slurm; then
    if [ "$auto" = 1 ] && [ "$mode" = cgroup ]; then
      say "slurmd failed with cgroup v1; falling back to jobacct_gather OverMemoryKill"
      tail -3 "$LOG_DIR/slurmd.log" >&2 || true
      mode=jobacct; write_conf jobacct; stop_daemon slurmctld
      start_slurm || { say "slurmd did not start:"; tail -5 "$LOG_DIR/slurmd.log" >&2; exit 1; }
    else
      say "slurmd did not start:"; tail -5 "$LOG_DIR/slurmd.log" >&2; exit 1
    fi
  fi
  wait_idle
  say "ready: memory enforcement $mode; logs in $LOG_DIR; stop with: $0 stop"
  cmd_status
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
