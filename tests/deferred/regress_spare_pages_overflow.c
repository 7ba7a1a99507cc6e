// SPDX-License-Identifier: MIT
/*
 * Regression (issue 12): spare_pages near UINT_MAX overflowed an unsigned sum when the
 * buffer pages were sized, so enabling returned 0 and then the statistics lied or
 * every push fell back. Sizes past the documented limits are refused with -EINVAL,
 * and the pool stays usable and can be enabled with a sane configuration.
 */
#include <limits.h>

#include "regress_ops.h"

static const struct zs_deferred_ops ops = { .push = t_push_ul, .drain = t_drain_ul };

static void refused(struct zs_pool *pool, struct zs_deferred_config cfg, const char *what)
{
	struct zs_deferred_stats st;
	int r = zs_pool_enable_deferred_free_ex(pool, &ops, NULL, &cfg);

	CHECKF(r == -EINVAL, "%s: enable returned %d", what, r);
	zs_deferred_get_stats(pool, &st);
	CHECK(st.spare_pages == 0 && st.pushed == 0);
	CHECK(!zs_free_deferred(pool, 1));	/* not enabled: the caller frees */
}

int main(void)
{
	struct zs_pool *pool = zs_create_pool("spare");
	struct zs_deferred_config ok = { .spare_pages = 100, .spare_pages_max = 200 };
	struct zs_deferred_stats st;

	CHECK(pool);
	refused(pool, (struct zs_deferred_config){ .spare_pages = UINT_MAX - 3 }, "spare_pages");
	refused(pool, (struct zs_deferred_config){ .spare_pages = UINT_MAX }, "spare_pages max");
	refused(pool, (struct zs_deferred_config){ .spare_pages_max = UINT_MAX - 1 },
		"spare_pages_max");
	refused(pool, (struct zs_deferred_config){ .spare_pages = (1u << 20) + 1 },
		"spare_pages past the limit");
	refused(pool, (struct zs_deferred_config){ .mode = ZS_DEFER_V2_ARRAY,
						   .array_entries = UINT_MAX },
		"array_entries");

	CHECK(zs_pool_enable_deferred_free_ex(pool, &ops, NULL, &ok) == 0);
	for (unsigned long v = 1; v <= 5000; v++)
		CHECK(t_push(pool, v));
	zs_deferred_flush(pool);
	t_check_balanced("after a sane enable");
	zs_deferred_get_stats(pool, &st);
	CHECK(st.spare_pages == 100 && st.pushed == 5000 && st.fallbacks == 0);
	zs_destroy_pool(pool);
	printf("regress_spare_pages_overflow: ok\n");
	return T_PASS;
}
