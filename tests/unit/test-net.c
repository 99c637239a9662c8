/* Networking without the kernel: CIDR parsing, overlap checks, IPAM
 * picks, port specs, --network modes, network definitions and /etc/hosts
 * (files only: a network that is created but never used touches no
 * interface). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <cmocka.h>

#include "net.h"
#include "fsutil.h"

static struct cb_subnet subnet(const char *s)
{
	struct cb_subnet n;
	assert_int_equal(cb_subnet_parse(s, &n, NULL), 0);
	return n;
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void test_cidr_parse(void **state)
{
	struct cb_subnet n;
	struct cb_error err = {0};
	char buf[32];
	assert_int_equal(cb_subnet_parse("10.87.0.0/16", &n, NULL), 0);
	assert_int_equal(n.prefixlen, 16);
	cb_subnet_format(&n, buf, sizeof(buf));
	assert_string_equal(buf, "10.87.0.0/16");
	assert_int_equal(cb_subnet_parse("0.0.0.0/0", &n, NULL), 0);
	assert_int_equal(cb_subnet_parse("192.168.1.4/30", &n, NULL), 0);
	assert_int_equal(cb_subnet_parse("192.168.1.5/32", &n, NULL), 0);

	const char *bad[] = {"10.87.0.0",    "10.87.0.0/",    "/16",	    "10.87.0.0/33",
			     "10.87.0.0/1a", "10.87.0.0/-1",  "10.87.0/16", "10.87.0.256/24",
			     "hello/8",	     "10.87.0.0/016", "::1/64",	    "10.87.0.0/16 "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(cb_subnet_parse(bad[i], &n, NULL), -EINVAL);

	assert_int_equal(cb_subnet_parse("10.87.0.5/24", &n, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "did you mean 10.87.0.0/24"));
}

static void test_overlap(void **state)
{
	struct cb_subnet a = subnet("10.87.0.0/16"), b = subnet("10.87.3.0/24"),
			 c = subnet("10.88.0.0/16"), d = subnet("10.0.0.0/8"),
			 e = subnet("10.87.255.252/30"), f = subnet("10.86.255.0/24");
	assert_true(cb_subnet_overlaps(&a, &b));
	assert_true(cb_subnet_overlaps(&b, &a));
	assert_false(cb_subnet_overlaps(&a, &c));
	assert_true(cb_subnet_overlaps(&d, &c));
	assert_true(cb_subnet_overlaps(&a, &e));
	assert_false(cb_subnet_overlaps(&a, &f));
	assert_true(cb_subnet_overlaps(&a, &a));
	assert_true(cb_subnet_contains(&a, ip("10.87.200.1")));
	assert_false(cb_subnet_contains(&a, ip("10.86.200.1")));
}

static void test_ipam_pick(void **state)
{
	struct cb_subnet s = subnet("10.90.0.0/29"); /* .1 gateway, .2-.6 free, .7 broadcast */
	struct in_addr gw = ip("10.90.0.1"), got;
	size_t size = cb_ipam_bitmap_size(&s);
	assert_int_equal(size, 1);
	uint8_t used[1] = {0};
	assert_int_equal(cb_ipam_pick(&s, gw, used, &got), 0);
	assert_int_equal(got.s_addr, ip("10.90.0.2").s_addr);
	/* Allocate all: .2 .. .6, then none is left. */
	for (int i = 2; i <= 6; i++) {
		assert_int_equal(cb_ipam_pick(&s, gw, used, &got), 0);
		assert_int_equal(ntohl(got.s_addr) & 0xff, i);
		used[0] |= (uint8_t)(1u << i);
	}
	assert_int_equal(cb_ipam_pick(&s, gw, used, &got), -ENOSPC);
	/* Release .4: it is picked again, the lowest free. */
	used[0] &= (uint8_t) ~(1u << 4);
	assert_int_equal(cb_ipam_pick(&s, gw, used, &got), 0);
	assert_int_equal(got.s_addr, ip("10.90.0.4").s_addr);

	/* /30 holds one container; /31 none. */
	struct cb_subnet s30 = subnet("10.91.0.0/30"), s31 = subnet("10.92.0.0/31");
	uint8_t u30[1] = {0}, u31[1] = {0};
	assert_int_equal(cb_ipam_pick(&s30, ip("10.91.0.1"), u30, &got), 0);
	assert_int_equal(got.s_addr, ip("10.91.0.2").s_addr);
	u30[0] |= 1u << 2;
	assert_int_equal(cb_ipam_pick(&s30, ip("10.91.0.1"), u30, &got), -ENOSPC);
	assert_int_equal(cb_ipam_pick(&s31, ip("10.92.0.1"), u31, &got), -ENOSPC);

	/* A /16: the bitmap has 8 KiB, and the 65534th pick fails. */
	struct cb_subnet big = subnet("10.87.0.0/16");
	assert_int_equal(cb_ipam_bitmap_size(&big), 8192);
	uint8_t *u = calloc(1, 8192);
	assert_non_null(u);
	memset(u, 0xff, 8192);
	u[8191] = 0x3f; /* .255.254 and .255.255 clear: only .254 may be taken */
	assert_int_equal(cb_ipam_pick(&big, ip("10.87.0.1"), u, &got), 0);
	assert_int_equal(got.s_addr, ip("10.87.255.254").s_addr);
	u[8191] = 0x7f; /* only broadcast clear */
	assert_int_equal(cb_ipam_pick(&big, ip("10.87.0.1"), u, &got), -ENOSPC);
	free(u);
}

