/* tests/bench/test_bench.c: the corio-bench runner as a user drives it (not the numbers: no test
 * asserts a speed). `run switch --quick --json --out DIR`: every stdout line is a JSON
 * object with the keys the runtime issue defined; results.json parses and has the switch
 * results; report.svg is an SVG document; index.html has the table. Bad usage exits 2 with
 * nothing on stdout; --no-files writes nothing; SIGINT stops the servers the run started;
 * `run soak --secs 3` samples the server, summarizes and sees it answer after the run.
 *
 * The program: $CORIO_BENCH_BIN, or corio-bench beside this test binary (the build
 * directory); skipped (77) when neither exists, e.g. a build with CORIO_BUILD_BENCH=OFF.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/helpers.h"
#include "tests/support/proc.h"
#include "tests/support/suite.h"

static char bench_bin[PATH_MAX];

/* ---- a small JSON checker (RFC 8259 grammar; values are not kept) ------------------ */

typedef struct jp {
	const char *p;
	int depth;
	/* Keys of the top-level object, when asked for. */
	char keys[32][64];
	int nkeys;
	bool collect;
} jp;

static bool j_value(jp *j);

static void j_ws(jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool j_string(jp *j, char *out, size_t len)
{
	size_t n = 0;

	if (*j->p != '"')
		return false;
	j->p++;
	while (*j->p && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (*j->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
						return false;
				j->p += 4;
			} else if (!*j->p || !strchr("\"\\/bfnrt", *j->p)) {
				return false;
			}
		}
		if (out && n + 1 < len)
			out[n++] = *j->p;
		j->p++;
	}
	if (out && len)
		out[n] = 0;
	if (*j->p != '"')
		return false;
	j->p++;
	return true;
}

static bool j_number(jp *j)
{
	const char *s = j->p;

	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return false;
	if (*j->p == '.') {
		j->p++;
		if (!(*j->p >= '0' && *j->p <= '9'))
			return false;
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!(*j->p >= '0' && *j->p <= '9'))
			return false;
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	return j->p > s;
}

/* After a member or an element: 1 on ',' (another follows), 0 on close (the end), -1 else. */
static int j_after_value(jp *j, char close)
{
	j_ws(j);
	if (*j->p == ',' || *j->p == close)
		return *j->p++ == ',';
	return -1;
}

static bool j_object(jp *j)
{
	bool top = j->depth == 1 && j->collect;
	int r;

	j->p++;
	j_ws(j);
	if (*j->p == '}') {
		j->p++;
		return true;
	}
	for (;;) {
		char key[64];

		j_ws(j);
		if (!j_string(j, key, sizeof key))
			return false;
		if (top && j->nkeys < 32)
			snprintf(j->keys[j->nkeys++], sizeof j->keys[0], "%s", key);
		j_ws(j);
		if (*j->p != ':')
			return false;
		j->p++;
		if (!j_value(j))
			return false;
		r = j_after_value(j, '}');
		if (r <= 0)
			return r == 0;
	}
}

static bool j_array(jp *j)
{
	int r;

	j->p++;
	j_ws(j);
	if (*j->p == ']') {
		j->p++;
		return true;
	}
	for (;;) {
		if (!j_value(j))
			return false;
		r = j_after_value(j, ']');
		if (r <= 0)
			return r == 0;
	}
}

static bool j_value(jp *j)
{
	bool ok;

	j_ws(j);
	if (++j->depth > 64)
		return false;
	switch (*j->p) {
	case '{':
		ok = j_object(j);
		break;
	case '[':
		ok = j_array(j);
		break;
	case '"':
		ok = j_string(j, NULL, 0);
		break;
	case 't':
		ok = strncmp(j->p, "true", 4) == 0 && (j->p += 4);
		break;
	case 'f':
		ok = strncmp(j->p, "false", 5) == 0 && (j->p += 5);
		break;
	case 'n':
		ok = strncmp(j->p, "null", 4) == 0 && (j->p += 4);
		break;
	default:
		ok = j_number(j);
	}
	j->depth--;
	return ok;
}

/* True when s is exactly one JSON value (an object when want_object). */
static bool json_parse(const char *s, jp *j, bool want_object)
{
	memset(j, 0, sizeof *j);
	j->p = s;
	j->collect = true;
	j_ws(j);
	if (want_object && *j->p != '{')
		return false;
	if (!j_value(j))
		return false;
	j_ws(j);
	return *j->p == 0;
}

