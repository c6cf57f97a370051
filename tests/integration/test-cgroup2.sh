#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A cgroup2-only host, as modern distributions have: made here in a private
# mount namespace with only the unified hierarchy at /sys/fs/cgroup (the v1
# controllers stay bound to v1, so limits can't be checked this way, but the
# layout, the boot and the cleanup can). Guests boot, see one cgroup2 mount,
# attach, freeze and stop; nothing is left. The device cgroup is a BPF program
# here, and nothing else confines devices: it is checked with the escape probe.
if [ "${LODGE_IN_CGROUP2_NS:-}" != 1 ]; then
        [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
        grep -q ' /sys/fs/cgroup/unified cgroup2 \| - cgroup2 ' /proc/self/mountinfo ||
                { echo "SKIP: no cgroup2 hierarchy"; exit 77; }
        LODGE_IN_CGROUP2_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
if ! grep -q ' /sys/fs/cgroup cgroup2 ' <(awk '{print "", $5, $(NF-2), ""}' /proc/self/mountinfo); then
        unified=$(awk '$(NF-2) == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
        mount --bind "$unified" /mnt
        umount -R /sys/fs/cgroup
        mount --move /mnt /sys/fs/cgroup
fi
. "$(dirname "$0")/lib.sh"

[ "$(awk '$(NF-2) ~ /^cgroup/' /proc/self/mountinfo | wc -l)" = 1 ] || fail "not cgroup2-only"

BB=$(fixture_busybox)
DEB=$(fixture_debian)
# Privileged, so that mknod gets as far as the device program (in a user namespace the
# kernel refuses it first). d2 below is unprivileged, as guests are by default.
lodge create c2 -t local -c security.privileged=true -- --file "$BB" >/dev/null
probe=$TEST_DIR/escape-probe
have_probe=false
if [ -c /dev/loop-control ] &&
        gcc -static -O1 -o "$probe" "$LODGE_SRCDIR/tests/integration/escape-probe.c" 2>/dev/null; then
        have_probe=true
        cp "$probe" "$LODGE_ROOT/containers/c2/rootfs/probe"
        expect 0 '' -- lodge config c2 set device.0 "/dev/loop-control /dev/lc"
fi
expect 0 '' -- lodge start c2
expect 0 '' -- lodge attach c2 -- sh -c 'mount | grep cgroup'
[ "$(grep -c cgroup "$TEST_DIR/out")" = 1 ] && grep -q 'type cgroup2' "$TEST_DIR/out" ||
        fail "the guest's cgroups: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge attach c2 -- cat /proc/self/cgroup
grep -q '^0::/$' "$TEST_DIR/out" || fail "attach not at its cgroup namespace root"
if $have_probe; then
        # The device program on cgroup2 (the v1 devices cgroup the guest sits in here
        # is the host's root, which allows everything): the default list, plus device.0.
        blk=$(basename "$(ls -d /sys/dev/block/*:* | head -n1)")
        for try in "node c 1 1:denied 1" "node b ${blk%:*} ${blk#*:}:denied 1" \
                "node c 10 236:denied 1" "node c 1 3:ok" "node c 1 9:ok" "open /dev/lc:ok"; do
                expect 0 '' -- lodge attach c2 -- /probe ${try%:*}
                grep -q "^[a-z]* ${try#*:}\$" "$TEST_DIR/out" ||
                        fail "cgroup2 device program, probe ${try%:*}: $(cat "$TEST_DIR/out")"
        done
        ok "cgroup2 device program: null and urandom open, mem and a host block device don't; device.0 does, its neighbour doesn't"
else
        echo "# no static probe or no /dev/loop-control: the cgroup2 device program not tried"
fi
expect 0 '' -- lodge freeze c2
expect 0 '' -- lodge wait c2 FROZEN --timeout 5
expect 0 '' -- lodge unfreeze c2
expect 0 '' -- lodge stop c2
[ -z "$(cgroups_of c2)" ] || fail "cgroups left: $(cgroups_of c2)"
ok "busybox guest on a cgroup2-only host: boots, attaches, freezes, stops, leaves nothing"

lodge create d2 -t local -- --file "$DEB" >/dev/null
printf 'auto lo\niface lo inet loopback\n' >"$LODGE_ROOT/containers/d2/rootfs/etc/network/interfaces"
expect 0 '' -- lodge start d2
wait_for 60 sh -c "[ \"\$('$LODGE_BIN' attach d2 -- systemctl is-system-running 2>/dev/null)\" = running ]" || {
        lodge attach d2 -- systemctl --failed --no-legend >&2 || true
        fail "systemd on cgroup2 is '$(lodge attach d2 -- systemctl is-system-running || true)'"
}
expect 0 '' -- lodge stop d2
grep -q 'ended=clean' "$LODGE_RUNDIR/d2/state" || fail "not a clean stop"
[ -z "$(cgroups_of d2)" ] || fail "cgroups left: $(cgroups_of d2)"
ok "systemd guest (unprivileged, the default) on a cgroup2-only host reaches running and stops cleanly"
