/* http/client/trace.c: owns emitting the client's tracing events (corio/http.h, the
 * corio_http_trace_* section): the fields every event repeats, the timestamp, and the
 * order of the two hooks (the client's first, then the request's). A leaf: it calls
 * nothing else of the client. Never parks (hooks must not park either). */
#include <string.h>

#include "http/client/client_internal.h"

bool corio__hclient_tracing(const corio__hclient_trace *t)
{
	return t && (t->fn[0] || t->fn[1]);
}

void corio__hclient_trace_emit(const corio__hclient_trace *t, corio_http_trace_info *ev)
{
	if (!corio__hclient_tracing(t))
		return;
	ev->method = t->method;
	ev->url = t->url;
	ev->host = t->host;
	ev->port = t->port;
	ev->at = corio_now();
	for (int i = 0; i < 2; i++)
		if (t->fn[i])
			t->fn[i](ev, t->ud[i]);
}

void corio__hclient_trace_ev(const corio__hclient_trace *t, corio_http_trace_event e, int err,
			     int status)
{
	corio_http_trace_info ev;

	if (!corio__hclient_tracing(t))
		return;
	memset(&ev, 0, sizeof ev);
	ev.event = e;
	ev.err = err;
	ev.status = status;
	corio__hclient_trace_emit(t, &ev);
}
