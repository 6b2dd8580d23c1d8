/* tests/runtime/test_task_context.c: task names, task-local values and the task dump
 * (runtime/core/task_name.c, task_local.c, runtime/debug/dump.c).
 *
 * Names: set and read back, the "task-<id>" default, the cut at 63 bytes that never splits
 * a UTF-8 character, NULL arguments, another task's name. Locals: get / set / remove,
 * the copy a spawned task starts with (each side's later sets unseen by the other), many
 * keys, three generations, group spawns and same-loop posts inherit, a post from another
 * thread starts empty, the calls outside a task, thousands of tasks without a leak (ASan).
 * Dump: a task parked on a channel, one on a pipe read, one sleeping, one joining and the
 * caller running, each line parsed; a mutex's and an event's labels; escaping; the errors. No test waits a fixed time: the
 * tasks are driven until the dump shows them parked, within a bounded number of yields,
 * and no duration is compared with the clock. */
#define _GNU_SOURCE
#include "tests/support/helpers.h"

#include <pthread.h>

/* ---- names ---- */

static void *idle_main(void *arg)
{
	(void)arg;
	return NULL;
}

static void *t_names(void *arg)
{
	corio_task *c;
	char want[32];

	(void)arg;
	/* corio_run's task is the loop's first */
	TH_CHECK(strcmp(corio_task_name(NULL), "task-1") == 0);
	TH_CHECK(corio_task_name(NULL) == corio_task_name(corio_current()));
	TH_CHECK(corio_task_set_name(NULL, "main") == 0);
	TH_CHECK(strcmp(corio_task_name(NULL), "main") == 0);
	TH_CHECK(corio_task_set_name(NULL, NULL) == -EINVAL);
	TH_CHECK(strcmp(corio_task_name(NULL), "main") == 0);
	TH_CHECK((c = corio_spawn(idle_main, NULL)));
	TH_CHECK(strcmp(corio_task_name(c), "task-2") == 0);
	TH_CHECK(corio_task_set_name(c, "worker \"one\"") == 0); /* another task's */
	TH_CHECK(strcmp(corio_task_name(c), "worker \"one\"") == 0);
	TH_CHECK(corio_task_set_name(c, "") == 0); /* back to the default */
	TH_CHECK(strcmp(corio_task_name(c), "task-2") == 0);
	TH_CHECK(corio_join(c, NULL) == 0);
	/* ids go on counting */
	TH_CHECK((c = corio_spawn(idle_main, NULL)));
	snprintf(want, sizeof want, "task-%d", 3);
	TH_CHECK(strcmp(corio_task_name(c), want) == 0);
	TH_CHECK(corio_join(c, NULL) == 0);
	return TH_OK;
}

START_TEST(names)
{
	TH_RUN_EXPECT_OK(NULL, t_names, NULL);
	/* outside a task */
	ck_assert_ptr_null(corio_task_name(NULL));
	ck_assert_int_eq(corio_task_set_name(NULL, "x"), -EINVAL);
}
END_TEST

/* The name kept for prefix (n_a 'a's) followed by tail: its length. */
static size_t kept_len(size_t n_a, const char *tail)
{
	char name[160];

	memset(name, 'a', n_a);
	strcpy(name + n_a, tail);
	if (corio_task_set_name(NULL, name) != 0)
		return (size_t)-1;
	const char *got = corio_task_name(NULL);

	return strncmp(got, name, strlen(got)) == 0 ? strlen(got) : (size_t)-2;
}

static void *t_long_names(void *arg)
{
	(void)arg;
	TH_CHECK(kept_len(63, "") == 63);
	TH_CHECK(kept_len(100, "") == 63);
	TH_CHECK(kept_len(62, "\xc3\xa9" "b") == 62);        /* é over the cut */
	TH_CHECK(kept_len(61, "\xc3\xa9" "b") == 63);        /* é just fits */
	TH_CHECK(kept_len(61, "\xe2\x82\xac" "b") == 61);    /* € over the cut */
	TH_CHECK(kept_len(60, "\xe2\x82\xac" "b") == 63);    /* € just fits */
	TH_CHECK(kept_len(60, "\xf0\x9f\x98\x80" "b") == 60); /* an emoji over it */
	TH_CHECK(kept_len(59, "\xf0\x9f\x98\x80" "b") == 63);
	TH_CHECK(kept_len(0, "\xe2\x82\xac") == 3);
	return TH_OK;
}

