/* examples/http_router.c: a small REST-like server on a corio router (an in-memory list of
 * notes) with three middlewares a real service has: a request id (X-Request-Id, kept when
 * the client sent a sane one), CORS (answers preflights, adds the headers otherwise) and
 * timing (a log line per request on stderr). Ctrl-C stops it.
 *
 *   http_router [--port 8080]
 *   curl -i http://127.0.0.1:8080/notes                      -> []
 *   curl -i -X POST --data 'buy milk' http://127.0.0.1:8080/notes   -> 201, Location
 *   curl -i http://127.0.0.1:8080/notes/1                    -> buy milk
 *   curl -i -X DELETE http://127.0.0.1:8080/notes/1          -> 204
 *   curl -i -X PATCH http://127.0.0.1:8080/notes/1           -> 405, Allow: DELETE, GET, ...
 *   curl -i http://127.0.0.1:8080/hello/w%C3%B6rld            -> hello wörld
 *   curl -i -X OPTIONS -H 'Origin: http://x' \
 *        -H 'Access-Control-Request-Method: PUT' http://127.0.0.1:8080/notes/1  -> preflight
 *
 * One loop: the notes live in plain memory, which only one loop may touch. (The router
 * itself is read-only while serving and could serve threads > 1.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <corio/corio.h>
#include <corio/http_server.h>

#define MAX_NOTES 256

static char *notes[MAX_NOTES + 1]; /* notes[id], id from 1; NULL: none */

/* ---- handlers ---------------------------------------------------------------------------- */

static void send_text(corio_http_out *resp, int status, const char *text)
{
	corio_http_out_status(resp, status);
	corio_http_out_header(resp, "Content-Type", "text/plain; charset=utf-8");
	corio_http_out_send(resp, text, strlen(text));
}

/* The note named by {id}, or NULL (and *id 0) when there is none. */
static char **note_of(corio_http_in *req, long *id)
{
	char *end;
	long n = strtol(corio_http_in_param(req, "id"), &end, 10);

	*id = *end == '\0' && n >= 1 && n <= MAX_NOTES && notes[n] ? n : 0;
	return *id ? &notes[*id] : NULL;
}

static void list_notes(corio_http_in *req, corio_http_out *resp, void *ud)
{
	char body[8192];
	size_t len = 0;

	(void)req;
	(void)ud;
	for (int i = 1; i <= MAX_NOTES && len < sizeof body - 64; i++)
		if (notes[i])
			len += (size_t)snprintf(body + len, sizeof body - len, "%d: %.40s\n", i,
						notes[i]);
	body[len] = '\0';
	send_text(resp, 200, len ? body : "[]\n");
}

static void create_note(corio_http_in *req, corio_http_out *resp, void *ud)
{
	const char *body;
	size_t len;
	char loc[32];
	int id = 1;

	(void)ud;
	if (corio_http_in_body(req, &body, &len) < 0)
		return; /* the server answers 413 / 408 / 400 */
	while (id <= MAX_NOTES && notes[id])
		id++;
	if (id > MAX_NOTES || !(notes[id] = strndup(body, len))) {
		send_text(resp, 507, "full\n");
		return;
	}
	snprintf(loc, sizeof loc, "/notes/%d", id);
	corio_http_out_header(resp, "Location", loc);
	send_text(resp, 201, "created\n");
}

static void show_note(corio_http_in *req, corio_http_out *resp, void *ud)
{
	long id;
	char **n = note_of(req, &id);

	(void)ud;
	if (!n) {
		corio_http_out_error(resp, 404);
		return;
	}
	send_text(resp, 200, *n);
}

static void update_note(corio_http_in *req, corio_http_out *resp, void *ud)
{
	long id;
	char **n = note_of(req, &id), *copy;
	const char *body;
	size_t len;

	(void)ud;
	if (!n) {
		corio_http_out_error(resp, 404);
		return;
	}
	if (corio_http_in_body(req, &body, &len) < 0)
		return;
	if (!(copy = strndup(body, len))) {
		corio_http_out_error(resp, 500);
		return;
	}
	free(*n);
	*n = copy;
	send_text(resp, 200, "updated\n");
}

static void delete_note(corio_http_in *req, corio_http_out *resp, void *ud)
{
	long id;
	char **n = note_of(req, &id);

	(void)ud;
	if (!n) {
		corio_http_out_error(resp, 404);
		return;
	}
	free(*n);
	*n = NULL;
	corio_http_out_status(resp, 204);
	corio_http_out_send(resp, "", 0);
}

static void hello(corio_http_in *req, corio_http_out *resp, void *ud)
{
	char text[512];

	(void)ud;
	snprintf(text, sizeof text, "hello %s\n", corio_http_in_param(req, "name"));
	send_text(resp, 200, text);
}

/* ---- middlewares ------------------------------------------------------------------------- */

/* X-Request-Id: the client's when it is a short token, otherwise a new one. Added before
 * next, like every header (the handler starts the response). */
