/* examples/gather.c: many coroutines at once, like asyncio.gather. COUNT tasks (default
 * 100 000) each run the seed's fetch_data pattern (sleep one second, return "Data"); main
 * waits for all of them, then prints how many finished, the elapsed time and the peak RSS.
 *
 *     async def fetch_data():                    static void *fetch_data(void *arg)
 *         await asyncio.sleep(1)                 {   corio_sleep(CORIO_SEC(1));
 *         return "Data"                              return "Data";
 *                                                }
 *     async def main(n):                         static void *main_task(void *arg)
 *         tasks = [asyncio.create_task(          {   for (i = 0; i < n; i++)
 *                      fetch_data())                     tasks[i] = corio_spawn(fetch_data, NULL);
 *                  for _ in range(n)]
 *         results = await asyncio.gather(*tasks)     corio_gather(tasks, n, results);
 *                                                }
 *     asyncio.run(main(100_000))                 corio_run(main_task, &run, NULL);
 *
 * Every task has its own stack, but only the pages it touches are resident, so 100 000
 * sleeping tasks fit in well under a GiB. All of them sleep at the same time: the whole
 * program takes about one second, not 100 000.
 *
 * Usage: gather [COUNT]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <corio/corio.h>

struct run {
	size_t count;    /* tasks to start */
	size_t finished; /* tasks that returned "Data" */
	uint64_t elapsed;
};

static void *fetch_data(void *arg)
{
	(void)arg;
	if (corio_sleep(CORIO_SEC(1)) < 0)
		return NULL; /* cancelled */
	return "Data";
}

static void *main_task(void *arg)
{
	struct run *r = arg;
	uint64_t start = corio_now();
	corio_task **tasks = calloc(r->count, sizeof *tasks);
	void **results = calloc(r->count, sizeof *results);
	size_t spawned = 0;
	int rc;

	if (!tasks || !results) {
		fprintf(stderr, "gather: out of memory for %zu tasks\n", r->count);
		goto out;
	}
	/* asyncio.create_task(fetch_data()), COUNT times: each task starts at the loop's
	 * next turn, that is when main_task parks in corio_gather below. */
	for (; spawned < r->count; spawned++) {
		tasks[spawned] = corio_spawn(fetch_data, NULL);
		if (!tasks[spawned])
			break;
	}
	if (spawned < r->count) {
		fprintf(stderr, "gather: corio_spawn: %s after %zu tasks\n", strerror(errno),
			spawned);
		/* Every spawned task must still be joined: cancel them, then gather them. */
		for (size_t i = 0; i < spawned; i++)
			corio_cancel(tasks[i]);
	}
	/* await asyncio.gather(*tasks): joins every task, results in task order. */
	rc = corio_gather(tasks, spawned, results);
	if (rc < 0 && spawned == r->count)
		fprintf(stderr, "gather: corio_gather: %s\n", strerror(-rc));
	for (size_t i = 0; i < spawned; i++)
		if (results[i] && strcmp(results[i], "Data") == 0)
			r->finished++;
out:
	r->elapsed = corio_now() - start;
	free(tasks);
	free(results);
	return NULL;
}

int main(int argc, char **argv)
{
	struct run r = { .count = 100000 };
	struct rusage ru;
	char *end;
	int rc;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [COUNT]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		errno = 0;
		r.count = strtoul(argv[1], &end, 10);
		if (errno || end == argv[1] || *end || argv[1][0] == '-' || r.count == 0) {
			fprintf(stderr, "usage: %s [COUNT]   (COUNT: a number of tasks, >= 1)\n",
				argv[0]);
			return 2;
		}
	}
	rc = corio_run(main_task, &r, NULL);
	if (rc < 0) {
		fprintf(stderr, "gather: corio_run: %s\n", strerror(-rc));
		return 1;
	}
	if (getrusage(RUSAGE_SELF, &ru) != 0) {
		perror("gather: getrusage");
		return 1;
	}
	printf("%zu coroutines finished\n", r.finished);
	printf("elapsed: %.3f s\n", (double)r.elapsed / 1e9);
	printf("peak RSS: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0); /* ru_maxrss is in KiB */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("gather: stdout");
		return 1;
	}
	return r.finished == r.count ? 0 : 1;
}
