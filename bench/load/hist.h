/* bench/load/hist.h: corio-load's latency histogram, HDR-style: log-linear buckets with 7
 * bits of sub-bucket precision per power of two (128 buckets per octave), so any recorded
 * value is known to within 1/128 of itself (the reported value is the bucket's midpoint:
 * within 0.4%). Values are uint64_t (nanoseconds here), exact below 256. Count, sum, sum of
 * squares, min and max are kept exactly. One histogram per thread, merged at the end.
 *
 * Header-only (static inline) so that tests/bench/test_load.c can test it directly. No allocation
 * beyond hist_init's one calloc; never parks; not thread-safe (one writer).
 */
#ifndef CORIO_LOAD_HIST_H
#define CORIO_LOAD_HIST_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)                /* 128 sub-buckets per octave */
#define HIST_BUCKETS ((64 - HIST_SUB_BITS) * HIST_SUB + HIST_SUB) /* covers all of uint64_t */

typedef struct hist {
	uint64_t *counts; /* HIST_BUCKETS */
	uint64_t n, min, max;
	double sum, sumsq;
} hist;

static inline int hist_init(hist *h)
{
	memset(h, 0, sizeof *h);
	h->min = UINT64_MAX;
	h->counts = calloc(HIST_BUCKETS, sizeof *h->counts);
	return h->counts ? 0 : -1;
}

static inline void hist_free(hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

static inline void hist_reset(hist *h)
{
	memset(h->counts, 0, HIST_BUCKETS * sizeof *h->counts);
	h->n = h->max = 0;
	h->min = UINT64_MAX;
	h->sum = h->sumsq = 0;
}

/* Values below 2 * HIST_SUB have a bucket each; above, shift = msb - 7 and the bucket is
 * shift * 128 + (v >> shift), where v >> shift is in 128..255. */
static inline unsigned hist_index(uint64_t v)
{
	unsigned shift;

	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	shift = (unsigned)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
	return shift * HIST_SUB + (unsigned)(v >> shift);
}

static inline uint64_t hist_bucket_low(unsigned i)
{
	unsigned shift;

	if (i < 2 * HIST_SUB)
		return i;
	shift = i / HIST_SUB - 1;
	return (uint64_t)(i - shift * HIST_SUB) << shift;
}

static inline uint64_t hist_bucket_width(unsigned i)
{
	return i < 2 * HIST_SUB ? 1 : 1ull << (i / HIST_SUB - 1);
}

/* The value reported for bucket i: its midpoint. */
static inline uint64_t hist_bucket_mid(unsigned i)
{
	return hist_bucket_low(i) + (hist_bucket_width(i) - 1) / 2;
}

static inline void hist_record_n(hist *h, uint64_t v, uint64_t count)
{
	double d = (double)v;

	h->counts[hist_index(v)] += count;
	h->n += count;
	h->sum += d * (double)count;
	h->sumsq += d * d * (double)count;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

static inline void hist_record(hist *h, uint64_t v)
{
	hist_record_n(h, v, 1);
}

static inline void hist_merge(hist *dst, const hist *src)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->n += src->n;
	dst->sum += src->sum;
	dst->sumsq += src->sumsq;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

static inline double hist_mean(const hist *h)
{
	return h->n ? h->sum / (double)h->n : 0;
}

static inline double hist_stdev(const hist *h)
{
	double m, var;

	if (h->n < 2)
		return 0;
	m = hist_mean(h);
	var = (h->sumsq - (double)h->n * m * m) / (double)(h->n - 1);
	return var > 0 ? sqrt(var) : 0;
}

/* The value at percentile q (0..100): the smallest recorded value such that at least q% of
 * the values are <= it, to within the bucket precision (clamped to [min, max], so p0 is
 * the minimum and p100 the maximum exactly). 0 when empty. */
static inline uint64_t hist_percentile(const hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->n == 0)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 100)
		return h->max;
	rank = (uint64_t)ceil(q / 100.0 * (double)h->n);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = hist_bucket_mid(i);

			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* Share of the values within mean +- stdev, in percent (wrk's "+/- Stdev" column). */
static inline double hist_within_stdev(const hist *h)
{
	double m = hist_mean(h), s = hist_stdev(h);
	uint64_t in = 0;

	if (h->n == 0)
		return 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		double v;

		if (!h->counts[i])
			continue;
		v = (double)hist_bucket_mid(i);
		if (v >= m - s && v <= m + s)
			in += h->counts[i];
	}
	return 100.0 * (double)in / (double)h->n;
}

#endif
