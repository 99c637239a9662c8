#!/bin/bash
# Proves: --sysctl sets namespaced settings inside the container (both the
# dotted and the path spelling) and leaves the host's as they were, and
# refuses what is not the container's own (a setting that is not
# namespaced, net.* without its own network namespace, IPC ones without
# its IPC namespace), with exit 125 and nothing left behind; a setting the
# kernel does not have fails the start with its name; --shm-size sizes
# /dev/shm; --mount type=bind (readonly or not) and type=tmpfs
# (tmpfs-size, tmpfs-mode) mount what -v and --tmpfs mount, and bad
# --mount values are refused naming the option; --oom-score-adj is the
# process's, and lowering it without CAP_SYS_RESOURCE is refused with the
# reason; --cpu-shares, --memory-swap and --memory-reservation land in the
# cgroup files of the version in use (v1 here, v2 in cbvm: 5v runs this
# test too); --cidfile holds the ID of run, run --rm and create, and an
# existing one is refused before a container is made; created containers
# keep the options for `start`; a run whose container cannot be made once
# its child has started (a name taken) leaves nothing behind, and one that
# fails before its container is made keeps it (exited 125) without --rm.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
busybox_rootfs "$ROOT"
ok import "$FIXTURES/busybox-gzip.oci" bb

# A regression here would change the host's names: put them back, and
# fail, whatever happens.
host_hostname=$(hostname)
host_domainname=$(cat /proc/sys/kernel/domainname)
restore_names() {
	[ "$(hostname)" = "$host_hostname" ] || hostname "$host_hostname"
	[ "$(cat /proc/sys/kernel/domainname)" = "$host_domainname" ] ||
		echo "$host_domainname" >/proc/sys/kernel/domainname
}
on_exit restore_names

# --sysctl: the container's own values; the host's untouched.
host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
host_shm=$(cat /proc/sys/kernel/shmmax)
host_lo=$(cat /proc/sys/net/ipv4/conf/lo/forwarding)
want_fwd=$((1 - host_fwd))
ok run --rm --sysctl net.ipv4.ip_forward=$want_fwd --sysctl kernel.shmmax=123456789 \
	--sysctl net/ipv4/conf/lo/forwarding=1 --sysctl 'kernel.sem=250 32000 32 128' \
	--sysctl fs.mqueue.msg_max=20 bb sh -c \
	'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/net/ipv4/conf/lo/forwarding /proc/sys/fs/mqueue/msg_max; tr -s "\t " "  " </proc/sys/kernel/sem'
[ "$(echo $out)" = "$want_fwd 123456789 1 20 250 32000 32 128" ] || fail "--sysctl inside: $out"
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_fwd" ] || fail "--sysctl changed the host's ip_forward"
[ "$(cat /proc/sys/kernel/shmmax)" = "$host_shm" ] || fail "--sysctl changed the host's shmmax"
[ "$(cat /proc/sys/net/ipv4/conf/lo/forwarding)" = "$host_lo" ] || fail "--sysctl changed the host's lo"
# Kept for start.
ok create --sysctl kernel.shmmax=7777777 bb cat /proc/sys/kernel/shmmax
cid=$out
ok start -a "$cid"
[ "$out" = 7777777 ] || fail "--sysctl after create + start: $out"
ok rm "$cid"
say "--sysctl: set inside, the host's as it was, kept for start"

before=$(store_state)
refuse 'vm.swappiness=10: not namespaced' run --rm --sysctl vm.swappiness=10 bb true
refuse 'ip_forward=1: needs the container.s own network namespace' \
	run --rm --network host --sysctl net.ipv4.ip_forward=1 bb true
refuse 'ip_forward=1: needs the container.s own network namespace' \
	run --rm --no-ns net --sysctl net.ipv4.ip_forward=1 bb true
refuse 'shmmax=1: needs the container.s own IPC namespace' \
	run --rm --ipc host --sysctl kernel.shmmax=1 bb true
