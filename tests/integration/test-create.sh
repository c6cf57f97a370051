#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# create -t local from the busybox and Debian fixtures; list, info, config, destroy.
. "$(dirname "$0")/lib.sh"

BB=$(fixture_busybox)
DEB=$(fixture_debian)

# --- busybox with its meta tarball
expect 0 '' -- lodge create bb1 -t local -- --file "$BB" --meta "$(meta_of "$BB")"
grep -q 'busybox guest created' "$TEST_DIR/out" || fail "create message not printed"
root=$LODGE_ROOT/containers/bb1
[ -x "$root/rootfs/bin/busybox" ] || fail "rootfs not unpacked"
[ "$(cat "$root/rootfs/etc/hostname")" = bb1 ] || fail "hostname template not rendered"
grep -q 'bb1' "$root/rootfs/etc/hosts" || fail "hosts template not rendered"
[ "$(stat -c %a "$root")" = 700 ] || fail "container directory is not 0700"
[ "$(stat -c %a "$root/config")" = 600 ] || fail "config is not 0600"
assert_no_leftovers
ok "busybox guest created from a tarball and its meta"

expect 0 '' -- lodge list
grep -Eq '^bb1 +STOPPED +dir ' "$TEST_DIR/out" || fail "list: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge list --format json
python3 - "$TEST_DIR/out" <<'PY' || fail "list json"
import json, sys
l = json.load(open(sys.argv[1]))
assert [c["name"] for c in l] == ["bb1"], l
c = l[0]
assert c["state"] == "STOPPED" and c["backend"] == "dir" and c["autostart"] is False, c
assert c["pid"] is None and c["ipv4"] == [] and c["error"] is None, c
PY
expect 0 '' -- lodge info bb1 --format json
python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); assert i["name"]=="bb1" and i["path"].endswith("/containers/bb1"), i' "$TEST_DIR/out" || fail "info json"
expect 0 '' -- lodge info bb1
grep -q '^State: *STOPPED' "$TEST_DIR/out" || fail "info table"
ok "list and info, table and json"

expect 1 "already exists" -- lodge create bb1 -t local -- --file "$BB"
ok "a second create of the same name fails"

# --- config
expect 0 '' -- lodge config bb1 get name
[ "$(cat "$TEST_DIR/out")" = bb1 ] || fail "config get name"
expect 0 '' -- lodge config bb1 set limits.memory 512M
expect 0 '' -- lodge config bb1 set limits.cpu=1.5
expect 0 '' -- lodge config bb1 set init.stop_signal SIGRTMIN+3
expect 0 '' -- lodge config bb1 set net.0.type veth
expect 0 '' -- lodge config bb1 set net.0.ipv4 10.99.0.5/24
expect 0 '' -- lodge config bb1 set autostart true
expect 0 '' -- lodge config bb1 get limits.memory
[ "$(cat "$TEST_DIR/out")" = 512M ] || fail "config get after set"
before=$(sha256sum <"$root/config")
expect 1 "limits.memory" -- lodge config bb1 set limits.memory 64MiBB
expect 1 "limits.memory" -- lodge config bb1 set limits.memory 0
expect 1 "limits.pids" -- lodge config bb1 set limits.pids 0
expect 1 "net.0.ipv4" -- lodge config bb1 set net.0.ipv4 10.99.0.300/24
expect 1 "" -- lodge config bb1 set environment.A "$(printf '1\nlxc.hook.start=/bin/sh')"
expect 1 "memroy" -- lodge config bb1 set limits.memroy 1G
expect 1 "can't be changed" -- lodge config bb1 set name other
[ "$before" = "$(sha256sum <"$root/config")" ] || fail "a refused set changed the config"
expect 0 '' -- lodge config bb1 unset limits.cpu
expect 1 "" -- lodge config bb1 get limits.cpu
expect 0 '' -- lodge config bb1 show
grep -q '^limits.memory = 512M$' "$TEST_DIR/out" || fail "show: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge list
grep -Eq '^bb1 .*10\.99\.0\.5/24 +yes' "$TEST_DIR/out" || fail "list shows no ipv4/autostart"
assert_no_leftovers
ok "config show/get/set/unset with validation, atomic and unchanged on refusal"

# A hand-edited config with a bad line: the container is BROKEN, not the listing.
cp "$root/config" "$TEST_DIR/config.good"
echo "limits.cpu = lots" >>"$root/config"
expect 0 '' -- lodge list
grep -Eq '^bb1 +BROKEN' "$TEST_DIR/out" || fail "broken config not shown as BROKEN"
expect 1 "config:[0-9]+: key 'limits.cpu'" -- lodge config bb1 show
cp "$TEST_DIR/config.good" "$root/config"
ok "a broken config names file, line and key"

