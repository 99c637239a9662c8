/* cowbox start [-a] CONTAINER...: launch created (or exited) containers
 * with the RUN OPTIONS recorded by create. Without -a each goes to its own
 * supervisor (as run -d); with -a (one container) it runs in the
 * foreground like `run` and its exit code is returned. */
#include "cli.h"
#include "net-glue.h"
#include "launch.h"
#include "runtime.h"
#include "store.h"
#include "supervisor.h"

#include <getopt.h>
#include <stdio.h>
#include <time.h>

/* Foreground: cb_runtime_run relays signals and the terminal; the state
 * records the outcome (no supervisor, so `ps` shows it only once it has
 * exited). */
static int start_attached(struct cb_cli *cli, struct cb_store *s, struct cb_run_options *o,
			  struct cli_launch *l, const char *what)
{
	char id[CB_CONTAINER_ID_SIZE];
	snprintf(id, sizeof(id), "%s", l->ctr->id);
	struct cb_error err = {0};
	struct cb_run_status st = {.exit_code = EXIT_COWBOX};
	struct cli_net net = {0};
	struct cli_foreground fg;
	int r = cli_foreground_begin(&fg, o, false, &err);
	fg.rootfs_fd = &l->rootfs_fd;
	if (r >= 0)
		r = cli_net_prepare(cli, o, &net, &err);
	if (r >= 0)
		r = cb_runtime_run(&o->spec, &st, &err);
	struct cb_error nerr = {0};
	if (cli_net_release(&net, &nerr) < 0)
		cli_fail(&nerr, -nerr.code, "start %s: network", what);
	bool remove = o->rm;
	cli_launch_drain_trash(l);
	/* Record the outcome while o->spec.argv (the launch's) is alive. */
	cli_foreground_end(&fg, id, remove, &st);
	struct cb_error ferr = {0};
	if (cli_launch_finish(cli, s, l, remove, &ferr) < 0)
		cli_fail(&ferr, -ferr.code, "start %s", what);
	if (r < 0)
		cli_fail(&err, r, "start %s", what);
	if (st.oom_killed) {
		fflush(stdout);
		fprintf(stderr, "cowbox: container %s killed: out of memory\n", id);
	}
	return st.exit_code;
}

int cli_container_start(struct cb_cli *cli, struct cb_store *s, const char *what, bool attach)
{
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "start", what, &ctr, &st);
	if (ret != 0)
		return ret;
	_cleanup_strv_ char **args = NULL;
	struct cb_run_options o = {0};
	struct cli_launch l = {0};
	if (st.status == CB_STATE_RUNNING) {
		ret = attach ? cli_error("start %s: container is already running", what) : 0;
		if (!attach)
			printf("%s\n", what);
		goto out;
	}
	ret = cli_run_options_load("start", ctr->run_json, &o, &args);
	if (ret != 0)
		goto out;
	/* Our child is seen by the pid namespace it shares until it execs. */
	if (!(o.spec.ns_create & CB_NS_PID))
		(void)cli_reexec_readonly(cli);
	struct cb_error err = {0};
	int ur = cli_userns_auto_for(&o, ctr->id, &err);
	if (ur < 0) {
		ret = cli_fail(&err, ur, "start %s", what);
		goto out;
	}
	o.detach = !attach; /* its supervisor runs it: keep the host mount */
	if (!ctr->is_volatile) /* one removed after this run has no next start */
		cli_userns_remember(&o, ctr->id);
	/* Restarted by a supervisor: the state says so before the host
	 * mount (cli_state_claim_restart). A first start's has no state to
	 * keep (a killed one stays created), and start -a's mount is
	 * detached, gone with it. */
	struct cli_foreground claim = {.dirfd = -1, .lock = -1};
	int r = 0;
	if (!attach && st.status == CB_STATE_EXITED &&
	    (r = cli_state_claim_restart(&claim, ctr->id, &err)) < 0) {
		ret = cli_fail(&err, r, "start %s", what);
		goto out;
	}
	r = cli_launch_existing(cli, s, ctr->id, &o, &l, &err);
	if (r < 0) {
		cli_state_unclaim_restart(&claim, &st);
		ret = cli_fail(&err, r, "start %s", what);
		goto out;
	}
	if (attach) {
		ret = start_attached(cli, s, &o, &l, what);
		goto out;
	}
	int code = 125;
	r = cli_supervise(cli, &o, &l, ctr->is_volatile, claim.lock >= 0 ? &claim : NULL, &code,
			  &err);
	cli_launch_release(&l);
	if (r == CLI_SUPERVISOR_DONE)
		ret = -1; /* the supervisor: nothing to print */
	else if (r < 0) {
		cli_fail(&err, r, "start %s", what);
		ret = code;
	} else
		printf("%s\n", what);
out:
	run_options_release(&o);
	cb_container_free(ctr);
	cb_state_release(&st);
	return ret;
}

int cmd_start(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"attach", no_argument, NULL, 'a'}, {0}};
	bool attach = false;
	int c;
	while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
		if (c != 'a')
			return cli_usage("start", true);
		attach = true;
	}
	if (optind >= argc || (attach && optind + 1 != argc))
		return cli_usage("start", true);
	if (attach) /* tmp/'s leftovers in its idle time, as run's */
		cli->store_flags |= CB_STORE_DEFER_TMP;
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		int r = cli_container_start(cli, s, argv[i], attach);
		if (r < 0)
			return 0; /* in a supervisor that has finished */
		if (r != 0)
			ret = r;
	}
	return ret;
}
