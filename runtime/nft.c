/* nftables over libnftnl: see nft.h. */
#include "nft.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH_SIZE     (64 * 1024)
#define NL_BUFFER_SIZE 32768

struct batch {
	struct mnl_socket *sock;
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
	unsigned n_msgs;
	char buf[BATCH_SIZE];
};

static void batch_freep(struct batch **p)
{
	struct batch *b = *p;
	if (!b)
		return;
	int saved = errno;
	if (b->b)
		mnl_nlmsg_batch_stop(b->b);
	if (b->sock)
		mnl_socket_close(b->sock);
	free(b);
	errno = saved;
}

static int nft_socket(struct mnl_socket **ret)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!s)
		return negative_errno();
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = negative_errno();
		mnl_socket_close(s);
		return r;
	}
	int one = 1;
	mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
	*ret = s;
	return 0;
}

static int batch_new(struct batch **ret)
{
	struct batch *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	int r = nft_socket(&b->sock);
	if (r < 0) {
		free(b);
		return r;
	}
	b->seq = (uint32_t)time(NULL);
	b->b = mnl_nlmsg_batch_start(b->buf, sizeof(b->buf));
	nftnl_batch_begin(mnl_nlmsg_batch_current(b->b), b->seq++);
	mnl_nlmsg_batch_next(b->b);
	*ret = b;
	return 0;
}

static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, uint16_t flags)
{
	b->n_msgs++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->b), type, NFPROTO_INET,
				     flags | NLM_F_ACK, b->seq++);
}

static void batch_next(struct batch *b)
{
	mnl_nlmsg_batch_next(b->b);
}

/* Send the transaction. The kernel handles the whole batch inside
 * sendmsg(), so every answer is queued by the time it returns: read
 * without blocking and keep the first error. */
static int batch_commit(struct batch *b)
{
	nftnl_batch_end(mnl_nlmsg_batch_current(b->b), b->seq++);
	mnl_nlmsg_batch_next(b->b);
	if (mnl_socket_sendto(b->sock, mnl_nlmsg_batch_head(b->b), mnl_nlmsg_batch_size(b->b)) < 0)
		return negative_errno();
	int first = 0;
	char rbuf[NL_BUFFER_SIZE];
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(b->sock), rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return first ? first : negative_errno();
		}
		int r = mnl_cb_run(rbuf, (size_t)n, 0, mnl_socket_get_portid(b->sock), NULL, NULL);
		if (r < 0 && !first)
			first = negative_errno();
	}
	return first;
}

/* Expressions. */

static int add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int put_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");
	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return add_expr(r, e);
}

static int put_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");
	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return add_expr(r, e);
}

static int put_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	return add_expr(r, e);
}

static int put_mask(struct nftnl_rule *r, uint32_t mask_be)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	if (!e)
		return -ENOMEM;
	uint32_t zero = 0;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask_be, sizeof(mask_be));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
	return add_expr(r, e);
}

/* ip saddr|daddr [!=] net/prefix */
static int put_ip_match(struct nftnl_rule *r, bool source, uint32_t op, struct in_addr net,
			unsigned prefixlen)
{
	uint32_t mask = prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;
	uint32_t value = net.s_addr & mask;
	int e = put_payload(r, NFT_PAYLOAD_NETWORK_HEADER, source ? 12 : 16, 4);
	if (e >= 0 && prefixlen < 32)
		e = put_mask(r, mask);
	if (e >= 0)
		e = put_cmp(r, op, &value, sizeof(value));
	return e;
}

static int put_nfproto_ipv4(struct nftnl_rule *r)
{
	uint8_t v = NFPROTO_IPV4;
	int e = put_meta(r, NFT_META_NFPROTO);
	return e < 0 ? e : put_cmp(r, NFT_CMP_EQ, &v, 1);
}

static int put_jump(struct nftnl_rule *r, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NFT_JUMP);
	nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	return add_expr(r, e);
}

static int put_immediate(struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	return add_expr(r, e);
}

static struct nftnl_rule *rule_new(const char *chain, const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, CB_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (comment) {
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
		if (!u || !nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, comment)) {
			nftnl_udata_buf_free(u);
			nftnl_rule_free(r);
			return NULL;
		}
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
				    nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	return r;
}

static void rule_freep(struct nftnl_rule **r)
{
	if (*r)
		nftnl_rule_free(*r);
}

