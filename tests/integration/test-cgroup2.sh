#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A cgroup2-only host, as modern distributions have: made here in a private
# mount namespace with only the unified hierarchy at /sys/fs/cgroup (the v1
# controllers stay bound to v1, so limits can't be checked this way, but the
# layout, the boot and the cleanup can). Guests boot, see one cgroup2 mount,
# attach, freeze and stop; nothing is left.
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
lodge create c2 -t local -- --file "$BB" >/dev/null
expect 0 '' -- lodge start c2
expect 0 '' -- lodge attach c2 -- sh -c 'mount | grep cgroup'
[ "$(grep -c cgroup "$TEST_DIR/out")" = 1 ] && grep -q 'type cgroup2' "$TEST_DIR/out" ||
        fail "the guest's cgroups: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge attach c2 -- cat /proc/self/cgroup
grep -q '^0::/$' "$TEST_DIR/out" || fail "attach not at its cgroup namespace root"
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
ok "systemd guest on a cgroup2-only host reaches running and stops cleanly"
