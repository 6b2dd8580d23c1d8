/* tests/examples/test_examples.c: the programs in examples/ print exactly what the seed's Python
 * programs print: each example binary is run as a child process and its exit status,
 * stdout and stderr are compared. read_file and copy work on files in a temporary
 * directory; echo_server and http_server are started on 127.0.0.1, port 0 (they print the
 * port the kernel picked), and echo_client, fetch_url and fetch_many are run against them.
 * HTTPS: http_server with --tls-cert/--tls-key and the test certificates of
 * tests/support/certs.h (a CA, a leaf for localhost and 127.0.0.1, an expired one, one for
 * another name), fetch_url and fetch_many with --cacert, the failures fetch_url must explain
 * (untrusted, expired, wrong name), bad certificate, key and CA files refused with the
 * reason; and the README's walk-through, with the self-signed certificate its `openssl req`
 * command makes (skipped without /usr/bin/openssl).
 *
 * Nothing waits unbounded: every child has a deadline, past which it is killed (SIGKILL)
 * and reaped and the test fails; a failing assertion first kills and reaps the servers the
 * test started (T_ASSERT), and every child dies with the test process (PR_SET_PDEATHSIG).
 *
 * The binaries are looked for in $CORIO_EXAMPLES_DIR, else beside this test's own
 * executable (CMake builds both into the build directory). Not found (a build without
 * examples): exit 77, skipped.
 */
#define _GNU_SOURCE /* memfd_create */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/certs.h"
#include "tests/support/helpers.h"
#include "tests/support/proc.h"

#define OUT_MAX 65536
#define MAX_ARGS 15

/* Every wait on a child has a deadline (seconds); past it the child is killed with SIGKILL,
 * reaped and the test fails. Their sum over one test stays well under the tcase timeout. */
#define RUN_DEADLINE 15   /* a program that should exit by itself */
#define START_DEADLINE 10 /* a server printing the port it listens on */
#define STOP_DEADLINE 10  /* a server exiting after SIGTERM/SIGINT */

static char examples_dir[PATH_MAX];

struct result {
	int status;           /* exit status, or 128 + signal */
	char out[OUT_MAX];    /* stdout, NUL-terminated */
	char err[OUT_MAX];    /* stderr */
	double seconds;       /* wall time of the child */
};

/* A started example: stdout and stderr go to memory files, so no pipe can fill up while
 * we wait, and a running server's output can be read with pread (which leaves the file
 * offset, shared with the child, alone). */
struct proc {
	pid_t pid; /* 0: not running (never started, or reaped) */
	int out, err;
	uint64_t t0;
	char name[64];
};

/* Servers started by the running test. A failing assertion ends the test process with
 * _exit, so cleanup() (called by T_ASSERT before it fails) kills and reaps them first;
 * PR_SET_PDEATHSIG (SIGKILL) covers a test killed by its timeout. */
#define MAX_LIVE 4
static struct proc *live[MAX_LIVE];
static char tmpdir[PATH_MAX]; /* a temporary directory of the running test, or "" */
static th_certs certs;       /* the running test's certificates (certs.dir "": none) */

static void remove_tmpdir(void)
{
	if (!tmpdir[0])
		return;
	th_remove_tree(tmpdir);
	tmpdir[0] = 0;
}

/* Kills (SIGKILL) and reaps every live server, removes the temporary directory. */
static void cleanup(void)
{
	for (int i = 0; i < MAX_LIVE; i++) {
		struct proc *p = live[i];

		if (!p)
			continue;
		live[i] = NULL;
		th_stop(&p->pid, SIGKILL, NULL);
	}
	remove_tmpdir();
	if (certs.dir[0])
		th_certs_remove(&certs);
	certs.dir[0] = 0;
}

/* ck_assert_msg that first stops what the test started. cond is evaluated once. */
#define T_ASSERT(cond, ...)                                                                  \
	do {                                                                                 \
		bool t_ok_ = (cond);                                                         \
		if (!t_ok_)                                                                  \
			cleanup();                                                           \
		ck_assert_msg(t_ok_, __VA_ARGS__);                                           \
	} while (0)
#define T_STR_EQ(got, want)                                                                  \
	do {                                                                                 \
		const char *t_got_ = (got), *t_want_ = (want);                               \
		T_ASSERT(strcmp(t_got_, t_want_) == 0, "%s is \"%s\", want \"%s\"", #got,    \
			 t_got_, t_want_);                                                   \
	} while (0)
#define T_CONTAINS(hay, needle)                                                              \
	do {                                                                                 \
		const char *t_hay_ = (hay), *t_needle_ = (needle);                           \
		T_ASSERT(strstr(t_hay_, t_needle_) != NULL, "%s is \"%s\": no \"%s\" in it", \
			 #hay, t_hay_, t_needle_);                                           \
	} while (0)

static void track(struct proc *p)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (!live[i]) {
			live[i] = p;
			return;
		}
	T_ASSERT(false, "more than %d servers at once", MAX_LIVE);
}

static void untrack(struct proc *p)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == p)
			live[i] = NULL;
}

static bool is_program(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, X_OK) == 0;
}

/* $CORIO_EXAMPLES_DIR, else the directory of /proc/self/exe; false when it holds no
 * examples. */
static bool find_examples(void)
{
	const char *env = getenv("CORIO_EXAMPLES_DIR");

	if (env && *env)
		snprintf(examples_dir, sizeof examples_dir, "%s", env);
	else if (!th_exe_dir(examples_dir, sizeof examples_dir))
		return false;
	return is_program(examples_dir, "hello");
}

