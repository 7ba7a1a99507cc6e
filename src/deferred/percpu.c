/* SPDX-License-Identifier: MIT */
/*
 * percpu.c - the push path: acquiring a slot, and the protocol by which anyone else
 * (flush, the idle-drain timer, teardown) takes a slot's buffer away.
 *
 * THE SLOT "RSEQ LOCK" (mode ZSD_LOCK_RSEQ)
 *
 * Every slot has two words: owner (written by pushers) and closed (written by takers).
 * Each CPU has ZSD_SUBSLOTS slots. A pusher runs a restartable sequence that reads its
 * CPU number from glibc's struct rseq, scans that CPU's slots for the first with
 * owner == 0 && closed == 0 and commits owner = 1 on it with its last instruction.
 * No atomic read-modify-write is needed: two pushers on one CPU cannot interleave
 * inside the sequence, because the kernel aborts a sequence whose thread is
 * preempted, migrated or signalled before the commit (the abort handler restarts it
 * from the top). So owner == 1 means exactly one pusher
 * holds the slot. It then calls ops->push() *outside* the sequence (a call would leave
 * the [start, commit) range, where the kernel no longer protects us), updates count,
 * swaps in a spare page if the buffer is full, and releases with a store-release of
 * owner = 0. The holder may migrate meanwhile: harmless, the slot stays its own until
 * the release; other pushers on that CPU see owner == 1 and do not wait.
 *
 * Why several slots per CPU: a holder preempted between its commit and its release
 * (ops->push(), or a page swap that takes d->lock) keeps its slot for a whole time
 * slice; with one slot per CPU every other thread of that CPU would fail all its
 * pushes meanwhile (seen in zsd_stress with 3 threads per CPU). The scan costs
 * nothing when sub-slot 0 is free, the common case.
 *
 * Policy when all the CPU's slots are busy (owner == 1) or closed (a taker is at
 * work): zs_free_deferred() returns false at once, the caller frees synchronously and
 * stats.fallbacks_busy counts it. No retry: a taker holds a slot closed for
 * microseconds. A slot whose page is full and for which no page can be had (spare
 * stack empty, pool at its ceiling or malloc failing) counts in fallbacks_nospare.
 *
 * TAKING A SLOT FROM ANOTHER THREAD (zsd_slots_close / zsd_slot_open)
 *
 *   1. closed = 1 (only takers write it; they are serialised by d->taker_lock);
 *   2. membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) on the slot's CPU (or all):
 *      when it returns, every sequence that was running on the CPU has either
 *      committed or been aborted, and every sequence started afterwards sees
 *      closed == 1 (the syscall is a full barrier on both sides);
 *   3. wait until owner == 0 (load-acquire): a pusher that committed before the
 *      fence finishes its push, wherever it now runs;
 *   4. the taker now owns pg/buf/count: it detaches a non-empty page (buf = NULL; the
 *      next pusher takes a spare page itself, so no lock is taken while closed);
 *   5. closed = 0 with a store-release, publishing the slot's new state to the next
 *      pusher; the detached page is then queued to the workers.
 * Without step 2 a sequence that read closed == 0 just before step 1 could commit
 * after step 3 and write into a buffer the taker is draining (lost or doubly drained
 * values): that is the race the fence closes.
 *
 * THE FALLBACK (ZSD_LOCK_TRY), chosen once at create when rseq is unusable
 * (__rseq_size == 0: valgrind, GLIBC_TUNABLES=glibc.pthread.rseq=0; membarrier's rseq
 * commands missing) or cfg->no_rseq: the slot of sched_getcpu() is acquired with a
 * compare-and-swap of owner 0 -> 1, then closed is re-read; a busy slot makes the
 * pusher try the CPU's next sub-slot, then give up (false). Takers store closed = 1
 * and wait for owner == 0; both sides use sequentially consistent accesses, the classic
 * store-then-load handshake (pusher: CAS owner, load closed; taker: store closed,
 * load owner), so at least one of them sees the other. ZSD_LOCK_SPIN (per-class
 * queues, where the slot is a property of the value, not of the CPU) is the same but
 * spins instead of giving up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "deferred.h"
#include "pagepool.h"

#define ZSD_STR_(x)	#x
#define ZSD_STR(x)	ZSD_STR_(x)


#if defined(__x86_64__) || (defined(__aarch64__) && defined(RSEQ_SIG_CODE))
#define ZSD_HAVE_RSEQ_ASM 1
#else
#define ZSD_HAVE_RSEQ_ASM 0
#endif

static int zsd_membarrier(int cmd, unsigned int flags, int cpu)
{
	return (int)syscall(__NR_membarrier, cmd, flags, cpu);
}

static pthread_once_t zsd_rseq_once = PTHREAD_ONCE_INIT;
static bool zsd_rseq_ok;

static void zsd_rseq_probe(void)
{
	int cmds;

	if (!ZSD_HAVE_RSEQ_ASM || __rseq_size == 0)
		return;
	cmds = zsd_membarrier(MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ))
		return;
	/* Registration is per process and idempotent; it must precede any fence. */
	if (zsd_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) != 0)
		return;
	zsd_rseq_ok = true;
}

