#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A Debian guest with sysvinit (sysvinit-core): it reaches runlevel 2, and
# lodge stop (SIGPWR, its powerwait entry) shuts it down cleanly.
. "$(dirname "$0")/lib.sh"

SYSV=$(fixture_debian_sysvinit)
lodge create sv -t local -- --file "$SYSV" --meta "$(meta_of "$SYSV")" >/dev/null
# No networking yet: nothing for ifupdown to wait for.
printf 'auto lo\niface lo inet loopback\n' >"$LODGE_ROOT/containers/sv/rootfs/etc/network/interfaces"

expect 0 '' -- lodge start sv
[ "$(sed -n 's/^stop_signal=//p' "$LODGE_RUNDIR/sv/state")" = "$(kill -l PWR)" ] ||
        fail "sysvinit's stop signal is not SIGPWR"
wait_for 60 sh -c "'$LODGE_BIN' attach sv -- runlevel | grep -q ' 2\$'" || {
        lodge attach sv -- runlevel >&2 || true
        fail "sysvinit never reached runlevel 2"
}
# rc.d has finished: its scripts ran and no rc process is left.
wait_for 60 sh -c "! '$LODGE_BIN' attach sv -- pgrep -f /etc/init.d/rc >/dev/null" ||
        fail "rc 2 still running"
ok "sysvinit guest reaches runlevel 2"

# The fix-ups' inittab: gettys on the console and on tty1 (a pty of the guest's devpts).
wait_for 10 sh -c "[ \"\$(nsenter -t $(init_pid sv) -a pgrep -a getty | grep -oE ' (console|tty[0-9]+)\$' |
        sort | tr -d '\n')\" = ' console tty1' ]" || fail "gettys: $(in_guest sv pgrep -a getty)"
console_sees sv 1 'sv login:' || fail "no login prompt on tty1"
ok "sysvinit guest: gettys on the console and tty1, reached by console --tty 1"

expect 0 '' -- lodge stop sv --timeout 60
grep -q 'ended=clean' "$LODGE_RUNDIR/sv/state" || fail "not a clean stop: $(cat "$LODGE_RUNDIR/sv/state")"
grep -qi 'power\|halt\|runlevel 0\|will now halt' "$LODGE_RUNDIR/sv/console.log" ||
        fail "no shutdown on the console: $(tail -5 "$LODGE_RUNDIR/sv/console.log")"
[ -z "$(cgroups_of sv)" ] || fail "cgroups left"
ok "sysvinit guest stops cleanly on SIGPWR (shutdown -h now), no SIGKILL"
