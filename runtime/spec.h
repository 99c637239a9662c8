/* What to launch: a rootfs directory and a process, with the isolation,
 * limits and security asked for. runtime/ knows nothing of images: the
 * caller (tools/, or a store-backed `run IMAGE`) fills a spec and hands it
 * to cb_runtime_spawn() (runtime.h).
 *
 * Ownership: cb_spawn_spec_init() zeroes a spec and sets the defaults.
 * Strings given to the cb_spawn_spec_add_*() helpers are copied; plain
 * `const char *` fields (rootfs, id, hostname, workdir, user, argv...) are
 * borrowed and must outlive the spec. cb_spawn_spec_release() frees what
 * the spec owns.
 *
 * The parsers below are pure (no system calls) so unit tests reach them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "user.h"

/* Namespaces, as a bit set. */
enum {
	CB_NS_PID = 1 << 0,
	CB_NS_MNT = 1 << 1,
	CB_NS_UTS = 1 << 2,
	CB_NS_IPC = 1 << 3,
	CB_NS_NET = 1 << 4,
	CB_NS_CGROUP = 1 << 5,
	CB_NS_USER = 1 << 6,
};
#define CB_NS_DEFAULT (CB_NS_PID | CB_NS_MNT | CB_NS_UTS | CB_NS_IPC | CB_NS_NET | CB_NS_CGROUP)
#define CB_NS_ALL     (CB_NS_DEFAULT | CB_NS_USER)

/* One ID mapping line: `inside outside count`. */
struct cb_idmap {
	uint32_t inside, outside, count;
};
#define CB_IDMAP_MAX 32

enum cb_mount_type { CB_MOUNT_BIND, CB_MOUNT_TMPFS };

/* A step the caller runs in the parent for the container's first process
 * (tools/net-glue.c wires the network with it). runtime/ stays free of
 * networking (libmnl, libnftnl, leases under a store's paths): it only
 * calls back.
 *   attach   after clone3, while the child does its mount setup; the child
 *            waits for it just before execve (its last step). A failure
 *            kills the child and fails the start.
 *   detach   once, after the process is reaped, or when the start fails
 *            (also before the clone, so it must accept "nothing attached").
 * Either may be NULL. */
struct cb_spawn_hook {
	int (*attach)(void *userdata, pid_t pid, struct cb_error *err);
	void (*detach)(void *userdata);
	void *userdata;
};

/* A volume (-v HOST:CTR[:ro]) or a tmpfs (--tmpfs PATH[:OPTIONS]). */
struct cb_mount {
	enum cb_mount_type type;
	char *source; /* host path (bind) or tmpfs options (may be NULL); owned */
	char *target; /* absolute path in the container; owned */
	bool readonly;
};

/* --ulimit NAME=SOFT[:HARD]: one resource limit set before exec. */
struct cb_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard; /* RLIM_INFINITY for unlimited */
};
#define CB_RLIMIT_MAX 16
/* At most this many --add-host, --dns, --dns-search, --dns-option and
 * --group-add each. */
#define CB_EXTRA_MAX 32

/* Seccomp: the built-in default, none, or an OCI/docker JSON profile. */
enum cb_seccomp_mode { CB_SECCOMP_DEFAULT, CB_SECCOMP_UNCONFINED, CB_SECCOMP_PROFILE };

struct cb_spawn_spec {
	/* Identity. */
	const char *id;	      /* container ID (hex); names the cgroup; required */
	const char *rootfs;   /* directory to pivot into; required */
	/* With rootfs_detached, rootfs_fd is a detached mount (fsmount or
	 * open_tree(OPEN_TREE_CLONE)) that the child attaches on rootfs in
	 * its own mount namespace (CB_NS_MNT required): the host never sees
	 * it, and it is gone when the container and the caller's fd are. The
	 * caller keeps and closes the fd. */
	bool rootfs_detached;
	int rootfs_fd;
	/* Or the rootfs comes late: cb_runtime_spawn calls rootfs_late in the
	 * parent right after the clone, while the child makes its network
	 * namespace and everything else that needs no rootfs (the two slowest
	 * steps of a start then run side by side, on two CPUs). It makes the
	 * rootfs and returns a detached mount of it in *ret_fd, kept and
	 * closed by the caller as rootfs_fd is; the child attaches it on
	 * rootfs, which need not exist before then. A failure kills the child
	 * and fails the start. Needs CB_NS_MNT and no user namespace. */
	int (*rootfs_late)(void *opaque, int *ret_fd, struct cb_error *err);
	void *rootfs_late_opaque;
	/* With rootfs_late, the process too (argv, env, workdir, user) may
	 * be known only once it has run (an image's config, read as its
	 * container is made): argv may then be NULL until, and the child
	 * gets the four with the rootfs, as they were when it returned. */
	bool process_late;
	const char *hostname; /* NULL: first 12 characters of id */

