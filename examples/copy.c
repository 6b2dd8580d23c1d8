/* examples/copy.c: copies a file with N reads in flight: N tasks each take the next block,
 * read it with corio_read_full and write it with corio_write_all at the same offset, while
 * one more task reports progress on stderr. (corio_copy_file does the same job with
 * splice; this shows how to keep several operations in flight: one task per operation.)
 *
 * Usage: copy [-n N] [-b BLOCK_KIB] SRC DST
 *   -n N      reads in flight (default 8, 1..1024)
 *   -b KIB    block size in KiB (default 128, 4..65536)
 * Exit status: 0 copied, 1 an I/O error (message on stderr; a DST this run created is
 * removed), 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corio/corio.h>

typedef struct copy {
	const char *src, *dst;
	unsigned inflight;
	size_t block;
	int in, out;
	uint64_t size;     /* at the start; the copy goes on to EOF if the file grows */
	uint64_t next;     /* next offset to hand out (one loop, one thread: no locking) */
	uint64_t copied;
	bool eof;
	int err;           /* first error, negative errno */
	const char *what;  /* what failed */
	uint64_t started;
} copy;

static void fail(copy *c, int err, const char *what)
{
	if (c->err == 0) {
		c->err = err;
		c->what = what;
	}
}

static void *worker(void *arg)
{
	copy *c = arg;
	char *buf = malloc(c->block);

	if (!buf) {
		fail(c, -ENOMEM, "malloc");
		return NULL;
	}
	while (!c->eof && c->err == 0) {
		uint64_t off = c->next;
		ssize_t n, w;

		c->next += c->block;
		n = corio_read_full(c->in, buf, c->block, (off_t)off);
		if (n < 0) {
			fail(c, (int)n, c->src);
			break;
		}
		if ((size_t)n < c->block)
			c->eof = true; /* later offsets would read nothing */
		if (n > 0 && (w = corio_write_all(c->out, buf, (size_t)n, (off_t)off)) < 0) {
			fail(c, (int)w, c->dst);
			break;
		}
		c->copied += (uint64_t)n;
	}
	free(buf);
	return NULL;
}

static void report(const copy *c, bool last)
{
	double secs = (double)(corio_now() - c->started) / 1e9;
	double mib = (double)c->copied / 1048576.0;
	double pct = c->size ? 100.0 * (double)c->copied / (double)c->size : 100.0;

	fprintf(stderr, "%s%.1f MiB (%.0f%%), %.1f MiB/s%s", isatty(2) ? "\r" : "", mib,
		pct > 100 ? 100 : pct, secs > 0 ? mib / secs : 0.0,
		last || !isatty(2) ? "\n" : "");
}

static void *progress(void *arg)
{
	while (corio_sleep(CORIO_MS(500)) == 0) /* -ECANCELED ends it */
		report(arg, false);
	return NULL;
}

static int same_file(const struct statx *a, const struct statx *b)
{
	return a->stx_ino == b->stx_ino && a->stx_dev_major == b->stx_dev_major &&
	       a->stx_dev_minor == b->stx_dev_minor;
}

/* Opens SRC and DST (created with SRC's permission bits, or truncated). 0 or -errno, with
 * c->err and c->what set. */
static int open_files(copy *c, bool *created)
{
	struct statx ss, ds;
	int rc;

	c->in = corio_open(c->src, O_RDONLY, 0);
	rc = c->in < 0 ? c->in : corio_fstat(c->in, &ss);
	if (rc == 0 && S_ISDIR(ss.stx_mode))
		rc = -EISDIR;
	if (rc < 0) {
		fail(c, rc, c->src);
		return rc;
	}
	/* Truncating DST would destroy SRC. */
	if (corio_stat(c->dst, &ds) == 0 && same_file(&ss, &ds)) {
		fail(c, -EINVAL, "SRC and DST are the same file");
		return -EINVAL;
	}
	c->size = ss.stx_size;
	c->out = corio_open(c->dst, O_WRONLY | O_CREAT | O_EXCL, ss.stx_mode & 0777);
	*created = c->out >= 0;
	if (c->out == -EEXIST)
		c->out = corio_open(c->dst, O_WRONLY | O_TRUNC, 0);
	if (c->out < 0) {
		fail(c, c->out, c->dst);
		return c->out;
	}
	return 0;
}

static void *main_task(void *arg)
{
	copy *c = arg;
	corio_task **tasks = calloc(c->inflight, sizeof *tasks), *prog;
	bool created = false;

	c->in = c->out = -1;
	if (!tasks || open_files(c, &created) < 0)
		goto out;
	c->started = corio_now();
	prog = corio_spawn(progress, c);
	for (unsigned i = 0; i < c->inflight; i++)
		if (!(tasks[i] = corio_spawn(worker, c)))
			fail(c, -ENOMEM, "spawn");
	for (unsigned i = 0; i < c->inflight; i++)
		if (tasks[i])
			corio_join(tasks[i], NULL);
	if (prog) {
		corio_cancel(prog);
		corio_join(prog, NULL);
	}
	report(c, true);
out:
	if (c->out >= 0) {
		int rc = corio_close(c->out);

		if (rc < 0)
			fail(c, rc, c->dst);
	}
	if (c->in >= 0)
		corio_close(c->in);
	if (c->err && created)
		corio_unlink(c->dst);
	free(tasks);
	return NULL;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-n N] [-b BLOCK_KIB] SRC DST\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	copy c = { .inflight = 8, .block = 128 * 1024 };
	long v;
	int opt, rc;
	char *end;

	while ((opt = getopt(argc, argv, "n:b:")) != -1) {
		v = optarg ? strtol(optarg, &end, 10) : 0;
		if (opt == 'n' && *end == 0 && v >= 1 && v <= 1024)
			c.inflight = (unsigned)v;
		else if (opt == 'b' && *end == 0 && v >= 4 && v <= 65536)
			c.block = (size_t)v * 1024;
		else
			return usage(argv[0]);
	}
	if (argc - optind != 2)
		return usage(argv[0]);
	c.src = argv[optind];
	c.dst = argv[optind + 1];
	if ((rc = corio_run(main_task, &c, NULL)) < 0) {
		fprintf(stderr, "copy: corio_run: %s\n", strerror(-rc));
		return 1;
	}
	if (c.err) {
		fprintf(stderr, "copy: %s: %s\n", c.what, strerror(-c.err));
		return 1;
	}
	fprintf(stderr, "copy: %" PRIu64 " bytes, %s -> %s\n", c.copied, c.src, c.dst);
	return 0;
}
