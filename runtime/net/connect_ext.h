/* runtime/net/connect_ext.h: what corio's own upper layers (the HTTP client's trace hooks)
 * need of a Happy Eyeballs connect beyond corio/net.h: being told when each attempt starts
 * and ends. Not installed; implemented in runtime/net/happy.c. */
#ifndef CORIO_CONNECT_EXT_H
#define CORIO_CONNECT_EXT_H

#include <corio/net.h>

/* Called in the task that makes the attempt (one per address, running side by side with
 * the caller's), before its connect (done false, err 0) and after it (done true, err 0 or
 * -errno; -ECANCELED for an attempt that lost the race while still connecting). Must not
 * park. */
typedef void (*corio__connect_hook)(void *ud, const struct addrinfo *ai, bool done, int err);

/* corio_tcp_connect_addrinfo with hook (NULL: none) called around each attempt. Every
 * attempt has ended, and its hook calls been made, when this returns. Parks. */
int corio__tcp_connect_hooked(const struct addrinfo *list, corio__connect_hook hook, void *ud);

#endif
