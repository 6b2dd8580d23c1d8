/* bench/b_http.c: HTTP/1.1 load generators against one nginx: corio-load beside wrk and
 * `h2load --h1` (nghttp2-client), the same -t/-c/-d, interleaved in the same run.
 *
 * nginx (Debian's /usr/sbin/nginx, a config generated in a temporary directory, 127.0.0.1,
 * a free port, one small static file, access log off, unlimited keep-alive) is started and
 * stopped by pid and registered with the runner's child registry. With 2 CPUs or more the
 * generators are pinned to the lower half of the CPUs and nginx to the upper half
 * (sched_setaffinity in the child before exec), one generator thread and one nginx worker
 * per CPU of its half. Each generator runs as its own process; its CPU time (user +
 * system) comes from wait4's rusage.
 *
 * Two results per configuration: requests per second, and requests per CPU-second of the
 * generator. Targets (reported, not asserted): corio-load >= 1.0x wrk's req/s (nginx is
 * the limit then) and >= 1.1x wrk's requests per CPU-second. A peer that is not installed
 * is reported as skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
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

#include "bench.h"

#define NGEN 3

typedef struct gen {
	const char *name;
	char path[PATH_MAX];
	const char *skipped;
} gen;

typedef struct setup {
	char dir[64];           /* the temporary directory: config, root, logs */
	char nginx[PATH_MAX];
	int port;
	pid_t pid;
	cpu_set_t gen_cpus, srv_cpus;
	bool pinned;
	int gen_threads, workers;
} setup;

/* ---- nginx ------------------------------------------------------------------------- */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* A page of the size of nginx's own welcome page (612 bytes). */
static void make_page(char *buf, size_t len)
{
	static const char head[] = "<!DOCTYPE html>\n<html>\n"
				   "<head><title>corio bench</title></head>\n<body>\n<p>";
	static const char tail[] = "</p>\n</body>\n</html>\n";
	size_t n = 612 - (sizeof head - 1) - (sizeof tail - 1);
	size_t k = 0;

	k += (size_t)snprintf(buf + k, len - k, "%s", head);
	for (size_t i = 0; i < n && k + 1 < len; i++)
		buf[k++] = (char)('a' + i % 26);
	snprintf(buf + k, len - k, "%s", tail);
}

static int nginx_config(setup *s)
{
	static const char *const temps[] = { "proxy", "fastcgi", "uwsgi", "scgi" };
	char path[PATH_MAX], conf[4096], page[1024], v[4096];
	char *const vargv[] = { s->nginx, "-V", NULL };
	size_t k;

	snprintf(path, sizeof path, "%s/root", s->dir);
	if (mkdir(path, 0755) != 0)
		return -1;
	make_page(page, sizeof page);
	snprintf(path, sizeof path, "%s/root/index.html", s->dir);
	if (write_text(path, page) != 0)
		return -1;
	/* Temporary paths of modules that are compiled in (nginx-light lacks some). */
	if (bench_capture(vargv, v, sizeof v, 10) < 0)
		v[0] = 0;
	k = (size_t)snprintf(conf, sizeof conf,
			     "worker_processes %d;\n"
			     "daemon off;\n"
			     "master_process on;\n"
			     "pid %s/nginx.pid;\n"
			     "error_log %s/error.log error;\n"
			     "events { worker_connections 8192; }\n"
			     "http {\n"
			     "  access_log off;\n"
			     "  keepalive_requests 100000000;\n"
			     "  keepalive_timeout 300s;\n"
			     "  client_body_temp_path %s/tmp_body;\n",
			     s->workers, s->dir, s->dir, s->dir);
	for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++) {
		char without[64];

		snprintf(without, sizeof without, "without-http_%s_module", temps[i]);
		if (!strstr(v, without))
			k += (size_t)snprintf(conf + k, sizeof conf - k,
					      "  %s_temp_path %s/tmp_%s;\n", temps[i], s->dir,
					      temps[i]);
	}
	snprintf(conf + k, sizeof conf - k,
		 "  server {\n"
		 "    listen 127.0.0.1:%d;\n"
		 "    root %s/root;\n"
		 "  }\n"
		 "}\n",
		 s->port, s->dir);
	snprintf(path, sizeof path, "%s/nginx.conf", s->dir);
	return write_text(path, conf);
}

