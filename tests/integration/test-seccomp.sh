#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The seccomp policies, tried from inside a guest by a static probe
# (research/security.md G-06, G-14, G-15, P-02): each denied call fails with
# its errno through the native, the i386 (int 0x80) and the x32 entry, for
# init's descendants and for attach; an allowed call passes; none and nesting
# relax it as documented; a policy file (docs/seccomp.md) adds its own rules
# on every ABI alike, and a broken one refuses start and attach with
# FILE:LINE and leaves nothing behind.
. "$(dirname "$0")/lib.sh"

probe=$TEST_DIR/seccomp-probe
gcc -static -O1 -o "$probe" "$LODGE_SRCDIR/tests/integration/seccomp-probe.c" 2>/dev/null ||
        { echo "SKIP: can't build a static probe (gcc, libc6-dev)"; exit 77; }
BB=$(fixture_busybox)
lodge create sc -t local -- --file "$BB" >/dev/null
cp "$probe" "$LODGE_ROOT/containers/sc/rootfs/probe"

# probe_has CALL ABI ERRNO: the probe's output says CALL through ABI got ERRNO.
# On a kernel without x32 (CONFIG_X86_X32_ABI off) an x32 call that no filter
# stops gets ENOSYS and does nothing, so ENOSYS passes there too. On one that
# runs no 32-bit code, int $0x80 faults before any syscall: no i386 call to stop.
probe_has() {
        grep -q "^$1 $2 $3\$" "$TEST_DIR/out" && return 0
        [ "$2" = i386 ] && grep -q '^i386 available no$' "$TEST_DIR/out" && return 0
        [ "$2" = x32 ] && grep -q '^x32 available no$' "$TEST_DIR/out" &&
                grep -q "^$1 x32 38\$" "$TEST_DIR/out"
}

# lodge's default denials, in the probe's output.
check_default_denials() {
        local call abi
        for call in kexec_load init_module finit_module delete_module open_by_handle_at bpf \
                userfaultfd perf_event_open swapon iopl; do
                for abi in native i386 x32; do
                        probe_has "$call" "$abi" 1 ||
                                fail "$call ($abi) not denied with EPERM: $(grep "^$call $abi" "$TEST_DIR/out")"
                done
        done
        for call in keyctl add_key fsopen open_tree move_mount; do
                for abi in native i386 x32; do
                        probe_has "$call" "$abi" 38 || fail "$call ($abi) not ENOSYS"
                done
        done
        grep -q '^getpid i386 0$' "$TEST_DIR/out" || grep -q '^i386 available no$' "$TEST_DIR/out" ||
                fail "the filter blocks an allowed i386 call"
        ! grep -q '^getpid x32' "$TEST_DIR/out" || fail "the filter blocks an allowed x32 call"
}

expect 0 '' -- lodge start sc
expect 0 '' -- lodge attach sc -- grep '^Seccomp:' /proc/1/status
grep -q '2$' "$TEST_DIR/out" || fail "init has no seccomp filter: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge attach sc -- /probe
check_default_denials
grep -q '^uname native 14$' "$TEST_DIR/out" || fail "uname is not allowed by default"
x32=$(sed -n 's/^x32 available //p' "$TEST_DIR/out")
i386=$(sed -n 's/^i386 available //p' "$TEST_DIR/out")
# The same filter holds in processes the guest's init starts (inherited), not only in attach.
expect 0 '' -- lodge attach sc -- sh -c 'grep "^Seccomp:" /proc/$(pidof getty | cut -d" " -f1)/status'
grep -q '2$' "$TEST_DIR/out" || fail "the guest's getty runs without the filter"
ok "default seccomp: module loading, kexec, handles, bpf, userfaultfd, perf, swap, iopl: EPERM; keyrings, the new mount API: ENOSYS; native, i386 and x32 (in this kernel i386: $i386, x32: $x32) alike"
expect 0 '' -- lodge stop --kill sc

