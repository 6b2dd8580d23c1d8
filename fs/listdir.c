/* fs/listdir.c: corio_listdir: the directory is opened and closed through the ring, and
 * getdents64 (which io_uring cannot do) runs on corio_blocking's thread pool, which also
 * packs the result into one allocation. */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"
#include "runtime/util/buf.h"

#define DENTS_BUF (64u * 1024)

typedef struct ent {
	size_t name_off;
	uint64_t ino;
	unsigned char type;
} ent;

/* Lives on the calling task's stack: corio_blocking waits for list_fn to return, even when
 * the task is cancelled meanwhile. */
typedef struct list_job {
	int fd;
	int rc;
	ent *ents;
	size_t n, cap;
	corio__buf names; /* every name with its NUL, one after the other */
	corio_dirent *out;
} list_job;

static int add(list_job *j, const struct dirent64 *d)
{
	size_t len = strlen(d->d_name) + 1;

	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 64;
		ent *e = realloc(j->ents, cap * sizeof *e);

		if (!e)
			return -ENOMEM;
		j->ents = e;
		j->cap = cap;
	}
	j->ents[j->n] = (ent){ .name_off = j->names.len, .ino = d->d_ino, .type = d->d_type };
	if (corio__buf_append(&j->names, d->d_name, len) != 0)
		return -ENOMEM;
	j->n++;
	return 0;
}

static int read_all(list_job *j, char *buf)
{
	for (;;) {
		ssize_t n = getdents64(j->fd, buf, DENTS_BUF);

		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t pos = 0; pos < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + pos);
			int rc;

			pos += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			if ((rc = add(j, d)) != 0)
				return rc;
		}
	}
}

/* One block: the corio_dirent array, then the names. */
static int pack(list_job *j)
{
	corio_dirent *out;
	char *names;

	if (j->n == 0)
		return 0;
	out = malloc(j->n * sizeof *out + j->names.len);
	if (!out)
		return -ENOMEM;
	names = (char *)(out + j->n);
	memcpy(names, j->names.p, j->names.len);
	for (size_t i = 0; i < j->n; i++)
		out[i] = (corio_dirent){ .name = names + j->ents[i].name_off,
					 .ino = j->ents[i].ino,
					 .type = j->ents[i].type };
	j->out = out;
	return 0;
}

/* Runs on a pool thread: no corio_* calls here. */
static void *list_fn(void *arg)
{
	list_job *j = arg;
	char *buf = malloc(DENTS_BUF);

	j->rc = buf ? read_all(j, buf) : -ENOMEM;
	free(buf);
	if (j->rc == 0)
		j->rc = pack(j);
	free(j->ents);
	corio__buf_free(&j->names);
	return NULL;
}

int corio_listdir(const char *path, corio_dirent **entries, size_t *n)
{
	list_job j = { .rc = -EIO, .names = CORIO__BUF_INIT };
	int rc;

	if (!path || !entries || !n)
		return -EFAULT;
	j.fd = corio_open(path, O_RDONLY | O_DIRECTORY, 0);
	if (j.fd < 0)
		return j.fd;
	rc = corio_blocking(list_fn, &j, NULL);
	corio_close(j.fd);
	if (rc == 0)
		rc = j.rc;
	if (rc != 0) {
		free(j.out); /* fn ran to the end even if this call was cancelled */
		return rc;
	}
	*entries = j.out;
	*n = j.n;
	return 0;
}

void corio_listdir_free(corio_dirent *entries)
{
	free(entries);
}
