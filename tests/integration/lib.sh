# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared setup for integration tests: sourced, never run. Each test gets its own
# LODGE_ROOT/LODGE_CACHE/LODGE_RUNDIR under a fresh temporary directory, and
# everything it made is removed on exit, also when it fails.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: integration tests need root"
        exit 77
fi

: "${LODGE_BIN:?LODGE_BIN must point at the lodge binary}"
: "${LODGE_SRCDIR:?LODGE_SRCDIR must point at the source tree}"

# On disk, not tmpfs: rootfs trees need xattrs, ACLs and inode flags.
TEST_DIR=$(mktemp -d /var/tmp/lodge-it.XXXXXX)
chmod 0700 "$TEST_DIR"
export LODGE_ROOT=$TEST_DIR/root LODGE_CACHE=$TEST_DIR/cache LODGE_RUNDIR=$TEST_DIR/run
export LODGE_CONF=$TEST_DIR/lodge.conf
export LODGE_LOCK_TIMEOUT=${LODGE_LOCK_TIMEOUT:-5}
TEST_PIDS=()
TESTS_RUN=0
# root_tag ROOT: a lodge root's tag, FNV-1a of its path (core/paths.c). It names lodge's
# cgroups, "lodge-TAG/NAME", and AppArmor profiles, "lodge.TAG-NAME".
root_tag() {
        python3 -c '
import sys
h = 2166136261
for b in sys.argv[1].encode():
    h = ((h ^ b) * 16777619) & 0xffffffff
print("%08x" % h)' "$1"
}
LODGE_TAG=$(root_tag "$LODGE_ROOT")
CG_PREFIX=lodge-$LODGE_TAG
# Every lodge root the test starts guests in (a test using another adds it), whose cgroups
# the cleanup removes: lodge leaves a root's empty cpuset parent in place (core/cgroup.c).
TEST_ROOTS=("$LODGE_ROOT")

cleanup() {
        local rc=$?
        for pid in "${TEST_PIDS[@]}"; do
                kill -9 "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        if [ -d "$LODGE_ROOT/containers" ]; then
                for c in "$LODGE_ROOT"/containers/*/; do
                        [ -d "$c" ] || continue
                        "$LODGE_BIN" destroy -f "$(basename "$c")" >/dev/null 2>&1 || true
                done
        fi
        # Whatever lodge left running of this test: guests (rooted here), monitors (holding
        # our run directory open).
        for p in /proc/[0-9]*; do
                if grep -q "^$TEST_DIR" <<<"$(readlink "$p/root" 2>/dev/null)" ||
                        grep -q "$TEST_DIR" <<<"$(ls -l "$p/fd" 2>/dev/null)"; then
                        kill -9 "${p#/proc/}" 2>/dev/null || true
                fi
        done
        # Guests and cgroups of this test's roots that a failed lodge left (a guest's
        # /proc/PID/root reads "/" from here, so its cgroups are how to find it), and the
        # parents lodge leaves.
        local prefixes=() r
        for r in "${TEST_ROOTS[@]}"; do
                prefixes+=("lodge-$(root_tag "$r")")
        done
        for r in "${prefixes[@]}"; do
                for h in /sys/fs/cgroup/*/"$r" /sys/fs/cgroup/"$r"; do
                        [ -d "$h" ] || continue
                        find "$h" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u |
                                xargs -r kill -9 2>/dev/null || true
                done
        done
        sleep 0.2
        for r in "${prefixes[@]}"; do
                for h in /sys/fs/cgroup/*/"$r" /sys/fs/cgroup/"$r"; do
                        [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
                done
        done
        # Filesystems a test mounted below its directory.
        findmnt -rn -o TARGET | grep "^$TEST_DIR/" | sort -r | xargs -r umount -l 2>/dev/null || true
        # Guests may have set immutable flags that rm can't pass.
        chattr -R -ia "$TEST_DIR" >/dev/null 2>&1 || true
        rm -rf --one-file-system "$TEST_DIR"
        if [ "$rc" = 0 ]; then
                echo "# $(basename "$0"): $TESTS_RUN checks passed"
        else
                echo "# $(basename "$0"): FAILED (exit $rc)"
        fi
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# lodge, optionally under valgrind (LODGE_VALGRIND=1): leaks fail the command.
lodge() {
        if [ "${LODGE_VALGRIND:-0}" = 1 ]; then
                valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
                        --error-exitcode=99 --child-silent-after-fork=yes "${LODGE_VALGRIND_BIN:-$LODGE_BIN}" "$@"
        else
                "$LODGE_BIN" "$@"
        fi
}

fail() {
        echo "not ok - $*" >&2
        exit 1
}

ok() {
        TESTS_RUN=$((TESTS_RUN + 1))
        echo "ok $TESTS_RUN - $*"
}

# monitor_of NAME: the pid of NAME's live monitor; fails the test when there is none (a stale
# or empty pid must never be signalled: it could be anybody's).
monitor_of() {
        local mon
        mon=$(sed -n 's/^monitor_pid=//p' "$LODGE_RUNDIR/$1/state")
        [[ $mon =~ ^[1-9][0-9]*$ ]] && [[ $(readlink "/proc/$mon/exe" 2>/dev/null) == */lodge* ]] ||
                fail "no live monitor for $1: pid '$mon'"
        echo "$mon"
}