expect 0 '' -- lodge config sc set security.nesting true
expect 0 '' -- lodge start sc
expect 0 '' -- lodge attach sc -- /probe
grep -q '^bpf native 1$' "$TEST_DIR/out" && fail "bpf still denied with nesting"
grep -q '^fsopen native 38$' "$TEST_DIR/out" && fail "the new mount API still denied with nesting"
grep -q '^kexec_load native 1$' "$TEST_DIR/out" || fail "nesting relaxed more than bpf and the mount API"
grep -q '^keyctl native 38$' "$TEST_DIR/out" || fail "nesting relaxed the keyrings"
expect 0 '' -- lodge stop --kill sc
lodge config sc unset security.nesting
ok "security.nesting = true allows bpf and the new mount API, nothing else"

expect 0 '' -- lodge config sc set security.seccomp none
expect 0 '' -- lodge start sc
expect 0 '' -- lodge attach sc -- grep '^Seccomp:' /proc/1/status
grep -q '0$' "$TEST_DIR/out" || fail "security.seccomp = none still filters init"
expect 0 '' -- lodge stop --kill sc
ok "security.seccomp = none loads no filter"

# A policy file: lodge's default plus two denials, one of them on an argument.
pol=$TEST_DIR/policy.seccomp
printf '%s\n' 'lodge-seccomp 1' \
        "# lodge's default, plus: uname fails, and getcwd with a 7-byte buffer" \
        'include default' \
        'uname errno EHOSTDOWN' \
        'getcwd errno ENOTUNIQ [1 == 7]' >"$pol"
chmod 0644 "$pol"
expect 0 '' -- lodge config sc set security.seccomp "$pol"
expect 0 '' -- lodge start sc
expect 0 '' -- lodge attach sc -- grep '^Seccomp:' /proc/1/status
grep -q '2$' "$TEST_DIR/out" || fail "init has no seccomp filter from the policy file"
expect 0 '' -- lodge attach sc -- /probe
for abi in native i386 x32; do
        probe_has uname "$abi" 112 ||
                fail "uname ($abi) not EHOSTDOWN: $(grep "^uname $abi" "$TEST_DIR/out")"
        probe_has getcwd7 "$abi" 76 ||
                fail "getcwd(size 7) ($abi) not ENOTUNIQ: $(grep "^getcwd7 $abi" "$TEST_DIR/out")"
        ! grep -q "^getcwd8 $abi 76\$" "$TEST_DIR/out" || fail "getcwd(size 8) ($abi) denied too"
done
check_default_denials
expect 0 '' -- lodge attach sc -- sh -c 'grep "^Seccomp:" /proc/$(pidof getty | cut -d" " -f1)/status'
grep -q '2$' "$TEST_DIR/out" || fail "the guest's getty runs without the policy's filter"
ok "policy file: 'include default' plus uname and getcwd [1 == 7] get their errno on every ABI; the default's denials hold"

# A reboot inside the guest: the monitor starts init again with the policy read anew.
reboot_guest() {
        local old
        old=$(init_pid sc)
        reboot_in sc
        wait_for 20 sh -c "[ \"\$(sed -n 's/^init_pid=//p' '$LODGE_RUNDIR/sc/state')\" != '$old' ] &&
                ! grep -q '^state=STOPPING' '$LODGE_RUNDIR/sc/state'" ||
                fail "no reboot: $(cat "$LODGE_RUNDIR/sc/state")"
}
reboot_guest
grep -q '^state=RUNNING' "$LODGE_RUNDIR/sc/state" || fail "not running after a reboot: $(cat "$LODGE_RUNDIR/sc/state")"
expect 0 '' -- lodge attach sc -- grep '^Seccomp' /proc/1/status
grep -q '^Seccomp:.2$' "$TEST_DIR/out" && grep -q '^Seccomp_filters:.1$' "$TEST_DIR/out" ||
        fail "init has no filter after a reboot: $(cat "$TEST_DIR/out")"
