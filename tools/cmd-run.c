/* cowbox run [RUN OPTIONS] IMAGE [CMD [ARG...]]: make a container from an
 * image, mount its rootfs, run the command, wait; --rm removes it after.
 * With -d a supervisor (tools/supervisor.c) owns the container and this
 * prints its ID.
 * cowbox run --rootfs DIR [RUN OPTIONS] CMD [ARG...]: the same launcher on
 * any root filesystem directory, with no store at all. */
#include "cli.h"
#include "fsutil.h"
#include "launch.h"
#include "state.h"
#include "net-glue.h"
#include "run-options.h"
#include "cgroup.h"
#include "runtime.h"
#include "store.h"
#include "supervisor.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* A timestamp for --log-level debug's phases, else 0. */
static uint64_t stamp(bool record)
{
	return record ? cb_now_ns() : 0;
}

/* run -d: hand the container and its state lock to its supervisor and
 * print the full ID. */
static int run_detached(struct cb_cli *cli, struct cb_run_options *o, struct cli_launch *l,
			struct cli_foreground *claimed)
{
	struct cb_error err = {0};
	char id[CB_CONTAINER_ID_SIZE];
	snprintf(id, sizeof(id), "%s", l->ctr->id);
	int code = 125;
	int r = cli_supervise(cli, o, l, o->rm, claimed, &code, &err);
	cli_launch_release(l);
	if (r == CLI_SUPERVISOR_DONE)
		return 0;
	if (r < 0) {
		cli_fail(&err, r, "run %s", o->cmd[0]);
		return code;
	}
	printf("%s\n", id);
	return 0;
}

