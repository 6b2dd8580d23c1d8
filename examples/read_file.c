/* examples/read_file.c: the seed's aiofiles example in C. Reads a whole file without
 * blocking the loop and prints its first 100 characters.
 *
 *     async def read_file(filename):                 static void *main_task(void *arg)
 *         async with aiofiles.open(filename) as f:   {
 *             return await f.read()                      rc = corio_read_file(path, &data, &len);
 *     async def main():                                  print_chars(data, len, 100);
 *         contents = await read_file("my_file.txt")  }
 *         print(contents[:100])                      corio_run(main_task, path, NULL);
 *     asyncio.run(main())
 *
 * Usage: read_file [PATH]    (PATH defaults to my_file.txt, as in the seed)
 * Python counts characters, not bytes: so does this (UTF-8 code points).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

/* Length in bytes of the first n UTF-8 characters of s[0, len). */
static size_t utf8_prefix(const char *s, size_t len, size_t n)
{
	size_t i = 0;

	while (i < len && n > 0) {
		i++;
		/* continuation bytes (10xxxxxx) belong to the character just started */
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		n--;
	}
	return i;
}

static void *main_task(void *arg)
{
	const char *path = arg;
	char *data;
	size_t len;
	int rc = corio_read_file(path, &data, &len); /* parks this task, not the thread */

	if (rc < 0) {
		fprintf(stderr, "read_file: %s: %s\n", path, strerror(-rc));
		return (void *)(intptr_t)1;
	}
	fwrite(data, 1, utf8_prefix(data, len, 100), stdout);
	putchar('\n');
	free(data);
	return (void *)(intptr_t)0;
}

int main(int argc, char **argv)
{
	void *status;
	int rc;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [PATH]\n", argv[0]);
		return 2;
	}
	rc = corio_run(main_task, argc == 2 ? argv[1] : "my_file.txt", &status);
	if (rc < 0) {
		fprintf(stderr, "read_file: corio_run: %s\n", strerror(-rc));
		return 1;
	}
	return (int)(intptr_t)status;
}
