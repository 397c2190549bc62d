/*
 * The program whose start `bench starts` times: it loads liblockfile.so.1,
 * asks lockfile_check about a lock that does not exist, and exits. What
 * it costs is mostly the dynamic loader's work for the library: mapping
 * it, relocating it, binding the symbols it imports.
 *
 *   start MISSING          exit 0 when lockfile_check(MISSING) says -1
 *   start MISSING which    also print "lib=<file>", the liblockfile that
 *                          is mapped (from /proc/self/maps), so that the
 *                          runner can check which library it timed
 *
 * The timed form calls nothing but lockfile_check: no stdio, no other
 * symbol that the loader would bind for this program alone.
 */
#include <stdio.h>
#include <string.h>

#include <lockfile.h>

static int which(void)
{
	char line[4096];
	FILE *maps = fopen("/proc/self/maps", "r");

	if (maps == NULL)
		return 2;
	while (fgets(line, sizeof(line), maps) != NULL) {
		char *path = strchr(line, '/');

		if (path != NULL && strstr(path, "/liblockfile") != NULL) {
			fputs("lib=", stdout);
			fputs(path, stdout);
			fclose(maps);
			return 0;
		}
	}
	fclose(maps);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2 || lockfile_check(argv[1], 0) != -1)
		return 1;
	return argc > 2 ? which() : 0;
}
