/* runtime/net/tls_ktls.c: whether this kernel offers kernel TLS (the "tls" TCP upper layer
 * protocol), asked once per process and remembered. Only the question lives here: corio has
 * no kTLS data path yet, and tls_internal.h says what one would take. The probe uses plain
 * blocking calls on a loopback socket pair (no task, no ring): connect and accept to
 * 127.0.0.1 finish at once, and it runs once. */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/net/tls_internal.h"

/* TCP_ULP is in the kernel's headers since Linux 4.13; glibc's may lack it. */
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static int ktls_result;
static pthread_once_t ktls_once = PTHREAD_ONCE_INIT;

/* A connected TCP pair on 127.0.0.1 (fds into c[0], c[1]) or -errno. The ULP can only be set
 * on an established socket (the tls module answers -ENOTCONN otherwise), hence the pair. */
static int loopback_pair(int c[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	c[0] = c[1] = -1;
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) < 0 ||
	    (c[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c[0], (struct sockaddr *)&a, sizeof a) < 0 ||
	    (c[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		rc = -errno;
	close(l);
	return rc;
}

static void probe(void)
{
	int c[2], rc = loopback_pair(c);

	/* 0: the tls ULP is there (and now attached to c[0], which goes away). -ENOENT: no
	 * such ULP (module absent, or not loadable by this process). */
	if (rc == 0 && setsockopt(c[0], SOL_TCP, TCP_ULP, "tls", 3) < 0)
		rc = -errno;
	if (c[0] >= 0)
		close(c[0]);
	if (c[1] >= 0)
		close(c[1]);
	ktls_result = rc;
}

int corio__tls_ktls_probe(void)
{
	pthread_once(&ktls_once, probe);
	return ktls_result;
}
