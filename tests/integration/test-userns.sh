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

# CVE-2019-5736 against the default guest: an attached command held where its process still
# runs lodge (no copy of lodge is made for such a guest). Guest root can't take a handle on it.
LODGE_TEST_STOP_BEFORE_EXEC=1 "$LODGE_BIN" attach un -- /bin/true </dev/null >/dev/null 2>&1 &
client=$!
TEST_PIDS+=("$client")
held() { [ "$(ps -o stat= --ppid "$client" | cut -c1)" = T ]; }
wait_for 30 held || fail "the attached process wasn't held before its exec"
child=$(ps -o pid= --ppid "$client" | tr -d ' ')
[ "$(readlink "/proc/$child/exe")" = "$(readlink -f "$LODGE_BIN")" ] ||
        fail "the held process runs $(readlink "/proc/$child/exe"), not lodge"
inner=$(awk '/^NSpid:/ { print $NF }' "/proc/$child/status")
expect 0 '' -- lodge attach un -- /probe exe "$inner"
grep -q '^exe_handle denied 13$' "$TEST_DIR/out" || fail "guest root and lodge's executable: $(cat "$TEST_DIR/out")"
# Until its exec the held process shares the client's memory (a vfork): the host's root's.
grep -q '^mem denied 13$' "$TEST_DIR/out" || fail "guest root and the client's memory: $(cat "$TEST_DIR/out")"
grep -q '^ptrace denied 1$' "$TEST_DIR/out" || fail "guest root ptraced the held process: $(cat "$TEST_DIR/out")"
kill -CONT "$child"
wait "$client" || fail "the held attach didn't finish"
expect 0 '' -- lodge attach un -- /probe exe 1 # the control: its own init's, it may
grep -q '^exe_handle ok$' "$TEST_DIR/out" || fail "the probe can't take a handle at all: $(cat "$TEST_DIR/out")"
grep -q '^mem ok$' "$TEST_DIR/out" && grep -q '^ptrace ok$' "$TEST_DIR/out" ||
        fail "the probe can't open or ptrace a guest process at all: $(cat "$TEST_DIR/out")"
ok "CVE-2019-5736: guest root can't take a handle on lodge's executable in an attach (EACCES), nor open or ptrace its memory, the client's"

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
# A setuid-root binary run by a guest user (systemd starts it: no no_new_privs) makes it the
# guest's root, which is the range's first id on the host, never host root.
lodge attach ud -- sh -c 'cp /bin/sleep /usr/local/bin/lodge-suid && chmod 4755 /usr/local/bin/lodge-suid'
lodge attach ud -- systemd-run --quiet --uid=nobody --unit=lodge-suid /usr/local/bin/lodge-suid 120
wait_for 10 pgrep -f /usr/local/bin/lodge-suid || fail "the setuid binary didn't start"
spid=$(pgrep -f /usr/local/bin/lodge-suid | head -1)
read -r _ ruid euid suid fsuid < <(grep '^Uid:' "/proc/$spid/status")
[ "$ruid" = $((base + 65536 + 65534)) ] && [ "$euid" = $((base + 65536)) ] &&
        [ "$suid" = "$euid" ] && [ "$fsuid" = "$euid" ] ||
        fail "a setuid-root binary in the guest runs as host uids $ruid $euid $suid $fsuid"
ok "setuid root in the guest: the guest's root (host uid $euid), not the host's"
expect 0 '' -- lodge stop ud
grep -q 'ended=clean' "$LODGE_RUNDIR/ud/state" || fail "systemd didn't stop cleanly: $(cat "$LODGE_RUNDIR/ud/state")"
[ -z "$(cgroups_of ud)" ] || fail "cgroups left: $(cgroups_of ud)"
ok "systemd in a user namespace reaches 'running' (no failed unit) and stops cleanly"

# device.N: the host's node, bound (mknod isn't allowed in a user namespace).
lodge config un set device.0 "/dev/loop-control /dev/ctl/loop"
expect 0 '' -- lodge start un
expect 0 '' -- lodge attach un -- stat -c '%F %t:%T' /dev/ctl/loop
[ "$(cat "$TEST_DIR/out")" = "character special file a:ed" ] || fail "device.0 in the guest: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge stop --kill un
lodge config un unset device.0
ok "device.N in a user namespace: the host's node, bound at its target"

