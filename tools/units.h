/* Sizes as docker prints them (go-units): pure, unit-tested. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* bytes with `digits` significant digits and no space: binary units
 * ("1.496MiB", docker's BytesSize: memory) or decimal ones ("1.02kB",
 * HumanSizeWithPrecision: network and block I/O). */
void cb_size_text(double bytes, int digits, bool binary, char *buf, size_t size);