bool zsd_rseq_usable(void)
{
	pthread_once(&zsd_rseq_once, zsd_rseq_probe);
	return zsd_rseq_ok;
}

long zsd_rseq_offset(void)
{
	return (long)__rseq_offset;
}

/*
 * The rseq critical section. Returns a slot of the current CPU with owner == 1
 * committed, or NULL when all its slots are busy or closed (or the CPU number is out
 * of range, e.g. this thread's rseq registration failed: cpu_id is then ~0u or ~1u).
 *
 * Critical section = [1, 2): the commit "store owner = 1" is its last instruction.
 * The descriptor (struct rseq_cs: version, flags, start_ip, post_commit_offset,
 * abort_ip) lives in __rseq_cs; the abort handler, preceded by glibc's signature as
 * the kernel requires, lives in __rseq_failure and restarts from label 0, which
 * re-arms rseq->rseq_cs (the kernel clears it on abort).
 */
/*
 * The critical section's descriptor at local label 66: version 0, flags 0, start 1f,
 * length 2f - 1f, abort handler 4f (the same layout on every architecture).
 */
#define ZSD_RSEQ_CS_DESC						\
	".pushsection __rseq_cs, \"aw\"\n\t"				\
	".balign 32\n"							\
	"66:\n\t"							\
	".long 0, 0\n\t"						\
	".quad 1f, 2f - 1f, 4f\n\t"					\
	".popsection\n"

