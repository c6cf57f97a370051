#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Races and crashes (research/security.md F-06, F-11, F-13): one create of a
# name wins, a killed create leaves nothing listed, an interrupted one nothing
# at all, and a held lock is reported with its holder.
. "$(dirname "$0")/lib.sh"

DEB=$(fixture_debian)
BB=$(fixture_busybox)

# Two creates of one name at once: exactly one wins, the other fails cleanly.
for round in 1 2 3; do
        rc1=0 rc2=0
        LODGE_LOCK_TIMEOUT=60 "$LODGE_BIN" create twin -t local -- --file "$BB" \
                >"$TEST_DIR/o1" 2>"$TEST_DIR/e1" &
        p1=$!
        LODGE_LOCK_TIMEOUT=60 "$LODGE_BIN" create twin -t local -- --file "$BB" \
                >"$TEST_DIR/o2" 2>"$TEST_DIR/e2" &
        p2=$!
        wait $p1 || rc1=$?
        wait $p2 || rc2=$?
        if [ "$rc1$rc2" != 01 ] && [ "$rc1$rc2" != 10 ]; then
                cat "$TEST_DIR/e1" "$TEST_DIR/e2" >&2
                fail "round $round: exit codes $rc1 and $rc2, expected one 0 and one 1"
        fi
        grep -q "already exists" "$TEST_DIR/e1" "$TEST_DIR/e2" ||
                fail "loser's error doesn't say why: $(cat "$TEST_DIR/e1" "$TEST_DIR/e2")"
        [ "$(lodge list --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] ||
                fail "round $round: not exactly one container"
        assert_no_leftovers
        lodge destroy twin
done
ok "two concurrent creates of one name: one wins, the other fails cleanly (3 rounds)"

# A held lock: the second command waits a little, then names the holder.
"$LODGE_BIN" create held -t local -- --file "$BB"
exec 9>"$LODGE_ROOT/locks/held"
flock 9
echo "pid 4242 (start)" >&9
expect 1 "locked by pid 4242 \(start\)" -- env LODGE_LOCK_TIMEOUT=1 "$LODGE_BIN" destroy held
( sleep 1; flock -u 9 ) &
TEST_PIDS+=($!)
expect 0 '' -- env LODGE_LOCK_TIMEOUT=10 "$LODGE_BIN" config held set autostart true
exec 9>&-
ok "a held lock is waited for, then reported with its holder"
lodge destroy held

# kill -9 in the middle of a create: nothing listed, and the name is usable again.
wait_hidden() {
        for _ in $(seq 1 400); do
                # unpacking into a new layer (or a guest's own rootfs)
                if compgen -G "$LODGE_ROOT/layers/.new-*/rootfs/*" >/dev/null ||
                        compgen -G "$LODGE_ROOT/containers/.create-$1-*/rootfs/*" >/dev/null; then
                        return 0
                fi
                sleep 0.025
        done
        return 1
}
for round in 1 2; do
        "$LODGE_BIN" create crash -t local -- --file "$DEB" >/dev/null 2>&1 &
        pid=$!
        TEST_PIDS+=($pid)
        wait_hidden crash || fail "create never started unpacking"
        sleep 0.$((round * 2))
        kill -9 $pid
        wait $pid 2>/dev/null || true
        expect 0 '' -- lodge list --format json
        [ "$(cat "$TEST_DIR/out")" = "[]" ] || fail "killed create is listed: $(cat "$TEST_DIR/out")"
        expect 1 'no such container' -- lodge info crash
done
# The leftovers are the next mutating command's to remove (a half layer: the next create
# of the same image's).
expect 0 '' -- lodge create crash -t local -- --file "$BB"
assert_no_leftovers
lodge destroy crash
expect 0 '' -- lodge create crash -t local -- --file "$DEB"
[ -z "$(find "$LODGE_ROOT/layers" -maxdepth 1 -name '.new-*')" ] || fail "a killed layer build is left"
lodge destroy crash
ok "kill -9 during create: nothing listed; the next create cleans up and succeeds"

# SIGINT (Ctrl-C) or SIGTERM during a create: it undoes itself.
for sig in INT TERM; do
        "$LODGE_BIN" create intr -t local -- --file "$DEB" >/dev/null 2>"$TEST_DIR/err" &
        pid=$!
        TEST_PIDS+=($pid)
        wait_hidden intr || fail "create never started unpacking"
        kill -$sig $pid
        rc=0
        wait $pid || rc=$?
        [ "$rc" = 1 ] || fail "SIG$sig: create exited $rc"
        grep -q 'interrupted' "$TEST_DIR/err" || fail "SIG$sig: $(cat "$TEST_DIR/err")"
        [ -z "$(ls -A "$LODGE_ROOT/containers")" ] || fail "SIG$sig left $(ls -A "$LODGE_ROOT/containers")"
        [ -z "$(find "$LODGE_ROOT/layers" -maxdepth 1 -name '.new-*')" ] || fail "SIG$sig left a layer"
        assert_no_leftovers
done
ok "SIGINT/SIGTERM during create: error, and nothing at all left"
