/* runtime/mnl.c, our stand-in for libmnl: attribute building, parsing and
 * validation, batches and mnl_cb_run on hand-built buffers (the byte
 * layout libnftnl.a and the kernel expect), and a real rtnetlink
 * exchange over NETLINK_ROUTE (lo exists in every network namespace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <string.h>

#define ELEMENTS(x) (sizeof(x) / sizeof((x)[0]))

enum {
	A_UNSPEC,
	A_U8,
	A_U16,
	A_U32,
	A_U64,
	A_STR,
	A_STRZ,
	A_BIN,
	A_NEST,
	A_MAX = A_NEST,
};

struct attrs {
	const struct nlattr *tb[A_MAX + 1];
	unsigned n;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	if (mnl_attr_type_valid(a, A_MAX) < 0)
		return MNL_CB_ERROR;
	t->tb[mnl_attr_get_type(a)] = a;
	t->n++;
	return MNL_CB_OK;
}

static struct nlmsghdr *new_msg(void *buf, uint16_t type, uint16_t flags, uint32_t seq,
				uint32_t pid)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	h->nlmsg_pid = pid;
	return h;
}

static void test_put_parse(void **state)
{
	_Alignas(8) char buf[512];
	memset(buf, 0xa5, sizeof(buf)); /* so that unzeroed padding shows */
	struct nlmsghdr *h = new_msg(buf, 0x10, NLM_F_REQUEST, 1, 0);
	assert_int_equal(h->nlmsg_len, MNL_NLMSG_HDRLEN);
	assert_int_equal(h->nlmsg_type, 0x10);

	/* A 3-byte family header is padded to 4, and zeroed. */
	uint8_t *extra = mnl_nlmsg_put_extra_header(h, 3);
	assert_ptr_equal(extra, mnl_nlmsg_get_payload(h));
	assert_int_equal(h->nlmsg_len, MNL_NLMSG_HDRLEN + 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(extra[i], 0);
	extra[0] = 7;

	const uint8_t mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
	mnl_attr_put_u8(h, A_U8, 0xab);
	mnl_attr_put_u16(h, A_U16, 0xbeef);
	mnl_attr_put_u32(h, A_U32, 0xdeadbeef);
	mnl_attr_put_u64(h, A_U64, 0x0123456789abcdefULL);
	mnl_attr_put_str(h, A_STR, "eth0");
	mnl_attr_put_strz(h, A_STRZ, "cowbox0");
	mnl_attr_put(h, A_BIN, sizeof(mac), mac);
	struct nlattr *nest = mnl_attr_nest_start(h, A_NEST);
	mnl_attr_put_u32(h, A_U32, 42);
	mnl_attr_put_strz(h, A_STRZ, "veth");
	mnl_attr_nest_end(h, nest);

	/* Every attribute is 4-aligned: 8+8+8+12+8+12+12 + (4+8+12) */
	assert_int_equal(h->nlmsg_len, MNL_NLMSG_HDRLEN + 4 + 92);
	assert_int_equal(mnl_nlmsg_get_payload_len(h), 4 + 92);
	assert_int_equal(mnl_nlmsg_size(4 + 92), h->nlmsg_len);
	assert_ptr_equal(mnl_nlmsg_get_payload_tail(h), buf + h->nlmsg_len);
	assert_int_equal(nest->nla_type, NLA_F_NESTED | A_NEST);
	assert_int_equal(mnl_attr_get_len(nest), 4 + 8 + 12);

	struct attrs t = {0};
	assert_int_equal(mnl_attr_parse(h, 3, attr_cb, &t), MNL_CB_OK);
	assert_int_equal(t.n, 8);
	for (int i = A_U8; i <= A_MAX; i++)
		assert_non_null(t.tb[i]);

	const struct nlattr *a = t.tb[A_U8];
	assert_int_equal(mnl_attr_get_len(a), 5);
	assert_int_equal(mnl_attr_get_payload_len(a), 1);
	assert_int_equal(mnl_attr_get_u8(a), 0xab);
	const uint8_t *pad = mnl_attr_get_payload(a);
	assert_int_equal(pad[1] | pad[2] | pad[3], 0);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_U8), 0);

	assert_int_equal(mnl_attr_get_u16(t.tb[A_U16]), 0xbeef);
	assert_int_equal(mnl_attr_validate(t.tb[A_U16], MNL_TYPE_U16), 0);
	assert_int_equal(mnl_attr_get_u32(t.tb[A_U32]), 0xdeadbeef);
	assert_int_equal(mnl_attr_validate(t.tb[A_U32], MNL_TYPE_U32), 0);
	assert_true(mnl_attr_get_u64(t.tb[A_U64]) == 0x0123456789abcdefULL);
	assert_int_equal(mnl_attr_validate(t.tb[A_U64], MNL_TYPE_U64), 0);
	assert_int_equal(mnl_attr_validate(t.tb[A_U64], MNL_TYPE_MSECS), 0);

	/* put_str has no NUL (but zero padding), put_strz has one. */
	a = t.tb[A_STR];
	assert_int_equal(mnl_attr_get_payload_len(a), 4);
	assert_memory_equal(mnl_attr_get_payload(a), "eth0", 4);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_STRING), 0);
	a = t.tb[A_STRZ];
	assert_int_equal(mnl_attr_get_payload_len(a), 8);
	assert_string_equal(mnl_attr_get_str(a), "cowbox0");
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_NUL_STRING), 0);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_STRING), 0);

	a = t.tb[A_BIN];
	assert_int_equal(mnl_attr_get_payload_len(a), 6);
	assert_memory_equal(mnl_attr_get_payload(a), mac, 6);
	pad = mnl_attr_get_payload(a);
	assert_int_equal(pad[6] | pad[7], 0);
	assert_int_equal(mnl_attr_validate2(a, MNL_TYPE_BINARY, 6), 0);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_BINARY), 0);

	/* The nest: type masked, parsed on its own. */
	a = t.tb[A_NEST];
	assert_int_equal(mnl_attr_get_type(a), A_NEST);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_NESTED), 0);
	struct attrs in = {0};
	assert_int_equal(mnl_attr_parse_nested(a, attr_cb, &in), MNL_CB_OK);
	assert_int_equal(in.n, 2);
	assert_int_equal(mnl_attr_get_u32(in.tb[A_U32]), 42);
	assert_string_equal(mnl_attr_get_str(in.tb[A_STRZ]), "veth");

	/* parse_payload and the iterator macros see the same attributes. */
	struct attrs p = {0};
	assert_int_equal(
	    mnl_attr_parse_payload(mnl_nlmsg_get_payload_offset(h, 3), 92, attr_cb, &p), MNL_CB_OK);
	assert_int_equal(p.n, 8);
	const struct nlattr *it;
	unsigned n = 0;
	mnl_attr_for_each(it, h, 3)
	{
		n++;
	}
	assert_int_equal(n, 8);
	n = 0;
	mnl_attr_for_each_nested(it, a)
	{
		n++;
	}
	assert_int_equal(n, 2);

	/* A nest cancelled takes what was put in it away too. */
	uint32_t len = h->nlmsg_len;
	nest = mnl_attr_nest_start(h, A_NEST);
	mnl_attr_put_u64(h, A_U64, 1);
	mnl_attr_nest_cancel(h, nest);
	assert_int_equal(h->nlmsg_len, len);

	/* An empty nest is valid. */
	nest = mnl_attr_nest_start(h, A_NEST);
	mnl_attr_nest_end(h, nest);
	assert_int_equal(mnl_attr_get_payload_len(nest), 0);
	assert_int_equal(mnl_attr_validate(nest, MNL_TYPE_NESTED), 0);
}