TH_TASK_TEST(long_names, t_long_names)

/* ---- locals ---- */

static char k1, k2, k3; /* keys: the addresses */
static int va, vb, vc, vd;

static void *t_locals_basic(void *arg)
{
	(void)arg;
	TH_CHECK(corio_task_local_get(&k1) == NULL);
	TH_CHECK(corio_task_local_set(&k1, &va) == 0);
	TH_CHECK(corio_task_local_get(&k1) == &va);
	TH_CHECK(corio_task_local_set(&k2, &vb) == 0);
	TH_CHECK(corio_task_local_set(&k1, &vc) == 0); /* replaced */
	TH_CHECK(corio_task_local_get(&k1) == &vc && corio_task_local_get(&k2) == &vb);
	TH_CHECK(corio_task_local_set(&k1, NULL) == 0); /* removed */
	TH_CHECK(corio_task_local_get(&k1) == NULL && corio_task_local_get(&k2) == &vb);
	TH_CHECK(corio_task_local_set(&k3, NULL) == 0); /* removing what is not there */
	TH_CHECK(corio_task_local_set(&k2, NULL) == 0);  /* the last one */
	TH_CHECK(corio_task_local_get(&k2) == NULL);
	TH_CHECK(corio_task_local_set(NULL, &va) == -EINVAL);
	TH_CHECK(corio_task_local_get(NULL) == NULL);
	return TH_OK;
}

START_TEST(locals_basic)
{
	TH_RUN_EXPECT_OK(NULL, t_locals_basic, NULL);
	ck_assert_ptr_null(corio_task_local_get(&k1));
	ck_assert_int_eq(corio_task_local_set(&k1, &va), -EPERM);
}
END_TEST

static void *child_copy(void *arg)
{
	(void)arg;
	/* what the parent had at the spawn, not its set after it */
	TH_CHECK(corio_task_local_get(&k1) == &va);
	TH_CHECK(corio_task_local_get(&k3) == &vd);
	TH_CHECK(corio_task_local_get(&k2) == NULL);
	TH_CHECK(corio_task_local_set(&k1, &vc) == 0);
	TH_CHECK(corio_task_local_set(&k2, &vc) == 0);
	TH_CHECK(corio_task_local_get(&k1) == &vc && corio_task_local_get(&k2) == &vc);
	return TH_OK;
}

static void *child_reader(void *arg)
{
	corio_event *go = arg;

	TH_CHECK(corio_event_wait(go) == 0);
	/* the parent set k1 again meanwhile: this map was shared until then */
	TH_CHECK(corio_task_local_get(&k1) == &va);
	return TH_OK;
}

static void *t_locals_inherit(void *arg)
{
	corio_task *c, *r;
	corio_event go;
	void *res;

	(void)arg;
	corio_event_init(&go);
	TH_CHECK(corio_task_local_set(&k1, &va) == 0 && corio_task_local_set(&k3, &vd) == 0);
	TH_CHECK((c = corio_spawn(child_copy, NULL)) && (r = corio_spawn(child_reader, &go)));
	corio_yield(); /* the reader parks with the shared map */
	TH_CHECK(corio_task_local_set(&k1, &vb) == 0); /* after the spawn: children miss it */
	TH_CHECK(corio_join(c, &res) == 0 && res == TH_OK);
	corio_event_set(&go);
	TH_CHECK(corio_join(r, &res) == 0 && res == TH_OK);
	TH_CHECK(corio_task_local_get(&k1) == &vb); /* the child's sets are its own */
	TH_CHECK(corio_task_local_get(&k2) == NULL);
	TH_CHECK(corio_task_local_get(&k3) == &vd);
	return TH_OK;
}

