/* cowbox inspect [-f TEMPLATE] [--type image|container] IMAGE|CONTAINER...:
 * an image's record, manifest and config, or a container's record, State,
 * Config and HostConfig (docker's names), as JSON or through a template
 * (tools/template.h). */
#include "cgroup.h"
#include "cli.h"
#include "container.h"
#include "images.h"
#include "state.h"
#include "resolve.h"
#include "store.h"
#include "ctr-files.h"
#include "launch.h"
#include "run-options.h"
#include "template.h"

#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static json_t *load_blob_json(struct cb_store *s, const char *digest, struct cb_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (cb_store_get_blob(s, digest, CB_BLOB_MAX, &text, &len, err) < 0)
		return NULL;
	json_error_t je;
	json_t *j = json_loadb(text, len, 0, &je);
	if (!j)
		cb_error_set(err, EBADMSG, "blob %s: invalid JSON", digest);
	return j;
}

static int inspect_image(struct cb_store *s, const char *what, json_t *out, struct cb_error *err)
{
	char id[CB_DIGEST_SIZE];
	int r = cb_image_resolve(s, what, id, err);
	if (r < 0)
		return r;
	struct cb_image *img = NULL;
	r = cb_images_get(s, id, &img, err);
	if (r < 0)
		return r;
	json_t *config = load_blob_json(s, img->id, err);
	json_t *manifest = config ? load_blob_json(s, img->manifest_digest, err) : NULL;
	if (!config || !manifest) {
		json_decref(config);
		cb_image_free(img);
		return -err->code;
	}
	json_t *names = json_array(), *layers = json_array();
	for (char **n = img->names; n && *n; n++)
		json_array_append_new(names, json_string(*n));
	for (size_t i = 0; i < img->n_layers; i++) {
		char *path = NULL;
		cb_store_layer_diff_path(s, img->layers[i].chain_id, &path);
		json_array_append_new(layers, json_pack("{s:s, s:s, s:s, s:s?}", "ChainID",
							img->layers[i].chain_id, "DiffID",
							img->layers[i].diff_id, "Digest",
							img->layers[i].digest, "Path", path));
		free(path);
	}
	json_t *c = json_object_get(config, "config");
	json_array_append_new(
	    out,
	    json_pack("{s:s, s:o, s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:o, s:O, s:O, s:I}", "Id",
		      img->id, "Names", names, "Digest", img->manifest_digest, "Architecture",
		      json_object_get(config, "architecture"), "Os", json_object_get(config, "os"),
		      "Created", json_object_get(config, "created"), "Config", c, "History",
		      json_object_get(config, "history"), "Layers", layers, "Manifest", manifest,
		      "RawConfig", config, "Added", (json_int_t)img->added));
	json_decref(manifest);
	json_decref(config);
	cb_image_free(img);
	return 0;
}

