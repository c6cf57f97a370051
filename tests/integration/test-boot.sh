#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Booting real inits: busybox and systemd (Debian bookworm) start, run and stop
# cleanly; start refuses a running guest; failed starts leave nothing behind;
# the guest outlives its client and its monitor.
. "$(dirname "$0")/lib.sh"

BB=$(fixture_busybox)
DEB=$(fixture_debian)

# --- busybox
lodge create bb -t local -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
expect 0 '' -- lodge start bb
expect 0 '' -- lodge list
grep -Eq '^bb +RUNNING' "$TEST_DIR/out" || fail "not RUNNING: $(cat "$TEST_DIR/out")"
pid=$(init_pid bb)
[ "$(cat /proc/"$pid"/comm)" = init ] || fail "init is $(cat /proc/"$pid"/comm)"
[ "$(in_guest bb hostname)" = bb ] || fail "hostname in the guest"
[ "$(in_guest bb cat /proc/1/environ | tr '\0' '\n' | grep '^container=')" = container=lodge ] ||
        fail "container=lodge not in init's environment"
[ "$(in_guest bb cat /run/systemd/container)" = lodge ] || fail "/run/systemd/container"
[ "$(in_guest bb readlink /proc/1/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] || fail "pid ns"
in_guest bb sh -c 'echo x > /proc/sys/kernel/hostname' 2>/dev/null &&
        fail "/proc/sys is writable in the guest"
in_guest bb sh -c 'ls /sys/fs/cgroup/memory/memory.limit_in_bytes' >/dev/null ||
        fail "the guest doesn't see its memory cgroup"
[ -n "$(cgroups_of bb)" ] || fail "no host cgroups for the guest"
ok "busybox guest boots: own namespaces, hostname, container=lodge, /proc/sys read-only"

expect 1 'already running' -- lodge start bb
ok "start of a running guest is an error (exit 1)"
expect 1 'is RUNNING' -- lodge destroy bb
ok "destroy of a running guest is refused without --force"

expect 0 '' -- lodge stop bb
expect 0 '' -- lodge info bb --format json
python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); assert i["state"]=="STOPPED" and i["pid"] is None, i' "$TEST_DIR/out" ||
        fail "not stopped: $(cat "$TEST_DIR/out")"
grep -q 'ended=clean' "$LODGE_RUNDIR/bb/state" || fail "busybox did not stop cleanly"
kill -0 "$pid" 2>/dev/null && fail "init still alive"
[ -z "$(cgroups_of bb)" ] || fail "cgroups left: $(cgroups_of bb); monitor: $(cat "$LODGE_RUNDIR/bb/monitor.log")"
grep -q 'going down' "$LODGE_RUNDIR/bb/console.log" || fail "console log not kept"
ok "busybox stops cleanly on SIGUSR2; cgroups gone, console log kept"
expect 1 'not running' -- lodge stop bb
ok "stop of a stopped guest is an error"

# --- systemd: no network yet, so the guest gets no eth0 stanza to raise.
lodge create deb -t local -- --file "$DEB" --meta "$(meta_of "$DEB")" >/dev/null
printf 'auto lo\niface lo inet loopback\n' >"$LODGE_ROOT/containers/deb/rootfs/etc/network/interfaces"
expect 0 '' -- lodge start deb
state() { in_guest deb systemctl is-system-running 2>/dev/null || true; }
wait_for 60 sh -c "[ \"\$(nsenter -t $(init_pid deb) -a systemctl is-system-running 2>/dev/null)\" = running ]" || {
        in_guest deb systemctl --failed --no-legend >&2 || true
        fail "systemd is '$(state)', not running"
}
ok "systemd guest reaches 'running' (no failed unit)"
# The console log holds the boot from its first line: nothing init wrote before the monitor
# read the console (its keeper starts once the client has its answer) was lost.
lodge console deb --log | head -n 1 | grep -q '^systemd .* running in system mode' ||
        fail "the console log lost the start of the boot: $(lodge console deb --log | head -n 3)"