static bool has_key(const jp *j, const char *k)
{
	for (int i = 0; i < j->nkeys; i++)
		if (strcmp(j->keys[i], k) == 0)
			return true;
	return false;
}

START_TEST(json_checker_self_test)
{
	jp j;

	ck_assert(json_parse("{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\"], \"b\": {}}", &j,
			     true));
	ck_assert_int_eq(j.nkeys, 2);
	ck_assert(!json_parse("{\"a\": 1,}", &j, true));
	ck_assert(!json_parse("{\"a\": 01}", &j, true));
	ck_assert(!json_parse("[1]", &j, true));
	ck_assert(!json_parse("{\"a\": 1} x", &j, true));
	ck_assert(!json_parse("{\"a\": nan}", &j, true));
}
END_TEST

/* ---- running corio-bench ----------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[65536];

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		char *nb = realloc(buf, len + n + 1);

		if (!nb) {
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = nb;
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = 0;
	return buf;
}

/* Runs corio-bench with args in directory cwd (NULL: ours); stdout into *out (malloc'd),
 * stderr into a file the failure message points at. Returns the exit status, or 128 + the
 * signal. */
static int run_bench(const char *cwd, char *const args[], char **out)
{
	char outpath[] = "/tmp/corio-test-bench-out-XXXXXX";
	char errpath[] = "/tmp/corio-test-bench-err-XXXXXX";
	int ofd = mkstemp(outpath), efd = mkstemp(errpath), status;
	char *argv[32];
	int n = 0;
	pid_t pid;

	ck_assert(ofd >= 0 && efd >= 0);
	argv[n++] = bench_bin;
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		dup2(ofd, STDOUT_FILENO);
		dup2(efd, STDERR_FILENO);
		if (cwd && chdir(cwd) != 0)
			_exit(126);
		execv(bench_bin, argv);
		_exit(127);
	}
	close(ofd);
	close(efd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	*out = slurp(outpath);
	ck_assert_ptr_nonnull(*out);
	unlink(outpath);
	/* Its stderr helps when it failed (2, bad usage, is expected by some tests). */
	if (!(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 2))) {
		char *err = slurp(errpath);

		fprintf(stderr, "--- corio-bench stderr ---\n%s\n---\n", err ? err : "");
		free(err);
	}
	unlink(errpath);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_rf(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

START_TEST(run_switch_json_and_files)
{
	char dir[] = "/tmp/corio-test-bench-XXXXXX", out[PATH_MAX], path[PATH_MAX + 32];
	char *stdout_text, *line, *save = NULL, *json, *svg, *html;
	int objects = 0, rc;
	jp j;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(out, sizeof out, "%s/results", dir); /* not there yet: --out creates it */
	rc = run_bench(NULL, (char *[]){ "run", "switch", "--quick", "--json", "--out", out, NULL },
		       &stdout_text);
	ck_assert_int_eq(rc, 0);

	/* stdout: JSON objects, one a line, nothing else. */
	for (line = strtok_r(stdout_text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char bench[64] = "";

		ck_assert_msg(json_parse(line, &j, true), "not a JSON object: %s", line);
		ck_assert_msg(has_key(&j, "bench") && has_key(&j, "unit") &&
				      has_key(&j, "higher_is_better") && has_key(&j, "results") &&
				      has_key(&j, "config"),
			      "keys missing: %s", line);
		ck_assert(sscanf(line, "{\"bench\": \"%63[^\"]\"", bench) == 1);
		ck_assert_str_eq(bench, "switch");
		ck_assert_ptr_nonnull(strstr(line, "\"corio\""));
		objects++;
	}
	ck_assert_int_ge(objects, 1);
	free(stdout_text);

	snprintf(path, sizeof path, "%s/results.json", out);
	json = slurp(path);
	ck_assert_msg(json != NULL, "%s missing", path);
	ck_assert_msg(json_parse(json, &j, true), "%s is not one JSON object", path);
	ck_assert(has_key(&j, "environment") && has_key(&j, "versions") &&
		  has_key(&j, "results") && has_key(&j, "benchmarks"));
	ck_assert_ptr_nonnull(strstr(json, "\"switch\""));
	ck_assert_ptr_nonnull(strstr(json, "\"samples\""));
	free(json);

	snprintf(path, sizeof path, "%s/report.svg", out);
	svg = slurp(path);
	ck_assert_msg(svg != NULL, "%s missing", path);
	ck_assert(strncmp(svg, "<svg", 4) == 0 || strncmp(svg, "<?xml", 5) == 0);
	ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
	ck_assert_ptr_nonnull(strstr(svg, "switch"));
	free(svg);

	snprintf(path, sizeof path, "%s/index.html", out);
	html = slurp(path);
	ck_assert_msg(html != NULL, "%s missing", path);
	ck_assert_ptr_nonnull(strstr(html, "<table"));
	ck_assert_ptr_nonnull(strstr(html, "switch"));
	ck_assert_ptr_nonnull(strstr(html, "<svg")); /* the chart, inline */
	ck_assert_ptr_nonnull(strstr(html, "</html>"));
	/* Self-contained: nothing loaded from elsewhere. */
	ck_assert_ptr_null(strstr(html, "src=\"http"));
	ck_assert_ptr_null(strstr(html, "<script"));
	ck_assert_ptr_null(strstr(html, "<link"));
	free(html);
	rm_rf(dir);
}
END_TEST

/* The whole suite in --quick --json mode, as CI runs it: every line of stdout is a JSON
 * result, and every benchmark `list` names shows up (its peers may be skipped). */
START_TEST(quick_all_json)
{
	char *list, *text, *line, *save = NULL;
	char names[64][32];
	int n = 0, lines = 0;
	jp j;

	ck_assert_int_eq(run_bench(NULL, (char *[]){ "list", NULL }, &list), 0);
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++)
		if (n < 64 && sscanf(line, "%31s", names[n]) == 1)
			n++;
	free(list);
	ck_assert_int_ge(n, 4);
	ck_assert_msg(lines <= 64, "corio-bench list has %d lines: names[] holds 64", lines);
	ck_assert_int_eq(run_bench(NULL, (char *[]){ "run", "--quick", "--json", "--no-files", NULL },
				   &text),
			 0);
	for (int i = 0; i < n; i++) {
		char key[96];

		snprintf(key, sizeof key, "{\"bench\": \"%.31s\"", names[i]);
		ck_assert_msg(strstr(text, key) != NULL, "no result for %s", names[i]);
	}
	save = NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		ck_assert_msg(json_parse(line, &j, true), "not a JSON object: %s", line);
	free(text);
}
END_TEST

START_TEST(no_files_and_table)
{
	char dir[] = "/tmp/corio-test-bench-XXXXXX", path[PATH_MAX];
	char *text;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* Without --json, stdout has the table; --no-files: no bench-results/ in the cwd. */
	ck_assert_int_eq(run_bench(dir, (char *[]){ "run", "switch", "--quick", "--no-files", NULL },
				   &text),
			 0);
	ck_assert_ptr_nonnull(strstr(text, "benchmark"));
	ck_assert_ptr_nonnull(strstr(text, "better"));
	ck_assert_ptr_nonnull(strstr(text, "swapcontext"));
	ck_assert_ptr_null(strstr(text, "{\"bench\""));
	free(text);
	snprintf(path, sizeof path, "%s/bench-results", dir);
	ck_assert_int_ne(stat(path, &st), 0);
	rm_rf(dir);
}
END_TEST

START_TEST(bad_usage_exits_2)
{
	static const char *const cases[][4] = {
		{ "run", "no-such-benchmark", NULL },
		{ "run", "--no-such-option", NULL },
		{ "run", "--runs", "2", NULL },
		{ "run", "--out", NULL },
		{ "list", "extra", NULL },
		{ "no-such-command", NULL },
		{ NULL },
	};
	char *text;

	for (int i = 0; cases[i][0]; i++) {
		ck_assert_msg(run_bench(NULL, (char **)cases[i], &text) == 2, "case %d (%s %s)", i,
			      cases[i][0], cases[i][1] ? cases[i][1] : "");
		ck_assert_msg(text[0] == 0, "case %d printed on stdout: %s", i, text);
		free(text);
	}
	ck_assert_int_eq(run_bench(NULL, (char *[]){ "--help", NULL }, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "--out"));
	ck_assert_ptr_nonnull(strstr(text, "--json"));
	free(text);
	ck_assert_int_eq(run_bench(NULL, (char *[]){ "list", NULL }, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "switch"));
	free(text);
}
END_TEST

/* ---- soak -------------------------------------------------------------------------- */

/* Lines of text that hold needle. */
static int count_lines(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; p && *p;) {
		const char *end = strchr(p, '\n'), *hit = strstr(p, needle);

		n += hit && (!end || hit < end);
		p = end ? end + 1 : NULL;
	}
	return n;
}

