/* rtnetlink helpers over libmnl: the few link, address and route calls a
 * container network needs, with no `ip` process on the way.
 *
 * A `struct cb_nl` is one NETLINK_ROUTE socket. It acts in the network
 * namespace it was opened in: cb_nl_open() uses the caller's,
 * cb_nl_open_netns() a namespace given by fd (the socket keeps working
 * there after the thread switched back). Every call sends one request,
 * waits for the kernel's answer and returns 0 or -errno (the kernel's
 * errno: -EEXIST, -ENODEV, ...). Interfaces are named by ifindex; use
 * cb_nl_link_index() to find one by name in the socket's namespace. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

struct cb_nl;

/* Open a socket in the calling thread's network namespace. */
int cb_nl_open(struct cb_nl **ret);
/* Open a socket in the network namespace netns_fd refers to (a
 * /proc/PID/ns/net or bind-mounted nsfs file). The calling thread enters
 * that namespace for the socket() call and returns to its own. */
int cb_nl_open_netns(int netns_fd, struct cb_nl **ret);
/* Close and free; NULL is fine. */
void cb_nl_close(struct cb_nl *nl);
static inline void cb_nl_closep(struct cb_nl **nl)
{
	cb_nl_close(*nl);
}
#define _cleanup_nl_ _cleanup_(cb_nl_closep)

/* The ifindex of interface name, or -ENODEV. */
int cb_nl_link_index(struct cb_nl *nl, const char *name);

/* Create a bridge named name (up, no STP, forward delay 0) with the MAC
 * address mac (6 bytes; NULL: the kernel's choice, which then follows the
 * lowest port's and changes as ports come and go); ret_ifindex may be
 * NULL. -EEXIST when the name is taken. */
int cb_nl_bridge_add(struct cb_nl *nl, const char *name, const uint8_t *mac, int *ret_ifindex);

/* Create a veth pair in one request: host_name here, enslaved to
 * master_ifindex (0: none) and up; its peer named peer_name directly in
 * the namespace peer_netns_fd (-1: here), down (bring it up from there),
 * with MAC address peer_mac (6 bytes; NULL: random). ret_ifindex (the
 * host end) may be NULL. */
int cb_nl_veth_add(struct cb_nl *nl, const char *host_name, int master_ifindex,
		   const char *peer_name, int peer_netns_fd, const uint8_t *peer_mac,
		   int *ret_ifindex);

/* Create a link of a plain kind with no options (ifb, dummy, bridge...),
 * down. For tests and `network move` stand-ins. */
int cb_nl_link_add_kind(struct cb_nl *nl, const char *name, const char *kind);

/* Move a link into the namespace netns_fd refers to, renaming it to
 * new_name there when non-NULL. */
int cb_nl_link_set_netns(struct cb_nl *nl, int ifindex, int netns_fd, const char *new_name);

/* Bring a link up or down. */
int cb_nl_link_set_up(struct cb_nl *nl, int ifindex, bool up);

/* Enslave a link to a bridge (master_ifindex 0: release it). */
int cb_nl_link_set_master(struct cb_nl *nl, int ifindex, int master_ifindex);

/* Delete a link. -ENODEV when it is gone already. */
int cb_nl_link_del(struct cb_nl *nl, int ifindex);

/* Add an IPv4 address addr/prefixlen (broadcast set) to a link. */
int cb_nl_addr_add(struct cb_nl *nl, int ifindex, struct in_addr addr, unsigned prefixlen);

/* Add a default IPv4 route via gateway out of ifindex. */
int cb_nl_route_add_default(struct cb_nl *nl, int ifindex, struct in_addr gateway);

/* One link of a dump. */
struct cb_nl_link {
	int ifindex;
	const char *name;
	const char *kind; /* "veth", "bridge", ... or NULL for physical */
	int master;	  /* ifindex of the bridge it is enslaved to, or 0 */
	bool up;
};
/* Call fn for each link in the socket's namespace; fn returns < 0 to stop
 * (that value is returned). Names are valid only during the call. */
int cb_nl_link_foreach(struct cb_nl *nl, int (*fn)(const struct cb_nl_link *l, void *userdata),
		       void *userdata);

/* Count the IPv4 routes in the main table whose output interface is
 * ifindex (tests use it to find leftovers). */
int cb_nl_route_count(struct cb_nl *nl, int ifindex);
