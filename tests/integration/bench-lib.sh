# Shared by the 8*-bench-*.sh tests (sourced after lib.sh): a cgroup
# parent of the test's own, and checks that a bench left nothing behind.

# The bench's cgroups go under a parent only this test uses, so other
# tests running at the same time do not blur the check.
CGP=$(uniq_name)
cg_dirs() { # every cgroup directory below the test's parent, any hierarchy
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[ -d "$h/$CGP" ] && find "$h/$CGP" -mindepth 1 -type d
	done
	true
}
cg_cleanup() {
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[ -d "$h/$CGP" ] || continue
		find "$h/$CGP" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
		rmdir "$h/$CGP" 2>/dev/null
	done
	true
}
on_exit cg_cleanup
veths() { ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^cbv' | sort; true; }
VETHS_BEFORE=$(veths)

# nothing_left WHAT: no container, mount, cgroup or new veth remains.
nothing_left() {
	local ctrs
	ctrs=$(ls "$COWBOX_ROOT/containers" 2>/dev/null | grep -v '^\.' || true)
	[ -z "$ctrs" ] || fail "$1: containers left: $ctrs"
	grep -q "$COWBOX_ROOT" /proc/self/mountinfo && fail "$1: a mount is left: $(grep "$COWBOX_ROOT" /proc/self/mountinfo | head -3)"
	[ -z "$(cg_dirs)" ] || fail "$1: cgroups left: $(cg_dirs | head -3)"
	local new
	new=$(comm -13 <(echo "$VETHS_BEFORE") <(veths))
	if [ -n "$new" ]; then # another test's veth may come and go: look again
		sleep 3
		new=$(comm -13 <(echo "$VETHS_BEFORE") <(veths))
		[ -z "$new" ] || fail "$1: veths left: $new"
	fi
	store_check
}
