#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# create -t download and lodge image against a local image server (127.0.0.1 only) that
# speaks both protocols (simplestreams, LXC's signed index), and against servers that
# misbehave: each failure is a clear error, with nothing cached and no container made.
. "$(dirname "$0")/lib.sh"

command -v gpg >/dev/null && [ -x /usr/bin/gpgv ] || {
        echo "SKIP: gpg and gpgv are needed"
        exit 77
}

BB=$(fixture_busybox)
BB_META=$(meta_of "$BB")
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
BUILD=20250101_00:00
IMG=images/busybox/test/$ARCH/default/$BUILD
SRV=$TEST_DIR/srv
LOG=$TEST_DIR/server.log
# Short network timeouts and no retry pauses: the hostile servers answer at once.
export LODGE_FETCH_LOW_SPEED_TIME=2 LODGE_FETCH_RETRIES=1 LODGE_FETCH_RETRY_DELAY_MS=10
export LODGE_FETCH_CONNECT_TIMEOUT=5

# --- a throwaway signing key, and another one nobody trusts
export GNUPGHOME=$TEST_DIR/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg_q() { gpg --batch --quiet --pinentry-mode loopback --passphrase '' "$@" 2>/dev/null; }
gpg_q --quick-gen-key 'lodge test <good@lodge.invalid>' ed25519 sign never
gpg_q --quick-gen-key 'lodge other <other@lodge.invalid>' ed25519 sign never
gpg_q --export good@lodge.invalid >"$TEST_DIR/keyring.gpg"
# The signing below needs gpg-agent; it would outlive the test by minutes.
stop_gpg_agent() { gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true; }
sign() { gpg_q --yes -u "${2:-good@lodge.invalid}" -a -b -o "$1.asc" "$1"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# make_tree DIR [ROOTFS [DIST RELEASE META]]: an image server tree in both protocols.
make_tree() {
        local d=$1 rootfs=${2:-$BB} dist=${3:-busybox} rel=${4:-test} meta=${5:-$BB_META}
        local img=images/$dist/$rel/$ARCH/default/$BUILD
        mkdir -p "$d/$img" "$d/meta/1.0" "$d/streams/v1"
        cp "$rootfs" "$d/$img/rootfs.tar.xz"
        cp "$meta" "$d/$img/meta.tar.xz"
        echo "$dist;$rel;$ARCH;default;$BUILD;/$img/" >"$d/meta/1.0/index-system"
        sign "$d/meta/1.0/index-system"
        sign "$d/$img/rootfs.tar.xz"
        sign "$d/$img/meta.tar.xz"
        cat >"$d/streams/v1/index.json" <<EOF
{"format": "index:1.0", "index": {"images": {"datatype": "image-downloads",
 "path": "streams/v1/images.json", "format": "products:1.0",
 "products": ["$dist:$rel:$ARCH:default"]}}}
EOF
        local r=$d/$img/rootfs.tar.xz m=$d/$img/meta.tar.xz
        cat >"$d/streams/v1/images.json" <<EOF
{"content_id": "images", "datatype": "image-downloads", "format": "products:1.0",
 "products": {"$dist:$rel:$ARCH:default": {"aliases": "$dist/$rel", "arch": "$ARCH",
  "os": "${dist^}", "release": "$rel", "release_title": "$rel", "variant": "default",
  "versions": {"20240101_00:00": {"items": {}},
   "$BUILD": {"items": {
    "meta.tar.xz": {"ftype": "lxc.tar.xz", "path": "$img/meta.tar.xz",
      "sha256": "$(sha "$m")", "size": $(size "$m"),
      "combined_rootxz_sha256": "$(cat "$m" "$r" | sha256sum | cut -d' ' -f1)"},
    "root.tar.xz": {"ftype": "root.tar.xz", "path": "$img/rootfs.tar.xz",
      "sha256": "$(sha "$r")", "size": $(size "$r")}}}}},
  "vm:x:$ARCH:default": {"arch": "$ARCH", "os": "vm", "release": "x", "variant": "default",
   "versions": {"1": {"items": {"disk": {"ftype": "disk-kvm.img", "path": "x/disk.qcow2",
    "sha256": "$(sha "$m")", "size": 1}}}}}}}
EOF
}

make_tree "$SRV/good"
for t in err500 err404 redirhost redirloop redirhttps endless endless500 truncated slow flaky; do
        ln -s good "$SRV/$t"
done
# LXC's protocol only.
mkdir "$SRV/lxconly"
cp -a "$SRV/good/meta" "$SRV/good/images" "$SRV/lxconly/"
# Wrong hash, wrong size.
cp -a "$SRV/good" "$SRV/wronghash"
sed -i "s/$(sha "$SRV/good/$IMG/rootfs.tar.xz")/$(printf '0%.0s' {1..64})/" \
        "$SRV/wronghash/streams/v1/images.json"
cp -a "$SRV/good" "$SRV/wrongsize"
sed -i "s/\"size\": $(size "$SRV/good/$IMG/rootfs.tar.xz")}/\"size\": 1000}/" \
        "$SRV/wrongsize/streams/v1/images.json"
# Paths that leave the tree.
cp -a "$SRV/good" "$SRV/escape"
sed -i "s|\"$IMG/rootfs.tar.xz\"|\"$IMG/../../../../../../../etc/passwd\"|" \
        "$SRV/escape/streams/v1/images.json"
cp -a "$SRV/lxconly" "$SRV/escapelxc"
echo "busybox;test;$ARCH;default;$BUILD;/images/../../etc/" >"$SRV/escapelxc/meta/1.0/index-system"
sign "$SRV/escapelxc/meta/1.0/index-system"
cp -a "$SRV/lxconly" "$SRV/abslxc"
echo "busybox;test;$ARCH;default;$BUILD;//evil.invalid/x/" >"$SRV/abslxc/meta/1.0/index-system"
sign "$SRV/abslxc/meta/1.0/index-system"
# Signatures: by a key not in the keyring, corrupted, missing.
cp -a "$SRV/lxconly" "$SRV/otherkey"
sign "$SRV/otherkey/$IMG/rootfs.tar.xz" other@lodge.invalid
cp -a "$SRV/lxconly" "$SRV/badsig"
echo tampered >>"$SRV/badsig/$IMG/rootfs.tar.xz"
cp -a "$SRV/lxconly" "$SRV/unsigned"
rm "$SRV/unsigned/$IMG/rootfs.tar.xz.asc"
# A malicious rootfs, correctly hashed and signed.
"$LODGE_HOSTILE_TAR" dotdot "$TEST_DIR/hostile.tar" "$TEST_DIR/victim" >/dev/null
xz -T1 -c "$TEST_DIR/hostile.tar" >"$TEST_DIR/hostile.tar.xz"
make_tree "$SRV/hostile" "$TEST_DIR/hostile.tar.xz"

stop_gpg_agent
: >"$LOG"
python3 "$LODGE_SRCDIR/tests/integration/image-server.py" "$SRV" "$TEST_DIR/port" "$LOG" &
TEST_PIDS+=($!)
for _ in $(seq 100); do
        [ -s "$TEST_DIR/port" ] && break
        sleep 0.05
done
PORT=$(cat "$TEST_DIR/port")
URL=http://127.0.0.1:$PORT
KEY=$TEST_DIR/keyring.gpg
printf 'image.server = %s/good\nimage.keyring = %s\n' "$URL" "$KEY" >"$LODGE_CONF"

# nothing_cached: no image in the cache, no staging leftovers, no container.
nothing_cached() {
        local left
        left=$(find "$LODGE_CACHE/images" -mindepth 1 -maxdepth 1 ! -name .lock 2>/dev/null || true)
        [ -z "$left" ] || fail "$1: left in the cache: $left"
        [ -z "$(ls "$LODGE_ROOT/containers" 2>/dev/null)" ] || fail "$1: a container was made"
        assert_no_leftovers
}

# --- simplestreams (found by itself), boot, hostname rendered
expect 0 '' -- lodge create ss1 -t download -- --dist busybox --release test
grep -q 'busybox guest created' "$TEST_DIR/out" || fail "create message not printed"
[ "$(cat "$LODGE_ROOT/containers/ss1/rootfs/etc/hostname")" = ss1 ] || fail "hostname template"
grep -q "GET /good/streams/v1/index.json" "$LOG" || fail "simplestreams not asked first"
! grep -q "index-system" "$LOG" || fail "the LXC index was asked for on a simplestreams server"
expect 0 '' -- lodge start ss1
[ "$(in_guest ss1 hostname)" = ss1 ] || fail "hostname in the guest"
expect 0 '' -- lodge stop ss1
ok "create -t download over simplestreams: unpacked, hostname rendered, boots"

expect 0 '' -- lodge image list --format json
python3 - "$TEST_DIR/out" "$URL/good" <<'PY' || fail "image list json: $(cat "$TEST_DIR/out")"
import json, sys
l = json.load(open(sys.argv[1]))
assert len(l) == 1, l
i = l[0]
assert i["protocol"] == "simplestreams" and i["source"] == sys.argv[2], i
assert i["dist"] == "busybox" and i["release"] == "test" and i["build"] == "20250101_00:00", i
assert i["verified"] == "sha256" and len(i["fingerprint"]) == 64 and i["expiry"] > 0, i
PY
FP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["fingerprint"])' \
        "$TEST_DIR/out")
