#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# How long does the second guest of a cached recipe take? "lodge create NAME -t debian"
# (systemd, and sysvinit) once the recipe's tree is in the template cache, and
# "lodge create NAME -t busybox", with the given storage backend (default dir).
#
#   bench/template.sh [-n ROUNDS] [-s|--storage dir|overlay|btrfs]
#
# The Debian trees come from the template cache the integration tests use
# ($LODGE_TEMPLATE_CACHE, default /var/cache/lodge-test-fixtures/template-cache); a missing
# one is built first (debootstrap, about a minute, not timed). A first guest of each (not
# timed) makes the shared layer with overlay or btrfs storage; each round is then a second
# guest in the same LODGE_ROOT under /var/tmp, destroyed and synced after the clock stops.
# Reports the median wall time of each. Needs root.
#
# Environment: LODGE_BIN (default build/cmd/lodge), LODGE_TEMPLATE_CACHE, ROUNDS.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
storage=dir
usage() {
        sed -n '7s/^# \{0,1\}//p' "$0"
        exit 2
}
while (($#)); do
        case $1 in
        -n) rounds=${2:-} && shift ;;
        -s | --storage) storage=${2:-} && shift ;;
        --storage=*) storage=${1#--storage=} ;;
        *) usage ;;
        esac
        shift || usage
done
[[ $storage =~ ^(dir|overlay|btrfs)$ ]] || {
        echo "${0##*/}: --storage: dir, overlay or btrfs" >&2
        exit 2
}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || {
        echo "${0##*/}: ROUNDS must be a positive number" >&2
        exit 2
}
((EUID == 0)) || {
        echo "${0##*/}: run it as root" >&2
        exit 1
}
lodge=$(realpath -m -- "${LODGE_BIN:-build/cmd/lodge}")
[[ -x $lodge ]] || {
        echo "${0##*/}: no lodge binary at $lodge (build it, or set LODGE_BIN)" >&2
        exit 1
}
cache=${LODGE_TEMPLATE_CACHE:-/var/cache/lodge-test-fixtures/template-cache}
mkdir -p "$cache"

base=$(mktemp -d /var/tmp/lodge-bench.XXXXXX)
root=$base/root run=$base/run
mkdir -p "$root" "$run"
cleanup() {
        local c
        for c in "$root"/containers/*/; do # through lodge: a backend holds more than a directory
                [[ -d $c ]] && LODGE_ROOT=$root LODGE_RUNDIR=$run "$lodge" --quiet destroy -f \
                        "$(basename "$c")" >/dev/null 2>&1
        done
        rm -rf --one-file-system -- "$base"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
blodge() { LODGE_ROOT=$root LODGE_CACHE=$cache LODGE_RUNDIR=$run "$lodge" --quiet "$@"; }

# one NAME ARGS...: a guest in the bench's root, beside the warm one (whose layer it shares
# with overlay or btrfs storage); prints the wall time of the create in seconds, then destroys
# it and syncs, off the clock.
one() {
        local name=$1 t0 t1
        shift
        t0=$(now)
        blodge create "$name" --storage "$storage" "$@" >/dev/null
        t1=$(now)
        blodge destroy -f "$name" >/dev/null
        sync
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for what in "debian systemd:-t debian" "debian sysvinit:-t debian -- --init sysvinit" \
        "busybox:-t busybox"; do
        label=${what%%:*}
        read -r -a args <<<"${what#*:}"
        echo "warming up $label (builds the cached tree and the layer if missing)..." >&2
        blodge create "warm-${label// /-}" --storage "$storage" "${args[@]}" >/dev/null
        sync
        times=()
        for ((i = 0; i < rounds; i++)); do
                times+=("$(one "r$i" "${args[@]}")")
        done
        printf '%-16s %-8s median %s s over %d rounds (%s)\n' "$label" "$storage" \
                "$(printf '%s\n' "${times[@]}" | median)" "$rounds" "${times[*]}"
done