static void test_port_parse(void **state)
{
	struct cb_port_map p;
	struct cb_error err = {0};
	assert_int_equal(cb_net_parse_port("8080:80", &p, NULL), 0);
	assert_int_equal(p.host_port, 8080);
	assert_int_equal(p.container_port, 80);
	assert_int_equal(p.protocol, IPPROTO_TCP);
	assert_int_equal(p.host_addr.s_addr, INADDR_ANY);
	assert_int_equal(cb_net_parse_port("53:5353/udp", &p, NULL), 0);
	assert_int_equal(p.protocol, IPPROTO_UDP);
	assert_int_equal(p.host_port, 53);
	assert_int_equal(p.container_port, 5353);
	assert_int_equal(cb_net_parse_port("9000/tcp", &p, NULL), 0);
	assert_int_equal(p.host_port, 9000);
	assert_int_equal(p.container_port, 9000);
	assert_int_equal(cb_net_parse_port("127.0.0.1:8080:80", &p, NULL), 0);
	assert_int_equal(p.host_addr.s_addr, ip("127.0.0.1").s_addr);
	assert_int_equal(cb_net_parse_port("65535:1", &p, NULL), 0);

	const char *bad[] = {
	    "",	     ":",	  "0:80",	"80:0",	       "65536:80", "8080:80/sctp",
	    "8080:", ":80",	  "a:80",	"1.2.3:80:80", "1:2:3:4",  "8080:80/",
	    "-1:80", "080000:80", "8080:80/TCP"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cb_error_clear(&err);
		assert_int_equal(cb_net_parse_port(bad[i], &p, &err), -EINVAL);
		assert_true(err.msg[0] != '\0');
	}

	struct cb_net_config cfg;
	cb_net_config_init(&cfg);
	assert_int_equal(cb_net_add_port(&cfg, "8080:80", NULL), 0);
	assert_int_equal(cb_net_add_port(&cfg, "8080:81/udp", NULL), 0);
	assert_int_equal(cb_net_add_port(&cfg, "127.0.0.1:8080:82", NULL), -EEXIST);
	assert_int_equal(cfg.n_ports, 2);
}

