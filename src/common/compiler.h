// SPDX-License-Identifier: MIT
/* Compiler and CPU helpers shared by every subsystem. */
#ifndef ZSMEM_COMMON_COMPILER_H
#define ZSMEM_COMMON_COMPILER_H

#include <stddef.h>

#ifndef likely
#define likely(x)		__builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x)		__builtin_expect(!!(x), 0)
#endif

/* One cache line on the targets we build for (x86-64, aarch64). */
#define ZSM_CACHELINE		64u
/* Keeps a field (or a struct) on its own cache line: no false sharing. */
#define zsm_cacheline_aligned	__attribute__((aligned(ZSM_CACHELINE)))

#define zsm_container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

#define ZSM_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* One spin-wait step: tells the CPU we are spinning (saves power, yields SMT). */
static inline void zsm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* ZSMEM_COMMON_COMPILER_H */
