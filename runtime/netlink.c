/* rtnetlink over libmnl: see netlink.h. */
#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NL_BUFFER_SIZE 32768

struct cb_nl {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
	char buf[NL_BUFFER_SIZE];
};

static int nl_from_socket(struct mnl_socket *sock, struct cb_nl **ret)
{
	struct cb_nl *nl = calloc(1, sizeof(*nl));
	if (!nl) {
		mnl_socket_close(sock);
		return -ENOMEM;
	}
	nl->sock = sock;
	nl->portid = mnl_socket_get_portid(sock);
	nl->seq = (unsigned)time(NULL);
	*ret = nl;
	return 0;
}

static int nl_socket(struct mnl_socket **ret)
{
	struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!sock)
		return negative_errno();
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = negative_errno();
		mnl_socket_close(sock);
		return r;
	}
	int one = 1;
	/* Extended acks make the kernel say why; we only need the errno, but
	 * NETLINK_CAP_ACK keeps acks small. */
	mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof(one));
	*ret = sock;
	return 0;
}

int cb_nl_open(struct cb_nl **ret)
{
	struct mnl_socket *sock;
	int r = nl_socket(&sock);
	if (r < 0)
		return r;
	return nl_from_socket(sock, ret);
}

int cb_nl_open_netns(int netns_fd, struct cb_nl **ret)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return negative_errno();
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return negative_errno();
	struct mnl_socket *sock;
	int r = nl_socket(&sock);
	/* Going back cannot fail for a namespace we were in a moment ago; if
	 * it did, this thread would act in the wrong namespace: abort. */
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	if (r < 0)
		return r;
	return nl_from_socket(sock, ret);
}

void cb_nl_close(struct cb_nl *nl)
{
	if (!nl)
		return;
	int saved = errno;
	mnl_socket_close(nl->sock);
	free(nl);
	errno = saved;
}

static struct nlmsghdr *nl_msg(struct cb_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = ++nl->seq;
	return h;
}

/* Send h and read until its ack (or the end of a dump), calling cb for
 * data messages. */
static int nl_talk(struct cb_nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
		return negative_errno();
	unsigned seq = h->nlmsg_seq;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		int r = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
		if (r < 0)
			return negative_errno();
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *h, int ifindex)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return ifi;
}

struct index_query {
	int ifindex;
};

static int index_cb(const struct nlmsghdr *h, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	((struct index_query *)data)->ifindex = ifi->ifi_index;
	return MNL_CB_OK;
}

int cb_nl_link_index(struct cb_nl *nl, const char *name)
{
	if (strlen(name) >= IFNAMSIZ)
		return -ENODEV;
	struct nlmsghdr *h = nl_msg(nl, RTM_GETLINK, 0);
	put_ifinfo(h, 0);
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	struct index_query q = {0};
	int r = nl_talk(nl, h, index_cb, &q);
	if (r < 0)
		return r;
	return q.ifindex > 0 ? q.ifindex : -ENODEV;
}

/* Create with NLM_F_EXCL and, when asked, look the new link up. */
static int new_link(struct cb_nl *nl, struct nlmsghdr *h, const char *name, int *ret_ifindex)
{
	int r = nl_talk(nl, h, NULL, NULL);
	if (r < 0)
		return r;
	if (ret_ifindex) {
		r = cb_nl_link_index(nl, name);
		if (r < 0)
			return r;
		*ret_ifindex = r;
	}
	return 0;
}

int cb_nl_bridge_add(struct cb_nl *nl, const char *name, const uint8_t *mac, int *ret_ifindex)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = put_ifinfo(h, 0);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	if (mac)
		mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
	struct nlattr *linkinfo = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	struct nlattr *infodata = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	mnl_attr_put_u32(h, IFLA_BR_FORWARD_DELAY, 0);
	mnl_attr_put_u32(h, IFLA_BR_STP_STATE, 0);
	mnl_attr_nest_end(h, infodata);
	mnl_attr_nest_end(h, linkinfo);
	return new_link(nl, h, name, ret_ifindex);
}

int cb_nl_veth_add(struct cb_nl *nl, const char *host_name, int master_ifindex,
		   const char *peer_name, int peer_netns_fd, const uint8_t *peer_mac,
		   int *ret_ifindex)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = put_ifinfo(h, 0);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, host_name);
	if (master_ifindex > 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master_ifindex);
	struct nlattr *linkinfo = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	struct nlattr *infodata = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
	/* The peer's own ifinfomsg. It cannot be made up here: veth_open()
	 * fails with ENOTCONN before the pair is linked. */
	struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, peer_name);
	if (peer_mac)
		mnl_attr_put(h, IFLA_ADDRESS, 6, peer_mac);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(h, peer);
	mnl_attr_nest_end(h, infodata);
	mnl_attr_nest_end(h, linkinfo);
	return new_link(nl, h, host_name, ret_ifindex);
}

