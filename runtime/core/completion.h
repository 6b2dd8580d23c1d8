/* runtime/core/completion.h: what a CQE is delivered to (corio__completion), and the loop's
 * name. Its own header so that the core's small types (the kernel timer of ktimer.h) can
 * embed a completion without including the whole loop. Owns nothing; nothing here parks. */
#ifndef CORIO_COMPLETION_H
#define CORIO_COMPLETION_H

#include <stdbool.h>
#include <stdint.h>

typedef struct corio__loop corio__loop;

/* Something that wants a CQE. user_data of an SQE is the address of one of these, or 0 for
 * a CQE nobody waits for (link timeouts, cancel requests, timer removals). */
typedef struct corio__completion corio__completion;
typedef void (*corio__complete_fn)(corio__completion *c, int32_t res, uint32_t flags);
struct corio__completion {
	corio__complete_fn fn;
	corio__completion *fault_next; /* on the loop's queue of injected failures */
	int32_t fault_res;
	bool foreign; /* posted by another ring (IORING_OP_MSG_RING): not ours to count */
};

#endif
