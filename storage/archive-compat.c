/* cowbox links libarchive statically so that only its tar code comes in:
 * the shared library drags libxml2, ICU and libstdc++ into every start
 * (about 10 ms and 5 MB of RSS, measured). libarchive's pax writer calls
 * one helper that lives in archive_write_set_format.o, whose table of
 * every writer (7zip, xar, ...) would pull their compressors in too. This
 * file gives the helper its own home. Should libarchive rename it, that
 * table comes back and the link fails loudly on its missing libraries. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

void __archive_write_entry_filetype_unsupported(struct archive *a, struct archive_entry *entry,
						const char *format);

void __archive_write_entry_filetype_unsupported(struct archive *a, struct archive_entry *entry,
						const char *format)
{
	const char *kind;
	switch (archive_entry_filetype(entry)) {
	case AE_IFSOCK:
		kind = "a socket";
		break;
	case AE_IFCHR:
		kind = "a character device";
		break;
	case AE_IFBLK:
		kind = "a block device";
		break;
	case AE_IFIFO:
		kind = "a fifo";
		break;
	default:
		kind = "this file type";
		break;
	}
	archive_set_error(a, EINVAL, "%s: %s format cannot archive %s",
			  archive_entry_pathname(entry), format, kind);
}