static void test_mode_parse(void **state)
{
	struct cb_net_config cfg;
	cb_net_config_init(&cfg);
	assert_int_equal(cfg.mode, CB_NET_NONE);
	/* -p alone turns bridge on; -p with none or host is refused. */
	assert_int_equal(cb_net_config_finish(&cfg, NULL), 0);
	assert_int_equal(cfg.mode, CB_NET_NONE);
	assert_int_equal(cb_net_add_port(&cfg, "8080:80", NULL), 0);
	assert_int_equal(cb_net_config_finish(&cfg, NULL), 0);
	assert_int_equal(cfg.mode, CB_NET_BRIDGE);
	assert_string_equal(cfg.network, CB_NET_DEFAULT_NAME);
	assert_int_equal(cb_net_parse_mode("host", &cfg, NULL), 0);
	assert_int_equal(cb_net_config_finish(&cfg, NULL), -EINVAL);
	cb_net_config_init(&cfg);
	assert_int_equal(cb_net_parse_mode("none", &cfg, NULL), 0);
	assert_int_equal(cfg.mode, CB_NET_NONE);
	assert_int_equal(cb_net_parse_mode("host", &cfg, NULL), 0);
	assert_int_equal(cfg.mode, CB_NET_HOST);
	assert_int_equal(cb_net_parse_mode("bridge", &cfg, NULL), 0);
	assert_int_equal(cfg.mode, CB_NET_BRIDGE);
	assert_string_equal(cfg.network, CB_NET_DEFAULT_NAME);
	assert_int_equal(cb_net_parse_mode("mynet", &cfg, NULL), 0);
	assert_string_equal(cfg.network, "mynet");
	assert_int_equal(cb_net_parse_mode("container:web", &cfg, NULL), 0);
	assert_int_equal(cfg.mode, CB_NET_SHARE);
	assert_int_equal(cb_net_parse_mode("ns:/run/netns/x", &cfg, NULL), 0);
	assert_int_equal(cfg.mode, CB_NET_SHARE);
	assert_int_equal(cb_net_parse_mode("container:", &cfg, NULL), -EINVAL);
	assert_int_equal(cb_net_parse_mode("bad name", &cfg, NULL), -EINVAL);
	assert_int_equal(cb_net_parse_mode("", &cfg, NULL), -EINVAL);
}

static void test_definitions(void **state)
{
	char tmpl[] = "/tmp/test-net.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char nd[256], rd[256];
	snprintf(nd, sizeof(nd), "%s/networks", tmpl);
	snprintf(rd, sizeof(rd), "%s/run", tmpl);
	struct cb_error err = {0};
	struct cb_network n;

	assert_int_equal(cb_network_create(nd, rd, "a", "10.90.0.0/24", &n, &err), 0);
	assert_string_equal(n.bridge, "cowbox1");
	assert_int_equal(n.gateway.s_addr, ip("10.90.0.1").s_addr);
	cb_error_clear(&err);
	assert_int_equal(cb_network_create(nd, rd, "a", "10.91.0.0/24", NULL, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "already exists"));
	cb_error_clear(&err);
	assert_int_equal(cb_network_create(nd, rd, "cowbox0", "10.91.0.0/24", NULL, &err), -EEXIST);
	cb_error_clear(&err);
	assert_int_equal(cb_network_create(nd, rd, "b", "10.90.0.128/25", NULL, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "overlaps network a"));
	cb_error_clear(&err);
	assert_int_equal(cb_network_create(nd, rd, "b", "10.87.5.0/24", NULL, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "cowbox0"));
	cb_error_clear(&err);
	assert_int_equal(cb_network_create(nd, rd, "b", "10.91.0.0/31", NULL, &err), -EINVAL);
	cb_error_clear(&err);
	assert_int_equal(cb_network_create(nd, rd, "b/x", "10.91.0.0/24", NULL, &err), -EINVAL);
	cb_error_clear(&err);
	assert_int_equal(cb_network_create(nd, rd, "host", "10.91.0.0/24", NULL, &err), -EINVAL);
	/* No subnet: the first free /24 of 10.86.0.0/16. */
	assert_int_equal(cb_network_create(nd, rd, "auto", NULL, &n, NULL), 0);
	char buf[32];
	cb_subnet_format(&n.subnet, buf, sizeof(buf));
	assert_string_equal(buf, "10.86.0.0/24");
	assert_string_equal(n.bridge, "cowbox2");

	struct cb_network *list;
	size_t count;
	assert_int_equal(cb_network_list(nd, &list, &count, NULL), 0);
	assert_int_equal(count, 3);
	assert_string_equal(list[0].name, "cowbox0");
	assert_true(list[0].builtin);
	assert_string_equal(list[1].name, "a");
	assert_string_equal(list[2].name, "auto");
	free(list);

	assert_int_equal(cb_network_get(nd, "a", &n, NULL), 0);
	cb_subnet_format(&n.subnet, buf, sizeof(buf));
	assert_string_equal(buf, "10.90.0.0/24");
	assert_int_equal(cb_network_get(nd, "nope", &n, NULL), -ENOENT);
	assert_int_equal(cb_network_remove(nd, rd, "nope", NULL), -ENOENT);
	assert_int_equal(cb_rm_rf_at(AT_FDCWD, tmpl), 0);
}

