#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile tarballs (research/security.md T-xx): each is refused with a clear
# error, nothing outside the container's directory changes, and no half-made
# container is left.
. "$(dirname "$0")/lib.sh"

: "${LODGE_HOSTILE_TAR:?LODGE_HOSTILE_TAR must point at the hostile-tar generator}"
BB=$(fixture_busybox)

victim=$TEST_DIR/victim
mkdir -p "$victim"
echo "original" >"$victim/target"
chmod 0644 "$victim/target"
shadow_before=$(sha256sum </etc/shadow)

check_untouched() {
        [ "$(cat "$victim/target")" = original ] || fail "$1: victim file changed"
        [ "$(stat -c '%a %h' "$victim/target")" = "644 1" ] || fail "$1: victim mode/links changed"
        [ "$(ls -A "$victim")" = target ] || fail "$1: new files in victim dir: $(ls -A "$victim")"
        [ "$(sha256sum </etc/shadow)" = "$shadow_before" ] || fail "$1: /etc/shadow changed"
        [ "$(stat -c %h /etc/shadow)" = 1 ] || fail "$1: /etc/shadow got a hard link"
        [ ! -e "$LODGE_ROOT/containers/evil" ] || fail "$1: half-made container left"
        assert_no_leftovers
        expect 0 '' -- lodge list --format json
        [ "$(cat "$TEST_DIR/out")" = "[]" ] || fail "$1: something is listed"
}

# case → what the error must say
declare -A want=(
        [dotdot]='escapes|\.\.'
        [abs]='absolute|escapes'
        [symlink-write]='symlink|escapes'
        [hardlink-out]='hard ?link|escapes|absolute'
        [hardlink-shadow]='hard ?link|escapes|absolute'
        [rootfs-symlink]='symlink|escapes'
        [blockdev]='block device'
        [chardev-mem]='device'
        [immutable]='immutable|flag'
        [appendonly]='append|flag'
        [sparse-1t]='budget|too large|exceed|space'
        [trusted-xattr]='.'
        [symlink-loop]='symlink|loop|escapes|Too many'
)
cases=$("$LODGE_HOSTILE_TAR" list) || fail "the hostile-tar generator doesn't run"
[ "$(wc -w <<<"$cases")" = "${#want[@]}" ] ||
        fail "the generator has cases '$cases', the test expects ${!want[*]}"
for c in $cases; do
        [ -n "${want[$c]:-}" ] || fail "no expectation for hostile case '$c'"
        "$LODGE_HOSTILE_TAR" "$c" "$TEST_DIR/$c.tar" "$victim"
        rc=0
        lodge create evil -t local -- --file "$TEST_DIR/$c.tar" >"$TEST_DIR/out" 2>"$TEST_DIR/err" || rc=$?
        if [ "$c" = trusted-xattr ]; then
                # Not refused: the trusted.* xattr is dropped, the rest unpacks.
                [ "$rc" = 0 ] || fail "trusted-xattr: create failed: $(cat "$TEST_DIR/err")"
                if getfattr -R -d -m '^trusted\.' "$LODGE_ROOT/containers/evil/rootfs" 2>/dev/null |
                        grep -q trusted; then
                        fail "trusted-xattr: trusted.* xattr was restored"
                fi
                lodge destroy evil
        else
                [ "$rc" = 1 ] || fail "$c: create exited $rc, expected 1: $(cat "$TEST_DIR/err")"
                grep -Eqi -- "${want[$c]}" "$TEST_DIR/err" ||
                        fail "$c: unclear error: $(cat "$TEST_DIR/err")"
                grep -q '^lodge: evil: ' "$TEST_DIR/err" || fail "$c: error doesn't name the container"
        fi
        msg=$(head -c 200 "$TEST_DIR/err" | tr '\n' ' ')
        check_untouched "$c"
        ok "hostile tarball '$c': $msg"
done

# Truncated archives (T-18, T-19) and not an archive at all (T-21).
size=$(stat -c %s "$BB")
head -c $((size / 2)) "$BB" >"$TEST_DIR/trunc.tar.xz"
expect 1 'truncat|corrupt|unexpected end|damaged' -- lodge create evil -t local -- --file "$TEST_DIR/trunc.tar.xz"
check_untouched truncated
ok "truncated archive refused, nothing left"

xz -dc "$BB" >"$TEST_DIR/plain.tar"
head -c $(($(stat -c %s "$TEST_DIR/plain.tar") * 6 / 10)) "$TEST_DIR/plain.tar" >"$TEST_DIR/trunc60.tar"
expect 1 'truncat|corrupt|unexpected end|damaged' -- lodge create evil -t local -- --file "$TEST_DIR/trunc60.tar"
check_untouched truncated60
ok "archive truncated after many files refused, nothing left"

head -c 4096 /dev/urandom >"$TEST_DIR/random.tar.xz"
expect 1 'not a tar|unrecognized|format' -- lodge create evil -t local -- --file "$TEST_DIR/random.tar.xz"
check_untouched random
printf '<html><body>502 Bad Gateway</body></html>\n' >"$TEST_DIR/error.tar.xz"
expect 1 'not a tar|unrecognized|format' -- lodge create evil -t local -- --file "$TEST_DIR/error.tar.xz"
check_untouched html
ok "not an archive: refused, nothing left"

# A directory, a FIFO and /dev/zero are not tarballs either, and must not hang.
mkfifo "$TEST_DIR/fifo.tar"
expect 2 'regular file|not a' -- timeout 20 "$LODGE_BIN" create evil -t local -- --file "$TEST_DIR/fifo.tar"
expect 2 'regular file|not a' -- timeout 20 "$LODGE_BIN" create evil -t local -- --file /dev/zero
expect 2 'regular file|not a|directory' -- lodge create evil -t local -- --file "$TEST_DIR"
check_untouched special
ok "FIFO, device and directory refused as archives without blocking"