/* `run soak --secs 3` completes, prints its samples (every third of so short a run), the
 * summary and the server's answer after the run. Only that it ran: no figure is checked. */
START_TEST(soak_runs_and_server_answers)
{
	char *text;

	ck_assert_int_eq(run_bench(NULL, (char *[]){ "run", "soak", "--secs", "3", "--no-files",
						 NULL },
				   &text),
			 0);
	ck_assert_msg(count_lines(text, " s  server: rss ") >= 3, "fewer than 3 samples:\n%s",
		      text);
	ck_assert_ptr_nonnull(strstr(text, "corio-bench rss "));
	ck_assert_ptr_nonnull(strstr(text, "soak summary: server rss before any client"));
	ck_assert_ptr_nonnull(strstr(text, "peak of the last quarter"));
	ck_assert_ptr_nonnull(strstr(text, "soak summary: server fds baseline"));
	ck_assert_ptr_nonnull(strstr(text, "soak: the server answered GET /hello after the run: 200"));
	free(text);
}
END_TEST

/* ---- Ctrl-C ------------------------------------------------------------------------ */

/* Children of pid (from /proc/<n>/stat's ppid), up to max. */
static int children_of(pid_t pid, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char path[300], buf[512], *rp;
		int ppid;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(buf, sizeof buf, f) && (rp = strrchr(buf, ')')) &&
		    sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == pid)
			out[n++] = (pid_t)atoi(e->d_name);
		fclose(f);
	}
	closedir(d);
	return n;
}