static int stop_at_two(const struct nlattr *a, void *data)
{
	unsigned *n = data;
	return ++*n == 2 ? MNL_CB_STOP : MNL_CB_OK;
}

static int fail_at_one(const struct nlattr *a, void *data)
{
	unsigned *n = data;
	++*n;
	return MNL_CB_ERROR;
}

static void test_parse_stop(void **state)
{
	_Alignas(8) char buf[128];
	struct nlmsghdr *h = new_msg(buf, 0x10, 0, 0, 0);
	for (uint16_t i = 1; i <= 4; i++)
		mnl_attr_put_u32(h, i, i);
	unsigned n = 0;
	assert_int_equal(mnl_attr_parse(h, 0, stop_at_two, &n), MNL_CB_STOP);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(mnl_attr_parse(h, 0, fail_at_one, &n), MNL_CB_ERROR);
	assert_int_equal(n, 1);

	/* An attribute whose length runs past the message ends the walk. */
	struct nlattr *last = (struct nlattr *)((char *)h + h->nlmsg_len - 8);
	last->nla_len = 200;
	struct attrs t = {0};
	assert_int_equal(mnl_attr_parse(h, 0, attr_cb, &t), MNL_CB_OK);
	assert_int_equal(t.n, 3);
	/* Nor is one shorter than its own header taken. */
	last->nla_len = 2;
	assert_false(mnl_attr_ok(last, 8));
	last->nla_len = 8;
	assert_true(mnl_attr_ok(last, 8));
	assert_false(mnl_attr_ok(last, 7));
}