static const char *nginx_start(setup *s)
{
	char conf[PATH_MAX], elog[PATH_MAX];
	uint64_t until;

	if (!bench_which("nginx", s->nginx, sizeof s->nginx))
		return "nginx not installed";
	snprintf(s->dir, sizeof s->dir, "/tmp/corio-bench-http-XXXXXX");
	if (!mkdtemp(s->dir))
		return "mkdtemp failed";
	chmod(s->dir, 0755); /* nginx's workers may run as another user */
	s->port = free_port();
	if (s->port < 0 || nginx_config(s) != 0)
		return "cannot write the nginx config";
	snprintf(conf, sizeof conf, "%s/nginx.conf", s->dir);
	snprintf(elog, sizeof elog, "%s/error.log", s->dir);
	s->pid = bench_fork();
	if (s->pid < 0)
		return "fork failed";
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (s->pinned)
			sched_setaffinity(0, sizeof s->srv_cpus, &s->srv_cpus);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		execl(s->nginx, s->nginx, "-e", elog, "-p", s->dir, "-c", conf, (char *)NULL);
		_exit(127);
	}
	until = bench_now() + 5000000000ull;
	while (bench_now() < until) {
		int st;

		if (port_open(s->port))
			return NULL;
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			bench_child_reaped(s->pid);
			s->pid = 0;
			return "nginx exited at start (see its error.log)";
		}
		usleep(10000);
	}
	return "nginx did not start listening";
}

static void nginx_stop(setup *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		bench_child_reaped(s->pid);
		s->pid = 0;
	}
}

static void remove_tree(const char *dir)
{
	static const char *const files[] = { "root/index.html", "nginx.conf", "error.log",
					     "nginx.pid" };
	static const char *const dirs[] = { "root", "tmp_body", "tmp_proxy", "tmp_fastcgi",
					    "tmp_uwsgi", "tmp_scgi" };
	char p[PATH_MAX];

	if (!dir[0])
		return;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
		rmdir(p);
	}
	rmdir(dir);
}

/* ---- running a generator ----------------------------------------------------------- */

/* Runs argv pinned to the generator CPUs, stdout into out; *cpu_s gets its user + system
 * CPU time. Returns the exit status, or -1 when it could not start. */
static int run_gen(setup *s, char *const argv[], char *out, size_t outlen, double *cpu_s)
{
	struct rusage ru;
	size_t used = 0;
	int fds[2], st;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid = bench_fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		if (s->pinned)
			sched_setaffinity(0, sizeof s->gen_cpus, &s->gen_cpus);
		dup2(fds[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], out + used, outlen - 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used + 1 >= outlen) {
			char sink[512];

			while (read(fds[0], sink, sizeof sink) > 0)
				;
			break;
		}
	}
	out[used] = 0;
	close(fds[0]);
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR) {
			bench_child_reaped(pid);
			return -1;
		}
	bench_child_reaped(pid);
	*cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static double num_after(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	return p ? strtod(p + strlen(key), NULL) : -1;
}

/* Requests completed and seconds measured, from each generator's own output. */
static bool parse_out(int g, const char *out, double *requests, double *secs)
{
	const char *p;

	switch (g) {
	case 0: /* corio-load --json */
		*requests = num_after(out, "\"requests\":");
		*secs = num_after(out, "\"duration_s\":");
		return *requests > 0 && *secs > 0 && num_after(out, "\"total\":") == 0;
	case 1: /* wrk: "  123 requests in 2.00s, 1.2MB read" */
		p = strstr(out, " requests in ");
		if (!p)
			return false;
		while (p > out && p[-1] != '\n')
			p--;
		*requests = strtod(p, NULL);
		*secs = num_after(out, " requests in ");
		/* wrk prints socket errors and non-2xx counts; a clean run has neither. */
		return *requests > 0 && *secs > 0 && !strstr(out, "Socket errors") &&
		       !strstr(out, "Non-2xx");
	default: /* h2load: "finished in 2.00s, ..." and "requests: N total, ..., M succeeded" */
		*secs = num_after(out, "finished in ");
		p = strstr(out, "started, ");
		if (!p)
			return false;
		p = strstr(p, "done, ");
		*requests = p ? strtod(p + 6, NULL) : -1; /* succeeded */
		return *requests > 0 && *secs > 0 && num_after(out, "succeeded, ") == 0;
	}
}

/* ---- the benchmark ------------------------------------------------------------------- */

static void plan_cpus(setup *s)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t allowed;
	int cpus[256], n = 0;

	CPU_ZERO(&s->gen_cpus);
	CPU_ZERO(&s->srv_cpus);
	if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
		for (int i = 0; i < 256 && i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &allowed))
				cpus[n++] = i;
	if (n < 2) {
		s->pinned = false;
		s->gen_threads = 1;
		s->workers = 1;
		(void)ncpu;
		return;
	}
	s->pinned = true;
	s->gen_threads = n / 2;
	s->workers = n - n / 2;
	for (int i = 0; i < n; i++)
		CPU_SET(cpus[i], i < n / 2 ? &s->gen_cpus : &s->srv_cpus);
}

static void find_gens(gen *g)
{
	char self[PATH_MAX];

	g[0].name = "corio-load";
	g[1].name = "wrk";
	g[2].name = "h2load";
	snprintf(self, sizeof self, "%s", bench_self_exe() ? bench_self_exe() : "");
	snprintf(g[0].path, sizeof g[0].path, "%s/corio-load", dirname(self));
	if (access(g[0].path, X_OK) != 0)
		g[0].skipped = "corio-load not built";
	if (!bench_which("wrk", g[1].path, sizeof g[1].path))
		g[1].skipped = "wrk not installed";
	if (!bench_which("h2load", g[2].path, sizeof g[2].path))
		g[2].skipped = "h2load not installed (nghttp2-client)";
}

