#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Working with a running guest: attach, console, freeze, wait, restart,
# limits (applied at start and live), and containment of fork bombs and
# memory hogs.
. "$(dirname "$0")/lib.sh"

BB=$(fixture_busybox)
lodge create g -t local -- --file "$BB" --meta "$(meta_of "$BB")" >/dev/null
lodge config g set limits.pids 100
lodge config g set limits.memory 64M
lodge start g

# --- attach: status, stdio, environment, cwd, user, the guest's view
expect 7 '' -- lodge attach g -- sh -c 'exit 7'
expect 0 '' -- sh -c "echo piped | '$LODGE_BIN' attach g -- cat"
[ "$(cat "$TEST_DIR/out")" = piped ] || fail "stdin not passed through"
expect 127 "run 'nosuchcmd'" -- lodge attach g -- nosuchcmd
expect 0 '' -- lodge attach g -e FOO=bar --cwd /tmp -- sh -c 'echo "$FOO $(pwd) $container $HOME"'
[ "$(cat "$TEST_DIR/out")" = "bar /tmp lodge /root" ] || fail "env/cwd: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge attach g -u nobody -- id -u
[ "$(cat "$TEST_DIR/out")" = 65534 ] || fail "-u nobody: $(cat "$TEST_DIR/out")"
expect 1 "user 'ghost'" -- lodge attach g -u ghost -- true
expect 0 '' -- lodge attach g -- sh -c 'ls /proc | grep -c "^[0-9]"'
[ "$(cat "$TEST_DIR/out")" -lt 10 ] || fail "attach sees host processes: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge attach g -- sh -c 'ls /proc/self/fd | wc -l'
[ "$(cat "$TEST_DIR/out")" -le 4 ] || fail "extra fds reach the attached command"
expect 0 '' -- lodge attach g -- sh -c 'grep -E "^Cap(Inh|Amb|Bnd)" /proc/self/status'
grep -q 'CapInh:.0000000000000000' "$TEST_DIR/out" || fail "inheritable caps: $(cat "$TEST_DIR/out")"
grep -q 'CapAmb:.0000000000000000' "$TEST_DIR/out" || fail "ambient caps"
bnd=$(sed -n 's/CapBnd:\t//p' "$TEST_DIR/out")
(( (0x$bnd >> 16) & 1 )) && fail "CAP_SYS_MODULE still in the bounding set"
(( (0x$bnd >> 25) & 1 )) && fail "CAP_SYS_TIME still in the bounding set"
expect 0 '' -- lodge attach g -- grep NoNewPrivs /proc/self/status
grep -q '1$' "$TEST_DIR/out" || fail "no_new_privs not set for attach"
# In every hierarchy (cgroup2's too, where it is born into its cgroup) at the root of its namespace.
expect 0 '' -- lodge attach g -- cat /proc/self/cgroup
! grep -v ':/$' "$TEST_DIR/out" || fail "attach not at the root of the guest's cgroup namespace"
ok "attach: exit status, stdin, env, cwd, users, own processes and fds, caps, no_new_privs, cgroup"

# Confined as init was: a config changed while the guest runs counts from its next start.
init_bnd=$(sed -n 's/CapBnd:\t//p' "/proc/$(init_pid g)/status")
[ "$init_bnd" = "$bnd" ] || fail "attach's bounding set $bnd is not init's $init_bnd"
expect 0 '' -- lodge config g set security.caps.drop sys_nice
expect 0 '' -- lodge attach g -- sed -n 's/CapBnd:\t//p' /proc/self/status
[ "$(cat "$TEST_DIR/out")" = "$init_bnd" ] || fail "attach took the changed config: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge config g unset security.caps.drop
ok "attach: confined by the config the guest was started with, not one changed since"

# On a terminal: a pty of the guest's own devpts, the controlling terminal of the command,
# which gets the terminal's input; the exit status still comes through.
if command -v script >/dev/null; then
        cat >"$TEST_DIR/on-tty.sh" <<'EOF'
