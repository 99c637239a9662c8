/* Parsing OCI/Docker indexes, manifests and configs, and platform choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "layer.h"
#include "manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char index_json[] =
	"{\"schemaVersion\":2,\"mediaType\":\"" CB_MT_OCI_INDEX "\",\"manifests\":["
	"{\"mediaType\":\"" CB_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	"{\"mediaType\":\"" CB_MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":11,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	"{\"mediaType\":\"" CB_MT_OCI_INDEX "\",\"digest\":\"" D3 "\",\"size\":12,"
	"\"annotations\":{\"org.opencontainers.image.ref.name\":\"nested\"}}]}";

static void test_index(void **state)
{
	struct cb_index idx = {0};
	struct cb_error err = {0};
	assert_int_equal(cb_index_parse(index_json, strlen(index_json), "index.json", &idx, &err), 0);
	assert_int_equal(idx.n_manifests, 3);
	assert_string_equal(idx.manifests[1].digest, D2);
	assert_int_equal(idx.manifests[1].size, 11);
	assert_true(cb_media_type_is_index(idx.manifests[2].media_type));
	assert_string_equal(idx.manifests[2].ref_name, "nested");
	assert_string_equal(idx.manifests[0].platform.variant, "v8");

	struct cb_platform amd64 = {.os = "linux", .architecture = "amd64"};
	struct cb_platform arm64 = {.os = "linux", .architecture = "arm64", .variant = "v8"};
	struct cb_platform s390x = {.os = "linux", .architecture = "s390x"};
	/* The nested index has no platform and would match anything, but a
	 * real match comes first. */
	assert_int_equal(cb_index_select(&idx, &amd64), 1);
	assert_int_equal(cb_index_select(&idx, &arm64), 0);
	assert_int_equal(cb_index_select(&idx, &s390x), 2);
	cb_index_release(&idx);

	enum cb_doc_kind kind;
	assert_int_equal(cb_doc_kind(index_json, strlen(index_json), "x", &kind, &err), 0);
	assert_int_equal(kind, CB_DOC_INDEX);
}

static void test_index_without_platform_match(void **state)
{
	const char j[] = "{\"manifests\":[{\"digest\":\"" D1 "\",\"platform\":{\"os\":\"linux\","
			 "\"architecture\":\"arm64\"}}]}";
	struct cb_index idx = {0};
	assert_int_equal(cb_index_parse(j, strlen(j), "i", &idx, NULL), 0);
	struct cb_platform amd64 = {.os = "linux", .architecture = "amd64"};
	assert_int_equal(cb_index_select(&idx, &amd64), -ENOENT);
	cb_index_release(&idx);
}

static const char manifest_json[] =
	"{\"schemaVersion\":2,\"mediaType\":\"" CB_MT_DOCKER_MANIFEST "\","
	"\"config\":{\"mediaType\":\"" CB_MT_DOCKER_CONFIG "\",\"digest\":\"" D1 "\",\"size\":5},"
	"\"layers\":[{\"mediaType\":\"" CB_MT_DOCKER_LAYER "\",\"digest\":\"" D2 "\",\"size\":7},"
	"{\"mediaType\":\"" CB_MT_OCI_LAYER_ZSTD "\",\"digest\":\"" D3 "\",\"size\":8}]}";

static void test_manifest(void **state)
{
	struct cb_manifest m = {0};
	struct cb_error err = {0};
	assert_int_equal(cb_manifest_parse(manifest_json, strlen(manifest_json), "m", &m, &err), 0);
	assert_string_equal(m.config.digest, D1);
	assert_int_equal(m.n_layers, 2);
	assert_int_equal(cb_layer_media_type_compression(m.layers[0].media_type),
			 CB_COMPRESSION_GZIP);
	assert_int_equal(cb_layer_media_type_compression(m.layers[1].media_type),
			 CB_COMPRESSION_ZSTD);
	cb_manifest_release(&m);
}