/* Append rule r (freed here) to the batch. */
static int batch_add_rule(struct batch *b, struct nftnl_rule *r)
{
	struct nlmsghdr *h = batch_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	nftnl_rule_nlmsg_build_payload(h, r);
	nftnl_rule_free(r);
	batch_next(b);
	return 0;
}

static int batch_add_base(struct batch *b)
{
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, CB_NFT_TABLE);
	/* No NLM_F_EXCL: an existing table or chain is kept as it is. */
	struct nlmsghdr *h = batch_msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(h, t);
	nftnl_table_free(t);
	batch_next(b);

	static const struct {
		const char *name;
		int hook; /* -1: a regular chain */
		int prio;
	} chains[] = {
	    {"published", -1, 0},
	    {"prerouting", NF_INET_PRE_ROUTING, -100},
	    {"output", NF_INET_LOCAL_OUT, -100},
	    {"postrouting", NF_INET_POST_ROUTING, 100},
	};
	for (size_t i = 0; i < ELEMENTSOF(chains); i++) {
		struct nftnl_chain *c = nftnl_chain_alloc();
		if (!c)
			return -ENOMEM;
		nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, CB_NFT_TABLE);
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chains[i].name);
		if (chains[i].hook >= 0) {
			nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)chains[i].hook);
			nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, chains[i].prio);
			nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
			nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		}
		h = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
		nftnl_chain_nlmsg_build_payload(h, c);
		nftnl_chain_free(c);
		batch_next(b);
	}
	return 0;
}

/* Does the table exist? (Its jump rules are made with it, once.) */
int cb_nft_table_exists(void)
{
	struct mnl_socket *s;
	int r = nft_socket(&s);
	if (r < 0)
		return r;
	char buf[NL_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t) {
		mnl_socket_close(s);
		return -ENOMEM;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, CB_NFT_TABLE);
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *h =
	    nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, seq);
	nftnl_table_nlmsg_build_payload(h, t);
	nftnl_table_free(t);
	r = 0;
	if (mnl_socket_sendto(s, h, h->nlmsg_len) < 0)
		r = negative_errno();
	while (r == 0) {
		ssize_t n = mnl_socket_recvfrom(s, buf, sizeof(buf));
		if (n < 0) {
			r = negative_errno();
			break;
		}
		int c = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(s), NULL, NULL);
		if (c < 0)
			r = negative_errno();
		else if (c == MNL_CB_STOP)
			break;
	}
	mnl_socket_close(s);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? r : 1;
}

static int jump_rule(struct batch *b, const char *chain)
{
	_cleanup_(rule_freep) struct nftnl_rule *r = rule_new(chain, NULL);
	if (!r)
		return -ENOMEM;
	struct nftnl_expr *e = nftnl_expr_alloc("fib");
	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	uint32_t local = RTN_LOCAL;
	int x = put_cmp(r, NFT_CMP_EQ, &local, sizeof(local));
	if (x >= 0)
		x = put_jump(r, "published");
	if (x < 0)
		return x;
	return batch_add_rule(b, TAKE_PTR(r));
}

int cb_nft_add_network(const char *name, struct in_addr subnet, unsigned prefixlen,
		       const char *bridge, struct cb_error *err)
{
	_cleanup_(batch_freep) struct batch *b = NULL;
	int r = cb_nft_table_exists();
	if (r < 0)
		return cb_error_errno(err, -r, "nftables table inet %s", CB_NFT_TABLE);
	bool have_table = r > 0;
	r = batch_new(&b);
	if (r < 0)
		return cb_error_errno(err, -r, "nftables socket");
	char tag[128];
	snprintf(tag, sizeof(tag), "net:%s", name);
	if (!have_table) {
		r = batch_add_base(b);
		if (r >= 0)
			r = jump_rule(b, "prerouting");
		if (r >= 0)
			r = jump_rule(b, "output");
	}

	/* ip saddr SUBNET ip daddr != SUBNET masquerade */
	_cleanup_(rule_freep) struct nftnl_rule *m = rule_new("postrouting", tag);
	if (!m)
		return cb_error_errno(err, ENOMEM, "nftables rule");
	if (r >= 0)
		r = put_nfproto_ipv4(m);
	if (r >= 0)
		r = put_ip_match(m, true, NFT_CMP_EQ, subnet, prefixlen);
	if (r >= 0)
		r = put_ip_match(m, false, NFT_CMP_NEQ, subnet, prefixlen);
	if (r >= 0)
		r = add_expr(m, nftnl_expr_alloc("masq"));
	if (r >= 0)
		r = batch_add_rule(b, TAKE_PTR(m));

	/* oifname BRIDGE ip saddr 127.0.0.0/8 masquerade: a published port
	 * reached on 127.0.0.1 must leave with an address the container can
	 * answer. */
	_cleanup_(rule_freep) struct nftnl_rule *l = rule_new("postrouting", tag);
	if (!l)
		return cb_error_errno(err, ENOMEM, "nftables rule");
	char ifname[IFNAMSIZ] = {0};
	strncpy(ifname, bridge, IFNAMSIZ - 1);
	struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
	if (r >= 0)
		r = put_meta(l, NFT_META_OIFNAME);
	if (r >= 0)
		r = put_cmp(l, NFT_CMP_EQ, ifname, IFNAMSIZ);
	if (r >= 0)
		r = put_nfproto_ipv4(l);
	if (r >= 0)
		r = put_ip_match(l, true, NFT_CMP_EQ, lo, 8);
	if (r >= 0)
		r = add_expr(l, nftnl_expr_alloc("masq"));
	if (r >= 0)
		r = batch_add_rule(b, TAKE_PTR(l));
	if (r < 0)
		return cb_error_errno(err, -r, "nftables rules for network %s", name);
	r = batch_commit(b);
	if (r < 0)
		return cb_error_errno(err, -r, "nftables: add rules for network %s", name);
	return 0;
}

