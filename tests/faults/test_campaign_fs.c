/* tests/faults/test_campaign_fs.c: the files' seeded fault campaign (campaign.h): a
 * patterned file of about 1 MiB written block by block in a shuffled order and read back in
 * another (corio_write_all / corio_read_full, and corio_write / corio_read retried by hand
 * over short counts), then the whole-file helpers (corio_write_file, atomic or not,
 * corio_read_file) and corio_copy_file; and a file written through a corio_file_writer
 * and read back through a corio_file_reader (reads and lines in turn), under every fault
 * class. Shorts and EINTR must be
 * invisible (those calls promise to retry them); EAGAIN, EIO, ENOSPC and ENOMEM must end the
 * workload with a clean error, no wrong byte, no descriptor, no memory and no temporary file
 * left behind.
 *
 *   CORIO_CAMPAIGN_SEEDS=1-200 build/debug/test_campaign_fs
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>

#include "tests/faults/campaign.h"

#define BLOCK (64u << 10)
#define NBLOCKS 17 /* the last one partial */

static char dir[320]; /* a fresh mkdtemp directory per seed */

static const char *path(const char *name)
{
	static char bufs[4][384];
	static int i;
	char *b = bufs[i++ % 4];

	snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
	return b;
}

/* The file's length for seed: 16 full blocks and a partial one of 1..BLOCK-1 bytes. */
static size_t file_len(unsigned seed)
{
	return (NBLOCKS - 1) * (size_t)BLOCK + 1 + (seed * 131u) % (BLOCK - 1);
}

