/* cowbox inspect IMAGE|CONTAINER...: an image's record, manifest and config,
 * or a container's record and state, as JSON. */
#include "cli.h"
#include "container.h"
#include "images.h"
#include "state.h"
#include "resolve.h"
#include "store.h"

#include <jansson.h>
#include <stdio.h>

static json_t *load_blob_json(struct cb_store *s, const char *digest, struct cb_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (cb_store_get_blob(s, digest, CB_BLOB_MAX, &text, &len, err) < 0)
		return NULL;
	json_error_t je;
	json_t *j = json_loadb(text, len, 0, &je);
	if (!j)
		cb_error_set(err, EBADMSG, "blob %s: invalid JSON", digest);
	return j;
}

static int inspect_image(struct cb_store *s, const char *what, json_t *out, struct cb_error *err)
{
	char id[CB_DIGEST_SIZE];
	int r = cb_image_resolve(s, what, id, err);
	if (r < 0)
		return r;
	struct cb_image *img = NULL;
	r = cb_images_get(s, id, &img, err);
	if (r < 0)
		return r;
	json_t *config = load_blob_json(s, img->id, err);
	json_t *manifest = config ? load_blob_json(s, img->manifest_digest, err) : NULL;
	if (!config || !manifest) {
		json_decref(config);
		cb_image_free(img);
		return -err->code;
	}
	json_t *names = json_array(), *layers = json_array();
	for (char **n = img->names; n && *n; n++)
		json_array_append_new(names, json_string(*n));
	for (size_t i = 0; i < img->n_layers; i++) {
		char *path = NULL;
		cb_store_layer_diff_path(s, img->layers[i].chain_id, &path);
		json_array_append_new(layers,
				      json_pack("{s:s, s:s, s:s, s:s?}", "ChainID",
						img->layers[i].chain_id, "DiffID",
						img->layers[i].diff_id, "Digest",
						img->layers[i].digest, "Path", path));
		free(path);
	}
	json_t *c = json_object_get(config, "config");
	json_array_append_new(
		out, json_pack("{s:s, s:o, s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:o, s:O, s:O, s:I}",
			       "Id", img->id, "Names", names, "Digest", img->manifest_digest,
			       "Architecture", json_object_get(config, "architecture"), "Os",
			       json_object_get(config, "os"), "Created",
			       json_object_get(config, "created"), "Config", c, "History",
			       json_object_get(config, "history"), "Layers", layers,
			       "Manifest", manifest, "RawConfig", config, "Added",
			       (json_int_t)img->added));
	json_decref(manifest);
	json_decref(config);
	cb_image_free(img);
	return 0;
}

static int inspect_container(struct cb_store *s, const char *what, json_t *out,
			     struct cb_error *err)
{
	char id[CB_CONTAINER_ID_SIZE];
	int r = cb_container_resolve(s, what, id, err);
	if (r < 0)
		return r;
	struct cb_container *c = NULL;
	r = cb_container_get(s, id, &c, err);
	if (r < 0)
		return r;
	json_t *layers = json_array(), *cmd = json_array();
	for (size_t i = 0; i < c->n_layers; i++)
		json_array_append_new(layers, json_string(c->layers[i]));
	for (char **a = c->cmd; a && *a; a++)
		json_array_append_new(cmd, json_string(*a));
	json_t *j = json_pack("{s:s, s:s?, s:s, s:s?, s:o, s:o, s:I, s:b}", "Id", c->id, "Name",
			      c->name, "Image", c->image, "ImageName", c->image_name, "Layers",
			      layers, "Cmd", cmd, "Created", (json_int_t)c->created, "Volatile",
			      c->is_volatile);
	char *rootfs = NULL;
	if (j && cb_container_rootfs_path(s, id, &rootfs) >= 0)
		json_object_set_new(j, "Rootfs", json_string(rootfs));
	free(rootfs);
	if (j)
		json_object_set_new(j, "Mounted", json_boolean(cb_container_is_mounted(s, id)));
	_cleanup_close_ int dirfd = -1;
	struct cb_state st = {0};
	if (j && cb_state_open(id, false, &dirfd) >= 0 && cb_state_read(dirfd, &st) >= 0) {
		json_object_set_new(j, "State",
				    json_pack("{s:s, s:i, s:i, s:b, s:I, s:I}", "Status",
					      cb_state_status_name(st.status), "Pid", (int)st.pid,
					      "ExitCode", st.exit_code, "OOMKilled", st.oom,
					      "StartedAt", (json_int_t)st.started, "FinishedAt",
					      (json_int_t)st.finished));
		cb_state_release(&st);
	}
	cb_container_free(c);
	if (!j)
		return -ENOMEM;
	json_array_append_new(out, j);
	return 0;
}

int cmd_inspect(struct cb_cli *cli, int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-')
		return cli_usage("inspect", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	json_t *out = json_array();
	int ret = 0;
	for (int i = 1; i < argc; i++) {
		struct cb_error err = {0};
		int r = inspect_image(s, argv[i], out, &err);
		if (r == -ENOENT) {
			/* Not an image: a container of that name or ID? */
			struct cb_error cerr = {0};
			if (inspect_container(s, argv[i], out, &cerr) >= 0)
				continue;
			cb_error_clear(&err);
			cb_error_set(&err, ENOENT, "%s: no such image or container", argv[i]);
		}
		if (r < 0)
			ret = cli_fail(&err, r, "inspect %s", argv[i]);
	}
	if (json_array_size(out) > 0) {
		char *text = json_dumps(out, JSON_INDENT(2));
		printf("%s\n", text);
		free(text);
	}
	json_decref(out);
	return ret;
}
