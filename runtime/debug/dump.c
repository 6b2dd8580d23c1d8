/* runtime/debug/dump.c: corio_tasks_dump, the loop's answer to "what is every task doing?",
 * like the goroutine dump Go prints on SIGQUIT: one line per task of this loop, oldest
 * first,
 *
 *     task-7 "fetch example.com" parked 1.250s on recv fd 9
 *     task-9 "worker" parked 0.002s on chan recv 0x55d1c0a4e2a0
 *     task-1 "main" running
 *
 * It only reads what the core records anyway: the operation a parked task waits on (its
 * SQE stays on the task's stack: opcode and fd), or its wait's label and object (task.h),
 * and the date of its park (the loop's park_clock, runtime/core/loop.c). Nothing is
 * recorded for the dump's sake on any hot path but that one copied word per park, and the
 * clock is read here once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "runtime/core/op.h"

/* The operations' names; fd says whether the SQE's fd field is a descriptor worth showing
 * (a timeout's, a cancel's or a socket()'s is not). */
static const struct opname {
	const char *name;
	bool fd;
} opnames[] = {
	[IORING_OP_NOP] = { "nop", false },
	[IORING_OP_READV] = { "readv", true },
	[IORING_OP_WRITEV] = { "writev", true },
	[IORING_OP_FSYNC] = { "fsync", true },
	[IORING_OP_READ_FIXED] = { "read_fixed", true },
	[IORING_OP_WRITE_FIXED] = { "write_fixed", true },
	[IORING_OP_POLL_ADD] = { "poll", true },
	[IORING_OP_POLL_REMOVE] = { "poll_remove", false },
	[IORING_OP_SYNC_FILE_RANGE] = { "sync_file_range", true },
	[IORING_OP_SENDMSG] = { "sendmsg", true },
	[IORING_OP_RECVMSG] = { "recvmsg", true },
	[IORING_OP_TIMEOUT] = { "timeout", false },
	[IORING_OP_TIMEOUT_REMOVE] = { "timeout_remove", false },
	[IORING_OP_ACCEPT] = { "accept", true },
	[IORING_OP_ASYNC_CANCEL] = { "cancel", false },
	[IORING_OP_LINK_TIMEOUT] = { "link_timeout", false },
	[IORING_OP_CONNECT] = { "connect", true },
	[IORING_OP_FALLOCATE] = { "fallocate", true },
	[IORING_OP_OPENAT] = { "openat", true },
	[IORING_OP_CLOSE] = { "close", true },
	[IORING_OP_FILES_UPDATE] = { "files_update", false },
	[IORING_OP_STATX] = { "statx", true },
	[IORING_OP_READ] = { "read", true },
	[IORING_OP_WRITE] = { "write", true },
	[IORING_OP_FADVISE] = { "fadvise", true },
	[IORING_OP_MADVISE] = { "madvise", false },
	[IORING_OP_SEND] = { "send", true },
	[IORING_OP_RECV] = { "recv", true },
	[IORING_OP_OPENAT2] = { "openat2", true },
	[IORING_OP_EPOLL_CTL] = { "epoll_ctl", true },
	[IORING_OP_SPLICE] = { "splice", true },
	[IORING_OP_PROVIDE_BUFFERS] = { "provide_buffers", false },
	[IORING_OP_REMOVE_BUFFERS] = { "remove_buffers", false },
	[IORING_OP_TEE] = { "tee", true },
	[IORING_OP_SHUTDOWN] = { "shutdown", true },
	[IORING_OP_RENAMEAT] = { "renameat", true },
	[IORING_OP_UNLINKAT] = { "unlinkat", true },
	[IORING_OP_MKDIRAT] = { "mkdirat", true },
	[IORING_OP_SYMLINKAT] = { "symlinkat", true },
	[IORING_OP_LINKAT] = { "linkat", true },
	[IORING_OP_MSG_RING] = { "msg_ring", true },
	[IORING_OP_FSETXATTR] = { "fsetxattr", true },
	[IORING_OP_SETXATTR] = { "setxattr", false },
	[IORING_OP_FGETXATTR] = { "fgetxattr", true },
	[IORING_OP_GETXATTR] = { "getxattr", false },
	[IORING_OP_SOCKET] = { "socket", false },
	[IORING_OP_URING_CMD] = { "uring_cmd", true },
	[IORING_OP_SEND_ZC] = { "send_zc", true },
	[IORING_OP_SENDMSG_ZC] = { "sendmsg_zc", true },
	/* Newer than liburing 2.3's header (the oldest the build accepts), by number. */
	[49] = { "read_multishot", true }, /* 6.7 */
	[50] = { "waitid", false },        /* 6.7 (its fd field is not a descriptor) */
	[51] = { "futex_wait", false },    /* 6.7 */
	[52] = { "futex_wake", false },
	[53] = { "futex_waitv", false },
	[54] = { "fixed_fd_install", true }, /* 6.8 */
	[55] = { "ftruncate", true },        /* 6.9 */
	[56] = { "bind", true },             /* 6.11 */
	[57] = { "listen", true },
};