	/* The process. */
	char *const *argv; /* argv[0] searched in the container's PATH; borrowed */
	char **env;	   /* NULL-terminated K=V list; owned (cb_spawn_spec_add_env) */
	size_t n_env;
	const char *workdir; /* NULL: "/" */
	const char *user;    /* USER[:GROUP], names or numbers; NULL: root */
	/* --group-add: more supplementary groups, names in the container's
	 * /etc/group or numbers. Borrowed. */
	const char *group_add[CB_EXTRA_MAX];
	size_t n_group_add;
	struct cb_rlimit rlimits[CB_RLIMIT_MAX]; /* --ulimit */
	size_t n_rlimits;
	/* --oom-score-adj, written to /proc/self/oom_score_adj when set
	 * (lowering it below cowbox's own needs CAP_SYS_RESOURCE). */
	bool oom_score_adj_set;
	int oom_score_adj;
	bool tty;	     /* -t: a pty from the container's devpts */
	bool interactive;    /* -i: keep stdin; without it stdin is /dev/null */
	bool init;	     /* --init: cowbox reaps as pid 1 and forwards signals */
	bool record_phases;  /* the child reports its timestamps (cb_run_phases) */
	/* The process's stdin, stdout, stderr: fds of the caller (a
	 * supervisor's log pipe), or -1 to inherit cowbox's (the default).
	 * Ignored for what -t replaces with the pty. Pass them close-on-exec:
	 * the child keeps only the copies on 0-2. */
	int stdio[3];
	/* --preserve-fds N: the caller's fds 3 .. 3+N-1 stay open in the
	 * process (the caller checks they are its own, inherited ones); every
	 * other fd above 2 is closed at exec, whatever its flags. */
	int preserve_fds;

	/* Namespaces. ns_create is what to make new; ns_path[i] (bit i of
	 * CB_NS_*) joins an existing one instead (pid, net, uts, ipc only). */
	unsigned ns_create;
	const char *ns_path[7];
	struct cb_idmap uidmap[CB_IDMAP_MAX], gidmap[CB_IDMAP_MAX];
	size_t n_uidmap, n_gidmap; /* a user ns is made when n_uidmap > 0 */

	/* Filesystem. */
	struct cb_mount *mounts; /* owned */
	size_t n_mounts;
	bool read_only; /* --read-only: the rootfs mounted read-only */
	int64_t shm_size; /* --shm-size: bytes of /dev/shm; 0: 64 MiB */
	/* --sysctl K=V, checked by cb_sysctl_check against the namespaces
	 * the container gets: written in the child once it is in them, through
	 * /proc/sys before its /proc replaces the host's. Borrowed. */
	const char *sysctls[CB_EXTRA_MAX];
	size_t n_sysctls;
	/* Create /etc/hostname, /etc/hosts and /etc/resolv.conf in the rootfs
	 * when missing (fine on an overlay's upper dir). Off by default: a
	 * --rootfs directory may be a shared image and is not written; the
	 * generated files are bound only over files that exist. */
	bool create_etc_files;
	/* What /etc/hosts says (the network glue's, with the container's
	 * address and name); NULL: localhost and the hostname. Borrowed. */
	const char *etc_hosts;
	/* --add-host NAME:IP, checked by cb_parse_add_host: lines added to
	 * /etc/hosts. Borrowed. */
	const char *add_hosts[CB_EXTRA_MAX];
	size_t n_add_hosts;
	/* --dns, --dns-search, --dns-option: each set replaces its kind of
	 * line (nameserver, search and domain, options) of the host's
	 * resolv.conf (cb_resolv_conf). Borrowed. */
	const char *dns[CB_EXTRA_MAX], *dns_search[CB_EXTRA_MAX], *dns_options[CB_EXTRA_MAX];
	size_t n_dns, n_dns_search, n_dns_options;

	/* Network: see struct cb_spawn_hook; NULL: none. Borrowed. */
	const struct cb_spawn_hook *net_hook;
	/* cb_runtime_run calls it once the command runs (it exec'd), with
	 * its pid, before waiting: cowbox records the running container. */
	void (*on_started)(void *opaque, pid_t pid);
	void *on_started_opaque;
	/* Work of the caller's for the time the launcher would only wait for
	 * the container (from the clone to its exit; with a terminal to relay,
	 * until the command has started): called again and again, one short
	 * step at a time, until it returns 0; the child's reports, signals and
	 * its exit are looked at between steps, so a step must take well under
	 * a millisecond. cowbox deletes its trashes (one unlinkat a step). */
	int (*idle_step)(void *opaque);
	void *idle_opaque;
	/* A directory of spare network namespaces (netpool.h), or NULL: a
	 * container that gets a network namespace of its own, with no user
	 * namespace and no net_hook, joins a spare one, and the launch's idle
	 * time makes the next, when a spare pays (its start waited for its
	 * network namespace, not its rootfs), or always with
	 * netns_pool_always. Borrowed. */
	const char *netns_pool;
	bool netns_pool_always;