static void request_id(corio_http_in *req, corio_http_out *resp, corio_http_handler next,
		       void *next_ud, void *ud)
{
	static unsigned long counter; /* one loop: no lock needed */
	const char *id = corio_http_in_header(req, "X-Request-Id");
	char made[40];

	(void)ud;
	if (!id || strlen(id) > 64 || strspn(id, "abcdefghijklmnopqrstuvwxyz"
					  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(id)) {
		snprintf(made, sizeof made, "%x-%lu", (unsigned)getpid(), ++counter);
		id = made;
	}
	corio_http_out_header(resp, "X-Request-Id", id);
	next(req, resp, next_ud);
}

/* CORS for the origins in ud ("*": any): a preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered here; other requests with an Origin get
 * Access-Control-Allow-Origin. */
static void cors(corio_http_in *req, corio_http_out *resp, corio_http_handler next,
		 void *next_ud, void *ud)
{
	const char *allowed = ud, *origin = corio_http_in_header(req, "Origin");
	bool ok = origin && (!strcmp(allowed, "*") || !strcmp(allowed, origin));

	if (ok && !strcmp(corio_http_in_method(req), "OPTIONS") &&
	    corio_http_in_header(req, "Access-Control-Request-Method")) {
		const char *h = corio_http_in_header(req, "Access-Control-Request-Headers");

		corio_http_out_header(resp, "Access-Control-Allow-Origin", origin);
		corio_http_out_header(resp, "Access-Control-Allow-Methods",
				      "GET, HEAD, POST, PUT, DELETE");
		if (h)
			corio_http_out_header(resp, "Access-Control-Allow-Headers", h);
		corio_http_out_header(resp, "Access-Control-Max-Age", "600");
		corio_http_out_header(resp, "Vary", "Origin");
		corio_http_out_status(resp, 204);
		corio_http_out_send(resp, "", 0);
		return;
	}
	if (ok) {
		corio_http_out_header(resp, "Access-Control-Allow-Origin", origin);
		corio_http_out_header(resp, "Vary", "Origin");
	}
	next(req, resp, next_ud);
}

/* Times the rest of the chain. Its result cannot become a header (the response has
 * started when next returns), so it goes to a log line. */
static void timing(corio_http_in *req, corio_http_out *resp, corio_http_handler next,
		   void *next_ud, void *ud)
{
	uint64_t t0 = corio_now();

	(void)ud;
	next(req, resp, next_ud);
	fprintf(stderr, "%s %s %.3f ms\n", corio_http_in_method(req), corio_http_in_target(req),
		(double)(corio_now() - t0) / 1e6);
}

/* ---- main -------------------------------------------------------------------------------- */

static corio_http_router *make_router(void)
{
	corio_http_router *r = corio_http_router_new();
	int rc = r ? 0 : -ENOMEM;

	/* outermost first: the id is set before CORS may answer, timing sees everything */
	rc = rc ? rc : corio_http_router_use(r, request_id, NULL);
	rc = rc ? rc : corio_http_router_use(r, timing, NULL);
	rc = rc ? rc : corio_http_router_use(r, cors, "*");
	rc = rc ? rc : corio_http_route(r, "GET", "/notes", list_notes, NULL);
	rc = rc ? rc : corio_http_route(r, "POST", "/notes", create_note, NULL);
	rc = rc ? rc : corio_http_route(r, "GET", "/notes/{id}", show_note, NULL);
	rc = rc ? rc : corio_http_route(r, "PUT", "/notes/{id}", update_note, NULL);
	rc = rc ? rc : corio_http_route(r, "DELETE", "/notes/{id}", delete_note, NULL);
	rc = rc ? rc : corio_http_route(r, "GET", "/hello/{name}", hello, NULL);
	if (rc) {
		fprintf(stderr, "http_router: building the router: %s\n", strerror(-rc));
		corio_http_router_free(r);
		return NULL;
	}
	return r;
}

struct app {
	int port, sigfd;
	corio_http_server *srv;
};

static void *signals(void *arg)
{
	struct app *app = arg;
	struct signalfd_siginfo si;

	if (corio_read(app->sigfd, &si, sizeof si, -1) == (ssize_t)sizeof si)
		corio_http_server_shutdown(app->srv, CORIO_SEC(5));
	return NULL;
}

static void *main_task(void *arg)
{
	struct app *app = arg;
	corio_http_router *r = make_router();
	corio_task *sig;
	int rc = -ENOMEM;

	if (r && (app->srv = corio_http_server_new(NULL, corio_http_router_handler, r)))
		rc = corio_http_server_listen(app->srv, "127.0.0.1", app->port);
	if (rc == 0) {
		printf("listening on http://127.0.0.1:%d/\n", corio_http_server_port(app->srv));
		fflush(stdout);
		sig = corio_spawn(signals, app);
		rc = corio_http_server_serve(app->srv);
		if (sig) {
			corio_cancel(sig);
			corio_join(sig, NULL);
		}
	} else {
		fprintf(stderr, "http_router: %s\n", strerror(-rc));
	}
	corio_http_server_free(app->srv);
	corio_http_router_free(r);
	return rc < 0 ? (void *)"failed" : NULL;
}

int main(int argc, char **argv)
{
	struct app app = { .port = 8080 };
	sigset_t set;
	void *res = NULL;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--port"))
		app.port = atoi(argv[2]);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((app.sigfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		perror("signalfd");
		return 1;
	}
	rc = corio_run(main_task, &app, &res);
	close(app.sigfd);
	for (int i = 1; i <= MAX_NOTES; i++)
		free(notes[i]);
	return rc == 0 && !res ? 0 : 1;
}
