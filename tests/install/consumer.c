/* tests/install/consumer.c: the smallest program a user builds against an installed corio.
 * It only includes <corio/corio.h> and links the way a user would (pkg-config, pkg-config
 * --static, find_package); tests/install/check.sh builds and runs it. Prints "consumer ok". */
#include <corio/corio.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

static void *body(void *arg)
{
	return (void *)(intptr_t)corio_sleep(CORIO_MS(1));
}

int main(void)
{
	void *result = (void *)(intptr_t)-1;
	int rc = corio_run(body, NULL, &result);

	if (rc == -ENOSYS || rc == -EPERM) {
		fprintf(stderr, "consumer: io_uring unavailable (%d): skipped\n", rc);
		return 77;
	}
	if (rc != 0 || result != NULL) {
		fprintf(stderr, "consumer: corio_run %d, corio_sleep %ld\n", rc,
			(long)(intptr_t)result);
		return 1;
	}
	puts("consumer ok");
	return 0;
}
