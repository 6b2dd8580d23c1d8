/* runtime/core/scope.c: timeout scopes and shields. A task keeps a chain of scopes (innermost
 * first) on its own stack; blocking calls read the nearest deadline from it, up to the
 * first shield, which also hides the task's cancellation. */
#include "runtime/core/task.h"

enum { SCOPE_TIMEOUT = 1, SCOPE_SHIELD = 2 };

static void push(corio_timeout *s, uint8_t kind, uint64_t deadline)
{
	corio_task *t = corio_current();

	s->deadline = deadline;
	s->kind = kind;
	s->fired = false;
	s->parent = t ? t->scopes : NULL;
	if (t)
		t->scopes = s;
}

static void pop(corio_timeout *s)
{
	corio_task *t = corio_current();

	if (!t)
		return;
	/* Normally s is the innermost scope; tolerate an out-of-order exit. */
	for (corio_timeout **pp = &t->scopes; *pp; pp = &(*pp)->parent) {
		if (*pp == s) {
			*pp = s->parent;
			return;
		}
	}
}

void corio_timeout_enter_at(corio_timeout *t, uint64_t deadline)
{
	push(t, SCOPE_TIMEOUT, deadline);
}

void corio_timeout_enter(corio_timeout *t, uint64_t ns)
{
	uint64_t now = corio_now();

	push(t, SCOPE_TIMEOUT, ns > UINT64_MAX - now ? UINT64_MAX : now + ns);
}

bool corio_timeout_exit(corio_timeout *t)
{
	pop(t);
	return t->fired;
}

void *corio_shield(corio_fn fn, void *arg)
{
	corio_timeout s;
	void *r;

	push(&s, SCOPE_SHIELD, UINT64_MAX);
	r = fn(arg);
	pop(&s);
	return r;
}

uint64_t corio__task_deadline(const struct corio_task *t)
{
	uint64_t d = UINT64_MAX;

	for (const corio_timeout *s = t->scopes; s && s->kind != SCOPE_SHIELD; s = s->parent)
		if (s->deadline < d)
			d = s->deadline;
	return d;
}

bool corio__task_cancel_due(const struct corio_task *t)
{
	if (!t->cancelled)
		return false;
	for (const corio_timeout *s = t->scopes; s; s = s->parent)
		if (s->kind == SCOPE_SHIELD)
			return false;
	return true;
}

void corio__task_scopes_fired(struct corio_task *t, uint64_t now)
{
	for (corio_timeout *s = t->scopes; s && s->kind != SCOPE_SHIELD; s = s->parent)
		if (s->deadline <= now)
			s->fired = true;
}
