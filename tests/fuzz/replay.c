/* tests/fuzz/replay.c: the main() that stands in for libFuzzer in the test builds (gcc,
 * debug and ASan): runs LLVMFuzzerTestOneInput once on every file of the directories given,
 * in name order, so that the seed corpus and every minimised crash (regress/) replay under
 * ctest without clang. A directory that cannot be read fails the run, and so does a run
 * with no input at all: a misregistered test must not pass by replaying nothing. Files whose
 * name starts with '.' (the .keep of an empty regress/ folder) are skipped. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

/* Reads the whole file into a malloc'd buffer of exactly its size (no slack past the end,
 * so that ASan sees a read beyond the input as libFuzzer's build would). 0 or -errno. */
static int slurp(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	long n;
	uint8_t *p;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -EIO;
	}
	p = malloc(n ? (size_t)n : 1);
	if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		fclose(f);
		return p ? -EIO : -ENOMEM;
	}
	fclose(f);
	*data = p;
	*size = (size_t)n;
	return 0;
}

/* One input. 0, or -1 when the file cannot be read. */
static int replay_file(const char *dir, const char *name)
{
	char path[4096];
	uint8_t *data = NULL; /* set by slurp on success; gcc's -O2 TSan build cannot see that */
	size_t size = 0;
	int err;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	err = slurp(path, &data, &size);
	if (err != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(-err));
		return -1;
	}
	/* Named first: a crash inside leaves the input's path as the last line before it. */
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int replay_dir(const char *dir, unsigned *count)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), rc = 0;

	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0 && names[i]->d_name[0] != '.') {
			rc = replay_file(dir, names[i]->d_name);
			*count += rc == 0;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (replay_dir(argv[i], &count) != 0)
			return 1;
	printf("replayed %u inputs\n", count);
	return count ? 0 : 1;
}