static json_t *strv_json(char *const *v)
{
	if (!v)
		return json_null();
	json_t *a = json_array();
	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static const char *network_mode(const struct cb_run_options *o)
{
	if (!o->net.mode_set && o->net.n_ports == 0)
		return o->spec.ns_create & CB_NS_NET ? "none" : "host";
	switch (o->net.mode) {
	case CB_NET_BRIDGE:
		return o->net.network ? o->net.network : "bridge";
	case CB_NET_HOST:
		return "host";
	case CB_NET_SHARE:
		return o->net.share;
	case CB_NET_NONE:
	default:
		return "none";
	}
}

/* docker's Config and HostConfig: what a start of the container gets, from
 * its image's config and its RUN OPTIONS by the rules run applies. */
static void add_config(json_t *j, const struct cb_container *c, struct cb_run_options *o,
		       const struct cb_image_config *cfg)
{
	struct cb_spawn_spec *spec = &o->spec;
	char host[13];
	snprintf(host, sizeof(host), "%.12s", c->id);
	char *ep_buf[2], *const *ep, *const *cmd;
	cli_process_parts(cfg, o, c->cmd, ep_buf, &ep, &cmd);
	json_t *env = json_array(), *labels = cli_container_labels(cfg, o);
	if (cli_launch_env(spec, cfg) >= 0)
		for (size_t i = 0; i < spec->n_env; i++)
			json_array_append_new(env, json_string(spec->env[i]));
	char sig[32] = "SIGTERM";
	if (o->stop_signal && sigabbrev_np(o->stop_signal))
		snprintf(sig, sizeof(sig), "SIG%s", sigabbrev_np(o->stop_signal));
	else if (o->stop_signal >= SIGRTMIN && o->stop_signal <= SIGRTMAX)
		snprintf(sig, sizeof(sig), "SIGRTMIN+%d", o->stop_signal - SIGRTMIN);
	else if (o->stop_signal)
		snprintf(sig, sizeof(sig), "%d", o->stop_signal);
	else if (cfg->stop_signal)
		snprintf(sig, sizeof(sig), "%s", cfg->stop_signal);
	/* Its own UTS namespace gets --hostname or the short ID; with a
	 * shared one this host's name is shown. */
	char host_name[65] = "";
	if (!(cb_spawn_spec_own_ns(spec) & CB_NS_UTS))
		gethostname(host_name, sizeof(host_name) - 1);
	json_object_set_new(
	    j, "Config",
	    json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:s, s:s?, s:b, s:b}", "Hostname",
		      host_name[0]     ? host_name
		      : spec->hostname ? spec->hostname
				       : host,
		      "User",
		      spec->user  ? spec->user
		      : cfg->user ? cfg->user
				  : "",
		      "Env", env, "Entrypoint", strv_json(ep), "Cmd", strv_json(cmd), "WorkingDir",
		      spec->workdir	 ? spec->workdir
		      : cfg->working_dir ? cfg->working_dir
					 : "",
		      "Labels", labels, "StopSignal", sig, "Image", c->image_name, "Tty", spec->tty,
		      "OpenStdin", spec->interactive));

	json_t *binds = json_array(), *tmpfs = json_object(), *sysctls = json_object();
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct cb_mount *m = &spec->mounts[i];
		if (m->type == CB_MOUNT_TMPFS) {
			json_object_set_new(tmpfs, m->target,
					    json_string(m->source ? m->source : ""));
			continue;
		}
		_cleanup_free_ char *b = NULL;
		if (asprintf(&b, "%s:%s%s", m->source, m->target, m->readonly ? ":ro" : "") >= 0)
			json_array_append_new(binds, json_string(b));
	}
	for (size_t i = 0; i < spec->n_sysctls; i++)
		cli_json_set_kv(sysctls, spec->sysctls[i]);
	int64_t period = spec->cpu_period_us > 0 ? spec->cpu_period_us : 100000;
	json_t *hc = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:b, s:b, s:i, s:o, s:o, s:o, s:s, "
	    "s:b, s:b, s:s}",
	    "Memory", (json_int_t)spec->memory, "MemorySwap",
	    (json_int_t)(spec->memory_swap ? spec->memory_swap : spec->memory), "MemoryReservation",
	    (json_int_t)spec->memory_reservation, "CpuShares", (json_int_t)spec->cpu_shares,
	    "NanoCpus", (json_int_t)(spec->cpu_quota_us * 1000000000 / period), "CpuQuota",
	    (json_int_t)spec->cpu_quota_us, "CpuPeriod",
	    (json_int_t)(spec->cpu_quota_us ? period : 0), "PidsLimit",
	    (json_int_t)spec->pids_limit, "CpusetCpus", spec->cpuset_cpus ? spec->cpuset_cpus : "",
	    "ShmSize", (json_int_t)(spec->shm_size ? spec->shm_size : (int64_t)64 << 20),
	    "ReadonlyRootfs", spec->read_only, "Privileged", spec->privileged, "OomScoreAdj",
	    spec->oom_score_adj, "Sysctls", sysctls, "Binds", binds, "Tmpfs", tmpfs, "NetworkMode",
	    network_mode(o), "AutoRemove", c->is_volatile, "Init", spec->init, "CgroupParent",
	    spec->no_cgroup	  ? ""
	    : spec->cgroup_parent ? spec->cgroup_parent
				  : "cowbox");
	json_object_set_new(j, "HostConfig", hc);
}

/* docker's State; a container that never started has no run state and
 * is "created". */
static void add_state(json_t *j, const char *id)
{
	_cleanup_close_ int dirfd = -1;
	struct cb_state st = {.status = CB_STATE_CREATED};
	bool have = cb_state_open(id, false, &dirfd) >= 0 && cb_state_read(dirfd, &st) >= 0;
	bool running = st.status == CB_STATE_RUNNING;
	const char *status = cli_state_name(&st);
	bool paused = strcmp(status, "paused") == 0;
	json_object_set_new(j, "State",
			    json_pack("{s:s, s:b, s:b, s:i, s:i, s:b, s:I, s:I}", "Status", status,
				      "Running", running, "Paused", paused, "Pid",
				      running ? (int)st.pid : 0, "ExitCode", st.exit_code,
				      "OOMKilled", st.oom, "StartedAt", (json_int_t)st.started,
				      "FinishedAt", (json_int_t)st.finished));
	if (have)
		cb_state_release(&st);
}

