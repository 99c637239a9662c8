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
	/* Cgroups left by a cowbox that was killed (SIGKILL cannot be
	 * cleaned up after): empty ones older than a minute go now. */
	if (!o.spec.no_cgroup)
		cb_cgroup_prune(o.spec.cgroup_parent, 60);
out:
	run_options_release(&o);
	return ret;
}
