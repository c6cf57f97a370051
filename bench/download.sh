#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# How long does "lodge create -t download" take against "lxc-create -t download", with the
# same image from the same local https server, first download and from the cache?
#
#   bench/download.sh [-n ROUNDS] [ROOTFS.tar.xz META.tar.xz]
#
# The image defaults to the Debian fixture (tests/fixtures/debian.sh). A throwaway CA-less
# certificate for 127.0.0.1 is made, and the test image server (tests/integration/
# image-server.py) serves the image over https on 127.0.0.1 in LXC's layout (index-system,
# rootfs.tar.xz, meta.tar.xz, each with a detached signature by a throwaway key) and as
# simplestreams. lxc-create (LXC 5: https only, no signature checks, wget) trusts the
# certificate through WGETRC; lodge through --ca. Rounds run interleaved: lodge (LXC's
# protocol, signatures checked with gpgv), lodge (simplestreams, sha256 checked), lxc-create;
# "first" runs each start with an empty cache, "cached" runs each use a warm one. Every run
# gets fresh directories under /var/tmp, removed (and the disks synced) after the clock
# stops. Reports the median wall time of each. Needs root, lxc-create and the lodge build.
#
# Environment: LODGE_BIN (default build/cmd/lodge), ROUNDS.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
src=$PWD
rounds=${ROUNDS:-5}
while getopts n:h opt; do
        case $opt in
        n) rounds=$OPTARG ;;
        h) sed -n '7s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) exit 2 ;;
        esac
done
shift $((OPTIND - 1))
lodge=$(realpath "${LODGE_BIN:-build/cmd/lodge}")
((EUID == 0)) || { echo "bench/download.sh: needs root" >&2; exit 1; }
command -v lxc-create >/dev/null || { echo "bench/download.sh: no lxc-create (scripts/deps --bench)" >&2; exit 1; }
if (($# == 2)); then
        rootfs=$1 meta=$2
else
        rootfs=$(bash tests/fixtures/debian.sh)
        meta=${rootfs/-rootfs./-meta.}
fi

work=$(mktemp -d /var/tmp/lodge-bench-dl.XXXXXX)
server_pid=
cleanup() {
        if [ -n "$server_pid" ]; then
                kill "$server_pid" 2>/dev/null || true
                wait "$server_pid" 2>/dev/null || true
        fi
        gpgconf --homedir "$work/gnupg" --kill all 2>/dev/null || true # the agent gpg started
        rm -rf --one-file-system "$work"
}
trap cleanup EXIT

arch=$(dpkg --print-architecture)
build=20250101_00:00
img=images/debian/bookworm/$arch/default/$build
srv=$work/srv
mkdir -p "$srv/$img" "$srv/meta/1.0" "$srv/streams/v1"
cp "$rootfs" "$srv/$img/rootfs.tar.xz"
cp "$meta" "$srv/$img/meta.tar.xz"
echo "debian;bookworm;$arch;default;$build;/$img/" >"$srv/meta/1.0/index-system"
export GNUPGHOME=$work/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg_q() { gpg --batch --quiet --pinentry-mode loopback --passphrase '' "$@" 2>/dev/null; }
gpg_q --quick-gen-key 'lodge bench <bench@lodge.invalid>' ed25519 sign never
gpg_q --export bench@lodge.invalid >"$work/keyring.gpg"
for f in "$srv/meta/1.0/index-system" "$srv/$img/rootfs.tar.xz" "$srv/$img/meta.tar.xz"; do
        gpg_q -a -b -o "$f.asc" "$f"
done
python3 - "$srv" "$img" "$arch" "$build" <<'PY'
import hashlib, json, os, sys
srv, img, arch, build = sys.argv[1:5]
items = {}
for ftype, name in (("root.tar.xz", "rootfs.tar.xz"), ("lxc.tar.xz", "meta.tar.xz")):
    data = open(os.path.join(srv, img, name), "rb").read()
    items[ftype] = {"ftype": ftype, "path": img + "/" + name, "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest()}
json.dump({"index": {"images": {"datatype": "image-downloads", "path": "streams/v1/images.json"}}},
          open(os.path.join(srv, "streams/v1/index.json"), "w"))
json.dump({"products": {"debian:bookworm:%s:default" % arch: {
    "os": "debian", "release": "bookworm", "arch": arch, "variant": "default",
    "versions": {build: {"items": items}}}}}, open(os.path.join(srv, "streams/v1/images.json"), "w"))
PY
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
echo "ca_certificate = $work/tls.crt" >"$work/wgetrc"
python3 tests/integration/image-server.py "$srv" "$work/port" /dev/null "$work/tls.crt" \
        "$work/tls.key" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

now() { date +%s.%N; }
declare -A times=()
# run KIND CACHE_DIR: one create, timed; prints nothing, records the time.
run() {
        local kind=$1 cache=$2 d t0 t1
        d=$(mktemp -d "$work/run.XXXXXX")
        case $kind in
        lodge-lxc | lodge-ss)
                local proto=lxc
                [ "$kind" = lodge-ss ] && proto=simplestreams
                t0=$(now)
                LODGE_ROOT=$d/root LODGE_CACHE=$cache LODGE_RUNDIR=$d/run LODGE_CONF=$work/none.conf \
                        "$lodge" -q create c -t download -- --dist debian --release bookworm \
                        --server "https://127.0.0.1:$port" --protocol $proto \
                        --ca "$work/tls.crt" --keyring "$work/keyring.gpg" >/dev/null
                t1=$(now)
                ;;
        lxc)
                t0=$(now)
                WGETRC=$work/wgetrc LXC_CACHE_PATH=$cache lxc-create -q -P "$d" -n c \
                        -t download -- -d debian -r bookworm -a "$arch" \
                        --server "127.0.0.1:$port" >/dev/null
                t1=$(now)
                ;;
        esac
        rm -rf --one-file-system "$d"
        sync
        echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

kinds=(lodge-lxc lodge-ss lxc)
for k in "${kinds[@]}"; do # warm-up, and the warm caches for the "cached" runs
        mkdir -p "$work/cache-$k"
        run "$k" "$work/cache-$k" >/dev/null
done
for ((i = 1; i <= rounds; i++)); do
        for k in "${kinds[@]}"; do
                c=$(mktemp -d "$work/cold.XXXXXX")
                times[first-$k]+="$(run "$k" "$c") "
                rm -rf "$c"
                times[cached-$k]+="$(run "$k" "$work/cache-$k") "
        done
done

echo "image: $(basename "$rootfs") ($(du -h "$rootfs" | cut -f1)), $rounds rounds, https on 127.0.0.1"
printf '%-8s %-10s %8s   %s\n' run tool median "all (s)"
for phase in first cached; do
        for k in "${kinds[@]}"; do
                # shellcheck disable=SC2086
                printf '%-8s %-10s %8s   %s\n' "$phase" "$k" \
                        "$(printf '%s\n' ${times[$phase-$k]} | median)" "${times[$phase-$k]}"
        done
done
