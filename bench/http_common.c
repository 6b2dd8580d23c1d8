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

/* ---- ports ----------------------------------------------------------------------------- */

int hc_free_port(void)
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

bool hc_port_open(int port)
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

bool hc_wait_port(int port, pid_t *pid, double secs)
{
	uint64_t until = bench_now() + (uint64_t)(secs * 1e9);

	while (bench_now() < until) {
		int st;

		if (hc_port_open(port))
			return true;
		if (pid && *pid > 0 && waitpid(*pid, &st, WNOHANG) == *pid) {
			bench_child_reaped(*pid);
			*pid = 0;
			return false;
		}
		usleep(10000);
	}
	return false;
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

void hc_remove_root(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof p, "%s/root/index.html", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/root%s", dir, HC_FILE_PATH);
	unlink(p);
	snprintf(p, sizeof p, "%s/root", dir);
	rmdir(p);
}

/* ---- nginx ------------------------------------------------------------------------------ */

static int nginx_config(hc_nginx *s)
{
	static const char *const temps[] = { "proxy", "fastcgi", "uwsgi", "scgi" };
	char path[PATH_MAX], conf[4096], v[4096];
	char *const vargv[] = { s->nginx, "-V", NULL };
	size_t k;

	if (hc_make_root(s->dir) != 0)
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
			     s->workers > 0 ? s->workers : 1, s->dir, s->dir, s->dir);
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
		 "    location = " HC_HELLO_PATH " {\n"
		 "      default_type text/plain;\n"
		 "      return 200 \"hello world\\n\";\n"
		 "    }\n"
		 "  }\n"
		 "}\n",
		 s->port, s->dir);
	snprintf(path, sizeof path, "%s/nginx.conf", s->dir);
	return hc_write_file(path, conf, strlen(conf));
}

const char *hc_nginx_start(hc_nginx *s)
{
	char conf[PATH_MAX], elog[PATH_MAX];

	s->dir[0] = 0;
	s->pid = 0;
	if (!bench_which("nginx", s->nginx, sizeof s->nginx))
		return "nginx not installed";
	snprintf(s->dir, sizeof s->dir, "/tmp/corio-bench-http-XXXXXX");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = 0;
		return "mkdtemp failed";
	}
	chmod(s->dir, 0755); /* nginx's workers may run as another user */
	s->port = hc_free_port();
	if (s->port < 0 || nginx_config(s) != 0)
		return "cannot write the nginx config";
	snprintf(conf, sizeof conf, "%s/nginx.conf", s->dir);
	snprintf(elog, sizeof elog, "%s/error.log", s->dir);
	s->pid = hc_spawn(s->pinned ? &s->cpus : NULL,
			  (char *const[]){ s->nginx, "-e", elog, "-p", s->dir, "-c", conf, NULL });
	if (s->pid < 0) {
		s->pid = 0;
		return "fork failed";
	}
	if (hc_wait_port(s->port, &s->pid, 5))
		return NULL;
	return s->pid ? "nginx did not start listening" : "nginx exited at start (see its error.log)";
}

void hc_nginx_stop(hc_nginx *s)
{
	static const char *const files[] = { "nginx.conf", "error.log", "nginx.pid" };
	static const char *const dirs[] = { "tmp_body", "tmp_proxy", "tmp_fastcgi", "tmp_uwsgi",
					    "tmp_scgi" };
	char p[PATH_MAX];

	hc_stop(&s->pid);
	if (!s->dir[0])
		return;
	hc_remove_root(s->dir);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", s->dir, files[i]);
		unlink(p);
	}
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", s->dir, dirs[i]);
		rmdir(p);
	}
	rmdir(s->dir);
	s->dir[0] = 0;
}

/* ---- processes -------------------------------------------------------------------------- */

pid_t hc_spawn(const cpu_set_t *cpus, char *const argv[])
{
	pid_t pid = bench_fork(); /* registered: stopped by the runner on Ctrl-C */

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (cpus)
			sched_setaffinity(0, sizeof *cpus, cpus);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid < 0 ? -1 : pid;
}

void hc_stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
		bench_child_reaped(*pid);
		*pid = 0;
	}
}

int hc_run_gen(const cpu_set_t *cpus, char *const argv[], char *out, size_t outlen,
	       double *cpu_s)
{
	struct rusage ru;
	size_t used = 0;
	int fds[2], st;
	pid_t pid;

	out[0] = 0;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid = bench_fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		if (cpus)
			sched_setaffinity(0, sizeof *cpus, cpus);
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