/* An attribute built by hand, for lengths no putter would make. */
static const struct nlattr *raw_attr(void *buf, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = buf;
	a->nla_type = type;
	a->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + len);
	memcpy((char *)a + MNL_ATTR_HDRLEN, data, len);
	return a;
}

#define assert_invalid(call, err)                                                                  \
	do {                                                                                       \
		errno = 0;                                                                         \
		assert_int_equal((call), -1);                                                      \
		assert_int_equal(errno, (err));                                                    \
	} while (0)

static void test_validate(void **state)
{
	_Alignas(8) char buf[64];
	const uint32_t v32 = 1;
	const struct nlattr *a = raw_attr(buf, 1, &v32, 4);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_U32), 0);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_U8), ERANGE);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_U16), ERANGE);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_U64), ERANGE);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_MSECS), ERANGE);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_FLAG), ERANGE);
	assert_invalid(mnl_attr_validate2(a, MNL_TYPE_BINARY, 6), ERANGE);
	assert_invalid(mnl_attr_validate2(a, MNL_TYPE_BINARY, 2), ERANGE);
	assert_int_equal(mnl_attr_validate2(a, MNL_TYPE_BINARY, 4), 0);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_UNSPEC), 0);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_MAX), EINVAL);
	assert_invalid(mnl_attr_validate2(a, MNL_TYPE_MAX, 4), EINVAL);

	/* Too short to hold an attribute header: not a valid nest. */
	a = raw_attr(buf, 1, "ab", 2);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_NESTED), ERANGE);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_STRING), 0);
	/* Unterminated: no NUL_STRING. */
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_NUL_STRING), EINVAL);

	a = raw_attr(buf, 1, "", 0);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_FLAG), 0);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_NESTED), 0);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_STRING), ERANGE);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_NUL_STRING), ERANGE);
	assert_invalid(mnl_attr_validate(a, MNL_TYPE_U8), ERANGE);

	a = raw_attr(buf, 1, "ab", 3);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_NUL_STRING), 0);
}

static void test_type_valid(void **state)
{
	_Alignas(8) char buf[64];
	const struct nlattr *a = raw_attr(buf, 5, "", 0);
	assert_int_equal(mnl_attr_type_valid(a, 5), 1);
	assert_int_equal(mnl_attr_type_valid(a, 6), 1);
	assert_invalid(mnl_attr_type_valid(a, 4), EOPNOTSUPP);
	/* The flag bits are not part of the type. */
	a = raw_attr(buf, NLA_F_NESTED | NLA_F_NET_BYTEORDER | 3, "", 0);
	assert_int_equal(mnl_attr_get_type(a), 3);
	assert_int_equal(mnl_attr_type_valid(a, 3), 1);
}

/* One 20-byte message (header + 4-byte payload) at the batch's current. */
static void batch_put(struct mnl_nlmsg_batch *b, uint32_t seq)
{
	struct nlmsghdr *h = new_msg(mnl_nlmsg_batch_current(b), 0x10, NLM_F_REQUEST, seq, 0);
	uint32_t *p = mnl_nlmsg_put_extra_header(h, 4);
	*p = seq;
}

