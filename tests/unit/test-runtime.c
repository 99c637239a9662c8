/* The pure parts of runtime/: option values (memory sizes, cpus, namespace
 * lists, ID maps, cpusets), capability names and sets, environment
 * handling, and USER[:GROUP] resolution against passwd/group text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "idmap.h"
#include "netpool.h"
#include "report.h"
#include "seccomp-filter.h"
#define ELEMENTS(x) (sizeof(x) / sizeof((x)[0]))
#include "spec.h"
#include "user.h"

static void test_mem_size(void **state)
{
	int64_t v;
	assert_int_equal(cb_parse_mem_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(cb_parse_mem_size("64k", &v), 0);
	assert_int_equal(v, 64 * 1024);
	assert_int_equal(cb_parse_mem_size("100m", &v), 0);
	assert_int_equal(v, 100 * 1024 * 1024);
	assert_int_equal(cb_parse_mem_size("1.5g", &v), 0);
	assert_int_equal(v, 1536LL * 1024 * 1024);
	assert_int_equal(cb_parse_mem_size("2GB", &v), 0);
	assert_int_equal(v, 2LL * 1024 * 1024 * 1024);
	assert_int_equal(cb_parse_mem_size("", &v), -EINVAL);
	assert_int_equal(cb_parse_mem_size("12q", &v), -EINVAL);
	assert_int_equal(cb_parse_mem_size("-5m", &v), -EINVAL);
	assert_int_equal(cb_parse_mem_size("m", &v), -EINVAL);
	assert_int_equal(cb_parse_mem_size("99999999999t", &v), -ERANGE);
}

static void test_cpus(void **state)
{
	int64_t q;
	assert_int_equal(cb_parse_cpus("1.5", 100000, &q), 0);
	assert_int_equal(q, 150000);
	assert_int_equal(cb_parse_cpus("0.2", 100000, &q), 0);
	assert_int_equal(q, 20000);
	assert_int_equal(cb_parse_cpus("0", 100000, &q), -EINVAL);
	assert_int_equal(cb_parse_cpus("abc", 100000, &q), -EINVAL);
	assert_int_equal(cb_parse_cpus("0.001", 100000, &q), -ERANGE);
}

static void test_ns_list(void **state)
{
	unsigned m;
	assert_int_equal(cb_parse_ns_list("pid,net", &m), 0);
	assert_int_equal(m, CB_NS_PID | CB_NS_NET);
	assert_int_equal(cb_parse_ns_list("mount,network,uts,ipc,cgroup,pid", &m), 0);
	assert_int_equal(m, CB_NS_DEFAULT);
	assert_int_equal(cb_parse_ns_list("pid,,net", &m), -EINVAL);
	assert_int_equal(cb_parse_ns_list("pid,", &m), -EINVAL);
	assert_int_equal(cb_parse_ns_list("time", &m), -EINVAL);
	assert_int_equal(cb_ns_index(CB_NS_NET), 4);
}

static void test_idmap(void **state)
{
	struct cb_idmap map[CB_IDMAP_MAX];
	size_t n = 0;
	assert_int_equal(cb_parse_idmap("0:100000:65536", map, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(map[0].inside, 0);
	assert_int_equal(map[0].outside, 100000);
	assert_int_equal(map[0].count, 65536);
	assert_int_equal(cb_parse_idmap("0:1:2,5:6:7", map, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(map[2].outside, 6);
	n = 0;
	assert_int_equal(cb_parse_idmap("0:1", map, &n), -EINVAL);
	assert_int_equal(cb_parse_idmap("0:1:0", map, &n), -EINVAL);
	assert_int_equal(cb_parse_idmap("0:1:2,", map, &n), -EINVAL);
	assert_int_equal(cb_parse_idmap("a:1:2", map, &n), -EINVAL);
	assert_int_equal(cb_parse_idmap("0:4294967295:2", map, &n), -EINVAL);
	assert_int_equal(n, 0);
	for (int i = 0; i < CB_IDMAP_MAX; i++)
		assert_int_equal(cb_parse_idmap("1:1:1", map, &n), 0);
	assert_int_equal(cb_parse_idmap("1:1:1", map, &n), -E2BIG);
}

/* The host ID behind a container ID, across several ranges; unmapped -1. */
static void test_idmap_to_host(void **state)
{
	(void)state;
	struct cb_idmap m[] = {{0, 100000, 1000}, {1000, 1000, 1}, {1001, 201001, 64535}};
	assert_int_equal(cb_idmap_to_host(m, 3, 0), 100000);
	assert_int_equal(cb_idmap_to_host(m, 3, 999), 100999);
	assert_int_equal(cb_idmap_to_host(m, 3, 1000), 1000);
	assert_int_equal(cb_idmap_to_host(m, 3, 1001), 201001);
	assert_int_equal(cb_idmap_to_host(m, 3, 65535), 265535);
	assert_int_equal(cb_idmap_to_host(m, 3, 65536), -1);
	assert_int_equal(cb_idmap_to_host(m, 0, 0), -1);
	/* And back, as top shows a container's users. */
	assert_int_equal(cb_idmap_to_inside(m, 3, 100000), 0);
	assert_int_equal(cb_idmap_to_inside(m, 3, 1000), 1000);
	assert_int_equal(cb_idmap_to_inside(m, 3, 265535), 65535);
	assert_int_equal(cb_idmap_to_inside(m, 3, 99999), -1);
	assert_int_equal(cb_idmap_to_inside(m, 3, 0), -1);
	/* /proc/PID/uid_map as the kernel prints it. */
	struct cb_idmap p[CB_IDMAP_MAX];
	size_t n = cb_idmap_parse_proc("         0     100000       1000\n"
				       "      1000       1000          1\n",
				       p);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].outside, 100000);
	assert_int_equal(p[1].count, 1);
	assert_int_equal(cb_idmap_to_inside(p, n, 100500), 500);
	assert_int_equal(cb_idmap_parse_proc("         0          0 4294967295\n", p), 1);
	assert_int_equal(cb_idmap_to_inside(p, 1, 4242), 4242);
	assert_int_equal(cb_idmap_parse_proc("", p), 0);
	assert_int_equal(cb_idmap_parse_proc(NULL, p), 0);
	struct cb_idmap top = {4294967294u, 10, 1};
	assert_int_equal(cb_idmap_to_host(&top, 1, 4294967294u), 10);
}