TH_TASK_TEST(locals_inherit, t_locals_inherit)

#define NKEYS 1000
static char keys[NKEYS];

static void *check_keys(void *arg)
{
	int odd_bump = (int)(intptr_t)arg;

	for (int i = 0; i < NKEYS; i++)
		TH_CHECK(corio_task_local_get(&keys[i]) == (void *)(intptr_t)(i + 1));
	/* a child changes half of them: the parent must not see it */
	for (int i = 1; i < NKEYS; i += 2)
		TH_CHECK(corio_task_local_set(&keys[i], (void *)(intptr_t)(i + odd_bump)) == 0);
	for (int i = 0; i < NKEYS; i++)
		TH_CHECK(corio_task_local_get(&keys[i]) ==
			 (void *)(intptr_t)(i + (i % 2 ? odd_bump : 1)));
	return TH_OK;
}

static void *t_many_keys(void *arg)
{
	corio_task *c;
	void *res;

	(void)arg;
	/* backwards, then forwards: inserts at both ends of the sorted map */
	for (int i = NKEYS - 1; i >= 0; i -= 2)
		TH_CHECK(corio_task_local_set(&keys[i], (void *)(intptr_t)(i + 1)) == 0);
	for (int i = 0; i < NKEYS; i += 2)
		TH_CHECK(corio_task_local_set(&keys[i], (void *)(intptr_t)(i + 1)) == 0);
	TH_CHECK((c = corio_spawn(check_keys, (void *)(intptr_t)7)));
	TH_CHECK(corio_join(c, &res) == 0 && res == TH_OK);
	for (int i = 0; i < NKEYS; i++)
		TH_CHECK(corio_task_local_get(&keys[i]) == (void *)(intptr_t)(i + 1));
	for (int i = 0; i < NKEYS; i += 2)
		TH_CHECK(corio_task_local_set(&keys[i], NULL) == 0);
	for (int i = 0; i < NKEYS; i++)
		TH_CHECK(corio_task_local_get(&keys[i]) ==
			 (i % 2 ? (void *)(intptr_t)(i + 1) : NULL));
	return TH_OK;
}

TH_TASK_TEST(many_keys, t_many_keys)

/* Generation depth (1..3) checks the value its parent set, sets its own, spawns the next. */
static void *generation(void *arg)
{
	intptr_t depth = (intptr_t)arg;
	corio_task *c;
	void *res;

	TH_CHECK(corio_task_local_get(&k1) == (void *)depth);
	TH_CHECK(corio_task_local_set(&k1, (void *)(depth + 1)) == 0);
	if (depth < 4) {
		TH_CHECK((c = corio_spawn(generation, (void *)(depth + 1))));
		TH_CHECK(corio_join(c, &res) == 0 && res == TH_OK);
	}
	TH_CHECK(corio_task_local_get(&k1) == (void *)(depth + 1));
	return TH_OK;
}

static void *t_nested(void *arg)
{
	(void)arg;
	TH_CHECK(corio_task_local_set(&k1, (void *)(intptr_t)1) == 0);
	/* main (depth 0) -> 1 -> 2 -> 3: three generations below the main task */
	return generation((void *)(intptr_t)1) == TH_OK &&
			       corio_task_local_get(&k1) == (void *)(intptr_t)2
		       ? TH_OK
		       : (void *)"a generation saw the wrong value";
}

TH_TASK_TEST(nested_spawns, t_nested)

struct seen {
	void *value;
	corio_event done;
	corio_loop *loop;
};

static void *record_value(void *arg)
{
	struct seen *s = arg;

	s->value = corio_task_local_get(&k2);
	corio_event_set(&s->done);
	return NULL;
}

/* A pool thread posts to the loop: no parent, no values. */
static void *post_from_thread(void *arg)
{
	struct seen *s = arg;

	return (void *)(intptr_t)corio_loop_post(s->loop, record_value, s);
}

