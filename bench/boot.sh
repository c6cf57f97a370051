#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# How fast do lodge, LXC and systemd-nspawn boot, stop and enter the same Debian systemd guest,
# and how much memory does the process that watches a running guest take?
#
#   bench/boot.sh [-n ROUNDS] [TARBALL]
#
# TARBALL defaults to the Debian bookworm fixture (tests/fixtures/debian.sh), ROUNDS to 10 (or
# $ROUNDS). Each tool gets its own copy of the rootfs, with /etc/network/interfaces cut down to
# the loopback (no networking is compared: lodge has none yet, LXC gets lxc.net.0.type = empty,
# nspawn --private-network), so that systemd reaches "running" everywhere. Six guests:
#
#   lodge        lodge start / lodge attach / lodge stop; unprivileged, as lodge's guests are
#                by default (a user namespace, the rootfs idmapped)
#   lodge-priv   the same with security.privileged = true
#   lxc          lxc-start (daemonized) / lxc-attach / lxc-stop, config: debian.common.conf as
#                Debian ships it, which with lxcfs installed runs its post-stop hook ("sleep 0.5s");
#                privileged, as LXC's guests are when root makes them
#   lxc-nohook   the same with "lxc.hook.post-stop =" (no post-stop hook)
#   lxc-userns   lxc with debian.userns.conf, lxc.idmap for 65536 ids and
#                lxc.rootfs.options = idmap=container: LXC's unprivileged guest, rootfs idmapped
#   nspawn       systemd-nspawn -b --private-network --register=no --keep-unit in the
#                background (it can't daemonize without systemd as PID 1); nsenter -t PID -a
#                stands in for an attach; stopped with SIGTERM (a clean shutdown of the guest)
#
# One warm-up boot of each, then ROUNDS rounds; in each, every tool boots, is measured and
# stops in turn (one guest runs at a time), the order rotated by one every round. Measured:
# the start command's wall time; start-to-running (from the start command's beginning until the
# guest's systemd is "running": its FinishTimestampMonotonic on the host's clock, once
# "systemctl is-system-running", polled every 0.1 s through the tool's own attach, says so);
# the guest's own userspace boot time (FinishTimestamp minus
# UserspaceTimestamp, what systemd-analyze prints); the CPU time the monitor has used by then;
# ATTACHES timed attaches of /bin/true; the monitor's VmRSS, Pss and private memory
# (smaps_rollup); the clean stop's wall time. Reports medians with min-max, ratios against LXC,
# per-round values, and lodge's targets.
#
# Environment: LODGE_BIN (default build/cmd/lodge), ROUNDS, ATTACHES (default 5).
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
rounds=${ROUNDS:-10}
attaches=${ATTACHES:-5}
me=${0##*/}

usage() {
        sed -n '7s/^# \{0,1\}//p' "$0"
        exit "${1:-0}"
}
while getopts n:h opt; do
        case $opt in
        n) rounds=$OPTARG ;;
        h) usage 0 ;;
        *) usage 2 >&2 ;;
        esac
