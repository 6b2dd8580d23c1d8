/* examples/fetch_url.c: the seed's aiohttp example in C: fetch a URL with a client session
 * and print the first 100 characters of the body.
 *
 *     async def fetch_url(url):                  static int fetch_url(const char *url, ...)
 *         async with aiohttp.ClientSession() \       corio_http_client *session =
 *                 as session:                            corio_http_client_new(NULL);
 *             async with session.get(url) \          corio_http_get(session, url, &response);
 *                     as response:
 *                 return await response.text()       corio_http_response_text(response, ...);
 *
 *     text = asyncio.run(fetch_url(url))         corio_run(main_task, url, &status);
 *     print(text[:100])                          printf("%.100s\n", text);
 *
 * `async with` becomes explicit frees: the response gives its connection back to the
 * session's pool, the session closes its connections.
 *
 * https:// URLs are checked against the system's trust store, as aiohttp does; --cacert
 * FILE trusts the CA certificates in FILE (PEM) instead, for a server whose certificate a
 * private CA signed (or a self-signed one). There is deliberately no way to turn the check
 * off. When the TLS handshake fails, the reason is printed (corio_tls_error).
 *
 * Usage: fetch_url [--cacert FILE] URL
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

/* A readable message for any error the client returns. */
static const char *describe(int err)
{
	switch (err) {
	case -EPROTONOSUPPORT:
		return "unsupported scheme (only http:// and https://)";
	case -EKEYREJECTED:
		return "TLS: the server's certificate was rejected";
	case -EINVAL:
		return "invalid URL";
	case -EBADMSG:
		return "malformed response";
	case -EPROTO:
		return "response cut short";
	case -EMSGSIZE:
		return "response headers too large";
	case -EFBIG:
		return "response body too large";
	case -ELOOP:
		return "too many redirects";
	case -ETIMEDOUT:
		return "timed out";
	default:
		if (CORIO_IS_EAI(err)) /* name resolution: CORIO_EAI(e) == e - CORIO_EAI_BASE */
			return gai_strerror(err + CORIO_EAI_BASE);
		return strerror(-err);
	}
}

struct job {
	const char *url;
	const char *cacert;   /* NULL: the system trust store */
	corio_tls_config *tls; /* made from cacert */
	char tls_error[256];  /* why the TLS handshake failed, "" when it did not */
};

/* Fetches job->url; *text gets a malloc'd copy of the body. 0 or -errno. */
static int fetch_url(struct job *job, char **text, int *status)
{
	corio_http_client_opts opts = { .tls = job->tls }; /* the rest: defaults */
	corio_http_client *session = corio_http_client_new(&opts);
	corio_http_response *response = NULL;
	const char *body;
	size_t len;
	int rc;

	if (!session)
		return -ENOMEM;
	rc = corio_http_get(session, job->url, &response); /* parks until the headers are in */
	/* The reason of this thread's last failed handshake: read before anything parks again. */
	if (rc < 0)
		snprintf(job->tls_error, sizeof job->tls_error, "%s", corio_tls_error(NULL));
	if (rc == 0)
		rc = corio_http_response_text(response, &body, &len); /* parks until the end */
	if (rc == 0) {
		*status = corio_http_response_status(response);
		*text = strndup(body, len);
		if (!*text)
			rc = -ENOMEM;
	}
	corio_http_response_free(response);
	corio_http_client_free(session);
	return rc;
}

static void *main_task(void *arg)
{
	struct job *job = arg;
	const char *url = job->url;
	char *text = NULL;
	int status = 0, rc = fetch_url(job, &text, &status);

	if (rc < 0) {
		if (job->tls_error[0]) /* the handshake failed: say why */
			fprintf(stderr, "fetch_url: %s: %s (%s)\n", url,
				rc == -EPROTO ? "TLS handshake failed" : describe(rc), job->tls_error);
		else
			fprintf(stderr, "fetch_url: %s: %s\n", url, describe(rc));
		return (void *)(intptr_t)1;
	}
	if (status >= 400)
		fprintf(stderr, "fetch_url: %s: HTTP status %d\n", url, status);
	printf("%.100s\n", text);
	free(text);
	return (void *)(intptr_t)0;
}

/* A client TLS config trusting only the CA certificates in cacert, or NULL (said why). */
static corio_tls_config *trust(const char *cacert)
{
	corio_tls_config *c = corio_tls_config_new(false);
	int rc;

	if (!c) {
		fprintf(stderr, "fetch_url: out of memory\n");
		return NULL;
	}
	rc = corio_tls_config_ca(c, cacert, NULL);
	if (rc < 0) {
		FILE *f = fopen(cacert, "r"); /* which: unreadable, or no certificate in it */

		if (!f) {
			fprintf(stderr, "fetch_url: %s: %s\n", cacert, strerror(errno));
		} else {
			fprintf(stderr, "fetch_url: %s: %s\n", cacert,
				rc == -ENOENT ? "no PEM certificate in it" : strerror(-rc));
			fclose(f);
		}
		corio_tls_config_free(c);
		return NULL;
	}
	return c;
}

int main(int argc, char **argv)
{
	struct job job = { 0 };
	bool bad = false;
	void *status;
	int rc;

	for (int i = 1; i < argc && !bad; i++) {
		if (!strcmp(argv[i], "--cacert") && i + 1 < argc)
			job.cacert = argv[++i];
		else if (argv[i][0] != '-' && !job.url)
			job.url = argv[i];
		else
			bad = true;
	}
	if (bad || !job.url) {
		fprintf(stderr, "usage: %s [--cacert FILE] URL\n", argv[0]);
		return 2;
	}
	if (job.cacert && !(job.tls = trust(job.cacert)))
		return 1;
	rc = corio_run(main_task, &job, &status);
	corio_tls_config_free(job.tls); /* the session held its own reference */
	if (rc < 0) {
		fprintf(stderr, "fetch_url: corio_run: %s\n", strerror(-rc));
		return 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("fetch_url: stdout");
		return 1;
	}
	return (int)(intptr_t)status;
}