/* The first OUT_MAX - 1 bytes of a memory file, NUL-terminated; the offset is untouched. */
static void peek(int fd, char *buf)
{
	ssize_t n;
	size_t used = 0;

	while (used < OUT_MAX - 1 &&
	       (n = pread(fd, buf + used, OUT_MAX - 1 - used, (off_t)used)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		used += (size_t)n;
	}
	buf[used] = 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Starts examples_dir/name with the given arguments (NULL-terminated, may be NULL); its
 * stdin is `in` (a string) or /dev/null. It dies with the test process, whatever ends it. */
static void spawn(const char *name, const char *const *args, const char *in, struct proc *p)
{
	char path[PATH_MAX + 64];
	char *argv[MAX_ARGS + 2] = { path };
	th_child c = th_child_of(argv);
	int infd = -1;

	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(path, sizeof path, "%s/%s", examples_dir, name);
	T_ASSERT(access(path, X_OK) == 0, "%s: not built", path);
	for (size_t i = 0; args && args[i]; i++) {
		T_ASSERT(i < MAX_ARGS, "%s: too many arguments", name);
		argv[i + 1] = (char *)args[i];
	}
	p->out = memfd_create("stdout", MFD_CLOEXEC);
	p->err = memfd_create("stderr", MFD_CLOEXEC);
	T_ASSERT(p->out >= 0 && p->err >= 0, "memfd_create: %s", strerror(errno));
	if (in) {
		size_t len = strlen(in);

		infd = memfd_create("stdin", MFD_CLOEXEC);
		T_ASSERT(infd >= 0, "memfd_create: %s", strerror(errno));
		T_ASSERT(write(infd, in, len) == (ssize_t)len, "write stdin: %s", strerror(errno));
		T_ASSERT(lseek(infd, 0, SEEK_SET) == 0, "lseek: %s", strerror(errno));
	} else {
		infd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		T_ASSERT(infd >= 0, "/dev/null: %s", strerror(errno));
	}
	c.std[0] = infd;
	c.std[1] = p->out;
	c.std[2] = p->err;
	p->t0 = th_now();
	p->pid = th_spawn(&c);
	T_ASSERT(p->pid >= 0, "fork: %s", strerror(errno));
	close(infd);
}

/* Waits at most `deadline` seconds for p to exit; past it kills it (SIGKILL). Reaps it in
 * every case and fills r. False when it had to be killed. */
static bool finish(struct proc *p, int deadline, struct result *r)
{
	int st = 0;
	bool exited = th_wait_exit(p->pid, deadline, &st);

	p->pid = 0;
	untrack(p);
	r->seconds = (double)(th_now() - p->t0) / 1e9;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
	peek(p->out, r->out);
	peek(p->err, r->err);
	close(p->out);
	close(p->err);
	return exited;
}

/* Runs examples_dir/name to completion (at most RUN_DEADLINE seconds). */
static void run_example_in(const char *name, const char *const *args, const char *in,
			   struct result *r)
{
	struct proc p;

	spawn(name, args, in, &p);
	T_ASSERT(finish(&p, RUN_DEADLINE, r), "%s did not exit within %d s; stdout: %s; stderr: %s",
		 name, RUN_DEADLINE, r->out, r->err);
}

static void run_example(const char *name, const char *const *args, struct result *r)
{
	run_example_in(name, args, NULL, r);
}

/* Exit status 0, exactly `want` on stdout, nothing on stderr. */
static void expect_output(const char *name, const char *const *args, const char *want,
			  struct result *r)
{
	run_example(name, args, r);
	T_ASSERT(r->status == 0, "%s exited with %d; stderr: %s", name, r->status, r->err);
	T_STR_EQ(r->out, want);
	T_STR_EQ(r->err, "");
}

/* ---- servers ------------------------------------------------------------------------ */

/* Starts a server asked to listen on port 0 (the kernel picks a free one, so no other
 * program can take it between a probe and the server's bind), waits until it has printed
 * `prefix` followed by the port on stdout (`on_stderr`: stderr), then until the port
 * accepts a connection. Returns the port. */
static int start_server(const char *name, const char *const *args, const char *prefix,
			bool on_stderr, struct proc *p, struct result *r)
{
	uint64_t until;
	int port = -1;

	spawn(name, args, NULL, p);
	track(p);
	until = th_now() + START_DEADLINE * 1000000000ull;
	for (;;) {
		const char *at;
		int st;

		peek(on_stderr ? p->err : p->out, r->out);
		if ((at = strstr(r->out, prefix)) && sscanf(at + strlen(prefix), "%d", &port) == 1 &&
		    strchr(at, '\n'))
			break;
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = 0;
			untrack(p);
			peek(p->err, r->err);
			T_ASSERT(false, "%s exited before listening (status %d); output: %s; stderr: %s",
				 name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), r->out,
				 r->err);
		}
		T_ASSERT(th_now() < until, "%s printed no \"%s<port>\" within %d s; output: %s",
			 name, prefix, START_DEADLINE, r->out);
		sleep_ms(10);
	}
	T_ASSERT(port > 0 && port < 65536, "%s: port %d", name, port);
	while (!th_port_accepts(port)) {
		T_ASSERT(th_now() < until, "%s: port %d accepts nothing after %d s", name, port,
			 START_DEADLINE);
		sleep_ms(10);
	}
	return port;
}

/* Sends sig to a server and waits (STOP_DEADLINE) for it to exit; fills r. */
static void stop_server(struct proc *p, int sig, struct result *r)
{
	T_ASSERT(kill(p->pid, sig) == 0, "kill %s: %s", p->name, strerror(errno));
	T_ASSERT(finish(p, STOP_DEADLINE, r), "%s ignored signal %d for %d s; stderr: %s",
		 p->name, sig, STOP_DEADLINE, r->err);
}

/* A port on 127.0.0.1 that refuses connections: a socket bound to it, not listening
 * (kept open in *fd so that nothing else can take the port). */
static int refusing_port(int *fd)
{
	int port = 0;

	*fd = th_loopback_socket(&port, false);
	T_ASSERT(*fd >= 0, "socket, bind or getsockname: %s", strerror(errno));
	return port;
}

/* ---- files -------------------------------------------------------------------------- */

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof tmpdir, "%s/corio-examples-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		int e = errno;

		tmpdir[0] = 0;
		T_ASSERT(false, "mkdtemp: %s", strerror(e));
	}
}

