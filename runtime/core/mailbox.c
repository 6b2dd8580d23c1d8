/* runtime/core/mailbox.c: handing work to a loop from another thread (thread-pool results,
 * corio_loop_post without a ring of its own). Posters append to a locked list and write the
 * loop's eventfd once; the loop keeps an IORING_OP_READ of that eventfd in flight, so it
 * sleeps in io_uring_enter and wakes on the write, without polling. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runtime/core/loop.h"

void corio__mailbox_init(corio__mailbox *mb)
{
	pthread_mutex_init(&mb->lock, NULL);
	mb->efd = -1;
}

static void mailbox_read_done(corio__completion *c, int32_t res, uint32_t flags);

static void arm(corio__loop *l)
{
	struct io_uring_sqe sqe;

	memset(&sqe, 0, sizeof sqe);
	io_uring_prep_read(&sqe, l->mbox.efd, &l->mbox.efd_buf, sizeof l->mbox.efd_buf, 0);
	l->mbox.efd_c = (corio__completion){ .fn = mailbox_read_done };
	corio__submit(l, &sqe, &l->mbox.efd_c, NULL, false);
	l->mbox.armed = true;
}

int corio__mailbox_arm(corio__loop *l)
{
	if (l->mbox.efd < 0) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0)
			return -errno;
		pthread_mutex_lock(&l->mbox.lock);
		l->mbox.efd = fd;
		pthread_mutex_unlock(&l->mbox.lock);
	}
	if (!l->mbox.armed && !l->mbox.closed)
		arm(l);
	return 0;
}

static corio__msg *take_all(corio__mailbox *mb)
{
	corio__msg *m;

	pthread_mutex_lock(&mb->lock);
	m = mb->head;
	mb->head = mb->tail = NULL;
	/* Cleared before running: a post from now on writes the eventfd again. Atomic: the
	 * loop also peeks at it without the lock (corio__loop_poll). */
	__atomic_store_n(&mb->notified, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&mb->lock);
	return m;
}

/* Runs every message posted so far; false when there was none. */
static bool drain(corio__loop *l)
{
	corio__msg *m = take_all(&l->mbox);
	bool any = m != NULL;

	while (m) {
		corio__msg *next = m->next;

		m->run(l, m);
		m = next;
	}
	return any;
}

static void mailbox_read_done(corio__completion *c, int32_t res, uint32_t flags)
{
	corio__loop *l = corio__loop_get();

	l->mbox.armed = false;
	drain(l);
	/* -ECANCELED: the loop is closing its mailbox. Anything else: read again. */
	if (res != -ECANCELED && !l->mbox.closed)
		arm(l);
}

int corio__mailbox_post(corio__loop *l, corio__msg *m)
{
	corio__mailbox *mb = &l->mbox;
	bool wake;
	int fd;

	m->next = NULL;
	pthread_mutex_lock(&mb->lock);
	if (mb->closed || mb->efd < 0) {
		pthread_mutex_unlock(&mb->lock);
		return -ESHUTDOWN;
	}
	if (mb->tail)
		mb->tail->next = m;
	else
		mb->head = m;
	mb->tail = m;
	wake = !mb->notified;
	/* Sequentially consistent, against corio__mailbox_spin's end: either this post sees
	 * the loop still spinning (and the loop then sees `notified`), or it writes. */
	__atomic_store_n(&mb->notified, true, __ATOMIC_SEQ_CST);
	if (wake && __atomic_load_n(&mb->spinning, __ATOMIC_SEQ_CST))
		wake = false;
	fd = mb->efd;
	if (wake) {
		/* Under the lock: once it is released the loop may end and close the eventfd,
		 * and the number could already name another file. Once per batch. */
		uint64_t one = 1;
		ssize_t n = write(fd, &one, sizeof one);

		(void)n; /* EAGAIN means the counter is already non-zero: the loop wakes anyway */
	}
	pthread_mutex_unlock(&mb->lock);
	return 0;
}

bool corio__mailbox_spin(corio__loop *l, uint64_t ns)
{
	corio__mailbox *mb = &l->mbox;
	uint64_t end = corio_now() + ns;
	bool seen = false;

	__atomic_store_n(&mb->spinning, true, __ATOMIC_SEQ_CST);
	for (unsigned i = 1; !seen; i++) {
		seen = __atomic_load_n(&mb->notified, __ATOMIC_ACQUIRE);
		/* Other I/O completed meanwhile (see spin_for_pool): the poll step takes it. */
		if (!seen && i % 64 == 0 &&
		    (corio_now() >= end ||
		     (l->inflight != mb->armed && corio__ring_work_flagged(l))))
			break;
		corio__cpu_relax();
	}
	/* A post that still saw us spinning skipped its eventfd write: its message is ours
	 * to take now, or the loop would sleep on it. */
	__atomic_store_n(&mb->spinning, false, __ATOMIC_SEQ_CST);
	if (!seen && !__atomic_load_n(&mb->notified, __ATOMIC_SEQ_CST))
		return false;
	/* The eventfd may have been written too: its read completes later and finds the
	 * list empty, which is harmless. */
	return drain(l);
}

void corio__mailbox_close(corio__loop *l)
{
	corio__msg *m;

	pthread_mutex_lock(&l->mbox.lock);
	l->mbox.closed = true;
	pthread_mutex_unlock(&l->mbox.lock);
	m = take_all(&l->mbox);
	while (m) {
		corio__msg *next = m->next;

		m->drop(m);
		m = next;
	}
	if (l->mbox.armed)
		corio__submit_cancel(l, &l->mbox.efd_c);
}

void corio__mailbox_fini(corio__mailbox *mb)
{
	if (mb->efd >= 0)
		close(mb->efd);
	pthread_mutex_destroy(&mb->lock);
}
