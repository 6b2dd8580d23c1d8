/* bench/b_file.c: corio-bench `file`: file reads through corio's fs/ calls beside fio, a
 * plain pread loop and Python aiofiles, all in the same run on the same file.
 *
 * The file: 256 MiB (64 MiB with --quick) of incompressible data in $CORIO_BENCH_DIR
 * (default /var/tmp, a disk-backed directory), written once and removed at the end.
 *
 * Random reads, 4 KiB at uniformly random aligned offsets, 32 in flight, IOPS:
 *   (a) page cache: the file is read once beforehand so every read hits the cache;
 *   (b) O_DIRECT: aligned buffers, straight to the device.
 *   corio            32 tasks, each a loop of corio_read (one task per read in flight)
 *   corio fixed      the same with the buffers and the file registered with the ring
 *                    (corio_read_fixed on CORIO_FIXED_FD(0))
 *   fio io_uring     --iodepth=32 (cached: --invalidate=0, fio drops the cache otherwise)
 *   aiofiles         32 asyncio tasks, each with its own aiofiles.open(..., buffering=0)
 *                    object doing `await f.seek(off); await f.readinto(buf)`, the aiofiles
 *                    way to read at an offset (/usr/bin/python3; skipped, never faked,
 *                    when python3-aiofiles is missing)
 *   and in a second row beside the same corio samples: fio psync and a plain pread loop
 *   (synchronous, one read at a time), and "aiofiles os.preadv", aiofiles' fastest form
 *   (aiofiles.os.wrap(os.preadv): one executor hop per read instead of two).
 * Sequential read of the file in 128 KiB blocks, MiB/s: corio (4 tasks taking the next
 * block), fio io_uring --iodepth=4, fio psync, pread loop; cached and O_DIRECT.
 * Every measurement is time based (1 s, 0.5 s with --quick) after a 0.2 s warm-up; the
 * order of the contenders rotates from run to run.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corio/corio.h>

#include "bench/bench.h"

#define QD 32
#define BS 4096u
#define SEQ_QD 4
#define SEQ_BS (128u * 1024)
#define WARM_NS 200000000ull

typedef struct fb_file {
	char path[512];
	uint64_t size;
	bool direct_ok;
	double secs;
	const char *fio;       /* path of fio, NULL when not installed */
} fb_file;

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* ---- corio ---------------------------------------------------------------------------- */

typedef struct cr_run {
	int fd;            /* a real fd, or CORIO_FIXED_FD(0) */
	bool fixed;        /* corio_read_fixed from registered buffer 0 */
	bool seq;
	size_t bs;
	uint64_t size;
	char *bufs;        /* QD * bs, aligned */
	uint64_t deadline;
	uint64_t next;     /* sequential: next offset to hand out */
	uint64_t ops;
	int err;
} cr_run;

typedef struct cr_task {
	cr_run *run;
	unsigned idx;
} cr_task;

static ssize_t cr_read(cr_run *r, char *buf, uint64_t off)
{
	if (r->fixed)
		return corio_read_fixed(r->fd, buf, r->bs, (off_t)off, 0);
	return corio_read(r->fd, buf, r->bs, (off_t)off);
}

static void *cr_worker(void *arg)
{
	cr_task *t = arg;
	cr_run *r = t->run;
	char *buf = r->bufs + (size_t)t->idx * r->bs;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (t->idx + 1), blocks = r->size / r->bs, n = 0;

	while (r->err == 0) {
		uint64_t off;
		ssize_t got;

		if ((n & 15) == 0 && corio_now() >= r->deadline)
			break;
		if (r->seq) {
			off = r->next;
			r->next = off + r->bs >= r->size ? 0 : off + r->bs; /* wraps: passes */
		} else {
			off = (xorshift(&seed) % blocks) * r->bs;
		}
		got = cr_read(r, buf, off);
		if (got != (ssize_t)r->bs) {
			r->err = got < 0 ? (int)got : -EIO;
			break;
		}
		n++;
	}
	r->ops += n;
	return NULL;
}

