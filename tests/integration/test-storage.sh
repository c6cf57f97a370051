#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Storage backends (dir, overlay, btrfs on a loop device this test makes): guests made
# from a shared layer, booted, written to, snapshotted, restored, copied and destroyed;
# overlay guests don't see each other's writes; the faults of issue 6.
. "$(dirname "$0")/lib.sh"

BB=$(fixture_busybox)
META=$(meta_of "$BB")
DEB=$(fixture_debian)

mk() { # mk NAME BACKEND [ARGS...]: a busybox guest from its tarball's layer
        local name=$1 backend=$2
        shift 2
        lodge create "$name" --storage "$backend" "$@" -- --file "$BB" --meta "$META" >/dev/null
}
put() { lodge attach "$1" -- sh -c "echo $2 > /root/v"; }
get() { lodge attach "$1" -- cat /root/v; }
layers() { find "$LODGE_ROOT/layers" -mindepth 1 -maxdepth 1 -not -name '.*' | wc -l; }

# The whole life of a guest on one backend.
cycle() {
        local b=$1 g=$1-g
        mk "$g" "$b"
        lodge info "$g" --format json | python3 -c '
import json, sys
i = json.load(sys.stdin)
assert i["backend"] == sys.argv[1], i
assert i["disk"]["layer"].startswith("local-") and i["disk"]["layer_size"] > 0, i' "$b" ||
                fail "$b: info doesn't show the layer"
        lodge start "$g"
        put "$g" one
        expect 1 'running.*--freeze' -- lodge snapshot "$g" s0
        expect 0 '' -- lodge snapshot "$g" s1 --freeze
        [ "$(lodge info "$g" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = RUNNING ] ||
                fail "$b: the guest stays frozen after snapshot --freeze"
        put "$g" two
        expect 1 'stop it first' -- lodge restore "$g" s1
        lodge stop "$g" -t 10 >/dev/null
        expect 0 '' -- lodge restore "$g" s1
        lodge start "$g"
        [ "$(get "$g")" = one ] || fail "$b: restore didn't bring the snapshot's file back"
        lodge stop "$g" -t 10 >/dev/null
        expect 0 '' -- lodge snapshot-list "$g" --format json
        python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert [s["name"] for s in l]==["s1"], l' \
                "$TEST_DIR/out" || fail "$b: snapshot-list"
        expect 0 '' -- lodge copy "$g" "$g-c"
        lodge start "$g-c"
        [ "$(get "$g-c")" = one ] || fail "$b: the copy lacks the source's file"
        [ "$(lodge attach "$g-c" -- hostname)" = "$g-c" ] || fail "$b: the copy kept the source's hostname"
        put "$g-c" three
        lodge stop "$g-c" -k >/dev/null
        lodge start "$g"
        [ "$(get "$g")" = one ] || fail "$b: a write in the copy reached the source"
        lodge stop "$g" -k >/dev/null
        expect 0 '' -- lodge snapshot-delete "$g" s1
        expect 1 'no snapshot' -- lodge restore "$g" s1
        lodge snapshot "$g" s2 >/dev/null
        expect 0 '' -- lodge destroy "$g"
        expect 0 '' -- lodge destroy "$g-c"
        [ ! -e "$LODGE_ROOT/containers/$g" ] || fail "$b: destroy left the guest's directory"
        assert_no_leftovers
        ok "$b: create from a layer, boot, write, snapshot, restore, copy, destroy"
}

lodge check >"$TEST_DIR/out" || true
grep -Eq '^idmapped mounts +ok +overlay: ' "$TEST_DIR/out" || fail "check: $(cat "$TEST_DIR/out")"
[ -z "$(find "$LODGE_ROOT" -maxdepth 1 -name '.lodge-probe-*')" ] || fail "check left its trial overlay"
cycle dir
cycle overlay

# --- overlay: guests share the layer and not their writes; the layer stays as it was
mk o1 overlay
mk o2 overlay
[ "$(layers)" = 1 ] || fail "two guests of one tarball have $(layers) layers"
layer=$(find "$LODGE_ROOT/layers" -mindepth 1 -maxdepth 1 -not -name '.*')
before=$(tree_sum "$layer/rootfs")
lodge start o1
lodge start o2
put o1 o1
lodge attach o1 -- rm /etc/inittab
lodge attach o2 -- test ! -e /root/v || fail "o2 sees o1's write"
lodge attach o2 -- test -e /etc/inittab || fail "o1's delete reached o2"
# Unprivileged by default: what guest root makes is stored as owned by 0 in its upper layer.
[ "$(stat -c %u:%g "$LODGE_ROOT/containers/o1/overlay/upper/root/v")" = 0:0 ] ||
        fail "o1's file is stored as $(stat -c %u:%g "$LODGE_ROOT/containers/o1/overlay/upper/root/v")"
base=$(lodge config o1 get security.idmap | cut -d: -f1)
[ "$(awk '/^Uid:/ {print $2}' "/proc/$(init_pid o1)/status")" = "$base" ] ||
        fail "o1's init isn't running as its range's first uid"
lodge stop o1 -k >/dev/null
lodge stop o2 -k >/dev/null
[ "$(tree_sum "$layer/rootfs")" = "$before" ] || fail "the layer changed"
up=$(du -sk "$LODGE_ROOT/containers/o2/overlay" | cut -f1)
((up < 1024)) || fail "an idle busybox overlay guest uses $up KiB"
ok "overlay: one layer, private writes stored as the guest's root, the layer intact"

# The layer stays while a guest is made from it; prune removes it once none is.
lodge image prune >/dev/null 2>&1
[ "$(layers)" = 1 ] || fail "prune removed a layer in use"
lodge destroy o1
lodge destroy o2
expect 0 'unused layer' -- lodge image prune
[ "$(layers)" = 0 ] || fail "prune left an unused layer"
ok "a layer in use stays; prune removes unused layers"

expect 1 "--storage btrfs: .* is not on btrfs" -- lodge create nb --storage btrfs -- --file "$BB"
[ ! -e "$LODGE_ROOT/containers/nb" ] || fail "a refused btrfs create left a guest"

# --- limits.disk where it can't be enforced: at create, config set, and start
expect 1 "limits.disk.*can't enforce" -- lodge create od --storage overlay -c limits.disk=1G -- --file "$BB"
[ ! -e "$LODGE_ROOT/containers/od" ] || fail "a refused create left a guest"
mk od overlay
expect 1 "limits.disk.*can't enforce" -- lodge config od set limits.disk 1G
echo 'limits.disk = 1G' >>"$LODGE_ROOT/containers/od/config"
expect 1 "limits.disk.*can't enforce" -- lodge start od
lodge destroy od
ok "limits.disk refused on overlay"

# --- faults: kill -9 during a copy (a Debian dir guest: a few seconds of copying)
lodge create big -t local -- --file "$DEB" >/dev/null
sum=$(tree_sum "$LODGE_ROOT/containers/big/rootfs")
"$LODGE_BIN" copy big big2 >/dev/null 2>&1 &
pid=$!
wait_for 10 sh -c "ls -a '$LODGE_ROOT/containers' | grep -q '^\.create-big2'" ||
        fail "the copy never started"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
expect 0 '' -- lodge list --format json
python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert [c["name"] for c in l]==["big"], l' \
        "$TEST_DIR/out" || fail "a killed copy is listed"
[ "$(tree_sum "$LODGE_ROOT/containers/big/rootfs")" = "$sum" ] || fail "a killed copy changed its source"
expect 0 '' -- lodge copy big big2 # collects the leftover
assert_no_leftovers
lodge destroy big
lodge destroy big2
ok "kill -9 during copy: source intact, no half copy listed"

# --- faults: disk full during create (a small filesystem of the test's own)
small=$TEST_DIR/small
truncate -s 64M "$TEST_DIR/small.img"
mkfs.ext4 -q "$TEST_DIR/small.img"
mkdir "$small"
mount -o loop "$TEST_DIR/small.img" "$small"
expect 1 'No space left' -- env LODGE_ROOT="$small/root" "$LODGE_BIN" create full --storage overlay -- --file "$DEB"
[ -z "$(ls -A "$small/root/containers")" ] || fail "a failed create left $(ls -A "$small/root/containers")"
[ -z "$(find "$small/root/layers" -mindepth 1 -maxdepth 1 -not -name '.lock-*')" ] ||
        fail "a failed create left a layer: $(ls -A "$small/root/layers")"
umount "$small"
ok "disk full during create: a clear error, no half guest or layer"

# --- btrfs on a loop device: the default backend there; quotas for limits.disk
bt=$TEST_DIR/bt
truncate -s 1G "$TEST_DIR/bt.img"
mkfs.btrfs -q "$TEST_DIR/bt.img"
mkdir "$bt"
mount -o loop "$TEST_DIR/bt.img" "$bt"
btrfs quota enable "$bt"
main_root=$LODGE_ROOT
export LODGE_ROOT=$bt/root
TEST_ROOTS+=("$LODGE_ROOT")
lodge check >"$TEST_DIR/out" || true
grep -Eq '^idmapped mounts +ok +btrfs: .* is on btrfs' "$TEST_DIR/out" || fail "check: $(cat "$TEST_DIR/out")"
lodge create bdef -- --file "$BB" --meta "$META" >/dev/null
[ "$(lodge config bdef get rootfs.backend)" = btrfs ] || fail "btrfs isn't the default on btrfs"
lodge destroy bdef
cycle btrfs
mk bq btrfs -c limits.disk=64M
lodge start bq
if lodge attach bq -- dd if=/dev/zero of=/root/big bs=1M count=128 conv=fsync 2>/dev/null; then
        fail "limits.disk = 64M let a guest write 128 MiB"
fi
lodge stop bq -k >/dev/null
lodge snapshot bq s >/dev/null
lodge destroy bq # with a read-only snapshot subvolume in it
! btrfs subvolume list "$bt" | grep -q 'containers/' || fail "destroy left subvolumes"
export LODGE_ROOT=$main_root
umount "$bt"
ok "btrfs: default there, snapshots as subvolumes, limits.disk through quotas"
