#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`; install and start one if needed.
#
# Idempotent: exits 0 at once when `docker info` already works. Otherwise, as root on a Debian/apt machine
# without systemd (a CI box, a container-like VM), it installs docker.io (+ debootstrap for the offline runtime
# image build) and starts dockerd in the background, logging to $BP_DOCKERD_LOG (default /var/log/dockerd.log).
#
# Environment:
#   BP_DOCKERD_LOG      dockerd log file               (default /var/log/dockerd.log)
#   BP_DOCKERD_TIMEOUT  seconds to wait for the daemon (default 60)
#   BP_DOCKERD_FLAGS    extra dockerd flags, appended  (default empty)
#
# Measured on Debian 12 (kernel 6.18, hybrid cgroup v1 + v2 unified, ext4 root, no systemd): docker.io 20.10.24
# runs with its defaults here (overlay2, cgroupfs driver on cgroup v1, iptables-nft); no extra flags are needed.
set -euo pipefail

LOG=${BP_DOCKERD_LOG:-/var/log/dockerd.log}
TIMEOUT=${BP_DOCKERD_TIMEOUT:-60}
EXTRA_FLAGS=${BP_DOCKERD_FLAGS:-}
PACKAGES=(docker.io debootstrap iptables)

say() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() {
    say "ERROR: $*"
    exit 1
}

docker_ok() { command -v docker >/dev/null 2>&1 && timeout 15 docker info >/dev/null 2>&1; }

if docker_ok; then
    say "docker engine already answers"
    exit 0
fi

manual_help="install Docker Engine (Debian: 'apt-get install docker.io debootstrap') and start it \
('systemctl start docker', or 'dockerd >/var/log/dockerd.log 2>&1 &' without systemd), then re-run"

if [[ $(id -u) -ne 0 ]]; then
    die "docker does not answer and this script is not root, so it cannot install/start it: $manual_help"
fi
if ! command -v apt-get >/dev/null 2>&1; then
    die "docker does not answer and this is not an apt-based system: $manual_help"
fi

# --- install -------------------------------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
    # shellcheck source=scripts/apt.sh
    source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
    apt_update_if_needed "${missing[@]}" || die "apt-get update failed: $manual_help"
    say "installing ${missing[*]}"
    # Keep package scripts from starting services (no init system here; we start dockerd ourselves).
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    if ((created_policy)); then rm -f "$policy"; fi
    ((rc == 0)) || die "apt-get install ${missing[*]} failed (exit $rc): $manual_help"
fi

command -v dockerd >/dev/null 2>&1 || die "dockerd not found after installing docker.io: $manual_help"

# --- start ---------------------------------------------------------------------------------------
if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd is already running (pid $(pgrep -x dockerd | tr '\n' ' ')); waiting for it to answer"
else
    flags=(--host=unix:///var/run/docker.sock)
    # shellcheck disable=SC2206  # intentional word splitting of user flags
    flags+=($EXTRA_FLAGS)
    mkdir -p "$(dirname "$LOG")"
    say "starting dockerd ${flags[*]} (log: $LOG)"
    setsid nohup dockerd "${flags[@]}" >>"$LOG" 2>&1 </dev/null &
    disown || true
fi

deadline=$((SECONDS + TIMEOUT))
until docker_ok; do
    if ((SECONDS >= deadline)); then
        tail -n 30 "$LOG" >&2 2>/dev/null || true
        die "dockerd did not answer within ${TIMEOUT}s; see $LOG"
    fi
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        tail -n 30 "$LOG" >&2 2>/dev/null || true
        die "dockerd exited; see $LOG (if the storage driver or iptables is the problem, retry with e.g. \
BP_DOCKERD_FLAGS='--storage-driver=vfs --iptables=false')"
    fi
    sleep 1
done
say "docker engine is up: $(docker info --format '{{.ServerVersion}} storage={{.Driver}} cgroup={{.CgroupDriver}}/v{{.CgroupVersion}}' 2>/dev/null)"