done
shift $((OPTIND - 1))
(($# <= 1)) || usage 2 >&2
[[ $rounds =~ ^[1-9][0-9]*$ && $attaches =~ ^[1-9][0-9]*$ ]] || {
        echo "$me: ROUNDS and ATTACHES must be positive numbers" >&2
        exit 2
}
((EUID == 0)) || {
        echo "$me: run it as root: the tools boot their guests as root" >&2
        exit 1
}

lodge=$(realpath -m -- "${LODGE_BIN:-build/cmd/lodge}")
[[ -x $lodge ]] || {
        echo "$me: no lodge binary at $lodge (build it, or set LODGE_BIN)" >&2
        exit 1
}
for cmd in lxc-start lxc-attach lxc-stop lxc-info lxc-destroy lxc-ls systemd-nspawn nsenter; do
        command -v "$cmd" >/dev/null || {
                echo "$me: $cmd not found: scripts/deps --bench installs LXC and systemd-nspawn" >&2
                exit 1
        }
done
if (($# == 1)); then
        tarball=$(realpath -- "$1")
else
        echo "building or finding the Debian fixture..." >&2
        tarball=$(tests/fixtures/debian.sh)
fi

# The clock, read by bash itself: `$(date +%s%N)` forks and execs a process inside every
# measured window (about 6 ms on the current VM, the same for every tool, so it made the tools
# look alike). now VAR: microseconds since the epoch into VAR.
now() { printf -v "$1" '%s' "${EPOCHREALTIME//[.,]/}"; }
# CLOCK_REALTIME minus CLOCK_MONOTONIC, in microseconds. No tool gives its guest a time namespace,
# so the guest's systemd stamps its FinishTimestampMonotonic, the moment it is "running", on the
# host's monotonic clock: this offset puts it on the clock of now().
mono_offset() {
        python3 -c 'import time; print((time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_MONOTONIC)) // 1000)'
}
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e3 }'; }
die() {
        echo "$me: $*" >&2
        exit 1
}

# ---------------------------------------------------------------------------------------------
# Scratch space, names, and everything the cleanup must undo.

base=$(mktemp -d /var/tmp/lodge-boot.XXXXXX)
chmod 0711 "$base" # LXC's unprivileged guest reaches its rootfs as its own root
id=$(printf '%s' "${base##*.}" | tr '[:upper:]' '[:lower:]')
lname=boot-$id                  # the lodge guest
lxcpath=$base/lxc               # lxc-start -P
xname=boot-$id                  # the LXC guest, Debian's hooks
xnname=boot-$id-nohook          # the LXC guest without the post-stop hook
xuname=boot-$id-userns          # the unprivileged LXC guest
lpname=boot-$id-priv            # the privileged lodge guest
nname=boot-$id                  # nspawn's machine name
nroot=$base/nspawn/rootfs
nspawn_pid='' nspawn_guest=''
lodge_made=0

export LODGE_ROOT=$base/lodge/root LODGE_CACHE=$base/lodge/cache LODGE_RUNDIR=$base/lodge/run
export LODGE_CONF=$base/lodge/lodge.conf
lodgec() { "$lodge" --quiet "$@"; }

# What the tools leave behind on the host, to be removed only if this run made it: LXC's
# lock directory and its cgroup "lxc.pivot"; nspawn --keep-unit's "payload" and "supervisor"
# cgroups next to its own and its /run/systemd/nspawn; lodge's shared parent cgroup of this
# root, "lodge-TAG" (TAG: FNV-1a of LODGE_ROOT, core/paths.c), which stays where it is a cpuset.
had_run_lxc=0 had_run_nspawn=0
[[ -e /run/lxc ]] && had_run_lxc=1
[[ -e /run/systemd/nspawn ]] && had_run_nspawn=1
lodge_cg=lodge-$(python3 -c '
import sys
h = 2166136261
for b in sys.argv[1].encode():
    h = ((h ^ b) * 16777619) & 0xffffffff
print("%08x" % h)' "$LODGE_ROOT")
cgroup_leftovers() {
        find /sys/fs/cgroup -maxdepth 4 -type d \( -name payload -o -name supervisor -o \
                -name lxc.pivot -o -name "$lodge_cg" \) -print 2>/dev/null | sort
}
cgroups_before=$(cgroup_leftovers)

stop_nspawn_hard() {
        [[ -n $nspawn_pid ]] || return 0
        if alive "$nspawn_pid"; then
                kill -TERM "$nspawn_pid" 2>/dev/null || true
                for ((i = 0; i < 300; i++)); do
                        alive "$nspawn_pid" || break
                        sleep 0.05
                done
                kill -KILL "$nspawn_pid" 2>/dev/null || true
                [[ -n $nspawn_guest ]] && kill -KILL "$nspawn_guest" 2>/dev/null
        fi
        wait "$nspawn_pid" 2>/dev/null || true
        nspawn_pid='' nspawn_guest=''
}

cleanup() {
        local rc=$? x left=''
        set +e
        trap - EXIT INT TERM
        stop_nspawn_hard
        if ((lodge_made)); then
                for x in "$lname" "$lpname"; do
                        [[ -e $LODGE_ROOT/containers/$x ]] || continue
                        lodgec destroy -f "$x" >/dev/null 2>&1 ||
                                echo "$me: cleanup: lodge destroy -f $x failed" >&2
                done
        fi
        for x in "$xname" "$xnname" "$xuname"; do
                [[ -e $lxcpath/$x/config ]] || continue
                lxc-stop -k -n "$x" -P "$lxcpath" >/dev/null 2>&1
                lxc-destroy -n "$x" -P "$lxcpath" >/dev/null 2>&1 ||
                        echo "$me: cleanup: lxc-destroy $x failed" >&2
        done
        [[ -d $lxcpath ]] && left=$(lxc-ls -P "$lxcpath" 2>/dev/null)
        [[ -n $left ]] && echo "$me: cleanup: LXC containers left in $lxcpath: $left" >&2
        if pgrep -f -- "systemd-nspawn.* -M $nname( |\$)" >/dev/null; then
                echo "$me: cleanup: a systemd-nspawn for $nname is still running" >&2
        fi
        chattr -R -ia "$base" >/dev/null 2>&1
        rm -rf --one-file-system -- "$base"
        # LXC's lock files for our lxcpath, then the directories above them if they are empty.
        rm -rf -- "/run/lxc/lock$lxcpath"
        x=$(dirname "/run/lxc/lock$lxcpath")
        while [[ $x == /run/lxc/* ]] && rmdir -- "$x" 2>/dev/null; do x=${x%/*}; done
        ((had_run_lxc)) || rmdir /run/lxc 2>/dev/null
        rm -rf -- "/run/systemd/nspawn/propagate/$nname" "/run/systemd/nspawn/locks/"*"$nname"*
        ((had_run_nspawn)) || rm -rf -- /run/systemd/nspawn
        # Cgroups made by this run: rmdir only removes empty ones.
        comm -13 <(printf '%s\n' "$cgroups_before") <(cgroup_leftovers) | while read -r x; do
                [[ -n $x ]] && find "$x" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# ---------------------------------------------------------------------------------------------
# The guests.

loopback_only() { # loopback_only ROOTFS NAME: no DHCP on an eth0 none of them has; a hostname
        printf 'auto lo\niface lo inet loopback\n' >"$1/etc/network/interfaces"
        printf '%s\n' "$2" >"$1/etc/hostname"
}

unpack() { # unpack DIR: what lxc-create and machinectl import-tar would do, by hand
        mkdir -p "$1"
        tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$tarball" -C "$1"
}

lxc_config() { # lxc_config NAME [EXTRA LINE...]
        local name=$1
        shift
        mkdir -p "$lxcpath/$name"
        {
                echo "# bench/boot.sh: Debian's distribution config (common.conf and common.conf.d/)"
                echo "lxc.include = /usr/share/lxc/config/debian.common.conf"
                (($# == 0)) || printf '%s\n' "$@"
                echo "lxc.arch = linux64"
                echo "lxc.uts.name = $name"
                echo "lxc.rootfs.path = dir:$lxcpath/$name/rootfs"
                echo "lxc.net.0.type = empty"
        } >"$lxcpath/$name/config"
}

echo "setting up: lodge create, and the rootfs unpacked twice for LXC and once for nspawn..." >&2
mkdir -p "$LODGE_ROOT" "$LODGE_CACHE" "$LODGE_RUNDIR" "$base/nspawn"
lodge_made=1
lodgec create "$lname" -t local -- --file "$tarball" >/dev/null ||
        die "lodge create $lname failed"
lodgec create "$lpname" -t local -c security.privileged=true -- --file "$tarball" >/dev/null ||
        die "lodge create $lpname failed"
loopback_only "$LODGE_ROOT/containers/$lname/rootfs" "$lname"
loopback_only "$LODGE_ROOT/containers/$lpname/rootfs" "$lpname"
lxc_config "$xname"
lxc_config "$xnname" "lxc.hook.post-stop ="
# The range above the one lodge picked for its guest: the two never share one.
lxc_ids=$(($(lodgec config "$lname" get security.idmap | cut -d: -f1) + 65536))
lxc_config "$xuname" "lxc.include = /usr/share/lxc/config/debian.userns.conf" \
        "lxc.idmap = u 0 $lxc_ids 65536" "lxc.idmap = g 0 $lxc_ids 65536" \
        "lxc.rootfs.options = idmap=container"
pids=()
for d in "$lxcpath/$xname/rootfs" "$lxcpath/$xnname/rootfs" "$lxcpath/$xuname/rootfs" "$nroot"; do
        unpack "$d" &
        pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "unpacking $tarball failed"; done
loopback_only "$lxcpath/$xname/rootfs" "$xname"
loopback_only "$lxcpath/$xnname/rootfs" "$xnname"
loopback_only "$lxcpath/$xuname/rootfs" "$xuname"
loopback_only "$nroot" "$nname"
sync

# The post-stop hooks each LXC guest really runs, from LXC's own view of its config.
lxc_hooks() { lxc-info -n "$1" -P "$lxcpath" -c lxc.hook.post-stop 2>/dev/null | sed -n 's/^lxc\.hook\.post-stop =[[:space:]]*//p' | grep -v '^$' || true; }
[[ -z $(lxc_hooks "$xnname") ]] || die "LXC guest $xnname still has a post-stop hook: $(lxc_hooks "$xnname")"

guest() { # guest TOOL CMD...: run CMD in the running guest with the tool's own attach
        local tool=$1
        shift
        case $tool in
        lodge) lodgec attach "$lname" -- "$@" ;;
        lodge-priv) lodgec attach "$lpname" -- "$@" ;;
        lxc) lxc-attach -n "$xname" -P "$lxcpath" -- "$@" ;;
        lxc-nohook) lxc-attach -n "$xnname" -P "$lxcpath" -- "$@" ;;
        lxc-userns) lxc-attach -n "$xuname" -P "$lxcpath" -- "$@" ;;
        nspawn) nsenter -t "$nspawn_guest" -a "$@" ;;
        esac
}

start_guest() { # start_guest TOOL
        case $1 in
        lodge) lodgec start "$lname" >/dev/null ;;
        lodge-priv) lodgec start "$lpname" >/dev/null 2>&1 ;; # its warning: no AppArmor here
        lxc) lxc-start -n "$xname" -P "$lxcpath" ;;
        lxc-nohook) lxc-start -n "$xnname" -P "$lxcpath" ;;
        lxc-userns) lxc-start -n "$xuname" -P "$lxcpath" ;;
        nspawn)
                # Not a daemon without systemd as PID 1 (no scope, no machined): a background job
                # with a read-only console whose output goes to a file, like the others' logs.
                systemd-nspawn -q -D "$nroot" -M "$nname" -b --private-network --register=no \
                        --keep-unit --console=read-only </dev/null >>"$base/nspawn/console.log" 2>&1 &
                nspawn_pid=$!
                ;;
        esac
}