ok "the console log starts with systemd's banner"
# $container_ttys: systemd's getty generator starts one on tty1 (pts/0) only, besides the console's.
[ "$(in_guest deb systemctl list-units --no-legend --plain 'container-getty@*' 'console-getty*' |
        awk '{ print $1 }' | tr '\n' ' ')" = 'console-getty.service container-getty@0.service ' ] ||
        fail "gettys: $(in_guest deb systemctl list-units --no-legend --plain '*getty*')"
console_sees deb 1 'deb login:' || fail "no login prompt on tty1"
ok "systemd guest: gettys on the console and on tty1, reached by console --tty 1"
in_guest deb grep -q ' fusectl ' /proc/self/mountinfo &&
        fail "the guest mounted fusectl, the host's FUSE connections"
ok "no fusectl in the guest (the host's FUSE connections stay out of sight)"

pid=$(init_pid deb)
expect 0 '' -- lodge stop deb
grep -q 'ended=clean' "$LODGE_RUNDIR/deb/state" || fail "systemd didn't stop cleanly: $(cat "$LODGE_RUNDIR/deb/state")"
[ -z "$(cgroups_of deb)" ] || fail "cgroups left: $(cgroups_of deb)"
ok "systemd guest stops cleanly on SIGRTMIN+3, no SIGKILL needed"

# --- the monitor is lodge-monitor once init runs, holding only its own descriptors (and the
# masters and slaves of the guest's tty1-4, 11 to 18); a reboot inside the guest goes through
# lodge and back, the console log and the viewers of the console and of tty1 survive it
expect 0 '' -- lodge start bb
mon=$(sed -n 's/^monitor_pid=//p' "$LODGE_RUNDIR/bb/state")
[ "$(basename "$(readlink "/proc/$mon/exe")")" = lodge-monitor ] ||
        fail "the monitor runs $(readlink "/proc/$mon/exe"), not lodge-monitor"
# The console keeper's pidfd (fd 19) goes when the keeper has ended, which it does on its
# own once lodge-monitor reads the console (slowly in a sanitizer build).
monitor_fds() { ls "/proc/$mon/fd" | sort -n | tr '\n' ' '; }
monitor_fds_are() { [ "$(monitor_fds)" = "$1" ]; }
wait_for 30 monitor_fds_are '0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 ' ||
        fail "the monitor holds fds $(monitor_fds)"
old=$(init_pid bb)
mkfifo "$TEST_DIR/viewer-in"
sleep 600 >"$TEST_DIR/viewer-in" 2>/dev/null & # the viewer's input: open, and nothing typed
TEST_PIDS+=($!)
lodge console bb <"$TEST_DIR/viewer-in" >"$TEST_DIR/viewer" 2>&1 &
viewer=$!
lodge console bb --tty 1 <"$TEST_DIR/viewer-in" >"$TEST_DIR/tty-viewer" 2>&1 &
tty_viewer=$!
wait_for 10 sh -c "[ \$(ls /proc/$mon/fd | wc -l) = 21 ]" || fail "the viewers didn't connect"
# What getty wrote on tty1 while nobody viewed it waited in the pty for the viewer.
wait_for 10 grep -q 'bb login:' "$TEST_DIR/tty-viewer" || fail "no login prompt on tty1: $(cat "$TEST_DIR/tty-viewer")"
reboot_in bb
wait_for 20 sh -c "[ \"\$(sed -n 's/^init_pid=//p' '$LODGE_RUNDIR/bb/state')\" != '$old' ] &&
        grep -q '^state=RUNNING' '$LODGE_RUNDIR/bb/state'" || fail "no reboot: $(cat "$LODGE_RUNDIR/bb/state")"
