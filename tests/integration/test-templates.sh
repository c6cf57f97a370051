#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The busybox and debian templates, the guest fix-ups and first-boot provisioning:
# a busybox guest boots and stops on SIGUSR2; Debian guests (systemd, sysvinit, openrc) made from
# the recipe cache boot to their ready state; two guests of one recipe get their own hostname
# and machine id; --user/--ssh-key files have the right owners and modes; --run-once runs
# exactly once across two boots; and the faults: unknown release, mirror down, no
# debootstrap, a --file destination that is a symlink out of the rootfs.
# On a network of its own (a bridge and an unused 10.X.Y.0/24, no NAT, lodge's dnsmasq): a
# busybox guest gets a DHCP lease; a Debian guest with --packages openssh-server,cloud-init
# (the apt stage) takes an ssh login with the injected key from the host and applies a
# cloud-init user-data (a file and a user). Traffic stays between the host and its guests.
#
# The Debian trees are built once per machine (debootstrap, the one test traffic allowed to
# leave the machine) into a template cache beside the fixtures:
# $LODGE_FIXTURE_CACHE/template-cache (default /var/cache/lodge-test-fixtures/template-cache).
. "$(dirname "$0")/lib.sh"

TCACHE=${LODGE_TEMPLATE_CACHE:-${LODGE_FIXTURE_CACHE:-/var/cache/lodge-test-fixtures}/template-cache}
mkdir -p "$TCACHE"

# This run's own bridge and a /24 that no route of the host overlaps; dnsmasq gives up root
# once it runs and must reach its files in the run directory.
NET=lt$$t
chmod 0711 "$TEST_DIR"
SUB=$(python3 - "$$" <<'EOF'
import ipaddress, subprocess, sys
out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True)
used = []
for w in (l.split() for l in out.stdout.splitlines()):
    for x in w[:2]:
        try:
            used.append(ipaddress.ip_network(x, strict=False))
            break
        except ValueError:
            pass