/* tmpdir/name, in a static buffer (one of four, rotating). */
static const char *tmp_path(const char *name)
{
	static char bufs[4][PATH_MAX + 64];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, PATH_MAX + 64, "%s/%s", tmpdir, name);
	return b;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t done = 0;

	T_ASSERT(fd >= 0, "%s: %s", path, strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, (const char *)data + done, len - done);

		T_ASSERT(n > 0 || errno == EINTR, "write %s: %s", path, strerror(errno));
		if (n > 0)
			done += (size_t)n;
	}
	T_ASSERT(close(fd) == 0, "close %s: %s", path, strerror(errno));
}

/* The whole file, malloc'd; *len its size. */
static char *read_all(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t done = 0;

	T_ASSERT(fd >= 0, "%s: %s", path, strerror(errno));
	T_ASSERT(fstat(fd, &st) == 0, "fstat %s: %s", path, strerror(errno));
	buf = malloc((size_t)st.st_size + 1);
	T_ASSERT(buf != NULL, "malloc");
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		T_ASSERT(n > 0, "read %s: %s", path, n < 0 ? strerror(errno) : "short");
		done += (size_t)n;
	}
	close(fd);
	*len = done;
	return buf;
}

static void random_bytes(char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		T_ASSERT(n > 0 || errno == EINTR, "getrandom: %s", strerror(errno));
		if (n > 0)
			done += (size_t)n;
	}
}

/* 300 printable bytes in lines of 50: the byte at i is never the one at i + 100. */
static void text_300(char *buf)
{
	for (int i = 0; i < 300; i++)
		buf[i] = i % 50 == 49 ? '\n' : (char)('!' + (i * 7 + i / 50) % 94);
}

/* Content equal to `want`, or the first differing offset in the message. */
static void expect_same_file(const char *path, const char *want, size_t want_len)
{
	size_t len, i = 0;
	char *got = read_all(path, &len);

	while (i < len && i < want_len && got[i] == want[i])
		i++;
	free(got);
	T_ASSERT(len == want_len, "%s: %zu bytes, want %zu", path, len, want_len);
	T_ASSERT(i == want_len, "%s: differs at byte %zu", path, i);
}

static struct result res;

START_TEST(hello_prints_hello_async)
{
	expect_output("hello", NULL, "Hello, Async!\n", &res);
}
END_TEST

START_TEST(fetch_data_prints_and_returns_data)
{
	expect_output("fetch_data", NULL, "Fetching data...\nData fetched!\nData\n", &res);
	/* It awaited a one-second sleep (a lower bound only: no test asserts a speed). */
	ck_assert_msg(res.seconds >= 0.99, "finished after %.3f s", res.seconds);
}
END_TEST

START_TEST(my_async_function_prints_result)
{
	expect_output("my_async_function", NULL, "Result\n", &res);
	ck_assert_msg(res.seconds >= 0.99, "finished after %.3f s", res.seconds);
}
END_TEST

START_TEST(gather_counts_every_task)
{
	static const char *const args[] = { "1000", NULL };
	double elapsed = -1, rss = -1;
	char *line2, *line3, *end;

	run_example("gather", args, &res);
	ck_assert_msg(res.status == 0, "gather exited with %d; stderr: %s", res.status, res.err);
	ck_assert_str_eq(res.err, "");
	/* Line 1 is exact; lines 2 and 3 carry measurements, so only their form is checked. */
	line2 = strchr(res.out, '\n');
	ck_assert_ptr_nonnull(line2);
	*line2++ = 0;
	ck_assert_str_eq(res.out, "1000 coroutines finished");
	line3 = strchr(line2, '\n');
	ck_assert_ptr_nonnull(line3);
	*line3++ = 0;
	end = strchr(line3, '\n');
	ck_assert_ptr_nonnull(end);
	*end++ = 0;
	ck_assert_str_eq(end, ""); /* nothing after the third line */
	ck_assert_msg(sscanf(line2, "elapsed: %lf s", &elapsed) == 1, "line 2: '%s'", line2);
	ck_assert_msg(strcmp(line2 + strlen(line2) - 2, " s") == 0, "line 2: '%s'", line2);
	ck_assert_msg(sscanf(line3, "peak RSS: %lf MiB", &rss) == 1, "line 3: '%s'", line3);
	ck_assert_msg(strcmp(line3 + strlen(line3) - 4, " MiB") == 0, "line 3: '%s'", line3);
	/* All 1000 slept one second at the same time. */
	ck_assert_msg(elapsed >= 0.99, "elapsed %.3f s", elapsed);
	ck_assert_msg(rss > 0, "peak RSS %.1f MiB", rss);
}
END_TEST

START_TEST(gather_rejects_a_bad_count)
{
	static const char *const bad[][2] = { { "abc", NULL }, { "0", NULL }, { "-5", NULL } };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run_example("gather", bad[i], &res);
		ck_assert_msg(res.status == 2, "gather %s exited with %d", bad[i][0], res.status);
		ck_assert_str_eq(res.out, "");
		ck_assert_ptr_nonnull(strstr(res.err, "usage:"));
	}
}
END_TEST

/* ---- read_file ---------------------------------------------------------------------- */

START_TEST(read_file_prints_first_100_characters)
{
	char text[300], want[512], utf8[300];
	const char *args[2] = { NULL, NULL };

	make_tmpdir();
	text_300(text);
	write_file(tmp_path("my_file.txt"), text, sizeof text);
	args[0] = tmp_path("my_file.txt");
	snprintf(want, sizeof want, "%.100s\n", text);
	expect_output("read_file", args, want, &res);

	/* Characters, not bytes: "aé" 100 times is 300 bytes, 200 characters; the first 100
	 * characters are its first 150 bytes. */
	for (int i = 0; i < 100; i++)
		memcpy(utf8 + 3 * i, "a\xc3\xa9", 3);
	write_file(tmp_path("utf8.txt"), utf8, sizeof utf8);
	args[0] = tmp_path("utf8.txt");
	snprintf(want, sizeof want, "%.150s\n", utf8);
	expect_output("read_file", args, want, &res);

	/* Shorter than 100: all of it. */
	write_file(tmp_path("short.txt"), "short\nfile", 10);
	args[0] = tmp_path("short.txt");
	expect_output("read_file", args, "short\nfile\n", &res);
	remove_tmpdir();
}
END_TEST

