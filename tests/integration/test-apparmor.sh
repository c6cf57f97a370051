#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# AppArmor confinement (research/security.md §0.2, N-08, key finding 1): 'lodge start'
# writes each guest's generated profile, apparmor_parser compiles it against Debian's pinned
# kernel features (-QK -M: mount rules included) and finds exactly one profile in it, its
# own, whatever the guest's name; nesting gets its variant; destroy removes it. Where the
# host has no AppArmor (this machine) a privileged guest starts with one warning that it is
# not root-safe, and security.apparmor.required = true refuses to start it, leaving nothing.
# Where the host has AppArmor, init runs under its profile instead.
. "$(dirname "$0")/lib.sh"

PARSER=/usr/sbin/apparmor_parser
FEATURES=/usr/share/apparmor-features/features
[ -x "$PARSER" ] && [ -e "$FEATURES" ] ||
        { echo "SKIP: needs apparmor_parser and $FEATURES (scripts/deps installs apparmor)"; exit 77; }
# Confined here: the kernel has AppArmor, and this lodge was built with it.
host_aa=0 why="the kernel has no AppArmor"
if ! "$LODGE_BIN" version | grep -q 'apparmor yes'; then
        why="this lodge was built without AppArmor support"
elif [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] &&
        [ -d /sys/kernel/security/apparmor ]; then
        host_aa=1
fi
BB=$(fixture_busybox)
profile_label() { echo "lodge.$LODGE_TAG-$1"; }
profile_of() { echo "$LODGE_ROOT/apparmor/$(profile_label "$1")"; }

# check_profile NAME NESTING: compiles with mount rules, and is one profile, lodge.TAG-NAME.
check_profile() {
        local f
        f=$(profile_of "$1")
        [ -f "$f" ] || fail "no profile written for '$1' at $f"
        [ "$(stat -c %a "$f")" = 600 ] || fail "profile of '$1' is mode $(stat -c %a "$f")"
        "$PARSER" -QK -M "$FEATURES" "$f" 2>"$TEST_DIR/parser.err" ||
                fail "apparmor_parser refused the profile of '$1': $(grep -v '^Cache read' "$TEST_DIR/parser.err")"
        [ "$("$PARSER" -N "$f" 2>/dev/null)" = "$(profile_label "$1")" ] ||
                fail "apparmor_parser -N on the profile of '$1' prints: $("$PARSER" -N "$f" 2>&1)"
        if [ "$2" = 1 ]; then
                grep -q '^  pivot_root,$' "$f" || fail "security.nesting: no nesting rules for '$1'"
        else
                grep -q 'pivot_root' "$f" && fail "pivot_root allowed for '$1' without nesting"
        fi
        return 0
}

# started NAME: the start said what it should, once; under AppArmor, init runs confined.
started() {
        if ((host_aa)); then
                grep -q 'warning:' "$TEST_DIR/err" && fail "'$1': warning with AppArmor: $(cat "$TEST_DIR/err")"
                grep -q "^$(profile_label "$1") (enforce)" "/proc/$(init_pid "$1")/attr/current" ||
                        fail "'$1': init runs as $(cat "/proc/$(init_pid "$1")/attr/current")"
        else
                [ "$(grep -c 'warning:' "$TEST_DIR/err")" = 1 ] ||
                        fail "'$1': expected one warning, got: $(cat "$TEST_DIR/err")"
        fi
        return 0
}

warning="warning: NAME: $why: this privileged guest is not root-safe here"
names=(aa a.b_c-d x..y 9lives Z- 0.0.0.0
        abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_)
for n in "${names[@]}"; do
        expect 0 '' -- lodge create "$n" -t local -c security.privileged=true -- --file "$BB"
        pat="${warning/NAME/${n//./\\.}}.*core_pattern"
        ((host_aa)) && pat=''
        expect 0 "$pat" -- lodge start "$n"
        started "$n"
        check_profile "$n" 0
        expect 0 '' -- lodge stop --kill "$n"
done
ok "the generated profile of each name (${names[*]}) compiles with its mount rules and is one profile, its own"
((host_aa)) || ok "a privileged guest on a host without AppArmor starts with one warning that it is not root-safe"

# A guest in its own user namespace (the default) is no host root: nothing to warn about.
expect 0 '' -- lodge create un -t local -- --file "$BB"
expect 0 '' -- lodge start un
grep -q warning "$TEST_DIR/err" && fail "an unprivileged guest started with: $(cat "$TEST_DIR/err")"
check_profile un 0
expect 0 '' -- lodge destroy -f un
ok "an unprivileged guest (the default) starts without the warning, under the same profile"

n=a.b_c-d
expect 0 '' -- lodge config "$n" set security.nesting true
expect 0 '' -- lodge start "$n"
started "$n"
check_profile "$n" 1
expect 0 '' -- lodge stop --kill "$n"
expect 0 '' -- lodge config "$n" unset security.nesting
ok "security.nesting = true: the nesting variant, checked the same way"

expect 0 '' -- lodge config aa set security.apparmor unconfined
expect 0 'warning: aa: .*not root-safe' -- lodge start aa
expect 0 '' -- lodge stop --kill aa
if ((!host_aa)); then
        expect 0 '' -- lodge config aa set security.apparmor lodge-test-named
        expect 0 'warning: aa: .*not root-safe' -- lodge start aa
        expect 0 '' -- lodge stop --kill aa
fi
ok "unconfined (and a named profile where there is no AppArmor) start with the warning"

# Refusals leave nothing: no run state, no cgroups, no monitor, no profile, no locks.
assert_nothing_of() {
        [ ! -e "$LODGE_RUNDIR/$1" ] || fail "a refused start of '$1' left $LODGE_RUNDIR/$1"
        [ -z "$(cgroups_of "$1")" ] || fail "a refused start of '$1' left cgroups: $(cgroups_of "$1")"
        [ ! -e "$(profile_of "$1")" ] || fail "a refused start of '$1' left its profile"
        assert_no_leftovers
        expect 0 '' -- lodge info "$1"
        grep -q '^State: *STOPPED$' "$TEST_DIR/out" || fail "'$1' is not stopped after a refused start"
}
expect 0 '' -- lodge create req -t local -c security.privileged=true -- --file "$BB"
expect 0 '' -- lodge config req set security.apparmor.required true
if ((host_aa)); then
        expect 0 '' -- lodge start req
        started req
        expect 0 '' -- lodge stop --kill req
else
        expect 1 "^lodge: req: security.apparmor.required is set, but $why: the guest can.t be confined: Operation not supported\$" -- lodge start req
        [ "$(wc -l <"$TEST_DIR/err")" = 1 ] || fail "more than the error: $(cat "$TEST_DIR/err")"
        assert_nothing_of req
        ok "security.apparmor.required = true without AppArmor: refused with a clear error, nothing left"
fi
expect 0 '' -- lodge config req set security.apparmor unconfined
expect 1 'security.apparmor.required is set, but security.apparmor = unconfined' -- lodge start req
expect 0 '' -- lodge config req unset security.apparmor.required
ok "security.apparmor.required with unconfined: refused"

for n in "${names[@]}"; do
        expect 0 '' -- lodge destroy "$n"
        [ ! -e "$(profile_of "$n")" ] || fail "destroy left the profile of '$n'"
done
[ -z "$(find "$LODGE_ROOT/apparmor/cache" -type f 2>/dev/null)" ] ||
        fail "destroy left cached profiles: $(find "$LODGE_ROOT/apparmor/cache" -type f)"
ok "destroy removes the profiles (and their cached copies)"
