/* runtime/sync/lock.c: the loop-local locks and signals of corio/sync.h: corio_mutex (FIFO
 * hand-off), corio_sem (counting, FIFO hand-off), corio_event, corio_cond and
 * corio_waitgroup. All park through waitq.c.
 *
 * Hand-off instead of "wake and let it retry": unlock / release give the lock or permit to
 * the first parked task at once (it is popped and woken with 0), so nothing is up for grabs
 * in between and a later task cannot barge in. Consequences used below:
 *   - a mutex with parked tasks is always locked;
 *   - a semaphore with parked tasks always has count 0. */
#include <errno.h>

#include "runtime/sync/waitq.h"

/* ---- mutex ---- */

int corio_mutex_init(corio_mutex *m)
{
	if (!m)
		return -EINVAL;
	corio__waitq_init(&m->q);
	m->locked = false;
	return 0;
}

int corio_mutex_lock(corio_mutex *m)
{
	struct corio__waiter wt;
	int rc;

	if (!m)
		return -EINVAL;
	if ((rc = corio__wait_check()) != 0)
		return rc;
	if (!m->locked) {
		m->locked = true;
		return 0;
	}
	/* 0 means unlock handed the lock over: m->locked stayed true for us. */
	return corio__waitq_park_on(&m->q, &wt, "mutex", m);
}

int corio_mutex_trylock(corio_mutex *m)
{
	if (!m)
		return -EINVAL;
	if (m->locked)
		return -EBUSY;
	m->locked = true;
	return 0;
}

int corio_mutex_unlock(corio_mutex *m)
{
	if (!m)
		return -EINVAL;
	if (!m->locked)
		return -EPERM;
	if (!corio__waitq_wake_one(&m->q, 0))
		m->locked = false;
	return 0;
}

bool corio_mutex_locked(const corio_mutex *m)
{
	return m && m->locked;
}

/* ---- semaphore ---- */

int corio_sem_init(corio_sem *s, size_t count)
{
	if (!s)
		return -EINVAL;
	corio__waitq_init(&s->q);
	s->count = count;
	return 0;
}

int corio_sem_acquire(corio_sem *s)
{
	struct corio__waiter wt;
	int rc;

	if (!s)
		return -EINVAL;
	if ((rc = corio__wait_check()) != 0)
		return rc;
	if (s->count > 0) {
		s->count--;
		return 0;
	}
	return corio__waitq_park_on(&s->q, &wt, "semaphore", s);
}

int corio_sem_try_acquire(corio_sem *s)
{
	if (!s)
		return -EINVAL;
	if (s->count == 0)
		return -EAGAIN;
	s->count--;
	return 0;
}

int corio_sem_release(corio_sem *s)
{
	if (!s)
		return -EINVAL;
	if (corio__waitq_wake_one(&s->q, 0))
		return 0; /* the permit went straight to the first parked task */
	if (s->count == SIZE_MAX)
		return -EOVERFLOW;
	s->count++;
	return 0;
}

size_t corio_sem_value(const corio_sem *s)
{
	return s ? s->count : 0;
}

/* ---- event ---- */

int corio_event_init(corio_event *e)
{
	if (!e)
		return -EINVAL;
	corio__waitq_init(&e->q);
	e->set = false;
	return 0;
}

int corio_event_set(corio_event *e)
{
	if (!e)
		return -EINVAL;
	e->set = true;
	corio__waitq_wake_all(&e->q, 0);
	return 0;
}

int corio_event_clear(corio_event *e)
{
	if (!e)
		return -EINVAL;
	e->set = false;
	return 0;
}

int corio_event_wait(corio_event *e)
{
	struct corio__waiter wt;
	int rc;

	if (!e)
		return -EINVAL;
	if ((rc = corio__wait_check()) != 0)
		return rc;
	if (e->set)
		return 0;
	return corio__waitq_park_on(&e->q, &wt, "event", e);
}

bool corio_event_is_set(const corio_event *e)
{
	return e && e->set;
}

/* ---- condition variable ---- */

int corio_cond_init(corio_cond *c)
{
	if (!c)
		return -EINVAL;
	corio__waitq_init(&c->q);
	return 0;
}

static void *relock(void *m)
{
	return (void *)(intptr_t)corio_mutex_lock(m);
}

int corio_cond_wait(corio_cond *c, corio_mutex *m)
{
	struct corio__waiter wt;
	int rc, lrc;

	if (!c || !m)
		return -EINVAL;
	if (!m->locked)
		return -EPERM;
	/* Already cancelled or past the deadline (or not a task): fail keeping m held. */
	if ((rc = corio__wait_check()) != 0)
		return rc;
	/* Nothing runs between the unlock and the park: no signal can fall in between. */
	corio_mutex_unlock(m);
	rc = corio__waitq_park_on(&c->q, &wt, "cond", c);
	/* Re-acquire in every case, shielded from the task's cancellation and timeout scopes
	 * (they are not lost: they hit the next blocking call). Only the deadlock breaker
	 * interrupts a shielded wait. */
	lrc = (int)(intptr_t)corio_shield(relock, m);
	if (lrc != 0)
		return -EDEADLK;
	return rc;
}

int corio_cond_signal(corio_cond *c)
{
	if (!c)
		return -EINVAL;
	corio__waitq_wake_one(&c->q, 0);
	return 0;
}

int corio_cond_broadcast(corio_cond *c)
{
	if (!c)
		return -EINVAL;
	corio__waitq_wake_all(&c->q, 0);
	return 0;
}

/* ---- wait group ---- */

int corio_waitgroup_init(corio_waitgroup *wg)
{
	if (!wg)
		return -EINVAL;
	corio__waitq_init(&wg->q);
	wg->count = 0;
	return 0;
}

int corio_waitgroup_add(corio_waitgroup *wg, int64_t delta)
{
	int64_t n;

	if (!wg)
		return -EINVAL;
	if (__builtin_add_overflow(wg->count, delta, &n))
		return -EOVERFLOW;
	if (n < 0)
		return -EINVAL;
	wg->count = n;
	if (n == 0)
		corio__waitq_wake_all(&wg->q, 0);
	return 0;
}

int corio_waitgroup_done(corio_waitgroup *wg)
{
	return corio_waitgroup_add(wg, -1);
}

int corio_waitgroup_wait(corio_waitgroup *wg)
{
	struct corio__waiter wt;
	int rc;

	if (!wg)
		return -EINVAL;
	if ((rc = corio__wait_check()) != 0)
		return rc;
	if (wg->count == 0)
		return 0;
	return corio__waitq_park_on(&wg->q, &wt, "waitgroup", wg);
}

int64_t corio_waitgroup_count(const corio_waitgroup *wg)
{
	return wg ? wg->count : 0;
}
