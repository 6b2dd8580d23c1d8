/* corio/fs.h: files and directories on io_uring, the aiofiles part of corio.
 *
 * aiofiles runs every call on a thread pool; corio submits them to the kernel: open, read,
 * write, fsync, close, statx, unlink, rename, mkdir, symlink, link, splice, fallocate,
 * fadvise, sync_file_range and (kernel 6.9+) ftruncate are io_uring operations. Only what
 * io_uring cannot do goes through corio_blocking's thread pool: getdents64 for
 * corio_listdir (its open and close still go through the ring), and ftruncate(2) for
 * corio_ftruncate before Linux 6.9. The pipe corio_copy_fd splices through is made with
 * plain pipe2/fcntl, which never wait.
 *
 * Every function here parks the calling coroutine and must be called from inside a task
 * (-EPERM elsewhere), except those that say otherwise: corio_close outside a task,
 * corio_listdir_free, the reader/writer constructors, corio_file_reader_free, the *_tell
 * calls, corio_aligned_alloc/free and the register calls (which need only a loop). Errors are negative errno values, as the
 * kernel reported them (cqe->res passes through untouched), never stored in errno. Every
 * call honours cancellation (-ECANCELED) and timeout scopes (-ETIMEDOUT), except
 * corio_close, which always runs. Buffers and strings passed in stay in use until the call
 * returns, never longer: a cancelled call waits for the kernel to let go of them.
 *
 * Descriptors opened here carry O_CLOEXEC (as libuv and Python do). A descriptor made with
 * CORIO_FIXED_FD(i) names slot i of the files registered with corio_fs_register_files
 * (IOSQE_FIXED_FILE); the calls marked [fixed ok] accept one.
 */
#ifndef CORIO_FS_H
#define CORIO_FS_H

#include <fcntl.h>
#include <linux/openat2.h> /* struct open_how, RESOLVE_* */
#include <linux/stat.h>    /* struct statx, STATX_* (glibc's <sys/stat.h> uses the same) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <corio/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- descriptors -------------------------------------------------------------------- */

/* A registered-file slot used as a descriptor (see corio_fs_register_files). Real
 * descriptors never reach bit 30 (the kernel's nr_open limit is 2^20). */
#define CORIO_FD_FIXED_BIT 0x40000000
#define CORIO_FIXED_FD(index) ((int)(CORIO_FD_FIXED_BIT | (int)(index)))

/* openat(AT_FDCWD, ...). Returns the descriptor or -errno (-ENOENT, -EISDIR for a
 * directory opened for writing, ...). O_CLOEXEC is always added. */
CORIO_API int corio_open(const char *path, int flags, mode_t mode);
CORIO_API int corio_openat(int dirfd, const char *path, int flags, mode_t mode);
/* openat2 with struct open_how (RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS, ...; kernel 5.6).
 * how->flags gets O_CLOEXEC added. */
CORIO_API int corio_open2(int dirfd, const char *path, const struct open_how *how);
/* IORING_OP_CLOSE, for files and sockets alike (corio/net.h declares it too; a listener
 * stops accepting first). Runs even when the task is cancelled or its timeout expired, so a
 * descriptor is never leaked by cleanup code; outside a task it is a plain close(2).
 * 0 or -errno. [fixed ok: closes the slot; in a task only] */
CORIO_API int corio_close(int fd);

/* ---- reading and writing ------------------------------------------------------------ */

/* One read / write at offset, or at (and advancing) the file position when offset is -1.
 * Returns the bytes transferred: may be fewer than len (EOF, a pipe, a signal, a length
 * above 0x7ffff000 which is clamped as read(2) does); 0 at EOF. Other negative offsets:
 * -EINVAL.
 * O_DIRECT: buffer address, len and offset must be multiples of the file's direct-I/O
 * alignment (corio_direct_alignment); aligned requests go straight to the kernel, and a
 * misaligned one fails with -EINVAL from the kernel on filesystems that require alignment
 * (ext4, xfs, btrfs, block devices; tmpfs since 6.6 accepts any alignment; a read that
 * starts at or past EOF may return 0 before alignment is checked). Requests on a
 * descriptor opened with O_DIRECT through corio_open/openat/open2 go to the kernel one at
 * a time instead of in the loop's batch: a batch of more than two is block-plugged, which
 * on devices behind an I/O scheduler cost ~20% of the IOPS at QD32 (measured on virtio).
 * [fixed ok] */