pid = int(sys.argv[1])
for i in range(4000):
    c = ipaddress.ip_network("10.%d.%d.0/24" % (150 + (pid + i) % 50, (pid // 50 + i * 7) % 256))
    if not any(c.overlaps(u) for u in used):
        print(str(c.network_address).rsplit(".", 1)[0])
        break
EOF
)
[ -n "$SUB" ] || fail "no free 10.X.Y.0/24 for the test"

tpl_cleanup() {
        local rc=$?
        set +e
        for c in "$LODGE_ROOT"/containers/*/; do
                [ -d "$c" ] && "$LODGE_BIN" destroy -f "$(basename "$c")" >/dev/null 2>&1
        done
        "$LODGE_BIN" network delete "$NET" >/dev/null 2>&1
        ip -d link show "$NET" 2>/dev/null | grep -q 'alias lodge-managed' && ip link del "$NET"
        (exit "$rc")
        cleanup
}
trap tpl_cleanup EXIT

# The IPv4 address (no prefix) of eth0 in guest NAME, or nothing.
addr_of() {
        nsenter -t "$(init_pid "$1")" -n ip -4 -o addr show dev eth0 2>/dev/null |
                awk '{ sub("/.*", "", $4); print $4; exit }'
}

# lodge with the shared template cache (the other commands keep the test's own).
tlodge() {
        LODGE_CACHE=$TCACHE lodge "$@"
}

# A port nothing listens on: bound and closed again.
free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- busybox: made in well under a second, boots busybox init, stops on SIGUSR2
t0=$(date +%s%N)
expect 0 '' -- lodge create bb -t busybox
t1=$(date +%s%N)
r=$LODGE_ROOT/containers/bb/rootfs
[ "$(readlink "$r/sbin/init")" = ../bin/busybox ] || fail "/sbin/init is not busybox"
[ "$(readlink "$r/usr/bin/wget")" = ../../bin/busybox ] || fail "applet links"
[ -x "$r/usr/share/udhcpc/default.script" ] || fail "no udhcpc script"
[ "$(cat "$r/etc/hostname")" = bb ] || fail "hostname not written"
[ "$(stat -c %a "$r/tmp")" = 1777 ] || fail "/tmp is $(stat -c %a "$r/tmp")"
ok "busybox template: a tree in $(((t1 - t0) / 1000000)) ms, init, applets, udhcpc, hostname"

expect 0 '' -- lodge start bb
[ "$(cat /proc/"$(init_pid bb)"/comm)" = init ] || fail "init is not busybox init"
[ "$(in_guest bb hostname)" = bb ] || fail "hostname in the guest"
wait_for 10 in_guest bb sh -c 'ps | grep -q "[g]etty -L 0 console"' || fail "no getty on the console"
in_guest bb ip -o link show lo | grep -q 'UP' || fail "rcS did not bring lo up"
[ "$(sed -n 's/^stop_signal=//p' "$LODGE_RUNDIR/bb/state")" = "$(kill -l USR2)" ] ||
        fail "busybox's stop signal is not SIGUSR2"
expect 0 '' -- lodge stop bb --timeout 20
grep -q 'ended=clean' "$LODGE_RUNDIR/bb/state" || fail "not a clean stop: $(cat "$LODGE_RUNDIR/bb/state")"
ok "busybox guest boots (rcS ran, getty on the console) and stops cleanly on SIGUSR2"

# --- busybox on a network of this test's own: a DHCP lease from lodge's dnsmasq
expect 0 '' -- lodge network create "$NET" --ipv4 "$SUB.1/24" --nat off
expect 0 '' -- lodge create bn -t busybox -c net.0.type=veth -c "net.0.link=$NET" -c net.0.ipv4=dhcp
grep -q 'udhcpc' "$LODGE_ROOT/containers/bn/rootfs/etc/init.d/rcS" || fail "rcS runs no udhcpc"
expect 0 '' -- lodge start bn
wait_for 30 sh -c "[ -n \"\$(nsenter -t $(init_pid bn) -n ip -4 -o addr show dev eth0 2>/dev/null)\" ]" ||
        fail "bn got no lease: $(in_guest bn cat /run/udhcpc.eth0.log 2>&1)"
a=$(addr_of bn)
[[ $a == "$SUB".* && $a != "$SUB.1" ]] || fail "bn's lease '$a' is not in $SUB.0/24"
leases=$LODGE_ROOT/networks/.leases/$NET # kept over reboots (older lodge: in the run dir)
[ -f "$leases" ] || leases=$LODGE_RUNDIR/.networks/$NET/dnsmasq.leases
wait_for 5 grep -q " $a bn " "$leases" || fail "dnsmasq has no lease for $a: $(cat "$leases")"
in_guest bn ping -c1 -W2 "$SUB.1" >/dev/null || fail "bn can't reach the gateway"
expect 0 '' -- lodge stop bn --timeout 20
grep -q 'ended=clean' "$LODGE_RUNDIR/bn/state" || fail "bn: not a clean stop: $(cat "$LODGE_RUNDIR/bn/state")"
ok "busybox guest gets a DHCP lease ($a) from the network's dnsmasq and stops cleanly"

expect 2 'busybox.*dynamically linked' -- lodge create bad -t busybox -- --busybox /bin/ls
expect 2 'unknown option' -- lodge create bad -t busybox -- --nope
[ ! -e "$LODGE_ROOT/containers/bad" ] || fail "a refused create left a container"
ok "busybox template refuses a dynamically linked busybox and unknown options (exit 2)"

# --- provisioning on busybox: --provision file, --password-hash, --file, --run-once, --start
mkdir -p "$TEST_DIR/prov"
ssh-keygen -q -t ed25519 -N '' -C lodge-test -f "$TEST_DIR/prov/key" </dev/null >/dev/null ||
        printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEqTestKeyOnlyForLodgeTests lodge-test\n' \
                >"$TEST_DIR/prov/key.pub"
printf 'motd of the test\n' >"$TEST_DIR/prov/motd"
printf '#!/bin/sh\necho "run-once says hello"\necho ran >>/root/run-once.count\nexit 3\n' \
        >"$TEST_DIR/prov/once.sh"
cat >"$TEST_DIR/prov/guest.conf" <<'EOF'
# lodge create --provision: paths relative to this file
user = alice
ssh-key = key.pub
file = motd:/etc/motd
run-once = once.sh
EOF
expect 0 '' -- lodge create bp -t busybox --provision "$TEST_DIR/prov/guest.conf" \
        --password-hash '$6$salt$hash' --start
r=$LODGE_ROOT/containers/bp/rootfs
grep -q '^alice:x:1000:1000::/home/alice:/bin/sh$' "$r/etc/passwd" || fail "alice in passwd"
grep -q '^alice:\$6\$salt\$hash:' "$r/etc/shadow" || fail "alice's hash in shadow"
[ "$(stat -c '%a %u %g' "$r/home/alice")" = "700 1000 1000" ] || fail "home of alice"
[ "$(stat -c '%a %u %g' "$r/home/alice/.ssh")" = "700 1000 1000" ] || fail ".ssh of alice"
[ "$(stat -c '%a %u %g' "$r/home/alice/.ssh/authorized_keys")" = "600 1000 1000" ] ||
        fail "authorized_keys of alice: $(stat -c '%a %u %g' "$r/home/alice/.ssh/authorized_keys")"
cmp -s "$r/home/alice/.ssh/authorized_keys" "$TEST_DIR/prov/key.pub" || fail "the key"
cmp -s "$r/etc/motd" "$TEST_DIR/prov/motd" || fail "--file"
ok "--provision FILE: user, password hash, ssh key (owners and modes), --file"

[ "$(lodge info bp --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = RUNNING ] ||
        fail "--start did not start the guest"
wait_for 10 sh -c "'$LODGE_BIN' info bp | grep -q 'Run once: *exited 3'" ||
        fail "run-once status: $(lodge info bp)"
expect 0 '' -- lodge stop bp
# (Its console output is checked on Debian below: busybox init runs it right after sysinit,
# and the console log can miss the first lines of a boot; rcS's own line is missing too.)
expect 0 '' -- lodge start bp
sleep 1
expect 0 '' -- lodge stop bp
[ "$(cat "$r/root/run-once.count")" = ran ] || fail "run-once ran $(wc -l <"$r/root/run-once.count") times"
ok "--run-once (busybox init): status in lodge info, once in two boots"

# --- cloud-init NoCloud seed (the guest only needs to look like it has cloud-init: /etc/cloud)
printf '#cloud-config\nwrite_files:\n  - path: /etc/x\n    content: "y"\n' >"$TEST_DIR/prov/user-data"
expect 0 '' -- lodge create ci -t busybox -c "cloud-init.user-data=@$TEST_DIR/prov/user-data" \
        --file "$TEST_DIR/prov/motd:/etc/cloud/cloud.cfg"
seed=$LODGE_ROOT/containers/ci/rootfs/var/lib/cloud/seed/nocloud-net
cmp -s "$seed/user-data" "$TEST_DIR/prov/user-data" || fail "user-data not seeded"
grep -q '^local-hostname: ci$' "$seed/meta-data" || fail "meta-data: $(cat "$seed/meta-data")"
grep -Eq '^instance-id: ci-[0-9a-f]{32}$' "$seed/meta-data" || fail "instance-id: $(cat "$seed/meta-data")"
expect 1 'the guest has no cloud-init' -- lodge create ci2 -t busybox \
        -c "cloud-init.user-data=@$TEST_DIR/prov/user-data"
[ ! -e "$LODGE_ROOT/containers/ci2" ] || fail "a refused seed left a container"
ok "cloud-init.user-data=@FILE seeds NoCloud (meta-data made per guest); refused without cloud-init"

# --- faults that need no mirror, in the test's own cache
port=$(free_port)
expect 1 "debootstrap .* failed .*at step 'Retrieving Release'.*Failed getting release file" -- \
        lodge create mirror -t debian -- --mirror "http://127.0.0.1:$port/debian"
ok "debian: a mirror that is down fails at the step that needed it, with debootstrap's words"
expect 1 'No such script' -- lodge create rel -t debian -- --release nosuchrelease
ok "debian: an unknown release fails with debootstrap's reason"
expect 1 'debootstrap not found in PATH' -- env PATH=/nonexistent "$LODGE_BIN" create nodb -t debian
ok "debian: no debootstrap in PATH is said so"
expect 2 "--init 'upstart'" -- lodge create badinit -t debian -- --init upstart
expect 2 "not a package name" -- lodge create badpkg -t debian -- --packages 'a;b'
expect 2 "--mirror" -- lodge create badmirror -t debian -- --mirror '-evil'
expect 2 "can't reach a file:/// mirror" -- lodge create badapt -t debian -- \
        --mirror file:///nonexistent --packages vim
ok "debian: bad arguments are usage errors (exit 2) before anything runs"
# Interrupted builds: a debootstrap that never ends (a stand-in, in PATH) and has a child of its
# own. A second create of the same recipe waits for the first's build: SIGTERM ends its wait.
# SIGTERM to the first (lodge alone, as a service manager or timeout sends it) ends its build:
# the stand-in and its child are killed with it.
mkdir -p "$TEST_DIR/fakedb"
cat >"$TEST_DIR/fakedb/debootstrap" <<EOF
#!/bin/sh
echo "I: Retrieving Release"
sleep 300 &
echo "\$\$ \$!" >"$TEST_DIR/fakedb/pids"
wait
EOF
chmod 0755 "$TEST_DIR/fakedb/debootstrap"
env PATH="$TEST_DIR/fakedb:$PATH" "$LODGE_BIN" create fa -t debian >/dev/null 2>"$TEST_DIR/fa.err" &
fa=$!
TEST_PIDS+=("$fa")
wait_for 30 test -s "$TEST_DIR/fakedb/pids" ||
        fail "the stand-in debootstrap didn't run: $(cat "$TEST_DIR/fa.err")"
read -r dbpid sleeppid <"$TEST_DIR/fakedb/pids"
TEST_PIDS+=("$dbpid" "$sleeppid")
env PATH="$TEST_DIR/fakedb:$PATH" "$LODGE_BIN" create fb -t debian >/dev/null 2>"$TEST_DIR/fb.err" &
fb=$!
TEST_PIDS+=("$fb")
# kill_build PID WHAT: SIGTERM to lodge PID; it must end, and not with 0. (The cleanup kills
# what is left of the builds: their pids are in TEST_PIDS.)
kill_build() {
        kill -TERM "$1"
        wait_for 10 sh -c "! kill -0 $1 2>/dev/null" || fail "SIGTERM didn't end lodge ($2)"
        ! wait "$1" || fail "lodge ($2) exited 0 after SIGTERM"
}
wait_for 30 grep -q 'waiting for another build' "$TEST_DIR/fb.err" ||
        fail "the second build doesn't wait: $(cat "$TEST_DIR/fb.err")"
kill_build "$fb" "waiting for another build"
grep -q 'interrupted waiting for another build' "$TEST_DIR/fb.err" || fail "fb: $(cat "$TEST_DIR/fb.err")"
kill -0 "$dbpid" || fail "the first build's debootstrap ended with the second's wait"
kill_build "$fa" "running debootstrap"
grep -q 'debootstrap interrupted' "$TEST_DIR/fa.err" || fail "fa: $(cat "$TEST_DIR/fa.err")"
for p in "$dbpid" "$sleeppid"; do # dead, or a zombie init has yet to reap
        wait_for 10 sh -c "[ ! -e /proc/$p ] || grep -q '^State:.*Z' /proc/$p/status" ||
                fail "pid $p of the build outlived lodge"
done
ok "debian: SIGTERM ends a build (debootstrap and its children) and a wait for another build of the recipe"

for c in mirror rel nodb badinit badpkg badmirror badapt fa fb; do
        [ ! -e "$LODGE_ROOT/containers/$c" ] || fail "failed create left '$c'"
done
left=$(find "$LODGE_CACHE" -name '.build-*' 2>/dev/null || true)
[ -z "$left" ] || fail "build directories left: $left"
grep -q " $LODGE_CACHE" /proc/self/mountinfo && fail "debootstrap left mounts in the cache"
assert_no_leftovers
ok "failed creates leave no container, no build directory and no mount behind"

# --- --file to a symlink pointing out of the rootfs: refused, nothing made on the host
victim=$TEST_DIR/host-victim
mkdir -p "$TEST_DIR/evil/etc"
ln -s "$victim" "$TEST_DIR/evil/etc/evil"
ln -s ../../../../../../../../../..$victim "$TEST_DIR/evil/etc/evil-rel"
tar -C "$TEST_DIR/evil" -cf "$TEST_DIR/evil.tar" .
for dest in /etc/evil /etc/evil-rel; do
        expect 1 "symlink in the guest; refused" -- \
                lodge create ev -t local --file "$TEST_DIR/prov/motd:$dest" -- --file "$TEST_DIR/evil.tar"
        [ ! -e "$victim" ] || fail "--file $dest wrote on the host"
        [ ! -e "$LODGE_ROOT/containers/ev" ] || fail "a refused create left the container"
done
expect 2 'must be absolute' -- lodge create ev -t busybox --file "$TEST_DIR/prov/motd:etc/x"
ok "--file to a symlink out of the rootfs is refused; nothing made on the host"

# --- debian (systemd) from the shared cache: the first build takes a minute, once per machine
once=$TEST_DIR/prov/once-deb.sh
printf '#!/bin/sh\necho "run-once on debian"\necho ran >>/root/run-once.count\n' >"$once"
expect 0 '' -- tlodge create d1 -t debian --user bob --ssh-key "$TEST_DIR/prov/key.pub" \
        --run-once "$once" --timezone Europe/Paris
t0=$(date +%s%N)
expect 0 '' -- tlodge create d2 -t debian
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "# second guest of a cached recipe (dir storage): $ms ms"
((ms < 30000)) || fail "the second guest of a cached recipe took $ms ms"
ok "debian: the second guest of a cached recipe takes $ms ms"

r1=$LODGE_ROOT/containers/d1/rootfs r2=$LODGE_ROOT/containers/d2/rootfs
[ "$(cat "$r1/etc/hostname")" = d1 ] && [ "$(cat "$r2/etc/hostname")" = d2 ] || fail "hostnames"
grep -q "^127.0.1.1	d2$" "$r2/etc/hosts" || fail "/etc/hosts of d2: $(cat "$r2/etc/hosts")"
id1=$(cat "$r1/etc/machine-id") id2=$(cat "$r2/etc/machine-id")
[[ $id1 =~ ^[0-9a-f]{32}$ && $id2 =~ ^[0-9a-f]{32}$ ]] || fail "machine ids '$id1' '$id2'"
[ "$id1" != "$id2" ] || fail "two guests of one recipe share the machine id $id1"
[ "$(readlink "$r1/etc/systemd/system/systemd-udevd.service")" = /dev/null ] || fail "udevd not masked"
for g in cryptsetup gpt-auto hibernate-resume integritysetup veritysetup; do
        [ "$(readlink "$r1/etc/systemd/system-generators/systemd-$g-generator")" = /dev/null ] ||
                fail "systemd-$g-generator not masked"
done
[ "$(readlink "$r1/etc/localtime")" = /usr/share/zoneinfo/Europe/Paris ] || fail "timezone"
grep -q '^iface eth0' "$r1/etc/network/interfaces" && fail "eth0 configured without net.0"
ok "two guests of one recipe: own hostname, /etc/hosts and machine id; units and generators masked"

[ "$(stat -c '%a %u %g' "$r1/home/bob/.ssh/authorized_keys")" = "600 1000 1000" ] ||
        fail "authorized_keys of bob"
[ "$(stat -c '%a %U %G' "$r1/etc/shadow")" = "640 root shadow" ] || fail "shadow lost its group"
grep -q '^sudo:x:27:bob$' "$r1/etc/group" || fail "bob is not in sudo"
expect 0 '' -- lodge start d1
wait_for 60 sh -c "[ \"\$(nsenter -t $(init_pid d1) -a systemctl is-system-running 2>/dev/null)\" = running ]" || {
        in_guest d1 systemctl --failed --no-legend >&2 || true
        fail "systemd is not running: $(in_guest d1 systemctl is-system-running || true)"
}
[ "$(in_guest d1 hostname)" = d1 ] || fail "hostname in the guest"
[ "$(in_guest d1 cat /etc/machine-id)" = "$id1" ] || fail "systemd replaced the machine id"
[ "$(in_guest d1 id -un 1000)" = bob ] || fail "bob in the guest"
ok "debian systemd guest boots to 'running' (no failed unit), its hostname and user"

wait_for 30 sh -c "'$LODGE_BIN' info d1 | grep -q 'Run once: *exited 0'" || fail "run-once: $(lodge info d1)"
expect 0 '' -- lodge stop d1 --timeout 60
grep -q 'run-once on debian' "$LODGE_RUNDIR/d1/console.log" || fail "run-once output not on the console"
expect 0 '' -- lodge start d1
wait_for 60 sh -c "[ \"\$(nsenter -t $(init_pid d1) -a systemctl is-system-running 2>/dev/null)\" = running ]" ||
        fail "second boot"
expect 0 '' -- lodge stop d1 --timeout 60
grep -q 'ended=clean' "$LODGE_RUNDIR/d1/state" || fail "d1 did not stop cleanly"
[ "$(wc -l <"$r1/root/run-once.count")" = 1 ] || fail "run-once ran $(wc -l <"$r1/root/run-once.count") times"
ok "--run-once (systemd): ran exactly once across two boots, output on the console"

# --- debian sysvinit from the shared cache
expect 0 '' -- tlodge create s1 -t debian -- --init sysvinit
grep -q '^pf::powerwait:/sbin/shutdown -t1 -a -h now$' "$LODGE_ROOT/containers/s1/rootfs/etc/inittab" ||
        fail "powerwait not fixed"
expect 0 '' -- lodge start s1
wait_for 60 sh -c "'$LODGE_BIN' attach s1 -- runlevel | grep -q ' 2\$'" || fail "sysvinit never reached runlevel 2"
wait_for 60 sh -c "! '$LODGE_BIN' attach s1 -- pgrep -f /etc/init.d/rc >/dev/null" || fail "rc 2 still running"
[ "$(in_guest s1 hostname)" = s1 ] || fail "hostname in the sysvinit guest"
[ "$(in_guest s1 pgrep -a getty | grep -oE ' (console|tty[0-9]+)$' | sort | tr -d '\n')" = ' console tty1' ] ||
        fail "gettys: $(in_guest s1 pgrep -a getty)"
expect 0 '' -- lodge stop s1 --timeout 60
grep -q 'ended=clean' "$LODGE_RUNDIR/s1/state" || fail "s1 did not stop cleanly"
ok "debian sysvinit guest reaches runlevel 2 with gettys on the console and tty1 and stops cleanly"

# --- debian openrc from the shared cache (sysvinit as PID 1, openrc as its rc)
expect 0 '' -- tlodge create o1 -t debian -- --init openrc
grep -q '^rc_sys="systemd-nspawn"$' "$LODGE_ROOT/containers/o1/rootfs/etc/rc.conf" || fail "rc_sys not set"
expect 0 '' -- lodge start o1
wait_for 60 sh -c "'$LODGE_BIN' attach o1 -- runlevel | grep -q ' 2\$'" || fail "openrc guest never reached runlevel 2"
wait_for 60 sh -c "'$LODGE_BIN' attach o1 -- rc-status --runlevel | grep -qx default" ||
        fail "openrc is not in its default runlevel: $(in_guest o1 rc-status --runlevel)"
wait_for 60 sh -c "! '$LODGE_BIN' attach o1 -- pgrep -f '/sbin/openrc' >/dev/null" || fail "openrc still running"
[ -z "$(in_guest o1 rc-status --crashed)" ] || fail "crashed services: $(in_guest o1 rc-status --crashed)"
[ "$(in_guest o1 hostname)" = o1 ] || fail "hostname in the openrc guest"
[ "$(in_guest o1 pgrep -a getty | grep -oE ' (console|tty[0-9]+)$' | sort | tr -d '\n')" = ' console tty1' ] ||
        fail "gettys: $(in_guest o1 pgrep -a getty)"
expect 0 '' -- lodge stop o1 --timeout 60
grep -q 'ended=clean' "$LODGE_RUNDIR/o1/state" || fail "o1 did not stop cleanly"
grep -q 'OpenRC' "$LODGE_RUNDIR/o1/console.log" || fail "no OpenRC on the console"
grep -q 'No permission to apply cgroup settings' "$LODGE_RUNDIR/o1/console.log" &&
        fail "openrc fights over cgroups"
ok "debian openrc guest reaches its default runlevel with gettys on the console and tty1 and stops cleanly"

# --- debian with --packages (the apt stage): sshd over the test bridge, cloud-init end to end.
# One recipe for both (built once per machine into the shared cache, about a minute).
printf '%s\n' '#cloud-config' 'write_files:' '  - path: /etc/lodge-cloud-init-test' \
        '    content: "written by cloud-init\n"' 'users:' '  - name: dave' \
        '    shell: /bin/bash' >"$TEST_DIR/prov/ci-user-data"
expect 0 '' -- tlodge create sc -t debian -c net.0.type=veth -c "net.0.link=$NET" \
        -c "net.0.ipv4=$SUB.20/24" -c "net.0.ipv4.gateway=$SUB.1" --user carol \
        --ssh-key "$TEST_DIR/prov/key.pub" -c "cloud-init.user-data=@$TEST_DIR/prov/ci-user-data" \
        -- --packages openssh-server,cloud-init
r=$LODGE_ROOT/containers/sc/rootfs
ls "$r"/etc/ssh/ssh_host_* >/dev/null 2>&1 && fail "the cached tree's ssh host keys are shared"
[ -e "$r/usr/sbin/policy-rc.d" ] && fail "the apt stage left policy-rc.d"
grep -q 'config: disabled' "$r/etc/cloud/cloud.cfg.d/99-lodge-network.cfg" ||
        fail "cloud-init would write its own network config"
expect 0 '' -- tlodge image list
grep -Eq '^bookworm-amd64-systemd-[0-9a-f]{16} +debian +bookworm +systemd .*cloud-init openssh-server$' \
        "$TEST_DIR/out" || fail "image list shows no tree of the recipe: $(cat "$TEST_DIR/out")"
tlodge image list --format json | python3 -c '
import json, sys
t = [i for i in json.load(sys.stdin) if i["protocol"] == "template"]
assert any("apt cloud-init openssh-server" in i["recipe"] and i["size"] > 0 for i in t), t
' || fail "image list --format json shows no tree of the recipe"
ok "the apt stage: no shared ssh host keys, no policy-rc.d left; image list shows the tree"
expect 0 '' -- lodge start sc
wait_for 120 sh -c "[ \"\$(nsenter -t $(init_pid sc) -a systemctl is-system-running 2>/dev/null)\" = running ]" || {
        in_guest sc systemctl --failed --no-legend >&2 || true
        in_guest sc cloud-init status --long >&2 || true
        fail "sc: systemd is not running: $(in_guest sc systemctl is-system-running || true)"
}
[ "$(in_guest sc cloud-init status | sed -n 's/^status: //p')" = done ] ||
        fail "cloud-init: $(in_guest sc cloud-init status --long)"
[ "$(in_guest sc cat /etc/lodge-cloud-init-test)" = "written by cloud-init" ] ||
        fail "cloud-init's write_files"
in_guest sc id dave >/dev/null || fail "cloud-init made no user dave"
ok "cloud-init (NoCloud seed): the guest reaches 'running', its user-data wrote a file and made a user"

if command -v ssh >/dev/null && [ -f "$TEST_DIR/prov/key" ]; then
        wait_for 30 bash -c "exec 3<>/dev/tcp/$SUB.20/22" || fail "nothing listens on $SUB.20:22"
        who=$(ssh -n -i "$TEST_DIR/prov/key" -o BatchMode=yes -o StrictHostKeyChecking=no \
                -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o LogLevel=ERROR \
                "carol@$SUB.20" id -un) || fail "ssh carol@$SUB.20 with the injected key failed"
        [ "$who" = carol ] || fail "ssh ran as '$who'"
        ok "sshd: the host logs in as carol over the test bridge with the key --ssh-key injected"
else
        wait_for 30 bash -c "exec 3<>/dev/tcp/$SUB.20/22 && head -c 7 <&3 | grep -q SSH-2.0" ||
                fail "no sshd on $SUB.20:22"
        ok "sshd listens on $SUB.20:22 (no ssh client on the host: a TCP connect only)"
fi
expect 0 '' -- lodge stop sc --timeout 60
grep -q 'ended=clean' "$LODGE_RUNDIR/sc/state" || fail "sc did not stop cleanly"
expect 0 '' -- lodge network delete "$NET"
