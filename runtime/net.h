/* Container networking: modes, bridge networks, address leases, port
 * publishing, and moving interfaces between namespaces.
 *
 * Modes (`--network`; the default is none, and -p alone means bridge):
 *   bridge      the default network `cowbox0` (10.87.0.0/16), or
 *   NAME        a network made by `cowbox network create`: a Linux bridge,
 *               one veth pair per container (inner end `eth0`), an address
 *               from the network's subnet, a default route via the
 *               bridge's gateway address, masquerade for outbound traffic
 *               and DNAT for -p (nft.h).
 *   none        its own namespace with only `lo`, up.
 *   host        the caller's namespace; nothing to do.
 *   container:C / ns:PATH   join another namespace; the launcher does the
 *               setns() with the fd cb_net_open_netns() gives it.
 *
 * State, all under plain paths the caller passes (runtime/ knows no store):
 *   networks_dir  (e.g. <store root>/networks)  one file per network made
 *                 by `network create`; `cowbox0` is built in.
 *   run_dir       (e.g. /run/cowbox/net)  `lock` (flock), and `leases/`
 *                 with one file per address in use, naming the container
 *                 and the pid whose life the lease follows (with the pid's
 *                 start time, against pid reuse). A lease whose pid is gone
 *                 is freed by the next call that takes the lock, together
 *                 with its veth and its nftables rules.
 * A network's bridge and masquerade rules are made on its first use and
 * stay (like docker0) until `network rm` or `network prune`: making and
 * removing a bridge costs tens of milliseconds of RCU grace periods that
 * every `run --rm` would otherwise pay.
 *
 * How a launcher uses it (see docs/network.md):
 *   before clone   cb_net_reserve()  picks the address (so /etc/hosts can
 *                  be written: cb_net_hosts());
 *   after clone,   cb_net_connect()  veth into the child's namespace,
 *   before exec    address, route, lo up, -p rules; the lease now follows
 *                  the child's pid;
 *   on exit        cb_net_detach()   removes all of it.
 *   cb_net_attach() is reserve + connect in one call.
 * All return 0 or -errno, with a one-line reason in err. */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "nft.h"

#define CB_NET_DEFAULT_NAME   "cowbox0"
#define CB_NET_DEFAULT_SUBNET "10.87.0.0/16"
#define CB_NET_DEFAULT_BRIDGE "cowbox0"
#define CB_NET_RUN_DIR	      "/run/cowbox/net"
#define CB_NET_NAME_MAX	      48
#define CB_NET_ID_MAX	      128
#define CB_NET_PORTS_MAX      32

enum cb_net_mode {
	CB_NET_BRIDGE, /* a bridge network (the default) */
	CB_NET_NONE,   /* own namespace, lo only */
	CB_NET_HOST,   /* the caller's namespace */
	CB_NET_SHARE,  /* another namespace: container:C or ns:PATH */
};

struct cb_subnet {
	struct in_addr addr; /* network address, host bits zero */
	unsigned prefixlen;  /* 0..32 */
};

/* A network definition. */
struct cb_network {
	char name[CB_NET_NAME_MAX + 1];
	struct cb_subnet subnet;
	struct in_addr gateway; /* the bridge's address: first host address */
	char bridge[IFNAMSIZ];
	bool builtin; /* cowbox0: not stored, cannot be removed */
};

struct cb_net_config {
	enum cb_net_mode mode;	  /* default CB_NET_NONE (docs/network.md) */
	bool mode_set;		  /* --network was given */
	const char *network;	  /* CB_NET_BRIDGE: network name; NULL: cowbox0 */
	const char *share;	  /* CB_NET_SHARE: "container:C" or "ns:PATH" */
	const char *networks_dir; /* definitions; required for bridge mode */
	const char *run_dir;	  /* leases and lock; NULL: CB_NET_RUN_DIR */
	const char *name;	  /* container name, for leases and /etc/hosts; may be NULL */
	struct cb_port_map ports[CB_NET_PORTS_MAX];
	size_t n_ports;
};

