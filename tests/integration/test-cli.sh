#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The command line itself: help, exit codes, bad names, missing containers.
. "$(dirname "$0")/lib.sh"

expect 2 'usage: lodge' -- lodge
ok "no command is a usage error"
expect 2 "unknown command 'bogus'" -- lodge bogus
ok "unknown command is a usage error"
expect 2 '' -- lodge --bogus-flag
ok "unknown global flag is a usage error"
expect 0 '' -- lodge --help
grep -q 'commands:' "$TEST_DIR/out" || fail "--help lists no commands"
expect 0 '' -- lodge --version
grep -Eq '^lodge [0-9]' "$TEST_DIR/out" || fail "--version prints no version"
ok "--help and --version"

for cmd in create destroy list info config version copy snapshot snapshot-list restore snapshot-delete; do
        expect 0 '' -- lodge "$cmd" --help
        grep -q "usage: lodge $cmd" "$TEST_DIR/out" || fail "$cmd --help has no usage line"
        expect 0 '' -- lodge help "$cmd"
done
ok "--help for every command"
expect 0 '' -- lodge create -t local --help
grep -q -- '--file' "$TEST_DIR/out" || fail "create -t local --help doesn't list --file"
expect 0 '' -- lodge create --list-templates
grep -q '^local' "$TEST_DIR/out" || fail "--list-templates doesn't list local"
ok "template help"

# Bad names are usage errors, and nothing at all is written.
bad_names=(".." "../escaped" "a/b" "." "-leading" "sp ace" 'q"uote' "üñí" "*"
        "$(printf 'nl\nlxc.hook.pre-start=/bin/true')"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
for n in "${bad_names[@]}"; do
        if [[ $n == -* ]]; then # before "--", getopt takes it for options
                expect 2 'invalid option' -- lodge create -t local "$n" -- --file /nonexistent
        else
                expect 2 'invalid container name' -- lodge create -t local "$n" -- --file /nonexistent
        fi
        expect 2 'invalid container name' -- lodge destroy -- "$n"
        expect 2 'invalid container name' -- lodge info -- "$n"
        expect 2 'invalid container name' -- lodge config -- "$n" show
done
# Without "--", a leading dash is an option: still a usage error.
expect 2 'invalid option' -- lodge info -leading
# The injected line never reaches stderr verbatim.
expect 2 'nl\\x0alxc' -- lodge info "$(printf 'nl\nlxc.hook=1')"
[ ! -e "$LODGE_ROOT" ] || fail "a bad name wrote $LODGE_ROOT"
[ ! -e "$(dirname "$LODGE_ROOT")/escaped" ] || fail "'../escaped' made a directory"
ok "bad names refused before anything is written"

expect 0 '' -- lodge list
grep -q '^NAME' "$TEST_DIR/out" || fail "list prints no header"
expect 0 '' -- lodge list --format json
[ "$(cat "$TEST_DIR/out")" = "[]" ] || fail "empty json list is not []"
expect 2 "unknown format" -- lodge list --format yaml
ok "list on an empty root"

expect 1 '^lodge: ghost: no such container' -- lodge info ghost
expect 1 '^lodge: ghost: no such container' -- lodge destroy ghost
expect 1 '^lodge: ghost: no such container' -- lodge config ghost show
ok "missing containers are errors naming the container"

expect 2 'expected one container name' -- lodge create
expect 2 "unknown template 'nope'" -- lodge create web -t nope
expect 2 "storage backend 'zfs'" -- lodge create web --storage zfs -- --file /x
expect 2 "'/nonexistent/rootfs.tar'" -- lodge create web -t local -- --file /nonexistent/rootfs.tar
expect 2 'limits.memory' -- lodge create web -c limits.memory=64MiBB -- --file /x
expect 2 "'name' is set by lodge" -- lodge create web -c name=other -- --file /x
expect 2 "'name' is set by lodge" -- lodge create web -c " name = other" -- --file /x
expect 2 "KEY=VALUE" -- lodge create web -c limits.memory -- --file /x
[ ! -e "$LODGE_ROOT" ] || fail "a refused create wrote $LODGE_ROOT"
ok "create usage errors are found before anything is written"

# --- check: every layer, a state each; on a host without AppArmor it says so, and why
expect 0 '' -- lodge check --format json
python3 - "$TEST_DIR/out" <<'EOF' || fail "check --format json: $(cat "$TEST_DIR/out")"
import json, sys
items = json.load(open(sys.argv[1]))
layers = {i["layer"]: i for i in items}
for l in ("namespaces", "user namespaces", "idmapped mounts", "cgroups", "device cgroup",
          "capabilities", "seccomp", "apparmor", "safe paths", "pidfd", "monitor", "downloads"):
    assert l in layers, l
assert layers["idmapped mounts"]["state"] == "ok", layers["idmapped mounts"]
assert all(i["state"] in ("ok", "warn", "missing") and i["detail"] for i in items), items
EOF
expect 0 '' -- lodge check
grep -q '^apparmor ' "$TEST_DIR/out" || fail "no apparmor line: $(cat "$TEST_DIR/out")"
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ]; then
        grep -Eq '^apparmor +warn +not enforced' "$TEST_DIR/out" ||
                fail "check doesn't say AppArmor is not enforced here: $(cat "$TEST_DIR/out")"
fi
expect 2 'unexpected argument' -- lodge check extra
expect 2 "unknown format" -- lodge check --format yaml
ok "check: every confinement layer with its state, table and JSON; AppArmor's absence stated"
