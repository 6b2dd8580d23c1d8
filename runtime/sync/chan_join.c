/* runtime/sync/chan_join.c: asyncio.Queue's task_done() and join() on every corio_chan.
 * chan.c counts each completed send in ch->unfinished (a buffered element, a hand-off to a
 * parked receiver, a parked sender's element taken); task_done counts one back and, when
 * nothing is left unfinished, wakes every joiner; corio_chan_free wakes them with -EPIPE. */
#include <errno.h>

#include "runtime/sync/chan_internal.h"

int corio_chan_task_done(corio_chan *ch)
{
	if (!ch || ch->unfinished == 0)
		return -EINVAL;
	if (--ch->unfinished == 0)
		corio__waitq_wake_all(&ch->joiners, 0);
	return 0;
}

int corio_chan_join(corio_chan *ch)
{
	struct corio__waiter wt;
	int rc;

	if (!ch)
		return -EINVAL;
	if ((rc = corio__wait_check()) != 0)
		return rc;
	if (ch->unfinished == 0)
		return 0;
	/* ch is not touched after the park: corio_chan_free may have woken us (-EPIPE) and
	 * freed it. A joiner that is cancelled or times out only leaves the queue. */
	return corio__waitq_park_on(&ch->joiners, &wt, "chan join", ch);
}

size_t corio_chan_unfinished(const corio_chan *ch)
{
	return ch ? ch->unfinished : 0;
}