[ "$FP" = "$(cat "$SRV/good/$IMG/meta.tar.xz" "$SRV/good/$IMG/rootfs.tar.xz" | sha256sum |
        cut -d' ' -f1)" ] || fail "the cache is not keyed by sha256(meta || rootfs)"
expect 0 '' -- lodge image list
grep -q "^${FP:0:12} " "$TEST_DIR/out" || fail "image list table: $(cat "$TEST_DIR/out")"
ok "image list: the cached image, table and json, keyed by its content hash"

: >"$LOG"
expect 0 '' -- lodge create ss2 -t download -- --dist busybox --release test --arch x86_64
[ ! -s "$LOG" ] || fail "the second create asked the server: $(cat "$LOG")"
[ "$(cat "$LODGE_ROOT/containers/ss2/rootfs/etc/hostname")" = ss2 ] || fail "hostname template"
ok "a second create uses the fresh cache: no HTTP request (x86_64 is amd64)"

expect 0 '' -- lodge create ss3 -t download -- --dist busybox --release test --refresh
grep -q "GET /good/streams/v1/images.json" "$LOG" || fail "--refresh did not ask the server"
! grep -q "rootfs.tar.xz" "$LOG" || fail "--refresh downloaded the same build again"
ok "--refresh asks the server, and keeps the cached build when it is the newest"

