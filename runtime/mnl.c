/* Our own libmnl, the part of its API that libnftnl and cowbox use.
 *
 * cowbox links its main binary fully statically (-static, glibc) to keep
 * start time and RSS down, and Debian ships libnftnl.a but libmnl only as
 * a shared library: there is no libmnl.a to link. libnftnl.a calls into
 * libmnl (attributes, batches, message headers), and so do netlink.c and
 * nft.c, so this file provides those functions with libmnl's documented
 * semantics, errno values included. The declarations, enum values and
 * MNL_ALIGN come from <libmnl/libmnl.h> itself, so the ABI is the one
 * libnftnl.a was compiled against. Functions nothing calls (the *_check
 * putters, mnl_nlmsg_fprintf, mnl_socket_fdopen) are left out: a new
 * caller fails to link rather than silently getting a stub. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * Sockets
 */

/* Opaque in libmnl.h; the bound address is kept so that the port id the
 * kernel assigned (MNL_SOCKET_AUTOPID) can be read without a syscall. */
struct mnl_socket {
	int fd;
	struct sockaddr_nl addr;
};

struct mnl_socket *mnl_socket_open2(int bus, int flags)
{
	struct mnl_socket *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | flags, bus);
	if (nl->fd < 0) {
		int saved = errno;
		free(nl);
		errno = saved;
		return NULL;
	}
	return nl;
}

struct mnl_socket *mnl_socket_open(int bus)
{
	return mnl_socket_open2(bus, 0);
}

int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid)
{
	nl->addr = (struct sockaddr_nl){
	    .nl_family = AF_NETLINK,
	    .nl_groups = groups,
	    .nl_pid = (__u32)pid,
	};
	if (bind(nl->fd, (struct sockaddr *)&nl->addr, sizeof(nl->addr)) < 0)
		return -1;
	/* With pid 0 the kernel picks the port id; read it back, since
	 * replies are checked against it (mnl_cb_run's portid). */
	socklen_t len = sizeof(nl->addr);
	if (getsockname(nl->fd, (struct sockaddr *)&nl->addr, &len) < 0)
		return -1;
	if (len != sizeof(nl->addr) || nl->addr.nl_family != AF_NETLINK) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int mnl_socket_close(struct mnl_socket *nl)
{
	int r = close(nl->fd);
	free(nl);
	return r;
}

int mnl_socket_get_fd(const struct mnl_socket *nl)
{
	return nl->fd;
}

unsigned int mnl_socket_get_portid(const struct mnl_socket *nl)
{
	return nl->addr.nl_pid;
}

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req, size_t siz)
{
	/* Always to the kernel (port id 0, no groups). */
	static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	return sendto(nl->fd, req, siz, 0, (const struct sockaddr *)&kernel, sizeof(kernel));
}

ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz)
{
	struct sockaddr_nl from;
	struct iovec iov = {.iov_base = buf, .iov_len = siz};
	struct msghdr msg = {
	    .msg_name = &from,
	    .msg_namelen = sizeof(from),
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	};
	ssize_t n = recvmsg(nl->fd, &msg, 0);
	if (n < 0)
		return n;
	/* A datagram cut short would be parsed as if whole: the tail of a
	 * dump would vanish silently. Fail so the caller grows its buffer. */
	if (msg.msg_flags & MSG_TRUNC) {
		errno = ENOSPC;
		return -1;
	}
	if (msg.msg_namelen != sizeof(from)) {
		errno = EINVAL;
		return -1;
	}
	return n;
}

int mnl_socket_setsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t len)
{
	return setsockopt(nl->fd, SOL_NETLINK, type, buf, len);
}

int mnl_socket_getsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t *len)
{
	return getsockopt(nl->fd, SOL_NETLINK, type, buf, len);
}

/*
 * Messages
 */

size_t mnl_nlmsg_size(size_t len)
{
	return len + MNL_NLMSG_HDRLEN;
}

size_t mnl_nlmsg_get_payload_len(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_len - MNL_NLMSG_HDRLEN;
}

struct nlmsghdr *mnl_nlmsg_put_header(void *buf)
{
	struct nlmsghdr *nlh = buf;
	memset(nlh, 0, MNL_NLMSG_HDRLEN);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
	return nlh;
}

void *mnl_nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size)
{
	char *p = (char *)nlh + nlh->nlmsg_len;
	size_t len = MNL_ALIGN(size);
	/* Zeroed: callers fill only the fields they care about. */
	memset(p, 0, len);
	nlh->nlmsg_len += len;
	return p;
}

void *mnl_nlmsg_get_payload(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_NLMSG_HDRLEN;
}