START_TEST(read_file_reports_a_missing_file)
{
	char want[PATH_MAX + 128];
	const char *args[2] = { NULL, NULL };
	static const char *const two[] = { "a", "b", NULL };

	make_tmpdir();
	args[0] = tmp_path("no-such-file.txt");
	snprintf(want, sizeof want, "read_file: %s: %s\n", args[0], strerror(ENOENT));
	run_example("read_file", args, &res);
	T_ASSERT(res.status != 0, "read_file of a missing file exited with 0");
	T_STR_EQ(res.out, "");
	T_STR_EQ(res.err, want);

	run_example("read_file", two, &res);
	T_ASSERT(res.status == 2, "read_file a b exited with %d", res.status);
	T_STR_EQ(res.out, "");
	T_CONTAINS(res.err, "usage:");
	remove_tmpdir();
}
END_TEST

/* ---- copy --------------------------------------------------------------------------- */

#define COPY_SIZE (5u << 20)

/* copy [opts] SRC DST succeeded, said so on stderr, and DST is SRC byte for byte. */
static void expect_copy(const char *const *args, const char *src, const char *dst,
			const char *data, size_t len)
{
	char want[2 * PATH_MAX + 128];

	run_example("copy", args, &res);
	T_ASSERT(res.status == 0, "copy exited with %d; stderr: %s", res.status, res.err);
	T_STR_EQ(res.out, "");
	snprintf(want, sizeof want, "copy: %zu bytes, %s -> %s\n", len, src, dst);
	T_CONTAINS(res.err, want);
	expect_same_file(dst, data, len);
}

START_TEST(copy_copies_5_mib_byte_for_byte)
{
	char *data = malloc(COPY_SIZE), *junk;
	const char *src, *dst;

	T_ASSERT(data != NULL, "malloc");
	make_tmpdir();
	random_bytes(data, COPY_SIZE);
	src = tmp_path("src.bin");
	write_file(src, data, COPY_SIZE);

	/* Defaults: 8 reads of 128 KiB in flight. */
	dst = tmp_path("dst.bin");
	expect_copy((const char *const[]){ src, dst, NULL }, src, dst, data, COPY_SIZE);
	/* A block size that does not divide the file, three in flight. */
	dst = tmp_path("dst2.bin");
	expect_copy((const char *const[]){ "-n", "3", "-b", "100", src, dst, NULL }, src, dst,
		    data, COPY_SIZE);
	/* Over a longer existing file: truncated to the source's size. */
	dst = tmp_path("dst3.bin");
	junk = calloc(1, COPY_SIZE + 4096);
	T_ASSERT(junk != NULL, "calloc");
	write_file(dst, junk, COPY_SIZE + 4096);
	free(junk);
	expect_copy((const char *const[]){ "-n", "1", src, dst, NULL }, src, dst, data, COPY_SIZE);
	/* An empty file. */
	src = tmp_path("empty.bin");
	write_file(src, "", 0);
	dst = tmp_path("empty-copy.bin");
	expect_copy((const char *const[]){ src, dst, NULL }, src, dst, "", 0);
	free(data);
	remove_tmpdir();
}
END_TEST

START_TEST(copy_rejects_bad_usage)
{
	static const char *const bad[][6] = {
		{ NULL },
		{ "only-one", NULL },
		{ "a", "b", "c", NULL },
		{ "-n", "0", "a", "b", NULL },
		{ "-n", "1025", "a", "b", NULL },
		{ "-b", "3", "a", "b", NULL },
		{ "-n", "x", "a", "b", NULL },
		{ "-z", "a", "b", NULL },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run_example("copy", bad[i], &res);
		T_ASSERT(res.status == 2, "copy case %zu exited with %d; stderr: %s", i, res.status,
			 res.err);
		T_STR_EQ(res.out, "");
		T_CONTAINS(res.err, "usage:");
	}
}
END_TEST

START_TEST(copy_reports_a_missing_source)
{
	char want[PATH_MAX + 128], text[300];
	const char *src, *dst;

	make_tmpdir();
	src = tmp_path("missing.bin");
	dst = tmp_path("never.bin");
	run_example("copy", (const char *const[]){ src, dst, NULL }, &res);
	T_ASSERT(res.status == 1, "copy of a missing file exited with %d", res.status);
	T_STR_EQ(res.out, "");
	snprintf(want, sizeof want, "copy: %s: %s\n", src, strerror(ENOENT));
	T_STR_EQ(res.err, want);
	T_ASSERT(access(dst, F_OK) < 0 && errno == ENOENT, "%s was created", dst);

	/* A file onto itself: refused, and left as it was. */
	text_300(text);
	src = tmp_path("self.txt");
	write_file(src, text, sizeof text);
	run_example("copy", (const char *const[]){ src, src, NULL }, &res);
	T_ASSERT(res.status == 1, "copy onto itself exited with %d", res.status);
	T_CONTAINS(res.err, "same file");
	expect_same_file(src, text, sizeof text);
	remove_tmpdir();
}
END_TEST

/* ---- echo_server + echo_client ------------------------------------------------------ */

