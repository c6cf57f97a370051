#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/storage.sh: create from a cached image against LXC and btrfs (issue 6).
#
#   sudo bench/storage.sh [-n ROUNDS]
#
# Two images: the busybox fixture (~2 MiB unpacked) and the Debian fixture (~170 MiB). Each
# round, interleaved, times (medians reported):
#   lodge-overlay-S/B   lodge create --storage overlay, its layer already made (/var/tmp, ext4);
#                       an unprivileged guest (the default): no chown pass
#   lodge-overlay-priv-B  the same, -c security.privileged=true
#   lxc-copy-S/B        lxc-copy -s -B overlay of a stopped LXC container of the same rootfs
#                       (of a privileged container: LXC 5.0.2 can't overlay-clone its unprivileged
#                       one here, it passes idmap=container to overlayfs, which refuses it)
#   lodge-btrfs-B       lodge create --storage btrfs (a loop-mounted btrfs this script makes)
#   btrfs-snap-B        btrfs subvolume snapshot of the unpacked image: what systemd-nspawn
#                       --template does on btrfs (nspawn can't clone without running a guest)
#   lodge-dir-B         lodge create --storage dir: a copy of the layer (no reflinks on ext4)
# Then the disk an idle overlay guest of each image uses after it booted (its upper layer),
# lodge unprivileged (the default) and LXC's overlay clone (its delta0), in KiB.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
rounds=7
me=${0##*/}
while getopts n:h opt; do
        case $opt in
        n) rounds=$OPTARG ;;
        h)
                sed -n '4,5s/^# \{0,1\}//p' "$0"
                exit 0
                ;;
        *) exit 2 ;;
        esac
done
((EUID == 0)) || {
        echo "$me: run it as root" >&2
        exit 1
}
lodge=$(realpath -m -- "${LODGE_BIN:-build/cmd/lodge}")
[[ -x $lodge ]] || {
        echo "$me: no lodge binary at $lodge (build it, or set LODGE_BIN)" >&2
        exit 1
}
for cmd in lxc-copy lxc-start lxc-stop lxc-destroy mkfs.btrfs btrfs; do
        command -v "$cmd" >/dev/null || {
                echo "$me: $cmd not found: scripts/deps --bench installs LXC and btrfs-progs" >&2
                exit 1
        }
done
small=$(LODGE_BIN=$lodge tests/fixtures/busybox.sh)
big=$(tests/fixtures/debian.sh)

base=$(mktemp -d /var/tmp/lodge-bench-storage.XXXXXX)
lxcpath=$base/lxc
bt=$base/bt
export LODGE_CACHE=$base/cache LODGE_RUNDIR=$base/run LODGE_CONF=/dev/null
ext_root=$base/root
bt_root=$bt/root