int cb_nft_add_ports(const char *id, struct in_addr addr, const struct cb_port_map *ports,
		     size_t n_ports, struct cb_error *err)
{
	if (n_ports == 0)
		return 0;
	_cleanup_(batch_freep) struct batch *b = NULL;
	int r = batch_new(&b);
	if (r < 0)
		return cb_error_errno(err, -r, "nftables socket");
	char tag[128];
	snprintf(tag, sizeof(tag), "ctr:%s", id);
	for (size_t i = 0; i < n_ports && r >= 0; i++) {
		const struct cb_port_map *p = &ports[i];
		_cleanup_(rule_freep) struct nftnl_rule *rule = rule_new("published", tag);
		if (!rule)
			return cb_error_errno(err, ENOMEM, "nftables rule");
		uint8_t proto = p->protocol;
		uint16_t dport = htons(p->host_port), to_port = htons(p->container_port);
		r = put_nfproto_ipv4(rule);
		if (r >= 0 && p->host_addr.s_addr != INADDR_ANY)
			r = put_ip_match(rule, false, NFT_CMP_EQ, p->host_addr, 32);
		if (r >= 0)
			r = put_meta(rule, NFT_META_L4PROTO);
		if (r >= 0)
			r = put_cmp(rule, NFT_CMP_EQ, &proto, 1);
		if (r >= 0)
			r = put_payload(rule, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
		if (r >= 0)
			r = put_cmp(rule, NFT_CMP_EQ, &dport, 2);
		if (r >= 0)
			r = put_immediate(rule, NFT_REG_1, &addr.s_addr, 4);
		if (r >= 0)
			r = put_immediate(rule, NFT_REG_2, &to_port, 2);
		if (r >= 0) {
			struct nftnl_expr *e = nftnl_expr_alloc("nat");
			if (!e)
				return cb_error_errno(err, ENOMEM, "nftables rule");
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
			nftnl_rule_add_expr(rule, e);
			r = batch_add_rule(b, TAKE_PTR(rule));
		}
	}
	if (r < 0)
		return cb_error_errno(err, -r, "nftables rules for container %s", id);
	r = batch_commit(b);
	if (r < 0)
		return cb_error_errno(err, -r, "nftables: publish ports of container %s", id);
	return 0;
}

/* One rule of a dump, as far as we care. */
struct dumped_rule {
	char chain[64];
	uint64_t handle;
	char tag[NFTNL_UDATA_COMMENT_MAXLEN + 1];
};

struct dump {
	struct dumped_rule *rules;
	size_t n, cap;
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
		char *tag = data;
		size_t len = MIN((size_t)nftnl_udata_len(attr), NFTNL_UDATA_COMMENT_MAXLEN);
		memcpy(tag, nftnl_udata_get(attr), len);
		tag[len] = '\0';
	}
	return 0;
}

