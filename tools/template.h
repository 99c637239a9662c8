/* `inspect --format`: the part of Go's text/template that scripts use with
 * docker and podman inspect — text with {{.Field.Path}} and
 * {{json .Field.Path}} actions — over the JSON inspect would print.
 * Values print as Go's %v does: strings bare, numbers, true/false, arrays
 * as [a b], objects as map[k:v] (keys sorted), a missing field as
 * "<no value>", null as "<nil>". Anything else (pipelines, if, range,
 * other functions) is refused by name rather than printed wrong. Pure:
 * tests/unit/test-template.c. */
#pragma once

#include <jansson.h>

#include "error.h"

/* Check tmpl once (0, or -EINVAL with the action named in err). */
int cli_template_check(const char *tmpl, struct cb_error *err);
/* Render tmpl over v into a string the caller frees (NULL: no memory).
 * tmpl must have passed cli_template_check. */
char *cli_template_render(const char *tmpl, json_t *v);
