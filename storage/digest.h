/* sha256 digests as OCI writes them ("sha256:" + 64 lowercase hex), and
 * the chain IDs of the OCI image spec (config.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CB_DIGEST_HEX_LEN 64
#define CB_DIGEST_LEN	  (7 + CB_DIGEST_HEX_LEN) /* "sha256:" + hex */
#define CB_DIGEST_SIZE	  (CB_DIGEST_LEN + 1)

/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool cb_digest_valid(const char *digest);
/* The hex part of a valid digest (points into digest). */
const char *cb_digest_hex(const char *digest);
/* Write "sha256:<hex>" of data to out (CB_DIGEST_SIZE bytes). */
void cb_digest_of(const void *data, size_t len, char out[CB_DIGEST_SIZE]);
/* chain = parent ? sha256(parent + " " + diff_id) : diff_id. */
int cb_chain_id(const char *parent_chain, const char *diff_id, char out[CB_DIGEST_SIZE]);

/* Streaming sha256 over an EVP context; new/free pair. */
struct cb_hasher;
struct cb_hasher *cb_hasher_new(void);
void cb_hasher_update(struct cb_hasher *h, const void *data, size_t len);
/* Finish into out; the hasher may be reused after cb_hasher_reset. */
void cb_hasher_final(struct cb_hasher *h, char out[CB_DIGEST_SIZE]);
void cb_hasher_reset(struct cb_hasher *h);
void cb_hasher_free(struct cb_hasher *h);
