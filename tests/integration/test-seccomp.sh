#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The default seccomp policy, tried from inside a guest by a static probe
# (research/security.md G-06, G-14, G-15, P-02): each denied call fails with
# its errno through the native and the i386 (int 0x80) entry, for init's
# descendants and for attach; an allowed call passes; none and nesting relax
# it as documented; a policy file is refused clearly.
. "$(dirname "$0")/lib.sh"

probe=$TEST_DIR/seccomp-probe
gcc -static -O1 -o "$probe" "$LODGE_SRCDIR/tests/integration/seccomp-probe.c" 2>/dev/null ||
        { echo "SKIP: can't build a static probe (gcc, libc6-dev)"; exit 77; }
BB=$(fixture_busybox)
lodge create sc -t local -- --file "$BB" >/dev/null
cp "$probe" "$LODGE_ROOT/containers/sc/rootfs/probe"

expect 0 '' -- lodge start sc
expect 0 '' -- lodge attach sc -- grep '^Seccomp:' /proc/1/status
grep -q '2$' "$TEST_DIR/out" || fail "init has no seccomp filter: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge attach sc -- /probe
for call in kexec_load init_module finit_module delete_module open_by_handle_at bpf userfaultfd \
        perf_event_open swapon iopl; do
        for abi in native i386; do
                grep -q "^$call $abi 1\$" "$TEST_DIR/out" ||
                        fail "$call ($abi) not denied with EPERM: $(grep "^$call $abi" "$TEST_DIR/out")"
        done
done
for call in keyctl add_key; do
        for abi in native i386; do
                grep -q "^$call $abi 38\$" "$TEST_DIR/out" || fail "$call ($abi) not ENOSYS"
        done
done
grep -q '^getpid i386 0$' "$TEST_DIR/out" || fail "the filter blocks an allowed i386 call"
# The same filter holds in processes the guest's init starts (inherited), not only in attach.
expect 0 '' -- lodge attach sc -- sh -c 'grep "^Seccomp:" /proc/$(pidof getty)/status'
grep -q '2$' "$TEST_DIR/out" || fail "the guest's getty runs without the filter"
ok "default seccomp: module loading, kexec, handles, bpf, userfaultfd, perf, swap, iopl: EPERM; keyrings: ENOSYS; native and i386 alike"
expect 0 '' -- lodge stop --kill sc

expect 0 '' -- lodge config sc set security.nesting true
expect 0 '' -- lodge start sc
expect 0 '' -- lodge attach sc -- /probe
grep -q '^bpf native 1$' "$TEST_DIR/out" && fail "bpf still denied with nesting"
grep -q '^kexec_load native 1$' "$TEST_DIR/out" || fail "nesting relaxed more than bpf"
expect 0 '' -- lodge stop --kill sc
lodge config sc unset security.nesting
ok "security.nesting = true allows bpf, nothing else"

expect 0 '' -- lodge config sc set security.seccomp none
expect 0 '' -- lodge start sc
expect 0 '' -- lodge attach sc -- grep '^Seccomp:' /proc/1/status
grep -q '0$' "$TEST_DIR/out" || fail "security.seccomp = none still filters init"
expect 0 '' -- lodge stop --kill sc
expect 0 '' -- lodge config sc set security.seccomp /etc/lodge/policy
expect 1 "open seccomp policy '/etc/lodge/policy'" -- lodge start sc
[ -z "$(cgroups_of sc)" ] || fail "a refused start left cgroups"
ok "security.seccomp = none loads no filter; a missing policy file is refused with a clear error"