# A newer build on the server: --refresh downloads it, and new creates use it.
make_tree "$SRV/evolve"
expect 0 '' -- lodge create ev1 -t download -- --dist busybox --release test --server "$URL/evolve"
xz -dc "$BB" | xz -1 -T1 >"$TEST_DIR/bb2.tar.xz" # the same tree, other bytes
BUILD=20250202_00:00 make_tree "$SRV/evolve" "$TEST_DIR/bb2.tar.xz"
: >"$LOG"
expect 0 '' -- lodge create ev2 -t download -- --dist busybox --release test --server "$URL/evolve"
[ ! -s "$LOG" ] || fail "a fresh cached image was checked with the server"
expect 0 '' -- lodge create ev3 -t download -- --dist busybox --release test \
        --server "$URL/evolve" --refresh
grep -q "20250202_00:00/rootfs.tar.xz" "$LOG" || fail "the newer build not downloaded: $(cat "$LOG")"
expect 0 '' -- lodge image list --format json
python3 - "$TEST_DIR/out" "$URL/evolve" <<'PY' || fail "image list after a new build: $(cat "$TEST_DIR/out")"
import json, sys
builds = sorted(i["build"] for i in json.load(open(sys.argv[1])) if i["source"] == sys.argv[2])
assert builds == ["20250101_00:00", "20250202_00:00"], builds
PY
expect 0 '1 image removed' -- lodge image prune
expect 0 '' -- lodge image list --format json
grep -q '"build":"20250202_00:00"' "$TEST_DIR/out" && ! grep -q '"build":"20250101_00:00"' \
        "$TEST_DIR/out" || fail "prune kept the superseded build: $(cat "$TEST_DIR/out")"