#if defined(__x86_64__)
static inline struct zsd_slot *zsd_rseq_acquire(struct zs_deferred *d)
{
	struct zsd_slot *s;
	unsigned long tmp;

	__asm__ __volatile__(
		ZSD_RSEQ_CS_DESC
		"0:\n\t"
		/* rseq->rseq_cs = &descriptor: from here the kernel watches [1, 2) */
		"leaq 66b(%%rip), %[tmp]\n\t"
		"movq %[tmp], %%fs:8(%[off])\n"
		"1:\n\t"
		/* cpu = rseq->cpu_id, valid until we are preempted or migrated */
		"movl %%fs:4(%[off]), %k[s]\n\t"
		"cmpl %k[n], %k[s]\n\t"
		"jae 5f\n\t"
		/* s = this CPU's first sub-slot */
		"shlq $" ZSD_STR(ZSD_CPU_SHIFT) ", %[s]\n\t"
		"addq %[base], %[s]\n\t"
		/*
		 * owner (bytes 0..3) and closed (bytes 4..7) both 0: take this one. Two
		 * 4-byte loads, not one 8-byte load: our last push's 4-byte store of
		 * owner = 0 may still be in the store buffer, and a wider load that only
		 * partly overlaps a pending store cannot be forwarded from it (measured:
		 * with one 8-byte load this path was 5% slower).
		 */
		"cmpl $0, (%[s])\n\t"
		"jne 8f\n\t"
		"cmpl $0, 4(%[s])\n\t"
		"je 7f\n"
		"8:\n\t"
		/* sub-slot 0 busy or closed: scan the others, tmp = past the last */
		"leaq " ZSD_STR(ZSD_CPU_STRIDE) "(%[s]), %[tmp]\n"
		"6:\n\t"
		"addq $" ZSD_STR(ZSD_SLOT_BYTES) ", %[s]\n\t"
		"cmpq %[tmp], %[s]\n\t"
		"jae 5f\n\t"
		"cmpl $0, (%[s])\n\t"
		"jne 6b\n\t"
		"cmpl $0, 4(%[s])\n\t"
		"jne 6b\n"
		"7:\n\t"
		/* commit: owner = 1, the last instruction of the section */
		"movl $1, (%[s])\n"
		"2:\n\t"
		/* out of line: the abort handler, and "none free" (s = NULL) */
		".pushsection __rseq_failure, \"ax\"\n\t"
		".long " ZSD_STR(RSEQ_SIG) "\n"
		"4:\n\t"
		"jmp 0b\n"
		"5:\n\t"
		"xorl %k[s], %k[s]\n\t"
		"jmp 3f\n\t"
		".popsection\n"
		"3:\n"
		: [s] "=&r" (s), [tmp] "=&r" (tmp)
		: [off] "r" (d->rseq_off), [n] "r" (d->nr_cpus), [base] "r" (d->slots)
		: "memory", "cc");
	return s;
}
#elif defined(__aarch64__) && defined(RSEQ_SIG_CODE)
static inline struct zsd_slot *zsd_rseq_acquire(struct zs_deferred *d)
{
	struct zsd_slot *s;
	unsigned long tmp, rs, end;

	__asm__ __volatile__(
		ZSD_RSEQ_CS_DESC
		"0:\n\t"
		/* rs = &rseq (thread pointer + __rseq_offset); rseq->rseq_cs = &descriptor */
		"adrp %[tmp], 66b\n\t"
		"add %[tmp], %[tmp], :lo12:66b\n\t"
		"mrs %[rs], tpidr_el0\n\t"
		"add %[rs], %[rs], %[off]\n\t"
		"str %[tmp], [%[rs], #8]\n"
		"1:\n\t"
		"ldr %w[tmp], [%[rs], #4]\n\t"
		"cmp %w[tmp], %w[n]\n\t"
		"b.hs 5f\n\t"
		"add %[tmp], %[base], %[tmp], lsl #" ZSD_STR(ZSD_CPU_SHIFT) "\n\t"
		"add %[end], %[tmp], #" ZSD_STR(ZSD_CPU_STRIDE) "\n"
		"6:\n\t"
		/* owner and closed, one 8-byte load */
		"ldr %[s], [%[tmp]]\n\t"
		"cbz %[s], 7f\n\t"
		"add %[tmp], %[tmp], #" ZSD_STR(ZSD_SLOT_BYTES) "\n\t"
		"cmp %[tmp], %[end]\n\t"
		"b.lo 6b\n\t"
		"b 5f\n"
		"7:\n\t"
		"mov %w[s], #1\n\t"
		/* commit: owner = 1, the last instruction of the section */
		"str %w[s], [%[tmp]]\n"
		"2:\n\t"
		"mov %[s], %[tmp]\n\t"
		"b 3f\n\t"
		".pushsection __rseq_failure, \"ax\"\n\t"
		".inst " ZSD_STR(RSEQ_SIG_CODE) "\n"
		"4:\n\t"
		"b 0b\n\t"
		".popsection\n"
		"5:\n\t"
		"mov %[s], #0\n"
		"3:\n"
		: [s] "=&r" (s), [tmp] "=&r" (tmp), [rs] "=&r" (rs), [end] "=&r" (end)
		: [off] "r" (d->rseq_off), [n] "r" (d->nr_cpus), [base] "r" (d->slots)
		: "memory", "cc");
	return s;
}
#else
static inline struct zsd_slot *zsd_rseq_acquire(struct zs_deferred *d)
{
	(void)d;
	return NULL;	/* never selected: zsd_rseq_usable() is false */
}
#endif

