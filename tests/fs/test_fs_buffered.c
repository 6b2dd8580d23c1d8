/* tests/fs/test_fs_buffered.c: the buffered reader and writer of fs/: long lines and the
 * maximum length, a reader on a pipe, EOF that is not sticky, read_file of a FIFO growing
 * from zero, and a writer that buffers and flushes. */
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

/* ---- buffered reader ------------------------------------------------------------------- */

#define LONG_LINE (1u << 20)

static char *make_lines(size_t *len)
{
	/* "" , "a", 1 MiB line, 100 000-byte line, "tail" without '\n' */
	size_t cap = LONG_LINE + 100000 + 64, n = 0;
	char *b = malloc(cap);

	b[n++] = '\n';
	b[n++] = 'a';
	b[n++] = '\n';
	memset(b + n, 'L', LONG_LINE - 1);
	n += LONG_LINE - 1;
	b[n++] = '\n';
	memset(b + n, 'M', 99999);
	n += 99999;
	b[n++] = '\n';
	memcpy(b + n, "tail", 4);
	n += 4;
	*len = n;
	return b;
}

static void *t_readline(void *arg)
{
	corio_file_reader *r;
	char *line;
	int fd = corio_open(P("lines"), O_RDONLY, 0);

	TH_CHECK(fd >= 0);
	/* no limit, tiny buffer: it grows for the long lines */
	r = corio_file_reader_new(fd, 0, 16);
	TH_CHECK(r != NULL);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 1 && strcmp(line, "\n") == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 2 && strcmp(line, "a\n") == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == LONG_LINE);
	TH_CHECK(line[0] == 'L' && line[LONG_LINE - 2] == 'L' && line[LONG_LINE - 1] == '\n' &&
		 line[LONG_LINE] == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 100000 && line[99999] == '\n');
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 4 && strcmp(line, "tail") == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 0);
	TH_CHECK(corio_file_reader_tell(r) == LONG_LINE + 100000 + 3 + 4);
	corio_file_reader_free(r);

	/* limit 100000 (with the '\n'): the 1 MiB line fails cleanly, nothing consumed */
	r = corio_file_reader_new(fd, 0, 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 100000) == 1);
	TH_CHECK(corio_file_reader_readline(r, &line, 100000) == 2);
	TH_CHECK(corio_file_reader_readline(r, &line, 100000) == -EMSGSIZE);
	TH_CHECK(corio_file_reader_readline(r, &line, 100000) == -EMSGSIZE);
	TH_CHECK(corio_file_reader_tell(r) == 3);
	TH_CHECK(corio_file_reader_skip_line(r) == LONG_LINE);
	TH_CHECK(corio_file_reader_readline(r, &line, 99999) == -EMSGSIZE); /* one short */
	TH_CHECK(corio_file_reader_readline(r, &line, 100000) == 100000);   /* exactly */
	TH_CHECK(corio_file_reader_readline(r, &line, 4) == 4 && strcmp(line, "tail") == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 4) == 0);
	corio_file_reader_free(r);

	/* the long line read in pieces after the failure */
	r = corio_file_reader_new(fd, 3, 4096);
	TH_CHECK(corio_file_reader_readline(r, &line, 1000) == -EMSGSIZE);
	{
		char piece[3000];
		size_t total = 0;
		ssize_t n;

		while (total < LONG_LINE && (n = corio_file_reader_read(r, piece, sizeof piece)) > 0)
			total += (size_t)n;
		TH_CHECK(total >= LONG_LINE);
	}
	corio_file_reader_free(r);
	TH_CHECK(corio_close(fd) == 0);
	return TH_OK;
}

START_TEST(readline_long_lines_and_max_length)
{
	size_t len;
	char *b = make_lines(&len);

	put_file(P("lines"), b, len);
	free(b);
	RUN_OK(t_readline, NULL);
}
END_TEST

/* A reader on a pipe (offset -1) fed by another task in odd pieces. */
typedef struct pipe_feed {
	int wfd;
	const char *text;
	size_t len;
} pipe_feed;

static void *feeder(void *p)
{
	pipe_feed *f = p;

	for (size_t off = 0; off < f->len;) {
		size_t n = f->len - off < 7 ? f->len - off : 7;

		if (corio_write_all(f->wfd, f->text + off, n, -1) != (ssize_t)n)
			return "feeder write";
		off += n;
		corio_yield();
	}
	corio_close(f->wfd);
	return NULL;
}

static void *t_pipe_reader(void *arg)
{
	int p[2];
	pipe_feed f = { .text = "one\ntwo two\n\nthree three three\nfour", .len = 0 };
	corio_file_reader *r;
	corio_task *t;
	char *line;
	const char *want[] = { "one\n", "two two\n", "\n", "three three three\n", "four" };

	f.len = strlen(f.text);
	TH_CHECK(pipe2(p, O_CLOEXEC) == 0);
	f.wfd = p[1];
	t = corio_spawn(feeder, &f);
	r = corio_file_reader_new(p[0], -1, 8);
	for (size_t i = 0; i < 5; i++)
		TH_CHECK(corio_file_reader_readline(r, &line, 0) == (ssize_t)strlen(want[i]) &&
			 strcmp(line, want[i]) == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 0);
	corio_file_reader_free(r);
	TH_CHECK(corio_join(t, NULL) == 0);
	corio_close(p[0]);
	return TH_OK;
}

