/* tests/fs/test_fs_dirs.c: directories and paths through fs/ (listdir of 1000 entries, path
 * operations, sync and space), and cancellation: a read in flight on a pipe cancelled, a
 * timeout on a pipe read, and corio_close outside a task. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/support/helpers.h"
#include "tests/fs/fs_helpers.h"

#include "fs/fs_internal.h" /* the thread-pool ftruncate, the copy fallback, O_DIRECT marks */

/* ---- listdir --------------------------------------------------------------------------- */

static void *t_listdir(void *arg)
{
	corio_dirent *ents;
	size_t n;
	char name[64];
	static unsigned char seen[1003];

	TH_CHECK(corio_mkdir(P("many"), 0755) == 0);
	for (int i = 0; i < 1000; i++) {
		int fd;

		snprintf(name, sizeof name, "many/file-%04d", i);
		fd = corio_open(P(name), O_WRONLY | O_CREAT | O_EXCL, 0644);
		TH_CHECK(fd >= 0 && corio_close(fd) == 0);
	}
	TH_CHECK(corio_mkdir(P("many/subdir"), 0755) == 0);
	TH_CHECK(corio_symlink("file-0000", P("many/link")) == 0);
	TH_CHECK(corio_listdir(P("many"), &ents, &n) == 0);
	TH_CHECK(n == 1002);
	memset(seen, 0, sizeof seen);
	for (size_t i = 0; i < n; i++) {
		int k;

		if (strcmp(ents[i].name, "subdir") == 0) {
			TH_CHECK(ents[i].type == DT_DIR);
			k = 1000;
		} else if (strcmp(ents[i].name, "link") == 0) {
			TH_CHECK(ents[i].type == DT_LNK);
			k = 1001;
		} else {
			TH_CHECK(sscanf(ents[i].name, "file-%d", &k) == 1 && k >= 0 && k < 1000);
			TH_CHECK(ents[i].type == DT_REG && ents[i].ino != 0);
		}
		TH_CHECK(!seen[k]);
		seen[k] = 1;
	}
	corio_listdir_free(ents);
	TH_CHECK(corio_mkdir(P("empty"), 0755) == 0);
	TH_CHECK(corio_listdir(P("empty"), &ents, &n) == 0 && n == 0 && ents == NULL);
	corio_listdir_free(ents);
	return TH_OK;
}

START_TEST(listdir_1000_entries)
{
	RUN_OK(t_listdir, NULL);
}
END_TEST

/* ---- cancellation and timeouts --------------------------------------------------------- */

typedef struct pipe_read {
	int fd;
	ssize_t rc;
	char buf[64];
} pipe_read;

static void *blocked_reader(void *p)
{
	pipe_read *r = p;

	r->rc = corio_read(r->fd, r->buf, sizeof r->buf, -1);
	return NULL;
}

static void *t_cancel_read(void *arg)
{
	pipe_read r = { .rc = 12345 };
	corio_task *t;
	int p[2];

	TH_CHECK(pipe2(p, O_CLOEXEC) == 0);
	r.fd = p[0];
	t = corio_spawn(blocked_reader, &r);
	TH_CHECK(t != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(20)) == 0); /* it is parked in the kernel now */
	TH_CHECK(r.rc == 12345);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(r.rc == -ECANCELED);
	/* the pipe still works: nothing was consumed by the cancelled read */
	TH_CHECK(corio_write(p[1], "x", 1, -1) == 1);
	TH_CHECK(corio_read(p[0], r.buf, sizeof r.buf, -1) == 1);
	TH_CHECK(corio_close(p[0]) == 0 && corio_close(p[1]) == 0);
	return TH_OK;
}