refuse 'kernel.hostname=x: use --hostname' run --rm --sysctl kernel.hostname=x bb true
# A joined namespace is not the container's own, whatever --ns said
# before; an --ns after it makes it new again (the last word wins), and
# the host's setting stays as it was.
host_dom=$(cat /proc/sys/kernel/domainname)
refuse 'domainname=cbt: needs the container.s own UTS namespace' \
	run --rm --ns pid,mnt,uts,ipc,net,cgroup --uts "ns:/proc/$$/ns/uts" --sysctl kernel.domainname=cbt bb true
refuse 'shmmni=4000: needs the container.s own IPC namespace' \
	run --rm --ns pid,mnt,uts,ipc,net,cgroup --ipc "ns:/proc/$$/ns/ipc" --sysctl kernel.shmmni=4000 bb true
ok run --rm --uts "ns:/proc/$$/ns/uts" --ns pid,mnt,uts,ipc,net,cgroup --sysctl kernel.domainname=cbt \
	bb cat /proc/sys/kernel/domainname
[ "$out" = cbt ] || fail "--ns after --uts ns:PATH: domainname $out"
[ "$(cat /proc/sys/kernel/domainname)" = "$host_dom" ] || fail "the host's domainname changed"
[ "$(hostname)" = "$host_hostname" ] || fail "the host's hostname changed to $(hostname)"

refuse 'net.ipv4..x=1: not a sysctl name' run --rm --sysctl net.ipv4..x=1 bb true
refuse 'expected NAME=VALUE' run --rm --sysctl net.ipv4.ip_forward bb true
refuse 'sysctl net.ipv4.no_such_setting=1: No such file' \
	run --rm --sysctl net.ipv4.no_such_setting=1 bb true
[ "$(store_state)" = "$before" ] || fail "a refused --sysctl left something in the store"
[ -z "$(ls /run/cowbox | grep -E '^[0-9a-f]{64}$' | while read -r i; do
	[ -d "$COWBOX_ROOT/containers/$i" ] && echo "$i"; done)" ] || fail "run state left behind"
say "--sysctl: refusals name the setting and the reason"

# --shm-size
ok run --rm --rootfs "$ROOT" --shm-size 3m sh -c 'df -k /dev/shm | tail -1'
[ "$(echo "$out" | awk '{print $2}')" = 3072 ] || fail "--shm-size 3m: $out"
ok run --rm --rootfs "$ROOT" sh -c 'df -k /dev/shm | tail -1'
[ "$(echo "$out" | awk '{print $2}')" = 65536 ] || fail "/dev/shm default: $out"
refuse 'shm-size x: expected a size' run --rm --rootfs "$ROOT" --shm-size x true

# --mount
mkdir -p "$TESTTMP/vol"
echo from-host >"$TESTTMP/vol/f"
cb run --rm --mount "type=bind,source=$TESTTMP/vol,target=/data,readonly" bb \
	sh -c 'cat /data/f; echo x >/data/g'
[ "$out" = from-host ] && [ "$rc" != 0 ] && [ ! -e "$TESTTMP/vol/g" ] || fail "readonly bind: rc $rc, $out $err"
ok run --rm --mount "type=bind,src=$TESTTMP/vol,dst=/data" bb sh -c 'echo y >/data/g'
[ "$(cat "$TESTTMP/vol/g")" = y ] || fail "a writable bind did not write through"
ok run --rm --mount type=tmpfs,target=/scratch,tmpfs-size=2m,tmpfs-mode=0700 bb \
	sh -c 'df -k /scratch | tail -1; stat -c %a /scratch'
[ "$(echo "$out" | awk 'NR==1 {print $2} NR==2 {print}' | tr '\n' ' ')" = "2048 700 " ] ||
	fail "tmpfs mount: $out"
refuse 'type=volume.*expected type=bind or type=tmpfs' \
	run --rm --mount type=volume,source=v,target=/x bb true
refuse 'unknown or empty option bogus' run --rm --mount "type=bind,source=$TESTTMP/vol,target=/x,bogus=1" bb true
refuse 'bind-propagation=shared: only rprivate' \
	run --rm --mount "type=bind,source=$TESTTMP/vol,target=/x,bind-propagation=shared" bb true
