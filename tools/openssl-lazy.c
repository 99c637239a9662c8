/* libcrypto's x86-64 code puts a call to OPENSSL_cpuid_setup() in the
 * binary's .init: at every start it runs CPUID six times (and more) to fill
 * OPENSSL_ia32cap_P, which picks the SHA-NI/AVX code paths. Under a
 * hypervisor each CPUID is a VM exit (4.9 us here; the setup takes 47 us,
 * most of what `cowbox run` spends in libcrypto). cowbox is linked with
 * --wrap=OPENSSL_cpuid_setup: the call from .init lands here and does
 * nothing; any later one (cb_hasher_new before hashing a layer, OpenSSL's
 * own init) runs the real setup. Until then the vector is zero, which the
 * assembly reads as "plain x86-64": the same digests, computed without
 * the extensions (the image config that `run` checks is one KB). */
#include <stdbool.h>

void __real_OPENSSL_cpuid_setup(void);
void __wrap_OPENSSL_cpuid_setup(void);

static bool past_init;

/* .init runs before the constructors of .init_array. */
__attribute__((constructor)) static void mark_past_init(void)
{
	past_init = true;
}

void __wrap_OPENSSL_cpuid_setup(void)
{
	if (past_init)
		__real_OPENSSL_cpuid_setup();
}