static void test_cpuset(void **state)
{
	assert_true(cb_cpuset_valid("0"));
	assert_true(cb_cpuset_valid("0-3,5,7-8"));
	assert_false(cb_cpuset_valid(""));
	assert_false(cb_cpuset_valid("0-"));
	assert_false(cb_cpuset_valid("1,"));
	assert_false(cb_cpuset_valid("a"));
}

static void test_caps(void **state)
{
	assert_int_equal(cb_caps_default(), 0xa80425fbULL);
	assert_int_equal(cb_cap_from_name("NET_ADMIN"), 12);
	assert_int_equal(cb_cap_from_name("cap_net_admin"), 12);
	assert_int_equal(cb_cap_from_name("nope"), -EINVAL);
	assert_string_equal(cb_cap_name(21), "SYS_ADMIN");
	assert_null(cb_cap_name(200));
	uint64_t set = cb_caps_default();
	assert_int_equal(cb_caps_edit(&set, "ALL", false), 0);
	assert_int_equal(set, 0);
	assert_int_equal(cb_caps_edit(&set, "SYS_ADMIN", true), 0);
	assert_int_equal(set, 1ULL << 21);
	assert_int_equal(cb_caps_edit(&set, "all", true), 0);
	assert_int_equal(set, cb_caps_all());
	assert_int_equal(cb_caps_edit(&set, "bogus", true), -EINVAL);
}

