/* examples/fetch_many.c: N URLs fetched concurrently on one client, like asyncio.gather
 * over session.get with one aiohttp ClientSession:
 *
 *     async def fetch(session, url):
 *         async with session.get(url) as response:
 *             return response.status, len(await response.read())
 *
 *     async def main(urls):
 *         async with aiohttp.ClientSession() as session:
 *             results = await asyncio.gather(*(fetch(session, u) for u in urls))
 *
 * One task per URL (corio_spawn = create_task), corio_gather waits for all of them; the
 * client's pool shares keep-alive connections between the tasks. Prints one line per URL,
 * in the order given: "status length url", or "error message url".
 * Usage: fetch_many [--cacert FILE] URL...   (exit status 1 when any fetch failed)
 * https:// URLs are verified against the system trust store, or with --cacert against the
 * CA certificates in FILE (PEM) alone.
 */
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

typedef struct fetch_job {
	corio_http_client *session;
	const char *url;
	int status;   /* HTTP status, or a negative errno */
	int64_t length;
} fetch_job;

/* Reads the body in pieces (no need to keep it): its length, or -errno. */
static int64_t body_length(corio_http_response *r)
{
	char *buf = malloc(65536); /* coroutine stacks are small: buffers go on the heap */
	int64_t total = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	while ((n = corio_http_response_read(r, buf, 65536)) > 0)
		total += n;
	free(buf);
	return n < 0 ? n : total;
}

static void *fetch(void *arg)
{
	fetch_job *j = arg;
	corio_http_response *r;
	int rc = corio_http_get(j->session, j->url, &r);

	if (rc < 0) {
		j->status = rc;
		return NULL;
	}
	j->status = corio_http_response_status(r);
	j->length = body_length(r);
	if (j->length < 0)
		j->status = (int)j->length;
	corio_http_response_free(r);
	return NULL;
}

typedef struct args {
	int n;
	char **urls;
	corio_tls_config *tls; /* NULL: the system trust store */
} args;

static void *main_task(void *arg)
{
	args *a = arg;
	corio_http_client_opts opts = { .tls = a->tls };
	corio_http_client *session = corio_http_client_new(&opts);
	fetch_job *jobs = calloc((size_t)a->n, sizeof *jobs);
	corio_task **tasks = calloc((size_t)a->n, sizeof *tasks);
	int failed = 0, spawned = 0;

	if (!session || !jobs || !tasks) {
		fprintf(stderr, "fetch_many: out of memory\n");
		failed = 1;
		goto out;
	}
	for (int i = 0; i < a->n; i++) {
		jobs[i] = (fetch_job){session, a->urls[i], 0, 0};
		tasks[i] = corio_spawn(fetch, &jobs[i]);
		if (!tasks[i]) {
			fprintf(stderr, "fetch_many: cannot start a task\n");
			failed = 1;
			break;
		}
		spawned++;
	}
	corio_gather(tasks, (size_t)spawned, NULL); /* joins every task */
	for (int i = 0; i < spawned; i++) {
		if (jobs[i].status < 0) {
			int e = jobs[i].status;

			printf("error %s %s\n",
			       CORIO_IS_EAI(e) ? gai_strerror(e + CORIO_EAI_BASE) : strerror(-e),
			       jobs[i].url);
			failed = 1;
		} else {
			printf("%d %lld %s\n", jobs[i].status, (long long)jobs[i].length,
			       jobs[i].url);
		}
	}
out:
	corio_http_client_free(session);
	free(jobs);
	free(tasks);
	return (void *)(intptr_t)failed;
}

int main(int argc, char **argv)
{
	args a = {argc - 1, argv + 1, NULL};
	void *status;
	int rc;

	if (argc >= 3 && !strcmp(argv[1], "--cacert")) {
		a.tls = corio_tls_config_new(false);
		if (!a.tls) {
			fprintf(stderr, "fetch_many: out of memory\n");
			return 1;
		}
		rc = corio_tls_config_ca(a.tls, argv[2], NULL);
		if (rc < 0) {
			fprintf(stderr, "fetch_many: %s: %s\n", argv[2],
				rc == -ENOENT ? "unreadable, or no PEM certificate in it"
					      : strerror(-rc));
			corio_tls_config_free(a.tls);
			return 1;
		}
		a.n -= 2;
		a.urls += 2;
	}
	if (a.n < 1 || a.urls[0][0] == '-') {
		fprintf(stderr, "usage: %s [--cacert FILE] URL...\n", argv[0]);
		corio_tls_config_free(a.tls);
		return 2;
	}
	rc = corio_run(main_task, &a, &status);
	corio_tls_config_free(a.tls); /* the session held its own reference */
	if (rc < 0) {
		fprintf(stderr, "fetch_many: corio_run: %s\n", strerror(-rc));
		return 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("fetch_many: stdout");
		return 1;
	}
	return (int)(intptr_t)status;
}