static void expect_manifest_error(const char *j, const char *needle)
{
	struct cb_manifest m = {0};
	struct cb_error err = {0};
	assert_true(cb_manifest_parse(j, strlen(j), "manifest X", &m, &err) < 0);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
	assert_non_null(strstr(err.msg, "manifest X"));
}

static void test_manifest_errors(void **state)
{
	expect_manifest_error("{\"config\": {", "invalid JSON at line 1");
	expect_manifest_error("[1]", "not an object");
	expect_manifest_error("{\"layers\":[]}", "config: missing");
	expect_manifest_error("{\"config\":{\"digest\":\"sha256:zz\"},\"layers\":[]}",
			      "config.digest");
	expect_manifest_error("{\"config\":{\"digest\":\"md5:aa\"},\"layers\":[]}",
			      "unsupported digest algorithm");
	expect_manifest_error("{\"config\":{\"digest\":\"" D1 "\"},\"layers\":[{\"mediaType\":"
			      "\"application/x-bogus\",\"digest\":\"" D2 "\"}]}",
			      "layers[0]: unknown media type application/x-bogus");
	expect_manifest_error("{\"config\":{\"digest\":\"" D1 "\",\"size\":-3},\"layers\":[]}",
			      "config.size");
	expect_manifest_error("{\"mediaType\":\"" CB_MT_OCI_INDEX "\",\"manifests\":[]}",
			      "not an image manifest");
}

static void test_schema1_refused(void **state)
{
	const char j[] = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}";
	enum cb_doc_kind kind;
	struct cb_error err = {0};
	assert_int_equal(cb_doc_kind(j, strlen(j), "m", &kind, &err), -EPROTONOSUPPORT);
	assert_non_null(strstr(err.msg, "schema 1"));
}

static void test_config(void **state)
{
	const char j[] =
		"{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
		"\"config\":{\"Env\":[\"PATH=/bin\",\"A=b\"],\"Entrypoint\":[\"/init\"],"
		"\"Cmd\":[\"sh\",\"-c\",\"x\"],\"WorkingDir\":\"/w\",\"User\":\"1:2\","
		"\"ExposedPorts\":{\"80/tcp\":{}},\"Labels\":{\"k\":\"v\"}},"
		"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}";
	struct cb_image_config c = {0};
	struct cb_error err = {0};
	assert_int_equal(cb_config_parse(j, strlen(j), "config", &c, &err), 0);
	assert_string_equal(c.env[1], "A=b");
	assert_null(c.env[2]);
	assert_string_equal(c.entrypoint[0], "/init");
	assert_string_equal(c.cmd[2], "x");
	assert_string_equal(c.working_dir, "/w");
	assert_string_equal(c.user, "1:2");
	assert_string_equal(c.exposed_ports[0], "80/tcp");
	assert_string_equal(c.labels[0], "k=v");
	assert_int_equal(c.n_diff_ids, 2);
	assert_string_equal(c.diff_ids[1], D2);
	assert_string_equal(c.platform.architecture, "amd64");
	cb_config_release(&c);

	const char bad[] = "{\"rootfs\":{\"diff_ids\":[\"sha256:x\"]}}";
	assert_true(cb_config_parse(bad, strlen(bad), "config", &c, &err) < 0);
	assert_non_null(strstr(err.msg, "rootfs.diff_ids[0]"));
}

static void test_platform_parse(void **state)
{
	struct cb_platform p = {0};
	assert_int_equal(cb_platform_parse("linux/arm/v7", &p), 0);
	assert_string_equal(p.architecture, "arm");
	assert_string_equal(p.variant, "v7");
	cb_platform_release(&p);
	assert_int_equal(cb_platform_parse("linux", &p), -EINVAL);
	assert_int_equal(cb_platform_parse("a/b/c/d", &p), -EINVAL);
	cb_platform_host(&p);
	assert_string_equal(p.os, "linux");
	assert_non_null(p.architecture);
	cb_platform_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_index_without_platform_match),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_manifest_errors),
		cmocka_unit_test(test_schema1_refused),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_platform_parse),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
