#!/bin/bash
# Proves: --add-host lines appear in the container's /etc/hosts (IPv4 and
# IPv6); --dns, --dns-search and --dns-option replace those lines of the
# host's resolv.conf and keep the rest; --group-add adds supplementary
# groups (a name from the container's /etc/group, a number); --ulimit sets
# soft and hard limits, for exec'd commands too (lowered here: root lacks CAP_SYS_RESOURCE, so a
# hard limit above the current one is refused with the kernel's reason
# and exit 125); --device binds a host device node; a created container
# keeps them for `start`; bad values
# are refused before anything is made, with exit 125.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb

ok run --rm --add-host db:10.1.2.3 --add-host six=[fd00::1] bb cat /etc/hosts
grep -qx $'10.1.2.3\tdb' <<<"$out" || fail "--add-host db missing: $out"
grep -qx $'fd00::1\tsix' <<<"$out" || fail "--add-host six missing: $out"
grep -q '^127.0.0.1' <<<"$out" || fail "localhost line lost: $out"

ok run --rm --dns 9.9.9.9 --dns 1.1.1.1 --dns-search example.com --dns-search corp.test \
	--dns-option ndots:2 bb cat /etc/resolv.conf
[ "$(grep -c '^nameserver' <<<"$out")" = 2 ] || fail "--dns: $out"
grep -qx 'nameserver 9.9.9.9' <<<"$out" && grep -qx 'nameserver 1.1.1.1' <<<"$out" || fail "--dns: $out"
grep -qx 'search example.com corp.test' <<<"$out" || fail "--dns-search: $out"
grep -qx 'options ndots:2' <<<"$out" || fail "--dns-option: $out"
# Only the nameservers replaced: the host's other lines stay.
ok run --rm --dns 9.9.9.9 bb cat /etc/resolv.conf
want=$(grep -v '^nameserver' /etc/resolv.conf; echo 'nameserver 9.9.9.9')
[ "$out" = "$want" ] || fail "--dns alone: got [$out], want [$want]"

ok run --rm --group-add daemon --group-add 4242 bb id -G
for g in 1 4242; do
	grep -qw "$g" <<<"$out" || fail "--group-add: group $g missing from $out"
done

ok run --rm --ulimit nofile=100:200 --ulimit core=0 bb sh -c 'ulimit -n; ulimit -Hn; ulimit -c'
[ "$(tr '\n' ' ' <<<"$out")" = "100 200 0 " ] || fail "--ulimit: $out"
# Raising a hard limit needs CAP_SYS_RESOURCE (bit 24), which root lacks on
# these machines: then cowbox must say so, not start with less.
hard=$(ulimit -Hn)
capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
if [ "$hard" != unlimited ] && [ $(((0x$capeff >> 24) & 1)) = 0 ]; then
	refuse 'ulimit nofile: Operation not permitted' run --rm --ulimit nofile=10:$((hard + 1)) bb true
else
	say "CAP_SYS_RESOURCE held (or no hard limit): raising is allowed here, not checked"
fi

# --device binds the host's node (here /dev/fuse, and again at another
# path), usable: there is no device cgroup, Landlock only stops mknod.
if [ -c /dev/fuse ]; then
	ok run --rm --device /dev/fuse --device /dev/fuse:/dev/f2:rwm bb \
		sh -c 'exec 3<>/dev/fuse && exec 4<>/dev/f2 && stat -c "%t:%T" /dev/fuse /dev/f2'
	[ "$(tr '\n' ' ' <<<"$out")" = "a:e5 a:e5 " ] || fail "--device: $out"
	refuse 'permissions r: only rw' run --rm --device /dev/fuse:/dev/fuse:r bb true
fi
refuse 'device /etc/passwd: /etc/passwd is not a device node' run --rm --device /etc/passwd bb true

# exec runs with the container's limits, and its groups when it runs as
# the container's user (with -u, that user's own).
ok run -d --ulimit nofile=77:88 --group-add 4242 bb sleep 60
e=$out
lc_track "$e"
ok exec "$e" sh -c 'ulimit -n; ulimit -Hn; id -G'
[ "$(tr '\n' ' ' <<<"$out")" = "77 88 0 4242 " ] || fail "exec: limits and groups: $out"
ok exec -u nobody "$e" sh -c 'ulimit -n; id -G'
[ "$(tr '\n' ' ' <<<"$out")" = "77 65534 " ] || fail "exec -u nobody: $out"
ok rm -f "$e"

# create keeps the options for start.
ok create --add-host keep:10.9.9.9 --ulimit nofile=64 bb sh -c 'grep keep /etc/hosts; ulimit -n'
c=$out
lc_track "$c"
ok start -a "$c"
[ "$(tr '\n' ' ' <<<"$out")" = $'10.9.9.9\tkeep 64 ' ] || fail "start of a created container: $out"
ok rm "$c"

n=$(ls "$COWBOX_ROOT/containers" | grep -c . || true)
refuse 'add-host db: expected NAME:IP' run --rm --add-host db bb true
refuse 'add-host .*expected NAME:IP' run --rm --add-host 'a b:1.2.3.4' bb true
refuse 'dns x: not an IP address' run --rm --dns x bb true
refuse 'dns-search .*expected one word' run --rm --dns-search 'a b' bb true
refuse 'ulimit nofile=300:100: expected' run --rm --ulimit nofile=300:100 bb true
refuse 'ulimit files=1: expected' run --rm --ulimit files=1 bb true
refuse 'group nosuch: not found in /etc/group' run --rm --group-add nosuch bb true
[ "$(ls "$COWBOX_ROOT/containers" | grep -c . || true)" = "$n" ] || fail "a refused run left a container"
store_check
echo "ok: --add-host, --dns*, --group-add, --ulimit, --device"