refuse 'volume /nonexistent-cbt: No such file' run --rm --mount type=bind,source=/nonexistent-cbt,target=/x bb true
say "--shm-size, --mount: bind ro/rw, tmpfs size and mode, refusals"

# --oom-score-adj: raising is anyone's; lowering below ours needs
# CAP_SYS_RESOURCE (bit 24), which root lacks on these machines.
host_init_oom=$(cat /proc/1/oom_score_adj)
ok run --rm --rootfs "$ROOT" --oom-score-adj 500 cat /proc/self/oom_score_adj
[ "$out" = 500 ] || fail "--oom-score-adj 500: $out"
capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
if [ $(((0x$capeff >> 24) & 1)) = 0 ] && [ "$(cat /proc/self/oom_score_adj)" -gt -1000 ]; then
	refuse 'oom_score_adj -1000 .*needs CAP_SYS_RESOURCE.*Permission denied' \
		run --rm --rootfs "$ROOT" --oom-score-adj -1000 true
fi
refuse 'oom-score-adj 1001: expected -1000 to 1000' run --rm --rootfs "$ROOT" --oom-score-adj 1001 true
# With a user namespace (the file is host root's: cowbox writes it), and
# for what exec starts.
# (A chrooted process may not make a user namespace: cbvm runs us so.)
if unshare -U true 2>/dev/null; then
	ok run --rm --userns 0:100000:65536 --oom-score-adj 200 bb cat /proc/self/oom_score_adj
	[ "$out" = 200 ] || fail "--oom-score-adj with --userns: $out"
else
	say "no user namespaces here (chrooted?): --oom-score-adj with --userns not checked"
fi
ok run -d --name oomx --oom-score-adj 300 bb sleep 300
until_true 5 sh -c "'$COWBOX' exec oomx true" || fail "oomx did not start"
ok exec oomx cat /proc/self/oom_score_adj
[ "$out" = 300 ] || fail "exec's oom_score_adj: $out"
ok rm -f oomx
[ "$(cat /proc/1/oom_score_adj)" = "$host_init_oom" ] || fail "the host's pid 1 oom_score_adj changed"

