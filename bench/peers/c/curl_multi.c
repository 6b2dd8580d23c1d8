/* bench/peers/curl_multi.c: the libcurl peer of corio-bench's http_client and
 * https_client: N easy handles on one multi handle (keep-alive: the multi's connection
 * cache), each fetching URL again and again with HTTP/1.1 until SECS have passed. For an
 * https:// URL, CAFILE is the CA to trust (CURLOPT_CAINFO; the certificate and its name are
 * verified, libcurl's defaults). Prints one line:
 *     requests=<completed with status 200> secs=<elapsed> errors=<failed transfers>
 * usage: peer-curl_multi URL N SECS [CAFILE]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The body is counted by libcurl and dropped here. */
static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

int main(int argc, char **argv)
{
	unsigned long long done = 0, errors = 0;
	double t0, end, secs;
	CURLM *m;
	CURL **h;
	int n, running = 0, active;

	if ((argc != 4 && argc != 5) || (n = atoi(argv[2])) < 1 || (secs = atof(argv[3])) <= 0) {
		fprintf(stderr, "usage: %s URL N SECS [CAFILE]\n", argv[0]);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	m = curl_multi_init();
	h = calloc((size_t)n, sizeof *h);
	if (!m || !h)
		return 1;
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)n);
	for (int i = 0; i < n; i++) {
		h[i] = curl_easy_init();
		if (!h[i])
			return 1;
		curl_easy_setopt(h[i], CURLOPT_URL, argv[1]);
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(h[i], CURLOPT_TCP_NODELAY, 1L);
		/* HTTP/1.1 like every client of the benchmark (libcurl offers h2 on https). */
		curl_easy_setopt(h[i], CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
		if (argc == 5)
			curl_easy_setopt(h[i], CURLOPT_CAINFO, argv[4]);
		curl_easy_setopt(h[i], CURLOPT_PRIVATE, (void *)h[i]);
		curl_multi_add_handle(m, h[i]);
	}
	t0 = now();
	end = t0 + secs;
	active = n;
	while (active > 0) {
		CURLMsg *msg;
		int left;

		if (curl_multi_perform(m, &running) != CURLM_OK)
			return 1;
		while ((msg = curl_multi_info_read(m, &left))) {
			CURL *e;
			long code = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			e = msg->easy_handle;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
			if (msg->data.result == CURLE_OK && code == 200)
				done++;
			else
				errors++;
			curl_multi_remove_handle(m, e);
			if (now() < end)
				curl_multi_add_handle(m, e); /* again, on a cached connection */
			else
				active--;
		}
		if (active > 0 && curl_multi_poll(m, NULL, 0, 100, NULL) != CURLM_OK)
			return 1;
	}
	printf("requests=%llu secs=%.6f errors=%llu\n", done, now() - t0, errors);
	for (int i = 0; i < n; i++)
		curl_easy_cleanup(h[i]);
	curl_multi_cleanup(m);
	free(h);
	curl_global_cleanup();
	return 0;
}
