/* The seccomp filter: podman's default deny list (docs/seccomp.md), or an
 * OCI/docker JSON profile. Built in the parent before clone (the profile
 * file is on the host), loaded by the child just before exec with one
 * system call. The default filter is compiled with libseccomp once per
 * capability set and cached in /run/cowbox (root-owned, 0600). */
#pragma once

#include <stdint.h>

#include "error.h"
#include "spec.h"

struct cb_seccomp; /* a compiled BPF program */

/* Build the filter spec asks for: NULL in *ret when seccomp is off
 * (unconfined or privileged). caps is the final capability set: rules the
 * default profile ties to a capability are relaxed when it is granted. */
int cb_seccomp_build(const struct cb_spawn_spec *spec, uint64_t caps, struct cb_seccomp **ret,
		     struct cb_error *err);
/* Install the filter in the calling thread. */
int cb_seccomp_load(struct cb_seccomp *filter);
void cb_seccomp_free(struct cb_seccomp *filter);