/* "recv fd 9", "timeout", "openat" (fd AT_FDCWD), "read fixed file 2", "op 77". */
static int put_op(FILE *f, const corio__op *op)
{
	unsigned code = op->sqe.opcode;
	const struct opname *o = code < sizeof opnames / sizeof *opnames ? &opnames[code] : NULL;

	if (!o || !o->name)
		return fprintf(f, "op %u", code);
	if (!o->fd || op->sqe.fd < 0)
		return fprintf(f, "%s", o->name);
	return fprintf(f, "%s %s %d", o->name,
		       op->sqe.flags & IOSQE_FIXED_FILE ? "fixed file" : "fd", op->sqe.fd);
}

/* "chan recv 0x...", "join task-3", "sleep"; "wait" when the parker gave no label. */
static int put_wait(FILE *f, const corio__wait *w)
{
	const char *what = w->what ? w->what : "wait";

	if (w->what == corio__wait_join && w->obj)
		/* The joiner's target stays allocated while the joiner waits: only a join
		 * frees it. */
		return fprintf(f, "%s task-%llu", what,
			       (unsigned long long)((const corio_task *)w->obj)->id);
	if (!w->obj)
		return fprintf(f, "%s", what);
	return fprintf(f, "%s %p", what, w->obj);
}

/* The name between quotes, with ", \ and control bytes escaped (\xNN); other bytes,
 * UTF-8 included, as they are. */
static int put_name(FILE *f, const char *s)
{
	if (fputc('"', f) == EOF)
		return -1;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int rc = c == '"' || c == '\\' ? fprintf(f, "\\%c", c)
			 : c < 0x20 || c == 0x7f ? fprintf(f, "\\x%02x", c)
						 : fputc(c, f);

		if (rc < 0)
			return -1;
	}
	return fputc('"', f) == EOF ? -1 : 0;
}

/* What a parked task waits on, and since when: " 1.250s on recv fd 9". */
static int put_parked(FILE *f, const struct corio_task *t, uint64_t now)
{
	uint64_t at, ms;

	if (!t->op && !t->wait)
		return 0;
	at = t->op ? t->op->parked_at : t->wait->parked_at;
	ms = (now > at ? now - at : 0) / 1000000u;
	if (fprintf(f, " %llu.%03llus on ", (unsigned long long)(ms / 1000),
		    (unsigned long long)(ms % 1000)) < 0)
		return -1;
	return t->op ? put_op(f, t->op) : put_wait(f, t->wait);
}

static const char *state_name(const struct corio_task *t)
{
	switch (t->state) {
	case TASK_RUNNING:
		return "running";
	case TASK_READY:
		return "ready";
	case TASK_PARKED:
		return "parked";
	default:
		return "finished";
	}
}

static int put_task(FILE *f, const struct corio_task *t, uint64_t now)
{
	if (fprintf(f, "task-%llu ", (unsigned long long)t->id) < 0 ||
	    put_name(f, corio_task_name(t)) < 0 || fprintf(f, " %s", state_name(t)) < 0)
		return -1;
	if (t->state == TASK_PARKED && put_parked(f, t, now) < 0)
		return -1;
	return fputc('\n', f) == EOF ? -1 : 0;
}

int corio_tasks_dump(FILE *f)
{
	corio__loop *l = corio__loop_get();
	uint64_t now;
	int n = 0;

	if (!l)
		return -ESRCH;
	if (!f)
		return -EINVAL;
	now = corio_now();
	/* The list is newest first: walk it backwards, from the first task spawned. */
	for (corio__lnode *a = l->tasks.tail; a; a = a->prev) {
		if (put_task(f, CORIO__CONTAINER_OF(a, struct corio_task, all), now) < 0)
			return -EIO;
		n++;
	}
	return fflush(f) == EOF ? -EIO : n;
}