/* What a bridge-mode container holds. Plain data: copy it, store it. */
struct cb_net_lease {
	char id[CB_NET_ID_MAX + 1];
	char name[CB_NET_ID_MAX + 1];
	char network[CB_NET_NAME_MAX + 1];
	char bridge[IFNAMSIZ];
	char veth[IFNAMSIZ]; /* host end; the container's end is eth0 */
	struct in_addr addr, gateway;
	unsigned prefixlen;
	pid_t pid;	     /* the process the lease follows */
	uint64_t start_time; /* of pid, in clock ticks after boot (/proc/PID/stat) */
	bool connected;	     /* veth and rules exist */
	struct cb_port_map ports[CB_NET_PORTS_MAX];
	size_t n_ports;
};

/* Fill cfg with the defaults: mode none (its own namespace, lo only),
 * run_dir CB_NET_RUN_DIR; networks_dir stays NULL. */
void cb_net_config_init(struct cb_net_config *cfg);
/* After the options: -p without --network means bridge on cowbox0; -p with
 * none, host or a shared namespace is refused (-EINVAL with err). */
int cb_net_config_finish(struct cb_net_config *cfg, struct cb_error *err);

/* --network VALUE: none, host, bridge, container:C, ns:PATH, or a network
 * name. Strings are borrowed from s. -EINVAL (with err) on junk. */
int cb_net_parse_mode(const char *s, struct cb_net_config *cfg, struct cb_error *err);

/* -p [IP:]HOSTPORT:CTRPORT[/tcp|/udp] (and HOSTPORT alone meaning the same
 * port inside). -EINVAL (with err) on junk or port 0. */
int cb_net_parse_port(const char *s, struct cb_port_map *ret, struct cb_error *err);
/* Append a parsed -p to cfg; -E2BIG when full, -EEXIST on a duplicate. */
int cb_net_add_port(struct cb_net_config *cfg, const char *s, struct cb_error *err);

/* "10.87.0.0/16": an IPv4 network with its host bits zero. */
int cb_subnet_parse(const char *s, struct cb_subnet *ret, struct cb_error *err);
/* "10.87.0.0/16" into buf (at least 19 bytes). */
void cb_subnet_format(const struct cb_subnet *s, char *buf, size_t size);
bool cb_subnet_overlaps(const struct cb_subnet *a, const struct cb_subnet *b);
bool cb_subnet_contains(const struct cb_subnet *s, struct in_addr addr);

/* IPAM on a bitmap of host offsets inside s (bit i: address s.addr + i in
 * use). Picks the lowest free offset that is not the network address, the
 * gateway or the broadcast address; -ENOSPC when none. Pure; for tests. */
int cb_ipam_pick(const struct cb_subnet *s, struct in_addr gateway, const uint8_t *used,
		 struct in_addr *ret);
/* Bytes a bitmap for s needs. */
size_t cb_ipam_bitmap_size(const struct cb_subnet *s);

/* Network definitions. */
/* Make a network. subnet NULL picks a free /24 in 10.86.0.0/16. Fails
 * with -EEXIST (name in use), -EINVAL (bad name or subnet), -EADDRINUSE
 * (overlaps another network). ret may be NULL. */
int cb_network_create(const char *networks_dir, const char *run_dir, const char *name,
		      const char *subnet, struct cb_network *ret, struct cb_error *err);
/* Look a network up by name (cowbox0 is always there). -ENOENT. */
int cb_network_get(const char *networks_dir, const char *name, struct cb_network *ret,
		   struct cb_error *err);
/* All networks, cowbox0 first, then by name. *ret freed by the caller. */
int cb_network_list(const char *networks_dir, struct cb_network **ret, size_t *ret_n,
		    struct cb_error *err);
/* Remove a network, its bridge and its rules: -EBUSY while a live
 * container uses it, -ENOENT. cowbox0 stays defined: only its bridge and
 * rules go (they come back on its next use). */
int cb_network_remove(const char *networks_dir, const char *run_dir, const char *name,
		      struct cb_error *err);
/* Remove every network no live container uses (cowbox0: its bridge and
 * rules only), and the nftables table when no rule is left.
 * *ret_removed (may be NULL) lists the removed definitions (strv). */
