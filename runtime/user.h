/* USER[:GROUP] resolved the way docker does, against the container's own
 * /etc/passwd and /etc/group (never the host's NSS). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define CB_USER_MAX_GROUPS 64

struct cb_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[CB_USER_MAX_GROUPS]; /* supplementary, from /etc/group */
	size_t n_groups;
	char home[256]; /* "/" when the user has no passwd entry */
};

/* Resolve spec ("name", "uid", "name:group", "uid:gid", NULL for root)
 * against passwd and group, the contents of those files (either may be
 * NULL when missing). A number without an entry is taken as is (gid 0
 * unless given); a name without one is an error. Pure: no I/O. */
int cb_user_resolve(const char *spec, const char *passwd, const char *group,
		    struct cb_user *ret_user, struct cb_error *err);
/* The name passwd (the contents of /etc/passwd; may be NULL) gives uid,
 * into buf; false (buf untouched) when it has no entry. Pure. */
bool cb_user_name(const char *passwd, uid_t uid, char *buf, size_t size);
/* --group-add: add the n groups (names looked up in group, the contents
 * of /etc/group, or numbers) to u's supplementary groups, each once. A
 * name without an entry is an error. Pure. */
int cb_user_add_groups(struct cb_user *u, const char *const *groups, size_t n, const char *group,
		       struct cb_error *err);