stop_guest() { # stop_guest TOOL
        local rc=0
        case $1 in
        lodge) lodgec stop "$lname" ;;
        lodge-priv) lodgec stop "$lpname" ;;
        lxc) lxc-stop -n "$xname" -P "$lxcpath" ;;
        lxc-nohook) lxc-stop -n "$xnname" -P "$lxcpath" ;;
        lxc-userns) lxc-stop -n "$xuname" -P "$lxcpath" ;;
        nspawn)
                kill -TERM "$nspawn_pid"
                wait "$nspawn_pid" || rc=$?
                nspawn_pid='' nspawn_guest=''
                ((rc == 0)) || echo "$me: systemd-nspawn exited with status $rc" >&2
                ;;
        esac
}

lodge_name() { [[ $1 == lodge ]] && echo "$lname" || echo "$lpname"; }
lxc_name() {
        case $1 in
        lxc) echo "$xname" ;;
        lxc-nohook) echo "$xnname" ;;
        lxc-userns) echo "$xuname" ;;
        esac
}

check_stopped() { # check_stopped TOOL: the guest is gone, and went cleanly where we can tell
        local s
        case $1 in
        lodge | lodge-priv)
                s=$(lodgec info "$(lodge_name "$1")" --format json)
                [[ $s == *'"state":"STOPPED"'* ]] || die "lodge guest not stopped: $s"
                [[ $s == *'"last_stop":"clean"'* ]] || echo "$me: lodge's last stop was not clean: $s" >&2
                ;;
        lxc | lxc-nohook | lxc-userns)
                s=$(lxc-info -n "$(lxc_name "$1")" -P "$lxcpath" -s -H)
                [[ $s == STOPPED ]] || die "LXC guest ($1) is $s after lxc-stop"
                ;;
        nspawn) ;; # stop_guest waited for systemd-nspawn itself
        esac
}

