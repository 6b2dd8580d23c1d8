/* tests/fs/fs_helpers.h: what the fs suites (tests/fs/test_fs_*.c) share: the fixture (a
 * fresh mkdtemp directory per test, removed afterwards, and the same descriptors before and
 * after), plain POSIX helpers that are the independent reference (files written and read with
 * pwrite and pread, sha256sum, directory entries), and the main that makes and removes the
 * base directory. Task functions report a failure by returning a message (TH_CHECK), so the
 * assertion that fails is printed by Check. */
#ifndef CORIO_TESTS_FS_HELPERS_H
#define CORIO_TESTS_FS_HELPERS_H

#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "tests/support/helpers.h"

/* ---- fixture: a fresh directory per test ---------------------------------------------- */

static char base[64];  /* made by main(), removed by main() whatever the tests did */
static char dir[256];
static int fds_at_start;

static inline int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static inline void setup(void)
{
	fds_at_start = th_count_fds();
	snprintf(dir, sizeof dir, "%s/t-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static const char *P(const char *name);

static inline void teardown(void)
{
	umount2(P("small"), MNT_DETACH); /* the ENOSPC test's tmpfs, should it have failed */
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ck_assert_int_eq(th_count_fds(), fds_at_start);
}

/* dir/name in a static rotating buffer (a few live at once). */
static inline const char *P(const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

/* ---- plain POSIX helpers (the independent reference) ----------------------------------- */

static inline void fill_rand(void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed | 1;
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 29);
	}
}

static inline void put_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t done = 0;

	ck_assert_int_ge(fd, 0);
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)data + done, len - done, (off_t)done);

		ck_assert_int_gt(n, 0);
		done += (size_t)n;
	}
	close(fd);
}

/* The whole file through plain pread; *len gets its size. */
static inline char *get_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf;
	size_t done = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	while (done < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);

		ck_assert_int_gt(n, 0);
		done += (size_t)n;
	}
	close(fd);
	*len = done;
	return buf;
}

/* sha256sum's verdict on path (64 hex digits into out). */
static inline void sha256_of(const char *path, char out[65])
{
	char cmd[600], line[256];
	FILE *f;

	snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	ck_assert_int_eq(pclose(f), 0);
	memcpy(out, line, 64);
	out[64] = 0;
}

static inline void assert_same_sha(const char *a, const char *b)
{
	char ha[65], hb[65];

	sha256_of(a, ha);
	sha256_of(b, hb);
	ck_assert_str_eq(ha, hb);
}

static inline int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..") != 0);
	closedir(d);
	return n;
}

/* Runs fn in a loop (cfg may be NULL) and asserts, in this order, that corio_run returned
 * 0, that fn returned TH_OK (its message otherwise), and that no descriptor was left open. */
static inline void run_ok(const corio_config *cfg, corio_fn fn, void *arg)
{
	int fds = th_count_fds();
	void *res = (void *)"never ran";
	int rc = corio_run_config(cfg, fn, arg, &res);

	ck_assert_msg(rc == 0, "corio_run returned %d (%s)", rc, strerror(-rc));
	ck_assert_msg(res == TH_OK, "task failed: %s", (const char *)res);
	ck_assert_int_eq(th_count_fds(), fds);
}

#define RUN_OK(fn, arg) run_ok(NULL, fn, arg)

static inline void assert_contents(const char *path, const void *data, size_t len)
{
	size_t got_len;
	char *got = get_file(path, &got_len);

	ck_assert_uint_eq(got_len, len);
	ck_assert(memcmp(got, data, len) == 0);
	free(got);
}

/* A failed test exits its forked child before teardown: the parent removes what is left
 * (a tmpfs still mounted first). */
static inline void remove_base(void)
{
	DIR *d = opendir(base);
	struct dirent *e;
	char mnt[400];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(mnt, sizeof mnt, "%s/%s/small", base, e->d_name);
		umount2(mnt, MNT_DETACH);
	}
	if (d)
		closedir(d);
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Gives t the per-test directory fixture. */
static inline TCase *fs_fixture(TCase *t)
{
	tcase_add_checked_fixture(t, setup, teardown);
	return t;
}

/* The common main of the fs suites: the base directory, th_main, then what is left removed. */
static inline int fs_main(Suite *s, const char *prog)
{
	int rc;

	snprintf(base, sizeof base, "/tmp/corio-test-fs-XXXXXX");
	if (!mkdtemp(base)) {
		fprintf(stderr, "%s: mkdtemp: %s\n", prog, strerror(errno));
		return 1;
	}
	rc = th_main(s);
	remove_base();
	return rc;
}

#endif
