/* User namespace ID maps: writing them for a child, and a user namespace
 * of its own for idmapped mounts (storage/ maps a rootfs's layers through
 * it so that a container in that namespace owns its image's files). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* Write map to /proc/PID/FILE ("uid_map", "gid_map"): 0 or -errno. */
int cb_idmap_write(pid_t pid, const char *file, const struct cb_idmap *map, size_t n);
/* The host ID that id inside maps to, or -1 when it is not mapped. */
int64_t cb_idmap_to_host(const struct cb_idmap *map, size_t n, uint32_t id);
/* The reverse: the ID inside that host ID maps to, or -1. */
int64_t cb_idmap_to_inside(const struct cb_idmap *map, size_t n, uint32_t host_id);
/* A map as /proc/PID/uid_map shows it ("inside outside count" lines)
 * into map (at most CB_IDMAP_MAX lines); the count. Pure. */
size_t cb_idmap_parse_proc(const char *text, struct cb_idmap *map);
/* The map of pid's user namespace, /proc/PID/FILE ("uid_map",
 * "gid_map"), into map; 0 for the host's own (the identity) or when it
 * cannot be read. */
size_t cb_idmap_read(pid_t pid, const char *file, struct cb_idmap *map);
/* A new user namespace with these maps (gidmap NULL: the uid map), held
 * by the returned fd (O_CLOEXEC) after its one process is gone; or
 * -errno with err set. Costs a fork (~0.2 ms). */
int cb_userns_open(const struct cb_idmap *uidmap, size_t n_uid, const struct cb_idmap *gidmap,
		   size_t n_gid, struct cb_error *err);