static void test_hosts(void **state)
{
	struct cb_net_lease l = {0};
	strcpy(l.id, "abc");
	l.addr = ip("10.87.0.7");
	l.gateway = ip("10.87.0.1");
	char *h = NULL;
	assert_int_equal(cb_net_hosts(&l, "abc123", "web", &h), 0);
	assert_non_null(strstr(h, "127.0.0.1\tlocalhost\n"));
	assert_non_null(strstr(h, "10.87.0.7\tabc123 web\n"));
	assert_non_null(strstr(h, "10.87.0.1\thost.containers.internal\n"));
	free(h);
	assert_int_equal(cb_net_hosts(NULL, "box", NULL, &h), 0);
	assert_non_null(strstr(h, "127.0.1.1\tbox\n"));
	assert_null(strstr(h, "host.containers.internal"));
	free(h);
}

static void test_net_dev_totals(void **state)
{
	(void)state;
	const char *text =
	    "Inter-|   Receive                                                |  Transmit\n"
	    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
	    "errs drop fifo colls carrier compressed\n"
	    "    lo:  999999       9    0    0    0     0          0         0   999999       9    "
	    "0    0    0     0       0          0\n"
	    "  eth0:    1500      12    0    0    0     0          0         0      700       5    "
	    "0    0    0     0       0          0\n"
	    "  eth1:     100       1    0    0    0     0          0         0       20       1    "
	    "0    0    0     0       0          0\n";
	int64_t rx = -1, tx = -1;
	assert_int_equal(cb_net_dev_totals(text, &rx, &tx), 0);
	assert_int_equal(rx, 1600);
	assert_int_equal(tx, 720);
	/* Only lo: nothing. */
	const char *lo_only = "Inter-|\n face |\n    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n";
	assert_int_equal(cb_net_dev_totals(lo_only, &rx, &tx), 0);
	assert_int_equal(rx, 0);
	assert_int_equal(tx, 0);
	assert_int_equal(cb_net_dev_totals("not net/dev\n", &rx, &tx), -EINVAL);
	assert_int_equal(cb_net_dev_totals("Inter-|\n  eth0: 1 2\n", &rx, &tx), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_net_dev_totals),
	    cmocka_unit_test(test_cidr_parse), cmocka_unit_test(test_overlap),
	    cmocka_unit_test(test_ipam_pick),  cmocka_unit_test(test_port_parse),
	    cmocka_unit_test(test_mode_parse), cmocka_unit_test(test_definitions),
	    cmocka_unit_test(test_hosts),
	};
	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
