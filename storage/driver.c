#include "driver.h"

#include "macro.h"

#include <errno.h>
#include <string.h>

/* The built-in drivers, in the order AUTO tries them. */
static const struct cb_rootfs_driver *const drivers[] = {
	&cb_overlay_driver,
	&cb_fuse_driver,
};

int cb_driver_parse(const char *name, enum cb_driver_kind *ret)
{
	if (!name || !name[0] || strcmp(name, "auto") == 0)
		*ret = CB_DRIVER_AUTO;
	else if (strcmp(name, "overlay") == 0)
		*ret = CB_DRIVER_OVERLAY;
	else if (strcmp(name, "fuse") == 0)
		*ret = CB_DRIVER_FUSE;
	else
		return -EINVAL;
	return 0;
}

int cb_driver_get(enum cb_driver_kind kind, const struct cb_rootfs_driver **ret,
		  struct cb_error *err)
{
	static const char *const names[] = {"auto", "overlay", "fuse"};
	for (size_t i = 0; i < ELEMENTSOF(drivers); i++) {
		if (kind != CB_DRIVER_AUTO && strcmp(drivers[i]->name, names[kind]) != 0)
			continue;
		if (!drivers[i]->available()) {
			if (kind == CB_DRIVER_AUTO)
				continue;
			return cb_error_set(err, ENOTSUP,
					    "storage driver %s: not usable here (no kernel support "
					    "or no privilege)",
					    drivers[i]->name);
		}
		*ret = drivers[i];
		return 0;
	}
	if (kind == CB_DRIVER_AUTO)
		return cb_error_set(err, ENOTSUP, "no storage driver is usable here");
	return cb_error_set(err, ENOTSUP, "storage driver %s: not built into this cowbox",
			    names[kind]);
}

const struct cb_rootfs_driver *cb_driver_for_magic(unsigned long fs_magic)
{
	for (size_t i = 0; i < ELEMENTSOF(drivers); i++)
		if (drivers[i]->fs_magic == fs_magic)
			return drivers[i];
	return NULL;
}