static void test_batch(void **state)
{
	/* Room for one message past the limit, for the one that overflows. */
	_Alignas(8) char buf[2 * 64];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, 64);
	assert_non_null(b);
	assert_true(mnl_nlmsg_batch_is_empty(b));
	assert_int_equal(mnl_nlmsg_batch_size(b), 0);
	assert_ptr_equal(mnl_nlmsg_batch_head(b), buf);
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf);

	for (uint32_t seq = 1; seq <= 3; seq++) {
		batch_put(b, seq);
		assert_true(mnl_nlmsg_batch_next(b));
		assert_int_equal(mnl_nlmsg_batch_size(b), 20 * seq);
		assert_ptr_equal(mnl_nlmsg_batch_current(b), buf + 20 * seq);
	}
	assert_false(mnl_nlmsg_batch_is_empty(b));

	/* 80 > 64: the fourth is not taken, and stays where it was built. */
	batch_put(b, 4);
	assert_false(mnl_nlmsg_batch_next(b));
	assert_int_equal(mnl_nlmsg_batch_size(b), 60);
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf + 60);

	/* The three committed messages walk as a buffer of 60 bytes. */
	const struct nlmsghdr *h = mnl_nlmsg_batch_head(b);
	int len = (int)mnl_nlmsg_batch_size(b);
	uint32_t seq = 1;
	for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len))
		assert_int_equal(h->nlmsg_seq, seq++);
	assert_int_equal(seq, 4);
	assert_int_equal(len, 0);

	/* Reset after overflow: the fourth opens the next batch. */
	mnl_nlmsg_batch_reset(b);
	assert_int_equal(mnl_nlmsg_batch_size(b), 20);
	assert_false(mnl_nlmsg_batch_is_empty(b));
	h = mnl_nlmsg_batch_head(b);
	assert_int_equal(h->nlmsg_seq, 4);
	assert_int_equal(*(uint32_t *)mnl_nlmsg_get_payload(h), 4);
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf + 20);
	batch_put(b, 5);
	assert_true(mnl_nlmsg_batch_next(b));
	assert_int_equal(mnl_nlmsg_batch_size(b), 40);

	/* Reset without overflow empties it. */
	mnl_nlmsg_batch_reset(b);
	assert_true(mnl_nlmsg_batch_is_empty(b));
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf);

	/* Exactly at the limit still fits: 20 + 20 + 24 = 64. */
	batch_put(b, 1);
	assert_true(mnl_nlmsg_batch_next(b));
	batch_put(b, 2);
	assert_true(mnl_nlmsg_batch_next(b));
	struct nlmsghdr *last = new_msg(mnl_nlmsg_batch_current(b), 0x10, 0, 3, 0);
	mnl_nlmsg_put_extra_header(last, 8);
	assert_true(mnl_nlmsg_batch_next(b));
	assert_int_equal(mnl_nlmsg_batch_size(b), 64);
	/* Then even a bare header does not. */
	new_msg(mnl_nlmsg_batch_current(b), 0x10, 0, 4, 0);
	assert_false(mnl_nlmsg_batch_next(b));
	assert_int_equal(mnl_nlmsg_batch_size(b), 64);
	mnl_nlmsg_batch_stop(b);
}

/* A buffer of replies, as one recv would return them. */
struct replies {
	_Alignas(8) char buf[512];
	size_t len;
};

static struct nlmsghdr *add(struct replies *r, uint16_t type, uint16_t flags, uint32_t seq,
			    uint32_t pid)
{
	return new_msg(r->buf + r->len, type, flags, seq, pid);
}

static void done(struct replies *r, struct nlmsghdr *h)
{
	r->len += MNL_ALIGN(h->nlmsg_len);
}

static void add_data(struct replies *r, uint32_t seq, uint32_t pid)
{
	struct nlmsghdr *h = add(r, RTM_NEWLINK, NLM_F_MULTI, seq, pid);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_index = 1;
	mnl_attr_put_strz(h, IFLA_IFNAME, "lo");
	done(r, h);
}

