#include "check.h"
#include "container.h"
#include "digest.h"
#include "fsutil.h"
#include "images.h"
#include "macro.h"
#include "store.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cb_check_report_release(struct cb_check_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].what);
	free(r->v);
	*r = (struct cb_check_report){0};
}

_printf_(4, 5) static int issue(struct cb_check_report *r, bool fixable, bool repaired,
				const char *fmt, ...)
{
	struct cb_check_issue *v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->v = v;
	va_list ap;
	va_start(ap, fmt);
	int k = vasprintf(&v[r->n].what, fmt, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	v[r->n].fixable = fixable;
	v[r->n].repaired = repaired;
	r->n++;
	return 0;
}

/* "missing" or "damaged" (no diff/ or no layer.json), or NULL when fine. */
static const char *layer_state(struct cb_store *s, const char *chain_id)
{
	char rel[160];
	struct stat st;
	snprintf(rel, sizeof(rel), "layers/%s", cb_digest_hex(chain_id));
	if (fstatat(cb_store_root_fd(s), rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return "missing from the store";
	snprintf(rel, sizeof(rel), "layers/%s/diff", cb_digest_hex(chain_id));
	if (fstatat(cb_store_root_fd(s), rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return "damaged (no diff/ directory)";
	snprintf(rel, sizeof(rel), "layers/%s/layer.json", cb_digest_hex(chain_id));
	if (fstatat(cb_store_root_fd(s), rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return "damaged (no layer.json)";
	return NULL;
}

static int check_container(struct cb_store *s, const char *id, bool repair,
			   struct cb_check_report *rep)
{
	struct cb_error e = {0};
	struct cb_container *c = NULL;
	int r = cb_container_get(s, id, &c, &e);
	if (r < 0)
		return issue(rep, false, false, "%s (remove it with `cowbox rm %.12s`)", e.msg, id);
	char rel[160];
	struct stat st;
	int root = cb_store_root_fd(s);
	bool mounted = cb_container_is_mounted(s, id);
	snprintf(rel, sizeof(rel), "containers/%s/upper", id);
	if (fstatat(root, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		bool fixed = repair && !mounted && mkdirat(root, rel, 0755) == 0;
		r = issue(rep, !mounted, fixed,
			  "container %.12s: upper dir missing (removed by hand?)%s", id,
			  fixed ? ": made an empty one; its changes are lost" : "");
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < c->n_layers; i++) {
		const char *bad = layer_state(s, c->layers[i]);
		if (bad && (r = issue(rep, false, false,
				      "container %.12s: layer %s (%zu of %zu) is %s; re-import "
				      "image %.19s",
				      id, c->layers[i], i + 1, c->n_layers, bad, c->image)) < 0)
			goto out;
	}
	snprintf(rel, sizeof(rel), "containers/%s/work/work/incompat/volatile", id);
	if (!mounted && fstatat(root, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (r = issue(rep, false, false,
		       "container %.12s: volatile rootfs not cleanly unmounted (a crash?); "
		       "its changes may be incomplete: remove it",
		       id)) < 0)
		goto out;
	snprintf(rel, sizeof(rel), "containers/%s/merged", id);
	if (!mounted && fstatat(root, rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* An empty mount point left by a killed unmount. */
		bool fixed = repair && unlinkat(root, rel, AT_REMOVEDIR) == 0;
		if (!repair || fixed)
			r = issue(rep, true, fixed, "container %.12s: stale mount point merged/", id);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	cb_container_free(c);
	return r;
}

/* Names whose container is gone: left by a create killed between giving
 * the name and putting its container in place (both under the store lock,
 * taken here too, so a create at work is never taken for one). Such a name
 * is free already (cb_container_lookup_name): a leftover like tmp/'s, not
 * a problem, counted when --repair removes it. */
static int check_names(struct cb_store *s, bool repair, struct cb_check_report *rep)
{
	if (!repair)
		return 0;
	int fd = openat(cb_store_root_fd(s), "containers/.names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int r = cb_store_lock(s);
	if (r < 0)
		return r;
	unsigned removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char target[128], rel[160];
		ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		snprintf(rel, sizeof(rel), "containers/%s", target);
		if (strchr(target, '/') == NULL &&
		    faccessat(cb_store_root_fd(s), rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	cb_store_unlock(s);
	if (removed)
		return issue(rep, true, true,
			     "containers/.names: removed %u names of containers never made "
			     "(creates killed half-way)",
			     removed);
	return 0;
}

int cb_store_check(struct cb_store *s, bool repair, struct cb_check_report *ret,
		   struct cb_error *err)
{
	struct cb_check_report rep = {0};
	struct cb_image **imgs = NULL;
	size_t n_imgs = 0;
	int r = cb_images_list(s, &imgs, &n_imgs, err);
	if (r < 0)
		return r;
	rep.images = n_imgs;
	for (size_t i = 0; i < n_imgs && r >= 0; i++)
		for (size_t k = 0; k < imgs[i]->n_layers && r >= 0; k++) {
			const char *bad = layer_state(s, imgs[i]->layers[k].chain_id);
			const char *name = imgs[i]->names && imgs[i]->names[0] ? imgs[i]->names[0]
									      : imgs[i]->id;
			if (bad)
				r = issue(&rep, false, false,
					  "image %s: layer %s (%zu of %zu) is %s; re-import it", name,
					  imgs[i]->layers[k].chain_id, k + 1, imgs[i]->n_layers, bad);
		}
	cb_images_list_free(imgs, n_imgs);
	_cleanup_strv_ char **ids = NULL;
	if (r >= 0)
		r = cb_container_list(s, &ids, &rep.containers);
	for (char **id = ids; r >= 0 && id && *id; id++)
		r = check_container(s, *id, repair, &rep);
	if (r >= 0)
		r = check_names(s, repair, &rep);
	if (r >= 0 && repair) {
		unsigned removed = 0;
		if (cb_store_hold_exclusive(s) >= 0) {
			cb_store_clean_tmp(s, &removed);
			cb_store_release(s);
		}
		if (removed)
			r = issue(&rep, true, true, "tmp/: removed %u leftovers of killed commands",
				  removed);
	}
	if (r < 0) {
		cb_check_report_release(&rep);
		return cb_error_ensure(err, r, "check");
	}
	*ret = rep;
	return 0;
}
