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
# lodge is a static PIE where it can be; valgrind checks the same objects linked with a shared
# libc (cmd/meson.build).
VG_BIN=${LODGE_VALGRIND_BIN:-$LODGE_BIN}
[[ $(ldd "$VG_BIN" 2>&1) == *libc.so* ]] || {
        echo "SKIP: $VG_BIN has no shared libc for valgrind to follow"
        exit 77
}
BB=$(fixture_busybox)

vg() {
        local rc=0 errf
        errf=$(mktemp -p "$TEST_DIR" vg-err.XXXXXX)
        # Filtered after the command, not through a pipe: the filter's output must be complete
        # when expect reads it (a process substitution races with expect's grep).
        valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
                --error-exitcode=99 --child-silent-after-fork=yes "$VG_BIN" "$@" 2>"$errf" ||
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
printf '\001q' >"$TEST_DIR/detach"
expect 0 '' -- vg console v --tty 1 <"$TEST_DIR/detach"
expect 2 'takes 0' -- vg console v --tty 7
expect 0 '' -- vg freeze v
expect 0 '' -- vg unfreeze v
expect 0 '' -- vg config v set limits.pids 64
lodge stop v
expect 0 '' -- vg destroy v
expect 1 'not a tar' -- vg create bad -t local -- --file /etc/hostname
assert_no_leftovers
ok "create, list, check, info, config, start, console --log and --tty, freeze, destroy and error paths: valgrind-clean"

# --- images: the cache commands, and create -t download over http (lodge-fetch) and file://
srv=$TEST_DIR/srv
python3 - "$srv" "$BB" "$(meta_of "$BB")" <<'PY'
import hashlib, json, os, shutil, sys
srv, rootfs, meta = sys.argv[1:4]
d = os.path.join(srv, "images/bb/1")
os.makedirs(d)
os.makedirs(os.path.join(srv, "streams/v1"))
items = {}
for ftype, src, name in (("root.tar.xz", rootfs, "rootfs.tar.xz"), ("lxc.tar.xz", meta, "meta.tar.xz")):
    shutil.copy(src, os.path.join(d, name))
    data = open(src, "rb").read()
    items[ftype] = {"ftype": ftype, "path": "images/bb/1/" + name, "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest()}
json.dump({"index": {"images": {"datatype": "image-downloads", "path": "streams/v1/images.json"}}},
          open(os.path.join(srv, "streams/v1/index.json"), "w"))
json.dump({"products": {"p": {"os": "busybox", "release": "vg", "arch": "amd64", "variant": "default",
                              "versions": {"1": {"items": items}}}}},
          open(os.path.join(srv, "streams/v1/images.json"), "w"))
PY
python3 "$LODGE_SRCDIR/tests/integration/image-server.py" "$srv" "$TEST_DIR/port" /dev/null &
TEST_PIDS+=($!)
for _ in $(seq 100); do [ -s "$TEST_DIR/port" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(cat "$TEST_DIR/port")
expect 0 '' -- vg image list --remote "$url"
expect 0 '' -- vg create d1 -t download -- --dist busybox --release vg --arch amd64 --server "$url"
expect 0 '' -- vg create d2 -t download -- --dist busybox --release vg --arch amd64 --server "$url"
expect 0 '' -- vg create d3 -t download -- --dist busybox --release vg --arch amd64 \
        --server "file://$srv" --refresh
expect 1 'no image' -- vg create d4 -t download -- --dist busybox --release nope --server "$url"
expect 0 '' -- vg image list
expect 0 '' -- vg image list --format json
expect 0 '' -- vg image import "$BB" --alias vbb
expect 0 '' -- vg image remove vbb
# The downloaded image's layer is what d1..d3 are made from.
fp=$(lodge image list --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint"])')
expect 1 "in use.*base of guest" -- vg image remove "$fp"
expect 0 '' -- vg image prune --all
ok "image list (local, remote), import, remove, prune, create -t download (http, file): valgrind-clean"

# --- storage: copy and snapshots (dir: valgrind can't follow open_tree or fsmount)
expect 0 '' -- vg copy d1 d1c
expect 0 '' -- vg snapshot d1 s1
expect 0 '' -- vg snapshot-list d1
expect 0 '' -- vg snapshot-list d1 --format json
expect 0 '' -- vg restore d1 s1
expect 1 'no snapshot' -- vg restore d1 nope
expect 0 '' -- vg snapshot-delete d1 s1
expect 0 '' -- vg info d1
expect 2 'bad snapshot name' -- vg snapshot d1 ../x
for n in d1 d1c d2 d3; do lodge destroy "$n" >/dev/null; done
expect 0 'unused layer' -- vg image prune
assert_no_leftovers
ok "copy, snapshot, snapshot-list, restore, snapshot-delete, image prune of layers: valgrind-clean"