CORIO_API ssize_t corio_read(int fd, void *buf, size_t len, off_t offset);
CORIO_API ssize_t corio_write(int fd, const void *buf, size_t len, off_t offset);
/* Vectored forms (IORING_OP_READV / WRITEV), same rules. [fixed ok] */
CORIO_API ssize_t corio_readv(int fd, const struct iovec *iov, int iovcnt, off_t offset);
CORIO_API ssize_t corio_writev(int fd, const struct iovec *iov, int iovcnt, off_t offset);
/* Loop over short transfers (and -EINTR) until len bytes moved. corio_read_full returns
 * len, or fewer only at EOF (a short count is not an error); corio_write_all returns len
 * or -errno (some bytes may have been written then; a write that moves 0 bytes gives -EIO).
 * With offset -1 both use and advance the file position. [fixed ok] */
CORIO_API ssize_t corio_read_full(int fd, void *buf, size_t len, off_t offset);
CORIO_API ssize_t corio_write_all(int fd, const void *buf, size_t len, off_t offset);

/* ---- sync and space ----------------------------------------------------------------- */

CORIO_API int corio_fsync(int fd);     /* [fixed ok] */
CORIO_API int corio_fdatasync(int fd); /* [fixed ok] */
/* sync_file_range(2); flags SYNC_FILE_RANGE_*. [fixed ok] */
CORIO_API int corio_sync_range(int fd, off_t offset, off_t len, unsigned flags);
/* fallocate(2): mode 0 or FALLOC_FL_* (from <linux/falloc.h>). [fixed ok] */
CORIO_API int corio_fallocate(int fd, int mode, off_t offset, off_t len);
/* posix_fadvise(2) advice POSIX_FADV_*; 0 or -errno (not a positive error). [fixed ok] */
CORIO_API int corio_fadvise(int fd, off_t offset, off_t len, int advice);
/* IORING_OP_FTRUNCATE on 6.9+ kernels (probed: corio_caps_has_op(caps, 55)), otherwise
 * ftruncate(2) on corio_blocking's thread pool. [fixed ok on 6.9+ only: -EBADF before] */
CORIO_API int corio_ftruncate(int fd, off_t length);

/* ---- paths and metadata ------------------------------------------------------------- */

/* statx(2). corio_stat follows symlinks (STATX_BASIC_STATS); corio_fstat describes an open
 * descriptor (not a fixed slot). */
CORIO_API int corio_statx(int dirfd, const char *path, int flags, unsigned mask,
			  struct statx *out);
CORIO_API int corio_stat(const char *path, struct statx *out);
CORIO_API int corio_fstat(int fd, struct statx *out);
/* unlinkat(2); flags 0 or AT_REMOVEDIR. corio_rmdir removes an empty directory. */
CORIO_API int corio_unlink(const char *path);
CORIO_API int corio_rmdir(const char *path);
CORIO_API int corio_unlinkat(int dirfd, const char *path, int flags);
/* renameat2(2); flags 0, RENAME_NOREPLACE, RENAME_EXCHANGE (from <linux/fs.h>). */
CORIO_API int corio_rename(const char *oldpath, const char *newpath);
CORIO_API int corio_renameat(int olddirfd, const char *oldpath, int newdirfd,
			     const char *newpath, unsigned flags);
CORIO_API int corio_mkdir(const char *path, mode_t mode);
CORIO_API int corio_mkdirat(int dirfd, const char *path, mode_t mode);
/* symlink: linkpath will point to target. */
CORIO_API int corio_symlink(const char *target, const char *linkpath);
CORIO_API int corio_symlinkat(const char *target, int newdirfd, const char *linkpath);
/* hard link; flags 0 or AT_SYMLINK_FOLLOW. */
CORIO_API int corio_link(const char *oldpath, const char *newpath);
CORIO_API int corio_linkat(int olddirfd, const char *oldpath, int newdirfd,
			   const char *newpath, int flags);

/* ---- whole files -------------------------------------------------------------------- */

/* Reads the whole file: size from statx, then reads until a read returns 0, so files that
 * grow meanwhile or report size 0 (/proc, /sys) come out whole. *data is malloc'ed and
 * NUL-terminated (free it; a zero-length file gives "" and *len 0); nothing is allocated
 * on failure. 0 or -errno: -ENOENT, -EISDIR, -ENOMEM, -EFBIG (does not fit in memory). */
