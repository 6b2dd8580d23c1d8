/* runtime/sync/future.c: corio_future, a one-shot result slot like asyncio.Future: one writer,
 * any number of waiters. Completing it hands the value to every parked waiter (in its
 * waiter record, on its own stack) and wakes them in arrival order, so a woken waiter
 * never reads the future again and the writer may free it right away. */
#include <errno.h>

#include "runtime/sync/waitq.h"

int corio_future_init(corio_future *f)
{
	if (!f)
		return -EINVAL;
	corio__waitq_init(&f->q);
	f->value = NULL;
	f->err = 0;
	f->done = false;
	return 0;
}

static int complete(corio_future *f, void *value, int err)
{
	struct corio__waiter *wt;

	if (f->done)
		return -EALREADY;
	f->done = true;
	f->value = value;
	f->err = err;
	while ((wt = corio__waitq_pop(&f->q))) {
		wt->value = value;
		corio__waiter_wake(wt, err);
	}
	return 0;
}

int corio_future_set(corio_future *f, void *value)
{
	if (!f)
		return -EINVAL;
	return complete(f, value, 0);
}

int corio_future_fail(corio_future *f, int err)
{
	if (!f || err >= 0)
		return -EINVAL;
	return complete(f, NULL, err);
}

int corio_future_wait(corio_future *f, void **value)
{
	struct corio__waiter wt;
	int rc;

	if (!f)
		return -EINVAL;
	if ((rc = corio__wait_check()) != 0)
		return rc;
	if (f->done) {
		if (f->err == 0 && value)
			*value = f->value;
		return f->err;
	}
	rc = corio__waitq_park_on(&f->q, &wt, "future", f);
	if (rc == 0 && value)
		*value = wt.value;
	return rc;
}

bool corio_future_done(const corio_future *f)
{
	return f && f->done;
}