cleanup() {
        local rc=$? c
        set +e
        trap - EXIT INT TERM
        for root in "$ext_root" "$bt_root"; do
                for c in "$root"/containers/*/; do
                        [[ -d $c ]] && LODGE_ROOT=$root "$lodge" destroy -f "$(basename "$c")" >/dev/null 2>&1
                done
        done
        for c in "$lxcpath"/*/; do
                [[ -e $c/config ]] || continue
                lxc-stop -k -n "$(basename "$c")" -P "$lxcpath" >/dev/null 2>&1
                lxc-destroy -n "$(basename "$c")" -P "$lxcpath" >/dev/null 2>&1
        done
        mountpoint -q "$bt" && umount "$bt"
        rm -rf --one-file-system -- "$base" "/run/lxc/lock$lxcpath"
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lodgec() { LODGE_ROOT=$root "$lodge" "$@"; }
now() { date +%s%N; }
declare -A times
timed() { # timed KEY CMD...: run CMD, add its wall time (ms) to times[KEY]
        local key=$1 t0 t1
        shift
        t0=$(now)
        "$@" >/dev/null 2>&1 || {
                echo "$me: $key: '$*' failed" >&2
                exit 1
        }
        t1=$(now)
        times[$key]+="$(((t1 - t0) / 1000))us "
}
median_ms() { tr ' ' '\n' <<<"$1" | sed 's/us$//;/^$/d' | sort -n |
        awk '{a[NR]=$1} END {printf "%.2f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)/1000}'; }

echo "setting up: layers, LXC containers, a btrfs loop filesystem..." >&2
mkdir -p "$ext_root" "$lxcpath" "$bt"
# Copies of the fixtures: the cache may change under a long run.
cp "$small" "$base/small.tar.xz"
cp "$big" "$base/big.tar.xz"
small=$base/small.tar.xz big=$base/big.tar.xz
truncate -s 4G "$base/bt.img"
mkfs.btrfs -q "$base/bt.img" >/dev/null
mount -o loop "$base/bt.img" "$bt"
for img in small big; do
        tarball=${!img}
        root=$ext_root lodgec create "warm-$img" --storage overlay -c net.0.type=none -- --file "$tarball" >/dev/null 2>&1
        root=$bt_root lodgec create "warm-$img" --storage btrfs -c net.0.type=none -- --file "$tarball" >/dev/null 2>&1
        mkdir -p "$lxcpath/lxc-$img/rootfs"
        tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$tarball" -C "$lxcpath/lxc-$img/rootfs"
        printf '%s\n' "lxc.include = /usr/share/lxc/config/debian.common.conf" "lxc.arch = linux64" \
                "lxc.uts.name = lxc-$img" "lxc.rootfs.path = dir:$lxcpath/lxc-$img/rootfs" \
                "lxc.net.0.type = empty" >"$lxcpath/lxc-$img/config"
done
for img in small big; do
        key=$(root=$bt_root lodgec config "warm-$img" get rootfs.layer)
        btrfs -q subvolume snapshot "$bt_root/layers/$key/rootfs" "$bt/img-$img" >/dev/null
done
sync

for ((r = 1; r <= rounds; r++)); do
        for img in small big; do
                root=$ext_root
                timed "lodge-overlay-$img" lodgec create "c$r-$img" --storage overlay -c net.0.type=none -- --file "${!img}"
                timed "lxc-copy-$img" lxc-copy -n "lxc-$img" -N "x$r-$img" -s -B overlay -P "$lxcpath"
        done
        root=$ext_root
        timed lodge-overlay-priv-big lodgec create "p$r" --storage overlay -c net.0.type=none \
                -c security.privileged=true -- --file "$big"
        timed lodge-dir-big lodgec create "d$r" --storage dir -c net.0.type=none -- --file "$big"
        root=$bt_root
        timed lodge-btrfs-big lodgec create "b$r" --storage btrfs -c net.0.type=none -- --file "$big"
        timed btrfs-snap-big btrfs -q subvolume snapshot "$bt/img-big" "$bt/snap$r"
        echo "round $r/$rounds done" >&2
done

printf '\n%-20s %10s   %s\n' "create (ms)" median "rounds"
for k in lodge-overlay-small lodge-overlay-big lodge-overlay-priv-big lxc-copy-small lxc-copy-big \
        lodge-btrfs-big btrfs-snap-big lodge-dir-big; do
        printf '%-20s %10s   %s\n' "$k" "$(median_ms "${times[$k]}")" "${times[$k]}"
done

# Disk of an idle guest after its boot: lodge's upper layer, LXC's delta0.
echo >&2
echo "booting an overlay guest of each image with lodge and LXC to measure its disk..." >&2
printf '\n%-34s %8s\n' "idle overlay guest after boot" "KiB"
root=$ext_root
for img in small big; do
        lodgec start "c1-$img" >/dev/null
        sleep 5
        lodgec stop "c1-$img" >/dev/null
        printf '%-34s %8s\n' "lodge ($img)" "$(du -sk "$ext_root/containers/c1-$img/overlay" | cut -f1)"
        printf '%-34s %8s\n' "  of which the guest's journal" \
                "$(du -sk "$ext_root/containers/c1-$img/overlay/upper/var/log/journal" 2>/dev/null | cut -f1)"
        lxc-start -n "x1-$img" -P "$lxcpath" >/dev/null 2>&1 || true
        sleep 5
        lxc-stop -n "x1-$img" -P "$lxcpath" -t 10 >/dev/null 2>&1 || lxc-stop -k -n "x1-$img" -P "$lxcpath" >/dev/null 2>&1 || true
        delta=$(sed -n 's/^lxc.rootfs.path *= *overlay:.*:\(.*\)$/\1/p' "$lxcpath/x1-$img/config")
        printf '%-34s %8s\n' "lxc-copy -s -B overlay ($img)" "$(du -sk "$delta" | cut -f1)"
        printf '%-34s %8s\n' "  of which the guest's journal" \
                "$(du -sk "$delta/var/log/journal" 2>/dev/null | cut -f1)"
done
