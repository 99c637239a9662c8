/* Capabilities by name, and applying a set to the calling thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
 * SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE (podman's set). */
uint64_t cb_caps_default(void);
/* Every capability this build knows (0..CAP_LAST_CAP of the headers). */
uint64_t cb_caps_all(void);

/* The calling process's permitted set (what --privileged can hand on:
 * a root without CAP_SYS_RESOURCE cannot give it). */
uint64_t cb_caps_current(void);

/* "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" into a capability number;
 * -EINVAL when unknown. "ALL" is not a capability: see cb_caps_edit(). */
int cb_cap_from_name(const char *name);
/* "NET_ADMIN" for 12; NULL when out of range. */
const char *cb_cap_name(int cap);

/* Apply --cap-add (add=true) or --cap-drop of a name or "ALL" to *set. */
int cb_caps_edit(uint64_t *set, const char *name, bool add);

/* Drop every capability not in set from the bounding set. Needs
 * CAP_SETPCAP (the child has it before it drops). */
int cb_caps_apply_bounding(uint64_t set);
/* Set effective, permitted and inheritable to set; raise ambient too when
 * ambient is true (a non-root user keeps the set across exec). */
int cb_caps_apply(uint64_t set, bool ambient);
