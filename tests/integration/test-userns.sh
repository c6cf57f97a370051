#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A guest in a user namespace of its own (security.idmap): its root is the
# host's BASE, never the host's root; its rootfs is idmapped, so files stay
# owned by 0 on disk; attach enters the namespace; and the escape probe's
# attempts that a privileged guest gets through without AppArmor (test-escape.sh's
# known gaps) are all denied; systemd boots to running with its cgroup delegated.
. "$(dirname "$0")/lib.sh"

probe=$TEST_DIR/escape-probe
gcc -static -O1 -o "$probe" "$LODGE_SRCDIR/tests/integration/escape-probe.c" 2>/dev/null ||
        { echo "SKIP: can't build a static probe (gcc, libc6-dev)"; exit 77; }
BB=$(fixture_busybox)
# A range of its own per run, far above any real user.
base=$((0x40000000 + ($$ % 1024) * 65536))

lodge create un -t local -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
rootfs=$LODGE_ROOT/containers/un/rootfs
cp "$probe" "$rootfs/probe"
lodge config un set security.idmap "$base:65536"
expect 0 '' -- lodge start un
pid=$(init_pid un)
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = "$base" ] ||
        fail "init runs as host uid $(awk '/^Uid:/ { print $2 }' "/proc/$pid/status"), not $base"
[ "$(awk '/^Gid:/ { print $2 }' "/proc/$pid/status")" = "$base" ] || fail "init's gid is not $base"
[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] ||
        fail "init is in the host's user namespace"
wait_for 10 sh -c "'$LODGE_BIN' console un --log | grep -q 'un login'" ||
        fail "no login prompt on the console: $(lodge console un --log | tail -n 3)"
ok "the guest's init runs in its own user namespace as host uid $base, getty on the console"

expect 0 '' -- lodge attach un -- sh -c 'id -u; cat /proc/self/uid_map; touch /made-inside; ls -ln /made-inside'
read -r -a map <<<"$(sed -n 2p "$TEST_DIR/out")"
[ "$(sed -n 1p "$TEST_DIR/out")" = 0 ] || fail "attach: id -u is $(sed -n 1p "$TEST_DIR/out")"
[ "${map[*]}" = "0 $base 65536" ] || fail "attach: uid_map '${map[*]}'"
[ "$(stat -c %u:%g "$rootfs/made-inside")" = 0:0 ] ||
        fail "a file the guest made is stored as $(stat -c %u:%g "$rootfs/made-inside") on disk"
[ "$(stat -c %u "$rootfs/bin")" = 0 ] || fail "the rootfs was chowned"
ps -o uid= --ppid "$pid" | while read -r u; do
        [ "$u" -ge "$base" ] && [ "$u" -lt $((base + 65536)) ] || fail "a guest process runs as host uid $u"
done
ok "attach: root inside, the guest's uid_map; files it makes stay owned by 0 on disk (idmapped)"

# The probe, as test-escape.sh runs it, against this guest.
blk=$(findmnt -no MAJ:MIN / 2>/dev/null | tr -d ' ' || true)
[ -e "/sys/dev/block/$blk" ] || blk=$(basename "$(ls -d /sys/dev/block/*:* | head -n1)")
host_core=$(cat /proc/sys/kernel/core_pattern)
host_printk=$(cat /sys/module/printk/parameters/time)
host_binfmt=$(ls /proc/sys/fs/binfmt_misc 2>/dev/null || true)
sleep 600 &
host_pid=$!
TEST_PIDS+=("$host_pid")
expect 0 '' -- lodge attach un -- /probe all "${blk%:*}" "${blk#*:}" "$host_pid"
cp "$TEST_DIR/out" "$TEST_DIR/probe.out"
result() {
        awk -v n="$1" '$1 == n { r = ($2 == "ok") ? "ok" : $3 } END { print r ? r : "missing" }' \
                "$TEST_DIR/probe.out"
}
for attempt in blockdev mem kmem port settimeofday core_pattern hostname_sysctl sys_write kmsg \
        kallsyms proc_host_pid kill_host release_agent_new sys_remount_write \
        proc_sys_umount_write proc_new_core_pattern; do
        r=$(result "$attempt")
        [ "$r" != ok ] && [ "$r" != missing ] || {
                cat "$TEST_DIR/probe.out" >&2
                fail "$attempt: got '$r', expected denied"
        }
done
kill -0 "$host_pid" 2>/dev/null || fail "the guest killed a host process"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$host_core" ] || fail "the host's core_pattern changed"
[ "$(cat /sys/module/printk/parameters/time)" = "$host_printk" ] || fail "a host sysfs value changed"
# binfmt_misc is per user namespace (Linux 6.7): the guest may mount its own.
[ "$(ls /proc/sys/fs/binfmt_misc 2>/dev/null || true)" = "$host_binfmt" ] ||
        fail "the host's binfmt_misc changed"
ok "escape probe: denied, also what a privileged guest gets through without AppArmor (/sys rw, /proc/sys, a new procfs)"

expect 0 '' -- lodge stop un
grep -q 'ended=clean' "$LODGE_RUNDIR/un/state" || fail "didn't stop cleanly: $(cat "$LODGE_RUNDIR/un/state")"
[ -z "$(cgroups_of un)" ] || fail "cgroups left: $(cgroups_of un)"
! grep -q "$rootfs" /proc/self/mountinfo || fail "the rootfs is still mounted on the host"
ok "stops cleanly on SIGUSR2; nothing left"

# systemd, in its own user namespace, with its cgroup delegated to its root.
DEB=$(fixture_debian)
lodge create ud -t local -- --file "$DEB" --meta "$(meta_of "$DEB")" >/dev/null
printf 'auto lo\niface lo inet loopback\n' >"$LODGE_ROOT/containers/ud/rootfs/etc/network/interfaces"
lodge config ud set security.idmap "$((base + 65536)):65536"
expect 0 '' -- lodge start ud
wait_for 60 sh -c "[ \"\$('$LODGE_BIN' attach ud -- systemctl is-system-running 2>/dev/null)\" = running ]" || {
        lodge attach ud -- systemctl --failed --no-legend >&2 || true
        fail "systemd in a user namespace is '$(lodge attach ud -- systemctl is-system-running 2>&1)', not running"
}
pid=$(init_pid ud)
ps -o uid= --ppid "$pid" | while read -r u; do
        [ "$u" -ge $((base + 65536)) ] && [ "$u" -lt $((base + 131072)) ] ||
                fail "a systemd guest process runs as host uid $u"
done
expect 0 '' -- lodge stop ud
grep -q 'ended=clean' "$LODGE_RUNDIR/ud/state" || fail "systemd didn't stop cleanly: $(cat "$LODGE_RUNDIR/ud/state")"
[ -z "$(cgroups_of ud)" ] || fail "cgroups left: $(cgroups_of ud)"
ok "systemd in a user namespace reaches 'running' (no failed unit) and stops cleanly"

lodge config un set device.0 /dev/loop-control
expect 1 'device.0: not for a guest in a user namespace yet' -- lodge start un
[ -z "$(cgroups_of un)" ] || fail "a refused start left cgroups"
lodge config un unset device.0
ok "device.N in a user namespace: refused clearly, nothing left"