for n in ev1 ev2 ev3; do lodge destroy "$n" >/dev/null; done
ok "a newer build on the server is downloaded with --refresh; prune drops the superseded one"

# --- simplestreams with Incus metadata, as images.linuxcontainers.org serves it: the create
# templates of metadata.yaml rendered with the container's name, others left with a warning
mkdir -p "$TEST_DIR/incus/templates" "$SRV/incus/$IMG" "$SRV/incus/streams/v1"
cat >"$TEST_DIR/incus/metadata.yaml" <<EOF
architecture: x86_64
creation_date: 1737006240
templates:
  /etc/hostname:
    when:
    - create
    - copy
    template: hostname.tpl
  /etc/motd:
    when:
    - create
    template: motd.tpl
EOF
echo '{{ container.name }}' >"$TEST_DIR/incus/templates/hostname.tpl"
echo '{% if container.name %}hello{% endif %}' >"$TEST_DIR/incus/templates/motd.tpl"
tar -C "$TEST_DIR/incus" -cJf "$SRV/incus/$IMG/incus.tar.xz" metadata.yaml templates
cp "$BB" "$SRV/incus/$IMG/rootfs.tar.xz"
cp "$SRV/good/streams/v1/index.json" "$SRV/incus/streams/v1/"
python3 - "$SRV/incus" "$IMG" "$ARCH" "$BUILD" <<'PY'
import hashlib, json, os, sys
srv, img, arch, build = sys.argv[1:5]
items, data = {}, {}
for ftype, name in (("root.tar.xz", "rootfs.tar.xz"), ("incus.tar.xz", "incus.tar.xz")):
    data[ftype] = open(os.path.join(srv, img, name), "rb").read()
    items[ftype] = {"ftype": ftype, "path": img + "/" + name, "size": len(data[ftype]),
                    "sha256": hashlib.sha256(data[ftype]).hexdigest()}
items["incus.tar.xz"]["combined_rootxz_sha256"] = hashlib.sha256(
    data["incus.tar.xz"] + data["root.tar.xz"]).hexdigest()
json.dump({"products": {"busybox:test:%s:default" % arch: {
    "os": "busybox", "release": "test", "arch": arch, "variant": "default",
    "versions": {build: {"items": items}}}}},
    open(os.path.join(srv, "streams/v1/images.json"), "w"))
PY
expect 0 "image template for '/etc/motd' not applied" -- lodge create inc1 -t download -- \
        --dist busybox --release test --server "$URL/incus"
[ "$(cat "$LODGE_ROOT/containers/inc1/rootfs/etc/hostname")" = inc1 ] ||
        fail "Incus hostname template not rendered"
! grep -q hello "$LODGE_ROOT/containers/inc1/rootfs/etc/motd" 2>/dev/null || fail "motd rendered"
grep -q '"protocol":"simplestreams"' <(lodge image list --format json) || fail "not cached"
lodge destroy inc1 >/dev/null
ok "simplestreams with Incus metadata: the hostname template rendered, the rest warned about"

# --- LXC's protocol, forced and found by itself; signatures checked with gpgv
expect 0 '' -- lodge image prune --all
: >"$LOG"
expect 0 '' -- lodge create lx1 -t download -- --dist busybox --release test --protocol lxc
grep -q "GET /good/meta/1.0/index-system.asc" "$LOG" || fail "the index signature not fetched: $(cat "$LOG"; cat "$TEST_DIR/err")"
grep -q "rootfs.tar.xz.asc" "$LOG" || fail "the rootfs's signature not fetched"
[ "$(cat "$LODGE_ROOT/containers/lx1/rootfs/etc/hostname")" = lx1 ] || fail "hostname template"
expect 0 '' -- lodge start lx1
[ "$(in_guest lx1 hostname)" = lx1 ] || fail "hostname in the guest"
expect 0 '' -- lodge stop lx1
expect 0 '' -- lodge image list --format json
grep -q '"verified":"gpg"' "$TEST_DIR/out" || fail "not gpg-verified: $(cat "$TEST_DIR/out")"
ok "create -t download over LXC's index: signatures checked, hostname rendered, boots"