START_TEST(echo_client_gets_its_lines_back)
{
	static char longline[20001]; /* more than the server's 16 KiB buffer */
	static struct result srv_out, r2, r3;
	const char *const srv_args[] = { "0", "1", "127.0.0.1", NULL };
	struct proc srv, c2, c3;
	char port[16], want[sizeof longline + 128];
	int p;

	memset(longline, 'x', sizeof longline - 1);
	longline[sizeof longline - 1] = 0;
	longline[0] = '<';
	longline[sizeof longline - 2] = '>';
	p = start_server("echo_server", srv_args, "echo_server: listening on 127.0.0.1:", true,
			 &srv, &srv_out);
	snprintf(port, sizeof port, "%d", p);

	/* Lines as arguments. */
	run_example("echo_client",
		    (const char *const[]){ "127.0.0.1", port, "hello", "second line", "",
					   "  spaced\tout  ", longline, NULL },
		    &res);
	T_ASSERT(res.status == 0, "echo_client exited with %d; stderr: %s", res.status, res.err);
	snprintf(want, sizeof want, "hello\nsecond line\n\n  spaced\tout  \n%s\n", longline);
	T_STR_EQ(res.out, want);
	T_STR_EQ(res.err, "");

	/* Lines from stdin, three clients at once; a last line without its newline gets one. */
	spawn("echo_client", (const char *const[]){ "127.0.0.1", port, NULL }, "one\ntwo\nthree",
	      &c2);
	spawn("echo_client", (const char *const[]){ "127.0.0.1", port, NULL }, "alpha\nbeta\n", &c3);
	run_example_in("echo_client", (const char *const[]){ "127.0.0.1", port, NULL },
		       "a single line\n", &res);
	T_ASSERT(finish(&c2, RUN_DEADLINE, &r2), "echo_client (stdin) did not exit");
	T_ASSERT(finish(&c3, RUN_DEADLINE, &r3), "echo_client (stdin) did not exit");
	T_ASSERT(res.status == 0 && r2.status == 0 && r3.status == 0,
		 "echo_client exited with %d, %d, %d; stderr: %s | %s | %s", res.status, r2.status,
		 r3.status, res.err, r2.err, r3.err);
	T_STR_EQ(res.out, "a single line\n");
	T_STR_EQ(r2.out, "one\ntwo\nthree\n");
	T_STR_EQ(r3.out, "alpha\nbeta\n");
	T_STR_EQ(r2.err, "");

	/* echo_server has no shutdown of its own: SIGTERM ends it. */
	stop_server(&srv, SIGTERM, &srv_out);
	T_ASSERT(srv_out.status == 128 + SIGTERM, "echo_server ended with %d; stderr: %s",
		 srv_out.status, srv_out.err);
	snprintf(want, sizeof want, "echo_server: listening on 127.0.0.1:%d\n", p);
	T_STR_EQ(srv_out.err, want);
	T_STR_EQ(srv_out.out, "");
}
END_TEST

START_TEST(echo_client_reports_errors)
{
	char port[16];
	int fd;

	snprintf(port, sizeof port, "%d", refusing_port(&fd));
	run_example("echo_client", (const char *const[]){ "127.0.0.1", port, "x", NULL }, &res);
	close(fd);
	T_ASSERT(res.status == 1, "echo_client to a closed port exited with %d", res.status);
	T_STR_EQ(res.out, "");
	T_CONTAINS(res.err, "echo_client: connect 127.0.0.1:");

	run_example("echo_client", (const char *const[]){ "127.0.0.1", NULL }, &res);
	T_ASSERT(res.status == 2, "echo_client HOST exited with %d", res.status);
	T_CONTAINS(res.err, "usage:");
}
END_TEST

/* ---- http_server + fetch_url + fetch_many ------------------------------------------- */

/* One fetch_many output line: "STATUS LENGTH URL". */
static void expect_fetch_line(char **cursor, int want_status, long long want_len,
			      const char *want_url)
{
	char *line = *cursor, *nl = strchr(line, '\n'), url[256];
	int status = -1;
	long long len = -2;

	T_ASSERT(nl != NULL, "fetch_many: missing line for %s", want_url);
	*nl = 0;
	*cursor = nl + 1;
	T_ASSERT(sscanf(line, "%d %lld %255s", &status, &len, url) == 3, "fetch_many line: '%s'",
		 line);
	T_ASSERT(status == want_status, "fetch_many line '%s': status, want %d", line,
		 want_status);
	T_ASSERT(want_len < 0 ? len >= 0 : len == want_len, "fetch_many line '%s': length, want %lld",
		 line, want_len);
	T_STR_EQ(url, want_url);
}

/* http_server on a free port with --threads n, stopped with sig: fetch_url and
 * fetch_many against it. */
static void http_round(const char *threads, int sig)
{
	static struct result srv_out;
	char text[300], port[16], base[64], want[512];
	char u_root[96], u_page[96], u_missing[96];
	struct proc srv;
	char *cur;
	int p;

	make_tmpdir();
	text_300(text);
	write_file(tmp_path("page.txt"), text, sizeof text);
	p = start_server("http_server",
			 (const char *const[]){ "--host", "127.0.0.1", "--port", "0", "--threads",
						threads, "--root", tmpdir, NULL },
			 "listening on http://127.0.0.1:", false, &srv, &srv_out);
	snprintf(port, sizeof port, "%d", p);
	snprintf(base, sizeof base, "http://127.0.0.1:%d/", p);
	snprintf(u_root, sizeof u_root, "%s", base);
	snprintf(u_page, sizeof u_page, "%spage.txt", base);
	snprintf(u_missing, sizeof u_missing, "%smissing.txt", base);

	/* "/" says hello world; printed with the newline fetch_url adds. */
	expect_output("fetch_url", (const char *const[]){ u_root, NULL }, "hello world\n\n", &res);
	/* A 300-byte file: its first 100 characters. */
	snprintf(want, sizeof want, "%.100s\n", text);
	expect_output("fetch_url", (const char *const[]){ u_page, NULL }, want, &res);
	/* A 404 is reported on stderr, the body still printed, exit 0. */
	run_example("fetch_url", (const char *const[]){ u_missing, NULL }, &res);
	T_ASSERT(res.status == 0, "fetch_url of a 404 exited with %d; stderr: %s", res.status,
		 res.err);
	snprintf(want, sizeof want, "fetch_url: %s: HTTP status 404\n", u_missing);
	T_STR_EQ(res.err, want);

	/* Three URLs at once, printed in the order given. */
	run_example("fetch_many", (const char *const[]){ u_root, u_page, u_missing, NULL }, &res);
	T_ASSERT(res.status == 0, "fetch_many exited with %d; stderr: %s", res.status, res.err);
	T_STR_EQ(res.err, "");
	cur = res.out;
	expect_fetch_line(&cur, 200, 12, u_root);
	expect_fetch_line(&cur, 200, 300, u_page);
	expect_fetch_line(&cur, 404, -1, u_missing);
	T_STR_EQ(cur, "");
	/* The same URL three times over one client. */
	run_example("fetch_many", (const char *const[]){ u_root, u_root, u_root, NULL }, &res);
	T_ASSERT(res.status == 0, "fetch_many exited with %d; stderr: %s", res.status, res.err);
	snprintf(want, sizeof want, "200 12 %s\n200 12 %s\n200 12 %s\n", u_root, u_root, u_root);
	T_STR_EQ(res.out, want);

	/* Graceful shutdown on the signal: exit 0. */
	stop_server(&srv, sig, &srv_out);
	T_ASSERT(srv_out.status == 0, "http_server ended with %d after signal %d; stderr: %s",
		 srv_out.status, sig, srv_out.err);
	snprintf(want, sizeof want, "listening on %s (%s thread%s)\n", base, threads,
		 strcmp(threads, "1") ? "s" : "");
	T_STR_EQ(srv_out.out, want);
	snprintf(want, sizeof want, "signal %d: shutting down\n", sig);
	T_STR_EQ(srv_out.err, want);
	remove_tmpdir();
}

