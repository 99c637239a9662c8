/* cowbox-registry: the verbs that talk to registries, the only ones that
 * need libcurl. `cowbox pull|login|logout` exec it with the global
 * options resolved (see tools/cowbox.c). */
#include "cli.h"
#include "macro.h"

static const struct cb_verb verbs[] = {
	{"login", cmd_login, "log in to a registry",
	 "login [-u USER] [-p PASSWORD | --password-stdin] [--tls-verify=false] "
	 "[--authfile FILE] REGISTRY"},
	{"logout", cmd_logout, "remove a registry's credentials", "logout [--authfile FILE] REGISTRY"},
	{"pull", cmd_pull, "download an image from a registry",
	 "pull [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] [-q] [-j N] [--limit-rate RATE]\n"
	 "       [--authfile FILE] REF"},
};

int main(int argc, char **argv)
{
	return cli_main(argc, argv, verbs, ELEMENTSOF(verbs));
}
