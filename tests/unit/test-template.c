/* inspect --format's template: field paths, json, Go's %v printing, and
 * the refusal of what it does not understand. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define ELEMENTS(x) (sizeof(x) / sizeof((x)[0]))

static json_t *doc(void)
{
	json_error_t je;
	json_t *v = json_loads(
	    "{\"Id\":\"abc\",\"State\":{\"Pid\":42,\"Running\":true,\"OOMKilled\":false},"
	    "\"Config\":{\"Cmd\":[\"sh\",\"-c\",\"x\"],\"Entrypoint\":null,"
	    "\"Labels\":{\"z\":\"1\",\"a\":\"2\"}},\"Ratio\":0.5}",
	    0, &je);
	assert_non_null(v);
	return v;
}

static void expect(json_t *v, const char *tmpl, const char *want)
{
	struct cb_error err = {0};
	assert_int_equal(cli_template_check(tmpl, &err), 0);
	char *got = cli_template_render(tmpl, v);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_render(void **state)
{
	(void)state;
	json_t *v = doc();
	expect(v, "{{.Id}}", "abc");
	expect(v, "pid={{.State.Pid}} up={{ .State.Running }}", "pid=42 up=true");
	expect(v, "{{.State.OOMKilled}}", "false");
	expect(v, "{{.Config.Cmd}}", "[sh -c x]");
	expect(v, "{{.Config.Labels}}", "map[a:2 z:1]");
	expect(v, "{{.Config.Entrypoint}}", "<nil>");
	expect(v, "{{.Config.Nope}}|{{.Nope.Deeper}}", "<no value>|<no value>");
	expect(v, "{{json .Config.Cmd}}", "[\"sh\",\"-c\",\"x\"]");
	expect(v, "{{json .Config.Labels}}", "{\"a\":\"2\",\"z\":\"1\"}");
	expect(v, "{{json .Nope}}", "null");
	expect(v, "{{.Ratio}}", "0.5");
	expect(v, "{{.State.Pid.X}}", "<no value>"); /* Go fails; we say it is not there */
	expect(v, "a }} b", "a }} b");
	expect(v, "no actions", "no actions");
	expect(v, "", "");
	expect(v, "{{.}}",
	       "map[Config:map[Cmd:[sh -c x] Entrypoint:<nil> Labels:map[a:2 z:1]] Id:abc "
	       "Ratio:0.5 State:map[OOMKilled:false Pid:42 Running:true]]");
	json_decref(v);
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "{{.State.Pid",
	    "{{range .Mounts}}x{{end}}",
	    "{{.State.Pid | printf \"%d\"}}",
	    "{{if .State.Running}}",
	    "{{State.Pid}}",
	    "{{..State}}",
	    "{{.State.}}",
	    "{{json}}",
	    "{{.State-Pid}}",
	};
	for (size_t i = 0; i < ELEMENTS(bad); i++) {
		struct cb_error err = {0};
		assert_int_equal(cli_template_check(bad[i], &err), -EINVAL);
		assert_true(err.msg[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_refused),
	};
	int failed = cmocka_run_group_tests_name("template", tests, NULL, NULL);
	printf("%zu passed, %d failed\n", ELEMENTS(tests) - (size_t)failed, failed);
	return failed ? 1 : 0;
}
