/* examples/my_async_function.c: the seed's "async def" example in C: an asynchronous
 * function that sleeps one second and returns a result, awaited by main.
 *
 *     async def my_async_function():         static const char *my_async_function(void)
 *         # 비동기 작업 수행                   {
 *         await asyncio.sleep(1)                 corio_sleep(CORIO_SEC(1));
 *         return "Result"                        return "Result";
 *                                            }
 *     async def main():                      static void *main_task(void *arg)
 *         result = await my_async_function() {   const char *result = my_async_function();
 *         print(result)                          puts(result);
 *                                            }
 *     asyncio.run(main())                    corio_run(main_task, NULL, NULL);
 *
 * An "async function" in corio is any C function called from a task: corio_sleep parks the
 * calling task (not the thread) until its io_uring timeout completes.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <corio/corio.h>

/* Returns the result, or NULL when the sleep was interrupted (the task was cancelled). */
static const char *my_async_function(void)
{
	int rc = corio_sleep(CORIO_SEC(1)); /* the asynchronous work */

	if (rc < 0) {
		fprintf(stderr, "my_async_function: corio_sleep: %s\n", strerror(-rc));
		return NULL;
	}
	return "Result";
}

static void *main_task(void *arg)
{
	const char *result = my_async_function();

	(void)arg;
	if (!result)
		return (void *)(intptr_t)1;
	puts(result);
	return (void *)(intptr_t)0;
}

int main(void)
{
	void *status;
	int rc = corio_run(main_task, NULL, &status);

	if (rc < 0) {
		fprintf(stderr, "my_async_function: corio_run: %s\n", strerror(-rc));
		return 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("my_async_function: stdout");
		return 1;
	}
	return (int)(intptr_t)status;
}
