#!/usr/bin/env bash
# Build the agent runtime image without any image registry, from Debian packages only:
#   1. debootstrap a minimal bookworm rootfs with python3 and `docker import` it as the base image
#      (skipped when the base tag already exists);
#   2. `docker build` this directory's Dockerfile on top of it (BASE_IMAGE=<local base tag>; a local FROM
#      needs no registry).
#
# Usage: build-offline.sh [TAG]      (default TAG: computed by sandbox/image.py from this directory's contents)
# Environment:
#   BP_BASE_IMAGE     base image tag            (default bp-agent-base:bookworm-minbase)
#   BP_DEBIAN_MIRROR  Debian mirror URL         (default: the bookworm mirror from /etc/apt/sources.list(.d))
#   BP_REBUILD_BASE=1 rebuild the base even if it exists
# Needs: root (debootstrap), debootstrap, docker (scripts/ensure-docker.sh installs both).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base_tag=${BP_BASE_IMAGE:-bp-agent-base:bookworm-minbase}
suite=bookworm

say() { printf 'build-offline: %s\n' "$*" >&2; }
die() {
    say "ERROR: $*"
    exit 1
}

tag=${1:-}
if [[ -z $tag ]]; then
    tag=$(cd "$here/../.." && python3 -m sandbox.image --print-tag) || die "cannot compute the image tag; pass it as the first argument"
fi

command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/ensure-docker.sh)"
docker info >/dev/null 2>&1 || die "docker engine does not answer (run scripts/ensure-docker.sh)"

# Print the first bookworm (non-security) mirror configured for apt.
debian_mirror() {
    local f line uris="" suites=""
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] || continue
        # deb822 stanzas: blank-line separated; take URIs of a stanza whose Suites include the bare suite.
        while IFS= read -r line || [[ -n $line ]]; do
            case $line in
            URIs:*) uris=${line#URIs:} ;;
            Suites:*) suites=${line#Suites:} ;;
            "")
                if [[ " $suites " == *" $suite "* && -n $uris ]]; then
                    set -- $uris
                    echo "$1"
                    return 0
                fi
                uris="" suites=""
                ;;
            esac
        done <"$f"
        if [[ " $suites " == *" $suite "* && -n $uris ]]; then
            set -- $uris
            echo "$1"
            return 0
        fi
        uris="" suites=""
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r $f ]] || continue
        # deb [options] URI suite components...
        awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                                          if ($(i+1) == s) { print $i; exit } }' "$f" | grep . && return 0
    done
    echo "http://deb.debian.org/debian"
}

if [[ ${BP_REBUILD_BASE:-0} != 1 ]] && docker image inspect "$base_tag" >/dev/null 2>&1; then
    say "base image $base_tag exists"
else
    [[ $(id -u) -eq 0 ]] || die "debootstrap needs root; run as root (or build the base once as root)"
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found (apt-get install debootstrap)"
    mirror=${BP_DEBIAN_MIRROR:-$(debian_mirror)}
    rootfs=$(mktemp -d /var/tmp/bp-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    say "debootstrap --variant=minbase --include=python3 $suite $rootfs $mirror"
    start=$SECONDS
    debootstrap --variant=minbase --include=python3 "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
        tail -n 30 "$rootfs.log" >&2
        rm -f "$rootfs.log"
        die "debootstrap failed"
    }
    rm -f "$rootfs.log"
    # Trim what a runtime never needs.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    say "importing rootfs as $base_tag"
    tar --numeric-owner -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        - "$base_tag" >/dev/null
    say "base image built in $((SECONDS - start))s"
    rm -rf "$rootfs"
    trap - EXIT
fi

say "docker build $tag (FROM $base_tag)"
start=$SECONDS
# Legacy builder: works with any daemon, needs no buildx plugin and no registry for a local FROM.
DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE_IMAGE=$base_tag" --label "bp.runtime.base=$base_tag" \
    -t "$tag" "$here" 2> >(grep -vE "DEPRECATED|BuildKit is currently disabled|environment-variable|^\s*$" >&2) >/dev/null
say "built $tag in $((SECONDS - start))s"