CORIO_API int corio_read_file(const char *path, char **data, size_t *len);

/* corio_write_file flags. */
#define CORIO_WRITE_ATOMIC 0x1 /* replace all-or-nothing (see below) */
#define CORIO_WRITE_APPEND 0x2 /* append instead of truncating (not with ATOMIC) */
#define CORIO_WRITE_EXCL 0x4   /* fail with -EEXIST if path exists (not with ATOMIC) */
#define CORIO_WRITE_SYNC 0x8   /* fsync before returning (implied by ATOMIC) */

/* Writes data to path, creating it (mode 0666 & ~umask) or truncating it. 0 or -errno.
 * With CORIO_WRITE_ATOMIC: the data goes to a new temporary file in the same directory
 * (".NAME.XXXXXX", created with the old file's permission bits when it exists), is
 * written in full and fsync'ed, renamed over path, and the directory is fsync'ed. Readers
 * see the old contents or the new, never a mix. On any failure before the rename, even a
 * cancellation or a timeout, the temporary file is removed and the old file is intact; a
 * failure of the final directory fsync is returned although the new contents are in
 * place (they may not survive a crash). Owner and extended attributes are not carried
 * over, and a symlink at path is replaced by the new file, not followed. Bad flag
 * combinations: -EINVAL. */
CORIO_API int corio_write_file(const char *path, const void *data, size_t len, int flags);

/* corio_copy_file flags. */
#define CORIO_COPY_NOREPLACE 0x1 /* fail with -EEXIST if dst exists */

/* Copies the regular file src to dst (created with src's permission bits, or truncated)
 * with IORING_OP_SPLICE through a pipe, or reads and writes where splice is not supported.
 * Returns the bytes copied or -errno: -EISDIR, -EINVAL when src and dst are the same file.
 * On failure a dst this call created is removed; an existing dst is left truncated. */
CORIO_API ssize_t corio_copy_file(const char *src, const char *dst, int flags);
/* Copies up to len bytes (SIZE_MAX: to EOF) from in at in_off to out at out_off (-1: the
 * file positions). Returns the bytes copied (fewer at EOF) or -errno. */
CORIO_API ssize_t corio_copy_fd(int in, off_t in_off, int out, off_t out_off, size_t len);
/* One IORING_OP_SPLICE (see splice(2)); offsets -1 for pipes / file positions. */
CORIO_API ssize_t corio_splice(int fd_in, off_t off_in, int fd_out, off_t off_out,
			       size_t len, unsigned flags);

/* ---- directories -------------------------------------------------------------------- */

typedef struct corio_dirent {
	const char *name;   /* NUL-terminated, inside the same allocation */
	uint64_t ino;
	unsigned char type; /* DT_REG, DT_DIR, DT_LNK, ... or DT_UNKNOWN (filesystem says not) */
} corio_dirent;

/* Lists path without "." and "..", in the order the filesystem returns them (like
 * os.listdir). The directory is opened and closed through the ring; getdents64 runs on
 * corio_blocking's thread pool. *entries is one allocation: free it with
 * corio_listdir_free (n 0 gives NULL). 0 or -errno (-ENOTDIR, -ENOENT, -ENOMEM). */
CORIO_API int corio_listdir(const char *path, corio_dirent **entries, size_t *n);
CORIO_API void corio_listdir_free(corio_dirent *entries);

/* ---- buffered reader (aiofiles' readline, async for line in f, read(n)) -------------- */

typedef struct corio_file_reader corio_file_reader;

/* A reader over fd (not owned: close it yourself after corio_file_reader_free), starting
 * at offset (-1: the file position, which works for pipes too). bufsize 0: 64 KiB. NULL on
 * ENOMEM. Does not park. */
CORIO_API corio_file_reader *corio_file_reader_new(int fd, off_t offset, size_t bufsize);
CORIO_API void corio_file_reader_free(corio_file_reader *r);
/* Reads one line: *line points to it inside the reader (NUL-terminated, ending with '\n'
 * unless it is the file's last line), valid until the next call on r. Returns its length,
 * 0 at EOF, or -errno. Lines of any length are read (the buffer grows); max (0: no limit)
 * caps the length counted with the '\n': a longer line fails with -EMSGSIZE, having read
 * at most max bytes of it and consumed nothing, so the reader stays usable (read the line
 * in pieces with corio_file_reader_read, or skip it with corio_file_reader_skip_line). */
