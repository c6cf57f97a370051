#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Networking: lodge's managed networks (bridge, dnsmasq, NAT chains; IPv4, dual-stack and
# IPv6-only), guests on them over veth pairs (busybox, and systemd Debian guests) with DHCP
# leases and static addresses, names resolved by dnsmasq, traffic limits measured between two
# guests, the default network named by lodge.conf, two lodge roots side by side, leases kept
# across a simulated host reboot, and that everything goes again: no veth, ifb, bridge, qdisc,
# dnsmasq, lease file or nft chain left. Faults: a foreign bridge, a host-side name taken,
# dnsmasq missing or failing, a bad lodge.conf, a duplicate address, a guest killed holding a
# lease.
#
# Traffic stays between the host and guests on this test's own bridges (their own names and
# unused 10.X.Y.0/24 and fd4X: subnets): nothing is sent anywhere else, and no guest traffic is
# NATed out.
. "$(dirname "$0")/lib.sh"

for tool in dnsmasq nft iperf3 ip tc python3; do
        command -v "$tool" >/dev/null || {
                echo "SKIP: $tool is not installed (scripts/deps)"
                exit 77
        }
done

BB=$(fixture_busybox)
# dnsmasq gives up root once it runs: it must be able to reach its files in the run directory.
chmod 0711 "$TEST_DIR"

# This run's own bridge names and a /24 no route of the host overlaps.
NET=lt$$
NETS=("$NET" "${NET}n" "${NET}d" "${NET}f" "${NET}x" "${NET}6" "${NET}v")
read -r SUB SUB2 SUB3 < <(python3 - "$$" <<'EOF'
import ipaddress, subprocess, sys
pid = int(sys.argv[1])
routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                        text=True).stdout.split("\n")
used = []
for line in routes:
    w = line.split()
    if not w:
        continue
    kinds = ("local", "broadcast", "unicast", "multicast", "unreachable", "blackhole", "prohibit",
             "throw", "anycast")
    dst = w[1] if w[0] in kinds and len(w) > 1 else w[0]
    if dst == "default":
        continue
    try:
        used.append(ipaddress.ip_network(dst, strict=False))
    except ValueError:
        pass