monitor_pid() { # monitor_pid TOOL: the host process that watches the running guest
        local init
        case $1 in
        lodge | lodge-priv) sed -n 's/^monitor_pid=//p' "$LODGE_RUNDIR/$(lodge_name "$1")/state" ;;
        lxc | lxc-nohook | lxc-userns)
                init=$(lxc-info -n "$(lxc_name "$1")" -P "$lxcpath" -p -H)
                ps -o ppid= -p "$init" | tr -d ' '
                ;;
        nspawn) echo "$nspawn_pid" ;;
        esac
}

hz=$(getconf CLK_TCK)
cpu_ms() { # cpu_ms PID: the user and system CPU time PID has used, in ms (clock-tick resolution)
        sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$hz" '{ printf "%d", ($12 + $13) * 1000 / hz }'
}

memory() { # memory PID: "VmRSS Pss Private" in KiB
        local rss
        rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status")
        awk -v rss="$rss" '$1 == "Pss:" { pss = $2 } $1 ~ /^Private_(Clean|Dirty):$/ { priv += $2 }
                END { printf "%d %d %d", rss, pss, priv }' "/proc/$1/smaps_rollup"
}

# One boot, measured: sets r_start, r_running, r_user, r_state, r_cpu, r_attach (a list), r_mem,
# r_stop.
run() { # run TOOL
        local tool=$1 t0 t1 t2 t3 t s deadline u f i mon off
        r_start='' r_attach=()
        off=$(mono_offset)
        now t0
        start_guest "$tool" || die "$tool: the start command failed"
        now t1
        [[ $tool == nspawn ]] || r_start=$(ms "$t0" "$t1")
        deadline=$((t0 + 120000000))
        if [[ $tool == nspawn ]]; then
                # The guest's PID 1: systemd-nspawn's child once it has exec'd systemd.
                until nspawn_guest=$(pgrep -P "$nspawn_pid" -x systemd); do
                        alive "$nspawn_pid" || die "systemd-nspawn died: $(tail -n 5 "$base/nspawn/console.log")"
                        now t && ((t < deadline)) || die "nspawn: no guest systemd after 120 s"
                        sleep 0.01
                done
        fi
        # Polled every 0.1 s: each poll is an attach and a systemctl, which take CPU from the boot.
        # When the guest is running is systemd's own timestamp, not when a poll saw it.
        while :; do
                s=$(guest "$tool" systemctl is-system-running 2>/dev/null || true)
                [[ $s == running || $s == degraded ]] && break
                [[ $tool != nspawn ]] || alive "$nspawn_pid" || die "systemd-nspawn died: $(tail -n 5 "$base/nspawn/console.log")"
                now t && ((t < deadline)) || die "$tool: guest not running after 120 s (last: '$s')"
                sleep 0.1
        done
        now t2
        r_state=$s
        mon=$(monitor_pid "$tool")
        r_cpu=$(cpu_ms "$mon")
        if [[ $s == degraded ]]; then
                echo "$me: $tool: the guest is degraded:" >&2
                guest "$tool" systemctl --failed --no-legend >&2 || true
        fi
        # The guest's own view: what systemd-analyze reports as "(userspace)".
        s=$(guest "$tool" systemctl show -p UserspaceTimestampMonotonic -p FinishTimestampMonotonic)
        u=$(sed -n 's/^UserspaceTimestampMonotonic=//p' <<<"$s")
        f=$(sed -n 's/^FinishTimestampMonotonic=//p' <<<"$s")
        [[ $u =~ ^[0-9]+$ && $f =~ ^[0-9]+$ ]] || die "$tool: no boot timestamps from the guest's systemd: $s"
        r_user=$(awk -v u="$u" -v f="$f" 'BEGIN { printf "%.1f", (f - u) / 1000 }')
        # Between the start and the poll that saw it (1 ms of slack for the offset's two reads),
        # or the guest's monotonic clock isn't the host's.
        ((t0 < f + off && f + off <= t2 + 1000)) ||
                die "$tool: systemd's FinishTimestampMonotonic ($f) is not between the start and now: a time namespace?"
        r_running=$(ms "$t0" "$((f + off))")
        # Attach to a settled guest: what runs right after "running" (utmp's runlevel record, the
        # journal's flush, the last gettys) would otherwise share the CPUs with the first attaches.
        sleep 1
        for ((i = 0; i < attaches; i++)); do
                now t2
                guest "$tool" /bin/true || die "$tool: attach /bin/true failed"
                now t3
                r_attach+=("$(ms "$t2" "$t3")")
        done
        r_mem=$(memory "$mon")
        now t2
        stop_guest "$tool" || die "$tool: the stop command failed"
        now t3
        r_stop=$(ms "$t2" "$t3")
        check_stopped "$tool"
        sync
        sleep 0.5 # let the host settle before the next guest
}