[ "$(sed -n 's/^monitor_pid=//p' "$LODGE_RUNDIR/bb/state")" = "$mon" ] || fail "a new monitor after the reboot"
[ "$(basename "$(readlink "/proc/$mon/exe")")" = lodge-monitor ] || fail "the monitor after the reboot"
grep -q 'rebooting' "$LODGE_RUNDIR/bb/monitor.log" || fail "monitor.log: $(cat "$LODGE_RUNDIR/bb/monitor.log")"
# The log holds the first boot's shutdown and, after it, the second boot's login prompt.
# (Not necessarily either boot's rcS line: busybox's getty hangs up the console at once,
# and the kernel drops what it hasn't yet passed from the pty's flip buffer to its reader,
# which under load can be whatever was written just before.)
wait_for 20 sh -c "'$LODGE_BIN' console bb --log | sed -n '/Requesting system reboot/,\$p' | grep -q 'bb login:'" ||
        fail "the console log lost the boot before the reboot: $(lodge console bb --log 2>&1; cat "$LODGE_RUNDIR/bb/monitor.log")"
lodge console bb --log | grep -q 'going down' || fail "the console log lost the shutdown"
kill -0 $viewer 2>/dev/null || fail "the console viewer was dropped by the reboot"
# tty1 after the reboot: a new pty, the viewer still on it, the new getty's prompt.
wait_for 20 sh -c "[ \$(grep -c 'bb login:' '$TEST_DIR/tty-viewer') -ge 2 ]" ||
        fail "the tty1 viewer saw no new getty after the reboot: $(cat "$TEST_DIR/tty-viewer")"
expect 0 '' -- lodge stop bb
wait_for 10 sh -c "! kill -0 $viewer 2>/dev/null && ! kill -0 $tty_viewer 2>/dev/null" ||
        fail "a viewer outlived the guest"
kill "${TEST_PIDS[-1]}"
[ -z "$(cgroups_of bb)" ] || fail "cgroups left"
pgrep -f "^lodge-monitor [0-9]+ $LODGE_ROOT bb " >/dev/null && fail "a lodge-monitor (or its console keeper) outlived the guest"
ok "lodge-monitor serves the guest with its own fds only; reboot, console log and viewers carry over"

# Without lodge-monitor (a lodge binary copied alone), the monitor serves the guest itself.
if [ ! -e /usr/local/libexec/lodge/lodge-monitor ] && [ ! -e /usr/libexec/lodge/lodge-monitor ]; then
        mkdir "$TEST_DIR/solo"
        cp "$LODGE_BIN" "$TEST_DIR/solo/lodge"
        expect 0 '' -- "$TEST_DIR/solo/lodge" start bb
        mon=$(sed -n 's/^monitor_pid=//p' "$LODGE_RUNDIR/bb/state")
        [ "$(readlink "/proc/$mon/exe")" = "$TEST_DIR/solo/lodge" ] || fail "monitor: $(readlink "/proc/$mon/exe")"
        expect 0 '' -- "$TEST_DIR/solo/lodge" stop bb
        grep -q 'ended=clean' "$LODGE_RUNDIR/bb/state" || fail "solo monitor: $(cat "$LODGE_RUNDIR/bb/state")"
        ok "without lodge-monitor the monitor serves the guest itself"
fi

# --- the guest outlives a killed monitor, and stop still works
expect 0 '' -- lodge start bb
mon=$(monitor_of bb) || exit 1
kill -9 "$mon"
sleep 0.2
expect 0 '' -- lodge list
grep -Eq '^bb +RUNNING' "$TEST_DIR/out" || fail "guest died with its monitor"
expect 0 '' -- lodge stop bb
[ -z "$(cgroups_of bb)" ] || fail "cgroups left after a monitor-less stop"
expect 0 '' -- lodge start bb
ok "kill -9 of the monitor: the guest runs on, stop still works, start again works"
expect 0 '' -- lodge stop --kill bb
grep -q 'ended=killed' "$LODGE_RUNDIR/bb/state" || fail "--kill not recorded as killed"
ok "stop --kill"