static void test_env(void **state)
{
	struct cb_spawn_spec spec;
	cb_spawn_spec_init(&spec);
	assert_int_equal(spec.stdio[0], -1);
	assert_int_equal(spec.stdio[2], -1);
	assert_int_equal(spec.ns_create, CB_NS_DEFAULT);
	assert_true(spec.no_new_privs);
	assert_int_equal(cb_spawn_spec_add_env(&spec, "A=1"), 0);
	assert_int_equal(cb_spawn_spec_add_env(&spec, "B=x=y"), 0);
	assert_int_equal(cb_spawn_spec_add_env(&spec, "A=2"), 0);
	assert_int_equal(spec.n_env, 2);
	assert_string_equal(cb_spawn_spec_getenv(&spec, "A"), "2");
	assert_string_equal(cb_spawn_spec_getenv(&spec, "B"), "x=y");
	setenv("CB_UNIT_FROM_HOST", "h", 1);
	unsetenv("CB_UNIT_UNSET");
	assert_int_equal(cb_spawn_spec_add_env(&spec, "CB_UNIT_FROM_HOST"), 0);
	assert_int_equal(cb_spawn_spec_add_env(&spec, "CB_UNIT_UNSET"), 0);
	assert_string_equal(cb_spawn_spec_getenv(&spec, "CB_UNIT_FROM_HOST"), "h");
	assert_null(cb_spawn_spec_getenv(&spec, "CB_UNIT_UNSET"));
	assert_int_equal(cb_spawn_spec_add_env(&spec, "=v"), -EINVAL);
	assert_null(spec.env[spec.n_env]);
	assert_int_equal(cb_spawn_spec_add_mount(&spec, CB_MOUNT_BIND, "/a", "rel", false),
			 -EINVAL);
	assert_int_equal(cb_spawn_spec_add_mount(&spec, CB_MOUNT_TMPFS, NULL, "/t", false), 0);
	cb_spawn_spec_release(&spec);
	assert_null(spec.env);
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "# comment\n"
			     "app:x:1000:1000:app:/home/app:/bin/sh\n"
			     "noho:x:1001:1001::: \n";
static const char group[] = "root:x:0:\nwheel:x:10:app,other\naudio:x:29:other,app\n"
			    "app:x:1000:\nstaff:x:50:\n";

static void test_user(void **state)
{
	struct cb_user u;
	struct cb_error err = {0};
	assert_int_equal(cb_user_resolve(NULL, passwd, group, &u, &err), 0);
	assert_int_equal(u.uid, 0);
	assert_string_equal(u.home, "/root");
	assert_int_equal(cb_user_resolve("app", passwd, group, &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000);
	assert_int_equal(u.n_groups, 2);
	assert_int_equal(u.groups[0], 10);
	assert_int_equal(u.groups[1], 29);
	assert_string_equal(u.home, "/home/app");
	assert_int_equal(cb_user_resolve("1000:staff", passwd, group, &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 50);
	assert_int_equal(cb_user_resolve("4242:7", passwd, group, &u, &err), 0);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 7);
	assert_int_equal(u.n_groups, 0);
	assert_string_equal(u.home, "/");
	assert_int_equal(cb_user_resolve("4242", NULL, NULL, &u, &err), 0);
	assert_int_equal(u.gid, 0);
	assert_int_equal(cb_user_resolve("noho", passwd, group, &u, &err), 0);
	assert_string_equal(u.home, "/");
	assert_int_equal(cb_user_resolve("ghost", passwd, group, &u, &err), -ENOENT);
	assert_string_equal(err.msg, "user ghost: not found in /etc/passwd");
	cb_error_clear(&err);
	assert_int_equal(cb_user_resolve("app:nogroup", passwd, group, &u, &err), -ENOENT);
	cb_error_clear(&err);
	assert_int_equal(cb_user_resolve(":5", passwd, group, &u, &err), -EINVAL);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/cb-unit-profile.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_seccomp_profile(void **state)
{
	struct cb_spawn_spec spec;
	struct cb_seccomp *f = NULL;
	struct cb_error err = {0};
	cb_spawn_spec_init(&spec);
	spec.seccomp = CB_SECCOMP_UNCONFINED;
	assert_int_equal(cb_seccomp_build(&spec, 0, &f, &err), 0);
	assert_null(f);

	char *good = write_tmp(
	    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
	    "{\"names\": [\"read\", \"write\", \"no_such_call\"], \"action\": \"SCMP_ACT_ALLOW\"},"
	    "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": "
	    "[\"CAP_SYS_ADMIN\"]}},"
	    "{\"name\": \"personality\", \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
	    "[{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}]}");
	spec.seccomp = CB_SECCOMP_PROFILE;
	spec.seccomp_profile = good;
	assert_int_equal(cb_seccomp_build(&spec, cb_caps_default(), &f, &err), 0);
	assert_non_null(f);
	cb_seccomp_free(f);
	f = NULL;

	char *bad = write_tmp("{\"defaultAction\": \"SCMP_ACT_NOPE\"}");
	spec.seccomp_profile = bad;
	assert_true(cb_seccomp_build(&spec, 0, &f, &err) < 0);
	assert_non_null(strstr(err.msg, "bad defaultAction"));
	assert_null(f);
	cb_error_clear(&err);

	char *broken = write_tmp("{\"defaultAction\": ");
	spec.seccomp_profile = broken;
	assert_true(cb_seccomp_build(&spec, 0, &f, &err) < 0);
	assert_non_null(strstr(err.msg, "seccomp profile"));
	unlink(good);
	unlink(bad);
	unlink(broken);
	free(good);
	free(bad);
	free(broken);
	cb_spawn_spec_release(&spec);
}

static void test_signal(void **state)
{
	(void)state;
	assert_int_equal(cb_parse_signal("TERM"), SIGTERM);
	assert_int_equal(cb_parse_signal("SIGQUIT"), SIGQUIT);
	assert_int_equal(cb_parse_signal("sigusr1"), SIGUSR1);
	assert_int_equal(cb_parse_signal("9"), SIGKILL);
	assert_int_equal(cb_parse_signal("0"), -EINVAL);
	assert_int_equal(cb_parse_signal("65"), -EINVAL);
	assert_int_equal(cb_parse_signal("SIGBOGUS"), -EINVAL);
	assert_int_equal(cb_parse_signal(""), -EINVAL);
	assert_int_equal(cb_parse_signal("9x"), -EINVAL);
	assert_int_equal(cb_parse_signal("SIGRTMIN+3"), SIGRTMIN + 3);
	assert_int_equal(cb_parse_signal("rtmin"), SIGRTMIN);
	assert_int_equal(cb_parse_signal("RTMAX-1"), SIGRTMAX - 1);
	assert_int_equal(cb_parse_signal("SIGRTMIN-1"), -EINVAL);
	assert_int_equal(cb_parse_signal("SIGRTMAX+1"), -EINVAL);
	assert_int_equal(cb_parse_signal("SIGRTMIN+99"), -EINVAL);
}

static void test_ulimit(void **state)
{
	(void)state;
	struct cb_rlimit r;
	assert_int_equal(cb_parse_ulimit("nofile=1024:4096", &r), 0);
	assert_int_equal(r.resource, RLIMIT_NOFILE);
	assert_int_equal(r.soft, 1024);
	assert_int_equal(r.hard, 4096);
	assert_string_equal(cb_rlimit_name(r.resource), "nofile");
	assert_int_equal(cb_parse_ulimit("nproc=50", &r), 0);
	assert_int_equal(r.resource, RLIMIT_NPROC);
	assert_int_equal(r.soft, 50);
	assert_int_equal(r.hard, 50);
	assert_int_equal(cb_parse_ulimit("core=0:unlimited", &r), 0);
	assert_true(r.hard == RLIM_INFINITY && r.soft == 0);
	assert_int_equal(cb_parse_ulimit("stack=-1", &r), 0);
	assert_true(r.soft == RLIM_INFINITY && r.hard == RLIM_INFINITY);
	assert_int_equal(cb_parse_ulimit("nofile=4096:1024", &r), -EINVAL); /* soft > hard */
	assert_int_equal(cb_parse_ulimit("nofile=unlimited:10", &r), -EINVAL);
	assert_int_equal(cb_parse_ulimit("files=10", &r), -EINVAL);
	assert_int_equal(cb_parse_ulimit("nofile", &r), -EINVAL);
	assert_int_equal(cb_parse_ulimit("nofile=", &r), -EINVAL);
	assert_int_equal(cb_parse_ulimit("nofile=1k", &r), -EINVAL);
	assert_int_equal(cb_parse_ulimit("nofile=10:", &r), -EINVAL);
	assert_int_equal(cb_parse_ulimit("nofile=99999999999999999999999", &r), -EINVAL);
}

static void test_add_host(void **state)
{
	(void)state;
	char name[64], ip[64];
	assert_int_equal(cb_parse_add_host("db:10.0.0.2", name, sizeof(name), ip, sizeof(ip)), 0);
	assert_string_equal(name, "db");
	assert_string_equal(ip, "10.0.0.2");
	assert_int_equal(cb_parse_add_host("a.b-c_d=fd00::1", name, sizeof(name), ip, sizeof(ip)),
			 0);
	assert_string_equal(name, "a.b-c_d");
	assert_string_equal(ip, "fd00::1");
	assert_int_equal(cb_parse_add_host("v6:[::1]", name, sizeof(name), ip, sizeof(ip)), 0);
	assert_string_equal(ip, "::1");
	assert_int_equal(cb_parse_add_host("v6:::1", name, sizeof(name), ip, sizeof(ip)), 0);
	assert_string_equal(ip, "::1");
	assert_int_equal(cb_parse_add_host("db", name, sizeof(name), ip, sizeof(ip)), -EINVAL);
	assert_int_equal(cb_parse_add_host(":1.2.3.4", name, sizeof(name), ip, sizeof(ip)),
			 -EINVAL);
	assert_int_equal(cb_parse_add_host("db:", name, sizeof(name), ip, sizeof(ip)), -EINVAL);
	assert_int_equal(cb_parse_add_host("db:1.2.3", name, sizeof(name), ip, sizeof(ip)),
			 -EINVAL);
	assert_int_equal(cb_parse_add_host("d b:1.2.3.4", name, sizeof(name), ip, sizeof(ip)),
			 -EINVAL);
	assert_int_equal(
	    cb_parse_add_host("db\n1.2.3.4 evil:1.2.3.4", name, sizeof(name), ip, sizeof(ip)),
	    -EINVAL);
	assert_true(cb_ip_valid("192.168.1.1") && cb_ip_valid("fe80::1"));
	assert_false(cb_ip_valid("localhost") || cb_ip_valid("") || cb_ip_valid("1.2.3.4 "));
}

static void test_resolv_conf(void **state)
{
	(void)state;
	struct cb_spawn_spec spec;
	cb_spawn_spec_init(&spec);
	const char host[] = "# host\nnameserver 10.0.0.1\nsearch lan\ndomain lan\noptions edns0\n"
			    "nameservers-are-not-this 1\n";
	char buf[512];
	/* Nothing asked: the host's, as it is. */
	assert_int_equal(cb_resolv_conf(host, &spec, buf, sizeof(buf)), 0);
	assert_string_equal(buf, host);
	spec.dns[spec.n_dns++] = "9.9.9.9";
	spec.dns[spec.n_dns++] = "fd00::53";
	assert_int_equal(cb_resolv_conf(host, &spec, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "# host\nsearch lan\ndomain lan\noptions edns0\n"
				 "nameservers-are-not-this 1\n"
				 "nameserver 9.9.9.9\nnameserver fd00::53\n");
	spec.dns_search[spec.n_dns_search++] = "a.example";
	spec.dns_search[spec.n_dns_search++] = "b.example";
	spec.dns_options[spec.n_dns_options++] = "ndots:2";
	assert_int_equal(cb_resolv_conf(host, &spec, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "# host\nnameservers-are-not-this 1\n"
				 "nameserver 9.9.9.9\nnameserver fd00::53\n"
				 "search a.example b.example\noptions ndots:2\n");
	/* No host file (no trailing newline either): just ours. */
	assert_int_equal(cb_resolv_conf(NULL, &spec, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "nameserver 9.9.9.9\nnameserver fd00::53\n"
				 "search a.example b.example\noptions ndots:2\n");
	assert_int_equal(cb_resolv_conf("nameserver 1.1.1.1", &spec, buf, 20), -ENOSPC);
}

static void test_user_name(void **state)
{
	(void)state;
	char name[32] = "unset";
	assert_true(cb_user_name(passwd, 1000, name, sizeof(name)));
	assert_string_equal(name, "app");
	assert_true(cb_user_name(passwd, 0, name, sizeof(name)));
	assert_string_equal(name, "root");
	strcpy(name, "unset");
	assert_false(cb_user_name(passwd, 4242, name, sizeof(name)));
	assert_false(cb_user_name(NULL, 0, name, sizeof(name)));
	assert_string_equal(name, "unset");
}

static void test_group_add(void **state)
{
	(void)state;
	struct cb_user u;
	struct cb_error err = {0};
	assert_int_equal(cb_user_resolve("app", passwd, group, &u, &err), 0);
	size_t base = u.n_groups; /* wheel, audio */
	const char *more[] = {"staff", "10", "777", "staff"};
	assert_int_equal(cb_user_add_groups(&u, more, 4, group, &err), 0);
	assert_int_equal(u.n_groups, base + 2); /* staff and 777: wheel (10) was there */
	assert_int_equal(u.groups[base], 50);
	assert_int_equal(u.groups[base + 1], 777);
	const char *bad[] = {"nosuch"};
	assert_int_equal(cb_user_add_groups(&u, bad, 1, group, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "nosuch"));
	const char *none[] = {"staff"};
	assert_int_equal(cb_user_add_groups(&u, none, 1, NULL, &err), -ENOENT);
}

/* The child's reports: an fd arrives with its report, a short message is
 * an error and not a report, EOF means the child exec'd. */
static void test_reports(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(cb_report_send_fd(sv[1], 'P', pipefd[1]), 0);
	struct cb_report rep;
	int fd = -2;
	assert_int_equal(cb_report_recv(sv[0], &rep, &fd), 1);
	assert_int_equal(rep.kind, 'P');
	assert_true(fd >= 0 && fd != pipefd[1]);
	assert_int_equal(write(fd, "x", 1), 1);
	char c = 0;
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	close(fd);

	/* The wrong kind is refused, and its fd not leaked into the caller. */
	assert_int_equal(cb_report_send_fd(sv[1], 'P', pipefd[1]), 0);
	assert_int_equal(cb_report_recv_fd(sv[0], 'R'), -EPROTO);
	assert_int_equal(cb_report_send_fd(sv[1], 'R', pipefd[1]), 0);
	fd = cb_report_recv_fd(sv[0], 'R');
	assert_true(fd >= 0);
	close(fd);

	/* A message shorter than a report (the one-byte "go"). */
	assert_int_equal(write(sv[1], "g", 1), 1);
	assert_int_equal(cb_report_recv(sv[0], &rep, &fd), -EIO);
	assert_int_equal(fd, -1);

	/* An error report keeps its text, terminated. */
	struct cb_report err = {.kind = 'E', .exit_code = 127, .code = ENOENT};
	memset(err.msg, 'a', sizeof(err.msg));
	assert_int_equal(write(sv[1], &err, sizeof(err)), (ssize_t)sizeof(err));
	assert_int_equal(cb_report_recv(sv[0], &rep, &fd), 1);
	assert_int_equal(rep.exit_code, 127);
	assert_int_equal(strlen(rep.msg), sizeof(rep.msg) - 1);

	close(sv[1]);
	assert_int_equal(cb_report_recv(sv[0], &rep, &fd), 0);
	assert_int_equal(cb_report_recv_fd(sv[0], 'R'), -ECONNRESET);
	close(sv[0]);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* A late process (spec.process_late) crosses to the child as one buffer:
 * what comes back is what went, and a buffer that is not exactly one is
 * refused, whatever its counts claim. */
static void test_process_pack(void **state)
{
	(void)state;
	struct cb_spawn_spec spec;
	cb_spawn_spec_init(&spec);
	char *argv[] = {"/bin/sh", "-c", "", "echo hi", NULL};
	spec.argv = argv;
	assert_int_equal(cb_spawn_spec_add_env(&spec, "A=1"), 0);
	assert_int_equal(cb_spawn_spec_add_env(&spec, "EMPTY="), 0);
	spec.workdir = "/tmp";
	char *buf;
	size_t len;
	assert_int_equal(cb_process_pack(&spec, NULL, &buf, &len), 0);
	struct cb_process p;
	assert_int_equal(cb_process_unpack(buf, len, &p), 0);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(p.argv[i], argv[i]);
	assert_null(p.argv[4]);
	assert_int_equal(p.n_env, 2);
	assert_string_equal(p.env[0], "A=1");
	assert_string_equal(p.env[1], "EMPTY=");
	assert_null(p.env[2]);
	assert_string_equal(p.workdir, "/tmp");
	assert_null(p.user);
	cb_process_release(&p);

	/* Cut short anywhere, or with a byte too many: refused. */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(cb_process_unpack(buf, cut, &p), -EINVAL);
	char *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 'x';
	assert_int_equal(cb_process_unpack(longer, len + 1, &p), -EINVAL);
	free(longer);
	/* Counts beyond what the buffer holds, and no command. */
	uint32_t huge[3] = {UINT32_MAX, UINT32_MAX, 0};
	memcpy(buf, huge, sizeof(huge));
	assert_int_equal(cb_process_unpack(buf, len, &p), -EINVAL);
	uint32_t none[3] = {0, 0, 0};
	memcpy(buf, none, sizeof(none));
	assert_int_equal(cb_process_unpack(buf, sizeof(none), &p), -EINVAL);
	free(buf);

	/* A user and no workdir; a spec with no command is not packed. */
	spec.workdir = NULL;
	spec.user = "nobody:nogroup";
	assert_int_equal(cb_process_pack(&spec, NULL, &buf, &len), 0);
	assert_int_equal(cb_process_unpack(buf, len, &p), 0);
	assert_null(p.workdir);
	assert_string_equal(p.user, "nobody:nogroup");
	cb_process_release(&p);
	free(buf);

	/* With what the parent worked out ahead: the exec path and the
	 * user's ids, groups and home come back as they went. */
	struct cb_process ahead = {.have_user = true, .exec_path = "/bin/sh"};
	ahead.user_ahead.uid = 65534;
	ahead.user_ahead.gid = 65534;
	ahead.user_ahead.n_groups = 2;
	ahead.user_ahead.groups[0] = 65534;
	ahead.user_ahead.groups[1] = 27;
	snprintf(ahead.user_ahead.home, sizeof(ahead.user_ahead.home), "/nonexistent");
	assert_int_equal(cb_process_pack(&spec, &ahead, &buf, &len), 0);
	assert_int_equal(cb_process_unpack(buf, len, &p), 0);
	assert_string_equal(p.user, "nobody:nogroup");
	assert_string_equal(p.exec_path, "/bin/sh");
	assert_true(p.have_user);
	assert_int_equal(p.user_ahead.uid, 65534);
	assert_int_equal(p.user_ahead.n_groups, 2);
	assert_int_equal(p.user_ahead.groups[1], 27);
	assert_string_equal(p.user_ahead.home, "/nonexistent");
	cb_process_release(&p);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(cb_process_unpack(buf, cut, &p), -EINVAL);
	/* A user blob that claims too many groups, or a home without its
	 * end: junk. */
	struct cb_user bad = ahead.user_ahead;
	bad.n_groups = CB_USER_MAX_GROUPS + 1;
	memcpy(buf + len - sizeof(bad), &bad, sizeof(bad));
	assert_int_equal(cb_process_unpack(buf, len, &p), -EINVAL);
	bad = ahead.user_ahead;
	memset(bad.home, 'h', sizeof(bad.home));
	memcpy(buf + len - sizeof(bad), &bad, sizeof(bad));
	assert_int_equal(cb_process_unpack(buf, len, &p), -EINVAL);
	free(buf);
	/* Only the exec path. */
	ahead.have_user = false;
	assert_int_equal(cb_process_pack(&spec, &ahead, &buf, &len), 0);
	assert_int_equal(cb_process_unpack(buf, len, &p), 0);
	assert_false(p.have_user);
	assert_string_equal(p.exec_path, "/bin/sh");
	cb_process_release(&p);
	free(buf);

	/* Through the reports' socket, as the child gets it (a memfd). */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(cb_report_send_process(sv[1], &spec, NULL), 0);
	char *got;
	assert_int_equal(cb_report_recv_process(sv[0], &got, &p), 0);
	assert_string_equal(p.argv[3], "echo hi");
	assert_string_equal(p.user, "nobody:nogroup");
	cb_process_release(&p);
	free(got);
	/* One too large for a message goes in a memfd. */
	char *big = malloc(100 << 10);
	memset(big, 'x', 100 << 10);
	memcpy(big, "BIG=", 4);
	big[(100 << 10) - 1] = '\0';
	assert_int_equal(cb_spawn_spec_add_env(&spec, big), 0);
	assert_int_equal(cb_report_send_process(sv[1], &spec, NULL), 0);
	assert_int_equal(cb_report_recv_process(sv[0], &got, &p), 0);
	assert_int_equal(p.n_env, 3);
	assert_string_equal(p.env[2], big);
	cb_process_release(&p);
	free(got);
	free(big);
	/* One that fits the limit but not the socket's buffer: a memfd too. */
	int small = 4096;
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	char mid[12 << 10];
	memset(mid, 'y', sizeof(mid));
	memcpy(mid, "MID=", 4);
	mid[sizeof(mid) - 1] = '\0';
	char *const mid_argv[] = {"true", NULL};
	struct cb_spawn_spec midspec;
	cb_spawn_spec_init(&midspec);
	midspec.argv = mid_argv;
	assert_int_equal(cb_spawn_spec_add_env(&midspec, mid), 0);
	assert_int_equal(cb_report_send_process(sv[1], &midspec, NULL), 0);
	assert_int_equal(cb_report_recv_process(sv[0], &got, &p), 0);
	assert_string_equal(p.env[0], mid);
	cb_process_release(&p);
	free(got);
	cb_spawn_spec_release(&midspec);
	/* Another kind of report is not a process. */
	struct cb_report other = {.kind = 'R'};
	assert_int_equal(write(sv[1], &other, sizeof(other)), (ssize_t)sizeof(other));
	assert_int_equal(cb_report_recv_process(sv[0], &got, &p), -EPROTO);
	close(sv[1]);
	assert_int_equal(cb_report_recv_process(sv[0], &got, &p), -ECONNRESET);
	close(sv[0]);

	spec.argv = NULL;
	assert_int_equal(cb_process_pack(&spec, NULL, &buf, &len), -EINVAL);
	cb_spawn_spec_release(&spec);
}

/* The host's own map reads as none; a pid that is gone too. */
static void test_idmap_read(void **state)
{
	(void)state;
	struct cb_idmap map[CB_IDMAP_MAX];
	char self[64];
	FILE *f = fopen("/proc/self/uid_map", "r");
	assert_non_null(f);
	bool host = fgets(self, sizeof(self), f) && strstr(self, "4294967295");
	fclose(f);
	if (host)
		assert_int_equal(cb_idmap_read(getpid(), "uid_map", map), 0);
	assert_int_equal(cb_idmap_read(-1, "uid_map", map), 0);
}

static void test_cgroup_text(void **state)
{
	(void)state;
	const char *mem = "anon 4096\nfile 8192\ninactive_file 2048\nactive_file 6144\n";
	assert_int_equal(cb_kv_value(mem, "file"), 8192);
	assert_int_equal(cb_kv_value(mem, "inactive_file"), 2048);
	assert_int_equal(cb_kv_value(mem, "active"), -1); /* a prefix is not the key */
	assert_int_equal(cb_kv_value(mem, "shmem"), -1);
	assert_int_equal(cb_kv_value("usage_usec 1234567\nuser_usec 1\n", "usage_usec"), 1234567);
	/* /proc/PID/io says "key: value" */
	assert_int_equal(cb_kv_value("rchar: 10\nread_bytes: 4096\nwrite_bytes: 0\n", "read_bytes"),
			 4096);
	int64_t r = -1, w = -1;
	cb_io_stat_sum("8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n"
		       "8:16 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
		       2, &r, &w);
	assert_int_equal(r, 4196);
	assert_int_equal(w, 512);
	cb_io_stat_sum("8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Async 4608\n"
		       "8:0 Total 4608\nTotal 4608\n",
		       1, &r, &w);
	assert_int_equal(r, 4096);
	assert_int_equal(w, 512);
	cb_io_stat_sum("", 2, &r, &w);
	assert_int_equal(r, 0);
	assert_int_equal(w, 0);
}

/* --sysctl: only what the container's own namespaces hold, checked
 * against the set it gets; the file under /proc/sys in both spellings. */
static void test_sysctl(void **state)
{
	(void)state;
	struct cb_error err = {0};
	unsigned all = CB_NS_DEFAULT;
	assert_int_equal(cb_sysctl_check("net.ipv4.ip_forward=1", all, &err), 0);
	assert_int_equal(cb_sysctl_check("net/ipv4/conf/eth0.5/forwarding=1", all, &err), 0);
	assert_int_equal(cb_sysctl_check("kernel.shmmax=1024", all, &err), 0);
	assert_int_equal(cb_sysctl_check("kernel.sem=250 32000 100 128", all, &err), 0);
	assert_int_equal(cb_sysctl_check("fs.mqueue.msg_max=20", all, &err), 0);
	assert_int_equal(cb_sysctl_check("kernel.domainname=example", all, &err), 0);
	/* Without the namespace it would change the host's. (The first error
	 * set in an err wins: each message is checked on a fresh one.) */
	assert_int_equal(cb_sysctl_check("net.ipv4.ip_forward=1", all & ~CB_NS_NET, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "network namespace"));
	assert_int_equal(cb_sysctl_check("kernel.shmmax=1", all & ~CB_NS_IPC, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("fs.mqueue.msg_max=1", all & ~CB_NS_IPC, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("kernel.domainname=x", all & ~CB_NS_UTS, &err), -EINVAL);
	/* Not namespaced at all, or not a setting. */
	err = (struct cb_error){0};
	assert_int_equal(cb_sysctl_check("vm.swappiness=1", all, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "vm.swappiness=1"));
	assert_int_equal(cb_sysctl_check("kernel.hostname=x", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("kernel.shmmaxx=1", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("net.ipv4.ip_forward", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("net.ipv4.ip_forward=", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("=1", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("net..ipv4=1", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("net/../../kernel/x=1", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("net//ipv4=1", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check(".net.ipv4=1", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("net.ipv4 x=1", all, &err), -EINVAL);
	assert_int_equal(cb_sysctl_check("net.ipv4.ip_forward=1\nkernel.x=2", all, &err), -EINVAL);
	char path[128];
	assert_int_equal(cb_sysctl_path("net.ipv4.ip_forward=1", path, sizeof(path)), 0);
	assert_string_equal(path, "/proc/sys/net/ipv4/ip_forward");
	assert_int_equal(cb_sysctl_path("net/ipv4/conf/eth0.5/forwarding=1", path, sizeof(path)),
			 0);
	assert_string_equal(path, "/proc/sys/net/ipv4/conf/eth0.5/forwarding");
	assert_int_equal(cb_sysctl_path("net.ipv4.ip_forward=1", path, 12), -ENAMETOOLONG);
}

/* Which namespaces are the container's own: made new, not joined. */
static void test_own_ns(void **state)
{
	(void)state;
	struct cb_spawn_spec spec;
	cb_spawn_spec_init(&spec);
	assert_int_equal(cb_spawn_spec_own_ns(&spec), CB_NS_DEFAULT);
	spec.ns_path[cb_ns_index(CB_NS_UTS)] = "/proc/1/ns/uts";
	assert_int_equal(cb_spawn_spec_own_ns(&spec), CB_NS_DEFAULT & ~CB_NS_UTS);
	spec.ns_create &= ~CB_NS_IPC;
	assert_int_equal(cb_spawn_spec_own_ns(&spec), CB_NS_DEFAULT & ~(CB_NS_UTS | CB_NS_IPC));
	spec.n_uidmap = 1;
	assert_true(cb_spawn_spec_own_ns(&spec) & CB_NS_USER);
	assert_string_equal(cb_ns_name(CB_NS_UTS), "uts");
	assert_string_equal(cb_ns_name(CB_NS_NET), "net");
	spec.n_uidmap = 0;
	cb_spawn_spec_release(&spec);
}

static void test_cpu_shares(void **state)
{
	(void)state;
	/* runc's (1.3.2+) and crun's (1.23+) conversion: 2 -> 1, 1024 -> 100
	 * (both defaults), 262144 -> 10000; rounded up in between. */
	assert_int_equal(cb_cpu_shares_to_weight(2), 1);
	assert_int_equal(cb_cpu_shares_to_weight(3), 2);
	assert_int_equal(cb_cpu_shares_to_weight(512), 59);
	assert_int_equal(cb_cpu_shares_to_weight(1024), 100);
	assert_int_equal(cb_cpu_shares_to_weight(2048), 174);
	assert_int_equal(cb_cpu_shares_to_weight(262144), 10000);
	assert_int_equal(cb_cpu_shares_to_weight(0), 1);
	assert_int_equal(cb_cpu_shares_to_weight(1u << 30), 10000);
}

/* --mount, docker's comma-separated form, into the same mounts -v and
 * --tmpfs make; every refusal names the option. */
static void test_mount_csv(void **state)
{
	(void)state;
	struct cb_spawn_spec spec;
	struct cb_error err = {0};
	cb_spawn_spec_init(&spec);
	assert_int_equal(
	    cb_spawn_spec_add_mount_csv(&spec, "type=bind,source=/srv,target=/data,readonly", &err),
	    0);
	assert_int_equal(
	    cb_spawn_spec_add_mount_csv(&spec, "type=bind,src=/a,dst=/b,ro=false", &err), 0);
	assert_int_equal(cb_spawn_spec_add_mount_csv(
			     &spec, "type=tmpfs,destination=/t,tmpfs-size=2m,tmpfs-mode=700", &err),
			 0);
	assert_int_equal(cb_spawn_spec_add_mount_csv(&spec, "type=tmpfs,target=/u", &err), 0);
	assert_int_equal(spec.n_mounts, 4);
	assert_int_equal(spec.mounts[0].type, CB_MOUNT_BIND);
	assert_string_equal(spec.mounts[0].source, "/srv");
	assert_string_equal(spec.mounts[0].target, "/data");
	assert_true(spec.mounts[0].readonly);
	assert_false(spec.mounts[1].readonly);
	assert_int_equal(spec.mounts[2].type, CB_MOUNT_TMPFS);
	assert_string_equal(spec.mounts[2].source, "size=2097152,mode=0700");
	assert_null(spec.mounts[3].source);
	static const char *const bad[] = {
	    "type=volume,source=v,target=/x",
	    "source=/a,target=/x",
	    "type=bind,target=/x",
	    "type=bind,source=rel,target=/x",
	    "type=bind,source=/a,target=rel",
	    "type=bind,source=/a,target=/x/../y",
	    "type=bind,source=/a,target=/x,bogus=1",
	    "type=bind,source=/a,target=/x,readonly=maybe",
	    "type=bind,source=/a,target=/x,bind-propagation=shared",
	    "type=bind,source=/a,target=/x,tmpfs-size=1m",
	    "type=tmpfs,source=/a,target=/x",
	    "type=tmpfs,target=/x,tmpfs-mode=9",
	    "type=tmpfs,target=/x,tmpfs-size=0",
	    "type=tmpfs,target=/x,tmpfs-size=",
	};
	for (size_t i = 0; i < ELEMENTS(bad); i++) {
		err = (struct cb_error){0};
		assert_int_equal(cb_spawn_spec_add_mount_csv(&spec, bad[i], &err), -EINVAL);
		assert_non_null(strstr(err.msg, "--mount"));
	}
	assert_int_equal(spec.n_mounts, 4);
	cb_spawn_spec_release(&spec);
}

/* A spare is made when this start's child would have been late for its
 * rootfs without one, by more than the margin. */
/* A launch's pool steps wait for its container to have run a while past
 * its exec: before the exec, never. */
static void test_netpool_steps_due(void **state)
{
	(void)state;
	const uint64_t ms = 1000000, t = 5000 * ms;
	assert_int_equal(cb_netpool_steps_due_ns(0, t), -1); /* not exec'd yet */
	assert_int_equal(cb_netpool_steps_due_ns(t, t), CB_NETPOOL_AFTER_NS);
	assert_int_equal(cb_netpool_steps_due_ns(t, t + 2 * ms), CB_NETPOOL_AFTER_NS - 2 * ms);
	assert_int_equal(cb_netpool_steps_due_ns(t, t + CB_NETPOOL_AFTER_NS), 0);
	assert_int_equal(cb_netpool_steps_due_ns(t, t + 60000 * ms), 0);
}

static void test_netpool_pays(void **state)
{
	(void)state;
	const int64_t us = 1000;
	assert_true(cb_netpool_spare_pays(true, 30 * us));   /* tmpfs: joined, a short wait */
	assert_false(cb_netpool_spare_pays(true, 900 * us)); /* disk: the rootfs came last */
	assert_false(cb_netpool_spare_pays(true, 400 * us)); /* gains only the margin */
	assert_true(cb_netpool_spare_pays(true, 399 * us));
	assert_true(cb_netpool_spare_pays(false, -860 * us)); /* made its own, late */
	assert_false(cb_netpool_spare_pays(false, 140 * us)); /* made its own, early */
	assert_false(cb_netpool_spare_pays(false, -100 * us));
	assert_false(cb_netpool_spare_pays(false, 0));
}

/* The spare network namespaces (netpool.h), in a mount namespace of the
 * test's own so its binds go with it. As root only. */
static ino_t ns_ino(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static bool exists_at(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void test_netpool(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		skip();
	char base[] = "/tmp/cb-netpool-XXXXXX", dir[64], p[128];
	assert_non_null(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/pool", base);
	ino_t self = ns_ino("/proc/self/ns/net");
	struct cb_netpool_claim c;

	/* No pool yet: nothing to take, nothing made. */
	assert_int_equal(cb_netpool_take(dir, &c), 0);
	assert_int_equal(c.fd, -1);
	assert_false(exists_at(base, "pool"));

	/* One step makes the one spare, and we are back in our namespace. */
	assert_int_equal(cb_netpool_fill_step(dir), 0);
	assert_int_equal(ns_ino("/proc/self/ns/net"), self);
	snprintf(p, sizeof(p), "%s/0/ns", dir);
	ino_t spare = ns_ino(p);
	assert_true(spare != 0 && spare != self);
	assert_int_equal(cb_netpool_fill_step(dir), 0); /* full: nothing to do */
	assert_int_equal(ns_ino(p), spare);

	/* Taken once: the slot is gone, the claim is ours, a second take
	 * finds nothing. */
	assert_int_equal(cb_netpool_take(dir, &c), 1);
	assert_int_equal(ioctl(c.fd, NS_GET_NSTYPE), CLONE_NEWNET);
	struct stat st;
	assert_int_equal(fstat(c.fd, &st), 0);
	assert_int_equal(st.st_ino, spare);
	assert_false(exists_at(dir, "0"));
	assert_true(exists_at(dir, c.name));
	struct cb_netpool_claim c2;
	assert_int_equal(cb_netpool_take(dir, &c2), 0);
	char taken[48];
	snprintf(taken, sizeof(taken), "%s", c.name);
	cb_netpool_release(dir, &c);
	assert_int_equal(c.fd, -1);
	assert_false(exists_at(dir, taken));

	/* A claim and a half-made spare of a process that is gone are removed
	 * when the next spare is made; our own claim stays. */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	assert_true(dead > 0);
	waitpid(dead, NULL, 0);
	char stale1[64], stale2[64], mine[64];
	snprintf(stale1, sizeof(stale1), "%s/taken.%d.0", dir, (int)dead);
	snprintf(stale2, sizeof(stale2), "%s/new.%d", dir, (int)dead);
	snprintf(mine, sizeof(mine), "%s/taken.%d.0", dir, (int)getpid());
	assert_int_equal(mkdir(stale1, 0700), 0);
	assert_int_equal(mkdir(stale2, 0700), 0);
	assert_int_equal(mkdir(mine, 0700), 0);
	assert_int_equal(cb_netpool_fill_step(dir), 0);
	assert_int_equal(access(stale1, F_OK), -1);
	assert_int_equal(access(stale2, F_OK), -1);
	assert_int_equal(access(mine, F_OK), 0);
	assert_int_equal(rmdir(mine), 0);

	/* Too old: not used, and removed. */
	struct timespec old[2] = {{time(NULL) - CB_NETPOOL_MAX_AGE - 10, 0},
				  {time(NULL) - CB_NETPOOL_MAX_AGE - 10, 0}};
	snprintf(p, sizeof(p), "%s/0", dir);
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	assert_int_equal(cb_netpool_take(dir, &c), 0);
	assert_false(exists_at(dir, "0"));

	/* Another kind of namespace in the slot: not used, and removed. */
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/0/ns", dir);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0400);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mount("/proc/self/ns/ipc", p, NULL, MS_BIND, NULL), 0);
	assert_int_equal(cb_netpool_take(dir, &c), 0);
	assert_false(exists_at(dir, "0"));

	/* Drain: the spares counted, everything gone. */
	assert_int_equal(cb_netpool_fill_step(dir), 0);
	assert_true(exists_at(dir, "0"));
	assert_int_equal(cb_netpool_drain(dir), 1);
	assert_false(exists_at(base, "pool"));
	assert_int_equal(cb_netpool_drain(dir), 0);
	assert_int_equal(rmdir(base), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroup_text),	  cmocka_unit_test(test_idmap_read),
	    cmocka_unit_test(test_mem_size),	  cmocka_unit_test(test_cpus),
	    cmocka_unit_test(test_ns_list),	  cmocka_unit_test(test_idmap),
	    cmocka_unit_test(test_idmap_to_host), cmocka_unit_test(test_cpuset),
	    cmocka_unit_test(test_caps),	  cmocka_unit_test(test_env),
	    cmocka_unit_test(test_user),	  cmocka_unit_test(test_seccomp_profile),
	    cmocka_unit_test(test_reports),	  cmocka_unit_test(test_process_pack),
	    cmocka_unit_test(test_signal),	  cmocka_unit_test(test_ulimit),
	    cmocka_unit_test(test_add_host),	  cmocka_unit_test(test_resolv_conf),
	    cmocka_unit_test(test_user_name),	  cmocka_unit_test(test_group_add),
	    cmocka_unit_test(test_sysctl),	  cmocka_unit_test(test_cpu_shares),
	    cmocka_unit_test(test_own_ns),	  cmocka_unit_test(test_mount_csv),
	    cmocka_unit_test(test_netpool),	  cmocka_unit_test(test_netpool_steps_due),
	    cmocka_unit_test(test_netpool_pays),
	};
	int failed = cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
	printf("%zu passed, %d failed\n", ELEMENTS(tests) - (size_t)failed, failed);
	return failed ? 1 : 0;
}