decimals=1 # of what median prints
median() { # median VALUE...: the middle value (mean of the two middle ones for an even count)
        printf '%s\n' "$@" | sort -g | awk -v f="%.${decimals}f" '{ v[NR] = $1 }
                END { if (NR % 2) printf f, v[(NR + 1) / 2];
                      else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
spread() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%s-%s", a, b }'; }
summary() { # summary VALUE...: "MEDIAN [MIN-MAX]"
        (($# > 0)) || {
                printf -- '-'
                return
        }
        printf '%s [%s]' "$(median "$@")" "$(spread "$@")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# ---------------------------------------------------------------------------------------------
# The machine and the versions, then the rounds.

cgroup_layout() {
        if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then
                echo "unified (cgroup2 only)"
        elif [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
                echo "hybrid (cgroup1 controllers, name=systemd, cgroup2 at /sys/fs/cgroup/unified)"
        else
                echo "legacy (cgroup1 only)"
        fi
}
guest_systemd=$(awk '/^Package: systemd$/ { p = 1 } p && /^Version:/ { print $2; exit }' \
        "$nroot/var/lib/dpkg/status")
echo "tarball: $tarball"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "Linux $(uname -r), PID 1 is $(ps -o comm= -p 1), scratch on $(findmnt -n -o FSTYPE -T "$base")"
echo "cgroups: $(cgroup_layout)"
echo "lodge:   $lodge ($("$lodge" version 2>/dev/null | head -n1 || echo '?'), commit" \
        "$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' plus changes'))"
echo "LXC:     lxc-start $(lxc-start --version); packages:" \
        "$(dpkg-query -W -f='${Package} ${Version}, ' lxc lxc-templates lxcfs 2>/dev/null | sed 's/, $//')"
echo "nspawn:  $(systemd-nspawn --version | head -n1)"
echo "guest:   Debian bookworm, systemd $guest_systemd; LXC post-stop hooks: '$(lxc_hooks "$xname" | tr '\n' ' ')' (lxc), none (lxc-nohook)"
echo "AppArmor: $([[ -e /sys/module/apparmor ]] && echo "in the kernel" || echo "not in this kernel (no tool confines with it)")"

tools=(lodge lodge-priv lxc lxc-nohook lxc-userns nspawn)
declare -A m_start m_running m_user m_attach m_stop m_rss m_pss m_priv m_cpu m_states
echo
echo "warm-up (one boot of each, not counted)..."
for tool in "${tools[@]}"; do
        run "$tool"
        printf '  %-10s start %s ms, running after %s ms (%s), stop %s ms\n' "$tool" "${r_start:--}" \
                "$r_running" "$r_state" "$r_stop"
done

for ((i = 1; i <= rounds; i++)); do
        order=("${tools[@]:(i - 1) % ${#tools[@]}}" "${tools[@]:0:(i - 1) % ${#tools[@]}}")
        echo "round $i/$rounds: ${order[*]}"
        for tool in "${order[@]}"; do
                run "$tool"
                m_start[$tool]+=${r_start:+ $r_start}
                m_running[$tool]+=" $r_running"
                m_user[$tool]+=" $r_user"
                m_attach[$tool]+=" ${r_attach[*]}"
                m_stop[$tool]+=" $r_stop"
                read -r rss pss priv <<<"$r_mem"
                m_rss[$tool]+=" $rss" m_pss[$tool]+=" $pss" m_priv[$tool]+=" $priv"
                m_cpu[$tool]+=" $r_cpu"
                [[ $r_state == running ]] || m_states[$tool]+=" round$i:$r_state"
                printf '  %-10s start %6s ms  running after %6s ms (guest %6s ms)  attach %s ms' \
                        "$tool" "${r_start:--}" "$r_running" "$r_user" "$(median "${r_attach[@]}")"
                printf '  stop %6s ms  monitor %s KiB rss, %s ms CPU\n' "$r_stop" "$rss" "$r_cpu"
        done
done

# shellcheck disable=SC2086 # the m_* values are space-separated lists of numbers
med() { local -n a=$1; [[ -z ${a[$2]:-} ]] || median ${a[$2]}; }
# shellcheck disable=SC2086
st() { local -n a=$1; summary ${a[$2]:-}; }
# shellcheck disable=SC2086
runs() { local -n a=$1; echo ${a[$2]:-}; }

echo
echo "== boot a Debian systemd guest: $rounds rounds, one guest at a time, order rotated each round"
echo "   milliseconds: median [min-max]; attach over $rounds x $attaches runs; ratio: tool/LXC (medians)"
printf '%-15s %-22s %-22s %-22s %-22s %-18s\n' tool "start command" "start-to-running" \
        "guest userspace" "clean stop" "attach /bin/true"
for tool in "${tools[@]}"; do
        printf '%-15s %-22s %-22s %-22s %-22s %-18s\n' "$tool" "$(st m_start "$tool")" \
                "$(st m_running "$tool")" "$(st m_user "$tool")" "$(st m_stop "$tool")" "$(st m_attach "$tool")"
done
for tool in lodge lodge-priv lxc-nohook lxc-userns nspawn; do
        printf '%-15s %-22s %-22s %-22s %-22s %-18s\n' "$tool/lxc" \
                "$(ratio "$(med m_start "$tool")" "$(med m_start lxc)")" \
                "$(ratio "$(med m_running "$tool")" "$(med m_running lxc)")" \
                "$(ratio "$(med m_user "$tool")" "$(med m_user lxc)")" \
                "$(ratio "$(med m_stop "$tool")" "$(med m_stop lxc)")" \
                "$(ratio "$(med m_attach "$tool")" "$(med m_attach lxc)")"
done
printf '%-15s %-22s %-22s %-22s %-22s %-18s\n' "lodge/lxc-userns" \
        "$(ratio "$(med m_start lodge)" "$(med m_start lxc-userns)")" \
        "$(ratio "$(med m_running lodge)" "$(med m_running lxc-userns)")" \
        "$(ratio "$(med m_user lodge)" "$(med m_user lxc-userns)")" \
        "$(ratio "$(med m_stop lodge)" "$(med m_stop lxc-userns)")" \
        "$(ratio "$(med m_attach lodge)" "$(med m_attach lxc-userns)")"
echo "nspawn has no start command here (a background job); its attach is nsenter -t PID -a."
echo
echo "== the process watching a running guest: memory in KiB when running; CPU it used from the"
echo "   start (its own setup work included) until the guest runs; median [min-max] over the rounds"
decimals=0
row() { # row TOOL PROCESS
        printf '%-15s %-26s %-18s %-18s %-18s %s\n' "$1" "$2" "$(st m_rss "$1")" "$(st m_pss "$1")" \
                "$(st m_priv "$1")" "$(st m_cpu "$1")"
}
printf '%-15s %-26s %-18s %-18s %-18s %s\n' tool process VmRSS Pss "Private" "CPU ms until running"
row lodge "monitor (monitor_pid)"
row lodge-priv "monitor (monitor_pid)"
row lxc "[lxc monitor] (lxc-start)"
row lxc-nohook "[lxc monitor] (lxc-start)"
row lxc-userns "[lxc monitor] (lxc-start)"
row nspawn "systemd-nspawn"
echo
decimals=1
echo "== per round (ms)"
for tool in "${tools[@]}"; do
        [[ $tool == nspawn ]] || printf '%-28s %s\n' "$tool start command" "$(runs m_start "$tool")"
        printf '%-28s %s\n' "$tool start-to-running" "$(runs m_running "$tool")"
        printf '%-28s %s\n' "$tool guest userspace" "$(runs m_user "$tool")"
        printf '%-28s %s\n' "$tool clean stop" "$(runs m_stop "$tool")"
done
for tool in "${tools[@]}"; do
        [[ -z ${m_states[$tool]:-} ]] || echo "$me: $tool was not 'running' in:${m_states[$tool]}"
done

target() { # target WHAT VALUE LIMIT
        printf '%-44s %-10s %-10s %s\n' "$1" "$2" "$3" \
                "$(awk -v v="$2" -v l="$3" 'BEGIN { print (v != "-" && v + 0 <= l + 0) ? "met" : "MISSED" }')"
}
echo
echo "== lodge's targets"
printf '%-44s %-10s %-10s %s\n' target lodge limit ""
target "start command / lxc-start (ratio)" "$(ratio "$(med m_start lodge)" "$(med m_start lxc)")" 0.5
target "start-to-running / LXC's (ratio)" "$(ratio "$(med m_running lodge)" "$(med m_running lxc)")" 0.9
target "clean stop (ms) <= nspawn's" "$(med m_stop lodge)" "$(med m_stop nspawn)"
target "attach (ms) <= nsenter's" "$(med m_attach lodge)" "$(med m_attach nspawn)"
target "monitor VmRSS (KiB) <= 1 MiB" "$(med m_rss lodge)" 1024
