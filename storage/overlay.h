/* The overlayfs rootfs driver (cb_overlay_driver in driver.h).
 *
 * Mounts with the new mount API: fsopen("overlay"), one
 * fsconfig("lowerdir+") per layer (Linux >= 6.8; no length limit, so any
 * number of layers up to overlayfs's 500), fsmount, move_mount. Older
 * kernels get one legacy mount(2) whose lowerdir= string names each layer
 * through a short symlink (l/0, l/1, ...) made in the container directory
 * for the duration of the call, so 200 layers fit in the 4 KiB option page.
 *
 * Options, always: index=off, redirect_dir=off, metacopy=off, xino=off
 * (docs/storage-drivers.md says why), nodev; volatile on request. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "driver.h"

#define CB_OVERLAY_SUPER_MAGIC 0x794c7630UL

/* The legacy lowerdir= value for n layers as the fallback spells it
 * ("l/0:l/1:..."), into a malloc'd string; exposed for tests. */
int cb_overlay_legacy_lowerdir(size_t n, char **ret);
/* Force the legacy path even on kernels with lowerdir+ (tests). */
void cb_overlay_force_legacy(bool on);
