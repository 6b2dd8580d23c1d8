/* bench/http_common.c: helpers shared by the HTTP benchmarks (see http_common.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <corio/http_server.h>

#include "bench/bench.h"
#include "bench/http_common.h"

/* ---- CPUs ------------------------------------------------------------------------------ */

void hc_plan_cpus(hc_cpus *c)
{
	cpu_set_t allowed;
	int cpus[256], n = 0;

	CPU_ZERO(&c->gen);
	CPU_ZERO(&c->srv);
	if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
		for (int i = 0; i < 256 && i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &allowed))
				cpus[n++] = i;
	if (n < 2) {
		c->pinned = false;
		c->gen_n = 1;
		c->srv_n = 1;
		return;
	}
	c->pinned = true;
	c->gen_n = n / 2;
	c->srv_n = n - n / 2;
	for (int i = 0; i < n; i++)
		CPU_SET(cpus[i], i < n / 2 ? &c->gen : &c->srv);
}

void hc_first_cpu(const cpu_set_t *set, cpu_set_t *one)
{
	CPU_ZERO(one);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, set)) {
			CPU_SET(i, one);
			return;
		}
}

/* ---- the document root ------------------------------------------------------------------ */

int hc_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	size_t w;

	if (!f)
		return -1;
	w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

/* A page of size bytes: an HTML head, letters, an HTML tail. */
static void make_page(char *buf, size_t size)
{
	static const char head[] = "<!DOCTYPE html>\n<html>\n"
				   "<head><title>corio bench</title></head>\n<body>\n<p>";
	static const char tail[] = "</p>\n</body>\n</html>\n";
	size_t n = size - (sizeof head - 1) - (sizeof tail - 1), k = 0;

	memcpy(buf, head, sizeof head - 1);
	k = sizeof head - 1;
	for (size_t i = 0; i < n; i++)
		buf[k++] = (char)('a' + i % 26);
	memcpy(buf + k, tail, sizeof tail - 1);
}

int hc_make_root(const char *dir)
{
	char path[PATH_MAX], page[HC_FILE_SIZE];

	snprintf(path, sizeof path, "%s/root", dir);
	if (mkdir(path, 0755) != 0)
		return -1;
	make_page(page, 612); /* the size of nginx's own welcome page */
	snprintf(path, sizeof path, "%s/root/index.html", dir);
	if (hc_write_file(path, page, 612) != 0)
		return -1;
	make_page(page, HC_FILE_SIZE);
	snprintf(path, sizeof path, "%s/root%s", dir, HC_FILE_PATH);
	return hc_write_file(path, page, HC_FILE_SIZE);
}

/* ---- certificates ----------------------------------------------------------------------- */

const char *hc_certs_make(th_certs *certs)
{
	bool ok = th_certs_make(certs);

	/* The directory first: the runner removes what it was given newest first. */
	if (certs->dir[0] && !strstr(certs->dir, "XXXXXX")) {
		bench_cleanup_path(certs->dir);
		for (int i = 0; i < CERT_NFILES; i++)
			bench_cleanup_path(certs->path[i]);
	}
	return ok ? NULL : "cannot make the test certificates";
}

void hc_certs_remove(th_certs *certs)
{
	if (!certs->dir[0] || strstr(certs->dir, "XXXXXX"))
		return;
	th_certs_remove(certs);
	for (int i = 0; i < CERT_NFILES; i++)
		bench_cleanup_forget(certs->path[i]);
	bench_cleanup_forget(certs->dir);
	certs->dir[0] = 0;
}

/* A blocking TCP connection to 127.0.0.1:port whose sends and receives give up after
 * secs; -1 when refused. */
static int connect_loopback(int port, int secs)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = secs };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* True when crt is the certificate in the PEM file path. */
static bool same_cert(X509 *crt, const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *want = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	bool same = crt && want && X509_cmp(crt, want) == 0;

	if (f)
		fclose(f);
	X509_free(want);
	return same;
}

/* "TLSv1.3 TLS_AES_256_GCM_SHA384, X25519, ECDSA P-256 leaf", from an established ssl. */
static void describe(SSL *ssl, X509 *leaf, char *desc, size_t len)
{
	EVP_PKEY *pk = leaf ? X509_get0_pubkey(leaf) : NULL;
	char curve[64] = "";
	size_t cl = 0;
	int group = SSL_get_negotiated_group(ssl);
	const char *gname = group ? OBJ_nid2sn(group & ~TLSEXT_nid_unknown) : NULL;

	if (pk && EVP_PKEY_get_group_name(pk, curve, sizeof curve, &cl) != 1)
		curve[0] = 0;
	snprintf(desc, len, "%s %s, %s, %s %s leaf", SSL_get_version(ssl),
		 SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)), gname ? gname : "?",
		 !pk ? "no" : EVP_PKEY_is_a(pk, "EC") ? "ECDSA" : EVP_PKEY_get0_type_name(pk),
		 strcmp(curve, "prime256v1") == 0 ? "P-256" : curve);
}

