/* SPDX-License-Identifier: MIT */
/* Unknown names and out-of-range levels are refused with EINVAL. */
#include <errno.h>

#include "compress/zcomp.h"
#include "zsmem_test.h"

int main(void)
{
	struct zcomp *c;

	errno = 0;
	CHECK(zcomp_create("deflate", 0) == NULL && errno == EINVAL);
	CHECK(!zcomp_known("deflate") && zcomp_known("zstd") && !zcomp_known(NULL));
	errno = 0;
	CHECK(zcomp_create("zstd", 42) == NULL && errno == EINVAL);
	errno = 0;
	CHECK(zcomp_create("lz4", 3) == NULL && errno == EINVAL);
	c = zcomp_create(NULL, 0);	/* NULL means the default, lz4 */
	CHECK(c && zcomp_name(c)[0] == 'l');
	zcomp_destroy(c);
	c = zcomp_create("zstd", 19);
	CHECK(c);
	zcomp_destroy(c);
	zcomp_destroy(NULL);
	return T_PASS;
}