# expect STATUS PATTERN -- CMD...: run CMD, check its exit status and that
# stderr matches the extended regex PATTERN (empty: anything).
expect() {
        local want=$1 pattern=$2 rc=0
        shift 3
        "$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" || rc=$?
        if [ "$rc" != "$want" ]; then
                echo "--- stdout:" >&2; cat "$TEST_DIR/out" >&2
                echo "--- stderr:" >&2; cat "$TEST_DIR/err" >&2
                fail "'$*' exited $rc, expected $want"
        fi
        if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$TEST_DIR/err"; then
                echo "--- stderr:" >&2; cat "$TEST_DIR/err" >&2
                fail "'$*': stderr doesn't match /$pattern/"
        fi
}

fixture_busybox() {
        if [ -n "${LODGE_FIXTURE_BUSYBOX:-}" ]; then
                echo "$LODGE_FIXTURE_BUSYBOX"
        else
                "$LODGE_SRCDIR/tests/fixtures/busybox.sh"
        fi
}

fixture_debian() {
        if [ -n "${LODGE_FIXTURE_DEBIAN:-}" ]; then
                echo "$LODGE_FIXTURE_DEBIAN"
        else
                "$LODGE_SRCDIR/tests/fixtures/debian.sh"
        fi
}

# The host pid of a running guest's init.
init_pid() {
        lodge info "$1" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'
}

# The host cgroup directories of a guest of this root.
cgroups_of() {
        find /sys/fs/cgroup -maxdepth 3 -type d -path "*/$CG_PREFIX/$1" 2>/dev/null
}

# Run a command inside a running guest (all its namespaces).
in_guest() {
        local name=$1
        shift
        nsenter -t "$(init_pid "$name")" -a "$@"
}

# reboot_in NAME: reboot the guest from inside. The reboot command may itself be killed by
# the shutdown it starts (and nsenter then dies of the same signal): that is not a failure.
reboot_in() {
        in_guest "$1" reboot || true
}

# console_sees NAME TTY PATTERN [INPUT PATTERN2]: connect to the guest's tty TTY (0: its
# console) and wait (30 s at most) until what it shows matches PATTERN; then type INPUT and
# wait for PATTERN2. Detaches with Ctrl-a q either way; fails, showing the output, when a
# pattern never came or the viewer didn't end.
console_sees() {
        local name=$1 tty=$2 in out pid fd rc=0
        in=$(mktemp -u -p "$TEST_DIR" console-in.XXXXXX)
        out=$(mktemp -p "$TEST_DIR" console-out.XXXXXX)
        mkfifo "$in"
        "$LODGE_BIN" console "$name" --tty "$tty" <"$in" >"$out" 2>&1 &
        pid=$!
        exec {fd}>"$in"
        wait_for 30 grep -q -- "$3" "$out" || rc=1
        if [ $rc = 0 ] && [ $# -ge 5 ]; then
                printf '%s' "$4" >&"$fd"
                wait_for 30 grep -q -- "$5" "$out" || rc=1
        fi
        printf '\001q' >&"$fd"
        exec {fd}>&-
        wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" || rc=1
        wait "$pid" || rc=1
        [ $rc = 0 ] || echo "--- tty $tty of $name showed: $(cat "$out")" >&2
        return $rc
}

# wait_for SECONDS CMD...: poll CMD until it succeeds.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                ((SECONDS < deadline)) || return 1
                sleep 0.1
        done
}

fixture_debian_sysvinit() {
        if [ -n "${LODGE_FIXTURE_DEBIAN_SYSVINIT:-}" ]; then
                echo "$LODGE_FIXTURE_DEBIAN_SYSVINIT"
        else
                "$LODGE_SRCDIR/tests/fixtures/debian.sh" --init sysvinit
        fi
}

meta_of() {
        echo "${1/-rootfs./-meta.}"
}

# Nothing half-made may remain: no hidden create/destroy directories, no locks.
assert_no_leftovers() {
        local left
        left=$(find "$LODGE_ROOT/containers" "$LODGE_ROOT/locks" -mindepth 1 -maxdepth 1 \
                -name '.*' 2>/dev/null || true)
        [ -z "$left" ] || fail "leftovers in $LODGE_ROOT: $left"
        left=$(find "$LODGE_ROOT/locks" -mindepth 1 2>/dev/null || true)
        [ -z "$left" ] || fail "stale lock files: $left"
}

# A fingerprint of a tree: paths, types, modes, owners, sizes, link targets, content hashes.
tree_sum() {
        (cd "$1" && find . -printf '%p %y %m %U %G %s %l\n' | sort &&
                find . -type f -exec sha256sum {} + | sort) | sha256sum | cut -d' ' -f1
}
