/* The overlay model behind cowbox-fuse: see fs.h. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "macro.h"

#define FUSE_ROOT_ID 1

static const char *log_path;
static int log_fd = -1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void cbf_log_to(const char *path)
{
	log_path = path;
}

void cbf_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	int fd = STDERR_FILENO;
	if (log_path) {
		pthread_mutex_lock(&log_lock);
		if (log_fd < 0)
			log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		fd = log_fd;
		pthread_mutex_unlock(&log_lock);
		if (fd < 0)
			return;
	}
	/* one write so lines from several threads do not interleave */
	dprintf(fd, "cowbox-fuse: %.*s", n, line);
}

int cbf_layer_fault(struct cbf_fs *fs, int layer, const char *path, int err)
{
	struct cbf_layer *l = &fs->layers[layer];
	if (!__atomic_test_and_set(&l->logged, __ATOMIC_RELAXED))
		cbf_log("%s layer %s: %s: %s; its files give EIO", layer == 0 ? "upper" : "lower",
			l->path, path,
			err == ENOENT ? "missing (layer changed or damaged)" : strerror(err));
	return -EIO;
}

/* An errno from a layer that is neither "absent" nor a plain user error. */
static bool is_fault(int e)
{
	return !(e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG);
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static unsigned dev_id(struct cbf_fs *fs, dev_t dev)
{
	for (unsigned i = 0; i < fs->n_devs; i++)
		if (fs->devs[i] == dev)
			return i;
	if (fs->n_devs < ELEMENTSOF(fs->devs)) {
		fs->devs[fs->n_devs] = dev;
		return fs->n_devs++;
	}
	return ELEMENTSOF(fs->devs) - 1;
}

/* Layers on one filesystem (the usual store) keep their st_ino as is;
 * others get their small device index in the top bits. */
static uint64_t mix_ino(struct cbf_fs *fs, int layer, ino_t ino)
{
	return (uint64_t)ino ^ ((uint64_t)fs->layers[layer].dev_id << 56);
}

/* --- inode numbers kept across copy-up ------------------------------- */

/* nodes_lock held */
static void ino_map_put(struct cbf_fs *fs, uint64_t key, uint64_t value)
{
	if (key == 0 || key == value)
		return;
	if ((fs->ino_map_count + 1) * 2 > fs->ino_map_size) {
		size_t size = fs->ino_map_size ? fs->ino_map_size * 2 : 1024;
		uint64_t *m = calloc(size * 2, sizeof(*m));
		if (!m)
			return; /* the file gets its upper number: still correct */
		for (size_t i = 0; i < fs->ino_map_size; i++) {
			uint64_t k = fs->ino_map[2 * i];
			if (!k)
				continue;
			size_t b = (k * 0x9E3779B97F4A7C15ull >> 20) & (size - 1);
			while (m[2 * b])
				b = (b + 1) & (size - 1);
			m[2 * b] = k;
			m[2 * b + 1] = fs->ino_map[2 * i + 1];
		}
		free(fs->ino_map);
		fs->ino_map = m;
		fs->ino_map_size = size;
	}
	size_t b = (key * 0x9E3779B97F4A7C15ull >> 20) & (fs->ino_map_size - 1);
	while (fs->ino_map[2 * b] && fs->ino_map[2 * b] != key)
		b = (b + 1) & (fs->ino_map_size - 1);
	if (!fs->ino_map[2 * b])
		fs->ino_map_count++;
	fs->ino_map[2 * b] = key;
	fs->ino_map[2 * b + 1] = value;
}

/* nodes_lock held */
static uint64_t ino_map_get(struct cbf_fs *fs, uint64_t key)
{
	if (!fs->ino_map_size)
		return key;
	size_t b = (key * 0x9E3779B97F4A7C15ull >> 20) & (fs->ino_map_size - 1);
	for (; fs->ino_map[2 * b]; b = (b + 1) & (fs->ino_map_size - 1))
		if (fs->ino_map[2 * b] == key)
			return fs->ino_map[2 * b + 1];
	return key;
}

/* The number the kernel sees for an object of layer `layer`. */
static uint64_t node_ino(struct cbf_fs *fs, int layer, const struct stat *st)
{
	uint64_t ino = mix_ino(fs, layer, st->st_ino);
	if (layer == 0 && !S_ISDIR(st->st_mode) && fs->ino_map_count) {
		pthread_mutex_lock(&fs->nodes_lock);
		ino = ino_map_get(fs, ino);
		pthread_mutex_unlock(&fs->nodes_lock);
	}
	return ino;
}

/* --- node table ------------------------------------------------------ */

static size_t hash_of(const struct cbf_node *parent, const char *name)
{
	uint64_t h = (uintptr_t)parent * 0x9E3779B97F4A7C15ull;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001B3ull;
	return (size_t)(h ^ (h >> 29));
}

/* nodes_lock held */
static struct cbf_node *hash_find(struct cbf_fs *fs, const struct cbf_node *parent,
				  const char *name)
{
	for (struct cbf_node *n = fs->hash[hash_of(parent, name) & (fs->hash_size - 1)]; n;
	     n = n->hash_next)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static void hash_grow(struct cbf_fs *fs)
{
	size_t size = fs->hash_size * 4;
	struct cbf_node **h = calloc(size, sizeof(*h));
	if (!h)
		return; /* keep the long chains */
	for (size_t i = 0; i < fs->hash_size; i++)
		for (struct cbf_node *n = fs->hash[i], *next; n; n = next) {
			next = n->hash_next;
			size_t b = hash_of(n->parent, n->name) & (size - 1);
			n->hash_next = h[b];
			h[b] = n;
		}
	free(fs->hash);
	fs->hash = h;
	fs->hash_size = size;
}

/* nodes_lock held */
static void hash_insert(struct cbf_fs *fs, struct cbf_node *n)
{
	if (fs->hash_count + 1 > fs->hash_size * 2)
		hash_grow(fs);
	size_t b = hash_of(n->parent, n->name) & (fs->hash_size - 1);
	n->hash_next = fs->hash[b];
	fs->hash[b] = n;
	fs->hash_count++;
}

/* nodes_lock held; a node not in the table is ignored */
static void hash_remove(struct cbf_fs *fs, struct cbf_node *n)
{
	if (!n->parent)
		return;
	struct cbf_node **p = &fs->hash[hash_of(n->parent, n->name) & (fs->hash_size - 1)];
	for (; *p; p = &(*p)->hash_next)
		if (*p == n) {
			*p = n->hash_next;
			n->hash_next = NULL;
			fs->hash_count--;
			return;
		}
}

/* --- hard links of the upper dir ------------------------------------- */

static size_t links_slot(struct cbf_fs *fs, ino_t ino)
{
	return ((uint64_t)ino * 0x9E3779B97F4A7C15ull >> 17) & (fs->links_size - 1);
}

/* nodes_lock held; open addressing with tombstone-free deletion by
 * re-inserting the rest of the cluster */
static struct cbf_node *links_find(struct cbf_fs *fs, ino_t ino)
{
	if (!fs->links_size)
		return NULL;
	for (size_t b = links_slot(fs, ino); fs->links[b]; b = (b + 1) & (fs->links_size - 1))
		if (fs->links[b]->upper_ino == ino)
			return fs->links[b];
	return NULL;
}

static void links_put_raw(struct cbf_fs *fs, struct cbf_node *n)
{
	size_t b = links_slot(fs, n->upper_ino);
	while (fs->links[b])
		b = (b + 1) & (fs->links_size - 1);
	fs->links[b] = n;
}

/* nodes_lock held */
static void links_add(struct cbf_fs *fs, struct cbf_node *n, ino_t ino)
{
	if (n->in_ino_table)
		return;
	if ((fs->links_count + 1) * 2 > fs->links_size) {
		size_t size = fs->links_size ? fs->links_size * 2 : 256;
		struct cbf_node **old = fs->links;
		size_t old_size = fs->links_size;
		struct cbf_node **t = calloc(size, sizeof(*t));
		if (!t)
			return; /* the names stay separate nodes: attrs may lag */
		fs->links = t;
		fs->links_size = size;
		for (size_t i = 0; i < old_size; i++)
			if (old[i])
				links_put_raw(fs, old[i]);
		free(old);
	}
	n->upper_ino = ino;
	n->in_ino_table = true;
	links_put_raw(fs, n);
	fs->links_count++;
}

/* nodes_lock held */
static void links_remove(struct cbf_fs *fs, struct cbf_node *n)
{
	if (!n->in_ino_table)
		return;
	size_t b = links_slot(fs, n->upper_ino);
	while (fs->links[b] && fs->links[b] != n)
		b = (b + 1) & (fs->links_size - 1);
	if (!fs->links[b])
		return;
	fs->links[b] = NULL;
	n->in_ino_table = false;
	fs->links_count--;
	for (b = (b + 1) & (fs->links_size - 1); fs->links[b]; b = (b + 1) & (fs->links_size - 1)) {
		struct cbf_node *m = fs->links[b];
		fs->links[b] = NULL;
		links_put_raw(fs, m);
	}
}

static void node_unref_locked(struct cbf_fs *fs, struct cbf_node *n);

/* nodes_lock held: is parent/name a name of n? */
static ssize_t alias_index(struct cbf_node *n, const struct cbf_node *parent, const char *name)
{
	for (size_t i = 0; i < n->n_aliases; i++)
		if (n->aliases[i].parent == parent && strcmp(n->aliases[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* nodes_lock held */
static void alias_add(struct cbf_node *n, struct cbf_node *parent, const char *name)
{
	if ((n->parent == parent && strcmp(n->name, name) == 0) ||
	    alias_index(n, parent, name) >= 0)
		return;
	struct cbf_alias *a = realloc(n->aliases, (n->n_aliases + 1) * sizeof(*a));
	if (!a)
		return;
	n->aliases = a;
	if (!(a[n->n_aliases].name = strdup(name)))
		return;
	a[n->n_aliases].parent = parent;
	parent->refs++;
	n->n_aliases++;
}

/* nodes_lock held: forget alias i */
static void alias_drop(struct cbf_fs *fs, struct cbf_node *n, size_t i)
{
	struct cbf_node *parent = n->aliases[i].parent;
	free(n->aliases[i].name);
	n->aliases[i] = n->aliases[--n->n_aliases];
	node_unref_locked(fs, parent);
}

/* nodes_lock held. Drops one reference; frees the node and walks up to
 * the parents it kept alive. */
static void node_unref_locked(struct cbf_fs *fs, struct cbf_node *n)
{
	while (n && --n->refs == 0) {
		struct cbf_node *parent = n->parent;
		hash_remove(fs, n);
		links_remove(fs, n);
		while (n->n_aliases)
			alias_drop(fs, n, n->n_aliases - 1);
		free(n->aliases);
		free(n->name);
		free(n);
		n = parent;
	}
}

void cbf_forget(struct cbf_fs *fs, struct cbf_node *node, uint64_t count)
{
	if (node == fs->root)
		return;
	pthread_mutex_lock(&fs->nodes_lock);
	node->nlookup -= count;
	while (count--)
		node_unref_locked(fs, node);
	pthread_mutex_unlock(&fs->nodes_lock);
}

static void node_detach(struct cbf_fs *fs, struct cbf_node *n);

/* parent/name of n is gone from the merged view. An alias goes; the
 * main name is replaced by an alias if there is one; else the node stays
 * alive for the kernel's references and open files, with no path any
 * more. Exclusive. */
static void node_drop_name(struct cbf_fs *fs, struct cbf_node *n, struct cbf_node *parent_of_name,
			   const char *name)
{
	pthread_mutex_lock(&fs->nodes_lock);
	ssize_t i = alias_index(n, parent_of_name, name);
	if (i >= 0) {
		alias_drop(fs, n, (size_t)i);
		pthread_mutex_unlock(&fs->nodes_lock);
		return;
	}
	if (n->n_aliases > 0) {
		/* promote the last alias: its parent reference moves over */
		struct cbf_alias a = n->aliases[--n->n_aliases];
		hash_remove(fs, n);
		struct cbf_node *old_parent = n->parent;
		free(n->name);
		n->name = a.name;
		n->parent = a.parent;
		hash_insert(fs, n);
		node_unref_locked(fs, old_parent);
		pthread_mutex_unlock(&fs->nodes_lock);
		return;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	node_detach(fs, n);
}

/* Take the node out of the merged view: it stays alive for the kernel's
 * references and open files, but has no path any more. Exclusive. */
static void node_detach(struct cbf_fs *fs, struct cbf_node *n)
{
	pthread_mutex_lock(&fs->nodes_lock);
	hash_remove(fs, n);
	links_remove(fs, n);
	while (n->n_aliases)
		alias_drop(fs, n, n->n_aliases - 1);
	struct cbf_node *parent = n->parent;
	n->parent = NULL;
	n->removed = true;
	if (parent)
		node_unref_locked(fs, parent);
	pthread_mutex_unlock(&fs->nodes_lock);
}

/* --- paths ----------------------------------------------------------- */

int cbf_node_path(struct cbf_fs *fs, struct cbf_node *n, char *buf, size_t size)
{
	if (n == fs->root) {
		if (size < 2)
			return -ENAMETOOLONG;
		strcpy(buf, ".");
		return 0;
	}
	if (n->removed)
		return -ENOENT;
	size_t len = 0;
	for (struct cbf_node *p = n; p != fs->root; p = p->parent) {
		if (!p->parent)
			return -ENOENT;
		len += strlen(p->name) + 1;
	}
	if (len > size)
		return -ENAMETOOLONG;
	size_t pos = len - 1;
	buf[pos] = '\0';
	for (struct cbf_node *p = n; p != fs->root; p = p->parent) {
		size_t l = strlen(p->name);
		pos -= l;
		memcpy(buf + pos, p->name, l);
		if (pos > 0)
			buf[--pos] = '/';
	}
	return 0;
}

int cbf_child_path(struct cbf_fs *fs, struct cbf_node *parent, const char *name, char *buf,
		   size_t size)
{
	if (parent == fs->root) {
		if (strlen(name) + 1 > size)
			return -ENAMETOOLONG;
		strcpy(buf, name);
		return 0;
	}
	int r = cbf_node_path(fs, parent, buf, size);
	if (r < 0)
		return r;
	size_t l = strlen(buf);
	if (l + 1 + strlen(name) + 1 > size)
		return -ENAMETOOLONG;
	buf[l] = '/';
	strcpy(buf + l + 1, name);
	return 0;
}

static int layer_abs(struct cbf_fs *fs, int layer, const char *rel, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", fs->layers[layer].path, rel);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int cbf_abs_path(struct cbf_fs *fs, struct cbf_node *node, char *buf, size_t size)
{
	char rel[PATH_MAX];
	int r = cbf_node_path(fs, node, rel, sizeof(rel));
	if (r < 0)
		return r;
	return layer_abs(fs, node->layer, rel, buf, size);
}

static bool is_opaque(struct cbf_fs *fs, int layer, const char *rel)
{
	char abs[PATH_MAX + 256], v[4];
	if (layer_abs(fs, layer, rel, abs, sizeof(abs)) < 0)
		return false;
	ssize_t n = lgetxattr(abs, CBF_OPAQUE_XATTR, v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

/* --- lookup ---------------------------------------------------------- */

void cbf_fix_stat(struct cbf_fs *fs, struct cbf_node *node, struct stat *st)
{
	st->st_ino = node->ino;
	/* a merged dir's link count cannot be known cheaply; overlayfs says 1 */
	if (S_ISDIR(st->st_mode) && node->lowest != node->layer)
		st->st_nlink = 1;
}

int cbf_getattr(struct cbf_fs *fs, struct cbf_node *node, struct stat *st)
{
	char path[PATH_MAX];
	int r = cbf_node_path(fs, node, path, sizeof(path));
	if (r < 0)
		return r;
	if (fstatat(fs->layers[node->layer].fd, path, st, AT_SYMLINK_NOFOLLOW) < 0)
		/* the tree says it is there: a layer lost it */
		return errno == ENAMETOOLONG ? -errno
					     : cbf_layer_fault(fs, node->layer, path, errno);
	cbf_fix_stat(fs, node, st);
	return 0;
}

int cbf_lookup(struct cbf_fs *fs, struct cbf_node *parent, const char *name,
	       struct cbf_node **ret_node, struct stat *st)
{
	return cbf_lookup_ex(fs, parent, name, ret_node, st, NULL);
}

int cbf_lookup_ex(struct cbf_fs *fs, struct cbf_node *parent, const char *name,
		  struct cbf_node **ret_node, struct stat *st, bool *ret_upper_whiteout)
{
	if (ret_upper_whiteout)
		*ret_upper_whiteout = false;
	if (!S_ISDIR(parent->type))
		return -ENOTDIR;
	if (parent->removed)
		return -ENOENT;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;

	pthread_mutex_lock(&fs->nodes_lock);
	struct cbf_node *n = hash_find(fs, parent, name);
	if (n) {
		n->refs++;
		n->nlookup++;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	if (n) {
		int r = cbf_getattr(fs, n, st);
		if (r < 0) {
			pthread_mutex_lock(&fs->nodes_lock);
			n->nlookup--;
			node_unref_locked(fs, n);
			pthread_mutex_unlock(&fs->nodes_lock);
			return r;
		}
		if (n->layer == 0 && !S_ISDIR(st->st_mode) && st->st_nlink > 1 &&
		    !n->in_ino_table) {
			pthread_mutex_lock(&fs->nodes_lock);
			links_add(fs, n, st->st_ino);
			pthread_mutex_unlock(&fs->nodes_lock);
		}
		*ret_node = n;
		return 0;
	}

	char path[PATH_MAX];
	int r = cbf_child_path(fs, parent, name, path, sizeof(path));
	if (r < 0)
		return r;
	int found = -1, lowest = -1;
	for (int l = parent->layer; l <= parent->lowest; l++) {
		struct stat s;
		if (fstatat(fs->layers[l].fd, path, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			if (is_fault(errno))
				return cbf_layer_fault(fs, l, path, errno);
			continue;
		}
		/* (opaque or not, the last layer has nothing below to hide) */
		if (found < 0) {
			if (is_whiteout(&s)) {
				if (ret_upper_whiteout && l == 0)
					*ret_upper_whiteout = true;
				return -ENOENT;
			}
			found = lowest = l;
			*st = s;
			if (!S_ISDIR(s.st_mode) || (l < parent->lowest && is_opaque(fs, l, path)))
				break;
		} else {
			if (!S_ISDIR(s.st_mode)) /* whiteout or a non-dir ends the merge */
				break;
			lowest = l;
			if (l < parent->lowest && is_opaque(fs, l, path))
				break;
		}
	}
	if (found < 0)
		return -ENOENT;

	bool linked = found == 0 && !S_ISDIR(st->st_mode) && st->st_nlink > 1;
	if (linked) { /* another name of a hard-linked upper file we know */
		ino_t ino = st->st_ino;
		pthread_mutex_lock(&fs->nodes_lock);
		n = links_find(fs, ino);
		if (n && !n->removed) {
			n->refs++;
			n->nlookup++;
			alias_add(n, parent, name);
		} else {
			n = NULL;
		}
		pthread_mutex_unlock(&fs->nodes_lock);
		if (n) {
			cbf_fix_stat(fs, n, st);
			*ret_node = n;
			return 0;
		}
	}

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return -ENOMEM;
	}
	n->parent = parent;
	n->layer = found;
	n->lowest = lowest;
	n->type = st->st_mode & S_IFMT;
	n->ino = node_ino(fs, found, st);
	n->size_hint = (uint64_t)st->st_size;
	n->refs = n->nlookup = 1;

	pthread_mutex_lock(&fs->nodes_lock);
	struct cbf_node *other = hash_find(fs, parent, name);
	if (other) { /* another thread won the race: use its node */
		other->refs++;
		other->nlookup++;
	} else {
		parent->refs++;
		hash_insert(fs, n);
		if (linked)
			links_add(fs, n, st->st_ino);
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	if (other) {
		free(n->name);
		free(n);
		n = other;
	}
	cbf_fix_stat(fs, n, st);
	*ret_node = n;
	return 0;
}

enum cbf_below cbf_probe_lower(struct cbf_fs *fs, struct cbf_node *parent, const char *name)
{
	char path[PATH_MAX];
	if (cbf_child_path(fs, parent, name, path, sizeof(path)) < 0)
		return CBF_BELOW_NONE;
	for (int l = MAX(parent->layer, 1); l <= parent->lowest; l++) {
		struct stat s;
		if (fstatat(fs->layers[l].fd, path, &s, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		return is_whiteout(&s) ? CBF_BELOW_WHITEOUT : CBF_BELOW_ENTRY;
	}
	return CBF_BELOW_NONE;
}

bool cbf_upper_is_whiteout(struct cbf_fs *fs, struct cbf_node *parent, const char *name)
{
	char path[PATH_MAX];
	struct stat s;
	if (parent->layer != 0 || cbf_child_path(fs, parent, name, path, sizeof(path)) < 0)
		return false;
	return fstatat(fs->layers[0].fd, path, &s, AT_SYMLINK_NOFOLLOW) == 0 && is_whiteout(&s);
}

int cbf_new_upper_node(struct cbf_fs *fs, struct cbf_node *parent, const char *name,
		       struct cbf_node *link_src, struct cbf_node **ret_node, struct stat *st)
{
	char path[PATH_MAX];
	int r = cbf_child_path(fs, parent, name, path, sizeof(path));
	if (r < 0)
		return r;
	if (fstatat(fs->layers[0].fd, path, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (link_src) { /* a new name of link_src's file: the same node */
		pthread_mutex_lock(&fs->nodes_lock);
		links_add(fs, link_src, st->st_ino);
		link_src->refs++;
		link_src->nlookup++;
		alias_add(link_src, parent, name);
		pthread_mutex_unlock(&fs->nodes_lock);
		cbf_fix_stat(fs, link_src, st);
		*ret_node = link_src;
		return 0;
	}
	struct cbf_node *n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name))) {
		free(n);
		return -ENOMEM;
	}
	n->parent = parent;
	n->layer = n->lowest = 0;
	n->type = st->st_mode & S_IFMT;
	n->ino = node_ino(fs, 0, st);
	n->size_hint = (uint64_t)st->st_size;
	n->refs = n->nlookup = 1;
	pthread_mutex_lock(&fs->nodes_lock);
	struct cbf_node *stale = hash_find(fs, parent, name);
	if (stale) { /* cannot happen while the view is consistent; stay safe */
		hash_remove(fs, stale);
		stale->parent = NULL;
		stale->removed = true;
		node_unref_locked(fs, parent);
	}
	parent->refs++;
	hash_insert(fs, n);
	pthread_mutex_unlock(&fs->nodes_lock);
	cbf_fix_stat(fs, n, st);
	*ret_node = n;
	return 0;
}

/* --- copy-up --------------------------------------------------------- */

void cbf_tmp_name(struct cbf_fs *fs, char *buf, size_t size)
{
	uint64_t c = __atomic_add_fetch(&fs->tmp_counter, 1, __ATOMIC_RELAXED);
	snprintf(buf, size, "t%llu", (unsigned long long)c);
}

static int copy_range_plain(int src, int dst, off_t off, off_t len)
{
	static __thread char *buf;
	const size_t bufsize = 1 << 20;
	if (!buf && !(buf = malloc(bufsize)))
		return -ENOMEM;
	while (len > 0) {
		ssize_t n = pread(src, buf, MIN((off_t)bufsize, len), off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(dst, buf + done, n - done, off + done);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			done += w;
		}
		off += n;
		len -= n;
	}
	return 0;
}

static int copy_range(int src, int dst, off_t off, off_t len, bool *cfr_ok)
{
	while (len > 0 && *cfr_ok) {
		loff_t in = off, out = off;
		ssize_t n =
		    copy_file_range(src, &in, dst, &out, (size_t)MIN(len, (off_t)1 << 30), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			    errno == EOPNOTSUPP) {
				*cfr_ok = false;
				break;
			}
			return -errno;
		}
		if (n == 0)
			return 0;
		off += n;
		len -= n;
	}
	return len > 0 ? copy_range_plain(src, dst, off, len) : 0;
}

static bool no_clone; /* FICLONE failed once: the filesystem cannot */

/* Copy the data of a file of st, keeping holes: a sparse file stays
 * sparse (a dense one is copied in one go). */
static int copy_data(int src, int dst, const struct stat *st)
{
	off_t size = st->st_size;
	if (size == 0)
		return 0;
	if (!__atomic_load_n(&no_clone, __ATOMIC_RELAXED)) {
		if (ioctl(dst, FICLONE, src) == 0)
			return 0;
		if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == EINVAL)
			__atomic_store_n(&no_clone, true, __ATOMIC_RELAXED);
	}
	bool cfr_ok = true;
	if ((off_t)st->st_blocks * 512 >= size)
		return copy_range(src, dst, 0, size, &cfr_ok);
	off_t pos = 0;
	while (pos < size) {
		off_t data = lseek(src, pos, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break; /* only a hole is left */
			data = pos;    /* no SEEK_DATA here: copy it all */
		}
		off_t hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		int r = copy_range(src, dst, data, hole - data, &cfr_ok);
		if (r < 0)
			return r;
		pos = hole;
	}
	return RET_NERRNO(ftruncate(dst, size));
}

/* Copy every xattr but overlay's own between two open files. */
static int copy_xattrs_fd(int src, int dst)
{
	_cleanup_free_ char *list = malloc(65536);
	if (!list)
		return -ENOMEM;
	ssize_t n = flistxattr(src, list, 65536);
	if (n <= 0)
		return n < 0 && errno != ENOTSUP ? -errno : 0;
	_cleanup_free_ char *val = malloc(65536);
	if (!val)
		return -ENOMEM;
	for (char *name = list; name < list + n; name += strlen(name) + 1) {
		if (strncmp(name, CBF_PRIVATE_XATTR, strlen(CBF_PRIVATE_XATTR)) == 0 &&
		    strncmp(name, CBF_PRIVATE_XATTR "overlay.", strlen(CBF_PRIVATE_XATTR) + 8) != 0)
			continue;
		ssize_t vl = fgetxattr(src, name, val, 65536);
		if (vl < 0) {
			if (errno == ENODATA)
				continue;
			return -errno;
		}
		if (fsetxattr(dst, name, val, vl, 0) < 0 && errno != ENOTSUP)
			return -errno;
	}
	return 0;
}

/* Copy every xattr but overlay's own, path-based so it works for
 * symlinks and devices too. */
static int copy_xattrs(const char *src, const char *dst)
{
	_cleanup_free_ char *list = malloc(65536);
	if (!list)
		return -ENOMEM;
	ssize_t n = llistxattr(src, list, 65536);
	if (n < 0)
		return errno == ENOTSUP ? 0 : -errno;
	_cleanup_free_ char *val = malloc(65536);
	if (!val)
		return -ENOMEM;
	for (char *name = list; name < list + n; name += strlen(name) + 1) {
		/* overlay's own, but not the escaped trusted.overlay.overlay.* a
		 * user set through the mount */
		if (strncmp(name, CBF_PRIVATE_XATTR, strlen(CBF_PRIVATE_XATTR)) == 0 &&
		    strncmp(name, CBF_PRIVATE_XATTR "overlay.", strlen(CBF_PRIVATE_XATTR) + 8) != 0)
			continue;
		ssize_t vl = lgetxattr(src, name, val, 65536);
		if (vl < 0) {
			if (errno == ENODATA)
				continue;
			return -errno;
		}
		if (lsetxattr(dst, name, val, vl, 0) < 0 && errno != ENOTSUP)
			return -errno;
	}
	return 0;
}

/* Build the copy of one object of layer `layer` at path as work/tmp. */
static int copy_one(struct cbf_fs *fs, int layer, const char *path, const struct stat *st,
		    const char *tmp, bool with_data, ino_t *ret_ino)
{
	int lfd = fs->layers[layer].fd, r;
	char src_abs[PATH_MAX + 256], dst_abs[PATH_MAX + 256];
	if ((r = layer_abs(fs, layer, path, src_abs, sizeof(src_abs))) < 0)
		return r;
	snprintf(dst_abs, sizeof(dst_abs), "%s/%s", fs->work_path, tmp);

	switch (st->st_mode & S_IFMT) {
	case S_IFREG: {
		_cleanup_close_ int src = openat(lfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (src < 0)
			return cbf_layer_fault(fs, layer, path, errno);
		/* all by fd: the common copy-up is of many small files */
		_cleanup_close_ int dst = openat(
		    fs->work_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 0777);
		if (dst < 0)
			return -errno;
		if (with_data && (r = copy_data(src, dst, st)) < 0)
			return r;
		/* chown first: it clears set-id bits and file capabilities */
		if (fchown(dst, st->st_uid, st->st_gid) < 0 ||
		    ((st->st_mode & 07000) && fchmod(dst, st->st_mode & 07777) < 0))
			return -errno;
		if ((r = copy_xattrs_fd(src, dst)) < 0)
			return r;
		struct timespec ts[2] = {st->st_atim, st->st_mtim};
		if (futimens(dst, ts) < 0)
			return -errno;
		struct stat ds;
		if (fstat(dst, &ds) == 0)
			*ret_ino = ds.st_ino;
		return 0;
	}
	case S_IFDIR:
		if (mkdirat(fs->work_fd, tmp, 0700) < 0)
			return -errno;
		goto set_owner;
	case S_IFLNK: {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(lfd, path, target, sizeof(target) - 1);
		if (n < 0)
			return cbf_layer_fault(fs, layer, path, errno);
		target[n] = '\0';
		if (symlinkat(target, fs->work_fd, tmp) < 0)
			return -errno;
		if (fchownat(fs->work_fd, tmp, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		break;
	}
	default:
		if (mknodat(fs->work_fd, tmp, st->st_mode, st->st_rdev) < 0)
			return -errno;
	set_owner:
		/* chown first: it clears set-id bits and file capabilities */
		if (fchownat(fs->work_fd, tmp, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(fs->work_fd, tmp, st->st_mode & 07777, 0) < 0)
			return -errno;
		break;
	}
	if ((r = copy_xattrs(src_abs, dst_abs)) < 0)
		return r;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	return RET_NERRNO(utimensat(fs->work_fd, tmp, ts, AT_SYMLINK_NOFOLLOW));
}

static int remove_tmp(struct cbf_fs *fs, const char *tmp);

int cbf_copy_up(struct cbf_fs *fs, struct cbf_node *node, bool with_data)
{
	if (node->layer == 0)
		return 0;
	if (node->removed)
		return -ENOENT;
	int r = cbf_copy_up(fs, node->parent, true);
	if (r < 0)
		return r;
	char path[PATH_MAX], tmp[32];
	if ((r = cbf_node_path(fs, node, path, sizeof(path))) < 0)
		return r;
	struct stat st;
	if (fstatat(fs->layers[node->layer].fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cbf_layer_fault(fs, node->layer, path, errno);
	/* a copy-up is no change of the parent: keep its times (as overlayfs) */
	char ppath[PATH_MAX];
	struct stat pst;
	bool have_pst = cbf_node_path(fs, node->parent, ppath, sizeof(ppath)) >= 0 &&
			fstatat(fs->layers[0].fd, ppath, &pst, AT_SYMLINK_NOFOLLOW) == 0;
	cbf_tmp_name(fs, tmp, sizeof(tmp));
	ino_t upper_ino = 0;
	r = copy_one(fs, node->layer, path, &st, tmp, with_data, &upper_ino);
	if (r >= 0 && renameat2(fs->work_fd, tmp, fs->layers[0].fd, path, RENAME_NOREPLACE) < 0)
		r = -errno;
	if (r >= 0 && have_pst) {
		struct timespec ts[2] = {pst.st_atim, pst.st_mtim};
		utimensat(fs->layers[0].fd, ppath, ts, AT_SYMLINK_NOFOLLOW);
	}
	if (r < 0) {
		remove_tmp(fs, tmp);
		return r;
	}
	struct stat ust;
	if (!upper_ino && !S_ISDIR(st.st_mode) &&
	    fstatat(fs->layers[0].fd, path, &ust, AT_SYMLINK_NOFOLLOW) == 0)
		upper_ino = ust.st_ino;
	if (upper_ino) {
		pthread_mutex_lock(&fs->nodes_lock);
		ino_map_put(fs, mix_ino(fs, 0, upper_ino), node->ino);
		pthread_mutex_unlock(&fs->nodes_lock);
	}
	node->layer = 0;
	return 0;
}

/* --- removal and whiteouts ------------------------------------------ */

/* Remove a tree under fd/name that is ours to remove (a dir we moved to
 * the work dir: only whiteouts, or emptied). */
static int remove_tree_at(int fd, const char *name)
{
	if (unlinkat(fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	int dfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int r = remove_tree_at(dirfd(d), e->d_name);
		if (r < 0)
			return r;
	}
	return RET_NERRNO(unlinkat(fd, name, AT_REMOVEDIR));
}

static int remove_tmp(struct cbf_fs *fs, const char *tmp)
{
	return remove_tree_at(fs->work_fd, tmp);
}

/* Remove the whiteouts in an upper dir the merged view calls empty, so
 * it can be removed or replaced. */
static int clear_whiteouts(struct cbf_fs *fs, const char *path)
{
	int dfd = openat(fs->layers[0].fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat s;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &s, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (!is_whiteout(&s))
			return -ENOTEMPTY;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			return -errno;
	}
	return 0;
}

static int make_whiteout_tmp(struct cbf_fs *fs, char *tmp, size_t size)
{
	cbf_tmp_name(fs, tmp, size);
	return RET_NERRNO(mknodat(fs->work_fd, tmp, S_IFCHR | 0000, makedev(0, 0)));
}

int cbf_prepare_create(struct cbf_fs *fs, struct cbf_node *parent, const char *name,
		       bool keep_whiteout, int upper_whiteout, bool *ret_over_whiteout)
{
	int r = cbf_copy_up(fs, parent, true);
	if (r < 0)
		return r;
	bool wh = upper_whiteout >= 0 ? upper_whiteout : cbf_upper_is_whiteout(fs, parent, name);
	if (wh && !keep_whiteout) {
		char path[PATH_MAX];
		if ((r = cbf_child_path(fs, parent, name, path, sizeof(path))) < 0)
			return r;
		if (unlinkat(fs->layers[0].fd, path, 0) < 0)
			return -errno;
	}
	*ret_over_whiteout = wh;
	return 0;
}

static bool merged_dir_empty(struct cbf_fs *fs, struct cbf_node *dir, int *ret_err)
{
	struct cbf_dirent *e;
	size_t n;
	int r = cbf_read_merged(fs, dir, &e, &n);
	if (r < 0) {
		*ret_err = r;
		return false;
	}
	cbf_dirents_free(e, n);
	*ret_err = 0;
	return n <= 2;
}

int cbf_remove(struct cbf_fs *fs, struct cbf_node *parent, const char *name, bool is_dir)
{
	struct cbf_node *node;
	struct stat st;
	int r = cbf_lookup(fs, parent, name, &node, &st);
	if (r < 0)
		return r;
	char path[PATH_MAX], tmp[32];
	if (is_dir != S_ISDIR(node->type)) {
		r = is_dir ? -ENOTDIR : -EISDIR;
		goto out;
	}
	if (is_dir && !merged_dir_empty(fs, node, &r)) {
		r = r < 0 ? r : -ENOTEMPTY;
		goto out;
	}
	bool need_whiteout =
	    node->layer > 0 || cbf_probe_lower(fs, parent, name) == CBF_BELOW_ENTRY;
	if ((r = cbf_copy_up(fs, parent, true)) < 0 ||
	    (r = cbf_child_path(fs, parent, name, path, sizeof(path))) < 0)
		goto out;
	int up = fs->layers[0].fd;
	if (node->layer > 0) {
		r = RET_NERRNO(mknodat(up, path, S_IFCHR | 0000, makedev(0, 0)));
	} else if (!need_whiteout) {
		if (is_dir && (r = clear_whiteouts(fs, path)) < 0)
			goto out;
		r = RET_NERRNO(unlinkat(up, path, is_dir ? AT_REMOVEDIR : 0));
	} else {
		/* swap a whiteout in atomically, then drop what it replaced */
		if ((r = make_whiteout_tmp(fs, tmp, sizeof(tmp))) < 0)
			goto out;
		if (renameat2(fs->work_fd, tmp, up, path, RENAME_EXCHANGE) < 0) {
			r = -errno;
			unlinkat(fs->work_fd, tmp, 0);
			goto out;
		}
		r = remove_tmp(fs, tmp);
		if (r < 0)
			cbf_log("work dir %s: cannot remove %s: %s", fs->work_path, tmp,
				strerror(-r));
		r = 0;
	}
	if (r >= 0)
		node_drop_name(fs, node, parent, name);
out:
	cbf_forget(fs, node, 1);
	return r;
}

/* --- rename ---------------------------------------------------------- */

static int set_opaque(struct cbf_fs *fs, const char *path)
{
	char abs[PATH_MAX + 256];
	int r = layer_abs(fs, 0, path, abs, sizeof(abs));
	if (r < 0)
		return r;
	return RET_NERRNO(lsetxattr(abs, CBF_OPAQUE_XATTR, "y", 1, 0));
}

int cbf_rename(struct cbf_fs *fs, struct cbf_node *oldparent, const char *oldname,
	       struct cbf_node *newparent, const char *newname, unsigned flags)
{
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE, RENAME_WHITEOUT */
	struct cbf_node *src, *dst = NULL;
	struct stat st;
	int r = cbf_lookup(fs, oldparent, oldname, &src, &st);
	if (r < 0)
		return r;
	r = cbf_lookup(fs, newparent, newname, &dst, &st);
	if (r == -ENOENT)
		dst = NULL;
	else if (r < 0)
		goto out;
	r = 0;
	if (dst == src)
		goto out;
	bool is_dir = S_ISDIR(src->type);
	if (dst && (flags & RENAME_NOREPLACE)) {
		r = -EEXIST;
		goto out;
	}
	if (is_dir && (src->layer != 0 || src->lowest != 0)) {
		r = -EXDEV; /* a dir with lower layers: no redirect_dir, let mv copy */
		goto out;
	}
	if (dst) {
		if (S_ISDIR(dst->type) != is_dir) {
			r = is_dir ? -ENOTDIR : -EISDIR;
			goto out;
		}
		if (is_dir && !merged_dir_empty(fs, dst, &r)) {
			r = r < 0 ? r : -ENOTEMPTY;
			goto out;
		}
	}
	if ((r = cbf_copy_up(fs, oldparent, true)) < 0 ||
	    (r = cbf_copy_up(fs, newparent, true)) < 0 || (r = cbf_copy_up(fs, src, true)) < 0)
		goto out;
	bool whiteout_old = cbf_probe_lower(fs, oldparent, oldname) == CBF_BELOW_ENTRY;
	char oldpath[PATH_MAX], newpath[PATH_MAX];
	if ((r = cbf_child_path(fs, oldparent, oldname, oldpath, sizeof(oldpath))) < 0 ||
	    (r = cbf_child_path(fs, newparent, newname, newpath, sizeof(newpath))) < 0)
		goto out;
	int up = fs->layers[0].fd;
	if (dst && is_dir && dst->layer == 0 && (r = clear_whiteouts(fs, newpath)) < 0)
		goto out;
	if (!dst && is_dir && cbf_upper_is_whiteout(fs, newparent, newname) &&
	    unlinkat(up, newpath, 0) < 0) {
		r = -errno;
		goto out;
	}
	if (renameat2(up, oldpath, up, newpath, whiteout_old ? RENAME_WHITEOUT : 0) < 0) {
		if (!(whiteout_old && errno == EINVAL)) {
			r = -errno;
			goto out;
		}
		/* no RENAME_WHITEOUT on this filesystem: rename, then whiteout */
		if (renameat(up, oldpath, up, newpath) < 0 ||
		    mknodat(up, oldpath, S_IFCHR | 0000, makedev(0, 0)) < 0) {
			r = -errno;
			goto out;
		}
	}
	/* a pure upper dir moved into a merged dir must not merge with what
	 * the lower layers have under its new name (overlayfs does the same) */
	if (is_dir && newparent->lowest > 0 && !is_opaque(fs, 0, newpath) &&
	    (r = set_opaque(fs, newpath)) < 0)
		cbf_log("upper %s: cannot mark %s opaque: %s", fs->layers[0].path, newpath,
			strerror(-r));
	r = 0;
	if (dst)
		node_drop_name(fs, dst, newparent, newname);
	pthread_mutex_lock(&fs->nodes_lock);
	ssize_t ai = alias_index(src, oldparent, oldname);
	if (ai >= 0) { /* an alias moved: the node keeps its main name */
		char *nn = strdup(newname);
		struct cbf_alias *a = &src->aliases[ai];
		if (nn) {
			struct cbf_node *op = a->parent;
			free(a->name);
			a->name = nn;
			a->parent = newparent;
			newparent->refs++;
			node_unref_locked(fs, op);
		} else {
			alias_drop(fs, src, (size_t)ai);
		}
		pthread_mutex_unlock(&fs->nodes_lock);
		goto out;
	}
	hash_remove(fs, src);
	struct cbf_node *old_parent_node = src->parent;
	free(src->name);
	src->name = strdup(newname);
	src->parent = newparent;
	newparent->refs++;
	if (!src->name) { /* out of memory: keep the node, lose its path */
		src->parent = NULL;
		src->removed = true;
		node_unref_locked(fs, newparent);
	} else {
		hash_insert(fs, src);
	}
	node_unref_locked(fs, old_parent_node);
	pthread_mutex_unlock(&fs->nodes_lock);
out:
	if (dst)
		cbf_forget(fs, dst, 1);
	cbf_forget(fs, src, 1);
	return r;
}

/* --- merged readdir -------------------------------------------------- */

struct strset {
	char **slot;
	size_t size, count;
};

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Insert s (not copied); false when already present. */
static int strset_add(struct strset *set, char *s)
{
	if ((set->count + 1) * 2 > set->size) {
		size_t size = set->size ? set->size * 2 : 64;
		char **slot = calloc(size, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		for (size_t i = 0; i < set->size; i++)
			if (set->slot[i]) {
				size_t b = str_hash(set->slot[i]) & (size - 1);
				while (slot[b])
					b = (b + 1) & (size - 1);
				slot[b] = set->slot[i];
			}
		free(set->slot);
		set->slot = slot;
		set->size = size;
	}
	size_t b = str_hash(s) & (set->size - 1);
	for (; set->slot[b]; b = (b + 1) & (set->size - 1))
		if (strcmp(set->slot[b], s) == 0)
			return 0;
	set->slot[b] = s;
	set->count++;
	return 1;
}

void cbf_dirents_free(struct cbf_dirent *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

static int push_dirent(struct cbf_dirent **v, size_t *n, size_t *cap, char *name, uint64_t ino,
		       unsigned char type)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		struct cbf_dirent *nv = realloc(*v, c * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = (struct cbf_dirent){.name = name, .ino = ino, .type = type};
	return 0;
}

int cbf_read_merged(struct cbf_fs *fs, struct cbf_node *dir, struct cbf_dirent **ret_entries,
		    size_t *ret_count)
{
	char path[PATH_MAX];
	int r = cbf_node_path(fs, dir, path, sizeof(path));
	if (r < 0)
		return r;
	struct cbf_dirent *v = NULL;
	size_t n = 0, cap = 0;
	struct strset seen = {0};
	char **hidden_names = NULL; /* whited-out names, kept while seen uses them */
	size_t n_hidden = 0;
	char *dot = strdup("."), *dotdot = strdup("..");
	if (!dot || !dotdot) {
		free(dot);
		free(dotdot);
		return -ENOMEM;
	}
	push_dirent(&v, &n, &cap, dot, dir->ino, DT_DIR);
	if ((r = push_dirent(&v, &n, &cap, dotdot, dir->parent ? dir->parent->ino : dir->ino,
			     DT_DIR)) < 0) {
		free(dotdot);
		goto fail;
	}
	for (int l = dir->layer; l <= dir->lowest; l++) {
		int dfd =
		    openat(fs->layers[l].fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0) {
			if (is_fault(errno)) {
				r = cbf_layer_fault(fs, l, path, errno);
				goto fail;
			}
			continue;
		}
		DIR *d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			r = -errno;
			goto fail;
		}
		struct dirent *e;
		errno = 0;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (seen.count && seen.size) {
				size_t b = str_hash(e->d_name) & (seen.size - 1);
				bool dup = false;
				for (; seen.slot[b]; b = (b + 1) & (seen.size - 1))
					if (strcmp(seen.slot[b], e->d_name) == 0) {
						dup = true;
						break;
					}
				if (dup)
					continue;
			}
			char *name = strdup(e->d_name);
			if (!name) {
				r = -ENOMEM;
				closedir(d);
				goto fail;
			}
			bool wh = false;
			if (e->d_type == DT_CHR || e->d_type == DT_UNKNOWN) {
				struct stat s;
				if (fstatat(dfd, e->d_name, &s, AT_SYMLINK_NOFOLLOW) == 0)
					wh = is_whiteout(&s);
			}
			if (wh) {
				char **nh = realloc(hidden_names, (n_hidden + 1) * sizeof(*nh));
				if (!nh) {
					free(name);
					r = -ENOMEM;
					closedir(d);
					goto fail;
				}
				hidden_names = nh;
				hidden_names[n_hidden++] = name;
				if (l < dir->lowest && (r = strset_add(&seen, name)) < 0) {
					closedir(d);
					goto fail;
				}
				continue;
			}
			uint64_t ino = mix_ino(fs, l, e->d_ino);
			pthread_mutex_lock(&fs->nodes_lock);
			struct cbf_node *known = hash_find(fs, dir, name);
			if (known)
				ino = known->ino;
			else if (l == 0 && e->d_type != DT_DIR)
				ino = ino_map_get(fs, ino);
			pthread_mutex_unlock(&fs->nodes_lock);
			if ((r = push_dirent(&v, &n, &cap, name, ino, e->d_type)) < 0) {
				free(name);
				closedir(d);
				goto fail;
			}
			if (l < dir->lowest && (r = strset_add(&seen, name)) < 0) {
				closedir(d);
				goto fail;
			}
		}
		closedir(d);
	}
	free(seen.slot);
	for (size_t i = 0; i < n_hidden; i++)
		free(hidden_names[i]);
	free(hidden_names);
	*ret_entries = v;
	*ret_count = n;
	return 0;
fail:
	free(seen.slot);
	for (size_t i = 0; i < n_hidden; i++)
		free(hidden_names[i]);
	free(hidden_names);
	cbf_dirents_free(v, n);
	return r;
}

/* --- setup ----------------------------------------------------------- */

static int open_layer(struct cbf_fs *fs, struct cbf_layer *l, const char *path)
{
	l->path = realpath(path, NULL);
	if (!l->path)
		return -errno;
	l->fd = open(l->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (l->fd < 0)
		return -errno;
	struct stat st;
	if (fstat(l->fd, &st) < 0)
		return -errno;
	l->dev_id = dev_id(fs, st.st_dev);
	return 0;
}

int cbf_fs_init(struct cbf_fs *fs, const char *upper, char *const *lowers, int n_lowers,
		const char *work, const char **ret_what)
{
	_cleanup_free_ char *workabs = NULL;
	*fs = (struct cbf_fs){.work_fd = -1};
	/* read-only: no upper; the top lower is layer 0 and nothing writes */
	fs->n_layers = (upper ? 1 : 0) + n_lowers;
	fs->layers = calloc(fs->n_layers, sizeof(*fs->layers));
	if (!fs->layers)
		return -ENOMEM;
	for (int i = 0; i < fs->n_layers; i++)
		fs->layers[i].fd = -1;
	int r;
	for (int i = 0; i < fs->n_layers; i++) {
		const char *p = !upper ? lowers[i] : i == 0 ? upper : lowers[i - 1];
		if ((r = open_layer(fs, &fs->layers[i], p)) < 0) {
			*ret_what = p;
			return r;
		}
	}
	if (!upper)
		goto tree;
	/* our scratch dir in the work dir; "work" itself belongs to overlayfs */
	workabs = realpath(work, NULL);
	if (!workabs) {
		*ret_what = work;
		return -errno;
	}
	if (asprintf(&fs->work_path, "%s/cowbox-fuse", workabs) < 0)
		return -ENOMEM;
	int wfd = open(workabs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0) {
		*ret_what = work;
		return -errno;
	}
	r = remove_tree_at(wfd, "cowbox-fuse");
	if (r >= 0 && mkdirat(wfd, "cowbox-fuse", 0700) < 0)
		r = -errno;
	if (r >= 0 &&
	    (fs->work_fd = openat(wfd, "cowbox-fuse", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = -errno;
	close(wfd);
	if (r < 0) {
		*ret_what = work;
		return r;
	}
	struct stat ws, us;
	if (fstat(fs->work_fd, &ws) == 0 && fstat(fs->layers[0].fd, &us) == 0 &&
	    ws.st_dev != us.st_dev) {
		*ret_what = "work dir and upper dir are on different filesystems";
		return -EXDEV;
	}

tree:
	pthread_rwlock_init(&fs->tree, NULL);
	pthread_mutex_init(&fs->nodes_lock, NULL);
	fs->hash_size = 1024;
	fs->hash = calloc(fs->hash_size, sizeof(*fs->hash));
	fs->root = calloc(1, sizeof(*fs->root));
	if (!fs->hash || !fs->root || !(fs->root->name = strdup("")))
		return -ENOMEM;
	/* the root merges every layer down to the first opaque root */
	struct stat st;
	if (fstat(fs->layers[0].fd, &st) < 0)
		return -errno;
	fs->root->type = S_IFDIR;
	fs->root->refs = fs->root->nlookup = 1;
	fs->root->ino = FUSE_ROOT_ID;
	fs->root->layer = 0;
	fs->root->lowest = fs->n_layers - 1;
	for (int l = 0; l < fs->n_layers - 1; l++)
		if (is_opaque(fs, l, ".")) {
			fs->root->lowest = l;
			break;
		}
	return 0;
}

void cbf_fs_release(struct cbf_fs *fs)
{
	for (int i = 0; fs->layers && i < fs->n_layers; i++) {
		if (fs->layers[i].fd >= 0)
			close(fs->layers[i].fd);
		free(fs->layers[i].path);
	}
	free(fs->layers);
	if (fs->work_fd >= 0) {
		/* leave the work dir as we found it */
		int wfd = openat(fs->work_fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fs->work_fd);
		if (wfd >= 0) {
			remove_tree_at(wfd, "cowbox-fuse");
			close(wfd);
		}
	}
	free(fs->work_path);
	/* nodes the kernel never forgot die with the process */
	free(fs->hash);
	free(fs->ino_map);
	free(fs->links);
	if (fs->root)
		free(fs->root->name);
	free(fs->root);
}
