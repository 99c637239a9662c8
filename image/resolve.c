#include "resolve.h"
#include "images.h"
#include "reference.h"
#include "store.h"

#include <stdlib.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

int cb_image_resolve(struct cb_store *s, const char *what, char ret_id[CB_DIGEST_SIZE],
		     struct cb_error *err)
{
	if (cb_digest_valid(what)) {
		struct cb_image *img = NULL;
		int r = cb_images_get(s, what, &img, NULL);
		cb_image_free(img);
		if (r < 0)
			return cb_error_set(err, ENOENT, "%s: no such image", what);
		strcpy(ret_id, what);
		return 0;
	}
	struct cb_reference ref;
	char name[1024];
	if (cb_reference_parse(what, &ref, NULL) >= 0 &&
	    cb_reference_format(&ref, name, sizeof(name)) >= 0 &&
	    cb_images_lookup_name(s, name, ret_id) >= 0)
		return 0;
	int r = cb_images_lookup_id_prefix(s, what, ret_id);
	if (r == -EEXIST)
		return cb_error_set(err, EEXIST, "%s: ambiguous image ID prefix", what);
	if (r < 0)
		return cb_error_set(err, ENOENT, "%s: no such image", what);
	return 0;
}

int cb_image_load_config(struct cb_store *s, const char *id, struct cb_image_config *ret,
			 struct cb_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = cb_store_get_blob(s, id, CB_BLOB_MAX, &text, &len, err);
	if (r < 0)
		return r;
	char what[96];
	snprintf(what, sizeof(what), "config %s", id);
	r = cb_config_parse(text, len, what, ret, err);
	free(text);
	return r;
}
