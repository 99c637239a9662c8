/* `cowbox check [--repair]`: find damage in the store and say what it
 * means; with repair, fix only what is safe: make an empty upper or work
 * dir again, drop a stale mount point, a dangling name, leftovers in tmp/.
 * It never deletes anything a user could want (a damaged container or
 * layer is reported, for the user to `rm` or re-import). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

struct cb_store;

struct cb_check_issue {
	char *what;    /* "container 1a2b3c4d5e6f: layer sha256:...: missing from the store" */
	bool repaired; /* --repair fixed it */
	bool fixable;  /* --repair would fix it */
};

struct cb_check_report {
	size_t n;
	struct cb_check_issue *v;
	size_t containers, images, layers;
};
void cb_check_report_release(struct cb_check_report *r);

int cb_store_check(struct cb_store *s, bool repair, struct cb_check_report *ret,
		   struct cb_error *err);
