#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The CLI paths under valgrind: no invalid access, no definite or indirect
# leak, in the client process (forked helpers and the monitor are not its
# concern here). valgrind 3.19 lacks pidfd_open, so attach and stop run
# under LeakSanitizer in the ASan build's integration run instead.
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || { echo "SKIP: no valgrind"; exit 77; }
if grep -q libasan <<<"$(ldd "$LODGE_BIN")"; then
        echo "SKIP: the ASan build checks leaks itself"
        exit 77
fi
BB=$(fixture_busybox)

vg() {
        local rc=0 errf
        errf=$(mktemp -p "$TEST_DIR" vg-err.XXXXXX)
        # Filtered after the command, not through a pipe: the filter's output must be complete
        # when expect reads it (a process substitution races with expect's grep).
        valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
                --error-exitcode=99 --child-silent-after-fork=yes "$LODGE_BIN" "$@" 2>"$errf" ||
                rc=$?
        grep -v -e 'unhandled amd64-linux syscall' -e 'write your own handler' \
                -e README_MISSING -e 'consider this a bug' -e valgrind.org "$errf" >&2 || true
        rm -f -- "$errf"
        return "$rc"
}

# Privileged: valgrind 3.19 knows neither open_tree nor mount_setattr, which an idmapped
# rootfs needs.
expect 0 '' -- vg create v -t local -c security.privileged=true -- --file "$BB" --meta "$(meta_of "$BB")"
expect 0 '' -- vg list
expect 0 '' -- vg list --format json
# (valgrind 3.19 answers pidfd_open with ENOSYS: check then says "missing" and exits 1)
for f in table json; do
        rc=0
        vg check --format $f >"$TEST_DIR/out" 2>"$TEST_DIR/err" || rc=$?
        [ $rc = 0 ] || [ $rc = 1 ] || fail "check --format $f under valgrind: exit $rc: $(cat "$TEST_DIR/err")"
done
expect 0 '' -- vg info v
expect 0 '' -- vg config v show
expect 0 '' -- vg config v get name
expect 0 '' -- vg config v set limits.memory 256M
expect 0 '' -- vg config v unset limits.memory
expect 1 'limits.pids' -- vg config v set limits.pids 0
expect 1 'no such container' -- vg info ghost
expect 2 'invalid container name' -- vg info -- ../x
expect 2 "unknown template" -- vg create x -t nope
expect 0 '' -- vg start v
expect 0 '' -- vg info v --format json
expect 0 '' -- vg console v --log
expect 0 '' -- vg freeze v
expect 0 '' -- vg unfreeze v
expect 0 '' -- vg config v set limits.pids 64
lodge stop v
expect 0 '' -- vg destroy v
expect 1 'not a tar' -- vg create bad -t local -- --file /etc/hostname
assert_no_leftovers
ok "create, list, check, info, config, start, console --log, freeze, destroy and error paths: valgrind-clean"
