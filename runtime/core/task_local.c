/* runtime/core/task_local.c: task-local values (corio_task_local_get / _set), like Python's
 * contextvars: a task spawned by another starts with the values its parent had at that
 * moment, and from then on each side's sets are its own.
 *
 * Each task holds a reference to a map (task.h's corio__locals). Spawning shares the
 * parent's map (corio__locals_share, a pointer copy and a count: spawn stays O(1) and
 * allocates nothing); a set in a task whose map is shared copies it first, and changes it
 * in place when the task is its only holder. Python uses a HAMT so that a copy costs
 * O(log n); here the map is one sorted array, because a task carries a handful of values
 * (a request id, a logger, a tracing span): one allocation, a binary search within a cache
 * line or two, and a copy at the first set that costs less than a HAMT's path copy until
 * dozens of keys. Set is O(n) in the number of keys, get O(log n). Values are not owned:
 * nothing but the map itself is ever freed. Nothing here parks. */
#include "runtime/core/task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 4u

/* The running task, NULL outside one. */
static struct corio_task *running(void)
{
	corio__loop *l = corio__loop_get();

	return l ? l->current : NULL;
}

/* Index of key in m, or where it would go (*found false). */
static unsigned find(const corio__locals *m, const void *key, bool *found)
{
	unsigned lo = 0, hi = m ? m->n : 0;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		uintptr_t k = (uintptr_t)m->e[mid].key;

		if (k == (uintptr_t)key) {
			*found = true;
			return mid;
		}
		if (k < (uintptr_t)key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static corio__locals *map_alloc(unsigned cap)
{
	corio__locals *m = malloc(sizeof *m + (size_t)cap * sizeof m->e[0]);

	if (m)
		*m = (corio__locals){ .refs = 1, .cap = cap };
	return m;
}

void corio__locals_drop(struct corio_task *t)
{
	corio__locals *m = t->locals;

	t->locals = NULL;
	if (m && --m->refs == 0)
		free(m);
}

/* t's map, made t's own and with room for need entries: the same one when t is its only
 * holder (grown if need be), else a copy. NULL when memory ran out (t's map unchanged). */
static corio__locals *writable(struct corio_task *t, unsigned need)
{
	corio__locals *m = t->locals, *c;
	unsigned cap = MIN_CAP;

	if (m && m->refs == 1 && m->cap >= need)
		return m;
	while (cap < need)
		cap *= 2;
	if (m && m->refs == 1) {
		if (!(c = realloc(m, sizeof *m + (size_t)cap * sizeof m->e[0])))
			return NULL;
		c->cap = cap;
		return t->locals = c;
	}
	if (!(c = map_alloc(cap)))
		return NULL;
	if (m) {
		c->n = m->n;
		memcpy(c->e, m->e, m->n * sizeof m->e[0]);
		m->refs--; /* shared: others still hold it */
	}
	return t->locals = c;
}

void *corio_task_local_get(const void *key)
{
	struct corio_task *t = running();
	bool found;
	unsigned i;

	if (!t || !t->locals || !key)
		return NULL;
	i = find(t->locals, key, &found);
	return found ? t->locals->e[i].value : NULL;
}

/* Removes key from t's map, if there. */
static int local_remove(struct corio_task *t, const void *key)
{
	corio__locals *m;
	bool found;
	unsigned i = find(t->locals, key, &found);

	if (!found)
		return 0;
	if (t->locals->n == 1) {
		corio__locals_drop(t); /* the last value: the task holds no map at all */
		return 0;
	}
	if (!(m = writable(t, t->locals->n)))
		return -ENOMEM;
	memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof m->e[0]);
	m->n--;
	return 0;
}

int corio_task_local_set(const void *key, void *value)
{
	struct corio_task *t = running();
	corio__locals *m;
	bool found;
	unsigned i, n;

	if (!t)
		return -EPERM;
	if (!key)
		return -EINVAL;
	if (!value)
		return local_remove(t, key);
	i = find(t->locals, key, &found);
	if (found && t->locals->e[i].value == value)
		return 0; /* unchanged: a shared map stays shared */
	n = t->locals ? t->locals->n : 0;
	if (!(m = writable(t, found ? n : n + 1)))
		return -ENOMEM;
	if (!found) {
		memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof m->e[0]);
		m->n++;
		m->e[i].key = key;
	}
	m->e[i].value = value;
	return 0;
}