expect 0 '' -- lodge image prune --all
expect 0 '' -- lodge create lx2 -t download -- --dist busybox --release test --server "$URL/lxconly"
grep -q '"protocol":"lxc"' <(lodge image list --format json) || fail "not found as lxc"
ok "a server without simplestreams is asked for LXC's index"

expect 0 '' -- lodge image list --remote "$URL/good"
grep -Eq "^busybox +test +$ARCH +default +$BUILD" "$TEST_DIR/out" ||
        fail "remote list: $(cat "$TEST_DIR/out")"
! grep -q '^vm' "$TEST_DIR/out" || fail "a VM-only product listed"
ok "image list --remote shows what the server offers"

for n in ss1 ss2 ss3 lx1 lx2; do lodge destroy "$n" >/dev/null; done
expect 0 '' -- lodge image prune --all
nothing_cached "prune --all"
ok "image prune --all empties the cache"

# --- a Debian (systemd) guest over each protocol
DEB=$(fixture_debian)
make_tree "$SRV/deb" "$DEB" debian bookworm "$(meta_of "$DEB")"
expect 0 '' -- lodge create deb1 -t download -- --dist debian --release bookworm \
        --server "$URL/deb"
[ "$(cat "$LODGE_ROOT/containers/deb1/rootfs/etc/hostname")" = deb1 ] || fail "hostname template"
expect 0 '' -- lodge start deb1
[ "$(in_guest deb1 hostname)" = deb1 ] || fail "hostname in the Debian guest"
expect 0 '' -- lodge stop deb1
expect 0 '' -- lodge image prune --all
expect 0 '' -- lodge create deb2 -t download -- --dist debian --release bookworm \
        --server "$URL/deb" --protocol lxc
[ "$(cat "$LODGE_ROOT/containers/deb2/rootfs/etc/hostname")" = deb2 ] || fail "hostname template"
grep -q '"protocol":"lxc"' <(lodge image list --format json) || fail "deb2 not over lxc"
for n in deb1 deb2; do lodge destroy "$n" >/dev/null; done
expect 0 '' -- lodge image prune --all
rm -rf "$SRV/deb"
ok "a Debian guest over simplestreams boots; over LXC's index it is created too"

# --- a transfer cut off in the middle is retried from where it stopped (a range request)
: >"$LOG"
expect 0 '' -- lodge create flaky -t download -- --dist busybox --release test --server "$URL/flaky"
grep -Eq 'flaky/.*rootfs.tar.xz range=bytes=[1-9][0-9]*-$' "$LOG" || fail "no resume: $(cat "$LOG")"
lodge destroy flaky >/dev/null
lodge image prune --all >/dev/null 2>&1
ok "a download cut off halfway resumes with a range request and succeeds"

# --- https: the certificate is checked (a self-signed one only with --ca), and a redirect
# from https down to http is refused
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$TEST_DIR/tls.key" -out "$TEST_DIR/tls.crt" 2>/dev/null
python3 "$LODGE_SRCDIR/tests/integration/image-server.py" "$SRV" "$TEST_DIR/tlsport" "$LOG" \
        "$TEST_DIR/tls.crt" "$TEST_DIR/tls.key" &
TEST_PIDS+=($!)
for _ in $(seq 100); do
        [ -s "$TEST_DIR/tlsport" ] && break
        sleep 0.05
done
TLS=https://127.0.0.1:$(cat "$TEST_DIR/tlsport")
expect 1 'certificate|SSL|TLS' -- lodge create tls1 -t download -- --dist busybox \
        --release test --server "$TLS/good"
nothing_cached "untrusted certificate"
expect 0 '' -- lodge create tls1 -t download -- --dist busybox --release test \
        --server "$TLS/good" --ca "$TEST_DIR/tls.crt"
lodge destroy tls1 >/dev/null
lodge image prune --all >/dev/null 2>&1
ln -s good "$SRV/redirhttp"
expect 1 'from https down to http is refused' -- lodge create tls2 -t download -- \
        --dist busybox --release test --server "$TLS/redirhttp" --ca "$TEST_DIR/tls.crt"
nothing_cached "https to http"
ok "https: an untrusted certificate is refused, --ca trusts one; no redirect down to http"

