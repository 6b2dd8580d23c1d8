/* runtime/time/deadline.c: I/O deadlines kept by the loop, one kernel timer for all of them
 * (the why is in deadline.h). */
#include "runtime/time/deadline.h"

#include <errno.h>
#include <string.h>

#include "runtime/core/ktimer.h"
#include "runtime/core/op.h"

static void timer_arm(corio__loop *l, uint64_t at);

static void unlink_dl(corio__loop *l, corio__deadline *d)
{
	corio__list_remove(&l->dl.armed_list, &d->link);
	d->armed = false;
}

static void timer_fired(corio__completion *c, int32_t res, uint32_t flags)
{
	corio__loop *l = corio__loop_get();
	uint64_t now, next = UINT64_MAX;
	corio__lnode *n, *after;

	(void)c;
	(void)flags;
	l->dl.armed = false;
	if (res == -ECANCELED)
		return; /* the loop's drain */
	now = corio_now();
	for (n = l->dl.armed_list.head; n; n = after) {
		corio__deadline *d = CORIO__CONTAINER_OF(n, corio__deadline, link);

		after = n->next;
		if (d->at <= now) {
			unlink_dl(l, d);
			d->expired = true;
			/* Its current call ends with -ECANCELED, and so do its later ones
			 * until corio__deadline_end. */
			corio__cancel_interrupt(d->task);
		} else if (d->at < next) {
			next = d->at;
		}
	}
	if (next != UINT64_MAX)
		timer_arm(l, next);
}

/* One timer in flight at most: an earlier deadline moves it (IORING_TIMEOUT_UPDATE, 5.11). */
static void timer_arm(corio__loop *l, uint64_t at)
{
	l->dl.at = at;
	if (l->dl.armed) {
		corio__ktimer_move(l, &l->dl.timer, at);
		return;
	}
	corio__ktimer_at(l, &l->dl.timer, at, timer_fired);
	l->dl.armed = true;
}

uint64_t corio__deadline_after(uint64_t ns)
{
	corio__loop *l = corio__loop_get();
	uint64_t now;

	if (!l)
		now = corio_now();
	else if (!(now = l->dl.turn_now))
		now = l->dl.turn_now = corio_now();
	return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

void corio__deadline_begin(corio__deadline *d, uint64_t at)
{
	corio__loop *l = corio__loop_get();

	d->at = at;
	d->task = l->current;
	d->expired = false;
	d->armed = at != UINT64_MAX; /* no deadline: nothing to watch */
	if (!d->armed)
		return;
	corio__list_push_front(&l->dl.armed_list, &d->link);
	if (!l->dl.armed || at < l->dl.at)
		timer_arm(l, at);
}

ssize_t corio__deadline_end(corio__deadline *d, ssize_t rc)
{
	corio__loop *l = corio__loop_get();

	if (d->armed)
		unlink_dl(l, d);
	if (!d->expired)
		return rc;
	d->task->interrupted = false;
	if (rc == -ECANCELED && !d->task->cancelled)
		return -ETIMEDOUT;
	return rc;
}