static int cr_round(cr_run *r, unsigned qd, uint64_t ns)
{
	cr_task args[QD];
	corio_task *tasks[QD];
	unsigned n = 0;

	r->deadline = corio_now() + ns;
	r->ops = 0;
	for (; n < qd; n++) {
		args[n] = (cr_task){ .run = r, .idx = n };
		if (!(tasks[n] = corio_spawn(cr_worker, &args[n])))
			break;
	}
	corio_gather(tasks, n, NULL);
	return n < qd ? -ENOMEM : r->err;
}

typedef struct cr_job {
	const fb_file *f;
	bool direct, fixed, seq;
	double rate;       /* IOPS (random) or MiB/s (sequential) */
	int err;
} cr_job;

static int cr_register(cr_run *r, unsigned qd)
{
	struct iovec iov = { r->bufs, (size_t)qd * r->bs };
	int rc = corio_fs_register_buffers(&iov, 1);

	if (rc == 0 && (rc = corio_fs_register_files(&r->fd, 1)) == 0) {
		corio_close(r->fd); /* the ring holds its own reference */
		r->fd = CORIO_FIXED_FD(0);
	}
	return rc;
}

static void *cr_main(void *arg)
{
	cr_job *j = arg;
	unsigned qd = j->seq ? SEQ_QD : QD;
	cr_run r = { .bs = j->seq ? SEQ_BS : BS, .size = j->f->size, .seq = j->seq };
	uint64_t t0, t1;

	r.bufs = corio_aligned_alloc(4096, (size_t)qd * r.bs);
	r.fd = corio_open(j->f->path, O_RDONLY | (j->direct ? O_DIRECT : 0), 0);
	j->err = !r.bufs ? -ENOMEM : r.fd < 0 ? r.fd : 0;
	if (j->err == 0 && j->fixed)
		j->err = cr_register(&r, qd);
	r.fixed = j->fixed;
	if (j->err == 0)
		j->err = cr_round(&r, qd, WARM_NS);
	t0 = bench_now();
	if (j->err == 0)
		j->err = cr_round(&r, qd, (uint64_t)(j->f->secs * 1e9));
	t1 = bench_now();
	if (j->seq)
		j->rate = (double)r.ops * (double)r.bs / 1048576.0 / ((double)(t1 - t0) / 1e9);
	else
		j->rate = (double)r.ops / ((double)(t1 - t0) / 1e9);
	if (r.fd >= 0)
		corio_close(r.fd);
	corio_aligned_free(r.bufs);
	return NULL;
}

static double measure_corio(const fb_file *f, bool direct, bool fixed, bool seq)
{
	cr_job j = { .f = f, .direct = direct, .fixed = fixed, .seq = seq };
	int rc = corio_run(cr_main, &j, NULL);

	if (rc != 0 || j.err != 0) {
		bench_log("file: corio%s: %s\n", fixed ? " fixed" : "", strerror(-(rc ? rc : j.err)));
		return -1;
	}
	return j.rate;
}

/* ---- plain pread loop ------------------------------------------------------------------ */

/* A pread loop for ns nanoseconds: its rate (IOPS or MiB/s), or -1. */
static double pread_loop(int fd, char *buf, size_t bs, uint64_t size, bool seq, uint64_t ns)
{
	uint64_t seed = 12345, blocks = size / bs, off = 0, ops = 0, t0 = bench_now();
	uint64_t end = t0 + ns, t1;

	while ((ops & 15) != 0 || (t1 = bench_now()) < end) {
		if (seq)
			off = off + bs >= size ? 0 : off + bs;
		else
			off = (xorshift(&seed) % blocks) * bs;
		if (pread(fd, buf, bs, (off_t)off) != (ssize_t)bs) {
			bench_log("file: pread: short read or %s\n", strerror(errno));
			return -1;
		}
		ops++;
	}
	return seq ? (double)ops * (double)bs / 1048576.0 / ((double)(t1 - t0) / 1e9)
		   : (double)ops / ((double)(t1 - t0) / 1e9);
}