static void add_error(struct replies *r, int error, uint32_t seq, uint32_t pid)
{
	struct nlmsghdr *h = add(r, NLMSG_ERROR, 0, seq, pid);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(h, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_seq = seq;
	done(r, h);
}

static int count_cb(const struct nlmsghdr *h, void *data)
{
	unsigned *n = data;
	++*n;
	return MNL_CB_OK;
}

#define SEQ  7
#define PORT 1234

static void test_cb_run(void **state)
{
	struct replies r = {0};
	unsigned n = 0;

	/* Data messages only: more to come. */
	add_data(&r, SEQ, PORT);
	add_data(&r, SEQ, PORT);
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, count_cb, &n), MNL_CB_OK);
	assert_int_equal(n, 2);

	/* An error after a data message. */
	memset(&r, 0, sizeof(r));
	n = 0;
	add_data(&r, SEQ, PORT);
	add_error(&r, -EEXIST, SEQ, PORT);
	add_data(&r, SEQ, PORT);
	errno = 0;
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, count_cb, &n), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(n, 1);

	/* An ack ends it; what follows is not looked at. */
	memset(&r, 0, sizeof(r));
	n = 0;
	add_data(&r, SEQ, PORT);
	add_error(&r, 0, SEQ, PORT);
	add_data(&r, SEQ, PORT);
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, count_cb, &n), MNL_CB_STOP);
	assert_int_equal(n, 1);

	/* So does NLMSG_DONE; NOOP and OVERRUN are skipped. */
	memset(&r, 0, sizeof(r));
	n = 0;
	done(&r, add(&r, NLMSG_NOOP, 0, SEQ, PORT));
	done(&r, add(&r, NLMSG_OVERRUN, 0, SEQ, PORT));
	add_data(&r, SEQ, PORT);
	struct nlmsghdr *d = add(&r, NLMSG_DONE, NLM_F_MULTI, SEQ, PORT);
	*(int *)mnl_nlmsg_put_extra_header(d, sizeof(int)) = 0;
	done(&r, d);
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, count_cb, &n), MNL_CB_STOP);
	assert_int_equal(n, 1);
	/* With no data callback the data is skipped, the rest the same. */
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, NULL, NULL), MNL_CB_STOP);

	/* A control array overrides the defaults for the types it covers. */
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {[NLMSG_DONE] = count_cb};
	n = 0;
	assert_int_equal(mnl_cb_run2(r.buf, r.len, SEQ, PORT, count_cb, &n, ctl, ELEMENTS(ctl)),
			 MNL_CB_OK);
	assert_int_equal(n, 2);

	/* Someone else's sequence number. */
	memset(&r, 0, sizeof(r));
	n = 0;
	add_data(&r, SEQ, PORT);
	add_data(&r, SEQ + 1, PORT);
	errno = 0;
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, count_cb, &n), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(n, 1);
	/* seq 0 on either side is not checked. */
	n = 0;
	assert_int_equal(mnl_cb_run(r.buf, r.len, 0, PORT, count_cb, &n), MNL_CB_OK);
	assert_int_equal(n, 2);

	/* Someone else's port. */
	memset(&r, 0, sizeof(r));
	add_data(&r, SEQ, PORT + 1);
	errno = 0;
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, count_cb, &n), -1);
	assert_int_equal(errno, ESRCH);
	/* Port 0 (from the kernel's multicast, say) is not checked. */
	memset(&r, 0, sizeof(r));
	add_data(&r, 0, 0);
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, count_cb, &n), MNL_CB_OK);

	/* A dump that changed under the kernel. */
	memset(&r, 0, sizeof(r));
	add_data(&r, SEQ, PORT);
	((struct nlmsghdr *)r.buf)->nlmsg_flags |= NLM_F_DUMP_INTR;
	errno = 0;
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, count_cb, &n), -1);
	assert_int_equal(errno, EINTR);

	/* An NLMSG_ERROR too short to hold an nlmsgerr. */
	memset(&r, 0, sizeof(r));
	d = add(&r, NLMSG_ERROR, 0, SEQ, PORT);
	*(int *)mnl_nlmsg_put_extra_header(d, sizeof(int)) = -EEXIST;
	done(&r, d);
	errno = 0;
	assert_int_equal(mnl_cb_run(r.buf, r.len, SEQ, PORT, count_cb, &n), -1);
	assert_int_equal(errno, EBADMSG);

	/* A message cut short at the end of the buffer is not looked at. */
	memset(&r, 0, sizeof(r));
	add_data(&r, SEQ, PORT);
	n = 0;
	assert_int_equal(mnl_cb_run(r.buf, r.len - 1, SEQ, PORT, count_cb, &n), MNL_CB_OK);
	assert_int_equal(n, 0);
}

/* Real rtnetlink: a link dump, then a get of lo with an ack and a get of
 * a link that does not exist. */