int cb_nl_link_add_kind(struct cb_nl *nl, const char *name, const char *kind)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_ifinfo(h, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	struct nlattr *linkinfo = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(h, linkinfo);
	return nl_talk(nl, h, NULL, NULL);
}

int cb_nl_link_set_netns(struct cb_nl *nl, int ifindex, int netns_fd, const char *new_name)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
	put_ifinfo(h, ifindex);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	if (new_name)
		mnl_attr_put_strz(h, IFLA_IFNAME, new_name);
	return nl_talk(nl, h, NULL, NULL);
}

int cb_nl_link_set_up(struct cb_nl *nl, int ifindex, bool up)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = put_ifinfo(h, ifindex);
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	return nl_talk(nl, h, NULL, NULL);
}

int cb_nl_link_set_master(struct cb_nl *nl, int ifindex, int master_ifindex)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
	put_ifinfo(h, ifindex);
	mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master_ifindex);
	return nl_talk(nl, h, NULL, NULL);
}

int cb_nl_link_del(struct cb_nl *nl, int ifindex)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_DELLINK, 0);
	put_ifinfo(h, ifindex);
	return nl_talk(nl, h, NULL, NULL);
}

int cb_nl_addr_add(struct cb_nl *nl, int ifindex, struct in_addr addr, unsigned prefixlen)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(h, IFA_LOCAL, sizeof(addr), &addr);
	mnl_attr_put(h, IFA_ADDRESS, sizeof(addr), &addr);
	if (prefixlen < 31) {
		uint32_t mask = prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;
		struct in_addr brd = {.s_addr = addr.s_addr | ~mask};
		mnl_attr_put(h, IFA_BROADCAST, sizeof(brd), &brd);
	}
	return nl_talk(nl, h, NULL, NULL);
}

int cb_nl_route_add_default(struct cb_nl *nl, int ifindex, struct in_addr gateway)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(h, RTA_GATEWAY, sizeof(gateway), &gateway);
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)ifindex);
	return nl_talk(nl, h, NULL, NULL);
}

struct link_walk {
	int (*fn)(const struct cb_nl_link *l, void *userdata);
	void *userdata;
	int result;
};

static int link_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);
	if (mnl_attr_type_valid(a, IFLA_MAX) < 0)
		return MNL_CB_OK;
	tb[type] = a;
	return MNL_CB_OK;
}

static int linkinfo_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	if (mnl_attr_type_valid(a, IFLA_INFO_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int link_dump_cb(const struct nlmsghdr *h, void *data)
{
	struct link_walk *w = data;
	if (w->result < 0)
		return MNL_CB_OK; /* drain the dump */
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	mnl_attr_parse(h, sizeof(*ifi), link_attr_cb, tb);
	if (!tb[IFLA_IFNAME])
		return MNL_CB_OK;
	struct cb_nl_link l = {
	    .ifindex = ifi->ifi_index,
	    .name = mnl_attr_get_str(tb[IFLA_IFNAME]),
	    .up = (ifi->ifi_flags & IFF_UP) != 0,
	    .master = tb[IFLA_MASTER] ? (int)mnl_attr_get_u32(tb[IFLA_MASTER]) : 0,
	};
	if (tb[IFLA_LINKINFO]) {
		const struct nlattr *info[IFLA_INFO_MAX + 1] = {0};
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_attr_cb, info);
		if (info[IFLA_INFO_KIND])
			l.kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
	}
	int r = w->fn(&l, w->userdata);
	if (r < 0)
		w->result = r;
	return MNL_CB_OK;
}

int cb_nl_link_foreach(struct cb_nl *nl, int (*fn)(const struct cb_nl_link *l, void *userdata),
		       void *userdata)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_GETLINK, NLM_F_DUMP);
	put_ifinfo(h, 0);
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	struct link_walk w = {.fn = fn, .userdata = userdata};
	int r = nl_talk(nl, h, link_dump_cb, &w);
	if (r < 0)
		return r;
	return w.result;
}

struct route_count {
	int ifindex;
	int n;
};

static int route_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	if (mnl_attr_type_valid(a, RTA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int route_dump_cb(const struct nlmsghdr *h, void *data)
{
	struct route_count *c = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	if (rtm->rtm_table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	mnl_attr_parse(h, sizeof(*rtm), route_attr_cb, tb);
	if (tb[RTA_OIF] && (int)mnl_attr_get_u32(tb[RTA_OIF]) == c->ifindex)
		c->n++;
	return MNL_CB_OK;
}

int cb_nl_route_count(struct cb_nl *nl, int ifindex)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	struct route_count c = {.ifindex = ifindex};
	int r = nl_talk(nl, h, route_dump_cb, &c);
	return r < 0 ? r : c.n;
}