static double measure_pread(const fb_file *f, bool direct, bool seq)
{
	size_t bs = seq ? SEQ_BS : BS;
	char *buf = corio_aligned_alloc(4096, bs);
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
	double v = -1;

	if (fd < 0 || !buf)
		bench_log("file: pread: %s\n", strerror(fd < 0 ? errno : ENOMEM));
	else if (pread_loop(fd, buf, bs, f->size, seq, WARM_NS) >= 0)
		v = pread_loop(fd, buf, bs, f->size, seq, (uint64_t)(f->secs * 1e9));
	if (fd >= 0)
		close(fd);
	corio_aligned_free(buf);
	return v;
}

/* ---- fio ------------------------------------------------------------------------------- */

static const char *find_fio(void)
{
	static char path[512];
	const char *env = getenv("PATH");
	char *copy, *dir, *save = NULL;

	copy = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof path, "%s/fio", dir);
		if (access(path, X_OK) == 0) {
			free(copy);
			return path;
		}
	}
	free(copy);
	return NULL;
}

/* Field n (1-based) of fio's terse v3 line: 7 read KiB/s, 8 read IOPS. */
static double terse_field(const char *line, int n)
{
	for (int i = 1; i < n && line; i++)
		if ((line = strchr(line, ';')))
			line++;
	return line ? strtod(line, NULL) : -1;
}

static double measure_fio(const fb_file *f, const char *engine, bool direct, bool seq)
{
	char a_engine[64], a_file[600], a_size[64], a_runtime[64], a_depth[32], out[4096];
	unsigned depth = strcmp(engine, "psync") == 0 ? 1 : seq ? SEQ_QD : QD;
	char *argv[] = { (char *)f->fio, "--name=corio-bench-file", a_file, a_engine, a_size,
			 seq ? "--rw=read" : "--rw=randread", seq ? "--bs=128k" : "--bs=4k",
			 a_depth, direct ? "--direct=1" : "--direct=0", "--invalidate=0",
			 "--norandommap", "--randrepeat=0", "--time_based", a_runtime,
			 "--ramp_time=200ms", "--output-format=terse", "--terse-version=3", NULL };
	int rc;
	double v;

	snprintf(a_engine, sizeof a_engine, "--ioengine=%s", engine);
	snprintf(a_file, sizeof a_file, "--filename=%s", f->path);
	snprintf(a_size, sizeof a_size, "--size=%llu", (unsigned long long)f->size);
	snprintf(a_depth, sizeof a_depth, "--iodepth=%u", depth);
	snprintf(a_runtime, sizeof a_runtime, "--runtime=%llums",
		 (unsigned long long)(f->secs * 1000));
	rc = bench_run_child(argv, out, sizeof out, NULL);
	if (rc != 0) {
		bench_log("file: fio %s exited with %d\n", engine, rc);
		return -1;
	}
	v = terse_field(out, seq ? 7 : 8);
	if (v <= 0) {
		bench_log("file: cannot read fio's output: %.200s\n", out);
		return -1;
	}
	return seq ? v / 1024.0 : v;
}

/* ---- Python aiofiles ------------------------------------------------------------------- */

/* argv: PATH DIRECT(0|1) TASKS SECS MODE. MODE "file" is the aiofiles idiom: each task has
 * its own aiofiles.open(..., buffering=0) object and does seek then readinto (two executor
 * hops per read); "pread" awaits aiofiles.os.wrap(os.preadv) (one hop). Both read into
 * page-aligned mmap buffers, so O_DIRECT works. Prints iops=N, or skip=REASON. */