static void argv_for(int g, const gen *gs, const setup *s, int conns, const char *dur_s,
		     const char *url, char *targs, char *cargs, char **argv)
{
	int i = 0;

	snprintf(targs, 16, "%d", s->gen_threads);
	snprintf(cargs, 16, "%d", conns);
	argv[i++] = (char *)gs[g].path;
	if (g == 2) {
		argv[i++] = "--h1";
		argv[i++] = "-t";
		argv[i++] = targs;
		argv[i++] = "-c";
		argv[i++] = cargs;
		argv[i++] = "-D";
		argv[i++] = (char *)dur_s; /* seconds */
	} else {
		static char d[24];

		snprintf(d, sizeof d, "%ss", dur_s);
		argv[i++] = "-t";
		argv[i++] = targs;
		argv[i++] = "-c";
		argv[i++] = cargs;
		argv[i++] = "-d";
		argv[i++] = d;
		if (g == 0)
			argv[i++] = "--json";
	}
	argv[i++] = (char *)url;
	argv[i] = NULL;
}

static void measure_config(setup *s, gen *gs, int conns, const bench_opts *o)
{
	const char *dur = o->quick ? "1" : "3";
	char url[64], out[16384], targs[16], cargs[16], *argv[16];
	bench_result rps, eff;
	int pr[NGEN], pe[NGEN];

	snprintf(url, sizeof url, "http://127.0.0.1:%d/index.html", s->port);
	bench_result_init(&rps, "http", "req/s", true, "conns=%d threads=%d nginx-workers=%d%s",
			  conns, s->gen_threads, s->workers, s->pinned ? " pinned" : "");
	bench_result_init(&eff, "http", "req/CPU-s", true,
			  "conns=%d threads=%d nginx-workers=%d%s generator CPU", conns,
			  s->gen_threads, s->workers, s->pinned ? " pinned" : "");
	snprintf(rps.note, sizeof rps.note, "target: corio-load >= 1.0x wrk");
	snprintf(eff.note, sizeof eff.note, "target: corio-load >= 1.1x wrk");
	for (int g = 0; g < NGEN; g++) {
		pr[g] = bench_result_peer(&rps, gs[g].name);
		pe[g] = bench_result_peer(&eff, gs[g].name);
		if (gs[g].skipped) {
			bench_result_skip(&rps, pr[g], gs[g].skipped);
			bench_result_skip(&eff, pe[g], gs[g].skipped);
		}
	}
	for (int run = 0; run < o->runs; run++) {
		for (int g = 0; g < NGEN; g++) {
			double cpu = 0, req = 0, secs = 0;
			int st;

			if (gs[g].skipped)
				continue;
			argv_for(g, gs, s, conns, dur, url, targs, cargs, argv);
			st = run_gen(s, argv, out, sizeof out, &cpu);
			if (st != 0 || !parse_out(g, out, &req, &secs)) {
				bench_log("http: %s run %d failed (status %d):\n%s\n", gs[g].name,
					  run + 1, st, out);
				continue;
			}
			bench_result_add(&rps, pr[g], req / secs);
			if (cpu > 0)
				bench_result_add(&eff, pe[g], req / cpu);
		}
	}
	for (int g = 0; g < NGEN; g++)
		if (!gs[g].skipped && rps.peers[pr[g]].n == 0) {
			bench_result_skip(&rps, pr[g], "every run failed");
			bench_result_skip(&eff, pe[g], "every run failed");
		}
	bench_result_report(&rps, o);
	bench_result_report(&eff, o);
}

static int run(const bench_opts *o)
{
	static const int conns[] = { 64, 256 };
	setup s = { 0 };
	gen gs[NGEN] = { 0 };
	const char *why;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	find_gens(gs);
	if (gs[0].skipped) {
		bench_log("http: %s\n", gs[0].skipped);
		return 1;
	}
	plan_cpus(&s);
	why = nginx_start(&s);
	if (why) {
		bench_log("http: %s\n", why);
		nginx_stop(&s);
		remove_tree(s.dir);
		return 1;
	}
	/* --quick: the first configuration only (the suite must finish in 2 minutes). */
	for (size_t i = 0; i < (o->quick ? 1 : sizeof conns / sizeof conns[0]); i++)
		measure_config(&s, gs, conns[i] < s.gen_threads ? s.gen_threads : conns[i], o);
	nginx_stop(&s);
	remove_tree(s.dir);
	return 0;
}

const bench_def bench_http = {
	.name = "http",
	.desc = "HTTP/1.1 load generators on nginx: corio-load vs wrk and h2load --h1 (req/s, "
		"req per generator CPU-s)",
	.run = run,
};
