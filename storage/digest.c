/* libcrypto's direct SHA-256 functions, not EVP: EVP's first use loads
 * openssl.cnf and the default provider, which cost every `cowbox run`
 * (it verifies the image config) about 1 ms and 2 MB of heap, measured.
 * OpenSSL 3 marks them deprecated but keeps them, with the same assembly
 * (SHA-NI where the CPU has it) behind both. */
#define OPENSSL_API_COMPAT 10101
#include "digest.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cb_digest_valid(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0)
		return false;
	const char *h = digest + 7;
	size_t n = 0;
	for (; h[n]; n++)
		if (!((h[n] >= '0' && h[n] <= '9') || (h[n] >= 'a' && h[n] <= 'f')))
			return false;
	return n == CB_DIGEST_HEX_LEN;
}

const char *cb_digest_hex(const char *digest)
{
	return digest + 7;
}

static void hex_encode(const unsigned char *raw, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * n] = '\0';
}

void cb_digest_of(const void *data, size_t len, char out[CB_DIGEST_SIZE])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX ctx;
	SHA256_Init(&ctx);
	SHA256_Update(&ctx, data, len);
	SHA256_Final(md, &ctx);
	memcpy(out, "sha256:", 7);
	hex_encode(md, 32, out + 7);
}

int cb_chain_id(const char *parent_chain, const char *diff_id, char out[CB_DIGEST_SIZE])
{
	if (!cb_digest_valid(diff_id) || (parent_chain && !cb_digest_valid(parent_chain)))
		return -EINVAL;
	if (!parent_chain) {
		memcpy(out, diff_id, CB_DIGEST_SIZE);
		return 0;
	}
	char buf[2 * CB_DIGEST_LEN + 2];
	int n = snprintf(buf, sizeof(buf), "%s %s", parent_chain, diff_id);
	cb_digest_of(buf, (size_t)n, out);
	return 0;
}

/* libcrypto's CPU probe, lazy in `cowbox` (tools/openssl-lazy.c): a
 * hasher digests layers, worth SHA-NI; cb_digest_of's kilobytes are not. */
void OPENSSL_cpuid_setup(void);

struct cb_hasher {
	SHA256_CTX ctx;
};

struct cb_hasher *cb_hasher_new(void)
{
	OPENSSL_cpuid_setup();
	struct cb_hasher *h = calloc(1, sizeof(*h));
	if (h)
		SHA256_Init(&h->ctx);
	return h;
}

void cb_hasher_update(struct cb_hasher *h, const void *data, size_t len)
{
	SHA256_Update(&h->ctx, data, len);
}

void cb_hasher_final(struct cb_hasher *h, char out[CB_DIGEST_SIZE])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_Final(md, &h->ctx);
	memcpy(out, "sha256:", 7);
	hex_encode(md, 32, out + 7);
}

void cb_hasher_reset(struct cb_hasher *h)
{
	SHA256_Init(&h->ctx);
}

void cb_hasher_free(struct cb_hasher *h)
{
	free(h);
}