static void *t_group_and_post(void *arg)
{
	corio_group *g = corio_group_new();
	struct seen s = { 0 };
	void *rc;

	(void)arg;
	TH_CHECK(g && corio_task_local_set(&k2, &vb) == 0);
	corio_event_init(&s.done);
	TH_CHECK(corio_group_spawn(g, record_value, &s));
	TH_CHECK(corio_group_wait(g) == 0);
	corio_group_free(g);
	TH_CHECK(s.value == &vb);
	/* a post on the task's own loop is spawned by the task: it inherits */
	s.value = NULL;
	corio_event_clear(&s.done);
	TH_CHECK(corio_loop_post(corio_loop_current(), record_value, &s) == 0);
	TH_CHECK(corio_event_wait(&s.done) == 0 && s.value == &vb);
	/* from another thread: nobody's child */
	s.value = &vd;
	s.loop = corio_loop_current();
	corio_event_clear(&s.done);
	TH_CHECK(corio_blocking(post_from_thread, &s, &rc) == 0 && rc == NULL);
	TH_CHECK(corio_event_wait(&s.done) == 0 && s.value == NULL);
	return TH_OK;
}

TH_TASK_TEST(group_and_post_inherit, t_group_and_post)

#define NTASKS 4000

static void *leaf(void *arg)
{
	if (corio_task_local_get(&k1) != &va)
		return (void *)"no value";
	/* every other one copies the map; the rest only share it */
	if ((intptr_t)arg % 2 && corio_task_local_set(&k2, &vc) != 0)
		return (void *)"set failed";
	corio_yield(); /* all alive at once */
	return TH_OK;
}

static void *t_many_tasks(void *arg)
{
	static corio_task *t[NTASKS];
	void *res;

	(void)arg;
	TH_CHECK(corio_task_local_set(&k1, &va) == 0 && corio_task_local_set(&k3, &vd) == 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < NTASKS; i++)
			TH_CHECK((t[i] = corio_spawn(leaf, (void *)(intptr_t)i)));
		/* detached or joined, each drops its share of the map as it ends */
		for (int i = 0; i < NTASKS; i += 4)
			corio_detach(t[i]);
		for (int i = 0; i < NTASKS; i++)
			if (i % 4)
				TH_CHECK(corio_join(t[i], &res) == 0 && res == TH_OK);
		TH_CHECK(corio_task_local_set(&k1, &va) == 0);
	}
	return TH_OK;
}

TH_TASK_TEST(many_tasks_no_leak, t_many_tasks)

/* ---- dump ---- */

struct line {
	unsigned long long id;
	char name[80];
	char state[16];
	unsigned long long secs, ms;
	char on[96]; /* what it waits on */
};

/* Parses one dump line; false when it does not have the documented shape. */
static bool parse_line(const char *s, struct line *ln)
{
	int off = 0, off2 = 0;

	memset(ln, 0, sizeof *ln);
	if (sscanf(s, "task-%llu \"%79[^\"]\" %15s%n", &ln->id, ln->name, ln->state, &off) != 3)
		return false;
	s += off;
	if (strcmp(ln->state, "parked") != 0)
		return *s == 0;
	if (sscanf(s, " %llu.%3llus on %n", &ln->secs, &ln->ms, &off2) != 2 || off2 == 0)
		return false;
	snprintf(ln->on, sizeof ln->on, "%s", s + off2);
	return ln->ms < 1000 && ln->on[0];
}

#define MAXLINES 16

/* Dumps into memory and parses every line: the count, or -1. */
static int dump_parse(struct line *lines)
{
	char *buf = NULL, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int n, k = 0;

	if (!f)
		return -1;
	n = corio_tasks_dump(f);
	fclose(f);
	for (char *s = strtok_r(buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
		if (k >= MAXLINES || !parse_line(s, &lines[k++]))
			k = -1000;
	free(buf);
	return n == k ? n : -1;
}

static const struct line *by_name(const struct line *lines, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(lines[i].name, name) == 0)
			return &lines[i];
	return NULL;
}

static int all_parked(const struct line *lines, int n, int want)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += strcmp(lines[i].state, "parked") == 0;
	return k == want;
}