void *mnl_nlmsg_get_payload_offset(const struct nlmsghdr *nlh, size_t offset)
{
	return (char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(offset);
}

void *mnl_nlmsg_get_payload_tail(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_ALIGN(nlh->nlmsg_len);
}

/* len is what is left of the buffer; it is an int so that a bad length
 * that makes it go negative ends the walk instead of wrapping. */
bool mnl_nlmsg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       (int)nlh->nlmsg_len <= len;
}

struct nlmsghdr *mnl_nlmsg_next(const struct nlmsghdr *nlh, int *len)
{
	size_t step = MNL_ALIGN(nlh->nlmsg_len);
	*len -= (int)step;
	return (struct nlmsghdr *)((char *)nlh + step);
}

/* A zero on either side means "not tracked": kernel notifications carry
 * seq 0, and a caller passing 0 accepts anything. */
bool mnl_nlmsg_seq_ok(const struct nlmsghdr *nlh, unsigned int seq)
{
	return !nlh->nlmsg_seq || !seq || nlh->nlmsg_seq == seq;
}

bool mnl_nlmsg_portid_ok(const struct nlmsghdr *nlh, unsigned int portid)
{
	return !nlh->nlmsg_pid || !portid || nlh->nlmsg_pid == portid;
}

/*
 * Batches: several messages back to back in one buffer, sent with one
 * sendto (nftables transactions). The caller builds each message at
 * batch_current() and commits it with batch_next().
 */

struct mnl_nlmsg_batch {
	char *buf;
	size_t limit;  /* bytes a batch may hold */
	size_t len;    /* bytes committed */
	char *cur;     /* where the next message is built */
	bool overflow; /* the message at cur did not fit */
};

struct mnl_nlmsg_batch *mnl_nlmsg_batch_start(void *buf, size_t limit)
{
	struct mnl_nlmsg_batch *b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	*b = (struct mnl_nlmsg_batch){.buf = buf, .limit = limit, .cur = buf};
	return b;
}

void mnl_nlmsg_batch_stop(struct mnl_nlmsg_batch *b)
{
	free(b);
}

/* Commit the message at cur. If it would take the batch past the limit it
 * is not committed and false is returned: the caller sends what there is
 * and calls batch_reset, which carries the message over. The buffer must
 * therefore have room for one message beyond the limit, as in libmnl. */
bool mnl_nlmsg_batch_next(struct mnl_nlmsg_batch *b)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->cur;
	if (b->len + nlh->nlmsg_len > b->limit) {
		b->overflow = true;
		return false;
	}
	b->len += nlh->nlmsg_len;
	b->cur = b->buf + b->len;
	return true;
}

/* Start a new batch in the same buffer. A message that overflowed the
 * previous one becomes the first message of this one (already committed),
 * moved to the start of the buffer. */
void mnl_nlmsg_batch_reset(struct mnl_nlmsg_batch *b)
{
	if (b->overflow) {
		size_t len = ((const struct nlmsghdr *)b->cur)->nlmsg_len;
		/* memmove: a message longer than the old batch overlaps. */
		memmove(b->buf, b->cur, len);
		b->len = len;
		b->overflow = false;
	} else {
		b->len = 0;
	}
	b->cur = b->buf + b->len;
}

size_t mnl_nlmsg_batch_size(struct mnl_nlmsg_batch *b)
{
	return b->len;
}

void *mnl_nlmsg_batch_head(struct mnl_nlmsg_batch *b)
{
	return b->buf;
}

void *mnl_nlmsg_batch_current(struct mnl_nlmsg_batch *b)
{
	return b->cur;
}

bool mnl_nlmsg_batch_is_empty(struct mnl_nlmsg_batch *b)
{
	return b->len == 0;
}

/*
 * Attributes
 */

uint16_t mnl_attr_get_type(const struct nlattr *attr)
{
	/* The top bits are NLA_F_NESTED / NLA_F_NET_BYTEORDER, not type. */
	return attr->nla_type & NLA_TYPE_MASK;
}

uint16_t mnl_attr_get_len(const struct nlattr *attr)
{
	return attr->nla_len;
}

uint16_t mnl_attr_get_payload_len(const struct nlattr *attr)
{
	return (uint16_t)(attr->nla_len - MNL_ATTR_HDRLEN);
}

void *mnl_attr_get_payload(const struct nlattr *attr)
{
	return (char *)attr + MNL_ATTR_HDRLEN;
}

/* memcpy: attributes are only 4-byte aligned, and a u64 payload need not
 * be 8-byte aligned. */