static int inspect_container(struct cb_store *s, const char *what, json_t *out,
			     struct cb_error *err)
{
	char id[CB_CONTAINER_ID_SIZE];
	int r = cb_container_resolve(s, what, id, err);
	if (r < 0)
		return r;
	struct cb_container *c = NULL;
	r = cb_container_get(s, id, &c, err);
	if (r < 0)
		return r;
	json_t *layers = json_array();
	for (size_t i = 0; i < c->n_layers; i++)
		json_array_append_new(layers, json_string(c->layers[i]));
	json_t *j = json_pack("{s:s, s:s?, s:s, s:s?, s:o, s:o, s:I, s:b}", "Id", c->id, "Name",
			      c->name, "Image", c->image, "ImageName", c->image_name, "Layers",
			      layers, "Cmd", strv_json(c->cmd), "Created", (json_int_t)c->created,
			      "Volatile", c->is_volatile);
	if (!j) {
		cb_container_free(c);
		return -ENOMEM;
	}
	char *rootfs = NULL;
	if (cb_container_rootfs_path(s, id, &rootfs) >= 0)
		json_object_set_new(j, "Rootfs", json_string(rootfs));
	free(rootfs);
	json_object_set_new(j, "Mounted", json_boolean(cb_container_is_mounted(s, id)));
	add_state(j, id);
	/* Config and HostConfig need the image's config: an image removed
	 * under its container (rmi -f) leaves them out. */
	struct cb_run_options o = {0};
	_cleanup_strv_ char **args = NULL;
	struct cb_image_config cfg = {0};
	struct cb_error cerr = {0};
	if (cb_image_load_config(s, c->image, &cfg, &cerr) >= 0 &&
	    cli_run_options_load("inspect", c->run_json, &o, &args) == 0)
		add_config(j, c, &o, &cfg);
	run_options_release(&o);
	cb_config_release(&cfg);
	cb_container_free(c);
	json_array_append_new(out, j);
	return 0;
}

int cmd_inspect(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"type", required_argument, NULL, 't'},
	    {0},
	};
	const char *format = NULL;
	bool images = true, containers = true;
	int c;
	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = strcmp(optarg, "json") == 0 ? NULL : optarg;
			break;
		case 't':
			if (strcmp(optarg, "image") == 0)
				containers = false;
			else if (strcmp(optarg, "container") == 0)
				images = false;
			else if (strcmp(optarg, "all") != 0)
				return cli_error(
				    "inspect --type %s: expected image, container or all", optarg);
			break;
		default:
			return cli_usage("inspect", true);
		}
	}
	if (optind >= argc)
		return cli_usage("inspect", true);
	struct cb_error ferr = {0};
	if (format && cli_template_check(format, &ferr) < 0)
		return cli_fail(&ferr, -ferr.code, "inspect --format");
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	json_t *out = json_array();
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		/* A container first, as docker: a container named like an image
		 * is what `inspect NAME` means in a script that made it. */
		struct cb_error err = {0};
		int r = containers ? inspect_container(s, argv[i], out, &err) : -ENOENT;
		if (r == -ENOENT && images) {
			cb_error_clear(&err);
			r = inspect_image(s, argv[i], out, &err);
		}
		if (r == -ENOENT) {
			cb_error_clear(&err);
			cb_error_set(&err, ENOENT, "%s: no such %s", argv[i],
				     !images	   ? "container"
				     : !containers ? "image"
						   : "image or container");
		}
		if (r < 0)
			ret = cli_fail(&err, r, "inspect %s", argv[i]);
	}
	size_t k;
	json_t *v;
	if (format)
		json_array_foreach(out, k, v)
		{
			_cleanup_free_ char *text = cli_template_render(format, v);
			if (!text) {
				ret = cli_error("inspect: out of memory");
				break;
			}
			printf("%s\n", text);
		}
	else if (json_array_size(out) > 0) {
		char *text = json_dumps(out, JSON_INDENT(2));
		printf("%s\n", text);
		free(text);
	}
	json_decref(out);
	return ret;
}
