#include "units.h"

#include <stdio.h>

void cb_size_text(double bytes, int digits, bool binary, char *buf, size_t size)
{
	static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	static const char *const dec[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double base = binary ? 1024.0 : 1000.0;
	size_t i = 0;
	while (bytes >= base && i + 1 < sizeof(bin) / sizeof(bin[0])) {
		bytes /= base;
		i++;
	}
	snprintf(buf, size, "%.*g%s", digits, bytes, binary ? bin[i] : dec[i]);
}