START_TEST(http_server_serves_fetch_url_and_fetch_many)
{
	http_round("1", SIGTERM);
}
END_TEST

START_TEST(http_server_with_two_threads_stops_on_sigint)
{
	http_round("2", SIGINT);
}
END_TEST

START_TEST(fetch_examples_report_errors)
{
	char url[64], want[256];
	int fd;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/", refusing_port(&fd));
	run_example("fetch_url", (const char *const[]){ url, NULL }, &res);
	T_ASSERT(res.status == 1, "fetch_url of a closed port exited with %d", res.status);
	T_STR_EQ(res.out, "");
	snprintf(want, sizeof want, "fetch_url: %s: %s\n", url, strerror(ECONNREFUSED));
	T_STR_EQ(res.err, want);

	run_example("fetch_many", (const char *const[]){ url, NULL }, &res);
	close(fd);
	T_ASSERT(res.status == 1, "fetch_many of a closed port exited with %d", res.status);
	snprintf(want, sizeof want, "error %s %s\n", strerror(ECONNREFUSED), url);
	T_STR_EQ(res.out, want);

	run_example("fetch_url", (const char *const[]){ "ftp://127.0.0.1/", NULL }, &res);
	T_ASSERT(res.status == 1, "fetch_url ftp:// exited with %d", res.status);
	T_CONTAINS(res.err, "unsupported scheme");

	run_example("fetch_url", NULL, &res);
	T_ASSERT(res.status == 2, "fetch_url without a URL exited with %d", res.status);
	T_CONTAINS(res.err, "usage:");
	run_example("fetch_many", NULL, &res);
	T_ASSERT(res.status == 2, "fetch_many without a URL exited with %d", res.status);
	T_CONTAINS(res.err, "usage:");
	run_example("http_server", (const char *const[]){ "--bogus", NULL }, &res);
	T_ASSERT(res.status == 2, "http_server --bogus exited with %d", res.status);
	T_CONTAINS(res.err, "usage:");
}
END_TEST

/* ---- HTTPS: http_server --tls-cert/--tls-key, fetch_url and fetch_many --cacert ------------ */

static void make_certs(void)
{
	T_ASSERT(th_certs_make(&certs), "th_certs_make failed");
}

/* http_server serving HTTPS with the certificate crt (its key follows it in certs.path) and
 * tmpdir as its root, on a port the kernel picked; base gets "https://127.0.0.1:PORT/". */
static int start_https(int crt, struct proc *srv, struct result *out, char *base, size_t len)
{
	int p = start_server("http_server",
			     (const char *const[]){ "--host", "127.0.0.1", "--port", "0", "--root",
						    tmpdir, "--tls-cert", certs.path[crt],
						    "--tls-key", certs.path[crt + 1], NULL },
			     "listening on https://127.0.0.1:", false, srv, out);

	snprintf(base, len, "https://127.0.0.1:%d/", p);
	return p;
}

/* fetch_url [--cacert ca] url failed with exit 1, nothing on stdout, and a line on stderr
 * naming url, "certificate verify failed" and `reason` (the TLS layer's words). */
static void expect_rejected(const char *ca, const char *url, const char *reason)
{
	char want[256];

	if (ca)
		run_example("fetch_url", (const char *const[]){ "--cacert", ca, url, NULL }, &res);
	else
		run_example("fetch_url", (const char *const[]){ url, NULL }, &res);
	T_ASSERT(res.status == 1, "fetch_url %s (CA %s) exited with %d; stdout: %s; stderr: %s",
		 url, ca ? ca : "system", res.status, res.out, res.err);
	T_STR_EQ(res.out, "");
	snprintf(want, sizeof want, "fetch_url: %s: TLS: the server's certificate was rejected "
		 "(certificate verify failed: ", url);
	T_CONTAINS(res.err, want);
	T_CONTAINS(res.err, reason);
	T_ASSERT(strchr(res.err, '\n') == res.err + strlen(res.err) - 1, "stderr: \"%s\"", res.err);
}

/* Stops an http_server with SIGTERM: exit 0, having said where it listened. */
static void stop_https(struct proc *srv, struct result *out, const char *base)
{
	char want[256];

	stop_server(srv, SIGTERM, out);
	T_ASSERT(out->status == 0, "http_server ended with %d; stderr: %s", out->status, out->err);
	snprintf(want, sizeof want, "listening on %s (1 thread)\n", base);
	T_STR_EQ(out->out, want);
	T_STR_EQ(out->err, "signal 15: shutting down\n");
}