	/* Cgroup. */
	bool no_cgroup;
	const char *cgroup_parent; /* NULL: "cowbox" */
	int64_t memory;		   /* bytes; 0: no limit */
	/* --memory-swap: memory plus swap, in bytes; 0: as much as memory
	 * (no swap); -1: no swap limit. --memory-reservation: the soft limit
	 * (v1 soft_limit_in_bytes, v2 memory.low); 0: none. */
	int64_t memory_swap;
	int64_t memory_reservation;
	int64_t cpu_shares;	   /* --cpu-shares (v1 cpu.shares, v2 cpu.weight); 0: default */
	int64_t cpu_quota_us;	   /* per cpu_period_us; 0: no limit */
	int64_t cpu_period_us;
	int64_t pids_limit;	 /* 0: no limit */
	const char *cpuset_cpus; /* NULL: all */

	/* Security. */
	uint64_t caps;	   /* capability bit set (bit n = capability n) */
	bool privileged;   /* all caps, no masks, no seccomp */
	/* --security-opt mask=P[:P...]: paths masked besides runc's (an
	 * empty read-only tmpfs over a directory, /dev/null over anything
	 * else), --privileged or not; unmask=P[:P...] (glob patterns, as
	 * fnmatch with FNM_PATHNAME): runc's masked and read-only paths that
	 * are left as they are; unmask_all: none of them (unmask=ALL, docker's
	 * systempaths=unconfined). Colon lists, absolute paths, borrowed. */
	const char *mask[CB_EXTRA_MAX];
	size_t n_mask;
	const char *unmask[CB_EXTRA_MAX];
	size_t n_unmask;
	bool unmask_all;
	bool no_new_privs; /* default true */
	enum cb_seccomp_mode seccomp;
	const char *seccomp_profile; /* path of a JSON profile when CB_SECCOMP_PROFILE */
	/* Where root keeps the default filter compiled (seccomp-*.bpf);
	 * NULL: /run/cowbox. */
	const char *cache_dir;
};

/* Set the defaults: default namespaces, 14 default capabilities,
 * no_new_privs, default seccomp, 100 ms cpu period. */
void cb_spawn_spec_init(struct cb_spawn_spec *spec);
/* Free what the spec owns; leaves it zeroed. NULL is fine. */
void cb_spawn_spec_release(struct cb_spawn_spec *spec);

/* Append (or replace, by key) one K=V entry. A bare K takes its value from
 * the caller's environment, and is skipped when unset (docker's rule). */
int cb_spawn_spec_add_env(struct cb_spawn_spec *spec, const char *kv);
/* Append K=V lines of a file (`#` comments and blank lines skipped). */
int cb_spawn_spec_add_env_file(struct cb_spawn_spec *spec, const char *path, struct cb_error *err);
/* Append a mount; copies source and target. */
int cb_spawn_spec_add_mount(struct cb_spawn_spec *spec, enum cb_mount_type type, const char *source,
			    const char *target, bool readonly);
/* Append a docker --mount: type=bind,source=/HOST,target=/CTR[,readonly]
 * or type=tmpfs,target=/CTR[,tmpfs-size=SIZE][,tmpfs-mode=OCTAL]
 * (src, destination, dst and ro too; bind-propagation only rprivate).
 * -EINVAL with why in err (the option named), -ENOMEM. */
int cb_spawn_spec_add_mount_csv(struct cb_spawn_spec *spec, const char *csv, struct cb_error *err);
/* The gid map in use: --gidmap's, else the uid map (n in *ret_n). */
const struct cb_idmap *cb_spawn_spec_gidmap(const struct cb_spawn_spec *spec, size_t *ret_n);
/* Look up K in the spec's env; NULL when absent. */
const char *cb_spawn_spec_getenv(const struct cb_spawn_spec *spec, const char *key);

/* "512", "64k", "1.5g", "100m" (powers of 1024, a trailing b allowed) into
 * bytes. -EINVAL on junk, -ERANGE on overflow. */
int cb_parse_mem_size(const char *s, int64_t *ret_bytes);
/* "1.5" cpus into a quota for period_us (rounded; > 0). */
int cb_parse_cpus(const char *s, int64_t period_us, int64_t *ret_quota_us);
/* "pid,net,..." into CB_NS_* bits (names: pid mnt mount uts ipc net
 * network cgroup user). */
