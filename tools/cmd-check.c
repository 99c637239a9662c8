/* cowbox check [--repair]: report damage; repair what is safe
 * (storage/check.h). Exit 0 when the store is sound (or was repaired),
 * 1 when damage remains. */
#include "check.h"
#include "cli.h"

#include <getopt.h>
#include <stdio.h>

int cmd_check(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"repair", no_argument, NULL, 'r'}, {0}};
	bool repair = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return cli_usage("check", true);
		repair = true;
	}
	if (optind != argc)
		return cli_usage("check", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	struct cb_check_report rep = {0};
	int r = cb_store_check(s, repair, &rep, &err);
	if (r < 0)
		return cli_fail(&err, r, "check");
	size_t left = 0;
	for (size_t i = 0; i < rep.n; i++) {
		const struct cb_check_issue *is = &rep.v[i];
		printf("%s %s%s\n", is->repaired ? "repaired:" : "problem:", is->what,
		       !is->repaired && is->fixable ? " (--repair fixes it)" : "");
		left += !is->repaired;
	}
	printf("checked %zu images, %zu containers: %zu problem%s%s\n", rep.images,
	       rep.containers, left, left == 1 ? "" : "s", left ? " left" : "");
	cb_check_report_release(&rep);
	return left ? 1 : 0;
}
