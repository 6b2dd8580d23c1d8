/* tests/fs/test_fs_direct.c: the hot paths of fs/: O_DIRECT with aligned and misaligned
 * buffers, registered buffers and files. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/support/helpers.h"
#include "tests/fs/fs_helpers.h"

#include "fs/fs_internal.h" /* the thread-pool ftruncate, the copy fallback */

/* ---- O_DIRECT -------------------------------------------------------------------------- */

static void *t_direct(void *arg)
{
	unsigned mem, offa;
	char *buf = corio_aligned_alloc(4096, 1u << 16);
	int fd;

	TH_CHECK(buf && ((uintptr_t)buf & 4095) == 0);
	TH_CHECK(corio_aligned_alloc(3000, 10) == NULL);
	fd = corio_open(P("direct"), O_RDWR | O_CREAT | O_DIRECT, 0644);
	if (fd == -EINVAL) { /* the filesystem of /tmp has no O_DIRECT */
		corio_aligned_free(buf);
		return TH_OK;
	}
	TH_CHECK(fd >= 0);
	TH_CHECK(corio_direct_alignment(fd, &mem, &offa) == 0 && mem > 0 && offa > 0);
	fill_rand(buf, 1u << 16, 3);
	TH_CHECK(corio_write(fd, buf, 1u << 16, 0) == 1 << 16);
	memset(buf, 0, 1u << 16);
	TH_CHECK(corio_read(fd, buf, 1u << 16, 0) == 1 << 16);
	{
		char check[64];

		fill_rand(check, sizeof check, 3);
		TH_CHECK(memcmp(buf, check, sizeof check) == 0);
	}
	TH_CHECK(corio_read(fd, buf, 4096, 4096) == 4096);
	/* misaligned: -EINVAL from the kernel (ext4 enforces the logical block size) */
	if (offa > 1) {
		TH_CHECK(corio_read(fd, buf + 1, 4096, 0) == -EINVAL);
		TH_CHECK(corio_read(fd, buf, 4096, 1) == -EINVAL);
		TH_CHECK(corio_read(fd, buf, 4095, 0) == -EINVAL);
		TH_CHECK(corio_write(fd, buf + 1, 4096, 0) == -EINVAL);
	}
	TH_CHECK(corio_close(fd) == 0);
	corio_aligned_free(buf);
	return TH_OK;
}

START_TEST(o_direct_aligned_and_misaligned)
{
	RUN_OK(t_direct, NULL);
}
END_TEST

/* ---- registered buffers and files ------------------------------------------------------ */

static void *t_fixed(void *arg)
{
	static char bufs[2][65536];
	struct iovec iov[2] = { { bufs[0], sizeof bufs[0] }, { bufs[1], sizeof bufs[1] } };
	int fd = corio_open(P("fx"), O_RDWR | O_CREAT | O_TRUNC, 0644), slot;

	TH_CHECK(fd >= 0);
	TH_CHECK(corio_fs_register_buffers(iov, 2) == 0);
	TH_CHECK(corio_fs_register_buffers(iov, 2) == -EBUSY);
	fill_rand(bufs[0], sizeof bufs[0], 5);
	TH_CHECK(corio_write_fixed(fd, bufs[0], sizeof bufs[0], 0, 0) == sizeof bufs[0]);
	TH_CHECK(corio_read_fixed(fd, bufs[1] + 100, 1000, 5, 1) == 1000);
	TH_CHECK(memcmp(bufs[1] + 100, bufs[0] + 5, 1000) == 0);
	/* outside the registered buffer */
	TH_CHECK(corio_read_fixed(fd, bufs[1], 1000, 0, 0) == -EFAULT);
	TH_CHECK(corio_read_fixed(fd, bufs[1], 1000, 0, 7) == -EFAULT ||
		 corio_read_fixed(fd, bufs[1], 1000, 0, 7) == -EINVAL);
	/* the descriptor registered too: slot 0 */
	TH_CHECK(corio_fs_register_files(&fd, 1) == 0);
	slot = CORIO_FIXED_FD(0);
	memset(bufs[1], 0, sizeof bufs[1]);
	TH_CHECK(corio_read_fixed(slot, bufs[1], 4096, 4096, 1) == 4096);
	TH_CHECK(memcmp(bufs[1], bufs[0] + 4096, 4096) == 0);
	TH_CHECK(corio_read(slot, bufs[1], 10, 0) == 10);
	TH_CHECK(corio_fsync(slot) == 0);
	TH_CHECK(corio_close(fd) == 0); /* the ring keeps its own reference */
	TH_CHECK(corio_read(slot, bufs[1], 10, 0) == 10);
	TH_CHECK(corio_close(slot) == 0);
	TH_CHECK(corio_read(slot, bufs[1], 10, 0) == -EBADF);
	TH_CHECK(corio_fs_unregister_files() == 0);
	TH_CHECK(corio_fs_unregister_buffers() == 0);
	return TH_OK;
}

START_TEST(registered_buffers_and_files)
{
	RUN_OK(t_fixed, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fs");

	fs_fixture(TH_TCASE(s, "hot_paths", TH_TIMEOUT, o_direct_aligned_and_misaligned, registered_buffers_and_files));
	return fs_main(s, "test_fs_direct");
}