# --- faults: each failed start is an error naming the step, and leaves nothing.
failed_start() { # NAME PATTERN
        expect 1 "$2" -- lodge start "$1"
        expect 0 '' -- lodge list
        grep -Eq "^$1 +STOPPED" "$TEST_DIR/out" || fail "$1: not STOPPED after a failed start"
        [ -z "$(cgroups_of "$1")" ] || fail "$1: cgroups left: $(cgroups_of "$1")"
        [ ! -e "$LODGE_RUNDIR/$1/monitor.sock" ] || fail "$1: monitor socket left"
}
lodge create noinit -t local -- --file "$BB" >/dev/null
rm "$LODGE_ROOT/containers/noinit/rootfs/sbin/init"
failed_start noinit "init '/sbin/init'"
# An init that exits at once did start; then the guest is simply stopped, tidily.
lodge config noinit set init.cmd "/bin/false"
expect 0 '' -- lodge start noinit
wait_for 10 grep -q 'state=STOPPED' "$LODGE_RUNDIR/noinit/state" || fail "init exited, guest not stopped"
grep -q 'ended=crashed' "$LODGE_RUNDIR/noinit/state" || fail "exit 1 of init not recorded as crashed"
wait_for 10 sh -c "[ ! -e '$LODGE_RUNDIR/noinit/monitor.sock' ]" || fail "monitor stayed"
[ -z "$(cgroups_of noinit)" ] || fail "cgroups left after init exited"
lodge config noinit unset init.cmd
rm -rf "$LODGE_ROOT/containers/noinit/rootfs/proc"
ln -s / "$LODGE_ROOT/containers/noinit/rootfs/proc"
ln -s /bin/busybox "$LODGE_ROOT/containers/noinit/rootfs/sbin/init"
failed_start noinit "'/proc' in the rootfs must be a directory"
ok "faults: missing init, a symlinked /proc: clear errors, nothing left behind"

# --- two starts at once start one guest; the other says it runs already
for round in 1 2 3; do
        rc1=0 rc2=0
        "$LODGE_BIN" start bb 2>"$TEST_DIR/e1" &
        p1=$!
        "$LODGE_BIN" start bb 2>"$TEST_DIR/e2" &
        p2=$!
        wait $p1 || rc1=$?
        wait $p2 || rc2=$?
        [ "$rc1$rc2" = 01 ] || [ "$rc1$rc2" = 10 ] ||
                fail "round $round: exit codes $rc1/$rc2: $(cat "$TEST_DIR/e1" "$TEST_DIR/e2")"
        grep -q 'already running' "$TEST_DIR/e1" "$TEST_DIR/e2" || fail "loser doesn't say why"
        # One monitor (lodge-monitor once init runs), and no client or monitor still forking.
        wait_for 10 sh -c "[ \"\$(pgrep -c -f '^lodge-monitor [0-9]+ $LODGE_ROOT bb ')\" = 1 ] &&
                ! pgrep -f '^$LODGE_BIN start bb\$' >/dev/null" || fail "two monitors for one guest"
        [ "$(find "$(cgroups_of bb | grep /pids/)" -name cgroup.procs -exec cat {} + | wc -l)" -ge 1 ] ||
                fail "no process in the guest's cgroup"
        lodge stop --kill bb
done
ok "two starts at once: one guest, the other start fails saying it runs (3 rounds)"

# --- kill -9 of the client during start: the guest either runs or is cleanly stopped
for delay in 0.002 0.005 0.01; do
        "$LODGE_BIN" start bb >/dev/null 2>&1 &
        client=$!
        sleep $delay
        kill -9 $client 2>/dev/null || true
        wait $client 2>/dev/null || true
        sleep 0.2
        expect 0 '' -- lodge list
        if grep -Eq '^bb +RUNNING' "$TEST_DIR/out"; then
                expect 0 '' -- lodge attach bb -- true
                expect 0 '' -- lodge stop --kill bb
        else
                grep -Eq '^bb +STOPPED' "$TEST_DIR/out" || fail "after kill -9: $(cat "$TEST_DIR/out")"
                [ -z "$(cgroups_of bb)" ] || fail "cgroups left by a killed start"
        fi
        expect 0 '' -- lodge start bb
        expect 0 '' -- lodge stop --kill bb
        assert_no_leftovers
done
ok "kill -9 of the client during start: a usable guest or nothing, and start works after"

