#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# How fast does "lodge create NAME -t local -- --file T.tar.xz" turn a rootfs tarball into a
# container, compared with a plain "tar -xJf T.tar.xz -C DIR" of the same file?
#
#   bench/extract.sh [-n ROUNDS] [TARBALL]
#
# TARBALL defaults to the Debian fixture (tests/fixtures/debian.sh builds it once), ROUNDS to 7
# (or $ROUNDS). One untimed-for-the-result warm-up of each comes first, then the rounds run
# interleaved (lodge, tar, lodge, tar, ...) so drift in the machine hits both alike. Page
# caches are left as they are (the tarball stays hot, as it would in an image cache). Every
# run gets a fresh directory on the same filesystem (under /var/tmp): its own LODGE_ROOT,
# LODGE_CACHE and LODGE_RUNDIR for lodge, an empty DIR for tar; it is removed, and the disks
# synced, after the clock stops. Reports the median wall time of each, the ratio lodge/tar,
# and the tarball's compressed and unpacked sizes. Needs root (both keep owners).
#
# Environment: LODGE_BIN (default build/cmd/lodge), ROUNDS.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
rounds=${ROUNDS:-7}

usage() {
        sed -n '7s/^# \{0,1\}//p' "$0"
        exit "${1:-0}"
}
while getopts n:h opt; do
        case $opt in
        n) rounds=$OPTARG ;;
        h) usage 0 ;;
        *) usage 2 >&2 ;;
        esac
done
shift $((OPTIND - 1))
(($# <= 1)) || usage 2 >&2
[[ $rounds =~ ^[1-9][0-9]*$ ]] || {
        echo "${0##*/}: ROUNDS must be a positive number, not '$rounds'" >&2
        exit 2
}
((EUID == 0)) || {
        echo "${0##*/}: run it as root: lodge create and tar -x both keep the tarball's owners" >&2
        exit 1
}

lodge=$(realpath -m -- "${LODGE_BIN:-build/cmd/lodge}")
[[ -x $lodge ]] || {
        echo "${0##*/}: no lodge binary at $lodge (build it, or set LODGE_BIN)" >&2
        exit 1
}
if (($# == 1)); then
        tarball=$(realpath -- "$1")
else
        echo "building or finding the Debian fixture..." >&2
        tarball=$(tests/fixtures/debian.sh)
fi

base=$(mktemp -d /var/tmp/lodge-bench.XXXXXX)
cleanup() {
        chattr -R -ia "$base" >/dev/null 2>&1 || true
        rm -rf --one-file-system -- "$base"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# Remove one run's tree outside the clock, and let writeback settle before the next run.
discard() {
        chattr -R -ia "$1" >/dev/null 2>&1 || true
        rm -rf --one-file-system -- "$1"
        sync
}

run_lodge() { # run_lodge ID: prints the wall time in seconds
        local d=$base/lodge.$1 t0 t1
        mkdir -p "$d/root" "$d/cache" "$d/run"
        t0=$(now)
        LODGE_ROOT=$d/root LODGE_CACHE=$d/cache LODGE_RUNDIR=$d/run LODGE_CONF=$d/lodge.conf \
                "$lodge" --quiet create "bench$1" -t local -- --file "$tarball" >&2 || {
                echo "${0##*/}: lodge create failed (run $1)" >&2
                return 1
        }
        t1=$(now)
        if [[ ! -d $d/root/containers/bench$1 ]]; then
                echo "${0##*/}: lodge create left no $d/root/containers/bench$1" >&2
                return 1
        fi
        discard "$d"
        elapsed "$t0" "$t1"
}

run_tar() { # run_tar ID: prints the wall time in seconds
        local d=$base/tar.$1 t0 t1
        mkdir -p "$d"
        t0=$(now)
        tar -xJf "$tarball" -C "$d"
        t1=$(now)
        if [[ $1 == warmup ]]; then
                unpacked_bytes=$(du -sb "$d" | cut -f1)
                unpacked_disk=$(du -sh "$d" | cut -f1)
                entries=$(find "$d" -mindepth 1 | wc -l)
        fi
        discard "$d"
        elapsed "$t0" "$t1"
}

median() { # median VALUE...: the middle value (mean of the two middle ones for an even count)
        printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
                END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2];
                      else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

compressed=$(stat -c %s "$tarball")
stream=$(xz --robot -l "$tarball" | awk '$1 == "totals" { print $5 }')
echo "tarball: $tarball"
echo "lodge:   $lodge ($("$lodge" version 2>/dev/null | head -n1 || echo '?'))"
echo "scratch: $base ($(findmnt -n -o FSTYPE -T "$base"), $(nproc) CPUs, Linux $(uname -r))"

echo "warm-up..."
run_lodge warmup >/dev/null
run_tar warmup >/dev/null

lodge_t=() tar_t=()
for ((i = 1; i <= rounds; i++)); do
        lodge_t+=("$(run_lodge "$i")")
        tar_t+=("$(run_tar "$i")")
        printf 'round %d/%d: lodge %s s, tar %s s\n' "$i" "$rounds" "${lodge_t[-1]}" "${tar_t[-1]}"
done

lm=$(median "${lodge_t[@]}")
tm=$(median "${tar_t[@]}")
echo
echo "== lodge create -t local vs tar -xJf: $rounds rounds, interleaved, after one warm-up each"
printf '%-22s %s (%s bytes)\n' "compressed (xz)" "$(mib "$compressed")" "$compressed"
printf '%-22s %s tar stream; %s in files (du -sb), %s on disk, %s entries\n' "unpacked" \
        "$(mib "$stream")" "$(mib "$unpacked_bytes")" "$unpacked_disk" "$entries"
printf '%-22s %s s   (runs: %s)\n' "lodge median" "$lm" "${lodge_t[*]}"
printf '%-22s %s s   (runs: %s)\n' "tar median" "$tm" "${tar_t[*]}"
printf '%-22s %s\n' "ratio lodge/tar" "$(awk -v a="$lm" -v b="$tm" 'BEGIN { printf "%.2f", a / b }')"