/* A permutation of the blocks, from rng. */
static void shuffle(int *order, int n, uint64_t *rng)
{
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(cp_rand(rng) % (unsigned)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/* What a careful user of the plain calls writes: loop over short counts, retry EINTR (the
 * one-shot calls may return it; EAGAIN and the rest are errors). */
static ssize_t by_hand(int fd, uint8_t *p, size_t n, off_t off, bool write)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = write ? corio_write(fd, p + done, n - done, off + (off_t)done)
				  : corio_read(fd, p + done, n - done, off + (off_t)done);

		if (k == -EINTR)
			continue;
		if (k < 0)
			return k;
		if (k == 0)
			return write ? -EIO : (ssize_t)done;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

/* Writes (or reads back and checks) every block of buf in a shuffled order, even steps
 * with the looping helpers, odd ones by hand. NULL or a message. */
static const char *blocks(cp_ctx *c, int fd, uint8_t *buf, size_t len, bool write)
{
	uint64_t rng = c->seed * (write ? 19ull : 23ull);
	int order[NBLOCKS];

	shuffle(order, NBLOCKS, &rng);
	for (int i = 0; i < NBLOCKS; i++) {
		size_t off = (size_t)order[i] * BLOCK, n = len - off < BLOCK ? len - off : BLOCK;
		ssize_t k;

		if (!write)
			memset(buf + off, 0, n);
		if (i % 2)
			k = by_hand(fd, buf + off, n, (off_t)off, write);
		else
			k = write ? corio_write_all(fd, buf + off, n, (off_t)off)
				  : corio_read_full(fd, buf + off, n, (off_t)off);
		if (k < 0)
			return cp_stop(c, write ? "writing a block" : "reading a block", k);
		if ((size_t)k != n)
			return cp_fail(c, "block at %zu: %zd of %zu bytes", off, k, n);
		if (!write && cp_mismatch(c->seed, off, buf + off, n) != n)
			return cp_fail(c, "wrong byte at %zu", off + cp_mismatch(c->seed, off, buf + off, n));
	}
	return NULL;
}

/* The block file: written shuffled, fsync'ed, read back shuffled another way. */
static const char *block_file(cp_ctx *c, uint8_t *buf, size_t len)
{
	int fd = corio_open(path("data"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;
	const char *m;

	if (fd < 0)
		return cp_stop(c, "corio_open", fd);
	cp_fill(c->seed, 0, buf, len);
	if (!(m = blocks(c, fd, buf, len, true))) {
		if ((rc = corio_fsync(fd)) != 0)
			m = cp_stop(c, "corio_fsync", rc);
		else
			m = blocks(c, fd, buf, len, false);
	}
	corio_close(fd);
	return m;
}

/* Reads name whole and checks it holds the first len bytes of the stream. */
static const char *check_whole(cp_ctx *c, const char *name, size_t len)
{
	char *data = (char *)&data; /* must be replaced on success, untouched on failure */
	size_t n = SIZE_MAX;
	int rc = corio_read_file(path(name), &data, &n);
	const char *m = NULL;

	if (rc != 0)
		return data == (char *)&data ? cp_stop(c, "corio_read_file", rc)
					     : cp_fail(c, "corio_read_file failed but set *data");
	if (n != len)
		m = cp_fail(c, "%s: %zu bytes read whole, %zu written", name, n, len);
	else if (cp_mismatch(c->seed, 0, (uint8_t *)data, n) != n || data[n] != 0)
		m = cp_fail(c, "%s: wrong byte at %zu", name, cp_mismatch(c->seed, 0, (uint8_t *)data, n));
	free(data);
	return m;
}

/* The whole-file helpers: write_file (atomic for odd seeds), read_file, copy_file. */
static const char *whole_files(cp_ctx *c, const uint8_t *buf, size_t len)
{
	static const size_t sizes[] = { 0, 1, 4096, 65537 };
	size_t n = c->seed % 5 < 4 ? sizes[c->seed % 5] : len;
	int flags = c->seed % 2 ? CORIO_WRITE_ATOMIC : 0, rc;
	ssize_t k;
	const char *m;

	if ((rc = corio_write_file(path("whole"), buf, n, flags)) != 0)
		return cp_stop(c, "corio_write_file", rc);
	if ((m = check_whole(c, "whole", n)))
		return m;
	if ((k = corio_copy_file(path("whole"), path("copy"), 0)) < 0)
		return cp_stop(c, "corio_copy_file", k);
	if ((size_t)k != n)
		return cp_fail(c, "corio_copy_file copied %zd of %zu bytes", k, n);
	return check_whole(c, "copy", n);
}

static const char *files_workload(cp_ctx *c)
{
	size_t len = file_len(c->seed);
	uint8_t *buf = malloc(len);
	const char *m;

	if (!buf)
		return cp_fail(c, "malloc");
	m = block_file(c, buf, len);
	if (!m)
		m = whole_files(c, buf, len);
	free(buf);
	return m;
}

/* ---- buffered writer and reader ------------------------------------------------------- */

/* Writes len bytes of the stream through a corio_file_writer in chunks of up to three
 * buffers (some buffered, some going straight out), then frees it (the final flush). */
static const char *buffered_write(cp_ctx *c, int fd, const uint8_t *buf, size_t len,
				  size_t bufsize)
{
	corio_file_writer *w = corio_file_writer_new(fd, 0, bufsize);
	uint64_t rng = c->seed * 31ull;
	size_t off = 0;
	int rc;

	if (!w)
		return cp_fail(c, "corio_file_writer_new");
	while (off < len) {
		size_t n = 1 + cp_rand(&rng) % (3 * bufsize);
		ssize_t k = corio_file_writer_write(w, buf + off, n < len - off ? n : len - off);

		if (k < 0) {
			corio_file_writer_free(w);
			return cp_stop(c, "corio_file_writer_write", k);
		}
		off += (size_t)k;
	}
	if (corio_file_writer_tell(w) != len) {
		corio_file_writer_free(w);
		return cp_fail(c, "corio_file_writer_tell: %llu, want %zu",
			       (unsigned long long)corio_file_writer_tell(w), len);
	}
	if ((rc = corio_file_writer_free(w)) != 0)
		return cp_stop(c, "corio_file_writer_free (the last flush)", rc);
	return NULL;
}

/* One step of the reader: a read of up to want bytes, or (every third step) a line, which
 * this stream of random bytes has wherever a byte is '\n' (copied up to cap bytes: a line
 * longer than what is left of the file is caught by the caller). */
static ssize_t reader_step(corio_file_reader *r, uint8_t *out, size_t want, size_t cap, int i)
{
	char *line;
	ssize_t n;

	if (i % 3 != 2)
		return corio_file_reader_read(r, out, want);
	n = corio_file_reader_readline(r, &line, 0);
	if (n > 0)
		memcpy(out, line, (size_t)n < cap ? (size_t)n : cap);
	return n;
}

/* Reads the file back through a corio_file_reader, reads and lines in turn. */
static const char *buffered_read(cp_ctx *c, int fd, uint8_t *out, size_t len, size_t bufsize)
{
	corio_file_reader *r = corio_file_reader_new(fd, 0, bufsize);
	uint64_t rng = c->seed * 37ull;
	size_t got = 0;
	const char *m = NULL;

	if (!r)
		return cp_fail(c, "corio_file_reader_new");
	for (int i = 0; !m; i++) {
		size_t want = 1 + cp_rand(&rng) % (2 * bufsize);
		ssize_t n = reader_step(r, out + got, want < len - got ? want : len - got + 1,
					len + 1 - got, i);

		if (n < 0)
			m = cp_stop(c, i % 3 == 2 ? "corio_file_reader_readline" : "corio_file_reader_read", n);
		else if (got + (size_t)n > len || cp_mismatch(c->seed, got, out + got, (size_t)n) != (size_t)n)
			m = cp_fail(c, "reader: wrong bytes at %zu (step %d, %zd bytes)", got, i, n);
		else if (n == 0)
			break;
		else
			got += (size_t)n;
	}
	if (!m && got != len)
		m = cp_fail(c, "reader: %zu of %zu bytes before EOF", got, len);
	corio_file_reader_free(r);
	return m;
}

static const char *buffered_workload(cp_ctx *c)
{
	size_t len = file_len(c->seed), bufsize = (size_t)512 << (c->seed % 8);
	uint8_t *buf = malloc(len + 1), *out = malloc(len + 1);
	int fd = corio_open(path("data"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *m;

	if (fd < 0)
		m = cp_stop(c, "corio_open", fd);
	else if (!buf || !out)
		m = cp_fail(c, "malloc");
	else {
		cp_fill(c->seed, 0, buf, len);
		m = buffered_write(c, fd, buf, len, bufsize);
		m = m ? m : buffered_read(c, fd, out, len, bufsize);
	}
	if (fd >= 0)
		corio_close(fd);
	free(buf);
	free(out);
	return m;
}

/* After a run: only the files the workload names may be there (a failed atomic write or
 * copy removes its temporary or half-made file), and none is left for the next run. */
static void check_and_empty_dir(cp_ctx *c)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char stray[256] = "";

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strcmp(e->d_name, "data") && strcmp(e->d_name, "whole") && strcmp(e->d_name, "copy"))
			snprintf(stray, sizeof stray, "%s", e->d_name);
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	ck_assert_msg(!stray[0], "seed %u, class %s, CORIO_FAULTS=%s: %s left behind\n"
		      "  replay: CORIO_CAMPAIGN_SEEDS=%u %s", c->seed, cp_class_names[c->cls],
		      c->spec, stray, c->seed, cp_exe);
}

/* Made by main, removed by main whatever the seeds did; each seed works in a fresh
 * directory inside. */
static char base[256];

/* Runs fn for seed in a fresh directory. Shorts and EINTR must not show: every call here
 * promises to retry them. */
static void files_campaign(unsigned seed, cp_workload fn, const char *test)
{
	static const int none[] = { 0 };

	snprintf(dir, sizeof dir, "%s/seed-%u-XXXXXX", base, seed);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	cp_run_classes(seed, CP_FILES, fn, test, (1u << CP_SHORT) | (1u << CP_EINTR), none, NULL,
		       check_and_empty_dir);
	rmdir(dir);
}

START_TEST(test_files)
{
	files_campaign((unsigned)_i, files_workload, "test_files");
}
END_TEST

START_TEST(test_files_buffered)
{
	files_campaign((unsigned)_i, buffered_workload, "test_files_buffered");
}
END_TEST

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(base, sizeof base, "%s/corio-campaign-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cp_main(CP_SUITE("campaign_fs", 300, test_files, test_files_buffered));
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