found = []
for i in range(4000):
    c = ipaddress.ip_network("10.%d.%d.0/24" % (200 + (pid + i) % 50, (pid // 50 + i * 7) % 256))
    if not any(c.overlaps(u) for u in used) and c not in found:
        found.append(c)
    if len(found) == 3:
        break
print(" ".join(str(n.network_address).rsplit(".", 1)[0] for n in found))
EOF
)
[ -n "$SUB3" ] || fail "no free 10.X.Y.0/24 for the test"
# The default network (net.N.link unset) of this run: its own name and subnet, from lodge.conf.
printf '# the test'"'"'s\nnetwork.default = %s\nnetwork.default.ipv4 = %s.1/24\n' "${NET}x" "$SUB3" \
        >"$LODGE_CONF"
# A second lodge root on this host (its own state, run directory and lodge.conf): see "two roots".
ROOT2=(env LODGE_ROOT="$TEST_DIR/root2" LODGE_RUNDIR="$TEST_DIR/run2" LODGE_CONF="$TEST_DIR/root2.conf")
TEST_ROOTS+=("$TEST_DIR/root2")
TAG2=$(root_tag "$TEST_DIR/root2")
GW=$SUB.1
IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)
IPERF_PID=

# The host end of guest NAME's net.INDEX: "lg" + 48 bits of FNV-1a 64 (net/ifname.c).
host_end() {
        python3 - "$1" "${2:-0}" "$LODGE_TAG" <<'EOF'
import sys
h, p, m = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1
for b in (sys.argv[3] + "/" + sys.argv[1] if sys.argv[3] else sys.argv[1]).encode():
    h = ((h ^ b) * p) & m
h = ((h ^ int(sys.argv[2])) * p) & m
print("lg%012x" % (h >> 16))
EOF
}

net_cleanup() {
        local rc=$? n f pid
        set +e
        [ -n "$IPERF_PID" ] && kill "$IPERF_PID" 2>/dev/null
        for c in "$LODGE_ROOT"/containers/*/; do
                [ -d "$c" ] && "$LODGE_BIN" destroy -f "$(basename "$c")" >/dev/null 2>&1
        done
        for c in "$TEST_DIR"/root2/containers/*/; do
                [ -d "$c" ] && "${ROOT2[@]}" "$LODGE_BIN" destroy -f "$(basename "$c")" >/dev/null 2>&1
        done
        for n in "${NETS[@]}"; do
                "$LODGE_BIN" network delete "$n" >/dev/null 2>&1
        done
        for n in "${NET}m" "lodgebr$TAG2"; do
                "${ROOT2[@]}" "$LODGE_BIN" network delete "$n" >/dev/null 2>&1
        done
        # What a failed lodge may have left of this run's networks, and only that.
        for f in "$LODGE_RUNDIR"/.networks/*/dnsmasq.pid "$TEST_DIR"/run2/.networks/*/dnsmasq.pid; do
                [ -f "$f" ] || continue
                pid=$(cat "$f")
                grep -qF -- "--pid-file=$f" "/proc/$pid/cmdline" 2>/dev/null && kill "$pid"
        done
        for n in "${NETS[@]}" "${NET}m" "lodgebr$TAG2"; do
                ip link del "$n" 2>/dev/null
        done
        # This run's roots' tables only (lodge-TAG: they aren't the default root).
        nft delete table inet "lodge-$LODGE_TAG" 2>/dev/null
        nft delete table inet "lodge-$TAG2" 2>/dev/null
        for n in bb1 bb2 bs bd bc bm deb1 deb2 bdef s6 a6 v6s v6a; do
                ip link del "$(host_end "$n")" 2>/dev/null
                ip link del "li$(host_end "$n" | cut -c3-)" 2>/dev/null
        done
        ip link del "$(LODGE_TAG=$TAG2 host_end r2)" 2>/dev/null
        echo "$IP_FORWARD" >/proc/sys/net/ipv4/ip_forward
        (exit "$rc")
        cleanup
}
trap net_cleanup EXIT

guest_pid() { init_pid "$1"; }
# grep that reads all its input: "cmd | grep -q" fails under pipefail when cmd is still writing.
has() { grep "$@" >/dev/null; }
# The IPv4 address (no prefix) of eth0 in guest NAME, or nothing.
addr_of() {
        nsenter -t "$(guest_pid "$1")" -n ip -4 -o addr show dev eth0 2>/dev/null |
                awk '{ sub("/.*", "", $4); print $4; exit }'
}
has_addr() { [ -n "$(addr_of "$1")" ]; }
# After a refused start: STOPPED, with no monitor, cgroup or veth left.
stopped() {
        grep -q 'state=STOPPED' "$LODGE_RUNDIR/$1/state" ||
                fail "$1 half-started: $(cat "$LODGE_RUNDIR/$1/state" 2>&1)"
        [ ! -e "$LODGE_RUNDIR/$1/monitor.sock" ] || fail "$1: monitor socket left"
        [ -z "$(cgroups_of "$1")" ] || fail "$1: cgroups left: $(cgroups_of "$1")"
        ip link show "$(host_end "$1")" >/dev/null 2>&1 && fail "$1: veth left"
        return 0
}
json_get() { python3 -c "import json,sys; print(eval('json.load(sys.stdin)' + sys.argv[1]))" "$1"; }

# --- a network
expect 0 '' -- lodge network create "$NET" --ipv4 "$GW/24"
ip -d link show "$NET" | has 'alias lodge-managed' || fail "bridge $NET isn't marked as lodge's"
ip -4 addr show dev "$NET" | has "inet $GW/24" || fail "no gateway address on $NET"
expect 0 '' -- lodge network show "$NET" --format json
dnsmasq_pid=$(json_get '["dnsmasq_pid"]' <"$TEST_DIR/out")
[[ $dnsmasq_pid =~ ^[0-9]+$ ]] && kill -0 "$dnsmasq_pid" || fail "no dnsmasq: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge network list
grep -Eq "^$NET +$GW/24 +none +off +on +yes" "$TEST_DIR/out" || fail "list: $(cat "$TEST_DIR/out")"
ok "network create: a lodge bridge with its gateway address and a dnsmasq"

expect 1 'exists already' -- lodge network create "$NET" --ipv4 "$SUB2.1/24"
expect 2 'not a valid network name' -- lodge network create 'a:b'
expect 2 'not ADDR/PREFIX' -- lodge network create "${NET}d" --ipv4 10.1.2.3
ip link add "${NET}f" type bridge
expect 1 "interface '${NET}f' exists and is not a lodge bridge" -- lodge network create "${NET}f"
ip link show "${NET}f" >/dev/null 2>&1 || fail "lodge removed a bridge that isn't its own"
expect 1 "no network '${NET}f'" -- lodge network delete "${NET}f"
ip link show "${NET}f" >/dev/null 2>&1 || fail "lodge removed a bridge that isn't its own"
ip link del "${NET}f"
expect 1 'dnsmasq.*not installed' -- env LODGE_DNSMASQ=/nonexistent/dnsmasq \
        "$LODGE_BIN" network create "${NET}d" --ipv4 "$SUB2.1/24"
ip link show "${NET}d" >/dev/null 2>&1 && fail "a failed create left bridge ${NET}d"
[ -e "$LODGE_ROOT/networks/${NET}d" ] && fail "a failed create left its definition"
[ -e "$LODGE_RUNDIR/.networks/${NET}d" ] && fail "a failed create left its run directory"
ok "network faults: duplicate, bad name or subnet, a foreign bridge, dnsmasq missing"

# --- check: what lodge's networks need, asked, not looked for
check_state() { # LAYER: its state in lodge check's JSON (in $TEST_DIR/out)
        python3 -c 'import json,sys; print({i["layer"]: i["state"] for i in json.load(open(sys.argv[1]))}[sys.argv[2]])' \
                "$TEST_DIR/out" "$1"
}
expect 0 '' -- lodge check --format json
[ "$(check_state dnsmasq)" = ok ] && [ "$(check_state nftables)" = ok ] ||
        fail "check: dnsmasq and nft are here: $(cat "$TEST_DIR/out")"
LODGE_DNSMASQ=/nonexistent/dnsmasq LODGE_NFT=/nonexistent/nft expect 0 '' -- lodge check --format json
[ "$(check_state dnsmasq)" = warn ] && [ "$(check_state nftables)" = warn ] ||
        fail "check: dnsmasq and nft missing: $(cat "$TEST_DIR/out")"
grep -q "'/nonexistent/dnsmasq' is not installed" "$TEST_DIR/out" || fail "check doesn't say why"
expect 0 '' -- setpriv --reuid=65534 --regid=65534 --clear-groups "$LODGE_BIN" check
grep -Eq '^nftables +warn +nft failed .*not permitted' "$TEST_DIR/out" ||
        fail "check: nft without CAP_NET_ADMIN: $(cat "$TEST_DIR/out")"
ok "check: dnsmasq and nftables there and usable, or why not"

# --- guests: two on DHCP, one static
for g in bb1 bb2; do
        lodge create "$g" -t local -c net.0.type=veth -c "net.0.link=$NET" -c net.0.ipv4=dhcp \
                -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
done
lodge create bs -t local -c net.0.type=veth -c "net.0.link=$NET" -c "net.0.ipv4=$SUB.50/24" \
        -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
mac1=$(lodge config bb1 get net.0.hwaddr)
[[ $mac1 == 00:16:3e:* ]] || fail "no generated hwaddr: '$mac1'"
[ "$mac1" != "$(lodge config bb2 get net.0.hwaddr)" ] || fail "two guests got one MAC"
ok "create gives each interface its own MAC (00:16:3e)"

for g in bb1 bb2 bs; do
        LODGE_LOG_LEVEL=debug expect 0 '' -- lodge start "$g"
        us=$(sed -n 's/.*network set up in \([0-9]*\) us.*/\1/p' "$LODGE_RUNDIR/$g/monitor.log")
        echo "# $g: network set up in ${us:-?} us"
done
[ "$(addr_of bs)" = "$SUB.50" ] || fail "bs has '$(addr_of bs)', not $SUB.50"
nsenter -t "$(guest_pid bs)" -n ip route | has "default via $GW dev eth0" ||
        fail "bs has no default route via $GW: $(nsenter -t "$(guest_pid bs)" -n ip route)"
nsenter -t "$(guest_pid bs)" -n ip link show lo | has 'UP' || fail "lo is down in bs"
wait_for 30 has_addr bb1 || fail "bb1 got no lease: $(in_guest bb1 cat /run/udhcpc.eth0.log)"
wait_for 30 has_addr bb2 || fail "bb2 got no lease: $(in_guest bb2 cat /run/udhcpc.eth0.log)"
a1=$(addr_of bb1) a2=$(addr_of bb2)
[[ $a1 == "$SUB".* && $a2 == "$SUB".* && $a1 != "$a2" ]] || fail "leases '$a1' '$a2'"
grep -q "$a1 .*bb1" "$LODGE_ROOT/networks/.leases/$NET" || fail "bb1's lease isn't in the lease file"
ok "two guests get DHCP leases from the network's dnsmasq, the static one its address and route"

in_guest bb1 ping -c1 -W2 "$GW" >/dev/null || fail "bb1 can't ping the gateway"
in_guest bb1 ping -c1 -W2 "$a2" >/dev/null || fail "bb1 can't ping bb2"
in_guest bb2 ping -c1 -W2 bb1 >/dev/null || fail "bb2 can't ping bb1 by name"
in_guest bb1 nslookup bb2.lodge "$GW" | has "$a2" || fail "bb2.lodge doesn't resolve to $a2"
in_guest bb2 nslookup bs "$GW" | has "$SUB.50" || fail "the static guest bs doesn't resolve"
ok "guests ping each other and the gateway, and resolve each other by name"

expect 0 '' -- lodge list
grep -Eq "^bb1 +RUNNING .* $a1/24 " "$TEST_DIR/out" || fail "list doesn't show bb1's lease: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge info bb1 --format json
[ "$(json_get '["interfaces"][0]["host_name"]' <"$TEST_DIR/out")" = "$(host_end bb1)" ] ||
        fail "info: host end: $(cat "$TEST_DIR/out")"
[ "$(json_get '["interfaces"][0]["hwaddr"]' <"$TEST_DIR/out")" = "$mac1" ] || fail "info: hwaddr"
[ "$(json_get '["interfaces"][0]["ipv4"][0]' <"$TEST_DIR/out")" = "$a1/24" ] || fail "info: ipv4"
(($(json_get '["interfaces"][0]["rx_packets"]' <"$TEST_DIR/out") > 0)) || fail "info: counters"
ip link show "$(host_end bb1)" | has "master $NET" || fail "bb1's host end isn't on $NET"
expect 1 'used by 3 running guests' -- lodge network delete "$NET"
ok "list and info show live addresses, MAC, host end and counters; delete refused while in use"

# --- static addresses: kept across restart and reboot; duplicates refused
expect 0 '' -- lodge stop bs
ip link show "$(host_end bs)" >/dev/null 2>&1 && fail "bs's veth outlived it"
[ -e "$LODGE_RUNDIR/.networks/$NET/hosts/bs" ] && fail "bs's DNS entry outlived it"
expect 0 '' -- lodge start bs
[ "$(addr_of bs)" = "$SUB.50" ] || fail "bs lost its address across a restart"
old=$(guest_pid bs)
reboot_in bs
wait_for 30 sh -c "[ \"\$(sed -n 's/^init_pid=//p' '$LODGE_RUNDIR/bs/state')\" != $old ] && grep -q state=RUNNING '$LODGE_RUNDIR/bs/state'" ||
        fail "bs didn't come back from its reboot: $(cat "$LODGE_RUNDIR/bs/monitor.log")"
wait_for 10 sh -c "nsenter -t \$(sed -n 's/^init_pid=//p' '$LODGE_RUNDIR/bs/state') -n ip -4 addr show eth0 | grep -q '$SUB.50/24'" ||
        fail "bs lost its address across a reboot"
sleep 1 # rcS has run: it leaves an interface with an address alone
[ "$(addr_of bs)" = "$SUB.50" ] || fail "bs's own networking changed its address"
ok "a static address is kept across a restart, a reboot and the guest's own networking"

lodge create bm -t local -c net.0.type=macvlan -c "net.0.link=$NET" -c "net.0.ipv4=$SUB.60/24" \
        -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
expect 0 '' -- lodge start bm
nsenter -t "$(guest_pid bm)" -n ip -d link show eth0 | has 'macvlan mode bridge' || fail "bm has no macvlan"
[ "$(addr_of bm)" = "$SUB.60" ] || fail "bm has '$(addr_of bm)'"
in_guest bm ping -c1 -W2 "$SUB.50" >/dev/null || fail "bm (macvlan) can't ping bs (veth)"
expect 0 '' -- lodge stop bm
ok "macvlan (bridge mode) on a host interface, with its static address"

lodge create bd -t local -c net.0.type=veth -c "net.0.link=$NET" \
        -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
expect 1 "net.0.ipv4: $SUB.50 is used by guest 'bs'" -- lodge config bd set net.0.ipv4 "$SUB.50/24"
expect 1 "$GW is the network's gateway" -- lodge config bd set net.0.ipv4 "$GW/24"
expect 1 "not in the network's subnet" -- lodge config bd set net.0.ipv4 "$SUB2.7/24"
expect 1 "used by guest 'bs'" -- lodge create bd2 -t local -c net.0.type=veth \
        -c "net.0.link=$NET" -c "net.0.ipv4=$SUB.50/24" -- --file "$BB" --meta "$(meta_of "$BB")"
# Behind lodge's back: the config says so, start refuses it and leaves nothing.
sed -i "s|^net.0.link = .*|&\nnet.0.ipv4 = $SUB.50/24|" "$LODGE_ROOT/containers/bd/config"
expect 1 "used by guest 'bs'" -- lodge start bd
stopped bd
ip link show "$(host_end bd)" >/dev/null 2>&1 && fail "a refused start left bd's veth"
expect 0 '' -- lodge destroy bd
ok "a duplicate static address is refused at config set, create and start"

# --- faults at start: the host-side name taken, dnsmasq missing
lodge create bc -t local -c net.0.type=veth -c "net.0.link=$NET" \
        -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
ip link add "$(host_end bc)" type bridge
expect 1 "an interface '$(host_end bc)' exists" -- lodge start bc
ip link show "$(host_end bc)" >/dev/null 2>&1 || fail "lodge removed an interface that isn't its own"
ip link del "$(host_end bc)"
stopped bc
[ -z "$(cgroups_of bc)" ] || fail "a failed start left cgroups"
ok "a host-side name collision fails the start cleanly"

expect 0 '' -- lodge stop bb1
expect 0 '' -- lodge stop bb2
expect 0 '' -- lodge stop bs
expect 0 '' -- lodge network delete "$NET"
expect 0 '' -- lodge network create "$NET" --ipv4 "$GW/24" --dhcp off
expect 0 '' -- lodge network delete "$NET"
# A network defined with DHCP whose dnsmasq can't run: the guest's start fails, nothing is left.
mkdir -p "$LODGE_ROOT/networks"
printf 'version=1\nipv4=%s/24\nipv6=none\nnat=off\ndhcp=on\n' "$GW" >"$LODGE_ROOT/networks/$NET"
LODGE_DNSMASQ=/nonexistent/dnsmasq expect 1 'dnsmasq.*not installed' -- lodge start bc
stopped bc
ip link show "$(host_end bc)" >/dev/null 2>&1 && fail "a failed start left bc's veth"
# A dnsmasq that fails to start (as one that can't bind its port would).
printf '#!/bin/sh\necho "dnsmasq: failed to create listening socket for %s: Address in use" >&2\nexit 2\n' \
        "$GW" >"$TEST_DIR/bad-dnsmasq"
chmod 0755 "$TEST_DIR/bad-dnsmasq"
LODGE_DNSMASQ=$TEST_DIR/bad-dnsmasq expect 1 \
        "dnsmasq for '$NET' failed \\(exit 2\\): dnsmasq: failed to create listening socket" -- lodge start bc
stopped bc
ip link show "$(host_end bc)" >/dev/null 2>&1 && fail "a failed start left bc's veth"
ok "dnsmasq missing or failing at a guest's start: a clear error, the guest not started"

# ... and with dnsmasq there, the guest's start brings the network up (as after a reboot).
ip link del "$NET" 2>/dev/null || true
expect 0 '' -- lodge start bb1
ip -d link show "$NET" | has 'alias lodge-managed' || fail "start didn't bring $NET up"
wait_for 30 has_addr bb1 || fail "bb1 got no lease after the network came back"
a1=$(addr_of bb1)
pid=$(guest_pid bb1)
kill -9 "$pid"
wait_for 15 sh -c "grep -q state=STOPPED '$LODGE_RUNDIR/bb1/state'" || fail "bb1 didn't stop when killed"
ip link show "$(host_end bb1)" >/dev/null 2>&1 && fail "a killed guest's veth is left"
expect 0 '' -- lodge start bb1
wait_for 30 has_addr bb1 || fail "bb1 got no lease after it was killed"
[ "$(addr_of bb1)" = "$a1" ] || fail "bb1 killed holding a lease got $(addr_of bb1), not $a1"
ok "a guest's start brings its network up; a guest killed holding a lease gets it again"

# --- traffic limits, live, measured between two guests on the test bridge: iperf3 (the host's
# binary) runs in each guest's network namespace, so the traffic goes bb1's veth -> the bridge ->
# bb2's veth and back, shaped on bb1's host end only. 6 s per run, the first second (the bucket's
# burst, TCP's slow start) left out: long enough to be steady under ASan and a loaded machine.
expect 0 '' -- lodge start bb2
wait_for 30 has_addr bb2 || fail "bb2 got no lease"
iperf() { # DIRECTION (out: bb1 to bb2, in: bb2 to bb1): Mbit/s, as the receiver counts them
        local rev= a2
        [ "$1" = in ] && rev=-R
        a2=$(addr_of bb2)
        nsenter -t "$(guest_pid bb2)" -n iperf3 -s -B "$a2" -1 >/dev/null 2>&1 &
        IPERF_PID=$!
        wait_for 10 sh -c "nsenter -t $(guest_pid bb2) -n ss -ltn | grep -q ':5201 '" ||
                fail "iperf3 doesn't listen in bb2"
        nsenter -t "$(guest_pid bb1)" -n iperf3 -c "$a2" -t 6 -O 1 $rev -J |
                python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'
        wait "$IPERF_PID" 2>/dev/null || true
        IPERF_PID=
}
within() { (($2 * 75 / 100 <= $1 && $1 <= $2 * 125 / 100)); }
expect 0 '' -- lodge config bb1 set net.0.limit.egress 10mbit
expect 0 '' -- lodge config bb1 set net.0.limit.ingress 20mbit
tc qdisc show dev "$(host_end bb1)" | has 'tbf' || fail "no tbf on bb1's host end"
tc qdisc show dev "$(host_end bb2)" | has 'tbf' && fail "bb2's host end is shaped too"
out=$(iperf out) in=$(iperf in)
echo "# bb1 limited to 10mbit out, 20mbit in: measured bb1->bb2 $out, bb2->bb1 $in Mbit/s"
within "$out" 10 || fail "bb1's egress limited to 10mbit ran at $out Mbit/s to bb2"
within "$in" 20 || fail "bb1's ingress limited to 20mbit ran at $in Mbit/s from bb2"
expect 0 '' -- lodge config bb1 unset net.0.limit.egress
expect 0 '' -- lodge config bb1 unset net.0.limit.ingress
tc qdisc show dev "$(host_end bb1)" | has -E 'tbf|ingress' && fail "limits left after unset"
out=$(iperf out) in=$(iperf in)
echo "# no limits: measured bb1->bb2 $out, bb2->bb1 $in Mbit/s"
((out > 100 && in > 100)) || fail "without limits: $out, $in Mbit/s"
expect 0 '' -- lodge stop bb2
ok "traffic limits between two guests within 25% both ways, set and removed live"

# --- systemd guests (Debian: ifupdown and dhclient on eth0) on the same network
DEB=$(fixture_debian)
for g in deb1 deb2; do
        lodge create "$g" -t local -c net.0.type=veth -c "net.0.link=$NET" -c net.0.ipv4=dhcp \
                -- --file "$DEB" --meta "$(meta_of "$DEB")" >/dev/null
        expect 0 '' -- lodge start "$g"
done
for g in deb1 deb2; do
        wait_for 120 sh -c "[ \"\$(nsenter -t \$(sed -n 's/^init_pid=//p' '$LODGE_RUNDIR/$g/state') -a systemctl is-system-running 2>/dev/null)\" = running ]" || {
                in_guest "$g" systemctl --failed --no-legend >&2 || true
                fail "$g: systemd is not running"
        }
        wait_for 30 has_addr "$g" || fail "$g got no lease"
done
d1=$(addr_of deb1) d2=$(addr_of deb2)
[[ $d1 == "$SUB".* && $d2 == "$SUB".* && $d1 != "$d2" ]] || fail "systemd guests' leases '$d1' '$d2'"
[ "$(in_guest deb1 getent hosts deb2 | awk '{ print $1 }')" = "$d2" ] || fail "deb1 can't resolve deb2"
[ "$(in_guest deb2 getent hosts deb1.lodge | awk '{ print $1 }')" = "$d1" ] ||
        fail "deb2 can't resolve deb1.lodge"
nsenter -t "$(guest_pid deb1)" -n busybox ping -c1 -W2 "$d2" >/dev/null || fail "deb1 can't ping deb2"
nsenter -t "$(guest_pid deb2)" -n busybox ping -c1 -W2 "$GW" >/dev/null || fail "deb2 can't ping the gateway"
for g in deb1 deb2; do
        expect 0 '' -- lodge stop "$g" --timeout 60
        grep -q 'ended=clean' "$LODGE_RUNDIR/$g/state" || fail "$g didn't stop cleanly"
done
ok "systemd guests get leases, reach 'running', resolve and reach each other and the gateway"

# A static systemd guest: lodge sets its address before init, and its own ifupdown keeps it.
lodge create deb3 -t local -c net.0.type=veth -c "net.0.link=$NET" -c "net.0.ipv4=$SUB.53/24" \
        -c "net.0.ipv4.gateway=$GW" -- --file "$DEB" --meta "$(meta_of "$DEB")" >/dev/null
expect 0 '' -- lodge start deb3
wait_for 120 sh -c "[ \"\$(nsenter -t \$(sed -n 's/^init_pid=//p' '$LODGE_RUNDIR/deb3/state') -a systemctl is-system-running 2>/dev/null)\" = running ]" || {
        in_guest deb3 systemctl --failed --no-legend >&2 || true
        fail "deb3 (static): systemd is not running"
}
[ "$(addr_of deb3)" = "$SUB.53" ] || fail "deb3's address: $(addr_of deb3)"
nsenter -t "$(guest_pid deb3)" -n busybox ping -c1 -W2 "$GW" >/dev/null || fail "deb3 can't ping the gateway"
expect 0 '' -- lodge stop deb3 --timeout 60
ok "a static systemd guest reaches 'running': its ifupdown keeps the address lodge set"

# --- the default network: made on first use, with a free private /24
lodge create bdef -t local -c net.0.type=veth -c net.0.ipv4=dhcp \
        -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
# lodge.conf names it; an unknown key there is an error naming the file, line and key.
cp "$LODGE_CONF" "$TEST_DIR/lodge.conf.good"
echo 'network.defualt = br0' >>"$LODGE_CONF"
expect 1 "'$LODGE_CONF' line 4: unknown key 'network.defualt'" -- lodge start bdef
stopped bdef
ip link show "${NET}x" >/dev/null 2>&1 && fail "a bad lodge.conf made the default network"
mv "$TEST_DIR/lodge.conf.good" "$LODGE_CONF"
expect 0 '' -- lodge start bdef
expect 0 '' -- lodge network show "${NET}x" --format json
defnet=$(json_get '["ipv4"]' <"$TEST_DIR/out")
[ "$defnet" = "$SUB3.1/24" ] || fail "default network: $(cat "$TEST_DIR/out")"
ip -d link show "${NET}x" | has 'alias lodge-managed' || fail "no bridge ${NET}x"
ip link show "$(host_end bdef)" | has "master ${NET}x" || fail "bdef isn't on ${NET}x"
wait_for 30 has_addr bdef || fail "bdef got no lease on the default network"
[[ $(addr_of bdef) == "${defnet%.1/24}".* ]] || fail "bdef has $(addr_of bdef), not in $defnet"
expect 0 '' -- lodge stop bdef
expect 0 '' -- lodge network delete "${NET}x"
ok "a guest without net.0.link gets the default network of lodge.conf, made on first use"

# --- IPv6: static addresses with a default route, SLAAC from the network's router advertisements
P6=fd42:$(printf %x $(($$ % 65536)))::
expect 0 '' -- lodge network create "${NET}6" --ipv4 "$SUB2.1/24" --ipv6 "${P6}1/64"
lodge create s6 -t local -c net.0.type=veth -c "net.0.link=${NET}6" -c "net.0.ipv4=$SUB2.50/24" \
        -c "net.0.ipv6=${P6}50/64" -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
lodge create a6 -t local -c net.0.type=veth -c "net.0.link=${NET}6" -c net.0.ipv4=dhcp \
        -c net.0.ipv6=auto -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
expect 0 '' -- lodge start s6
expect 0 '' -- lodge start a6
nsenter -t "$(guest_pid s6)" -n ip -6 addr show dev eth0 | has "inet6 ${P6}50/64" || fail "s6: no IPv6 address"
nsenter -t "$(guest_pid s6)" -n ip -6 route | has "default via ${P6}1 dev eth0" || fail "s6: no IPv6 route"
in_guest s6 ping -6 -c1 -W2 "${P6}1" >/dev/null || fail "s6 can't ping the IPv6 gateway"
# A SLAAC address, done with its duplicate detection (a tentative one can't be used yet).
slaac() {
        nsenter -t "$(guest_pid a6)" -n ip -6 addr show dev eth0 scope global |
                grep "inet6 ${P6%::}:" | grep -vq tentative
}
wait_for 20 slaac || fail "a6 got no SLAAC address: $(nsenter -t "$(guest_pid a6)" -n ip -6 addr)"
wait_for 5 in_guest a6 ping -6 -c1 -W1 "${P6}50" || fail "a6 can't ping s6 over IPv6"
expect 0 '' -- lodge stop s6
expect 0 '' -- lodge stop a6
expect 0 '' -- lodge network delete "${NET}6"
ok "IPv6: static address and route, SLAAC from the network's RAs"

# --- an IPv6-only network: no IPv4 on the bridge, dnsmasq for router advertisements only
V6=fd43:$(printf %x $(($$ % 65536)))::
expect 0 '' -- lodge network create "${NET}v" --ipv4 none --ipv6 "${V6}1/64"
expect 0 '' -- lodge network show "${NET}v" --format json
[ "$(json_get '["ipv4"]' <"$TEST_DIR/out")" = None ] || fail "${NET}v has IPv4: $(cat "$TEST_DIR/out")"
[ "$(json_get '["dhcp"]' <"$TEST_DIR/out")" = True ] || fail "${NET}v has no dnsmasq (RAs)"
ip -4 addr show dev "${NET}v" | has inet && fail "the IPv6-only bridge has an IPv4 address"
ip -6 addr show dev "${NET}v" | has "inet6 ${V6}1/64" || fail "no IPv6 gateway address on ${NET}v"
lodge create v6s -t local -c net.0.type=veth -c "net.0.link=${NET}v" -c "net.0.ipv6=${V6}50/64" \
        -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
lodge create v6a -t local -c net.0.type=veth -c "net.0.link=${NET}v" -c net.0.ipv6=auto \
        -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
expect 0 '' -- lodge start v6s
expect 0 '' -- lodge start v6a
nsenter -t "$(guest_pid v6s)" -n ip -6 route | has "default via ${V6}1 dev eth0" || fail "v6s: no IPv6 route"
slaac_v6a() {
        nsenter -t "$(guest_pid v6a)" -n ip -6 addr show dev eth0 scope global |
                grep "inet6 ${V6%::}:" | grep -vq tentative
}
wait_for 20 slaac_v6a || fail "v6a got no SLAAC address: $(nsenter -t "$(guest_pid v6a)" -n ip -6 addr)"
wait_for 5 in_guest v6a ping -6 -c1 -W1 "${V6}50" || fail "v6a can't ping v6s over IPv6"
in_guest v6s ping -6 -c1 -W2 "${V6}1" >/dev/null || fail "v6s can't ping the IPv6 gateway"
expect 0 '' -- lodge stop v6s
expect 0 '' -- lodge stop v6a
expect 0 '' -- lodge network delete "${NET}v"
ip link show "${NET}v" >/dev/null 2>&1 && fail "bridge ${NET}v is left"
ok "an IPv6-only network: SLAAC and a static address, no IPv4 anywhere"

# --- NAT: its own chains, no traffic through them
expect 0 '' -- lodge network create "${NET}n" --ipv4 "$SUB2.1/24" --nat on --dhcp off
nft list chain inet "lodge-$LODGE_TAG" "nat-${NET}n" |
        has "ip saddr $SUB2.0/24 ip daddr != $SUB2.0/24 masquerade" ||
        fail "no masquerade rule: $(nft list table inet "lodge-$LODGE_TAG")"
expect 0 '' -- lodge network delete "${NET}n"
nft list ruleset | has -- "-${NET}n" && fail "nft chains of ${NET}n are left"
nft list table inet "lodge-$LODGE_TAG" >/dev/null 2>&1 && fail "the root's nft table is left"
ok "NAT: masquerading in lodge's own chains, removed with the network"

# --- two roots on one host: each its own nft table and its own default network
expect 0 '' -- lodge network create "${NET}n" --ipv4 "$SUB2.1/24" --nat on --dhcp off
: >"$TEST_DIR/root2.conf"
expect 0 '' -- "${ROOT2[@]}" "$LODGE_BIN" network create "${NET}m" --ipv4 "$SUB3.1/24" --nat on --dhcp off
nft list chain inet "lodge-$TAG2" "nat-${NET}m" >/dev/null || fail "no table inet lodge-$TAG2"
nft list table inet "lodge-$LODGE_TAG" | has "nat-${NET}m" && fail "root2's chains are in root1's table"
expect 1 "a lodge bridge '${NET}n' exists without a definition" -- \
        "${ROOT2[@]}" "$LODGE_BIN" network create "${NET}n" --ipv4 "$SUB.1/24"
expect 1 "no network '${NET}n'" -- "${ROOT2[@]}" "$LODGE_BIN" network delete "${NET}n"
expect 0 '' -- "${ROOT2[@]}" "$LODGE_BIN" network delete "${NET}m"
nft list table inet "lodge-$TAG2" >/dev/null 2>&1 && fail "root2's table is left"
nft list chain inet "lodge-$LODGE_TAG" "nat-${NET}n" >/dev/null || fail "root2 took root1's chains along"
ip -d link show "${NET}n" | has 'alias lodge-managed' || fail "root2 took root1's bridge"
expect 0 '' -- lodge network delete "${NET}n"
# Without network.default, each root's default network is its own: lodgebr + the root's tag.
"${ROOT2[@]}" "$LODGE_BIN" create r2 -t local -c net.0.type=veth -c net.0.ipv4=dhcp \
        -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
expect 0 '' -- "${ROOT2[@]}" "$LODGE_BIN" start r2
ip link show "$(LODGE_TAG=$TAG2 host_end r2)" | has "master lodgebr$TAG2" || fail "r2 isn't on lodgebr$TAG2"
[ -e "$TEST_DIR/root2/networks/lodgebr$TAG2" ] || fail "root2's default network isn't defined in root2"
[ -e "$LODGE_ROOT/networks/lodgebr$TAG2" ] && fail "root2's default network is defined in root1"
expect 0 '' -- "${ROOT2[@]}" "$LODGE_BIN" stop r2
expect 0 '' -- "${ROOT2[@]}" "$LODGE_BIN" destroy r2
expect 0 '' -- "${ROOT2[@]}" "$LODGE_BIN" network delete "lodgebr$TAG2"
ip link show "lodgebr$TAG2" >/dev/null 2>&1 && fail "root2's default bridge is left"
ok "two roots: their own nft tables and default networks, neither touches the other's"

# --- cleanup: nothing of this run's networking is left
h1=$(host_end bb1)
expect 0 '' -- lodge network show "$NET" --format json
dnsmasq_pid=$(json_get '["dnsmasq_pid"]' <"$TEST_DIR/out")
[[ $dnsmasq_pid =~ ^[0-9]+$ ]] || fail "no dnsmasq: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge config bb1 set autostart true
expect 0 '' -- lodge stop bb1
leases=$LODGE_ROOT/networks/.leases/$NET
grep -q " $mac1 " "$leases" || fail "bb1's lease isn't kept in $leases: $(cat "$leases")"
# As a host reboot does: every guest down, no bridge, no dnsmasq, an empty run directory;
# autostart brings the network back, then bb1, which gets its lease again. To tell that lease
# from the address dnsmasq would pick anew (a hash of the MAC), it is moved, while dnsmasq is
# down, to one nothing else holds.
kill "$dnsmasq_pid"
wait_for 5 sh -c "! kill -0 $dnsmasq_pid 2>/dev/null" || fail "dnsmasq won't stop"
ip link del "$NET"
rm -rf --one-file-system "$LODGE_RUNDIR"
for i in $(seq 77 250); do
        grep -q " $SUB.$i " "$leases" || break
done
sed -i "/ $mac1 /d" "$leases"
echo "$(($(date +%s) + 3600)) $mac1 $SUB.$i bb1 *" >>"$leases"
expect 0 '' -- lodge autostart
ip -4 addr show dev "$NET" | has "inet $GW/24" || fail "autostart didn't bring $NET back"
expect 0 '' -- lodge network show "$NET" --format json
dnsmasq_pid=$(json_get '["dnsmasq_pid"]' <"$TEST_DIR/out")
[[ $dnsmasq_pid =~ ^[0-9]+$ ]] || fail "autostart started no dnsmasq: $(cat "$TEST_DIR/out")"
grep -q 'state=RUNNING' "$LODGE_RUNDIR/bb1/state" || fail "autostart didn't start bb1"
wait_for 30 has_addr bb1 || fail "bb1 got no lease after the reboot"
[ "$(addr_of bb1)" = "$SUB.$i" ] || fail "bb1 got $(addr_of bb1) after the reboot, not its lease $SUB.$i"
expect 0 '' -- lodge stop bb1
ok "after a reboot autostart brings the network back (bridge, address, dnsmasq) and its leases"

dir=$LODGE_RUNDIR/.networks/$NET
expect 0 '' -- lodge network delete "$NET"
ip -d link | has -E "${h1}|li${h1#lg}|: $NET[:@]" && fail "links left: $(ip -br link)"
for g in bb1 bb2 bs bc bm deb1 deb2 bdef s6 a6 v6s v6a; do
        ip link show "$(host_end "$g")" >/dev/null 2>&1 && fail "$g's veth is left"
done
[ -e "$dir" ] && fail "the network's run directory is left: $(ls "$dir")"
[ -e "$leases" ] && fail "the network's lease file is left"
kill -0 "$dnsmasq_pid" 2>/dev/null && fail "dnsmasq is left"
nft list ruleset | has -- "-$NET" && fail "nft chains of $NET are left"
ok "nothing is left: no veth, ifb, bridge, dnsmasq, lease file or nft chain"
