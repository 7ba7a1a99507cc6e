// SPDX-License-Identifier: MIT
/*
 * The one named-atomics vocabulary of zsmem.
 *
 * Approach: shared objects are declared with their PLAIN type (uint32_t, unsigned long,
 * a pointer, bool), never _Atomic, and every access that can race goes through one of
 * the names below. Each name says its memory order, so a review of an ordering reads
 * the order at the call site: zsm_<operation>_<order>(pointer, ...).
 *
 * Why plain types and GCC/Clang __atomic builtins rather than _Atomic + <stdatomic.h>:
 *  - the rseq push path (deferred/percpu.c) reads and writes slot fields from inline
 *    assembly at fixed offsets; those fields must be plain objects with a known layout;
 *  - clang rejects __atomic_* on _Atomic objects and <stdatomic.h> on plain ones, so
 *    mixing the two styles (as the tree did) means two vocabularies;
 *  - a plain access to an _Atomic object silently becomes seq_cst (an xchg for a
 *    store on x86); with plain types a forgotten wrapper is a data race that TSan
 *    reports instead of a hidden slow path.
 * The cost: the compiler does not stop a plain access to a shared field. The rule is
 * therefore written at each shared field ("atomic: zsm_*") and TSan runs the
 * threaded tests.
 *
 * Orders used: relaxed (counters, statistics, fields one thread writes and others
 * peek at), acquire/release (publication and locks), seq_cst (only where a
 * store-then-load handshake needs it: deferred slot ownership vs. close).
 *
 * zsm_init() is the one non-atomic write: for an object not yet visible to any other
 * thread (the publication that follows orders it).
 */
#ifndef ZSMEM_COMMON_ATOMICS_H
#define ZSMEM_COMMON_ATOMICS_H

#include <stdbool.h>
#include <stdint.h>

/* Initialisation before publication: a plain store. */
#define zsm_init(p, v)			(*(p) = (v))

/* Loads */
#define zsm_load_relaxed(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define zsm_load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define zsm_load_seq_cst(p)		__atomic_load_n((p), __ATOMIC_SEQ_CST)

/* Stores */
#define zsm_store_relaxed(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define zsm_store_release(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define zsm_store_seq_cst(p, v)		__atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

/* Read-modify-write; each returns the old value. */
#define zsm_fetch_add_relaxed(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define zsm_fetch_sub_relaxed(p, v)	__atomic_fetch_sub((p), (v), __ATOMIC_RELAXED)
#define zsm_fetch_sub_release(p, v)	__atomic_fetch_sub((p), (v), __ATOMIC_RELEASE)
#define zsm_fetch_or_relaxed(p, v)	__atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
#define zsm_fetch_or_acquire(p, v)	__atomic_fetch_or((p), (v), __ATOMIC_ACQUIRE)
#define zsm_fetch_and_relaxed(p, v)	__atomic_fetch_and((p), (v), __ATOMIC_RELAXED)
#define zsm_fetch_and_release(p, v)	__atomic_fetch_and((p), (v), __ATOMIC_RELEASE)
#define zsm_xchg_relaxed(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_RELAXED)
#define zsm_xchg_acq_rel(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)

/* Counters (statistics): relaxed, result discarded. */
#define zsm_add_relaxed(p, v)		((void)__atomic_fetch_add((p), (v), __ATOMIC_RELAXED))
#define zsm_sub_relaxed(p, v)		((void)__atomic_fetch_sub((p), (v), __ATOMIC_RELAXED))

/*
 * Compare-and-swap: if *p == *expected, store desired and return true; otherwise
 * load *p into *expected and return false. The name gives the success order; a
 * failed attempt is always relaxed. _weak may fail spuriously (use it in loops).
 */
#define zsm_cas_weak_relaxed(p, e, d)	\
	__atomic_compare_exchange_n((p), (e), (d), true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)
#define zsm_cas_weak_acquire(p, e, d)	\
	__atomic_compare_exchange_n((p), (e), (d), true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
#define zsm_cas_strong_relaxed(p, e, d)	\
	__atomic_compare_exchange_n((p), (e), (d), false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)
#define zsm_cas_strong_acquire(p, e, d)	\
	__atomic_compare_exchange_n((p), (e), (d), false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
#define zsm_cas_strong_release(p, e, d)	\
	__atomic_compare_exchange_n((p), (e), (d), false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)
#define zsm_cas_strong_seq_cst(p, e, d)	\
	__atomic_compare_exchange_n((p), (e), (d), false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)

/* Fences */
#define zsm_fence_acquire()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define zsm_fence_release()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define zsm_fence_seq_cst()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
/* Orders against a signal handler on the same thread only: no instruction emitted. */
#define zsm_signal_fence()		__atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Relaxed running maximum (statistics: a peak that readers only peek at). */
static inline void zsm_max_relaxed_u64(uint64_t *p, uint64_t v)
{
	uint64_t old = zsm_load_relaxed(p);

	while (v > old && !zsm_cas_weak_relaxed(p, &old, v))
		;
}

#endif /* ZSMEM_COMMON_ATOMICS_H */