START_TEST(http_server_serves_https_to_fetch_url_and_fetch_many)
{
	static struct result srv_out;
	char text[300], base[64], u_page[96], u_local[96], u_missing[96], want[512];
	struct proc srv;
	char *cur;
	int p;

	make_certs();
	make_tmpdir();
	text_300(text);
	write_file(tmp_path("page.txt"), text, sizeof text);
	p = start_https(CERT_GOOD, &srv, &srv_out, base, sizeof base);
	snprintf(u_page, sizeof u_page, "%spage.txt", base);
	snprintf(u_missing, sizeof u_missing, "%smissing.txt", base);
	/* By name: the certificate names localhost (checked as a DNS name, sent as SNI). */
	snprintf(u_local, sizeof u_local, "https://localhost:%d/page.txt", p);

	expect_output("fetch_url", (const char *const[]){ "--cacert", certs.path[CERT_CA], base, NULL },
		      "hello world\n\n", &res);
	snprintf(want, sizeof want, "%.100s\n", text);
	expect_output("fetch_url",
		      (const char *const[]){ "--cacert", certs.path[CERT_CA], u_page, NULL }, want,
		      &res);
	expect_output("fetch_url",
		      (const char *const[]){ "--cacert", certs.path[CERT_CA], u_local, NULL }, want,
		      &res);
	run_example("fetch_url",
		    (const char *const[]){ "--cacert", certs.path[CERT_CA], u_missing, NULL }, &res);
	T_ASSERT(res.status == 0, "fetch_url of a 404 exited with %d; stderr: %s", res.status,
		 res.err);
	snprintf(want, sizeof want, "fetch_url: %s: HTTP status 404\n", u_missing);
	T_STR_EQ(res.err, want);

	/* Three URLs at once over one client, and the same one three times. */
	run_example("fetch_many",
		    (const char *const[]){ "--cacert", certs.path[CERT_CA], base, u_page, u_missing,
					   NULL },
		    &res);
	T_ASSERT(res.status == 0, "fetch_many exited with %d; stderr: %s", res.status, res.err);
	T_STR_EQ(res.err, "");
	cur = res.out;
	expect_fetch_line(&cur, 200, 12, base);
	expect_fetch_line(&cur, 200, 300, u_page);
	expect_fetch_line(&cur, 404, -1, u_missing);
	T_STR_EQ(cur, "");
	run_example("fetch_many",
		    (const char *const[]){ "--cacert", certs.path[CERT_CA], base, base, base, NULL },
		    &res);
	T_ASSERT(res.status == 0, "fetch_many exited with %d; stderr: %s", res.status, res.err);
	snprintf(want, sizeof want, "200 12 %s\n200 12 %s\n200 12 %s\n", base, base, base);
	T_STR_EQ(res.out, want);

	/* A CA that signed nothing here, and the system's store: neither trusts the server. */
	expect_rejected(certs.path[CERT_OTHER_CA], base, "issuer");
	expect_rejected(NULL, base, "issuer");
	run_example("fetch_many",
		    (const char *const[]){ "--cacert", certs.path[CERT_OTHER_CA], base, NULL },
		    &res);
	T_ASSERT(res.status == 1, "fetch_many with the wrong CA exited with %d", res.status);
	snprintf(want, sizeof want, "error %s %s\n", strerror(EKEYREJECTED), base);
	T_STR_EQ(res.out, want);

	stop_https(&srv, &srv_out, base);
	cleanup(); /* the certificates and the directory */
}
END_TEST

START_TEST(fetch_url_explains_expired_and_misnamed_certificates)
{
	static struct result srv_out;
	char base[64];
	struct proc srv;

	make_certs();
	make_tmpdir();
	start_https(CERT_EXPIRED, &srv, &srv_out, base, sizeof base);
	expect_rejected(certs.path[CERT_CA], base, "expired");
	stop_https(&srv, &srv_out, base);

	/* A certificate for elsewhere.example, asked for 127.0.0.1. */
	start_https(CERT_WRONG, &srv, &srv_out, base, sizeof base);
	expect_rejected(certs.path[CERT_CA], base, "mismatch");
	stop_https(&srv, &srv_out, base);
	cleanup(); /* the certificates and the directory */
}
END_TEST

START_TEST(https_examples_report_bad_files)
{
	char want[PATH_MAX + 128];
	const char *missing;

	make_certs();
	make_tmpdir();
	missing = tmp_path("missing.pem");
	/* http_server: a certificate that cannot be read, a key that is not its certificate's,
	 * a certificate without a key. */
	run_example("http_server",
		    (const char *const[]){ "--port", "0", "--tls-cert", missing, "--tls-key",
					   certs.path[CERT_GOOD_KEY], NULL },
		    &res);
	T_ASSERT(res.status == 1, "http_server with a missing certificate exited with %d",
		 res.status);
	snprintf(want, sizeof want, "http_server: %s: %s\n", missing, strerror(ENOENT));
	T_STR_EQ(res.err, want);
	T_STR_EQ(res.out, "");
	run_example("http_server",
		    (const char *const[]){ "--port", "0", "--tls-cert", certs.path[CERT_GOOD],
					   "--tls-key", certs.path[CERT_WRONG_KEY], NULL },
		    &res);
	T_ASSERT(res.status == 1, "http_server with a mismatched key exited with %d", res.status);
	T_CONTAINS(res.err, "does not match the certificate");
	run_example("http_server",
		    (const char *const[]){ "--port", "0", "--tls-cert", certs.path[CERT_GOOD], NULL },
		    &res);
	T_ASSERT(res.status == 2, "http_server --tls-cert alone exited with %d", res.status);
	T_CONTAINS(res.err, "usage:");

	/* fetch_url: an unreadable --cacert, a file with no certificate, and no --insecure. */
	run_example("fetch_url",
		    (const char *const[]){ "--cacert", missing, "https://127.0.0.1:1/", NULL }, &res);
	T_ASSERT(res.status == 1, "fetch_url --cacert missing exited with %d", res.status);
	snprintf(want, sizeof want, "fetch_url: %s: %s\n", missing, strerror(ENOENT));
	T_STR_EQ(res.err, want);
	run_example("fetch_url",
		    (const char *const[]){ "--cacert", certs.path[CERT_GOOD_KEY],
					   "https://127.0.0.1:1/", NULL },
		    &res);
	T_ASSERT(res.status == 1, "fetch_url --cacert KEY exited with %d", res.status);
	T_CONTAINS(res.err, "no PEM certificate in it");
	run_example("fetch_url", (const char *const[]){ "--insecure", "https://127.0.0.1:1/", NULL },
		    &res);
	T_ASSERT(res.status == 2, "fetch_url --insecure exited with %d", res.status);
	T_CONTAINS(res.err, "usage:");
	cleanup(); /* the certificates and the directory */
}
END_TEST