static int rule_dump_cb(const struct nlmsghdr *h, void *data)
{
	struct dump *d = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(h, r) < 0) {
		nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		struct dumped_rule *n = realloc(d->rules, cap * sizeof(*n));
		if (!n) {
			nftnl_rule_free(r);
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		d->rules = n;
		d->cap = cap;
	}
	struct dumped_rule *dr = &d->rules[d->n++];
	memset(dr, 0, sizeof(*dr));
	const char *chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	snprintf(dr->chain, sizeof(dr->chain), "%s", chain ? chain : "");
	dr->handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	uint32_t len = 0;
	const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	if (ud && len)
		nftnl_udata_parse(ud, len, comment_cb, dr->tag);
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* Dump the rules of our table; a missing table is an empty dump. */
static int dump_rules(struct dump *d)
{
	struct mnl_socket *s;
	int r = nft_socket(&s);
	if (r < 0)
		return r;
	char buf[NL_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *h =
	    nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, seq);
	struct nftnl_rule *filter = nftnl_rule_alloc();
	if (!filter) {
		mnl_socket_close(s);
		return -ENOMEM;
	}
	nftnl_rule_set_str(filter, NFTNL_RULE_TABLE, CB_NFT_TABLE);
	nftnl_rule_nlmsg_build_payload(h, filter);
	nftnl_rule_free(filter);
	r = 0;
	if (mnl_socket_sendto(s, h, h->nlmsg_len) < 0)
		r = negative_errno();
	while (r == 0) {
		ssize_t n = mnl_socket_recvfrom(s, buf, sizeof(buf));
		if (n < 0) {
			r = negative_errno();
			break;
		}
		int c = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(s), rule_dump_cb, d);
		if (c < 0)
			r = negative_errno();
		else if (c == MNL_CB_STOP)
			break;
	}
	mnl_socket_close(s);
	return r == -ENOENT ? 0 : r;
}

int cb_nft_foreach_tag(int (*fn)(const char *tag, void *userdata), void *userdata,
		       struct cb_error *err)
{
	struct dump d = {0};
	int r = dump_rules(&d);
	if (r < 0) {
		free(d.rules);
		return cb_error_errno(err, -r, "nftables: list table inet %s", CB_NFT_TABLE);
	}
	for (size_t i = 0; i < d.n && r >= 0; i++)
		if (d.rules[i].tag[0])
			r = fn(d.rules[i].tag, userdata);
	free(d.rules);
	return r;
}

int cb_nft_count_rules(struct cb_error *err)
{
	struct dump d = {0};
	int r = dump_rules(&d);
	free(d.rules);
	if (r < 0)
		return cb_error_errno(err, -r, "nftables: list table inet %s", CB_NFT_TABLE);
	return (int)d.n;
}

int cb_nft_del_tagged(const char *tag, struct cb_error *err)
{
	struct dump d = {0};
	int r = dump_rules(&d);
	if (r < 0) {
		free(d.rules);
		return cb_error_errno(err, -r, "nftables: list table inet %s", CB_NFT_TABLE);
	}
	_cleanup_(batch_freep) struct batch *b = NULL;
	unsigned n = 0;
	for (size_t i = 0; i < d.n; i++) {
		if (strcmp(d.rules[i].tag, tag) != 0)
			continue;
		if (!b && (r = batch_new(&b)) < 0)
			break;
		struct nftnl_rule *rule = rule_new(d.rules[i].chain, NULL);
		if (!rule) {
			r = -ENOMEM;
			break;
		}
		nftnl_rule_set_u64(rule, NFTNL_RULE_HANDLE, d.rules[i].handle);
		struct nlmsghdr *h = batch_msg(b, NFT_MSG_DELRULE, 0);
		nftnl_rule_nlmsg_build_payload(h, rule);
		nftnl_rule_free(rule);
		batch_next(b);
		n++;
	}
	free(d.rules);
	if (r >= 0 && n > 0)
		r = batch_commit(b);
	/* A rule someone else deleted meanwhile is gone as we wanted. */
	if (r < 0 && r != -ENOENT)
		return cb_error_errno(err, -r, "nftables: delete rules %s", tag);
	return 0;
}

int cb_nft_del_table(struct cb_error *err)
{
	_cleanup_(batch_freep) struct batch *b = NULL;
	int r = batch_new(&b);
	if (r < 0)
		return cb_error_errno(err, -r, "nftables socket");
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		return cb_error_errno(err, ENOMEM, "nftables table");
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, CB_NFT_TABLE);
	struct nlmsghdr *h = batch_msg(b, NFT_MSG_DELTABLE, 0);
	nftnl_table_nlmsg_build_payload(h, t);
	nftnl_table_free(t);
	batch_next(b);
	r = batch_commit(b);
	if (r < 0 && r != -ENOENT)
		return cb_error_errno(err, -r, "nftables: delete table inet %s", CB_NFT_TABLE);
	return 0;
}