# --- hostile servers
i=0
hostile() { # hostile TREE PATTERN [EXTRA ARGS]: create fails with PATTERN, nothing left
        local tree=$1 pattern=$2
        shift 2
        i=$((i + 1))
        expect 1 "$pattern" -- lodge create "h$i" -t download -- --dist busybox --release test \
                --server "$URL/$tree" "$@"
        nothing_cached "$tree"
        ok "hostile server '$tree': refused ($(tail -n1 "$TEST_DIR/err" | cut -c1-110))"
}
: >"$LOG"
hostile err500 'HTTP 500'
[ "$(grep -c 'err500/.*rootfs.tar.xz$' "$LOG")" = 2 ] || fail "a 500 was not retried once: $(cat "$LOG")"
hostile err404 'HTTP 404'
hostile redirhost 'redirect to another host is refused'
expect 0 '' -- lodge create rh -t download -- --dist busybox --release test \
        --server "$URL/redirhost" --allow-redirect-host
lodge destroy rh >/dev/null
lodge image prune --all >/dev/null 2>&1
ok "--allow-redirect-host follows a redirect to another host (localhost)"
hostile redirloop 'too many redirects'
hostile endless 'more than the expected [0-9]+ bytes|larger than the expected [0-9]+ bytes'
hostile endless500 'endless HTTP 500 body|HTTP 500'
hostile truncated 'Transferred a partial file|partial|rootfs'
t0=$SECONDS
hostile slow 'Timeout|timed out|too slow'
((SECONDS - t0 < 30)) || fail "the low-speed timeout took $((SECONDS - t0)) s"
hostile wronghash 'sha256 [0-9a-f]+ does not match'
hostile wrongsize 'bytes, the index says 1000|(more|larger) than the expected 1000 bytes'
hostile escape "outside the server's tree"
hostile escapelxc "outside the server's tree" --protocol lxc
hostile abslxc "outside the server's tree" --protocol lxc
hostile otherkey 'signed by a key not in' --protocol lxc
hostile badsig 'BAD signature' --protocol lxc
hostile unsigned 'is not signed' --protocol lxc
(
        export LODGE_CONF=$TEST_DIR/empty.conf
        : >"$LODGE_CONF"
        expect 1 'no keyring' -- lodge create nokey -t download -- \
                --dist busybox --release test --server "$URL/lxconly"
)
nothing_cached "no keyring"
ok "LXC's protocol without a keyring is refused"
hostile hostile "escape|outside|refus|\\.\\." --protocol lxc
[ ! -e "$TEST_DIR/victim" ] || fail "the hostile tarball reached the host"
expect 1 'Could not connect|Connection refused|Couldn.t connect' -- lodge create down -t download \
        -- --dist busybox --release test --server http://127.0.0.1:1
nothing_cached "server down"
ok "a server that is down: a clear error"
expect 1 'no image busybox/test/.*/nope' -- lodge create nope -t download -- --dist busybox \
        --release test --variant nope
nothing_cached "unknown image"
ok "an image the server doesn't have: a clear error"

# --- Ctrl-C in the middle of a download: no image, no container, lodge-fetch gone; the
# partial download is kept hidden for the next try to resume, until a prune
: >"$LOG"
LODGE_FETCH_LOW_SPEED_TIME=60 "$LODGE_BIN" create int1 -t download -- --dist busybox \
        --release test --server "$URL/slow" >/dev/null 2>"$TEST_DIR/int.err" &
lpid=$!
for _ in $(seq 100); do
        grep -q 'slow/.*rootfs.tar.xz$' "$LOG" && break
        sleep 0.1
done
sleep 1
fpid=$(pgrep -f "lodge-fetch .*$URL/slow") || fail "no lodge-fetch while downloading"
grep -Eq '^Uid:\s+65534\s+65534\s+65534\s+65534' "/proc/$fpid/status" &&
        grep -Eq '^Gid:\s+65534\s+65534\s+65534\s+65534' "/proc/$fpid/status" &&
        grep -Eq '^Groups:\s*$' "/proc/$fpid/status" &&
        grep -Eq '^NoNewPrivs:\s+1' "/proc/$fpid/status" &&
        grep -Eq '^CapEff:\s+0+$' "/proc/$fpid/status" ||
        fail "lodge-fetch is not unprivileged: $(grep -E 'Uid|Gid|Groups|NoNewPrivs|CapEff' "/proc/$fpid/status")"