struct dump_ctx {
	corio_chan *ch;
	int pfd[2];
	corio_task *receiver;
};

static void *chan_receiver(void *arg)
{
	struct dump_ctx *d = arg;
	int v;

	corio_task_set_name(NULL, "receiver");
	return (void *)(intptr_t)corio_chan_recv(d->ch, &v);
}

static void *pipe_reader(void *arg)
{
	struct dump_ctx *d = arg;
	char c;

	corio_task_set_name(NULL, "reader");
	return (void *)(intptr_t)corio_read(d->pfd[0], &c, 1, -1);
}

static void *sleeper(void *arg)
{
	(void)arg;
	corio_task_set_name(NULL, "sleeper");
	return (void *)(intptr_t)corio_sleep(CORIO_SEC(3600));
}

static void *joiner(void *arg)
{
	struct dump_ctx *d = arg;

	corio_task_set_name(NULL, "joiner");
	return (void *)(intptr_t)corio_join(d->receiver, NULL);
}

static void *t_dump(void *arg)
{
	struct dump_ctx d;
	struct line lines[MAXLINES];
	const struct line *ln;
	corio_task *rd, *sl, *jn;
	char want[64];
	int n = -1, v = 7;
	void *res;

	(void)arg;
	TH_CHECK(corio_task_set_name(NULL, "the main") == 0);
	TH_CHECK((d.ch = corio_chan_new(0, sizeof(int))) && pipe(d.pfd) == 0);
	TH_CHECK((d.receiver = corio_spawn(chan_receiver, &d)) && (rd = corio_spawn(pipe_reader, &d)));
	TH_CHECK((sl = corio_spawn(sleeper, NULL)) && (jn = corio_spawn(joiner, &d)));
	/* until all four are parked (they park at their first run): bounded, no sleeping */
	for (int i = 0; i < 1000 && !(n == 5 && all_parked(lines, n, 4)); i++) {
		corio_yield();
		n = dump_parse(lines);
	}
	TH_CHECK(n == 5 && all_parked(lines, n, 4));
	TH_CHECK((ln = by_name(lines, n, "the main")) && strcmp(ln->state, "running") == 0);
	TH_CHECK(ln->id == 1 && lines[0].id == 1); /* oldest first */
	TH_CHECK((ln = by_name(lines, n, "receiver")));
	snprintf(want, sizeof want, "chan recv %p", (void *)d.ch);
	TH_CHECK(strcmp(ln->on, want) == 0);
	snprintf(want, sizeof want, "join task-%llu", ln->id);
	TH_CHECK((ln = by_name(lines, n, "joiner")) && strcmp(ln->on, want) == 0);
	snprintf(want, sizeof want, "read fd %d", d.pfd[0]);
	TH_CHECK((ln = by_name(lines, n, "reader")) && strcmp(ln->on, want) == 0);
	TH_CHECK((ln = by_name(lines, n, "sleeper")));
	TH_CHECK(strcmp(ln->on, "sleep") == 0 || strcmp(ln->on, "timeout") == 0);
	/* let them go */
	TH_CHECK(write(d.pfd[1], "x", 1) == 1);
	TH_CHECK(corio_chan_send(d.ch, &v) == 0);
	corio_cancel(sl);
	TH_CHECK(corio_join(rd, &res) == 0 && (intptr_t)res == 1);
	TH_CHECK(corio_join(jn, &res) == 0 && res == NULL);
	TH_CHECK(corio_join(sl, &res) == -ECANCELED);
	TH_CHECK((n = dump_parse(lines)) == 1 && strcmp(lines[0].state, "running") == 0);
	corio_chan_free(d.ch);
	close(d.pfd[0]);
	close(d.pfd[1]);
	return TH_OK;
}

TH_TASK_TEST(dump_parked_tasks, t_dump)