struct dump {
	unsigned msgs;
	bool saw_lo;
};

static int name_cb(const struct nlattr *a, void *data)
{
	const char **name = data;
	if (mnl_attr_type_valid(a, IFLA_MAX) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(a) == IFLA_IFNAME) {
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		*name = mnl_attr_get_str(a);
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *h, void *data)
{
	struct dump *d = data;
	const char *name = NULL;
	assert_int_equal(h->nlmsg_type, RTM_NEWLINK);
	if (mnl_attr_parse(h, sizeof(struct ifinfomsg), name_cb, &name) < 0)
		return MNL_CB_ERROR;
	d->msgs++;
	if (name && !strcmp(name, "lo")) {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
		assert_true(ifi->ifi_flags & IFF_LOOPBACK);
		d->saw_lo = true;
	}
	return MNL_CB_OK;
}

static struct nlmsghdr *getlink(void *buf, uint16_t flags, uint32_t seq, const char *name)
{
	struct nlmsghdr *h = new_msg(buf, RTM_GETLINK, NLM_F_REQUEST | flags, seq, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (name)
		mnl_attr_put_strz(h, IFLA_IFNAME, name);
	return h;
}

/* Send h and run the replies until the exchange ends; the final
 * mnl_cb_run result. */
static int talk(struct mnl_socket *nl, struct nlmsghdr *h, struct dump *d)
{
	static _Alignas(8) char buf[32768];
	uint32_t seq = h->nlmsg_seq;
	assert_int_equal(mnl_socket_sendto(nl, h, h->nlmsg_len), (ssize_t)h->nlmsg_len);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		assert_true(n > 0);
		int r = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), link_cb, d);
		if (r <= MNL_CB_STOP)
			return r;
	}
}

static void test_socket(void **state)
{
	_Alignas(8) char req[256];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	assert_non_null(nl);
	assert_true(mnl_socket_get_fd(nl) >= 0);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	assert_int_not_equal(mnl_socket_get_portid(nl), 0);

	int one = 1, got = 0;
	socklen_t len = sizeof(got);
	assert_int_equal(mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)), 0);
	assert_int_equal(mnl_socket_getsockopt(nl, NETLINK_CAP_ACK, &got, &len), 0);
	assert_int_equal(got, 1);

	struct dump d = {0};
	assert_int_equal(talk(nl, getlink(req, NLM_F_DUMP, 100, NULL), &d), MNL_CB_STOP);
	assert_true(d.msgs >= 1);
	assert_true(d.saw_lo);

	/* A plain get with an ack: one message, then the ack stops it. */
	d = (struct dump){0};
	assert_int_equal(talk(nl, getlink(req, NLM_F_ACK, 101, "lo"), &d), MNL_CB_STOP);
	assert_int_equal(d.msgs, 1);
	assert_true(d.saw_lo);

	d = (struct dump){0};
	errno = 0;
	assert_int_equal(talk(nl, getlink(req, NLM_F_ACK, 102, "cowbox-nosuch"), &d), MNL_CB_ERROR);
	assert_int_equal(errno, ENODEV);
	assert_int_equal(d.msgs, 0);
	assert_int_equal(mnl_socket_close(nl), 0);

	/* A reply bigger than the buffer fails rather than being cut.
	 * Non-blocking: rtnetlink answers within sendto, so the reply is
	 * already queued, and a regression cannot hang the test. */
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	assert_non_null(nl);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	struct nlmsghdr *h = getlink(req, 0, 1, "lo");
	assert_true(mnl_socket_sendto(nl, h, h->nlmsg_len) > 0);
	_Alignas(8) char small[32];
	errno = 0;
	assert_int_equal(mnl_socket_recvfrom(nl, small, sizeof(small)), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(mnl_socket_close(nl), 0);

	/* No such protocol. */
	errno = 0;
	assert_null(mnl_socket_open(MAX_LINKS));
	assert_int_not_equal(errno, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_parse), cmocka_unit_test(test_parse_stop),
	    cmocka_unit_test(test_validate),  cmocka_unit_test(test_type_valid),
	    cmocka_unit_test(test_batch),     cmocka_unit_test(test_cb_run),
	    cmocka_unit_test(test_socket),
	};
	return cmocka_run_group_tests_name("mnl", tests, NULL, NULL);
}
