/* Landlock where it fits a container: it may not make device nodes. */
#pragma once

/* Forbid making character and block devices from now on, for this
 * process and what it runs (a Landlock domain that handles only those two
 * rights and grants them nowhere). 1 when applied, 0 when the kernel has
 * no Landlock, else -errno. */
int cb_landlock_forbid_devices(void);