int cb_parse_ns_list(const char *s, unsigned *ret_mask);
/* One namespace name into its CB_NS_* bit; 0 when unknown. */
unsigned cb_ns_from_name(const char *name);
/* Bit index of a CB_NS_* bit (for ns_path[]). */
int cb_ns_index(unsigned ns_bit);
/* The name of a CB_NS_* bit ("uts"). */
const char *cb_ns_name(unsigned ns_bit);
/* The namespaces that are the container's own: made new for it, not
 * joined (a user namespace is made when there is a uid map). What
 * --sysctl may change. */
unsigned cb_spawn_spec_own_ns(const struct cb_spawn_spec *spec);
/* "0:100000:65536[,1:2:3...]" appended to map (at most CB_IDMAP_MAX
 * entries in all); -EINVAL on junk or an empty count, -E2BIG when full. */
int cb_parse_idmap(const char *s, struct cb_idmap *map, size_t *n_map);
/* A CPU list "0-3,5" checked for syntax. */
bool cb_cpuset_valid(const char *s);
/* "nofile=1024[:4096]" (docker's names: core cpu data fsize locks memlock
 * msgqueue nice nofile nproc rss rtprio rttime sigpending stack; a value
 * may be "unlimited" or -1; HARD defaults to SOFT) into *ret. -EINVAL on
 * junk or SOFT above HARD. */
int cb_parse_ulimit(const char *s, struct cb_rlimit *ret);
/* "TERM", "SIGTERM", "term" or "15" into a signal number; -EINVAL. */
int cb_parse_signal(const char *s);
/* The --ulimit name of an RLIMIT_* ("nofile"); "?" when unknown. */
const char *cb_rlimit_name(int resource);
/* "NAME:IP" or "NAME=IP" (IPv6 may be in brackets): a host name and an
 * IPv4 or IPv6 address, each written to its buffer. -EINVAL otherwise. */
int cb_parse_add_host(const char *s, char *name, size_t name_size, char *ip, size_t ip_size);
/* --sysctl K=V: only what a container's own namespace holds, as docker
 * allows: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* with its own
 * IPC namespace (own_ns, cb_spawn_spec_own_ns: made new, not joined),
 * net.* with its own network namespace, kernel.domainname with its own
 * UTS namespace. 0, or -EINVAL
 * with why in err (the setting named). */
int cb_sysctl_check(const char *kv, unsigned own_ns, struct cb_error *err);
/* The file of a checked --sysctl NAME=VALUE: /proc/sys/net/ipv4/ip_forward. */
int cb_sysctl_path(const char *kv, char *path, size_t size);
/* Docker's --cpu-shares (2..262144) as a cgroup v2 cpu.weight (1..10000):
 * the conversion runc (1.3.2+) and crun (1.23+) use, which maps 1024 to
 * 100, each side's default. */
uint64_t cb_cpu_shares_to_weight(uint64_t shares);
/* True for an IPv4 or IPv6 address. */
bool cb_ip_valid(const char *s);
/* The process of a spec (argv, env, workdir, user) as one buffer for
 * the child of a late one (process_late), and back. The buffer: the
 * counts of argv and env strings and which of workdir and user follow
 * (three uint32_t), then each string, NUL-terminated. */
struct cb_process {
	char **argv; /* into the buffer; NULL-terminated; owned array */
	char **env;  /* likewise */
	size_t n_env;
	const char *workdir, *user; /* into the buffer, or NULL */
	/* Worked out ahead by the parent, from the rootfs as it came (see
	 * runtime.c, work_out_ahead): the user's ids, groups and home, and
	 * the file $PATH finds the command in (into the buffer, or NULL). */
	bool have_user;
	struct cb_user user_ahead;
	const char *exec_path;
};
/* ahead (may be NULL): its have_user, user_ahead and exec_path go along.
 * -EINVAL without a command, -ENOMEM. */
int cb_process_pack(const struct cb_spawn_spec *spec, const struct cb_process *ahead,
		    char **ret_buf, size_t *ret_len);
/* Point *ret into buf (which must outlive it); -EINVAL when buf is not
 * exactly what cb_process_pack makes (a command included), -ENOMEM.
 * cb_process_release frees the arrays. */
int cb_process_unpack(char *buf, size_t len, struct cb_process *ret);
void cb_process_release(struct cb_process *p);
/* resolv.conf for the container: host's lines, with those the spec's
 * --dns (nameserver), --dns-search (search, domain) and --dns-option
 * (options) replace left out and theirs added. Into buf; -ENOSPC when it
 * does not fit. */
int cb_resolv_conf(const char *host, const struct cb_spawn_spec *spec, char *buf, size_t size);
