/* examples/subprocess.c: runs shell commands concurrently, like asyncio's
 * create_subprocess_shell + communicate(): one task per command, each spawning
 * `/bin/sh -c CMD` with its stdout and stderr piped together, feeding it its stdin (the
 * -i TEXT given, else nothing: the child reads EOF), reading everything it prints and
 * waiting for it. Prints, per command in the order given:
 *
 *     [CMD exited with N]          or   [CMD killed by signal N]
 *     stdout+stderr: <what it printed>
 *
 * Usage: subprocess [-i TEXT] CMD...     (default: two sample commands)
 * Exit status: 0 every command ran (whatever its own status), 1 one could not be started
 * (message on stderr), 2 bad usage.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <corio/corio.h>

#define MAX_CMDS 64
#define MAX_OUT (64 * 1024)

typedef struct job {
	const char *cmd;
	const char *input; /* fed to the child's stdin, then closed */
	char out[MAX_OUT];
	size_t len;
	int status, err;
} job;

/* Writes the input, then closes stdin so the child sees EOF. A task of its own, so that a
 * child that prints a lot before reading cannot block us on a full pipe. */
static void *feed(void *arg)
{
	job *j = ((void **)arg)[0];
	corio_process *p = ((void **)arg)[1];

	if (j->input)
		corio_write_all(corio_process_stdin(p), j->input, strlen(j->input), -1);
	corio_process_close_stdin(p);
	return NULL;
}

static void *run_one(void *arg)
{
	job *j = arg;
	const char *argv[] = { "/bin/sh", "-c", j->cmd, NULL };
	corio_process_opts o = { .stdin_mode = CORIO_PROCESS_PIPE,
				 .stdout_mode = CORIO_PROCESS_PIPE,
				 .stderr_mode = CORIO_PROCESS_STDOUT };
	corio_process *p;
	corio_task *feeder;
	char scratch[4096];
	ssize_t n;

	if ((j->err = corio_process_spawn(argv, &o, &p)) != 0)
		return NULL;
	feeder = corio_spawn(feed, (void *[]){ j, p });
	/* To EOF, even past what is kept: a child blocked on a full pipe never exits. */
	for (;;) {
		size_t room = sizeof j->out - 1 - j->len;

		n = corio_read(corio_process_stdout(p), room ? j->out + j->len : scratch,
			       room ? room : sizeof scratch, -1);
		if (n <= 0)
			break;
		if (room)
			j->len += (size_t)n;
	}
	j->out[j->len] = 0;
	if (feeder)
		corio_join(feeder, NULL);
	j->err = corio_process_wait(p, &j->status);
	corio_process_free(p); /* kills nothing: a child still running is reaped later */
	return NULL;
}

typedef struct jobs {
	job *v;
	int n;
} jobs;

static void *main_task(void *arg)
{
	jobs *js = arg;
	corio_task *t[MAX_CMDS];
	int n = 0;

	while (n < js->n && (t[n] = corio_spawn(run_one, &js->v[n])))
		n++;
	corio_gather(t, (size_t)n, NULL);
	return NULL;
}

static int report(const job *j)
{
	if (j->err) {
		fprintf(stderr, "subprocess: %s: %s\n", j->cmd, strerror(-j->err));
		return 1;
	}
	if (WIFEXITED(j->status))
		printf("[%s exited with %d]\n", j->cmd, WEXITSTATUS(j->status));
	else
		printf("[%s killed by signal %d]\n", j->cmd, WTERMSIG(j->status));
	printf("stdout+stderr: %s%s", j->out, j->len && j->out[j->len - 1] == '\n' ? "" : "\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const samples[] = { "echo hello; exit 2", "tr a-z A-Z; ls /nope" };
	const char *input = NULL;
	jobs js = { 0 };
	int first = 1, rc = 0;

	if (argc > 2 && strcmp(argv[1], "-i") == 0) {
		input = argv[2];
		first = 3;
	}
	js.n = argc - first;
	if (js.n > MAX_CMDS || (argc > 1 && argv[1][0] == '-' && first == 1)) {
		fprintf(stderr, "usage: subprocess [-i TEXT] CMD...  (at most %d)\n", MAX_CMDS);
		return 2;
	}
	if (js.n == 0) {
		js.n = 2;
		input = input ? input : "some input\n";
	}
	if (!(js.v = calloc((size_t)js.n, sizeof *js.v)))
		return 1;
	for (int i = 0; i < js.n; i++) {
		js.v[i].cmd = argc > first ? argv[first + i] : samples[i];
		js.v[i].input = input;
	}
	if (corio_run(main_task, &js, NULL) != 0)
		rc = 1;
	for (int i = 0; i < js.n; i++)
		rc |= report(&js.v[i]);
	free(js.v);
	return rc;
}
