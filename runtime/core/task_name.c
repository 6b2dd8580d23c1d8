/* runtime/core/task_name.c: task names (corio_task_set_name, corio_task_name). A name lives
 * in the task's own buffer (task.h): naming never allocates, and an unnamed task's
 * "task-<id>" is only formatted there the first time somebody asks for it, so spawning
 * pays nothing for names. Nothing here parks. */
#include "runtime/core/task.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* t, or the running task for NULL (NULL outside a task). */
static struct corio_task *task_or_current(const corio_task *t)
{
	corio__loop *l;

	if (t)
		return (struct corio_task *)t;
	l = corio__loop_get();
	return l ? l->current : NULL;
}

/* How many bytes of s to keep: all of it up to max, else max less the bytes of a UTF-8
 * sequence the cut would split (a continuation byte, 10xxxxxx, right after the cut means
 * the character before it is incomplete: back up to its first byte). Malformed input is
 * cut at max or before, never read past max. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int corio_task_set_name(corio_task *t, const char *name)
{
	struct corio_task *tk = task_or_current(t);
	size_t n;

	if (!tk || !name)
		return -EINVAL;
	n = utf8_cut(name, CORIO__TASK_NAME_MAX);
	memcpy(tk->name, name, n);
	tk->name[n] = 0;
	tk->named = n > 0; /* "" gives the default back */
	return 0;
}

const char *corio_task_name(const corio_task *t)
{
	struct corio_task *tk = task_or_current(t);

	if (!tk)
		return NULL;
	if (!tk->named && !tk->name[0])
		snprintf(tk->name, sizeof tk->name, "task-%llu", (unsigned long long)tk->id);
	return tk->name;
}