exec "$LODGE_BIN" attach g -- sh -c 'tty; read x; echo "got $x"; readlink /proc/$$/ns/mnt; readlink /proc/1/ns/mnt; exit 5'
EOF
        expect 5 '' -- sh -c "printf 'typed\n' | script -qec 'sh $TEST_DIR/on-tty.sh' /dev/null"
        grep -q '^/dev/pts/[0-9]' "$TEST_DIR/out" || fail "attach on a terminal gave no guest pty: $(cat "$TEST_DIR/out")"
        grep -q 'got typed' "$TEST_DIR/out" || fail "the terminal's input didn't reach the command: $(cat "$TEST_DIR/out")"
        [ "$(grep -c 'mnt:' "$TEST_DIR/out")" = 2 ] && [ "$(grep 'mnt:' "$TEST_DIR/out" | sort -u | wc -l)" = 1 ] ||
                fail "the attached command is not in the guest's mount namespace: $(cat "$TEST_DIR/out")"
        ok "attach on a terminal: a pty from the guest's devpts, input, exit status"
fi

# --- console: the log, and a viewer that detaches with Ctrl-a q
expect 0 '' -- lodge console g --log
grep -q 'g login' "$TEST_DIR/out" || wait_for 5 sh -c "'$LODGE_BIN' console g --log | grep -q 'g login'" ||
        fail "no login prompt in the console log"
out=$( (sleep 0.3; printf 'root\n'; sleep 0.5; printf '\001q') | timeout 10 "$LODGE_BIN" console g) ||
        fail "console did not detach on Ctrl-a q"
grep -q 'Password' <<<"$out" || fail "typing into the console had no effect: $out"
expect 0 '' -- lodge list
grep -Eq '^g +RUNNING' "$TEST_DIR/out" || fail "detaching stopped the guest"
ok "console: log, a viewer that types and detaches"

# --- ttys: /dev/tty1-4 are ptys of the guest's own devpts (pts/0-3), a getty waits on tty1
# only, and console --tty N reaches it
expect 0 '' -- lodge attach g -- sh -c 'for n in 1 2 3 4; do
        [ "$(stat -c "%d %i %t" /dev/tty$n)" = "$(stat -c "%d %i %t" /dev/pts/$((n - 1)))" ] || echo "tty$n"
done'
[ -z "$(cat "$TEST_DIR/out")" ] || fail "not ptys of the guest's devpts: $(cat "$TEST_DIR/out")"
wait_for 10 in_guest g sh -c 'ps | grep -q "[g]etty 38400 tty1"' || fail "no getty on tty1"
expect 0 '' -- lodge attach g -- sh -c 'ps | grep "[g]etty" | grep -Ev " (console|tty1)( |$)" || true'
[ -z "$(cat "$TEST_DIR/out")" ] || fail "gettys other than the console's and tty1's: $(cat "$TEST_DIR/out")"
console_sees g 1 'g login' 'root
' 'Password' || fail "no login prompt on tty1, or typing there had no effect"
expect 2 '--tty takes 0' -- lodge console g --tty 5
expect 2 "the console's only" -- lodge console g --tty 1 --log
ok "ttys: tty1-4 from the guest's devpts, a getty on tty1, console --tty"

# --- freeze, wait
expect 0 '' -- lodge freeze g
expect 0 '' -- lodge wait g FROZEN --timeout 5
expect 1 'still FROZEN' -- lodge wait g RUNNING --timeout 1
expect 0 '' -- lodge unfreeze g
expect 0 '' -- lodge wait g RUNNING --timeout 5
expect 2 "unknown state" -- lodge wait g ASLEEP
ok "freeze, unfreeze and wait"

# --- limits: in force, changed live
[ "$(cat "$(cgroups_of g | grep /pids/)/pids.max")" = 100 ] || fail "pids.max"
mem=$(cgroups_of g | grep /memory/)
[ "$(cat "$mem/memory.limit_in_bytes")" = 67108864 ] || fail "memory limit"
expect 0 '' -- lodge config g set limits.pids 200
[ "$(cat "$(cgroups_of g | grep /pids/)/pids.max")" = 200 ] || fail "live pids change"
expect 0 '' -- lodge config g set limits.pids 100
expect 0 '' -- lodge info g --format json
python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); assert i["limits"]["pids"]==100 and i["processes"]>=1 and i["memory"]>0, i' "$TEST_DIR/out" ||
        fail "info: $(cat "$TEST_DIR/out")"
ok "limits applied at start and changed live"

# --- a fork bomb stays inside pids.max; the host keeps forking
# Each child sleeps, so the tasks pile up until forks fail; the loop keeps trying.
lodge attach g -- sh -c 'while :; do sleep 1000 & done' >/dev/null 2>&1 &
TEST_PIDS+=($!)
pids=$(cgroups_of g | grep /pids/)
# (cgroup v1 counts the event where the fork failed: anywhere below the limit)
wait_for 20 sh -c "[ \$(cat \$(find $pids -name pids.events) | awk '/^max/ { s += \$2 } END { print s + 0 }') -gt 0 ]" ||
        fail "the fork bomb never reached pids.max"