printf 'lodge-seccomp 1\ninclude default\nuname errno EHOSTDOWN [0 == 1\n' >"$pol"
reboot_guest
grep -q '^state=STOPPED' "$LODGE_RUNDIR/sc/state" || fail "rebooted with a broken policy: $(cat "$LODGE_RUNDIR/sc/state")"
grep -q "restart: $pol:3: expected ']'" "$LODGE_RUNDIR/sc/monitor.log" ||
        fail "monitor.log: $(cat "$LODGE_RUNDIR/sc/monitor.log")"
[ -z "$(cgroups_of sc)" ] || fail "a refused reboot left cgroups"
ok "after a reboot init has the policy's filter again, read anew: a broken file stops the guest with FILE:LINE"

# Changed while the guest runs: attach keeps the filter the guest was started with (saved in
# its run directory), also when the file is broken now; without that file it reads the config.
printf 'lodge-seccomp 1\ninclude default\nuname errno EHOSTDOWN\n' >"$pol"
expect 0 '' -- lodge start sc
printf 'lodge-seccomp 1\ninclude default\nuname errno EHOSTDOWN [0 == 1\n' >"$pol"
expect 0 '' -- lodge attach sc -- /probe
grep -q '^uname native 112$' "$TEST_DIR/out" || fail "attach didn't get the start's filter: $(grep uname "$TEST_DIR/out")"
rm "$LODGE_RUNDIR/sc/seccomp.bpf"
expect 1 "$pol:3: expected '\\]' to end the comparison" -- lodge attach sc -- true
expect 0 '' -- lodge stop --kill sc
# "kill" kills the whole process (128 + SIGSYS).
printf 'lodge-seccomp 1\ninclude default\nuname kill\n' >"$pol"
expect 0 '' -- lodge start sc
expect 159 '' -- lodge attach sc -- /probe
expect 0 '' -- lodge stop --kill sc
ok "attach loads the filter the guest started with (a file broken since doesn't matter); 'kill' kills with SIGSYS"

# Broken at start: refused with FILE:LINE; nothing made, the last run's state untouched.
state_before=$(sha256sum <"$LODGE_RUNDIR/sc/state")
runfiles_before=$(ls -A "$LODGE_RUNDIR/sc")
while IFS='|' read -r text pattern; do
        printf "$text" >"$pol"
        expect 1 "^lodge: .*$pol:$pattern" -- lodge start sc
        [ -z "$(cgroups_of sc)" ] || fail "a refused start left cgroups: $(cgroups_of sc)"
        [ "$(sha256sum <"$LODGE_RUNDIR/sc/state")" = "$state_before" ] ||
                fail "a refused start changed the run state"
        [ "$(ls -A "$LODGE_RUNDIR/sc")" = "$runfiles_before" ] ||
                fail "a refused start left run files: $(ls -A "$LODGE_RUNDIR/sc")"
        expect 0 '' -- lodge info sc
        grep -q '^State: *STOPPED$' "$TEST_DIR/out" || fail "not stopped after a refused start"
done <<'EOF'
lodge-seccomp 1\nuname errno EHOSTDOWN\nuname allow\n|3: 'uname' already has a rule on line 2
lodge-seccomp 1\n\nunmae errno EPERM\n|3: unknown syscall 'unmae'
lodge-seccomp 1\ninclude default\ngetcwd errno EPERM [1 == 0x100000000]\n|3: a value '0x100000000' is larger
lodge-seccomp 2\n|1: unsupported format version '2'
\n|1: not a lodge seccomp policy
lodge-seccomp 1\n\033[2J\n|2: control character 0x1b
EOF
assert_no_leftovers
printf 'lodge-seccomp 1\n' >"$pol"
chmod 0666 "$pol"
expect 1 "seccomp policy '$pol' is writable by group or others" -- lodge start sc
chmod 0644 "$pol"
expect 0 '' -- lodge start sc
expect 0 '' -- lodge stop --kill sc
rm "$pol"
expect 1 "open seccomp policy '$pol'" -- lodge start sc
[ -z "$(cgroups_of sc)" ] || fail "a refused start left cgroups"
ok "a broken, unsafe or missing policy file refuses start with FILE:LINE and leaves nothing behind"