# mount.N: without shift, a host file is the host's: guest root reads it only as anyone may,
# and can't write it; with shift (idmapped), host root's files are the guest root's.
shared=$TEST_DIR/shared
mkdir -p "$shared"
echo secret >"$shared/secret"
echo public >"$shared/public"
chmod 600 "$shared/secret"
chmod 700 "$TEST_DIR" # the source is reached by the monitor, not by the guest's ids
lodge config un set mount.0 "$shared /mnt/plain"
lodge config un set mount.1 "$shared /mnt/shifted shift"
lodge config un set mount.2 "$shared /mnt/ro shift,ro"
lodge config un set mount.3 "$TEST_DIR/none /mnt/none optional"
expect 0 '' -- lodge start un
expect 0 '' -- lodge attach un -- cat /mnt/plain/public
expect 1 'Permission denied' -- lodge attach un -- cat /mnt/plain/secret
expect 1 'Permission denied' -- lodge attach un -- sh -c 'echo x >>/mnt/plain/public'
expect 0 '' -- lodge attach un -- sh -c 'cat /mnt/shifted/secret; stat -c %u /mnt/shifted/secret; echo more >>/mnt/shifted/public'
[ "$(cat "$TEST_DIR/out")" = "$(printf 'secret\n0')" ] || fail "shift: $(cat "$TEST_DIR/out")"
grep -q more "$shared/public" || fail "shift: the write didn't reach the host file"
[ "$(stat -c %u "$shared/public")" = 0 ] || fail "shift: the host file changed owner"
expect 1 'Read-only file system' -- lodge attach un -- touch /mnt/ro/new
expect 0 '' -- lodge stop --kill un
for k in 0 1 2 3; do lodge config un unset "mount.$k"; done
ok "mount.N: a host file without shift is out of guest root's reach; with shift it is its own; ro, optional"

# A root on a filesystem that can't be idmapped (ramfs): an unprivileged overlay guest is
# refused before anything is made; a dir guest's files are shifted to its ids once, and
# what it writes is stored as its ids; lodge check says so.
mkdir "$TEST_DIR/ramfs"
mount -t ramfs ramfs "$TEST_DIR/ramfs"
main_root=$LODGE_ROOT
export LODGE_ROOT=$TEST_DIR/ramfs/root
TEST_ROOTS+=("$LODGE_ROOT")
expect 1 "the filesystem of '$TEST_DIR/ramfs/root' can't be idmapped.*--storage dir" -- \
        lodge create rf --storage overlay -t local -- --file "$BB"
[ -z "$(ls "$LODGE_ROOT/containers")" ] || fail "a refused create left: $(ls -a "$LODGE_ROOT/containers")"
expect 0 "files of the rootfs were shifted to the guest's ids" -- \
        lodge create rf -t local -- --file "$BB" --meta "$(meta_of "$BB")"
[ "$(lodge config rf get security.idmap.shifted)" = true ] || fail "the shift isn't recorded"
rb=$(lodge config rf get security.idmap | cut -d: -f1)
[ "$(stat -c %u:%g "$LODGE_ROOT/containers/rf/rootfs/bin/busybox")" = "$rb:$rb" ] ||
        fail "shifted rootfs: busybox is $(stat -c %u:%g "$LODGE_ROOT/containers/rf/rootfs/bin/busybox")"
expect 0 '' -- lodge start rf
[ "$(lodge attach rf -- stat -c %u:%g /bin/busybox)" = 0:0 ] || fail "the guest doesn't own its files"
lodge attach rf -- touch /root/made
[ "$(stat -c %u "$LODGE_ROOT/containers/rf/rootfs/root/made")" = "$rb" ] || fail "a guest file isn't stored as $rb"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$(init_pid rf)/status")" = "$rb" ] || fail "rf doesn't run as $rb"
expect 0 '' -- lodge stop --kill rf
expect 1 "can't be changed: the rootfs is owned" -- lodge config rf set security.privileged true
expect 0 '' -- lodge copy rf rf2
rb2=$(lodge config rf2 get security.idmap | cut -d: -f1)
[ "$rb2" != "$rb" ] && [ "$(stat -c %u "$LODGE_ROOT/containers/rf2/rootfs/root/made")" = "$rb2" ] ||
        fail "the copy of a shifted guest isn't owned by its own range $rb2"
expect 0 '' -- lodge check
grep -Eq "^idmapped mounts +warn +dir: .* can't be idmapped: an unprivileged guest's files are shifted" \
        "$TEST_DIR/out" || fail "check: $(cat "$TEST_DIR/out")"
lodge destroy rf
lodge destroy rf2
export LODGE_ROOT=$main_root
umount "$TEST_DIR/ramfs"
ok "a root that can't be idmapped: overlay refused clearly; dir shifted once to the guest's ids (copy too), check says so"