int cb_network_prune(const char *networks_dir, const char *run_dir, char ***ret_removed,
		     struct cb_error *err);
/* The live leases (dead ones are cleaned first), of one network or all
 * (network NULL). *ret freed by the caller. */
int cb_net_leases(const char *run_dir, const char *network, struct cb_net_lease **ret,
		  size_t *ret_n, struct cb_error *err);

/* Bridge mode, step 1: take an address on cfg's network for container id
 * (under the lock; creates the bridge and its rules when missing). The lease follows the calling
 * process until connected. */
int cb_net_reserve(const struct cb_net_config *cfg, const char *id, struct cb_net_lease *ret,
		   struct cb_error *err);
/* Step 2: wire the reserved lease into the namespace of pid (or netns_fd
 * when >= 0; pid is still recorded when > 0): veth pair with its inner end
 * `eth0` made directly in the namespace, address, default route, lo up,
 * published ports. The lease then follows pid. On failure what this call
 * made is removed; the reservation stays (call cb_net_detach). */
int cb_net_connect(const struct cb_net_config *cfg, struct cb_net_lease *lease, pid_t pid,
		   int netns_fd, struct cb_error *err);
/* Everything a mode needs after clone and before exec, for pid's
 * namespace (or netns_fd when >= 0): bridge = reserve + connect; none =
 * lo up; host and share = nothing (the launcher joins the namespace).
 * ret (bridge mode) is zeroed otherwise and may be NULL in the others.
 * On failure nothing is left behind. */
int cb_net_attach(const struct cb_net_config *cfg, pid_t pid, int netns_fd, const char *id,
		  struct cb_net_lease *ret, struct cb_error *err);
/* Undo reserve/connect: the container's rules and lease go; its veth is
 * deleted while the container lives, and otherwise left to the kernel,
 * which destroys the pair with the container's namespace (saving the
 * caller an RCU barrier). Idempotent; a zeroed lease is a no-op. */
int cb_net_detach(const struct cb_net_config *cfg, const struct cb_net_lease *lease,
		  struct cb_error *err);
/* Detach by container id (for `rm` after a crash); no lease is fine. */
int cb_net_release(const char *run_dir, const char *id, struct cb_error *err);

/* Clean what a crash left: leases of dead pids (and their veths and
 * rules), cowbox veths and rules with no lease, bridges and rules of
 * networks that no longer exist, the table when it holds no rule. ret_removed
 * (may be NULL) counts what went. */
int cb_net_cleanup(const char *networks_dir, const char *run_dir, unsigned *ret_removed,
		   struct cb_error *err);

/* /etc/hosts for a container: localhost lines, its address (or 127.0.1.1
 * without a lease) with hostname and name, and the gateway as
 * host.containers.internal. */
int cb_net_hosts(const struct cb_net_lease *lease, const char *hostname, const char *name,
		 char **ret);

/* Finding namespaces. A container reference is resolved to a pid by the
 * launcher's state; runtime/ does not know it, so it is a callback. */
typedef int (*cb_net_lookup_fn)(const char *container, pid_t *ret_pid, void *userdata);
/* Open a network namespace: "ns:PATH", "container:C", a pid, a path (e.g.
 * /proc/PID/ns/net, /run/netns/NAME), or else a container name through
 * lookup (NULL: -ESRCH). Checks that it is a network namespace. */
int cb_net_open_netns(const char *ref, cb_net_lookup_fn lookup, void *userdata, int *ret_fd,
		      struct cb_error *err);

/* Move interface iface from the namespace from_fd (-1: the caller's) into
 * to_fd, keeping its name, and bring it up there (`ip link set dev IFACE
 * netns ...; ip link set IFACE up`). */
int cb_net_move(const char *iface, int from_fd, int to_fd, struct cb_error *err);

/* Bring lo up in a namespace (for none mode). */
int cb_net_loopback_up(int netns_fd, struct cb_error *err);

/* Bytes received and sent by every interface but lo, from the text of
 * /proc/PID/net/dev (`cowbox stats`). -EINVAL when it is not that. */
int cb_net_dev_totals(const char *text, int64_t *ret_rx, int64_t *ret_tx);
