#!/bin/bash
# Proves: `exec` enters a running container: by default every namespace
# it has (compared by /proc/self/ns/* inode with the container's first
# process) and its cgroup; `--ns LIST` joins only those (the others stay
# the caller's); `--no-cgroup` stays in the caller's cgroup; the command
# runs in the container's pid namespace (not pid 1), with its environment
# plus -e, its security context (CapEff, CapBnd, NoNewPrivs, Seccomp as
# the container's), -u, -w; its exit code (and 127 for a missing command)
# comes back; -t gives a pty; exec into a stopped container is refused;
# a foreground `run` is listed by ps while it runs and exec reaches it,
# and `mount` gives its /proc/PID/root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb
n=$(uniq_name)
ok run -d --name "$n" -e FROMRUN=1 --cap-drop NET_RAW bb sleep 100
id=$out; lc_track "$id"
pid=$(state_of "$id" pid)
ns_of() { for x in pid mnt uts ipc net cgroup; do printf '%s=%s ' $x "$(stat -Lc %i "$1/ns/$x")"; done; }
ctr_ns=$(ns_of "/proc/$pid")
host_ns=$(ns_of /proc/self)

# The exec'd shell prints its own view; compare inodes (read through
# /proc/self inside the container, which is its own pid ns's procfs).
ok exec "$n" sh -c 'for x in pid mnt uts ipc net cgroup; do printf "%s=%s " $x $(stat -Lc %i /proc/self/ns/$x); done'
[ "$out" = "$ctr_ns" ] || fail "exec: ns '$out', container '$ctr_ns'"
ok exec --ns uts,net "$n" sh -c 'for x in pid mnt uts ipc net cgroup; do printf "%s=%s " $x $(stat -Lc %i /proc/self/ns/$x); done'
want=""
for x in pid mnt uts ipc net cgroup; do
	case $x in uts|net) src=$ctr_ns ;; *) src=$host_ns ;; esac
	want="$want$x=$(echo "$src" | tr ' ' '\n' | grep "^$x=" | cut -d= -f2) "
done
[ "$out" = "$want" ] || fail "exec --ns uts,net: '$out', want '$want'"

# pid namespace: the command is in it, not pid 1.
ok exec "$n" sh -c 'echo $$; cat /proc/1/cmdline | tr "\0" " "'
[ "$(echo "$out" | head -1)" != 1 ] || fail "exec'd command is pid 1"
[ "$(echo "$out" | tail -1)" = "sleep 100 " ] || fail "exec does not see the container's pid 1: $out"

# cgroup: joined by default, not with --no-cgroup. Without the cgroup
# namespace /proc/self/cgroup shows the full paths the host sees.
ok exec --ns pid,mnt "$n" sh -c 'cat /proc/self/cgroup'
cg_in=$out
ok exec --no-cgroup --ns pid,mnt "$n" sh -c 'cat /proc/self/cgroup'
cg_out=$out
ctr_cg=$(cat "/proc/$pid/cgroup")
[ "$cg_in" = "$ctr_cg" ] || fail "exec is not in the container's cgroup: '$cg_in' vs '$ctr_cg'"
echo "$cg_out" | grep -q "$id" && fail "exec --no-cgroup joined the container's cgroup: $cg_out"
[ "$cg_out" = "$(cat /proc/self/cgroup)" ] || fail "exec --no-cgroup is not in the caller's cgroup: $cg_out"

# Environment, user, workdir, security context.
ok exec -e FOO=bar -u 1000:1000 -w /tmp "$n" sh -c 'echo $FROMRUN $FOO $(id -u):$(id -g) $(pwd)'
[ "$out" = "1 bar 1000:1000 /tmp" ] || fail "exec -e -u -w: $out"
for f in CapEff CapBnd NoNewPrivs Seccomp; do
	want=$(grep "^$f:" "/proc/$pid/status")
	ok exec "$n" grep "^$f:" /proc/self/status
	[ "$out" = "$want" ] || fail "exec $f: '$out', container '$want'"
done

# Exit codes.
cb exec "$n" sh -c 'exit 7'
[ "$rc" = 7 ] || fail "exec exit code $rc, want 7"
cb exec "$n" nosuchcommand
[ "$rc" = 127 ] || fail "exec of a missing command: $rc, want 127"
echo "$err" | grep -q "exec $n: exec nosuchcommand" || fail "missing command error: $err"
# -t: a pty of the container's own devpts; the exit code still comes back.
if command -v script >/dev/null; then
	set +e
	tout=$(script -qec "'$COWBOX' exec -t '$n' sh -c 'tty; exit 3'" /dev/null </dev/null)
	trc=$?
	set -e
	[ "$trc" = 3 ] || fail "exec -t: rc $trc, want 3 ($tout)"
	echo "$tout" | tr -d '\r' | grep -Eqx '/dev/pts/[0-9]+' || fail "exec -t: no pty: $tout"
fi
# --network container:NAME finds a detached container by its state and
# shares its network namespace (its own, with only lo: nothing of the host).
ok exec "$n" readlink /proc/self/ns/net
theirs=$out
ok run --rm --network "container:$n" bb readlink /proc/self/ns/net
[ "$out" = "$theirs" ] || fail "--network container:$n: $out, want $theirs"
ok stop -t 1 "$n"
refuse "exec $n: container is not running" exec "$n" true

# A foreground run is a running container too.
f=$(uniq_name)
"$COWBOX" run --rm --name "$f" bb sleep 5 >/dev/null 2>&1 &
fgpid=$!
on_exit "kill $fgpid 2>/dev/null"
until_true 5 eval '"$COWBOX" ps | grep -q " $f\$"' || fail "a foreground run is not in ps: $("$COWBOX" ps)"
ok exec "$f" cat /proc/1/comm
[ "$out" = sleep ] || fail "exec into a foreground run: $out"
# Its rootfs is only in its own namespace: mount gives its /proc/PID/root
# (never a second overlay on the same upper dir). Before Linux 6.8 (no
# detached overlay with lowerdir+: storage/overlay.c) it is mounted on the
# host as well, and mount gives that.
ok mount "$f"
case $out in
/proc/*/root) ;;
"$COWBOX_ROOT"/containers/*/merged) grep -q " $out overlay " /proc/self/mounts ||
	fail "mount gave $out, which is not mounted" ;;
*) fail "mount of a foreground container: $out" ;;
esac
[ -d "$out/bin" ] || fail "no /bin under $out"
ok stop -t 1 "$f"
wait $fgpid || true
until_true 5 eval '! "$COWBOX" ps -a | grep -q " $f\$"' || fail "the --rm foreground run is still listed"
say "exec: ok (foreground too)"
