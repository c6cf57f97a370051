#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Networking cost of lodge start: the time the monitor spends making a guest's interfaces
# (veth pair into the guest's namespace, addresses, route, loopback; measured by the monitor
# itself and logged at debug level), and the time until N busybox guests on one managed
# network all hold DHCP leases from its dnsmasq.
#
#   sudo bench/net.sh            # 20 guests
#   sudo bench/net.sh -n 50
#
# Everything lives in a temporary LODGE_ROOT under /var/tmp, on a bridge of its own ("lb" and
# the pid) with a 10.X.Y.0/24 no host route uses; traffic stays on that bridge, and it is all
# removed at the end, also on failure.
set -euo pipefail

n=20
while getopts n: o; do
        case $o in
        n) n=$OPTARG ;;
        *) exit 2 ;;
        esac
done
[ "$(id -u)" = 0 ] || {
        echo "${0##*/}: run it as root" >&2
        exit 1
}
src=$(cd "$(dirname "$0")/.." && pwd)
lodge=${LODGE_BIN:-$src/build/cmd/lodge}
bb=$("$src/tests/fixtures/busybox.sh")
dir=$(mktemp -d /var/tmp/lodge-bench-net.XXXXXX)
chmod 0711 "$dir" # dnsmasq reads its host files after giving up root
export LODGE_ROOT=$dir/root LODGE_CACHE=$dir/cache LODGE_RUNDIR=$dir/run LODGE_CONF=$dir/lodge.conf
net=lb$$

finish() {
        set +e
        for c in "$LODGE_ROOT"/containers/*/; do
                [ -d "$c" ] && "$lodge" destroy -f "$(basename "$c")" >/dev/null 2>&1
        done
        "$lodge" network delete "$net" >/dev/null 2>&1
        ip link del "$net" 2>/dev/null
        rm -rf --one-file-system "$dir"
}
trap finish EXIT

sub=$(python3 - <<'EOF'
import ipaddress, subprocess
used = []
for line in subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                           text=True).stdout.split("\n"):
    w = line.split()
    if not w:
        continue
    dst = w[1] if w[0] in ("local", "broadcast", "unicast", "multicast") and len(w) > 1 else w[0]
    try:
        net = ipaddress.ip_network(dst, strict=False)
        if net.prefixlen > 0:
            used.append(net)
    except ValueError:
        pass
for x in range(150, 200):
    for y in range(256):
        c = ipaddress.ip_network("10.%d.%d.0/24" % (x, y))
        if not any(c.overlaps(u) for u in used):
            print("10.%d.%d" % (x, y))
            raise SystemExit
EOF
)
"$lodge" network create "$net" --ipv4 "$sub.1/24" >/dev/null
for i in $(seq 1 "$n"); do
        "$lodge" create "g$i" -t local -c net.0.type=veth -c "net.0.link=$net" -c net.0.ipv4=dhcp \
                -- --file "$bb" --meta "${bb/-rootfs./-meta.}" >/dev/null 2>&1
done

t0=$(date +%s.%N)
for i in $(seq 1 "$n"); do
        LODGE_LOG_LEVEL=debug "$lodge" start "g$i" 2>/dev/null
done
t1=$(date +%s.%N)
leased() {
        local c=0 pid
        for i in $(seq 1 "$n"); do
                pid=$(sed -n 's/^init_pid=//p' "$LODGE_RUNDIR/g$i/state")
                nsenter -t "$pid" -n ip -4 -o addr show dev eth0 2>/dev/null | grep -q inet && c=$((c + 1))
        done
        [ "$c" = "$n" ]
}
until leased; do
        sleep 0.05
        (($(date +%s) - ${t0%.*} < 120)) || {
                echo "${0##*/}: not all $n guests got a lease in 120 s" >&2
                exit 1
        }
done
t2=$(date +%s.%N)

cat "$LODGE_RUNDIR"/g*/monitor.log | sed -n 's/.*network set up in \([0-9]*\) us.*/\1/p' | sort -n |
        awk -v n="$n" -v t0="$t0" -v t1="$t1" -v t2="$t2" '
        { v[NR] = $1; s += $1 }
        END {
                printf "guests: %d busybox, one managed network (DHCP by dnsmasq)\n", n
                printf "network setup per start (veth + addresses + loopback): median %.2f ms, min %.2f, max %.2f, mean %.2f\n",
                        v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000, s / NR / 1000
                printf "all %d started: %.2f s; all holding DHCP leases: %.2f s after the first start\n",
                        n, t1 - t0, t2 - t0
        }'