[ "$(find "/proc/$fpid/fd" -mindepth 1 | wc -l)" -le 8 ] || fail "lodge-fetch holds fds: $(ls -l "/proc/$fpid/fd")"
t0=$SECONDS
kill -INT "$lpid"
rc=0
wait "$lpid" || rc=$?
((rc != 0 && SECONDS - t0 < 10)) || fail "interrupted create: exit $rc after $((SECONDS - t0)) s"
grep -q 'interrupted' "$TEST_DIR/int.err" || fail "interrupted: $(cat "$TEST_DIR/int.err")"
! pgrep -f "lodge-fetch .*$URL/slow" >/dev/null || fail "lodge-fetch outlived an interrupted lodge"
left=$(find "$LODGE_CACHE/images" -mindepth 1 -maxdepth 1 ! -name .lock ! -name '.tmp-part-*')
[ -z "$left" ] || fail "an interrupted download left: $left"
[ -z "$(ls "$LODGE_ROOT/containers")" ] || fail "an interrupted create left a container"
assert_no_leftovers
[ -n "$(find "$LODGE_CACHE/images" -name '.tmp-part-*')" ] || fail "no partial kept to resume"
expect 0 '' -- lodge image prune
[ -z "$(find "$LODGE_CACHE/images" -name '.tmp-*')" ] || fail "prune left a partial download"
ok "lodge-fetch runs as nobody with no_new_privs and no capabilities; Ctrl-C during a download leaves no image and no container; lodge-fetch is gone"

# --- --no-verify is explicit and warns
expect 0 'not checked' -- lodge create nv -t download -- --dist busybox --release test \
        --server "$URL/unsigned" --protocol lxc --no-verify
grep -q '"verified":"none"' <(lodge image list --format json) || fail "no-verify not recorded"
lodge destroy nv >/dev/null
lodge image prune --all >/dev/null 2>&1
ok "--no-verify works and warns"

# --- image import / remove / pull
expect 0 '' -- lodge image import "$BB" "$BB_META" --alias bb
expect 1 'names image' -- lodge image import "$TEST_DIR/hostile.tar.xz" --alias bb
expect 0 '' -- lodge image list
grep -q ' bb ' "$TEST_DIR/out" || fail "import alias: $(cat "$TEST_DIR/out")"
expect 0 '' -- lodge image remove bb
expect 1 "no image 'bb'" -- lodge image remove bb
nothing_cached "image remove"
ok "image import with an alias, remove by alias"

: >"$LOG"
expect 0 '' -- lodge image pull --dist busybox --release test
grep -q rootfs.tar.xz "$LOG" || fail "pull downloaded nothing"
: >"$LOG"
expect 0 '' -- lodge create pulled -t download -- --dist busybox --release test
[ ! -s "$LOG" ] || fail "create after pull asked the server"
ok "image pull fills the cache for a later create"

# --- two creates of the same image at once share the download or the cache: both succeed,
# one image is cached
lodge destroy pulled >/dev/null
lodge image prune --all >/dev/null 2>&1
"$LODGE_BIN" create par1 -t download -- --dist busybox --release test >/dev/null 2>"$TEST_DIR/p1" &
p1=$!
"$LODGE_BIN" create par2 -t download -- --dist busybox --release test >/dev/null 2>"$TEST_DIR/p2" &
p2=$!
wait "$p1" || fail "par1: $(cat "$TEST_DIR/p1")"
wait "$p2" || fail "par2: $(cat "$TEST_DIR/p2")"
[ "$(lodge image list --format json | grep -o '"fingerprint"' | wc -l)" = 1 ] ||
        fail "two images for one: $(lodge image list)"
[ -z "$(find "$LODGE_CACHE/images" -name '.tmp-*')" ] || fail "leftovers in the cache"
ok "two creates of the same image at once: both made, one image cached"
stop_gpg_agent
