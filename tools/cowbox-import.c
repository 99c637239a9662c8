/* cowbox-import: `cowbox import`, in a binary of its own because it
 * unpacks gzip layers with ISA-L, which Debian ships only as a shared
 * library while `cowbox` is linked statically. cowbox.c execs it with the
 * global options resolved. */
#include "cli.h"
#include "macro.h"

static const struct cb_verb verbs[] = {
	{"import", cmd_import, "import a docker-save tar, an OCI layout or a rootfs tar",
	 "import [-q] [--platform OS/ARCH] [--max-entries N] [--max-size BYTES] FILE|- [NAME[:TAG]]\n"
	 "       cowbox import --rootfs FILE|- NAME[:TAG]"},
};

int main(int argc, char **argv)
{
	return cli_main(argc, argv, verbs, ELEMENTSOF(verbs));
}
