#include "launch.h"
#include "fsutil.h"
#include "idmap.h"
#include "images.h"
#include "macro.h"
#include "resolve.h"
#include "store.h"
#include "trash.h"
#include "state.h"
#include "supervisor.h"

#include <fcntl.h>
#include <getopt.h>
#include <linux/mount.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void cli_process_parts(const struct cb_image_config *cfg, const struct cb_run_options *o,
		       char *const *user_cmd, char *ep_buf[2], char *const **ret_ep,
		       char *const **ret_cmd)
{
	ep_buf[0] = (char *)o->entrypoint;
	ep_buf[1] = NULL;
	*ret_ep = o->entrypoint ? (o->entrypoint[0] ? ep_buf : NULL) : cfg->entrypoint;
	*ret_cmd = user_cmd && user_cmd[0] ? user_cmd : o->entrypoint ? NULL : cfg->cmd;
}

/* Entrypoint + Cmd as one argv (the strings borrowed). */
static int build_argv(const struct cb_image_config *cfg, const struct cb_run_options *o,
		      char *const *user_cmd, char ***ret)
{
	char *one[2], *const *ep, *const *cmd;
	cli_process_parts(cfg, o, user_cmd, one, &ep, &cmd);
	size_t n_ep = strv_length(ep), n_cmd = strv_length(cmd);
	char **argv = calloc(n_ep + n_cmd + 1, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	for (size_t i = 0; i < n_ep; i++)
		argv[i] = ep[i];
	for (size_t i = 0; i < n_cmd; i++)
		argv[n_ep + i] = cmd[i];
	*ret = argv;
	return 0;
}

int cli_launch_env(struct cb_spawn_spec *spec, const struct cb_image_config *cfg)
{
	char **cli_env = spec->env;
	size_t n_cli = spec->n_env;
	spec->env = NULL;
	spec->n_env = 0;
	int r = 0;
	for (char **e = cfg->env; r >= 0 && e && *e; e++)
		r = cb_spawn_spec_add_env(spec, *e);
	for (size_t i = 0; r >= 0 && i < n_cli; i++)
		r = cb_spawn_spec_add_env(spec, cli_env[i]);
	if (r >= 0 && !cb_spawn_spec_getenv(spec, "PATH"))
		r = cb_spawn_spec_add_env(spec, DEFAULT_PATH);
	for (size_t i = 0; i < n_cli; i++)
		free(cli_env[i]);
	free(cli_env);
	return r;
}

int cli_stop_signal(struct cb_run_options *o, const struct cb_image_config *cfg,
		    struct cb_error *err)
{
	if (o->stop_signal || !cfg->stop_signal)
		return 0;
	int sig = cb_parse_signal(cfg->stop_signal);
	if (sig < 0)
		return cb_error_set(err, EINVAL, "image StopSignal %s: unknown signal",
				    cfg->stop_signal);
	o->stop_signal = sig;
	return 0;
}

/* One step of deleting the run state's trash (a directory per earlier
 * run), then the store's (docs/store.md). */
static int delete_trash_step(void *opaque)
{
	struct cli_launch *l = opaque;
	while (l->trash_phase < 4) {
		if (!(l->trash_phase & 1)) {
			if (l->trash_phase == 0)
				(void)cb_state_trash_steps(&l->trash);
			else
				(void)cb_trash_steps(l->store, &l->trash);
			l->trash_phase++;
		}
		if (l->trash && cb_rm_steps_next(l->trash) > 0)
			return 1;
		cb_rm_steps_free(l->trash);
		l->trash = NULL;
		l->trash_phase++;
	}
	return 0;
}

/* The spec's idle_step: the trash, then what the store left for later
 * (CB_STORE_DEFER_TMP). Only the trash is drained after the exit. */
static int idle_step(void *opaque)
{
	struct cli_launch *l = opaque;
	if (delete_trash_step(l) > 0)
		return 1;
	cb_store_clean_tmp_deferred(l->store);
	return 0;
}

/* A foreground launch's spare network namespaces (runtime/netpool.h), in
 * the network run directory: root's, unless COWBOX_NETNS_POOL=0; =1 makes
 * the next spare whether or not one pays. */
static int netns_pool_dir(struct cb_cli *cli, char **ret, bool *always)
{
	*ret = NULL;
	const char *env = getenv("COWBOX_NETNS_POOL");
	*always = env && strcmp(env, "1") == 0;
	if (geteuid() != 0 || (env && strcmp(env, "0") == 0))
		return 0;
	_cleanup_free_ char *nd = NULL, *rd = NULL;
	if (cli_net_dirs(cli, &nd, &rd) < 0 || asprintf(ret, "%s/pool", rd) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Point o->spec at what the options say of the container (l->id is
 * set), before anything is made. */
static int fill_spec(struct cb_cli *cli, struct cb_store *s, struct cb_run_options *o,
		     struct cli_launch *l, struct cb_error *err)
{
	enum cb_driver_kind kind = CB_DRIVER_AUTO;
	if (cli->storage_driver && cb_driver_parse(cli->storage_driver, &kind) < 0)
		return cb_error_set(err, EINVAL, "--storage-driver %s: unknown",
				    cli->storage_driver);
	struct cb_spawn_spec *spec = &o->spec;
	l->store = s;
	spec->id = l->id;
	spec->create_etc_files = true; /* the upper dir takes them */
	/* Deleting the trash fills a foreground launch's wait; a supervisor
	 * (-d) has no one waiting on it, and a store of its own. */
	if (!o->detach) {
		l->delete_trash = true;
		spec->idle_step = idle_step;
		spec->idle_opaque = l;
		int r = netns_pool_dir(cli, &l->netns_pool, &spec->netns_pool_always);
		if (r < 0)
			return cb_error_errno(err, -r, "network directories");
		spec->netns_pool = l->netns_pool;
	}
	return 0;
}

/* Point o->spec at the container's process, from the image config and
 * the options (l->argv and l->cfg are filled). */
static int fill_process(struct cb_run_options *o, struct cli_launch *l, struct cb_error *err)
{
	int r = cli_stop_signal(o, &l->cfg, err);
	if (r < 0)
		return r;
	struct cb_spawn_spec *spec = &o->spec;
	spec->argv = l->argv;
	if (!spec->workdir && l->cfg.working_dir && l->cfg.working_dir[0])
		spec->workdir = l->cfg.working_dir;
	if (!spec->user && l->cfg.user && l->cfg.user[0])
		spec->user = l->cfg.user;
	r = cli_launch_env(spec, &l->cfg);
	if (r < 0)
		return cb_error_errno(err, r, "environment");
	return 0;
}

/* Resolve l's image, read its config and fill the process from it. */
static int load_image(struct cli_launch *l, struct cb_error *err)
{
	char id[CB_DIGEST_SIZE];
	int r = cb_image_resolve(l->store, l->image_name, id, err);
	if (r >= 0)
		r = cb_images_get(l->store, id, &l->img, err);
	if (r >= 0)
		r = cb_image_load_config(l->store, id, &l->cfg, err);
	if (r >= 0)
		r = build_argv(&l->cfg, l->o, l->user_cmd, &l->argv);
	/* (The caller's error names the image.) */
	if (r >= 0 && !l->argv[0])
		r = cb_error_set(err, EINVAL, "no command given and the image has none");
	if (r >= 0)
		r = fill_process(l->o, l, err);
	return r;
}

/* An inotify watch on the root of the mount at fd: the shutdown of its
 * superblock queues IN_UNMOUNT there (superblock_gone), which proves
 * that nothing can write through it any more, however it was held (a
 * host process may keep it after its container: a working directory
 * under /proc/PID/root). -1 when it cannot be watched. */
static int watch_superblock(int fd)
{
	int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0)
		return -1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (inotify_add_watch(ifd, path, IN_DELETE_SELF) < 0) {
		close(ifd);
		return -1;
	}
	return ifd;
}

/* Whether the superblock watched by ifd (watch_superblock) shut down. */
static bool superblock_gone(int ifd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	while (ifd >= 0 && (n = read(ifd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
			if (ev->mask & IN_UNMOUNT)
				return true;
			off += (ssize_t)(sizeof(*ev) + ev->len);
		}
	return false;
}

/* Mount l->ctr's rootfs and point o->spec at it. */
static int mount_rootfs(struct cb_cli *cli, struct cb_store *s, struct cb_run_options *o,
			struct cli_launch *l, struct cb_error *err)
{
	enum cb_driver_kind kind = CB_DRIVER_AUTO;
	if (cli->storage_driver)
		(void)cb_driver_parse(cli->storage_driver, &kind); /* checked in fill_spec */
	/* A foreground container gets its rootfs as a detached mount that
	 * only its own mount namespace sees; a detached one (-d) keeps the
	 * host mount that `cowbox mount` shows. */
	bool detached = !o->detach && (o->spec.ns_create & CB_NS_MNT);
	/* In a user namespace the container's root owns its image: the
	 * layers are seen through idmapped mounts with its maps. */
	struct cb_mount_idmap idmap = {.userns_fd = -1};
	const struct cb_spawn_spec *sp = &o->spec;
	if (sp->n_uidmap > 0) {
		size_t ng;
		const struct cb_idmap *gmap = cb_spawn_spec_gidmap(sp, &ng);
		int fd = cb_userns_open(sp->uidmap, sp->n_uidmap, gmap, ng, err);
		if (fd < 0)
			return fd;
		idmap.userns_fd = fd;
		idmap.root_uid = cb_idmap_to_host(sp->uidmap, sp->n_uidmap, 0);
		idmap.root_gid = cb_idmap_to_host(gmap, ng, 0);
		if (idmap.root_uid < 0 || idmap.root_gid < 0)
			idmap.root_uid = idmap.root_gid = -1;
	}
	int r = cb_container_mount_for_run(s, l->ctr, kind, idmap.userns_fd >= 0 ? &idmap : NULL,
					   detached ? &l->rootfs_fd : NULL, &l->rootfs, err);
	closep(&idmap.userns_fd);
	if (r < 0)
		return r;
	if (l->rootfs_fd >= 0)
		l->gone_watch = watch_superblock(l->rootfs_fd);
	l->t_mounted = cb_now_ns();
	struct cb_spawn_spec *spec = &o->spec;
	spec->rootfs = l->rootfs;
	spec->rootfs_detached = l->rootfs_fd >= 0;
	spec->rootfs_fd = l->rootfs_fd;
	return 0;
}

/* The name l wants is held by a --rm container whose cowbox was killed
 * (it ran, or was about to): looking at it repairs it (cli_state_get),
 * which removes it and frees the name. True when it did. */
static bool free_stale_name(struct cli_launch *l)
{
	char id[CB_CONTAINER_ID_SIZE];
	struct cb_container *holder = NULL;
	struct cb_state st;
	struct cb_error e = {0};
	bool freed = false;
	if (cb_container_lookup_name(l->store, l->o->name, id) < 0 ||
	    cb_container_get(l->store, id, &holder, &e) < 0)
		return false;
	if (holder->is_volatile && cli_state_get(l->cli, l->store, holder, &st) >= 0) {
		freed = st.status == CB_STATE_REMOVED;
		cb_state_release(&st);
	}
	cb_container_free(holder);
	return freed;
}

/* Create the container l was prepared for. */
static int create_container(struct cli_launch *l, struct cb_error *err)
{
	struct cb_container_options copts = {
	    .name = l->o->name,
	    .image_name = l->image_name,
	    .cmd = l->user_cmd && l->user_cmd[0] ? l->user_cmd : NULL,
	    .is_volatile = l->o->rm,
	    .run_json = l->run_json,
	    .id = l->id,
	};
	int r = cb_container_create(l->store, l->img, &copts, &l->ctr, err);
	if (r == -EEXIST && copts.name && free_stale_name(l)) {
		*err = (struct cb_error){0};
		r = cb_container_create(l->store, l->img, &copts, &l->ctr, err);
	}
	cb_image_free(l->img);
	l->img = NULL;
	if (r >= 0)
		l->t_created = cb_now_ns();
	return r;
}

/* The spec's rootfs_late: make (for run: its image read, the process
 * filled from it) and mount the container now, a detached mount for the
 * child to attach (a host mount, when the driver made one, cloned into
 * one), which its foreground state (l->fg, begun before) closes once the
 * container runs. The predicted rootfs path in the spec stays. */
static int make_rootfs_late(void *opaque, int *ret_fd, struct cb_error *err)
{
	struct cli_launch *l = opaque;
	struct cb_store *s = l->store;
	bool make = !l->ctr;
	l->late_failed = true;
	int r = make ? load_image(l, err) : 0;
	if (r >= 0 && make)
		r = create_container(l, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *predicted = TAKE_PTR(l->rootfs);
	r = mount_rootfs(l->cli, s, l->o, l, err);
	if (r >= 0 && l->rootfs_fd < 0) {
		/* A clone of a mount on a shared / (systemd's) is a peer of it:
		 * what the child mounts on it would show on the host, and
		 * pivot_root refuses a shared root. Private, it is the
		 * container's alone. */
		struct mount_attr attr = {.propagation = MS_PRIVATE};
		l->rootfs_fd = (int)syscall(SYS_open_tree, AT_FDCWD, l->rootfs,
					    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (l->rootfs_fd < 0 ||
		    syscall(SYS_mount_setattr, l->rootfs_fd, "", AT_EMPTY_PATH | AT_RECURSIVE,
			    &attr, sizeof(attr)) < 0)
			r = cb_error_errno(err, errno, "container %.12s: clone its rootfs mount",
					   l->id);
	}
	/* The child was given the predicted path; the spec keeps pointing at it. */
	free(l->rootfs);
	l->rootfs = TAKE_PTR(predicted);
	l->o->spec.rootfs = l->rootfs;
	l->o->spec.rootfs_detached = false;
	l->o->spec.rootfs_fd = -1;
	if (r >= 0 && l->fg)
		l->fg->rootfs_fd = &l->rootfs_fd;
	if (r < 0) {
		closep(&l->rootfs_fd);
		if (!make) {
			/* start: the container stays, its host mount (if one was
			 * made) does not. */
			cb_container_unmount(s, l->id, CB_UNMOUNT_LAZY, NULL);
			return r;
		}
		cb_container_remove_known(s, l->ctr, CB_REMOVE_FORCE, NULL);
		cb_container_free(l->ctr);
		l->ctr = NULL;
		return r;
	}
	*ret_fd = l->rootfs_fd;
	l->late_failed = false;
	return 0;
}

int cli_launch_create_now(struct cli_launch *l, struct cb_error *err)
{
	if (l->ctr || !l->image_name)
		return 0;
	int r = l->img ? 0 : load_image(l, err);
	return r < 0 ? r : create_container(l, err);
}

/* A foreground container with a mount namespace and no user namespace gets
 * its rootfs late (made while the child makes its namespaces): point the
 * spec at make_rootfs_late and the rootfs path it will have (and, for run,
 * at its process to come: l->ctr is NULL). 1 when so, 0 when the rootfs
 * must be made now, -ENOMEM. */
static int set_late(struct cb_cli *cli, struct cb_store *s, struct cb_run_options *o,
		    struct cli_launch *l)
{
	l->cli = cli;
	l->o = o;
	if (o->detach || !(o->spec.ns_create & CB_NS_MNT) || o->spec.n_uidmap > 0)
		return 0;
	if (asprintf(&l->rootfs, "%s/containers/%s", cb_store_root(s), l->id) < 0) {
		l->rootfs = NULL;
		return -ENOMEM;
	}
	o->spec.rootfs = l->rootfs;
	o->spec.rootfs_late = make_rootfs_late;
	o->spec.rootfs_late_opaque = l;
	o->spec.process_late = !l->ctr;
	return 1;
}

int cli_launch_prepare(struct cb_cli *cli, struct cb_store *s, const char *image,
		       struct cb_run_options *o, char *const *user_cmd, const char *run_json,
		       struct cli_foreground *fg, struct cli_launch *l, struct cb_error *err)
{
	memset(l, 0, sizeof(*l));
	l->rootfs_fd = l->gone_watch = -1;
	l->t_begin = cb_now_ns();
	l->cli = cli;
	l->image_name = image;
	l->user_cmd = user_cmd;
	l->run_json = run_json;
	l->o = o;
	struct cli_foreground none = {.dirfd = -1, .lock = -1};
	if (fg)
		*fg = none;
	/* Its supervisor (-d) or bench records the state: only the lock here. */
	bool lock_only = o->detach || o->claim_only;
	int r = cb_container_new_id(l->id);
	if (r >= 0)
		r = fill_spec(cli, s, o, l, err);
	/* The state lock before the container exists: a run killed from here
	 * on leaves the lock free, and its --rm container (once made) is
	 * removed by whichever command looks at it next (cli_state_get). */
	if (r >= 0 && fg)
		r = lock_only ? cli_state_claim(fg, l->id, true, err)
			      : cli_foreground_begin(fg, o, true, err);
	if (r < 0)
		goto out_release;
	l->fg = lock_only ? NULL : fg;
	/* Late, the image is read too while the child makes its namespaces. */
	r = set_late(cli, s, o, l);
	if (r != 0) {
		if (r < 0)
			goto out_release;
		return 0;
	}
	r = load_image(l, err);
	if (r >= 0)
		r = create_container(l, err);
	if (r < 0)
		goto out_release;
	r = mount_rootfs(cli, s, o, l, err);
	if (r < 0)
		goto out_remove;
	if (l->fg)
		l->fg->rootfs_fd = &l->rootfs_fd;
	return 0;
out_remove:
	cb_container_remove_known(s, l->ctr, CB_REMOVE_FORCE, NULL);
out_release:
	cli_foreground_end(fg ? fg : &none, l->id, true, NULL);
	cli_launch_release(l);
	return r;
}

int cli_launch_existing(struct cb_cli *cli, struct cb_store *s, const char *id,
			struct cb_run_options *o, struct cli_launch *l, struct cb_error *err)
{
	memset(l, 0, sizeof(*l));
	l->rootfs_fd = l->gone_watch = -1;
	l->t_begin = cb_now_ns();
	int r = cb_container_get(s, id, &l->ctr, err);
	if (r >= 0) {
		memcpy(l->id, l->ctr->id, sizeof(l->id));
		r = cb_image_load_config(s, l->ctr->image, &l->cfg, err);
	}
	if (r >= 0)
		r = build_argv(&l->cfg, o, l->ctr->cmd, &l->argv);
	if (r >= 0 && !l->argv[0])
		r = cb_error_set(err, EINVAL, "no command given and the image has none");
	if (r >= 0)
		r = fill_spec(cli, s, o, l, err);
	if (r >= 0)
		r = fill_process(o, l, err);
	if (r >= 0 && (r = set_late(cli, s, o, l)) == 0)
		r = mount_rootfs(cli, s, o, l, err);
	if (r < 0)
		cli_launch_release(l);
	return r < 0 ? r : 0;
}

void cli_launch_release(struct cli_launch *l)
{
	closep(&l->rootfs_fd);
	closep(&l->gone_watch);
	cb_rm_steps_free(l->trash);
	cb_container_free(l->ctr);
	cb_image_free(l->img);
	free(l->rootfs);
	free(l->netns_pool);
	free(l->argv);
	cb_config_release(&l->cfg);
	memset(l, 0, sizeof(*l));
	l->rootfs_fd = l->gone_watch = -1;
}

/* {"args":[...],"cwd":"..."}: the RUN OPTIONS as typed, parsed again by
 * start and exec, so every option (present or future) round-trips without
 * a field-by-field schema. */
int cli_run_json_encode(char *const *args, int n, const struct cb_spawn_spec *spec, char **ret_json)
{
	json_t *j = json_object(), *a = json_array(), *env = json_array();
	int r = j && a && env ? 0 : -ENOMEM;
	json_object_set_new(j, "args", a);
	json_object_set_new(j, "env", env);
	/* json_string refuses what is not UTF-8: nothing may go missing. */
	for (int i = 0; r == 0 && i < n; i++)
		if (json_array_append_new(a, json_string(args[i])) < 0)
			r = -EILSEQ;
	for (size_t i = 0; r == 0 && i < spec->n_env; i++)
		if (json_array_append_new(env, json_string(spec->env[i])) < 0)
			r = -EILSEQ;
	char cwd[4096];
	if (r == 0 && getcwd(cwd, sizeof(cwd)))
		json_object_set_new(j, "cwd", json_string(cwd));
	char *text = r == 0 ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return r < 0 ? r : -ENOMEM;
	*ret_json = text;
	return 0;
}

int cli_run_options_load(const char *verb, const char *run_json, struct cb_run_options *o,
			 char ***ret_argv)
{
	json_t *j = run_json ? json_loads(run_json, 0, NULL) : json_object();
	json_t *a = json_object_get(j, "args"), *env = json_object_get(j, "env");
	size_t n = json_array_size(a);
	char **argv = calloc(n + 2, sizeof(char *));
	if (!argv) {
		json_decref(j);
		return cli_error("%s: out of memory", verb);
	}
	argv[0] = strdup(verb);
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = strdup(json_string_value(json_array_get(a, i)) ?: "");
	*ret_argv = argv;
	int saved = optind;
	optind = 0;
	/* A container made before the environment was recorded has -e and
	 * --env-file read again. */
	int r = json_is_array(env) ? run_options_parse_stored(o, (int)n + 1, argv)
				   : run_options_parse(o, (int)n + 1, argv);
	optind = saved;
	size_t i;
	json_t *e;
	if (r == 0 && json_is_array(env))
		json_array_foreach(env, i, e)
		{
			const char *kv = json_string_value(e);
			if (kv && strchr(kv, '=') && cb_spawn_spec_add_env(&o->spec, kv) < 0) {
				r = cli_error("%s: out of memory", verb);
				break;
			}
		}
	json_decref(j);
	if (r == 0 && o->n_cmd > 0)
		r = cli_error("%s: stored options end in an operand %s", verb, o->cmd[0]);
	return r;
}

void cli_launch_drain_trash(struct cli_launch *l)
{
	if (l->delete_trash)
		while (delete_trash_step(l) > 0)
			;
}

int cli_launch_finish(struct cb_cli *cli, struct cb_store *s, struct cli_launch *l, bool remove,
		      struct cb_error *err)
{
	int r = 0;
	/* A detached rootfs still open here (the command never started: the
	 * foreground closes it once it runs) ends with our fd, before its
	 * directories are touched. */
	closep(&l->rootfs_fd);
	if (l->ctr) {
		/* Its directories may become the next containers' when its
		 * overlay is gone (storage/spare.h). */
		unsigned rm_flags = CB_REMOVE_FORCE | CB_REMOVE_DEFER_EMPTY |
				    (superblock_gone(l->gone_watch) ? CB_REMOVE_RECYCLE : 0);
		r = remove ? cb_container_remove_known(s, l->ctr, rm_flags, err)
			   : cb_container_unmount(s, l->ctr->id, 0, err);
	}
	cli_launch_release(l);
	return r;
}