int cmd_run(struct cb_cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *run_json = NULL;
	struct cb_run_options o;
	int cidfd = -1;
	int ret = run_options_parse(&o, argc, argv);
	if (ret == 0)
		ret = cli_preserve_fds(&o);
	if (ret != 0)
		goto out;
	/* Our child is seen by the pid namespace it shares until it execs. */
	if (!(o.spec.ns_create & CB_NS_PID))
		(void)cli_reexec_readonly(cli);
	if (o.detach && o.rootfs) {
		ret = cli_error("run -d: needs an IMAGE (not --rootfs)");
		goto out;
	}
	struct cb_error err = {0};
	struct cb_store *s = NULL;
	int ur = cli_userns_auto(&o, &err);
	if (ur < 0) {
		ret = cli_fail(&err, ur, "run");
		goto out;
	}
	struct cli_launch launch = {0};
	struct cli_net net = {0};
	/* A container of the store is listed by ps while it runs, and exec
	 * reaches it; a kept one shows how it ended, as docker's does. Its
	 * state is begun before the container is made (cli_launch_prepare). */
	struct cli_foreground fg = {.dirfd = -1, .lock = -1};
	if (!o.rootfs) {
		if (o.n_cmd < 1) {
			ret = cli_usage("run", true);
			goto out;
		}
		/* A foreground run leaves the store's tmp/ leftovers to its
		 * idle time (cli_launch's idle step). */
		if (!o.detach)
			cli->store_flags |= CB_STORE_DEFER_TMP;
		if (!(s = cli_store(cli))) {
			ret = EXIT_COWBOX;
			goto out;
		}
		/* The options as typed: start and exec parse them again. */
		int er = cli_run_json_encode(argv + 1, (int)(o.cmd - argv - 1), &o.spec, &run_json);
		if (er < 0) {
			ret = cli_error("run: %s", er == -EILSEQ ? "an option is not UTF-8 text"
								 : "out of memory");
			goto out;
		}
		if ((ret = cli_cidfile_open(&o, &cidfd)) != 0)
			goto out;
		int r = cli_launch_prepare(cli, s, o.cmd[0], &o, o.cmd + 1, run_json, &fg, &launch,
					   &err);
		if (r < 0) {
			ret = cli_fail(&err, r, "run %s", o.cmd[0]);
			goto out;
		}
		if ((ret = cli_cidfile_finish(&o, &cidfd, launch.id)) != 0) {
			struct cb_error ferr = {0};
			cli_foreground_end(&fg, launch.id, true, NULL);
			if (cli_launch_finish(cli, s, &launch, true, &ferr) < 0)
				cli_fail(&ferr, -ferr.code, "run: container %.12s", o.id);
			goto out;
		}
		/* A kept container tries the same ID range at its next start. */
		if (!o.rm)
			cli_userns_remember(&o, launch.id);
		if (o.detach) {
			ret = run_detached(cli, &o, &launch, &fg);
			goto out;
		}
		/* The spec outlives the launch record: keep the ID in o. */
		snprintf(o.id, sizeof(o.id), "%s", launch.id);
		o.spec.id = o.id;
	} else if (!o.spec.argv || !o.spec.argv[0]) {
		ret = cli_error("run --rootfs %s: no command given", o.rootfs);
		goto out;
	} else if ((ret = cli_cidfile_open(&o, &cidfd)) != 0 ||
		   (ret = cli_cidfile_finish(&o, &cidfd, o.id)) != 0)
		goto out;
	cli_log(cli, CB_LOG_DEBUG, "run: container %s", o.spec.id);
	o.spec.record_phases = cli->log_level >= CB_LOG_DEBUG;
	struct cb_run_status st = {.exit_code = EXIT_COWBOX};
	uint64_t t_end[4] = {0};
	int r = cli_net_prepare(cli, &o, &net, &err);
	if (r >= 0)
		r = cb_runtime_run(&o.spec, &st, &err);
	struct cb_error nerr = {0};
	if (cli_net_release(&net, &nerr) < 0)
		cli_fail(&nerr, -nerr.code, "run: container %.12s: network", o.id);
	/* Read before cli_launch_finish releases the launch. */
	bool late_failed = launch.late_failed;
	if (s) {
		/* A container made late may never have been made: one to keep
		 * is made now, unless making it was what failed (its state,
		 * begun before, records how it ended). */
		if (r < 0 && !o.rm && !late_failed)
			(void)cli_launch_create_now(&launch, NULL);
		bool made = launch.ctr != NULL;
		t_end[0] = stamp(o.spec.record_phases);
		cli_launch_drain_trash(&launch);
		t_end[1] = stamp(o.spec.record_phases);
		cli_foreground_end(&fg, o.id, o.rm || !made, &st);
		if (!made && o.cidfile)
			(void)unlink(o.cidfile);
		t_end[2] = stamp(o.spec.record_phases);
		struct cb_error ferr = {0};
		if (cli_launch_finish(cli, s, &launch, o.rm, &ferr) < 0)
			cli_fail(&ferr, -ferr.code, "run: container %.12s", o.id);
		t_end[3] = stamp(o.spec.record_phases);
	}
	if (r < 0) {
		/* The image's container could not be made (as before a start). */
		if (late_failed)
			cli_fail(&err, r, "run %s", o.cmd[0]);
		else
			cli_fail(&err, r, "run");
		ret = st.exit_code;
		goto out;
	}
	if (st.oom_killed) {
		fflush(stdout);
		fprintf(stderr, "cowbox: container %s killed: out of memory\n", o.spec.id);
	}
	ret = st.exit_code;
	if (o.spec.record_phases) {
		const struct cb_run_phases *p = &st.phases;
		uint64_t t[] = {p->cgroup, p->cloned,	 p->child_start, p->mounts_done,
				p->exec,   p->exec_seen, p->exited,	 p->cleaned};
		double ms[ELEMENTSOF(t)];
		for (size_t i = 0; i < ELEMENTSOF(t); i++)
			ms[i] = t[i] ? (double)(t[i] - p->start) / 1e6 : -1;
		cli_log(cli, CB_LOG_DEBUG,
			"run: ms since start: cgroup %.3f, cloned %.3f, child %.3f, mounts %.3f, "
			"exec %.3f, exec seen %.3f, exited %.3f, cleaned %.3f",
			ms[0], ms[1], ms[2], ms[3], ms[4], ms[5], ms[6], ms[7]);
		if (p->net)
			cli_log(cli, CB_LOG_DEBUG, "run: ms since start: network attached %.3f",
				(double)(p->net - p->start) / 1e6);
		if (p->rootfs)
			cli_log(cli, CB_LOG_DEBUG,
				"run: ms since start: rootfs made %.3f, child ready for it %.3f",
				(double)(p->rootfs - p->start) / 1e6,
				p->child_ready ? (double)(p->child_ready - p->start) / 1e6 : -1);
		if (t_end[3])
			cli_log(cli, CB_LOG_DEBUG,
				"run: ms since start: network released %.3f, trash drained %.3f, "
				"state recorded %.3f, container %s %.3f",
				(double)(t_end[0] - p->start) / 1e6,
				(double)(t_end[1] - p->start) / 1e6,
				(double)(t_end[2] - p->start) / 1e6, o.rm ? "removed" : "unmounted",
				(double)(t_end[3] - p->start) / 1e6);
	}
	/* Cgroups left by a cowbox that was killed (SIGKILL cannot be
	 * cleaned up after): empty ones older than a minute go now. */
	if (!o.spec.no_cgroup)
		cb_cgroup_prune(o.spec.cgroup_parent, 60);
out:
	cli_cidfile_finish(&o, &cidfd, NULL);
	run_options_release(&o);
	return ret;
}