START_TEST(reader_on_a_pipe)
{
	RUN_OK(t_pipe_reader, NULL);
}
END_TEST

/* EOF is not sticky: after the file grows, the reader goes on. */
static void *t_reader_grows(void *arg)
{
	int fd = corio_open(P("grow"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	corio_file_reader *r = corio_file_reader_new(fd, 0, 0);
	char *line;

	TH_CHECK(fd >= 0 && r);
	TH_CHECK(corio_write_all(fd, "a\nb", 3, 0) == 3);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 2 && strcmp(line, "a\n") == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 1 && strcmp(line, "b") == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 0);
	TH_CHECK(corio_write_all(fd, "cd\n", 3, 3) == 3);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 3 && strcmp(line, "cd\n") == 0);
	TH_CHECK(corio_file_reader_readline(r, &line, 0) == 0);
	corio_file_reader_free(r);
	TH_CHECK(corio_close(fd) == 0);
	return TH_OK;
}

START_TEST(reader_eof_is_not_sticky)
{
	RUN_OK(t_reader_grows, NULL);
}
END_TEST

/* corio_read_file on a FIFO: statx says 0 bytes, 200 000 arrive from another task. */
#define FIFO_LEN 200000

static void *fifo_writer(void *arg)
{
	int fd = corio_open(P("fifo"), O_WRONLY, 0); /* waits for the reader to open */

	if (fd < 0)
		return "open fifo for writing";
	if (corio_write_all(fd, arg, FIFO_LEN, -1) != FIFO_LEN)
		return "write fifo";
	corio_close(fd);
	return TH_OK;
}

static void *t_fifo(void *arg)
{
	char *src = malloc(FIFO_LEN), *data;
	size_t len;
	void *wres;
	corio_task *t;

	TH_CHECK(src && mkfifo(P("fifo"), 0644) == 0);
	fill_rand(src, FIFO_LEN, 77);
	t = corio_spawn(fifo_writer, src);
	TH_CHECK(corio_read_file(P("fifo"), &data, &len) == 0);
	TH_CHECK(corio_join(t, &wres) == 0 && wres == TH_OK);
	TH_CHECK(len == FIFO_LEN && memcmp(data, src, len) == 0 && data[len] == 0);
	free(data);
	free(src);
	return TH_OK;
}

START_TEST(read_file_of_a_fifo_grows_from_zero)
{
	RUN_OK(t_fifo, NULL);
}
END_TEST

/* ---- buffered writer ------------------------------------------------------------------- */

static void *t_writer(void *arg)
{
	int fd = corio_open(P("w"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	corio_file_writer *w = corio_file_writer_new(fd, 0, 64);
	char big[1000];

	TH_CHECK(fd >= 0 && w);
	memset(big, 'B', sizeof big);
	for (int i = 0; i < 100; i++)
		TH_CHECK(corio_file_writer_printf(w, "line %d\n", i) > 0);
	TH_CHECK(corio_file_writer_write(w, big, sizeof big) == sizeof big); /* past the buffer */
	TH_CHECK(corio_file_writer_printf(w, "%0300d\n", 7) == 301);         /* > 256 formatted */
	TH_CHECK(corio_file_writer_write(w, "end", 3) == 3);
	TH_CHECK(corio_file_writer_flush(w) == 0);
	TH_CHECK(corio_file_writer_tell(w) == 790 + 1000 + 301 + 3);
	TH_CHECK(corio_file_writer_free(w) == 0);
	TH_CHECK(corio_close(fd) == 0);

	/* at the file position, with O_APPEND */
	fd = corio_open(P("w"), O_WRONLY | O_APPEND, 0);
	w = corio_file_writer_new(fd, -1, 0);
	TH_CHECK(corio_file_writer_write(w, "+more", 5) == 5);
	TH_CHECK(corio_file_writer_free(w) == 0); /* flushes */
	TH_CHECK(corio_close(fd) == 0);
	return TH_OK;
}

START_TEST(writer_buffers_and_flushes)
{
	char expect[4096];
	size_t n = 0;

	RUN_OK(t_writer, NULL);
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(expect + n, "line %d\n", i);
	memset(expect + n, 'B', 1000);
	n += 1000;
	n += (size_t)sprintf(expect + n, "%0300d\nend+more", 7);
	assert_contents(P("w"), expect, n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fs");

	fs_fixture(TH_TCASE(s, "buffered", TH_TIMEOUT, readline_long_lines_and_max_length, reader_on_a_pipe, reader_eof_is_not_sticky, read_file_of_a_fifo_grows_from_zero, writer_buffers_and_flushes));
	return fs_main(s, "test_fs_buffered");
}
