/* runtime/net/receiver_ext.h: what corio's own upper layers (the HTTP server) need of a
 * multishot receiver beyond corio/net.h: waiting for input without a buffer to put it in,
 * so that a connection idle for long holds none. Not installed; implemented in
 * runtime/net/recvring.c. */
#ifndef CORIO_RECEIVER_EXT_H
#define CORIO_RECEIVER_EXT_H

#include <corio/net.h>

/* Parks until r has something to read (bytes, EOF or an error, which the next
 * corio_receiver_recv returns), without taking it. 0, or -ECANCELED / the task's deadline
 * (-ETIMEDOUT through an I/O deadline, runtime/time/deadline.h), -EINVAL, -EBUSY (another
 * task waits on r). Parks. */
int corio__receiver_wait(corio_receiver *r);

#endif