static bool gone(pid_t pid)
{
	char path[64], buf[512], *rp, state = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return true;
	if (fgets(buf, sizeof buf, f) && (rp = strrchr(buf, ')')))
		state = rp[2];
	fclose(f);
	return state == 'Z' || state == 'X';
}

START_TEST(sigint_stops_the_servers)
{
	pid_t pid, kids[16];
	int status, n = 0, devnull = open("/dev/null", O_WRONLY);
	struct timespec tick = { 0, 20 * 1000 * 1000 };

	ck_assert(devnull >= 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		execl(bench_bin, bench_bin, "run", "echo", "--quick", "--no-files", (char *)NULL);
		_exit(127);
	}
	close(devnull);
	/* The echo benchmark starts its three servers first; wait (up to 10 s) for them. */
	for (int t = 0; t < 500 && n < 3; t++) {
		nanosleep(&tick, NULL);
		n = children_of(pid, kids, 16);
	}
	ck_assert_msg(n >= 1, "corio-bench run echo started no child process");
	nanosleep(&tick, NULL);
	ck_assert_int_eq(kill(pid, SIGINT), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 130,
		      "corio-bench after SIGINT: status 0x%x, want exit 130", status);
	/* Orphans are reaped by init at once: a child still running was not stopped. */
	for (int i = 0; i < n; i++) {
		bool ok = false;

		for (int t = 0; t < 100 && !ok; t++) {
			ok = gone(kids[i]);
			if (!ok)
				nanosleep(&tick, NULL);
		}
		if (!ok)
			kill(kids[i], SIGKILL); /* do not leave it behind */
		ck_assert_msg(ok, "child %d of corio-bench still runs after SIGINT", (int)kids[i]);
	}
}
END_TEST

/* ---- main -------------------------------------------------------------------------- */

static bool find_bench(void)
{
	return th_find_program("CORIO_BENCH_BIN", "corio-bench", bench_bin, sizeof bench_bin);
}

int main(void)
{
	Suite *s;
	TCase *tc;

	if (!find_bench()) {
		fprintf(stderr, "corio-bench not found (%s; set CORIO_BENCH_BIN): skipping\n",
			bench_bin[0] ? bench_bin : "no path");
		return TH_SKIP;
	}
	if (!th_io_uring_available())
		return TH_SKIP;
	s = suite_create("bench"); /* only now: a skip must not leave it to LeakSanitizer */
	tc = tcase_create("runner");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, json_checker_self_test);
	tcase_add_test(tc, run_switch_json_and_files);
	tcase_add_test(tc, no_files_and_table);
	tcase_add_test(tc, bad_usage_exits_2);
	tcase_add_test(tc, sigint_stops_the_servers);
	tcase_add_test(tc, soak_runs_and_server_answers);
	suite_add_tcase(s, tc);
	{
		TCase *all = tcase_create("quick_all"); /* the whole suite: minutes, not seconds */

		tcase_set_timeout(all, 500);
		tcase_add_test(all, quick_all_json);
		suite_add_tcase(s, all);
	}
	return th_run_suite(s);
}