void zsd_relax(unsigned int spins)
{
	if (spins < 64) {
		zsm_cpu_relax();
	} else {
		/* The holder may be preempted (more threads than CPUs): let it run. */
		sched_yield();
	}
}

/* CAS acquire of a slot (fallback and per-class): see the handshake at the top. */
static inline bool zsd_cas_try(struct zsd_slot *s)
{
	uint32_t zero = 0;

	if (zsm_load_relaxed(&s->owner))
		return false;
	if (!zsm_cas_strong_seq_cst(&s->owner, &zero, 1))
		return false;
	/* seq_cst load after the seq_cst CAS: pairs with the taker's store-then-load */
	if (likely(!zsm_load_seq_cst(&s->closed)))
		return true;
	zsm_store_release(&s->owner, 0);
	return false;
}

static __attribute__((noinline)) struct zsd_slot *zsd_try_acquire(struct zs_deferred *d)
{
	int cpu = sched_getcpu();
	struct zsd_slot *s, *end;

	if (unlikely(cpu < 0))
		cpu = 0;
	s = &d->slots[((unsigned int)cpu % d->nr_cpus) << ZSD_SUB_SHIFT];
	/* The CPU's sub-slots in order, as the rseq path does. */
	for (end = s + ZSD_SUBSLOTS; s < end; s++)
		if (likely(zsd_cas_try(s)))
			return s;
	return NULL;
}

static __attribute__((noinline)) struct zsd_slot *zsd_spin_acquire(struct zs_deferred *d,
								    unsigned long value)
{
	unsigned int idx = d->extra.route(d->private, value), spins = 0;
	struct zsd_slot *s;

	if (unlikely(idx >= d->nr_slots))
		return NULL;
	s = &d->slots[idx];
	while (!zsd_cas_try(s))
		zsd_relax(spins++);
	return s;
}

/*
 * With the slot owned, everything but the common case: no page yet, first value of a
 * page (stamp the clock), a page that fills (FULL_QUEUED: queue it now, while we own
 * the slot, so a flush finds it queued) or is full (FULL: swap and push again).
 * r is what push() said on the fast path, or -1 if it was not called.
 * false: the value was not stored (no spare page, or push() refuses an empty page).
 */
static __attribute__((noinline)) bool zsd_slot_store_slow(struct zs_deferred *d,
							   struct zsd_slot *s,
							   unsigned long value, int r)
{
	unsigned int c;

	if (r == ZS_PUSH_FULL_QUEUED) {
		zsm_store_relaxed(&s->count, s->count + 1);
		zsm_store_relaxed(&s->pushed, s->pushed + 1);
		zsd_slot_swap(d, s);
		return true;
	}
	if (r == ZS_PUSH_FULL) {
		zsd_slot_swap(d, s);	/* the value was not stored: new page, push again */
	} else if (!s->buf) {
		zsd_slot_swap(d, s);	/* installs a spare page if there is one */
	}
	if (!s->buf)
		return false;
	c = s->count;
	if (c == 0)
		zsm_store_relaxed(&s->first_ns, zsd_now_ns());	/* once per page */
	r = d->push(s->buf, c, value);
	if (r == ZS_PUSH_FULL)
		return false;		/* refused even a fresh or partial page: give up */
	zsm_store_relaxed(&s->count, c + 1);
	zsm_store_relaxed(&s->pushed, s->pushed + 1);
	if (r == ZS_PUSH_FULL_QUEUED)
		zsd_slot_swap(d, s);
	return true;
}

/*
 * A signal handler's push that needs the slow path while its thread is inside a
 * framework lock or slow path (zsd_tls_busy): take no lock. A value push() already
 * stored (FULL_QUEUED) stays, its page full and unqueued in the slot: the next push
 * there gets FULL and swaps, and takers detach full pages like any other.
 */
static __attribute__((noinline)) bool zsd_push_refuse(struct zs_deferred *d,
						      struct zsd_slot *s, int r)
{
	bool stored = r == ZS_PUSH_FULL_QUEUED;