bool hc_tls_probe(int port, const th_certs *certs, char *desc, size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	X509 *leaf = NULL;
	int fd = -1;
	bool ok = false;

	snprintf(desc, len, "no TLS handshake");
	if (!ctx || SSL_CTX_load_verify_locations(ctx, certs->path[CERT_CA], NULL) != 1)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((fd = connect_loopback(port, 10)) < 0 || !(ssl = SSL_new(ctx)) ||
	    !SSL_set1_host(ssl, "127.0.0.1") || !SSL_set_fd(ssl, fd))
		goto out;
	if (SSL_connect(ssl) != 1) {
		unsigned long e = ERR_peek_last_error();

		snprintf(desc, len, "no TLS handshake: %s",
			 e ? ERR_reason_error_string(e) : "connection closed");
		goto out;
	}
	leaf = SSL_get1_peer_certificate(ssl);
	describe(ssl, leaf, desc, len);
	ok = SSL_version(ssl) == TLS1_3_VERSION && same_cert(leaf, certs->path[CERT_GOOD]);
	SSL_shutdown(ssl);
out:
	X509_free(leaf);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	return ok;
}

/* ---- nginx ------------------------------------------------------------------------------ */

const char *hc_nginx_start(hc_nginx *s, const th_certs *tls)
{
	const char *why;

	s->dir[0] = 0;
	s->pid = 0;
	s->connections = 8192;
	s->fork = bench_fork; /* registered: stopped by the runner on Ctrl-C */
	s->reaped = bench_child_reaped;
	s->ssl_cert = tls ? tls->path[CERT_GOOD] : NULL;
	s->ssl_key = tls ? tls->path[CERT_GOOD_KEY] : NULL;
	s->ssl_protocols = tls ? "TLSv1.3" : NULL;
	s->ssl_no_cache = true; /* nginx's default: session tickets, no shared cache */
	if ((why = th_nginx_dir(s, "corio-bench-http")))
		return why;
	if (hc_make_root(s->dir) != 0)
		return "cannot write the document root";
	if (!bench_which("nginx", s->bin, sizeof s->bin))
		return "nginx not installed";
	return th_nginx_start(s,
			      "  keepalive_requests 100000000;\n"
			      "  keepalive_timeout 300s;\n",
			      "    root root;\n" /* relative to the prefix (-p), the directory */
			      "    location = " HC_HELLO_PATH " {\n"
			      "      default_type text/plain;\n"
			      "      return 200 \"hello world\\n\";\n"
			      "    }\n"
			      /* gzip on the fly for clients that ask (http_server's gzip row;
			       * the other workloads send no Accept-Encoding); level 1 */
			      "    location = " HC_FILE_PATH " {\n"
			      "      gzip on;\n"
			      "    }");
}

void hc_nginx_stop(hc_nginx *s)
{
	th_nginx_stop(s);
}

/* ---- processes -------------------------------------------------------------------------- */

pid_t hc_spawn(const cpu_set_t *cpus, char *const argv[])
{
	th_child c = bench_child(argv);

	c.cpus = cpus;
	c.std[0] = c.std[1] = TH_FD_NULL;
	return th_spawn(&c);
}

int hc_run_gen(const cpu_set_t *cpus, char *const argv[], char *out, size_t outlen,
	       double *cpu_s)
{
	return hc_run_gen_env(cpus, argv, NULL, out, outlen, cpu_s);
}

int hc_run_gen_env(const cpu_set_t *cpus, char *const argv[], char *const envp[], char *out,
		   size_t outlen, double *cpu_s)
{
	th_child c = bench_child(argv);
	struct rusage ru;
	int rc;

	c.cpus = cpus;
	c.envp = envp;
	rc = th_run(&c, out, outlen, &ru);
	if (rc < 0)
		return -1;
	*cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return rc;
}

/* utime + stime of one process (all its threads), in clock ticks; -1 when gone. */
static long long stat_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* Fields after the command name (in parentheses, may hold spaces): state is field 3,
	 * utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return -1;
	return (long long)(ut + st);
}

double hc_proc_cpu(pid_t pid)
{
	char path[64], buf[4096];
	long long total = stat_ticks(pid), t;
	long hz = sysconf(_SC_CLK_TCK);
	DIR *d;
	struct dirent *e;

	if (total < 0)
		return -1;
	/* Children of every thread: /proc/PID/task/TID/children. */
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char cpath[320];
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)pid, e->d_name);
		fd = open(cpath, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *s = buf, *end; *s; s = end) {
			long c = strtol(s, &end, 10);

			if (end == s)
				break;
			if (c > 0 && (t = stat_ticks((pid_t)c)) > 0)
				total += t;
		}
	}
	if (d)
		closedir(d);
	return (double)total / (double)(hz > 0 ? hz : 100);
}

/* ---- output ----------------------------------------------------------------------------- */

double hc_num_after(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	return p ? strtod(p + strlen(key), NULL) : -1;
}

bool hc_parse_wrk(const char *out, double *requests, double *secs)
{
	const char *p = strstr(out, " requests in ");

	if (!p)
		return false;
	while (p > out && p[-1] != '\n')
		p--;
	*requests = strtod(p, NULL);
	*secs = hc_num_after(out, " requests in ");
	/* wrk prints socket errors and non-2xx counts; a clean run has neither. */
	return *requests > 0 && *secs > 0 && !strstr(out, "Socket errors") &&
	       !strstr(out, "Non-2xx");
}

void *hc_serve(corio_http_server *srv, const char *who, int port)
{
	int rc;

	if (!srv)
		return (void *)"out of memory";
	rc = corio_http_server_listen(srv, "127.0.0.1", port);
	if (rc < 0) {
		fprintf(stderr, "%s: listen: %s\n", who, corio_net_strerror(rc));
		corio_http_server_free(srv);
		return (void *)"listen failed";
	}
	rc = corio_http_server_serve(srv); /* until SIGTERM */
	corio_http_server_free(srv);
	return rc < 0 ? (void *)"serve failed" : NULL;
}