# --- destroy, even past immutable files a guest may have made
chattr +i "$root/rootfs/etc/hostname"
chattr +a "$root/rootfs/etc/hosts"
expect 0 '' -- lodge destroy bb1
[ ! -e "$root" ] || fail "destroy left $root"
assert_no_leftovers
expect 0 '' -- lodge list --format json
[ "$(cat "$TEST_DIR/out")" = "[]" ] || fail "destroyed container still listed"
ok "destroy removes everything, immutable files included"

# --- Debian: everything of the tarball survives: owners, modes, links, xattrs
expect 0 '' -- lodge create deb1 -t local -- --file "$DEB"
droot=$LODGE_ROOT/containers/deb1/rootfs
mkdir "$TEST_DIR/tar"
tar --numeric-owner --xattrs --xattrs-include='*' --acls -xpf "$DEB" -C "$TEST_DIR/tar"
# Device nodes lodge keeps only from the standard set; compare everything else but what the
# guest fix-ups write (templates/fixup.c; checked in test-templates.sh).
fixed='^\./etc(/hostname|/hosts|/machine-id|/resolv\.conf|/network|/network/interfaces|/systemd|/systemd/system|/systemd/system/[^/]+\.(service|socket|mount)|/systemd/system-generators(/[^/]+)?)? '
# A directory's size is its filesystem's business (the guest's tree is a copy of its layer).
a=$(cd "$droot" && find . -printf '%p %y %m %U %G %s %l %n %T@\n' | grep -Ev "$fixed" |
        awk '$2 == "d" { $6 = "-" } 1' | sort)
b=$(cd "$TEST_DIR/tar" && find . -printf '%p %y %m %U %G %s %l %n %T@\n' | grep -Ev "$fixed" |
        awk '$2 == "d" { $6 = "-" } 1' | sort)
if [ "$a" != "$b" ]; then
        diff <(echo "$a") <(echo "$b") | head -20 >&2
        fail "lodge's tree differs from tar's"
fi
[ "$(stat -c '%a %U %G' "$droot/etc/shadow")" = "640 root shadow" ] || fail "shadow owner/mode"
[ "$(stat -c '%a' "$droot/usr/bin/passwd")" = 4755 ] || fail "setuid bit lost"
[ -x "$droot/lib/systemd/systemd" ] || fail "no systemd in the debian guest"
ok "debian guest: same tree as tar -xpf (types, modes, owners, sizes, links, mtimes)"
expect 0 '' -- lodge destroy deb1
rm -rf "$TEST_DIR/tar"

# --- a tarball with xattrs, ACLs, file capabilities, hard links, sparse files, a fifo
src=$TEST_DIR/src
mkdir -p "$src/etc" "$src/bin" "$src/dev" "$src/data"
echo hello >"$src/etc/motd"
ln "$src/etc/motd" "$src/etc/motd.link"
cp /bin/true "$src/bin/pinger"
setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "$src/bin/pinger"
setfattr -n user.lodge -v kept "$src/etc/motd"
setfacl -m u:1234:rw "$src/data"
truncate -s 1G "$src/data/sparse"
echo tail >>"$src/data/sparse"
mkfifo "$src/data/fifo"
mknod -m 666 "$src/dev/null" c 1 3
touch -d '2001-02-03 04:05:06' "$src/etc/motd"
chown 1000:1000 "$src/data"
tar --numeric-owner --xattrs --xattrs-include='*' --acls --sparse -C "$src" -cJf "$TEST_DIR/x.tar.xz" .
expect 0 '' -- lodge create xa -t local -- --file "$TEST_DIR/x.tar.xz"
x=$LODGE_ROOT/containers/xa/rootfs
[ "$(getfattr --only-values -n user.lodge "$x/etc/motd")" = kept ] || fail "user xattr lost"
grep -q 0x01000002 <<<"$(getfattr -n security.capability -e hex "$x/bin/pinger" 2>/dev/null)" ||
        fail "file capability lost"
grep -q '^user:1234:rw-' <<<"$(getfacl -p "$x/data" 2>/dev/null)" || fail "ACL lost"
[ "$(stat -c %h "$x/etc/motd")" = 2 ] || fail "hard link lost"
[ "$(stat -c %Y "$x/etc/motd")" = "$(stat -c %Y "$src/etc/motd")" ] || fail "mtime lost"
[ "$(stat -c '%u %g' "$x/data")" = "1000 1000" ] || fail "owner lost"
[ -p "$x/data/fifo" ] || fail "fifo lost"
[ "$(stat -c '%F %t %T' "$x/dev/null")" = "character special file 1 3" ] || fail "/dev/null lost"
[ "$(du -k "$x/data/sparse" | cut -f1)" -lt 1024 ] || fail "sparse file not sparse"
[ "$(stat -c %s "$x/data/sparse")" = "$(stat -c %s "$src/data/sparse")" ] || fail "sparse size"
ok "xattrs, file capabilities, ACLs, hard links, mtimes, owners, fifos, sparse files kept"
expect 0 '' -- lodge destroy xa
assert_no_leftovers