	if (stored) {
		zsm_store_relaxed(&s->count, s->count + 1);
		zsm_store_relaxed(&s->pushed, s->pushed + 1);
	}
	__atomic_store_n(&s->owner, 0, __ATOMIC_RELEASE);
	if (!stored)
		zsm_add_relaxed(&d->fallbacks_busy, 1);
	return stored;
}

/*
 * The rest of a push, with the slot owned, once the fast path (zsd_push_owned) has
 * not stored the value (r: what push() said, or -1 if it was not called): store it
 * the slow way, release the slot, wake a worker if a page was queued, count a
 * refusal. Out of line, so that the fast path stays short. The whole of it counts in
 * zsd_tls_busy: it takes d->lock and signals a condition variable, neither of which
 * a signal handler's push may do while this thread is in the middle of them.
 */
static __attribute__((noinline)) bool zsd_push_finish(struct zs_deferred *d,
						      struct zsd_slot *s,
						      unsigned long value, int r)
{
	bool ok, wake;

	if (unlikely(zsd_tls_busy))
		return zsd_push_refuse(d, s, r);
	zsd_busy_enter();
	ok = zsd_slot_store_slow(d, s, value, r);
	wake = s->wake;		/* read while we own the slot; set by a page swap */
	if (unlikely(wake))
		s->wake = 0;
	/* Release: as on the fast path. */
	zsm_store_release(&s->owner, 0);
	if (unlikely(wake))
		zsd_wake_worker(d);
	zsd_busy_exit();
	if (likely(ok))
		return true;
	zsm_add_relaxed(&d->fallbacks_nospare, 1);
	return false;
}

/*
 * With the slot owned: store the value and release the slot. The common case is a
 * page that already holds values and has room; only a page swap sets s->wake, and
 * swaps happen in zsd_push_finish(), so the fast path has nothing to wake.
 */
static inline bool zsd_push_owned(struct zs_deferred *d, struct zsd_slot *s,
				  unsigned long value)
{
	unsigned int c = s->count;
	void *buf = s->buf;
	int r;

	if (unlikely(!buf || !c))
		return zsd_push_finish(d, s, value, -1);
	r = d->push(buf, c, value);
	if (unlikely(r != ZS_PUSH_OK))
		return zsd_push_finish(d, s, value, r);
	zsm_store_relaxed(&s->count, c + 1);
	zsm_store_relaxed(&s->pushed, s->pushed + 1);
	/*
	 * Release: every write to the slot and the buffer above happens-before whatever
	 * the next owner (pusher or taker) does after seeing owner == 0.
	 */
	zsm_store_release(&s->owner, 0);
	return true;
}

bool zsd_push_rseq(struct zs_deferred *d, unsigned long value)
{
	struct zsd_slot *s = zsd_rseq_acquire(d);

	if (unlikely(!s)) {
		zsm_add_relaxed(&d->fallbacks_busy, 1);
		return false;
	}
	/*
	 * The section read owner == 0 and closed == 0 with plain loads. Our later reads
	 * of buf/count must not be satisfied before those loads, or we could miss what
	 * the previous holder (store-release of owner) or a taker (store-release of
	 * closed) wrote. x86-64 never reorders loads with loads, so this is only a
	 * compiler barrier there; on aarch64 it is dmb ishld.
	 */
#if defined(ZSMEM_TSAN)
	/*
	 * ThreadSanitizer sees neither the asm nor fences (and rejects the latter): give
	 * it the acquire edges from the last releases of owner and closed. These are
	 * plain moves on x86-64, and acquire loads order what follows on any
	 * architecture.
	 */
	(void)zsm_load_acquire(&s->owner);
	(void)zsm_load_acquire(&s->closed);
#else
	zsm_fence_acquire();
#endif
	return zsd_push_owned(d, s, value);
}

/* Set while this thread is in a per-class push (it may hold a slot others spin on). */
static _Thread_local unsigned int zsd_tls_spin __attribute__((tls_model("initial-exec")));