cur=$(cat "$pids/pids.current")
[ "$cur" -le 100 ] || fail "fork bomb exceeded pids.max: $cur"
[ "$cur" -ge 90 ] || fail "fork bomb didn't run: $cur tasks"
/bin/true || fail "the host can't fork"
ok "fork bomb contained at $cur of 100 tasks, the host unaffected"
expect 0 '' -- lodge stop --kill g
[ -z "$(cgroups_of g)" ] || fail "cgroups left after killing a fork-bombed guest"

# --- a memory hog is OOM-killed inside the guest only
lodge start g
expect 137 '' -- lodge attach g -- dd if=/dev/zero of=/dev/null bs=200M count=1
expect 0 '' -- lodge list
grep -Eq '^g +RUNNING' "$TEST_DIR/out" || fail "the guest died with its memory hog"
expect 0 '' -- lodge info g --format json
python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); assert i["oom_kills"]>=1, i' "$TEST_DIR/out" ||
        fail "no OOM kill counted: $(cat "$TEST_DIR/out")"
ok "a 200 MiB allocation under a 64 MiB limit is OOM-killed, the guest runs on"

# --- restart
old=$(init_pid g)
expect 0 '' -- lodge restart g
[ "$(init_pid g)" != "$old" ] || fail "restart didn't start a new init"
ok "restart"

# --- a frozen guest: attach refuses it; stop thaws it and stops it cleanly
expect 0 '' -- lodge freeze g
expect 1 "container is frozen .*'lodge unfreeze g' first" -- lodge attach g -- /bin/true
expect 0 '' -- lodge stop g --timeout 20
grep -q 'ended=clean' "$LODGE_RUNDIR/g/state" || fail "a frozen guest's stop: $(cat "$LODGE_RUNDIR/g/state")"
[ -z "$(cgroups_of g)" ] || fail "cgroups left after stopping a frozen guest"
ok "a frozen guest: attach refuses it, stop thaws it and stops it cleanly"

# --- autostart: in order, only the marked ones
for n in a1 a2 a3; do
        lodge create "$n" -t local -- --file "$BB" >/dev/null
done
lodge config a1 set autostart true
lodge config a1 set autostart.order 2
lodge config a2 set autostart true
lodge config a2 set autostart.order 1
expect 0 '' -- lodge autostart
expect 0 '' -- lodge list
grep -Eq '^a1 +RUNNING' "$TEST_DIR/out" && grep -Eq '^a2 +RUNNING' "$TEST_DIR/out" &&
        grep -Eq '^a3 +STOPPED' "$TEST_DIR/out" || fail "autostart: $(cat "$TEST_DIR/out")"
s1=$(sed -n 's/^started_at=//p' "$LODGE_RUNDIR/a1/state")
s2=$(sed -n 's/^started_at=//p' "$LODGE_RUNDIR/a2/state")
[ "$s2" -le "$s1" ] || fail "autostart order: a2 ($s2) after a1 ($s1)"
expect 0 '' -- lodge autostart # running ones are left alone
ok "autostart starts the marked guests in order"

# --- the cgroup parent this root's guests share: it stays in the cpuset hierarchy while the
# root has guests (its first and last cpuset cost a kernel code patch), and goes with the last
parent() { ls -d /sys/fs/cgroup/*/"$CG_PREFIX" /sys/fs/cgroup/"$CG_PREFIX" 2>/dev/null || true; }
for n in a1 a2; do lodge stop "$n" >/dev/null; done
if [ -d /sys/fs/cgroup/cpuset ] && ! grep -q cgroup2 <<<"$(stat -fc %T /sys/fs/cgroup)"; then
        [ "$(parent)" = "/sys/fs/cgroup/cpuset/$CG_PREFIX" ] || fail "after the stops: $(parent)"
fi
for n in g a1 a2; do lodge destroy "$n"; done
[ -n "$(parent)" ] || [ ! -d /sys/fs/cgroup/cpuset ] || fail "the parent went while a3 is left"
lodge destroy a3
[ -z "$(parent)" ] || fail "the root has no guest, its cgroup parent is left: $(parent)"
ok "the guests' cgroup parent: kept in cpuset after the stops, gone with the root's last guest"
