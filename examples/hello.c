/* examples/hello.c: the seed's first asyncio program in C: one coroutine run on an event
 * loop.
 *
 *     import asyncio
 *
 *     async def main():                  static void *main_task(void *arg)
 *         print("Hello, Async!")         {
 *                                            puts("Hello, Async!");
 *                                        }
 *     asyncio.run(main())                corio_run(main_task, NULL, NULL);
 *
 * corio_run, like asyncio.run, creates the loop (one io_uring), runs main_task as its
 * first task, and returns when that task and every task it spawned have finished.
 */
#include <stdio.h>
#include <string.h>

#include <corio/corio.h>

static void *main_task(void *arg)
{
	(void)arg;
	puts("Hello, Async!");
	return NULL;
}

int main(void)
{
	int rc = corio_run(main_task, NULL, NULL);

	if (rc < 0) {
		fprintf(stderr, "hello: corio_run: %s\n", strerror(-rc));
		return 1;
	}
	/* One check for every write above: stdout errors are sticky. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("hello: stdout");
		return 1;
	}
	return 0;
}
