/* fs/whole.c: whole-file convenience calls: corio_read_file (statx for the size, then reads
 * until EOF) and corio_write_file (plain, appending, or atomic replace through a temporary
 * file, fsync, rename and a directory fsync). */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/fs_internal.h"
#include "runtime/util/buf.h"

/* ---- corio_read_file ---- */

/* Reads fd to EOF. hint is statx's size: exact for regular files, 0 for /proc and pipes.
 * The buffer starts one byte larger than the hint, so the read that confirms EOF needs no
 * reallocation; it grows (at least 64 KiB at a time) whenever the file turns out larger. */
static int slurp(int fd, uint64_t hint, char **data, size_t *len)
{
	size_t first = hint ? (size_t)hint + 1 : 4096;
	corio__buf b = CORIO__BUF_INIT;
	int rc = corio__buf_reserve_max(&b, first, first); /* exactly first bytes */

	while (rc == 0) {
		ssize_t n;

		if (b.len == b.cap && (rc = corio__buf_reserve(&b, 65536)) != 0)
			break;
		/* -1: the file position, which works for pipes and seq files alike. */
		n = corio_read(fd, b.p + b.len, b.cap - b.len, -1);
		if (n == -EINTR)
			continue;
		if (n <= 0) {
			rc = (int)n;
			break;
		}
		b.len += (size_t)n;
	}
	if (rc == 0)
		rc = corio__buf_reserve(&b, 1); /* the NUL */
	if (rc != 0) {
		corio__buf_free(&b);
		return rc;
	}
	b.p[b.len] = 0;
	*data = b.p;
	*len = b.len;
	return 0;
}

int corio_read_file(const char *path, char **data, size_t *len)
{
	struct statx st;
	int fd, rc;

	if (!path || !data || !len)
		return -EFAULT;
	fd = corio_open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	rc = corio_statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, &st);
	if (rc == 0 && S_ISDIR(st.stx_mode))
		rc = -EISDIR;
	if (rc == 0 && st.stx_size >= SIZE_MAX)
		rc = -EFBIG;
	if (rc == 0)
		rc = slurp(fd, st.stx_size, data, len);
	corio_close(fd);
	return rc;
}

/* ---- corio_write_file ---- */

#define WRITE_FLAGS (CORIO_WRITE_ATOMIC | CORIO_WRITE_APPEND | CORIO_WRITE_EXCL | CORIO_WRITE_SYNC)

static int write_plain(const char *path, const void *data, size_t len, int flags)
{
	int oflags = O_WRONLY | O_CREAT, fd, rc, crc;
	ssize_t n;

	oflags |= flags & CORIO_WRITE_APPEND ? O_APPEND : O_TRUNC;
	oflags |= flags & CORIO_WRITE_EXCL ? O_EXCL : 0;
	fd = corio_open(path, oflags, 0666);
	if (fd < 0)
		return fd;
	n = corio_write_all(fd, data, len, flags & CORIO_WRITE_APPEND ? -1 : 0);
	rc = n < 0 ? (int)n : 0;
	if (rc == 0 && (flags & CORIO_WRITE_SYNC))
		rc = corio_fsync(fd);
	crc = corio_close(fd); /* a delayed write error (NFS) can show up here */
	return rc < 0 ? rc : crc;
}

/* "DIR/.BASE.XXXXXX" for path "DIR/BASE", malloc'ed; XXXXXX is filled by open_temp. */
static char *temp_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	size_t blen = strlen(path + dlen);
	static const char suffix[] = ".XXXXXX";
	char *t = malloc(dlen + 1 + blen + sizeof suffix);

	if (!t)
		return NULL;
	memcpy(t, path, dlen);
	t[dlen] = '.';
	memcpy(t + dlen + 1, path + dlen, blen);
	memcpy(t + dlen + 1 + blen, suffix, sizeof suffix); /* with its NUL */
	return t;
}

static void fill_random(char *x, uint64_t seed)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (int i = 0; i < 6; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		x[i] = abc[(seed >> 33) % (sizeof abc - 1)];
	}
}

/* Creates the temporary file (O_EXCL, retrying on a name clash); *tmp gets its name. */
static int open_temp(const char *path, mode_t mode, char **tmp)
{
	static uint64_t counter; /* loops on several threads may share it: atomic */
	char *t = temp_name(path);
	int fd = -EEXIST;

	if (!t)
		return -ENOMEM;
	for (int tries = 0; tries < 64 && fd == -EEXIST; tries++) {
		uint64_t seq = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);

		fill_random(t + strlen(t) - 6,
			    corio_now() ^ (uintptr_t)t ^ (seq * 0x9e3779b97f4a7c15ull));
		fd = corio_open(t, O_WRONLY | O_CREAT | O_EXCL, mode);
	}
	if (fd < 0) {
		free(t);
		return fd;
	}
	*tmp = t;
	return fd;
}

static int write_atomic(const char *path, const void *data, size_t len)
{
	struct statx st;
	mode_t mode = 0666;
	char *tmp;
	int fd, rc, crc;
	ssize_t n;

	/* The new file keeps the old one's permission bits (a 0600 secret stays 0600). */
	rc = corio_statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_MODE, &st);
	if (rc == 0 && S_ISDIR(st.stx_mode))
		return -EISDIR;
	if (rc == 0)
		mode = st.stx_mode & 0777;
	else if (rc != -ENOENT)
		return rc;
	if ((fd = open_temp(path, mode, &tmp)) < 0)
		return fd;
	n = corio_write_all(fd, data, len, 0);
	rc = n < 0 ? (int)n : corio_fsync(fd);
	crc = corio_close(fd);
	if (rc >= 0)
		rc = crc;
	if (rc >= 0)
		rc = corio_rename(tmp, path);
	if (rc < 0) /* the old file was never touched; take the temporary away, even if cancelled */
		corio__fs_unlink_cleanup(AT_FDCWD, tmp, 0);
	free(tmp);
	if (rc < 0)
		return rc;
	return corio__fs_fsync_dir_of(path);
}

int corio_write_file(const char *path, const void *data, size_t len, int flags)
{
	if (!path || (!data && len))
		return -EFAULT;
	if (flags & ~WRITE_FLAGS)
		return -EINVAL;
	if (flags & CORIO_WRITE_ATOMIC) {
		if (flags & (CORIO_WRITE_APPEND | CORIO_WRITE_EXCL))
			return -EINVAL;
		return write_atomic(path, data, len);
	}
	return write_plain(path, data, len, flags);
}
