/* tests/http/test_server_curl.c: the HTTP/1.1 server with curl as its client (skipped when
 * /usr/bin/curl is not installed). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "tests/support/helpers.h"
#include "tests/http/server_helpers.h"

/* ---- curl as a client ------------------------------------------------------------------ */

typedef struct curlrun {
	char *const *argv;
	char out[4096];
	int status;
} curlrun;

/* Runs curl on the thread pool (the loop keeps serving meanwhile); stdout to out. */
static void *run_curl(void *arg)
{
	curlrun *cr = arg;
	char path[] = "/tmp/corio-curl-XXXXXX";
	int fd = mkstemp(path), st = -1;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	ssize_t n;

	if (fd < 0)
		return NULL;
	unlink(path);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	if (posix_spawn(&pid, "/usr/bin/curl", &fa, NULL, cr->argv, environ) == 0 &&
	    waitpid(pid, &st, 0) == pid)
		cr->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	posix_spawn_file_actions_destroy(&fa);
	n = pread(fd, cr->out, sizeof cr->out - 1, 0);
	cr->out[n > 0 ? n : 0] = '\0';
	close(fd);
	return NULL;
}

static void *t_curl(void *arg)
{
	srvctx x;
	char u1[128], u2[128], u3[128];
	curlrun cr = {0};

	TH_CHECK(srv_start(&x, NULL) == 0);
	snprintf(u1, sizeof u1, "http://127.0.0.1:%d/", x.port);
	snprintf(u2, sizeof u2, "http://127.0.0.1:%d/echo", x.port);
	snprintf(u3, sizeof u3, "http://127.0.0.1:%d/files/hello.txt", x.port);
	{
		/* two URLs on one connection (keep-alive), then a POST, then a range */
		char *const argv[] = {"curl", "-sS", "--noproxy", "*", u1, u1, NULL};

		cr.argv = argv;
		TH_CHECK(corio_blocking(run_curl, &cr, NULL) == 0);
		TH_CHECK(cr.status == 0 && !strcmp(cr.out, "hello world\nhello world\n"));
	}
	{
		char *const argv[] = {"curl",
				      "-sS",
				      "--noproxy",
				      "*",
				      "--data-binary",
				      "posted body",
				      "-H",
				      "Expect: 100-continue",
				      u2,
				      NULL};

		cr.argv = argv;
		TH_CHECK(corio_blocking(run_curl, &cr, NULL) == 0);
		TH_CHECK(cr.status == 0 && !strcmp(cr.out, "posted body"));
	}
	{
		char *const argv[] = {"curl",
				      "-sS",
				      "--noproxy",
				      "*",
				      "-H",
				      "Transfer-Encoding: chunked",
				      "--data-binary",
				      "chunked body",
				      u2,
				      NULL};

		cr.argv = argv;
		TH_CHECK(corio_blocking(run_curl, &cr, NULL) == 0);
		TH_CHECK(cr.status == 0 && !strcmp(cr.out, "chunked body"));
	}
	{
		char *const argv[] = {"curl", "-sS", "--noproxy", "*", "-r", "3-6", u3, NULL};

		cr.argv = argv;
		TH_CHECK(corio_blocking(run_curl, &cr, NULL) == 0);
		TH_CHECK(cr.status == 0 && !strcmp(cr.out, "3456"));
	}
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(curl_client)
{
	if (access("/usr/bin/curl", X_OK) != 0) {
		fprintf(stderr, "curl_client: /usr/bin/curl not installed, skipped\n");
		return;
	}
	make_files();
	RUN_OK(t_curl, NULL);
	rm_files();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_server");

	TH_TCASE(s, "server", TH_TIMEOUT, curl_client);
	return th_main(s);
}