static void *mutex_locker(void *arg)
{
	corio_mutex *m = arg;

	corio_task_set_name(NULL, "locker");
	if (corio_mutex_lock(m) != 0)
		return (void *)"lock failed";
	corio_mutex_unlock(m);
	return NULL;
}

static void *event_waiter(void *arg)
{
	corio_task_set_name(NULL, "waiter");
	return (void *)(intptr_t)corio_event_wait(arg);
}

/* The sync primitives' labels: a mutex and an event, each with its address. */
static void *t_dump_labels(void *arg)
{
	struct line lines[MAXLINES];
	const struct line *ln;
	corio_mutex m;
	corio_event e;
	corio_task *a, *b;
	char want[64];
	int n = -1;

	(void)arg;
	TH_CHECK(corio_mutex_init(&m) == 0 && corio_event_init(&e) == 0);
	TH_CHECK(corio_mutex_lock(&m) == 0);
	TH_CHECK((a = corio_spawn(mutex_locker, &m)) && (b = corio_spawn(event_waiter, &e)));
	for (int i = 0; i < 1000 && !(n == 3 && all_parked(lines, n, 2)); i++) {
		corio_yield();
		n = dump_parse(lines);
	}
	TH_CHECK(n == 3 && all_parked(lines, n, 2));
	snprintf(want, sizeof want, "mutex %p", (void *)&m);
	TH_CHECK((ln = by_name(lines, n, "locker")) && strcmp(ln->on, want) == 0);
	snprintf(want, sizeof want, "event %p", (void *)&e);
	TH_CHECK((ln = by_name(lines, n, "waiter")) && strcmp(ln->on, want) == 0);
	corio_mutex_unlock(&m);
	corio_event_set(&e);
	TH_CHECK(corio_join(a, NULL) == 0 && corio_join(b, NULL) == 0);
	return TH_OK;
}

TH_TASK_TEST(dump_wait_labels, t_dump_labels)

static void *t_dump_format(void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	corio_task *c;

	(void)arg;
	TH_CHECK(corio_task_set_name(NULL, "a \"q\" \\ \n\t\x7f é") == 0);
	TH_CHECK((c = corio_spawn(idle_main, NULL)));
	TH_CHECK((f = open_memstream(&buf, &len)));
	TH_CHECK(corio_tasks_dump(f) == 2);
	fclose(f);
	TH_CHECK(strcmp(buf, "task-1 \"a \\\"q\\\" \\\\ \\x0a\\x09\\x7f é\" running\n"
			     "task-2 \"task-2\" ready\n") == 0);
	free(buf);
	TH_CHECK(corio_tasks_dump(NULL) == -EINVAL);
	TH_CHECK((f = fopen("/dev/null", "r")));
	TH_CHECK(corio_tasks_dump(f) == -EIO); /* a stream that refuses writes */
	fclose(f);
	corio_yield(); /* c finishes; not joined yet */
	TH_CHECK((f = open_memstream(&buf, &len)));
	TH_CHECK(corio_tasks_dump(f) == 2);
	fclose(f);
	TH_CHECK(strstr(buf, "task-2 \"task-2\" finished\n"));
	free(buf);
	TH_CHECK(corio_join(c, NULL) == 0);
	return TH_OK;
}

START_TEST(dump_format_and_errors)
{
	TH_RUN_EXPECT_OK(NULL, t_dump_format, NULL);
	ck_assert_int_eq(corio_tasks_dump(stdout), -ESRCH);
}
END_TEST

static Suite *task_context_suite(void)
{
	Suite *s = suite_create("task_context");

	TH_TCASE(s, "names", TH_TIMEOUT, names, long_names);
	TH_TCASE(s, "locals", TH_TIMEOUT, locals_basic, locals_inherit, many_keys, nested_spawns,
		 group_and_post_inherit, many_tasks_no_leak);
	TH_TCASE(s, "dump", TH_TIMEOUT, dump_parked_tasks, dump_wait_labels, dump_format_and_errors);
	return s;
}

int main(void)
{
	return th_main(task_context_suite());
}