# Unprivileged is the default: each new guest gets a range of its own, stable, from the pool.
expect 0 '' -- lodge create d1 -t local -- --file "$BB"
expect 0 '' -- lodge create d2 -t local -- --file "$BB"
r1=$(lodge config d1 get security.idmap) && r2=$(lodge config d2 get security.idmap) ||
        fail "a new guest has no security.idmap"
[ "${r1#*:}" = 65536 ] && [ "${r2#*:}" = 65536 ] || fail "ranges $r1 and $r2 are not 65536 ids"
b1=${r1%:*} b2=${r2%:*}
(( b1 + 65536 <= b2 || b2 + 65536 <= b1 )) || fail "ranges $r1 and $r2 overlap"
expect 0 '' -- lodge start d1
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$(init_pid d1)/status")" = "$b1" ] || fail "d1 doesn't run as $b1"
expect 0 '' -- lodge stop --kill d1
[ "$(lodge config d1 get security.idmap)" = "$r1" ] || fail "d1's range changed"
expect 0 '' -- lodge create p -t local -c security.privileged=true -- --file "$BB"
! lodge config p get security.idmap >/dev/null 2>&1 || fail "a privileged guest got a range"
# A privileged guest made unprivileged gets its range then; its files need no change.
expect 0 '' -- lodge config p set security.privileged false
rp=$(lodge config p get security.idmap) || fail "p got no range when made unprivileged"
bp=${rp%:*}
(( (bp + 65536 <= b1 || b1 + 65536 <= bp) && (bp + 65536 <= b2 || b2 + 65536 <= bp) )) ||
        fail "p's range $rp overlaps $r1 or $r2"
expect 0 '' -- lodge start p
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$(init_pid p)/status")" = "$bp" ] || fail "p doesn't run as $bp"
expect 0 '' -- lodge stop --kill p
expect 0 '' -- lodge config p set security.privileged true
# A range set by hand may not overlap another guest's, unless they share on purpose.
expect 1 "security.idmap $((b1 + 100)):65536 overlaps another guest's range, $r1" -- \
        lodge config d2 set security.idmap "$((b1 + 100)):65536"
[ "$(lodge config d2 get security.idmap)" = "$r2" ] || fail "a refused set changed d2's range"

expect 0 '' -- lodge info d1
grep -q "^Security: *unprivileged: host ids $b1-$((b1 + 65535))\$" "$TEST_DIR/out" || fail "info: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge info p
grep -q '^Security: *privileged: .*warning' "$TEST_DIR/out" || fail "info of a privileged guest: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge list
grep -Eq '^d1 .* userns$' "$TEST_DIR/out" && grep -Eq '^p .* PRIVILEGED$' "$TEST_DIR/out" ||
        fail "list: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge info d1 --format json
python3 -c 'import json, sys; i = json.load(open(sys.argv[1])); assert i["privileged"] is False and i["idmap"] == {"base": int(sys.argv[2]), "count": 65536}, i' \
        "$TEST_DIR/out" "$b1" || fail "info JSON: $(cat "$TEST_DIR/out")"
ok "new guests are unprivileged by default: disjoint 65536-id ranges ($r1, $r2), kept in the config, shown by info and list; a privileged one made unprivileged gets its own"

# The same checks at start, against a config edited by hand: an overlapping range, none at all
# (which must never mean a privileged guest).
sed -i "s/^security.idmap = .*/security.idmap = $((b1 + 100)):65536/" "$LODGE_ROOT/containers/d2/config"
expect 1 "overlaps another guest's range, $r1" -- lodge start d2
sed -i '/^security.idmap/d' "$LODGE_ROOT/containers/d2/config"
expect 1 "security.idmap is missing" -- lodge start d2
expect 0 '' -- lodge config d2 set security.privileged false
expect 0 '' -- lodge start d2
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$(init_pid d2)/status")" != 0 ] || fail "d2 runs as host root"
expect 0 '' -- lodge stop --kill d2
ok "start refuses a hand-edited range that overlaps another guest's, or none at all"

# The pool from lodge.conf (idmap.pool) instead of /etc/subuid; a bad one is an error naming it.
printf 'idmap.pool = 3000000000:262144\n' >"$LODGE_CONF"
expect 0 '' -- lodge create pool1 -t local -- --file "$BB"
pb=$(lodge config pool1 get security.idmap | cut -d: -f1)
((pb >= 3000000000 && pb + 65536 <= 3000262144)) || fail "pool1's range $pb isn't in idmap.pool"
printf 'idmap.pool = 3000000000:100\n' >"$LODGE_CONF"
expect 1 "idmap.pool '3000000000:100'" -- lodge create pool2 -t local -- --file "$BB"
: >"$LODGE_CONF"
lodge destroy pool1
ok "idmap.pool in lodge.conf: ranges come from there"
