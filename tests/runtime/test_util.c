/* tests/runtime/test_util.c: the small containers of runtime/util/ (list, deque, growable
 * buffer, string helpers) on their own, edge cases first: empty, one element, wrap-around,
 * growth across a wrapped ring, bounds. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "runtime/util/buf.h"
#include "runtime/util/deque.h"
#include "runtime/util/list.h"
#include "runtime/util/str.h"
#include "tests/support/helpers.h"

struct item {
	int v;
	corio__lnode link;
};

static int list_values(const corio__list *l, int *out, int max)
{
	int n = 0;

	for (corio__lnode *x = l->head; x && n < max; x = x->next)
		out[n++] = CORIO__CONTAINER_OF(x, struct item, link)->v;
	return n;
}

START_TEST(test_list)
{
	corio__list l = CORIO__LIST_INIT;
	struct item it[4] = { { .v = 0 }, { .v = 1 }, { .v = 2 }, { .v = 3 } };
	int got[8];

	ck_assert(corio__list_empty(&l));
	ck_assert(!corio__list_linked(&l, &it[0].link));
	corio__list_remove(&l, &it[0].link); /* on no list: harmless */
	ck_assert(corio__list_empty(&l));
	corio__list_push_back(&l, &it[1].link);
	ck_assert(corio__list_linked(&l, &it[1].link)); /* a sole element */
	corio__list_push_back(&l, &it[2].link);
	corio__list_push_front(&l, &it[0].link);
	corio__list_push_back(&l, &it[3].link);
	ck_assert_int_eq(list_values(&l, got, 8), 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(got[i], i);
	corio__list_remove(&l, &it[2].link); /* middle */
	corio__list_remove(&l, &it[2].link); /* twice: harmless */
	corio__list_remove(&l, &it[3].link); /* tail */
	ck_assert_ptr_eq(l.tail, &it[1].link);
	ck_assert_int_eq(list_values(&l, got, 8), 2);
	ck_assert_ptr_eq(corio__list_pop_front(&l), &it[0].link);
	ck_assert_ptr_eq(corio__list_pop_front(&l), &it[1].link);
	ck_assert_ptr_null(corio__list_pop_front(&l));
	ck_assert(corio__list_empty(&l));
	ck_assert_ptr_null(l.tail);
}
END_TEST

START_TEST(test_deque)
{
	corio__deque d;
	uint64_t v, next_in = 0, next_out = 0;

	corio__deque_init(&d, sizeof v);
	ck_assert_int_eq(corio__deque_pop(&d, &v), -ENOENT);
	/* Interleave pushes and pops so that the ring wraps, then grows while wrapped. */
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 3; i++, next_in++)
			ck_assert_int_eq(corio__deque_push(&d, &next_in), 0);
		ck_assert_int_eq(corio__deque_pop(&d, &v), 0);
		ck_assert_uint_eq(v, next_out++);
		ck_assert_uint_eq(*(uint64_t *)corio__deque_at(&d, 0), next_out);
		ck_assert_uint_eq(*(uint64_t *)corio__deque_at(&d, d.len - 1), next_in - 1);
	}
	while (corio__deque_pop(&d, &v) == 0)
		ck_assert_uint_eq(v, next_out++);
	ck_assert_uint_eq(next_out, next_in);
	ck_assert_uint_eq(d.len, 0);
	ck_assert_int_eq(corio__deque_pop(&d, NULL), -ENOENT);
	corio__deque_free(&d);
	ck_assert_ptr_null(d.buf);
	ck_assert_uint_eq(d.esize, sizeof v);
}
END_TEST

START_TEST(test_buf)
{
	corio__buf b = CORIO__BUF_INIT;
	char big[1000];

	ck_assert_int_eq(corio__buf_append(&b, "", 0), 0);
	ck_assert_uint_eq(b.len, 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(corio__buf_append(&b, "abc", 3), 0);
	ck_assert_uint_eq(b.len, 300);
	ck_assert(b.cap >= 300);
	ck_assert_int_eq(memcmp(b.p + 297, "abc", 3), 0);
	/* A bound: what fits is granted, one byte more is refused and the buffer kept. */
	memset(big, 'x', sizeof big);
	ck_assert_int_eq(corio__buf_reserve_max(&b, 700, 1000), 0);
	ck_assert_int_eq(corio__buf_reserve_max(&b, 701, 1000), -EMSGSIZE);
	ck_assert_uint_eq(b.len, 300);
	ck_assert_int_eq(corio__buf_reserve(&b, SIZE_MAX), -ENOMEM); /* overflow */
	ck_assert_uint_eq(b.len, 300);
	ck_assert_int_eq(memcmp(b.p, "abcabc", 6), 0);
	corio__buf_free(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len + b.cap, 0);
}
END_TEST

START_TEST(test_str)
{
	const char *h = "Transfer-Encoding";

	ck_assert_uint_eq(CORIO__SLEN("transfer-encoding"), 17);
	ck_assert_uint_eq(CORIO__SLEN(""), 0);
	ck_assert(CORIO__IEQ_LIT(h, strlen(h), "transfer-encoding"));
	ck_assert(!CORIO__IEQ_LIT(h, strlen(h) - 1, "transfer-encoding"));
	ck_assert(!CORIO__IEQ_LIT("content-length", 14, "content-lengtH!"));
	ck_assert(corio__ascii_ieq("\xc4\xb0", "\xc4\xb0", 2)); /* bytes >= 0x80 compare as-is */
	ck_assert(!corio__ascii_ieq("[", "{", 1));               /* '[' is not 'A'..'Z' */
	ck_assert_int_eq(corio__ascii_lower('Z'), 'z');
	ck_assert_int_eq(corio__ascii_lower('@'), '@');
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("util", TH_TIMEOUT, test_list, test_deque, test_buf, test_str));
}
