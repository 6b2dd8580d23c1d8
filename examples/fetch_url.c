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
 * session's pool, the session closes its connections. Usage: fetch_url URL
 */
#include <errno.h>
#include <netdb.h>
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
		return "unsupported scheme (only http:// for now)";
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

/* Fetches url; *text gets a malloc'd copy of the body. 0 or -errno. */
static int fetch_url(const char *url, char **text, int *status)
{
	corio_http_client *session = corio_http_client_new(NULL);
	corio_http_response *response = NULL;
	const char *body;
	size_t len;
	int rc;

	if (!session)
		return -ENOMEM;
	rc = corio_http_get(session, url, &response); /* parks until the headers are in */
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
	const char *url = arg;
	char *text = NULL;
	int status = 0, rc = fetch_url(url, &text, &status);

	if (rc < 0) {
		fprintf(stderr, "fetch_url: %s: %s\n", url, describe(rc));
		return (void *)(intptr_t)1;
	}
	if (status >= 400)
		fprintf(stderr, "fetch_url: %s: HTTP status %d\n", url, status);
	printf("%.100s\n", text);
	free(text);
	return (void *)(intptr_t)0;
}

int main(int argc, char **argv)
{
	void *status;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s URL\n", argv[0]);
		return 2;
	}
	rc = corio_run(main_task, argv[1], &status);
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