START_TEST(cancel_read_in_flight_on_pipe)
{
	int before = th_count_fds();

	RUN_OK(t_cancel_read, NULL); /* also asserts the loop left no descriptor open */
	ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

static void *t_timeout_read(void *arg)
{
	corio_timeout to;
	char buf[8];
	int p[2];

	TH_CHECK(pipe2(p, O_CLOEXEC) == 0);
	corio_timeout_enter(&to, CORIO_MS(20));
	TH_CHECK(corio_read(p[0], buf, sizeof buf, -1) == -ETIMEDOUT);
	TH_CHECK(corio_close(p[1]) == 0); /* cleanup runs past the deadline */
	TH_CHECK(corio_timeout_exit(&to));
	TH_CHECK(corio_close(p[0]) == 0);
	return TH_OK;
}

START_TEST(timeout_on_pipe_read)
{
	RUN_OK(t_timeout_read, NULL);
}
END_TEST

/* ---- path operations, sync and space, vectors ------------------------------------------ */

static void *t_paths(void *arg)
{
	struct statx st;
	struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_BENEATH };
	int dfd, fd;

	TH_CHECK(corio_mkdir(P("d"), 0750) == 0);
	TH_CHECK(corio_mkdir(P("d"), 0750) == -EEXIST);
	TH_CHECK(corio_write_file(P("d/a"), "AAA", 3, 0) == 0);
	TH_CHECK(corio_symlink("a", P("d/sym")) == 0);
	TH_CHECK(corio_statx(AT_FDCWD, P("d/sym"), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &st) == 0);
	TH_CHECK(S_ISLNK(st.stx_mode));
	TH_CHECK(corio_stat(P("d/sym"), &st) == 0 && S_ISREG(st.stx_mode) && st.stx_size == 3);
	TH_CHECK(corio_link(P("d/a"), P("d/hard")) == 0);
	TH_CHECK(corio_stat(P("d/a"), &st) == 0 && st.stx_nlink == 2);
	TH_CHECK(corio_rename(P("d/hard"), P("d/b")) == 0);
	TH_CHECK(corio_renameat(AT_FDCWD, P("d/b"), AT_FDCWD, P("d/a"), RENAME_NOREPLACE) ==
		 -EEXIST);
	TH_CHECK(corio_rmdir(P("d")) == -ENOTEMPTY);
	dfd = corio_open(P("d"), O_RDONLY | O_DIRECTORY, 0);
	TH_CHECK(dfd >= 0);
	TH_CHECK((fd = corio_openat(dfd, "a", O_RDONLY, 0)) >= 0 && corio_close(fd) == 0);
	TH_CHECK((fd = corio_open2(dfd, "a", &how)) >= 0 && corio_close(fd) == 0);
	TH_CHECK(corio_open2(dfd, "../d/a", &how) == -EXDEV);
	how.resolve = RESOLVE_NO_SYMLINKS;
	TH_CHECK(corio_open2(dfd, "sym", &how) == -ELOOP);
	TH_CHECK(corio_mkdirat(dfd, "sub", 0700) == 0);
	TH_CHECK(corio_symlinkat("../a", dfd, "sub/up") == 0);
	TH_CHECK(corio_linkat(dfd, "a", dfd, "sub/a2", 0) == 0);
	TH_CHECK(corio_unlinkat(dfd, "sub/up", 0) == 0);
	TH_CHECK(corio_unlinkat(dfd, "sub/a2", 0) == 0);
	TH_CHECK(corio_unlinkat(dfd, "sub", AT_REMOVEDIR) == 0);
	TH_CHECK(corio_close(dfd) == 0);
	TH_CHECK(corio_unlink(P("d/sym")) == 0 && corio_unlink(P("d/b")) == 0);
	TH_CHECK(corio_unlink(P("d/a")) == 0 && corio_rmdir(P("d")) == 0);
	return TH_OK;
}

START_TEST(path_operations)
{
	RUN_OK(t_paths, NULL);
	ck_assert_int_eq(count_entries(dir), 0);
}
END_TEST

static void *t_space(void *arg)
{
	struct statx st;
	int fd = corio_open(P("sp"), O_RDWR | O_CREAT | O_TRUNC, 0644);

	TH_CHECK(fd >= 0);
	TH_CHECK(corio_fallocate(fd, 0, 0, 1u << 20) == 0);
	TH_CHECK(corio_fstat(fd, &st) == 0 && st.stx_size == 1u << 20);
	TH_CHECK(corio_fallocate(fd, FALLOC_FL_KEEP_SIZE, 1u << 20, 1u << 20) == 0);
	TH_CHECK(corio_fstat(fd, &st) == 0 && st.stx_size == 1u << 20);
	TH_CHECK(corio_write(fd, "abc", 3, 100) == 3);
	TH_CHECK(corio_fsync(fd) == 0);
	TH_CHECK(corio_fdatasync(fd) == 0);
	TH_CHECK(corio_sync_range(fd, 0, 4096, SYNC_FILE_RANGE_WRITE) == 0);
	TH_CHECK(corio_sync_range(fd, 0, (off_t)5 << 30, SYNC_FILE_RANGE_WRITE) == 0);
	TH_CHECK(corio_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0);
	TH_CHECK(corio_fadvise(fd, 0, (off_t)5 << 30, POSIX_FADV_DONTNEED) == 0);
	TH_CHECK(corio_fadvise(fd, 0, 10, 12345) == -EINVAL);
	TH_CHECK(corio_ftruncate(fd, 50) == 0);
	TH_CHECK(corio_fstat(fd, &st) == 0 && st.stx_size == 50);
	TH_CHECK(corio__fs_ftruncate_blocking(fd, 40) == 0);
	TH_CHECK(corio_fstat(fd, &st) == 0 && st.stx_size == 40);
	TH_CHECK(corio_ftruncate(fd, -1) == -EINVAL);
	TH_CHECK(corio_close(fd) == 0);
	return TH_OK;
}

START_TEST(sync_and_space)
{
	char expect[40] = { 0 };

	RUN_OK(t_space, NULL);
	assert_contents(P("sp"), expect, 40); /* "abc" at 100 was cut off */
}
END_TEST

/* Outside a task corio_close is a plain close(2): cleanup code never leaks. */
START_TEST(close_outside_a_task)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(corio_close(fd), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(corio_close(fd), -EBADF);
	ck_assert_int_eq(corio_read(0, &fd, 1, 0), -EPERM); /* the rest needs a task */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fs");

	fs_fixture(TH_TCASE(s, "dirs_paths", TH_TIMEOUT, listdir_1000_entries, path_operations, sync_and_space));
	fs_fixture(TH_TCASE(s, "cancel", TH_TIMEOUT, cancel_read_in_flight_on_pipe, timeout_on_pipe_read, close_outside_a_task));
	return fs_main(s, "test_fs_dirs");
}
