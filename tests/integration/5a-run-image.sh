#!/bin/bash
# Proves: `cowbox run IMAGE` takes the process from the image config with
# docker's rules (Cmd, Entrypoint, --entrypoint, args after IMAGE, Env
# under -e, WorkingDir under -w), runs it in the image's copy-on-write
# rootfs, returns its exit code, and --rm leaves no container, mount or
# layer change behind; without --rm the container stays with its changes;
# a run that writes nothing leaves `cowbox diff` empty (the /etc/hosts,
# /etc/hostname and /etc/resolv.conf it is given come from the init
# layer, not its upper dir), and the container sees them with its content.
# The user and the command's file, which the launcher works out from the
# rootfs while the container mounts, end as the container's own lookups:
# image users and groups, a volume's /etc/passwd, a file on $PATH the
# user may not run skipped, 127 for a command not found; a FIFO for
# /etc/passwd does not hang the start. `ps -a` shows the command that ran.
. "$(dirname "$0")/lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb
# The CPUs it may use are the caller's: the launcher moves the child off
# its own CPU for the start (runtime.c leave_cpu_to_child) and back.
cpus() { awk '/^Cpus_allowed_list/ {print $2}' "${1:-/proc/self/status}"; }
ok run --rm bb grep Cpus_allowed_list /proc/self/status
[ "${out##*[[:space:]]}" = "$(cpus)" ] || fail "the container's CPUs: $out, the caller's $(cpus)"
if [ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null; then
	# (Without a cgroup: on v2 joining one sets the cgroup's CPUs.)
	out=$(taskset -c 1 "$COWBOX" run --rm --no-cgroup bb grep Cpus_allowed_list /proc/self/status)
	[ "${out##*[[:space:]]}" = 1 ] || fail "a caller held to CPU 1: the container's CPUs $out"
	out=$(taskset -c 0,1 "$COWBOX" run --rm --cpuset-cpus 1 bb \
		grep Cpus_allowed_list /proc/self/status)
	[ "${out##*[[:space:]]}" = 1 ] || fail "--cpuset-cpus 1: the container's CPUs $out"
fi
# The fixture's config: Cmd ["sh"], WorkingDir /root, Env with PATH.
ok run --rm bb sh -c pwd
[ "$out" = /root ] || fail "WorkingDir not used: $out"
ok run --rm -w /tmp bb sh -c pwd
[ "$out" = /tmp ] || fail "-w not used: $out"
ok run --rm -e FOO=bar bb sh -c 'echo $FOO:$PATH'
[ "$out" = "bar:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ] || fail "env: $out"
ok run --rm --entrypoint /bin/echo bb hello world
[ "$out" = "hello world" ] || fail "--entrypoint: $out"
ok run --rm bb
[ "$out" = "" ] || fail "default Cmd sh with stdin closed: $out"
cb run --rm bb sh -c 'exit 7'
[ "$rc" = 7 ] || fail "exit code $rc, want 7"
cb run --rm bb nosuchcommand
[ "$rc" = 127 ] || fail "missing command: rc $rc, want 127"
refuse "run nosuchimage: nosuchimage: no such image" run --rm nosuchimage true

# The hostname is the short container ID.
ok run --rm bb hostname
[[ $out =~ ^[0-9a-f]{12}$ ]] || fail "hostname: $out"

# The rootfs is the image's, copy-on-write: a change stays in the container.
ok run --name keep bb sh -c 'echo changed > /etc/motd-new; rm /etc/passwd'
ok ps -a
echo "$out" | grep -E ' Exited \(0\) .* keep$' >/dev/null || fail "ps -a does not show keep as exited: $out"
# Its command, read from the image late (while the child is cloned), is
# what the state records: not the image's name.
grep -E '"sh -c .*keep$' <<<"$out" >/dev/null || fail "ps -a shows keep's command wrong: $out"
ok inspect keep
echo "$out" | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]
assert c["Name"] == "keep" and len(c["Id"]) == 64, c
assert c["Image"].startswith("sha256:") and len(c["Layers"]) == 2, c
assert c["State"]["Status"] == "exited" and c["State"]["ExitCode"] == 0, c
' || fail "inspect of a container: $out"
ok diff keep
echo "$out" | grep -qx "A /etc/motd-new" || fail "diff lacks the new file: $out"
echo "$out" | grep -qx "D /etc/passwd" || fail "diff lacks the deletion: $out"
ok run --rm bb cat /etc/passwd
echo "$out" | grep -q '^root:' || fail "another container saw the change"
ok run --name quiet bb sh -c 'cat /etc/hostname /etc/hosts /etc/resolv.conf >/dev/null; hostname'
host=$out
ok diff quiet
[ -z "$out" ] || fail "a run that wrote nothing has changes: $out"
[ -z "$(ls -A "$COWBOX_ROOT/containers/$(ls "$COWBOX_ROOT/containers" | grep -v '^\.' | while read -r c; do grep -q '"quiet"' "$COWBOX_ROOT/containers/$c/container.json" && echo "$c"; done)/upper")" ] ||
	fail "the quiet run wrote into its upper dir"
[ ${#host} = 12 ] || fail "hostname: $host"
ok rm quiet

# The user and the command's file, worked out by the parent from the
# rootfs while the child mounts (docs/runtime.md, step 4a), end as the
# child's own lookups would: ids, groups and home from the image's files;
# with a volume over /etc/passwd, that file; a file first on $PATH that
# the user may not run is skipped for the next (the child's search).
ok run --rm -u nobody --group-add 27 bb sh -c 'id; echo $HOME'
[ "$out" = "uid=65534(nobody) gid=65534(nogroup) groups=27
/nonexistent" ] || fail "user worked out ahead: $out"
refuse 'user nosuch: not found in /etc/passwd' run --rm -u nosuch bb true
printf 'root:x:0:0:root:/root:/bin/sh\nzed:x:4242:4343:zed:/home/zed:/bin/sh\n' >"$TESTTMP/passwd"
ok run --rm -v "$TESTTMP/passwd:/etc/passwd:ro" -u zed bb sh -c 'id -u; echo $HOME'
[ "$out" = "4242
/home/zed" ] || fail "a volume's /etc/passwd: $out"
ok run --name rootonly bb sh -c 'printf "#!/bin/sh\necho rootonly\n" >/usr/local/bin/true && chmod 700 /usr/local/bin/true'
ok commit rootonly bb-rootonly
ok rm rootonly
ok run --rm bb-rootonly true
[ "$out" = rootonly ] || fail "root did not run the first true on \$PATH: $out"
# (Without CAP_DAC_OVERRIDE: with it, execve passes any execute bit.)
ok run --rm --cap-drop ALL -u nobody bb-rootonly true
[ -z "$out" ] || fail "nobody ran a 0700 root file: $out"
cb run --rm bb nosuchcmd
[ "$rc" = 127 ] || fail "a command not found: exit $rc, $err"
ok rmi bb-rootonly
# An image whose /etc/passwd is a FIFO: neither cowbox nor its child opens
# it to wait for a writer that never comes (that start hung before).
ok run --name fifo bb sh -c 'rm /etc/passwd && mkfifo /etc/passwd'
ok commit fifo bb-fifo
ok rm fifo
timeout -s KILL 30 "$COWBOX" run --rm bb-fifo true || fail "a FIFO /etc/passwd: the start hung or failed"
ok rmi bb-fifo
ok rm keep
[ -z "$(ls "$COWBOX_ROOT/containers" | grep -v '^\.')" ] || fail "containers left: $(ls "$COWBOX_ROOT/containers")"
grep -q "$COWBOX_ROOT" /proc/self/mountinfo && fail "a mount is left"
store_check