/* README.md, "HTTPS": a self-signed certificate made by these exact arguments (keep the two
 * in step), http_server serving with it, fetch_url trusting it. */
#define OPENSSL "/usr/bin/openssl"

START_TEST(readme_https_walkthrough)
{
	static struct result srv_out;
	char base[64], out[4096];
	const char *key, *crt;
	struct proc srv;
	int p, rc;

	if (access(OPENSSL, X_OK) != 0) {
		fprintf(stderr, "readme_https_walkthrough: %s not installed: skipped\n", OPENSSL);
		return;
	}
	make_tmpdir();
	key = tmp_path("key.pem");
	crt = tmp_path("cert.pem");
	{
		char *const argv[] = { OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
				       "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
				       "-subj", "/CN=localhost", "-addext",
				       "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout",
				       (char *)key, "-out", (char *)crt, NULL };
		th_child c = th_child_of(argv);

		c.std[0] = TH_FD_NULL;
		c.std[2] = TH_FD_STDOUT;
		c.alarm_s = RUN_DEADLINE;
		rc = th_run(&c, out, sizeof out, NULL);
		T_ASSERT(rc == 0, "openssl req exited with %d: %s", rc, out);
	}
	p = start_server("http_server",
			 (const char *const[]){ "--port", "0", "--tls-cert", crt, "--tls-key", key,
						NULL },
			 "listening on https://127.0.0.1:", false, &srv, &srv_out);
	snprintf(base, sizeof base, "https://127.0.0.1:%d/", p);
	expect_output("fetch_url", (const char *const[]){ "--cacert", crt, base, NULL },
		      "hello world\n\n", &res);
	{
		char by_ip[64], want[512];

		snprintf(by_ip, sizeof by_ip, "%s", base);
		snprintf(base, sizeof base, "https://localhost:%d/", p);
		expect_output("fetch_url", (const char *const[]){ "--cacert", crt, base, NULL },
			      "hello world\n\n", &res);
		snprintf(want, sizeof want, "200 12 %s\n200 12 %s\n", by_ip, base);
		expect_output("fetch_many",
			      (const char *const[]){ "--cacert", crt, by_ip, base, NULL }, want,
			      &res);
		/* Without --cacert: the line the README shows. */
		run_example("fetch_url", (const char *const[]){ by_ip, NULL }, &res);
		T_ASSERT(res.status == 1, "fetch_url without --cacert exited with %d", res.status);
		snprintf(want, sizeof want,
			 "fetch_url: %s: TLS: the server's certificate was rejected (certificate "
			 "verify failed: self-signed certificate)\n",
			 by_ip);
		T_STR_EQ(res.err, want);
	}
	stop_server(&srv, SIGINT, &srv_out);
	T_ASSERT(srv_out.status == 0, "http_server ended with %d; stderr: %s", srv_out.status,
		 srv_out.err);
	cleanup(); /* the certificates and the directory */
}
END_TEST

static Suite *examples_suite(void)
{
	Suite *s = suite_create("examples");
	TCase *tc = tcase_create("seed");
	TCase *files = tcase_create("files");
	TCase *net = tcase_create("net");
	TCase *https = tcase_create("https");

	tcase_set_timeout(tc, TH_TIMEOUT);
	tcase_add_test(tc, hello_prints_hello_async);
	tcase_add_test(tc, fetch_data_prints_and_returns_data);
	tcase_add_test(tc, my_async_function_prints_result);
	tcase_add_test(tc, gather_counts_every_task);
	tcase_add_test(tc, gather_rejects_a_bad_count);
	suite_add_tcase(s, tc);

	tcase_set_timeout(files, 60);
	tcase_add_test(files, read_file_prints_first_100_characters);
	tcase_add_test(files, read_file_reports_a_missing_file);
	tcase_add_test(files, copy_copies_5_mib_byte_for_byte);
	tcase_add_test(files, copy_rejects_bad_usage);
	tcase_add_test(files, copy_reports_a_missing_source);
	suite_add_tcase(s, files);

	tcase_set_timeout(net, 60);
	tcase_add_test(net, echo_client_gets_its_lines_back);
	tcase_add_test(net, echo_client_reports_errors);
	tcase_add_test(net, http_server_serves_fetch_url_and_fetch_many);
	tcase_add_test(net, http_server_with_two_threads_stops_on_sigint);
	tcase_add_test(net, fetch_examples_report_errors);
	suite_add_tcase(s, net);

	tcase_set_timeout(https, 90);
	tcase_add_test(https, http_server_serves_https_to_fetch_url_and_fetch_many);
	tcase_add_test(https, fetch_url_explains_expired_and_misnamed_certificates);
	tcase_add_test(https, https_examples_report_bad_files);
	tcase_add_test(https, readme_https_walkthrough);
	suite_add_tcase(s, https);
	return s;
}

int main(void)
{
	if (!find_examples()) {
		fprintf(stderr, "test_examples: no example programs in %s: skipping\n",
			examples_dir[0] ? examples_dir : "(unknown)");
		return TH_SKIP;
	}
	return th_main(examples_suite());
}
