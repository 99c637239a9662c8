/* cowbox run --rootfs DIR [RUN OPTIONS] CMD [ARG...]: launch a command in
 * a root filesystem directory and wait for it. The store-backed
 * `run IMAGE` mounts the image's rootfs and calls the same library. */
#include "cli.h"
#include "run-options.h"
#include "cgroup.h"
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_run(struct cb_cli *cli, int argc, char **argv)
{
	struct cb_run_options o;
	int ret = run_options_parse(&o, argc, argv);
	if (ret != 0)
		goto out;
	if (!o.rootfs) {
		ret = cli_error("run: IMAGE needs the image store; use --rootfs DIR for now");
		goto out;
	}
	if (o.detach) {
		ret = cli_error("run: -d is not supported yet");
		goto out;
	}
	if (!o.spec.argv || !o.spec.argv[0]) {
		ret = cli_error("run --rootfs %s: no command given", o.rootfs);
		goto out;
	}
	cli_log(cli, CB_LOG_DEBUG, "run: container %s", o.id);
	o.spec.record_phases = cli->log_level >= CB_LOG_DEBUG;
	struct cb_error err = {0};
	struct cb_run_status st;
	int r = cb_runtime_run(&o.spec, &st, &err);
	if (r < 0) {
		cli_fail(&err, r, "run");
		ret = st.exit_code;
		goto out;
	}
	if (st.oom_killed) {
		fflush(stdout);
		fprintf(stderr, "cowbox: container %s killed: out of memory\n", o.id);
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
	}
	/* Cgroups left by a cowbox that was killed (SIGKILL cannot be
	 * cleaned up after): empty ones older than a minute go now. */
	if (!o.spec.no_cgroup)
		cb_cgroup_prune(o.spec.cgroup_parent, 60);
out:
	run_options_release(&o);
	return ret;
}