CORIO_API ssize_t corio_file_reader_readline(corio_file_reader *r, char **line, size_t max);
/* The same with another delimiter byte. */
CORIO_API ssize_t corio_file_reader_readuntil(corio_file_reader *r, int delim, char **out,
					      size_t max);
/* Consumes everything up to and including the next '\n'; returns the bytes skipped. */
CORIO_API ssize_t corio_file_reader_skip_line(corio_file_reader *r);
/* Reads up to len bytes (fewer when that is what one read gave); 0 at EOF. Large reads
 * with an empty buffer go straight into buf. EOF is not sticky, for this call and the line
 * calls alike: once a file has grown, the next call reads the new data (tail -f). */
CORIO_API ssize_t corio_file_reader_read(corio_file_reader *r, void *buf, size_t len);
/* Bytes consumed through the reader so far. */
CORIO_API uint64_t corio_file_reader_tell(const corio_file_reader *r);

/* ---- buffered writer ---------------------------------------------------------------- */

typedef struct corio_file_writer corio_file_writer;

/* A writer over fd (not owned) at offset (-1: the file position; use -1 with O_APPEND).
 * bufsize 0: 64 KiB. NULL on ENOMEM. Does not park. */
CORIO_API corio_file_writer *corio_file_writer_new(int fd, off_t offset, size_t bufsize);
/* Buffers data, writing out full buffers; a write at least as large as the buffer goes
 * straight to the file. Returns len or -errno. When writing the buffer out fails, the bytes
 * not yet written stay buffered and the next flush retries them; a direct write that fails
 * part way returns the error, the writer's offset having advanced past what was written. */
CORIO_API ssize_t corio_file_writer_write(corio_file_writer *w, const void *data, size_t len);
CORIO_API ssize_t corio_file_writer_printf(corio_file_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes out what is buffered. 0 or -errno. */
CORIO_API int corio_file_writer_flush(corio_file_writer *w);
/* Flushes, frees w (always) and returns the flush result. */
CORIO_API int corio_file_writer_free(corio_file_writer *w);
/* Bytes accepted so far (written or buffered). */
CORIO_API uint64_t corio_file_writer_tell(const corio_file_writer *w);

/* ---- O_DIRECT ----------------------------------------------------------------------- */

/* Memory aligned to align (0: 4096; a power of two), size rounded up to a multiple of it.
 * NULL on ENOMEM or a bad align. Free with corio_aligned_free. Do not park. */
CORIO_API void *corio_aligned_alloc(size_t align, size_t size);
CORIO_API void corio_aligned_free(void *p);
/* The direct-I/O alignment of fd: buffer address (*mem) and offset/length (*offset), from
 * statx STATX_DIOALIGN (6.1+; 4096 for both where the kernel does not say). -EINVAL when
 * the file does not support O_DIRECT. Parks (statx). */
CORIO_API int corio_direct_alignment(int fd, unsigned *mem, unsigned *offset);

/* ---- registered buffers and files (opt-in for hot paths) ----------------------------- */

/* Registers buffers with this thread's ring (io_uring_register_buffers): the kernel pins
 * them once instead of at every request. One set per loop; -EBUSY when one is registered.
 * Unregistered when the loop ends. Do not park; call them from a task. */
CORIO_API int corio_fs_register_buffers(const struct iovec *iov, unsigned n);
CORIO_API int corio_fs_unregister_buffers(void);
/* IORING_OP_READ_FIXED / WRITE_FIXED: [buf, buf+len) must lie inside registered buffer
 * buf_index. Same results as corio_read / corio_write. [fixed ok] */
CORIO_API ssize_t corio_read_fixed(int fd, void *buf, size_t len, off_t offset,
				   unsigned buf_index);
CORIO_API ssize_t corio_write_fixed(int fd, const void *buf, size_t len, off_t offset,
				    unsigned buf_index);
/* Registers descriptors with this thread's ring; use CORIO_FIXED_FD(i) for fds[i] (-1
 * leaves a slot empty). The ring keeps its own reference: closing fds[i] afterwards does not
 * close slot i. corio_fs_update_files replaces slots [off, off+n). */
CORIO_API int corio_fs_register_files(const int *fds, unsigned n);
CORIO_API int corio_fs_update_files(unsigned off, const int *fds, unsigned n);
CORIO_API int corio_fs_unregister_files(void);

#ifdef __cplusplus
}
#endif

#endif
