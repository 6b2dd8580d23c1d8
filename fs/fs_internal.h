/* fs/fs_internal.h: what the fs/ files share and nothing else: turning a corio descriptor
 * (a real fd or a CORIO_FIXED_FD slot) into SQE fields, the read/write length clamp, the
 * O_DIRECT marks, the cleanup form of unlink that runs even in a cancelled task, and the
 * internal entry points the tests reach directly. */
#ifndef CORIO_FS_INTERNAL_H
#define CORIO_FS_INTERNAL_H

#include <corio/fs.h>

#include "runtime/core/op.h"

/* read(2)/write(2) never move more than this in one call (MAX_RW_COUNT, INT_MAX rounded
 * down to a page); an SQE's len is 32 bits. Longer requests are clamped: a short count. */
#define CORIO__FS_MAX_RW 0x7ffff000u

/* IORING_OP_FTRUNCATE arrived in 6.9; liburing 2.3's enum stops at SENDMSG_ZC (48). */
#ifndef CORIO__IORING_OP_FTRUNCATE
#define CORIO__IORING_OP_FTRUNCATE 55u
#endif

static inline bool corio__fs_is_fixed(int fd)
{
	return fd >= 0 && (fd & CORIO_FD_FIXED_BIT);
}

/* Points a prepared SQE at fd: a registered slot sets IOSQE_FIXED_FILE. */
static inline void corio__fs_set_fd(struct io_uring_sqe *sqe, int fd)
{
	if (corio__fs_is_fixed(fd)) {
		sqe->fd = fd & ~CORIO_FD_FIXED_BIT;
		sqe->flags |= IOSQE_FIXED_FILE;
	} else {
		sqe->fd = fd;
	}
}

static inline unsigned corio__fs_clamp(size_t len)
{
	return len > CORIO__FS_MAX_RW ? CORIO__FS_MAX_RW : (unsigned)len;
}

/* The ring's offset for a corio offset: -1 means the file position ((u64)-1 to io_uring,
 * IORING_FEAT_RW_CUR_POS, 5.6). Other negative offsets are refused by the callers. */
static inline uint64_t corio__fs_off(off_t off)
{
	return off < 0 ? (uint64_t)-1 : (uint64_t)off;
}

/* O_DIRECT requests are batched like every other: one io_uring_enter carries what the
 * turn queued. Unbatching them (one enter each, so that no block plug holds them back) was
 * measured once at ~20% more IOPS on a virtio-blk disk; A/B runs on this project's current
 * machines (4 KiB random reads, alternating rounds) found batching ahead at 32 in flight:
 * 1.19x on a quiet machine (medians of 6), 1.7x with the CPUs shared (a syscall per read
 * costs more than the plug); at 4 in flight unbatched was 1.08x ahead, within the spread,
 * and at 1 they are level. One behaviour for every descriptor, however it was opened. */

/* write_all that also says how many bytes went out before an error (*done). */
ssize_t corio__fs_write_all(int fd, const void *buf, size_t len, off_t off, size_t *done);
/* unlinkat that runs even in a cancelled task or an expired timeout scope (removing a
 * temporary file on the failure path). */
int corio__fs_unlink_cleanup(int dirfd, const char *path, int flags);
/* ftruncate through corio_blocking, whatever the kernel supports (tests reach it). */
int corio__fs_ftruncate_blocking(int fd, off_t length);
/* corio_copy_fd's fallback where splice is not supported: reads and writes of 1 MiB
 * (tests reach it directly). */
ssize_t corio__fs_copy_rw(int in, off_t in_off, int out, off_t out_off, size_t len);
/* fsync of the directory holding path (after a rename). */
int corio__fs_fsync_dir_of(const char *path);

#endif
