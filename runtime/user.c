#include "user.h"
#include "macro.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_id(const char *s, size_t len, unsigned long *ret)
{
	if (len == 0 || len > 10)
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 0xfffffffeUL)
		return false;
	*ret = v;
	return true;
}

/* Split one colon-separated line into at most max fields (in place of a
 * copy: fields point into line, which the caller owns). */
static size_t split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (n < max) {
		fields[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

/* Call fn for each line of a passwd-format text; stops when fn returns
 * true. The line handed over is a writable copy. */
static bool each_line(const char *text, size_t nfields, bool (*fn)(char **f, size_t n, void *ud),
		      void *ud)
{
	if (!text)
		return false;
	char line[1024];
	const char *p = text;
	while (*p) {
		size_t len = strcspn(p, "\n");
		if (len < sizeof(line) && len > 0 && *p != '#') {
			memcpy(line, p, len);
			line[len] = '\0';
			char *f[8];
			size_t n = split_fields(line, f, nfields);
			if (fn(f, n, ud))
				return true;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return false;
}

struct pw_query {
	const char *name; /* match by name, else by uid */
	size_t name_len;
	unsigned long uid;
	struct cb_user *u;
	char found_name[256];
};

static bool pw_match(char **f, size_t n, void *ud)
{
	struct pw_query *q = ud;
	unsigned long uid, gid;
	if (n < 4 || !parse_id(f[2], strlen(f[2]), &uid) || !parse_id(f[3], strlen(f[3]), &gid))
		return false;
	if (q->name ? (strlen(f[0]) != q->name_len || strncmp(f[0], q->name, q->name_len) != 0)
		    : uid != q->uid)
		return false;
	q->u->uid = (uid_t)uid;
	q->u->gid = (gid_t)gid;
	snprintf(q->u->home, sizeof(q->u->home), "%s", n >= 6 && f[5][0] ? f[5] : "/");
	snprintf(q->found_name, sizeof(q->found_name), "%s", f[0]);
	return true;
}

struct gr_query {
	const char *name;
	size_t name_len;
	unsigned long gid;
	const char *member; /* collect groups listing this user */
	struct cb_user *u;
};

static bool gr_match(char **f, size_t n, void *ud)
{
	struct gr_query *q = ud;
	unsigned long gid;
	if (n < 3 || !parse_id(f[2], strlen(f[2]), &gid))
		return false;
	if (q->member) {
		if (n < 4)
			return false;
		size_t mlen = strlen(q->member);
		for (char *m = f[3]; *m;) {
			size_t len = strcspn(m, ",");
			if (len == mlen && strncmp(m, q->member, len) == 0) {
				if (q->u->n_groups < CB_USER_MAX_GROUPS)
					q->u->groups[q->u->n_groups++] = (gid_t)gid;
				break;
			}
			m += len;
			if (*m)
				m++;
		}
		return false;
	}
	if (strlen(f[0]) != q->name_len || strncmp(f[0], q->name, q->name_len) != 0)
		return false;
	q->gid = gid;
	return true;
}

int cb_user_resolve(const char *spec, const char *passwd, const char *group,
		    struct cb_user *ret_user, struct cb_error *err)
{
	struct cb_user u = {.home = "/"};
	if (!spec || !*spec)
		spec = "0";
	size_t ulen = strcspn(spec, ":");
	const char *gspec = spec[ulen] == ':' ? spec + ulen + 1 : NULL;
	if (ulen == 0)
		return cb_error_set(err, EINVAL, "user %s: no user", spec);
	unsigned long id;
	struct pw_query pq = {.u = &u};
	if (parse_id(spec, ulen, &id)) {
		pq.uid = id;
		if (!each_line(passwd, 7, pw_match, &pq)) {
			u.uid = (uid_t)id;
			u.gid = 0;
		}
	} else {
		pq.name = spec;
		pq.name_len = ulen;
		if (!each_line(passwd, 7, pw_match, &pq))
			return cb_error_set(err, ENOENT, "user %.*s: not found in /etc/passwd",
					    (int)ulen, spec);
	}
	if (gspec) {
		if (parse_id(gspec, strlen(gspec), &id))
			u.gid = (gid_t)id;
		else {
			struct gr_query gq = {.name = gspec, .name_len = strlen(gspec), .u = &u};
			if (!*gspec || !each_line(group, 4, gr_match, &gq))
				return cb_error_set(err, ENOENT,
						    "group %s: not found in /etc/group", gspec);
			u.gid = (gid_t)gq.gid;
		}
	}
	if (pq.found_name[0]) {
		struct gr_query gq = {.member = pq.found_name, .u = &u};
		each_line(group, 4, gr_match, &gq);
	}
	*ret_user = u;
	return 0;
}

int cb_user_add_groups(struct cb_user *u, const char *const *groups, size_t n, const char *group,
		       struct cb_error *err)
{
	for (size_t i = 0; i < n; i++) {
		unsigned long id;
		if (!parse_id(groups[i], strlen(groups[i]), &id)) {
			struct gr_query gq = {
			    .name = groups[i], .name_len = strlen(groups[i]), .u = u};
			if (!groups[i][0] || !each_line(group, 4, gr_match, &gq))
				return cb_error_set(err, ENOENT,
						    "group %s: not found in /etc/group", groups[i]);
			id = gq.gid;
		}
		bool have = false;
		for (size_t k = 0; k < u->n_groups && !have; k++)
			have = u->groups[k] == (gid_t)id;
		if (have)
			continue;
		if (u->n_groups == CB_USER_MAX_GROUPS)
			return cb_error_set(err, E2BIG, "more than %d supplementary groups",
					    CB_USER_MAX_GROUPS);
		u->groups[u->n_groups++] = (gid_t)id;
	}
	return 0;
}

bool cb_user_name(const char *passwd, uid_t uid, char *buf, size_t size)
{
	struct cb_user u;
	struct pw_query pq = {.uid = uid, .u = &u};
	if (!each_line(passwd, 7, pw_match, &pq))
		return false;
	snprintf(buf, size, "%s", pq.found_name);
	return true;
}
