/* tests/runtime/test_process_wait.c: corio_process_wait, kill and free
 * (runtime/process/wait.c, reap.c, process.c), once per wait mechanism (forced with
 * CORIO_PROCESS_WAIT and checked in corio_caps): a child killed by a signal, a wait
 * cancelled (task cancelled, timeout scope) that leaves the child running and waitable, many
 * waits at once, a child reaped by someone else (-ECHILD, then kill -ESRCH), a running
 * child freed (reaped once it exits, also after its loop ended; free_kill), and no
 * descriptor or zombie left over many spawns. No fixed sleeps: children end when their
 * stdin closes, and reaping is polled up to a generous deadline. */
#include "tests/runtime/process_helpers.h"

#define REAP_DEADLINE CORIO_SEC(30)

static const corio_process_opts stdin_pipe = { .stdin_mode = CORIO_PROCESS_PIPE };
static const char *const cat[] = { "cat", NULL };

static void *t_killed(void *arg)
{
	corio_process *p;
	int st;

	TH_CHECK(th_wait_mode_is((int)(intptr_t)arg));
	TH_CHECK(corio_process_spawn(cat, &stdin_pipe, &p) == 0);
	TH_CHECK(corio_process_kill(p, 0) == 0 && th_running(corio_process_pid(p)));
	TH_CHECK(corio_process_kill(p, SIGKILL) == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	TH_CHECK(corio_process_kill(p, SIGTERM) == -ESRCH);
	corio_process_free(p);
	/* the child kills itself */
	TH_CHECK(th_sh("kill -TERM $$", NULL, &p) == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(killed, t_killed)

typedef struct waiter {
	corio_process *p;
	int rc, st;
} waiter;

static void *wait_task(void *arg)
{
	waiter *w = arg;

	w->rc = corio_process_wait(w->p, &w->st);
	return NULL;
}

static void *t_cancel(void *arg)
{
	waiter w = { .rc = 1 };
	corio_timeout to;
	corio_task *t;
	int st;

	TH_CHECK(th_wait_mode_is((int)(intptr_t)arg));
	TH_CHECK(corio_process_spawn(cat, &stdin_pipe, &w.p) == 0);
	/* a parked wait cancelled: -ECANCELED, the child still runs */
	TH_CHECK((t = corio_spawn(wait_task, &w)));
	for (int i = 0; i < 10; i++)
		corio_yield();
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED && w.rc == -ECANCELED);
	TH_CHECK(th_running(corio_process_pid(w.p)));
	/* a timeout scope: -ETIMEDOUT, still running */
	corio_timeout_enter(&to, CORIO_MS(20));
	TH_CHECK(corio_process_wait(w.p, &st) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&to));
	TH_CHECK(th_running(corio_process_pid(w.p)));
	/* cancelled before it parks */
	TH_CHECK((t = corio_spawn(wait_task, &w)));
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	/* then a real wait gets the real status */
	TH_CHECK(corio_process_close_stdin(w.p) == 0);
	TH_CHECK(corio_process_wait(w.p, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	corio_process_free(w.p);
	return TH_OK;
}
TH_MODE_TEST(cancel_then_wait, t_cancel)

/* A wait cancelled in the very turn the child exits: either it got the status, or the
 * next wait does; nothing is lost. */
static void *t_cancel_race(void *arg)
{
	for (int i = 0; i < 20; i++) {
		waiter w = { .rc = 1 };
		corio_task *t;
		int st;

		TH_CHECK(th_sh("exit 7", NULL, &w.p) == 0);
		TH_CHECK((t = corio_spawn(wait_task, &w)));
		for (int k = 0; k < i % 4; k++)
			corio_yield();
		corio_cancel(t);
		corio_join(t, NULL);
		/* 1: cancelled before it first ran (then it never runs) */
		TH_CHECK(w.rc == 0 || w.rc == -ECANCELED || w.rc == 1);
		TH_CHECK(corio_process_wait(w.p, &st) == 0 && WEXITSTATUS(st) == 7);
		corio_process_free(w.p);
	}
	return TH_OK;
}
TH_MODE_TEST(cancel_race, t_cancel_race)

#define MANY 16

static void *t_many(void *arg)
{
	waiter w[MANY];
	corio_task *t[MANY];
	char cmd[32];

	for (int i = 0; i < MANY; i++) {
		snprintf(cmd, sizeof cmd, "exit %d", i + 1);
		TH_CHECK(th_sh(cmd, NULL, &w[i].p) == 0);
		TH_CHECK((t[i] = corio_spawn(wait_task, &w[i])));
	}
	TH_CHECK(corio_gather(t, MANY, NULL) == 0);
	for (int i = 0; i < MANY; i++) {
		TH_CHECK(w[i].rc == 0 && WIFEXITED(w[i].st) && WEXITSTATUS(w[i].st) == i + 1);
		corio_process_free(w[i].p);
	}
	return TH_OK;
}
TH_MODE_TEST(many_waits, t_many)

static void *t_stolen(void *arg)
{
	corio_process *p;
	int st;

	TH_CHECK(th_sh("exit 0", NULL, &p) == 0);
	TH_CHECK(waitpid(corio_process_pid(p), &st, 0) == corio_process_pid(p));
	TH_CHECK(corio_process_wait(p, &st) == -ECHILD);
	TH_CHECK(corio_process_wait(p, &st) == -ECHILD);
	TH_CHECK(corio_process_kill(p, SIGTERM) == -ESRCH);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(stolen, t_stolen)

/* Freed while running: reaped once it exits (free closed its stdin). */
static void *t_free_running(void *arg)
{
	corio_process *p;
	pid_t pid;

	TH_CHECK(corio_process_spawn(cat, &stdin_pipe, &p) == 0);
	pid = corio_process_pid(p);
	TH_CHECK(th_running(pid));
	corio_process_free(p);
	TH_CHECK(th_reaped_within(pid, REAP_DEADLINE, true));
	/* free_kill on a child that would run for ever */
	const char *sleeper[] = { "sleep", "1000", NULL };

	TH_CHECK(corio_process_spawn(sleeper, NULL, &p) == 0);
	pid = corio_process_pid(p);
	corio_process_free_kill(p, true);
	TH_CHECK(th_reaped_within(pid, REAP_DEADLINE, true));
	/* pool mode: freed after a cancelled wait started its reaper thread */
	waiter w;
	corio_task *t;

	TH_CHECK(corio_process_spawn(cat, &stdin_pipe, &w.p) == 0);
	pid = corio_process_pid(w.p);
	TH_CHECK((t = corio_spawn(wait_task, &w)));
	corio_yield();
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	corio_process_free(w.p);
	TH_CHECK(th_reaped_within(pid, REAP_DEADLINE, true));
	return TH_OK;
}
TH_MODE_TEST(free_running, t_free_running)

/* Freed while running, and the loop ends before the child does: still reaped. The test
 * holds the child's stdin (taken from the process) and closes it after corio_run. */
static int held_fd = -1;
static pid_t held_pid;

static void *t_free_outlives(void *arg)
{
	corio_process *p;

	TH_CHECK(corio_process_spawn(cat, &stdin_pipe, &p) == 0);
	held_pid = corio_process_pid(p);
	held_fd = corio_process_take_fd(p, 0);
	TH_CHECK(held_fd >= 0);
	corio_process_free(p);
	return TH_OK;
}

START_TEST(free_outlives_loop)
{
	const char *msg;

	th_wait_mode(_i);
	ck_assert_int_eq(corio_run(t_free_outlives, NULL, (void **)&msg), 0);
	ck_assert_msg(msg == NULL, "task failed: %s", msg);
	ck_assert(th_running(held_pid));
	close(held_fd);
	ck_assert(th_reaped_within(held_pid, REAP_DEADLINE, false));
}
END_TEST

/* Many spawns, waits and frees: the descriptor count and the children come back to
 * where they were. */
static void *t_no_leaks(void *arg)
{
	corio_process_opts o = { .stdin_mode = CORIO_PROCESS_PIPE,
				 .stdout_mode = CORIO_PROCESS_PIPE,
				 .stderr_mode = CORIO_PROCESS_NULL };
	corio_process *w;
	siginfo_t si;
	int fds;

	/* The loop's own descriptors first (the mailbox's eventfd of a pool wait). */
	TH_CHECK(th_sh("exit 0", NULL, &w) == 0 && corio_process_wait(w, NULL) == 0);
	corio_process_free(w);
	fds = th_count_fds();
	for (int i = 0; i < 30; i++) {
		corio_process *p;
		char buf[8];

		TH_CHECK(th_sh("echo hi", &o, &p) == 0);
		TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) == 3);
		if (i % 3 == 0)
			TH_CHECK(corio_process_wait(p, NULL) == 0);
		corio_process_free(p); /* unreaped ones are reaped by a thread */
	}
	for (uint64_t end = th_now() + REAP_DEADLINE; th_now() < end;) {
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
			break;
		corio_sleep(CORIO_MS(2));
	}
	TH_CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD);
	TH_CHECK(th_count_fds() == fds);
	return TH_OK;
}
TH_MODE_TEST(no_leaks, t_no_leaks)

/* Without CORIO_PROCESS_WAIT the best mechanism of this kernel. */
static void *t_default(void *arg)
{
	corio_capabilities c;
	corio_process *p;
	int st;

	TH_CHECK(corio_caps(&c) == 0);
	if (corio_caps_has_op(&c, 50))
		TH_CHECK(c.process_wait == CORIO_WAIT_WAITID);
	else
		TH_CHECK(c.process_wait != CORIO_WAIT_WAITID);
	TH_CHECK(th_sh("exit 5", NULL, &p) == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WEXITSTATUS(st) == 5);
	corio_process_free(p);
	return TH_OK;
}

START_TEST(default_mechanism)
{
	unsetenv("CORIO_PROCESS_WAIT");
	TH_RUN_EXPECT_OK(NULL, t_default, NULL);
}
END_TEST

static Suite *wait_suite(void)
{
	Suite *s = suite_create("process_wait");

	TH_TCASE_MODES(s, "wait", TH_TIMEOUT, killed, cancel_then_wait, cancel_race, many_waits,
		       stolen, free_running, free_outlives_loop, no_leaks);
	TH_TCASE(s, "default", TH_TIMEOUT, default_mechanism);
	return s;
}

int main(void)
{
	return th_main(wait_suite());
}