# --- a crash (or a host reboot with a persistent run dir): monitor and init gone at once
expect 0 '' -- lodge start bb
mon=$(monitor_of bb) || exit 1
init=$(init_pid bb)
kill -9 "$mon" "$init"
sleep 0.3
grep -q 'state=RUNNING' "$LODGE_RUNDIR/bb/state" || fail "the state file isn't stale as intended"
expect 0 '' -- lodge list
grep -Eq '^bb +STOPPED' "$TEST_DIR/out" || fail "stale state shown as running: $(cat "$TEST_DIR/out")"
expect 1 'not running' -- lodge stop bb
expect 0 '' -- lodge start bb
expect 0 '' -- lodge attach bb -- true
expect 0 '' -- lodge stop bb
[ -z "$(cgroups_of bb)" ] || fail "cgroups left"
ok "stale run state after a crash reads as stopped; start cleans up and works"

# --- a bad value in a hand-edited config: start names file, line and key, and starts nothing
echo 'limits.memory = lots' >>"$LODGE_ROOT/containers/bb/config"
expect 1 "config:[0-9]+: key 'limits.memory'" -- lodge start bb
[ ! -e "$LODGE_RUNDIR/bb/monitor.sock" ] && [ -z "$(cgroups_of bb)" ] || fail "a refused start left things"
sed -i '/^limits.memory = lots$/d' "$LODGE_ROOT/containers/bb/config"
ok "start with a bad config value: a clear error, nothing started"

# --- a host shutdown sends every process SIGTERM: the monitor shuts its guest down cleanly
expect 0 '' -- lodge start bb
# (busybox init blocks signals itself while its sysinit actions run)
wait_for 10 "$LODGE_BIN" attach bb -- grep -q 'SigBlk:.0000000000000000' /proc/1/status ||
        fail "init runs with signals blocked"
mon=$(monitor_of bb) || exit 1
kill -TERM "$mon"
expect 0 '' -- lodge wait bb STOPPED --timeout 20
grep -q 'ended=clean' "$LODGE_RUNDIR/bb/state" || fail "SIGTERM to the monitor: $(cat "$LODGE_RUNDIR/bb/state")"
[ -z "$(cgroups_of bb)" ] || fail "cgroups left"
ok "SIGTERM to the monitor (host shutdown) stops the guest cleanly; init starts with no blocked signal"

# --- nobody on the console, nobody in the guest on a viewed tty: the monitor must sleep, not
# spin on a hung-up pty
printf '#!/bin/sh\nexec </dev/null >/dev/null 2>&1\nexec sleep 1000\n' \
        >"$LODGE_ROOT/containers/bb/rootfs/sbin/quiet-init"
chmod 755 "$LODGE_ROOT/containers/bb/rootfs/sbin/quiet-init"
lodge config bb set init.cmd /sbin/quiet-init
lodge config bb set init.stop_signal SIGKILL
expect 0 '' -- lodge start bb
mon=$(sed -n 's/^monitor_pid=//p' "$LODGE_RUNDIR/bb/state")
sleep 600 >"$TEST_DIR/viewer-in" 2>/dev/null &
TEST_PIDS+=($!)
wait_for 30 monitor_fds_are '0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 ' ||
        fail "the monitor holds fds $(monitor_fds)"
lodge console bb --tty 2 <"$TEST_DIR/viewer-in" >/dev/null 2>&1 &
wait_for 10 sh -c "[ \$(ls /proc/$mon/fd | wc -l) = 20 ]" || fail "the tty2 viewer didn't connect"
t0=$(awk '{ print $14 + $15 }' "/proc/$mon/stat")
sleep 2
ticks=$(($(awk '{ print $14 + $15 }' "/proc/$mon/stat") - t0)) # clock ticks of CPU; spinning: ~200
[ "$ticks" -le 20 ] || fail "the monitor burns CPU with nobody on the console: $ticks ticks in 2 s"
expect 0 '' -- lodge stop bb
kill "${TEST_PIDS[-1]}"
lodge config bb unset init.cmd
lodge config bb unset init.stop_signal
ok "with nobody on the console the monitor sleeps ($ticks ticks in 2 s)"