/*
 * Per-class queues spin for their slot: a signal handler's push must not spin on a
 * slot its own thread holds (zsd_tls_spin), nor wait for a lock its thread is in
 * (zsd_tls_busy), nor any push in a fork child spin on the slots that stay closed
 * there. This mode is not the rseq hot path: the flag costs nothing that matters.
 */
static __attribute__((noinline)) bool zsd_push_spin(struct zs_deferred *d, unsigned long value)
{
	struct zsd_slot *s;
	bool ok;

	if (unlikely(zsd_tls_busy || zsd_tls_spin || d->forked)) {
		zsm_add_relaxed(&d->fallbacks_busy, 1);
		return false;
	}
	zsd_tls_spin = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	s = zsd_spin_acquire(d, value);	/* NULL: route out of range */
	if (likely(s)) {
		ok = zsd_push_owned(d, s, value);
	} else {
		zsm_add_relaxed(&d->fallbacks_busy, 1);
		ok = false;
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	zsd_tls_spin = 0;
	return ok;
}

bool zsd_push_slots(struct zs_deferred *d, unsigned long value)
{
	struct zsd_slot *s;

	if (d->lock_mode == ZSD_LOCK_RSEQ)
		return zsd_push_rseq(d, value);
	if (d->lock_mode == ZSD_LOCK_SPIN)
		return zsd_push_spin(d, value);
	s = zsd_try_acquire(d);
	if (unlikely(!s)) {
		zsm_add_relaxed(&d->fallbacks_busy, 1);
		return false;
	}
	return zsd_push_owned(d, s, value);
}

void zsd_slots_close_begin(struct zs_deferred *d, unsigned int first, unsigned int n)
{
	unsigned int i;

	/*
	 * Step 1. seq_cst so that, in the CAS modes, the store is ordered before our
	 * loads of owner (store-load: mfence / stlr + ldar). In rseq mode the membarrier
	 * syscall that follows is itself a full barrier.
	 */
	for (i = first; i < first + n; i++)
		zsm_store_seq_cst(&d->slots[i].closed, 1);
	if (d->lock_mode == ZSD_LOCK_RSEQ) {
		/*
		 * Step 2: no rseq section that read closed == 0 is still in flight on these
		 * CPUs. The slots of one CPU: target it; more: fence every CPU at once (one
		 * IPI round instead of n syscalls).
		 */
		bool one_cpu = (first >> ZSD_SUB_SHIFT) == ((first + n - 1) >> ZSD_SUB_SHIFT);
		int r = one_cpu ? zsd_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
						 MEMBARRIER_CMD_FLAG_CPU,
						 (int)(first >> ZSD_SUB_SHIFT))
				: zsd_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);

		/* EINVAL for one CPU: a CPU number the kernel rejects; nothing runs there. */
		if (r != 0 && !(one_cpu && errno == EINVAL)) {
			/* Registered at create, so this cannot fail; going on would be unsafe. */
			perror("zsmem: membarrier(PRIVATE_EXPEDITED_RSEQ)");
			abort();
		}
	}
}

bool zsd_slot_quiet(struct zsd_slot *s)
{
	/*
	 * Step 3 (after zsd_slots_close_begin): acquire pairs with the holder's
	 * store-release of owner = 0, so its count/buf updates are visible to us; seq_cst
	 * for the CAS modes' store-then-load handshake.
	 */
	return zsm_load_seq_cst(&s->owner) == 0;
}

void zsd_slots_close(struct zs_deferred *d, unsigned int first, unsigned int n)
{
	unsigned int i, spins;

	zsd_slots_close_begin(d, first, n);
	for (i = first; i < first + n; i++) {
		spins = 0;
		while (!zsd_slot_quiet(&d->slots[i]))
			zsd_relax(spins++);
	}
}

void zsd_slot_open(struct zs_deferred *d, struct zsd_slot *s)
{
	(void)d;
	/* Step 5: publish the new buf/count before a pusher can see closed == 0. */
	zsm_store_release(&s->closed, 0);
}
