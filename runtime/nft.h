/* cowbox's nftables rules, sent with libnftnl over one netfilter netlink
 * socket per call (no `nft` process). Everything lives in one table of
 * our own, `inet cowbox`, so cowbox never edits anyone else's rules:
 *
 *   table inet cowbox {
 *     chain prerouting  { type nat hook prerouting priority dstnat;
 *                         fib daddr type local jump published }
 *     chain output      { type nat hook output priority -100;
 *                         fib daddr type local jump published }
 *     chain published   { # one rule per -p, comment "ctr:<id>"
 *                         meta nfproto ipv4 meta l4proto tcp th dport 8080
 *                           dnat ip to 10.87.0.2:80 }
 *     chain postrouting { type nat hook postrouting priority srcnat;
 *                         # per network, comment "net:<name>"
 *                         ip saddr 10.87.0.0/16 ip daddr != 10.87.0.0/16 masquerade
 *                         oifname "cowbox0" ip saddr 127.0.0.0/8 masquerade }
 *   }
 *
 * Rules are found again by their comment (rule user data, what `nft list`
 * shows as `comment "..."`), so teardown and crash cleanup need no state
 * besides the table itself. Each call is one nftables transaction. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CB_NFT_TABLE "cowbox"

/* A published port: -p [IP:]HOSTPORT:CTRPORT[/tcp|udp]. */
struct cb_port_map {
	struct in_addr host_addr; /* INADDR_ANY: every local address */
	uint16_t host_port;
	uint16_t container_port;
	uint8_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
};

/* Create the table and its chains when missing, and add a network's
 * masquerade rules (comment "net:<name>") in the same transaction. The
 * caller makes sure a network's rules are added once (cowbox does it under
 * its network lock when it creates the bridge). */
int cb_nft_add_network(const char *name, struct in_addr subnet, unsigned prefixlen,
		       const char *bridge, struct cb_error *err);

/* Add one DNAT rule per port for a container at addr (comment
 * "ctr:<id>"), in one transaction. The table must exist. */
int cb_nft_add_ports(const char *id, struct in_addr addr, const struct cb_port_map *ports,
		     size_t n_ports, struct cb_error *err);

/* Delete every rule whose comment is exactly tag ("net:NAME", "ctr:ID").
 * Missing rules or table are fine. */
int cb_nft_del_tagged(const char *tag, struct cb_error *err);

/* Call fn with the comment of every rule in the table (rules without one
 * are skipped); a missing table calls nothing. fn returns < 0 to stop. */
int cb_nft_foreach_tag(int (*fn)(const char *tag, void *userdata), void *userdata,
		       struct cb_error *err);

/* 1 when the table exists, 0 when not, or -errno. */
int cb_nft_table_exists(void);

/* Delete the whole table (when no network is in use). Missing is fine. */
int cb_nft_del_table(struct cb_error *err);

/* Number of rules in the table (0 when it is missing); for tests. */
int cb_nft_count_rules(struct cb_error *err);