static const char aiofiles_peer[] =
	"import asyncio, mmap, os, random, sys, time\n"
	"try:\n"
	"    import aiofiles, aiofiles.os\n"
	"except ImportError:\n"
	"    print('skip=python3-aiofiles not installed')\n"
	"    sys.exit(0)\n"
	"BS = 4096\n"
	"async def one(read, blocks, deadline, i, counts):\n"
	"    buf = mmap.mmap(-1, BS)\n"
	"    rnd = random.Random(i)\n"
	"    n = 0\n"
	"    while time.perf_counter() < deadline:\n"
	"        if await read(buf, rnd.randrange(blocks) * BS) != BS:\n"
	"            raise OSError('short read')\n"
	"        n += 1\n"
	"    counts[i] = n\n"
	"def file_reader(f):\n"
	"    async def read(buf, off):\n"
	"        await f.seek(off)\n"
	"        return await f.readinto(buf)\n"
	"    return read\n"
	"def pread_reader(fd):\n"
	"    preadv = aiofiles.os.wrap(os.preadv)\n"
	"    async def read(buf, off):\n"
	"        return await preadv(fd, [buf], off)\n"
	"    return read\n"
	"async def main(path, direct, tasks, secs, mode):\n"
	"    flags = os.O_RDONLY | (os.O_DIRECT if direct else 0)\n"
	"    fd = os.open(path, flags)\n"
	"    blocks = os.fstat(fd).st_size // BS\n"
	"    files = []\n"
	"    if mode == 'file':\n"
	"        for _ in range(tasks):\n"
	"            files.append(await aiofiles.open(path, 'rb', buffering=0,\n"
	"                                             opener=lambda p, fl: os.open(p, flags)))\n"
	"        readers = [file_reader(f) for f in files]\n"
	"    else:\n"
	"        readers = [pread_reader(fd)] * tasks\n"
	"    counts = [0] * tasks\n"
	"    for span in (0.2, secs):  # warm-up, then the timed round\n"
	"        t0 = time.perf_counter()\n"
	"        await asyncio.gather(*(one(readers[i], blocks, t0 + span, i, counts)\n"
	"                               for i in range(tasks)))\n"
	"        elapsed = time.perf_counter() - t0\n"
	"    for f in files:\n"
	"        await f.close()\n"
	"    os.close(fd)\n"
	"    return sum(counts) / elapsed\n"
	"a = sys.argv\n"
	"print(f'iops={asyncio.run(main(a[1], a[2] == \"1\", int(a[3]), float(a[4]), a[5])):.1f}')\n";

/* IOPS, or -1 (failed), or -2 with *skip set (not installed). */
static double measure_aiofiles(const fb_file *f, bool direct, const char *mode,
			       const char **skip)
{
	const char *py = bench_python();
	char secs[32], tasks[16], out[256];
	char *argv[] = { (char *)py, "-c", (char *)aiofiles_peer, (char *)f->path,
			 direct ? "1" : "0", tasks, secs, (char *)mode, NULL };
	int rc;

	if (!py) {
		*skip = "/usr/bin/python3 not installed";
		return -2;
	}
	snprintf(secs, sizeof secs, "%.3f", f->secs);
	snprintf(tasks, sizeof tasks, "%u", QD);
	rc = bench_run_child(argv, out, sizeof out, NULL);
	if (rc == 0 && strncmp(out, "skip=", 5) == 0) {
		*skip = "python3-aiofiles not installed";
		return -2;
	}
	if (rc != 0 || strncmp(out, "iops=", 5) != 0) {
		bench_log("file: aiofiles peer exited with %d: %.200s\n", rc, out);
		return -1;
	}
	return strtod(out + 5, NULL);
}

/* ---- the file -------------------------------------------------------------------------- */