# --cpu-shares, --memory-swap, --memory-reservation: the cgroup files.
P=$(uniq_name)
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then V=2
elif [ -d /sys/fs/cgroup/memory ] && ! grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then V=1
else V=; fi
dir() { if [ "$V" = 2 ]; then echo "/sys/fs/cgroup/$P"; else echo "/sys/fs/cgroup/$1/$P"; fi; }
cleanup() { rm_cgroup_dirs $(for c in memory pids cpu cpuset; do dir $c; done); }
on_exit cleanup
wait_value() { for _ in $(seq 200); do for f in $1; do [ "$(cat "$f" 2>/dev/null)" = "$2" ] && return 0; done; sleep 0.05; done; return 1; }
if [ -n "$V" ]; then
	"$COWBOX" run --rootfs "$ROOT" --cgroup-parent "$P" --cpu-shares 512 --memory 64m \
		--memory-swap 96m --memory-reservation 32m sleep 3 &
	bg=$!
	if [ $V = 2 ]; then
		wait_value "$(dir cpu)/*/cpu.weight" 59 || fail "cpu.weight: $(cat $(dir cpu)/*/cpu.weight 2>&1)"
		wait_value "$(dir memory)/*/memory.low" $((32 << 20)) || fail "memory.low"
		if ls $(dir memory)/*/memory.swap.max >/dev/null 2>&1; then
			wait_value "$(dir memory)/*/memory.swap.max" $((32 << 20)) || fail "memory.swap.max: $(cat $(dir memory)/*/memory.swap.max)"
		fi
	else
		wait_value "$(dir cpu)/*/cpu.shares" 512 || fail "cpu.shares"
		wait_value "$(dir memory)/*/memory.soft_limit_in_bytes" $((32 << 20)) || fail "soft limit"
		if ls $(dir memory)/*/memory.memsw.limit_in_bytes >/dev/null 2>&1; then
			wait_value "$(dir memory)/*/memory.memsw.limit_in_bytes" $((96 << 20)) || fail "memsw: $(cat $(dir memory)/*/memory.memsw.limit_in_bytes)"
		fi
	fi
	wait $bg || fail "the limited container failed"
	say "cgroup v$V: --cpu-shares, --memory-swap, --memory-reservation written"
fi
refuse 'memory-swap needs --memory' run --rm --rootfs "$ROOT" --memory-swap 1g true
refuse 'less than --memory' run --rm --rootfs "$ROOT" --memory 64m --memory-swap 32m true
refuse 'memory-reservation: more than --memory' run --rm --rootfs "$ROOT" --memory 64m --memory-reservation 1g true
refuse 'cpu-shares 262145: expected 0 to 262144' run --rm --rootfs "$ROOT" --cpu-shares 262145 true

# --cidfile
ok run --rm --cidfile "$TESTTMP/cid1" bb true
grep -Eqx '[0-9a-f]{64}' "$TESTTMP/cid1" || fail "--cidfile of run --rm: $(cat "$TESTTMP/cid1")"
ok create --cidfile "$TESTTMP/cid2" bb true
[ "$(cat "$TESTTMP/cid2")" = "$out" ] || fail "--cidfile of create: $(cat "$TESTTMP/cid2") vs $out"
ok start -a "$out" # the file exists: start does not write it again
ok rm "$(cat "$TESTTMP/cid2")"
before=$(store_state)
refuse 'cidfile .*cid1: the file exists' run --rm --cidfile "$TESTTMP/cid1" bb true
refuse 'cidfile .*cid1: the file exists' create --cidfile "$TESTTMP/cid1" bb true
[ "$(store_state)" = "$before" ] || fail "a refused --cidfile left a container"
refuse 'no such image' run --rm --cidfile "$TESTTMP/cid3" no-such-image true
[ ! -e "$TESTTMP/cid3" ] || fail "a failed run left its --cidfile"
say "--cidfile: run, create; an existing file refused first"

# A foreground run makes its container while its child starts (a late
# rootfs, runtime/spec.h): when that fails (the name is taken), the child
# is killed and nothing is left: no container, cgroup, run state or
# --cidfile.
n=$(uniq_name)
P2=$(uniq_name) # P is the cleanup's (above)
on_exit "rm_cgroup_dirs /sys/fs/cgroup/*/$P2 /sys/fs/cgroup/$P2"
ok create --name "$n" bb true
taken=$out
before=$(store_state)
states=$(ls /run/cowbox 2>/dev/null | grep -E "^[0-9a-f]{64}$" | sort || true)
# (The error names the image, as every failure to make it does.)
refuse "^cowbox: run bb: name $n is already used by container ${taken:0:12}" \
	run --rm --name "$n" --cgroup-parent "$P2" --cidfile "$TESTTMP/cid4" bb true
[ ! -e "$TESTTMP/cid4" ] || fail "a run whose container was never made left its --cidfile"
[ "$(store_state)" = "$before" ] || fail "a run whose container was never made changed the store"
[ "$(ls /run/cowbox 2>/dev/null | grep -E "^[0-9a-f]{64}$" | sort || true)" = "$states" ] ||
	fail "a run whose container was never made left a run state"
left=$(find /sys/fs/cgroup/*/"$P2" /sys/fs/cgroup/"$P2" -mindepth 1 -type d 2>/dev/null || true)
[ -z "$left" ] || fail "a run whose container was never made left cgroups: $left"
ok rm "$n"
say "a container that cannot be made while its child starts: nothing left"
# One whose start fails before that (its cgroup) is kept without --rm,
# as docker keeps it: exited 125.
refuse 'cpuset.cpus 9999' run --name "$n-early" --cgroup-parent "$P2" --cpuset-cpus 9999 bb true
ok inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$n-early"
[ "$out" = "exited 125" ] || fail "a run that failed before its container was made: $out"
ok rm "$n-early"
store_check