uint8_t mnl_attr_get_u8(const struct nlattr *attr)
{
	return *(const uint8_t *)mnl_attr_get_payload(attr);
}

uint16_t mnl_attr_get_u16(const struct nlattr *attr)
{
	uint16_t v;
	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint32_t mnl_attr_get_u32(const struct nlattr *attr)
{
	uint32_t v;
	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint64_t mnl_attr_get_u64(const struct nlattr *attr)
{
	uint64_t v;
	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

const char *mnl_attr_get_str(const struct nlattr *attr)
{
	return mnl_attr_get_payload(attr);
}

bool mnl_attr_ok(const struct nlattr *attr, int len)
{
	return len >= (int)sizeof(*attr) && attr->nla_len >= sizeof(*attr) &&
	       (int)attr->nla_len <= len;
}

struct nlattr *mnl_attr_next(const struct nlattr *attr)
{
	return (struct nlattr *)((char *)attr + MNL_ALIGN(attr->nla_len));
}

/* Append an attribute at the message tail. No bounds check, as in libmnl:
 * the caller sized the buffer. The padding is zeroed so that no stale
 * bytes go to the kernel (and the message is reproducible). */
void mnl_attr_put(struct nlmsghdr *nlh, uint16_t type, size_t len, const void *data)
{
	struct nlattr *attr = mnl_nlmsg_get_payload_tail(nlh);
	size_t attr_len = MNL_ATTR_HDRLEN + len;
	attr->nla_type = type;
	attr->nla_len = (uint16_t)attr_len;
	char *payload = mnl_attr_get_payload(attr);
	if (len)
		memcpy(payload, data, len);
	memset(payload + len, 0, MNL_ALIGN(len) - len);
	nlh->nlmsg_len += MNL_ALIGN(attr_len);
}

void mnl_attr_put_u8(struct nlmsghdr *nlh, uint16_t type, uint8_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u16(struct nlmsghdr *nlh, uint16_t type, uint16_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u64(struct nlmsghdr *nlh, uint16_t type, uint64_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

/* Without the NUL: for kernel attributes declared NLA_STRING. */
void mnl_attr_put_str(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
	mnl_attr_put(nlh, type, strlen(data), data);
}

/* With the NUL: for NLA_NUL_STRING, and what rtnetlink's IFLA_IFNAME and
 * nftables' names expect in practice. */
void mnl_attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
	mnl_attr_put(nlh, type, strlen(data) + 1, data);
}

/* Open a nest: a header only, its length filled in by nest_end once the
 * inner attributes are in. NLA_F_NESTED because the kernel's strict
 * validation rejects nests without it. */
struct nlattr *mnl_attr_nest_start(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *start = mnl_nlmsg_get_payload_tail(nlh);
	start->nla_type = NLA_F_NESTED | type;
	start->nla_len = MNL_ATTR_HDRLEN;
	nlh->nlmsg_len += MNL_ATTR_HDRLEN;
	return start;
}

void mnl_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *start)
{
	char *tail = mnl_nlmsg_get_payload_tail(nlh);
	start->nla_len = (uint16_t)(tail - (char *)start);
}

/* Drop the nest and everything put in it since nest_start. */
void mnl_attr_nest_cancel(struct nlmsghdr *nlh, struct nlattr *start)
{
	char *tail = mnl_nlmsg_get_payload_tail(nlh);
	nlh->nlmsg_len -= (uint32_t)(tail - (char *)start);
}

int mnl_attr_type_valid(const struct nlattr *attr, uint16_t max)
{
	if (mnl_attr_get_type(attr) > max) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return 1;
}

/* exp_len 0 means "any length"; otherwise the payload must be exactly
 * that long. */
static int validate(const struct nlattr *attr, enum mnl_attr_data_type type, size_t exp_len)
{
	size_t len = mnl_attr_get_payload_len(attr);
	const char *p = mnl_attr_get_payload(attr);

	if (len < exp_len)
		goto range;
	switch (type) {
	case MNL_TYPE_FLAG:
		if (len)
			goto range;
		break;
	case MNL_TYPE_STRING:
		if (!len)
			goto range;
		break;
	case MNL_TYPE_NUL_STRING:
		if (!len)
			goto range;
		/* Present but unterminated: malformed rather than short. */
		if (p[len - 1] != '\0') {
			errno = EINVAL;
			return -1;
		}
		break;
	case MNL_TYPE_NESTED:
		/* An empty nest is fine; a non-empty one holds at least one
		 * attribute header. */
		if (len && len < MNL_ATTR_HDRLEN)
			goto range;
		break;
	default:
		break;
	}
	if (exp_len && len > exp_len)
		goto range;
	return 0;
range:
	errno = ERANGE;
	return -1;
}

int mnl_attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type)
{
	static const size_t type_len[MNL_TYPE_MAX] = {
	    [MNL_TYPE_U8] = sizeof(uint8_t),	 [MNL_TYPE_U16] = sizeof(uint16_t),
	    [MNL_TYPE_U32] = sizeof(uint32_t),	 [MNL_TYPE_U64] = sizeof(uint64_t),
	    [MNL_TYPE_MSECS] = sizeof(uint64_t),
	};
	if ((unsigned)type >= MNL_TYPE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return validate(attr, type, type_len[type]);
}

int mnl_attr_validate2(const struct nlattr *attr, enum mnl_attr_data_type type, size_t len)
{
	if ((unsigned)type >= MNL_TYPE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return validate(attr, type, len);
}

int mnl_attr_parse_payload(const void *payload, size_t payload_len, mnl_attr_cb_t cb, void *data)
{
	const struct nlattr *attr = payload;
	const char *end = (const char *)payload + payload_len;
	int r = MNL_CB_OK;
	while (mnl_attr_ok(attr, (int)(end - (const char *)attr))) {
		r = cb(attr, data);
		if (r <= MNL_CB_STOP)
			return r;
		attr = mnl_attr_next(attr);
	}
	return r;
}

/* offset is the size of the family header (ifinfomsg, nfgenmsg...) that
 * sits between the netlink header and the attributes. */
int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset, mnl_attr_cb_t cb, void *data)
{
	const char *start = mnl_nlmsg_get_payload_offset(nlh, offset);
	const char *tail = mnl_nlmsg_get_payload_tail(nlh);
	/* A message shorter than its family header has no attributes. */
	if (start > tail)
		return MNL_CB_OK;
	return mnl_attr_parse_payload(start, (size_t)(tail - start), cb, data);
}

int mnl_attr_parse_nested(const struct nlattr *nested, mnl_attr_cb_t cb, void *data)
{
	return mnl_attr_parse_payload(mnl_attr_get_payload(nested),
				      mnl_attr_get_payload_len(nested), cb, data);
}

/*
 * Callbacks
 */

/* NLMSG_ERROR carries both errors and acks (error 0). An ack ends the
 * exchange, like NLMSG_DONE ends a dump. */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	errno = err->error < 0 ? -err->error : err->error;
	return err->error ? MNL_CB_ERROR : MNL_CB_STOP;
}

static int stop_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static const mnl_cb_t default_ctl_cb[NLMSG_MIN_TYPE] = {
    [NLMSG_NOOP] = noop_cb,
    [NLMSG_ERROR] = error_cb,
    [NLMSG_DONE] = stop_cb,
    [NLMSG_OVERRUN] = noop_cb,
};

/* Walk the messages of one recv. Returns MNL_CB_ERROR (-1, errno set),
 * MNL_CB_STOP (done: ack, NLMSG_DONE or a callback said so) or a positive
 * value (MNL_CB_OK: more replies to read). Control types below
 * cb_ctl_array_len are handled by cb_ctl_array alone (a NULL slot
 * ignores the type); the others get the defaults above. */
int mnl_cb_run2(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid,
		mnl_cb_t cb_data, void *data, mnl_cb_t *cb_ctl_array, unsigned int cb_ctl_array_len)
{
	const struct nlmsghdr *nlh = buf;
	int len = (int)numbytes;
	int r = MNL_CB_OK;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		/* A reply to someone else's request, or an older one of ours. */
		if (!mnl_nlmsg_portid_ok(nlh, portid)) {
			errno = ESRCH;
			return -1;
		}
		if (!mnl_nlmsg_seq_ok(nlh, seq)) {
			errno = EPROTO;
			return -1;
		}
		/* The dump changed under the kernel while it was being sent:
		 * what we got is inconsistent, the caller should retry. */
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			errno = EINTR;
			return -1;
		}

		mnl_cb_t cb;
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			cb = cb_data;
		else if (nlh->nlmsg_type < cb_ctl_array_len)
			cb = cb_ctl_array ? cb_ctl_array[nlh->nlmsg_type] : NULL;
		else
			cb = default_ctl_cb[nlh->nlmsg_type];
		if (!cb)
			continue;
		r = cb(nlh, data);
		if (r <= MNL_CB_STOP)
			return r;
	}
	return r;
}

int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid,
	       mnl_cb_t cb_data, void *data)
{
	return mnl_cb_run2(buf, numbytes, seq, portid, cb_data, data, NULL, 0);
}