static int make_file(fb_file *f, bool quick)
{
	const char *d = getenv("CORIO_BENCH_DIR");
	size_t chunk = 1u << 20;
	char *buf = malloc(chunk);
	uint64_t seed = 0x5eed;
	int fd;

	snprintf(f->path, sizeof f->path, "%s/corio-bench-file-XXXXXX", d && *d ? d : "/var/tmp");
	f->size = quick ? 64ull << 20 : 256ull << 20;
	if (!buf || (fd = mkstemp(f->path)) < 0) {
		bench_log("file: cannot create %s: %s\n", f->path, strerror(buf ? errno : ENOMEM));
		free(buf);
		return -1;
	}
	bench_cleanup_path(f->path); /* removed by the runner if the run is interrupted */
	for (uint64_t off = 0; off < f->size; off += chunk) {
		for (size_t i = 0; i < chunk; i += 8)
			*(uint64_t *)(buf + i) = xorshift(&seed);
		if (pwrite(fd, buf, chunk, (off_t)off) != (ssize_t)chunk) {
			bench_log("file: writing %s: %s\n", f->path, strerror(errno));
			close(fd);
			unlink(f->path);
			bench_cleanup_forget(f->path);
			free(buf);
			return -1;
		}
	}
	fsync(fd);
	close(fd);
	free(buf);
	fd = open(f->path, O_RDONLY | O_DIRECT);
	f->direct_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Reads the whole file through the page cache so that the cached runs never miss. */
static void warm_cache(const fb_file *f)
{
	char *buf = malloc(1u << 20);
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	for (uint64_t off = 0; fd >= 0 && buf && off < f->size; off += 1u << 20)
		if (pread(fd, buf, 1u << 20, (off_t)off) <= 0)
			break;
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* ---- the benchmark --------------------------------------------------------------------- */

enum { P_CORIO, P_FIXED, P_URING, P_AIOFILES, P_PSYNC, P_PREAD, P_AIOPREAD, P_N };

static const char *const peer_names[P_N] = { "corio",	  "corio fixed", "fio io_uring",
					     "aiofiles",  "fio psync",	 "pread loop",
					     "aiofiles os.preadv" };

/* One sample of contender p (rate, -1 failed, -2 skipped with *skip). */
static double sample(const fb_file *f, int p, bool direct, bool seq, const char **skip)
{
	if ((p == P_URING || p == P_PSYNC) && !f->fio) {
		*skip = "fio not installed";
		return -2;
	}
	switch (p) {
	case P_CORIO:
		return measure_corio(f, direct, false, seq);
	case P_FIXED:
		return measure_corio(f, direct, true, seq);
	case P_URING:
		return measure_fio(f, "io_uring", direct, seq);
	case P_PSYNC:
		return measure_fio(f, "psync", direct, seq);
	case P_PREAD:
		return measure_pread(f, direct, seq);
	case P_AIOFILES:
		return measure_aiofiles(f, direct, "file", skip);
	default:
		return measure_aiofiles(f, direct, "pread", skip);
	}
}

/* Runs every contender o->runs times in rotating order; v[p][i], NAN-free: -1/-2 marks. */
static int collect(const fb_file *f, const bench_opts *o, bool direct, bool seq,
		   const int *ps, int np, double v[][BENCH_MAX_RUNS], const char **skip)
{
	const char *mode = direct ? "O_DIRECT" : "cached";

	for (int i = 0; i < o->runs; i++) {
		if (!direct)
			warm_cache(f);
		for (int k = 0; k < np; k++) {
			int p = ps[(k + i) % np];

			v[p][i] = skip[p] ? -2 : sample(f, p, direct, seq, &skip[p]);
			if (v[p][i] == -1)
				return -1;
		}
		bench_log("  %s %s run %d:", seq ? "seq" : "rand", mode, i + 1);
		for (int k = 0; k < np; k++)
			if (v[ps[k]][i] >= 0)
				bench_log(" %s %.0f", peer_names[ps[k]], v[ps[k]][i]);
		bench_log(seq ? " MiB/s\n" : " IOPS\n");
	}
	return 0;
}

static void add_peer(bench_result *r, int p, const double v[][BENCH_MAX_RUNS],
		     const char **skip, int runs)
{
	int k = bench_result_peer_skipped(r, peer_names[p], skip[p]);

	if (skip[p])
		return;
	for (int i = 0; i < runs; i++)
		bench_result_add(r, k, v[p][i]);
}

static void report_random(const fb_file *f, const bench_opts *o, bool direct,
			  const double v[][BENCH_MAX_RUNS], const char **skip)
{
	const char *mode = direct ? "O_DIRECT" : "page cache";
	double want = direct ? 0.95 : 0.85, ru, ra;
	bench_result a, b;

	bench_result_init(&a, "file", "IOPS", true, "4KiB randread QD%d %lluMiB %s", QD,
			  (unsigned long long)(f->size >> 20), mode);
	add_peer(&a, P_CORIO, v, skip, o->runs);
	add_peer(&a, P_FIXED, v, skip, o->runs);
	add_peer(&a, P_URING, v, skip, o->runs);
	add_peer(&a, P_AIOFILES, v, skip, o->runs);
	ru = bench_result_ratio(&a, 2);
	ra = bench_result_ratio(&a, 3);
	/* The 30x over aiofiles is a page-cache target: with O_DIRECT the device bounds both. */
	if (direct)
		snprintf(a.note, sizeof a.note, "[target >=%.2fx fio io_uring: %s]", want,
			 ru == 0 ? "n/a" : ru >= want ? "met" : "MISSED");
	else
		snprintf(a.note, sizeof a.note,
			 "[target >=%.2fx fio io_uring: %s; >=30x aiofiles: %s]", want,
			 ru == 0 ? "n/a" : ru >= want ? "met" : "MISSED",
			 ra == 0 ? "n/a" : ra >= 30 ? "met" : "MISSED");
	bench_result_report(&a, o);
	/* The synchronous baselines (one read at a time) and aiofiles' fastest form, beside the
	 * same corio samples. */
	bench_result_init(&b, "file", "IOPS", true, "4KiB randread %lluMiB %s, more peers",
			  (unsigned long long)(f->size >> 20), mode);
	add_peer(&b, P_CORIO, v, skip, o->runs);
	add_peer(&b, P_PSYNC, v, skip, o->runs);
	add_peer(&b, P_PREAD, v, skip, o->runs);
	add_peer(&b, P_AIOPREAD, v, skip, o->runs);
	bench_result_report(&b, o);
}

static void report_seq(const fb_file *f, const bench_opts *o, bool direct,
		       const double v[][BENCH_MAX_RUNS], const char **skip)
{
	bench_result r;

	bench_result_init(&r, "file", "MiB/s", true, "128KiB seqread QD%d %lluMiB %s", SEQ_QD,
			  (unsigned long long)(f->size >> 20), direct ? "O_DIRECT" : "page cache");
	add_peer(&r, P_CORIO, v, skip, o->runs);
	add_peer(&r, P_URING, v, skip, o->runs);
	add_peer(&r, P_PSYNC, v, skip, o->runs);
	add_peer(&r, P_PREAD, v, skip, o->runs);
	bench_result_report(&r, o);
}

static int one_mode(const fb_file *f, const bench_opts *o, bool direct)
{
	static const int rand_ps[] = { P_CORIO, P_FIXED,  P_URING,   P_AIOFILES,
				       P_PSYNC, P_PREAD, P_AIOPREAD };
	static const int seq_ps[] = { P_CORIO, P_URING, P_PSYNC, P_PREAD };
	static double v[P_N][BENCH_MAX_RUNS];
	const char *skip[P_N] = { 0 };

	if (collect(f, o, direct, false, rand_ps, P_N, v, skip) != 0)
		return -1;
	report_random(f, o, direct, v, skip);
	memset(skip, 0, sizeof skip);
	if (collect(f, o, direct, true, seq_ps, 4, v, skip) != 0)
		return -1;
	report_seq(f, o, direct, v, skip);
	return 0;
}

static int run(const bench_opts *o)
{
	fb_file f = { .secs = o->secs > 0 ? o->secs : o->quick ? 0.5 : 1.0 };
	int rc = 0;

	f.fio = find_fio();
	if (make_file(&f, o->quick) != 0)
		return 1;
	bench_log("  file %s, %llu MiB%s\n", f.path, (unsigned long long)(f.size >> 20),
		  f.direct_ok ? "" : " (no O_DIRECT on this filesystem)");
	/* Cached first: fio's O_DIRECT runs could otherwise leave the cache cold. */
	if (one_mode(&f, o, false) != 0)
		rc = 1;
	if (rc == 0 && f.direct_ok && one_mode(&f, o, true) != 0)
		rc = 1;
	if (!f.direct_ok)
		bench_log("  file: O_DIRECT rows skipped: the filesystem of %s refuses O_DIRECT\n",
			  f.path);
	unlink(f.path);
	bench_cleanup_forget(f.path);
	return rc;
}

const bench_def bench_file = {
	.name = "file",
	.desc = "4 KiB random reads QD32 (page cache, O_DIRECT) and 128 KiB sequential reads "
		"vs fio, pread, aiofiles",
	.run = run,
};
