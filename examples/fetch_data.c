/* examples/fetch_data.c: the seed's coroutine example in C: a coroutine that prints,
 * sleeps one second without blocking the thread, and returns its data to main.
 *
 *     async def fetch_data():                static const char *fetch_data(void)
 *         print("Fetching data...")          {   puts("Fetching data...");
 *         await asyncio.sleep(1)                 corio_sleep(CORIO_SEC(1));
 *         print("Data fetched!")                 puts("Data fetched!");
 *         return "Data"                          return "Data";
 *                                            }
 *     async def main():                      static void *main_task(void *arg)
 *         data = await fetch_data()          {   const char *data = fetch_data();
 *         print(data)                            puts(data);
 *                                            }
 *     asyncio.run(main())                    corio_run(main_task, NULL, NULL);
 *
 * corio's coroutines are stackful: any function called from a task may park it, so
 * `await fetch_data()` is a plain call. To run fetch_data concurrently instead (what
 * asyncio.create_task does), spawn it: see examples/gather.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <corio/corio.h>

/* Returns the data, or NULL when the sleep was interrupted (the task was cancelled). */
static const char *fetch_data(void)
{
	int rc;

	puts("Fetching data...");
	rc = corio_sleep(CORIO_SEC(1)); /* parks this task; the loop runs the others */
	if (rc < 0) {
		fprintf(stderr, "fetch_data: corio_sleep: %s\n", strerror(-rc));
		return NULL;
	}
	puts("Data fetched!");
	return "Data";
}

static void *main_task(void *arg)
{
	const char *data = fetch_data();

	(void)arg;
	if (!data)
		return (void *)(intptr_t)1;
	puts(data);
	return (void *)(intptr_t)0;
}

int main(void)
{
	void *status;
	int rc = corio_run(main_task, NULL, &status);

	if (rc < 0) {
		fprintf(stderr, "fetch_data: corio_run: %s\n", strerror(-rc));
		return 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("fetch_data: stdout");
		return 1;
	}
	return (int)(intptr_t)status;
}
