// svmcore.c: page table, userfaultfd fault service and migration.
//
// Concurrency rules (the Go package doc of svm restates them):
//  - Page-state words change only by compare-and-swap. A thread that wins the
//    CAS into a transitional state (MIGRATING, ZAPPING, RETURNING, FILLING)
//    owns the page's host mapping until it publishes a final state.
//  - The service thread never waits for anything but the kernel and the
//    device-atomic section (svm_dev_atomic: pure C, bounded, cannot fault): a
//    fault on a page another thread owns is deferred and retried, never
//    waited for. Go threads may wait for the service thread (madvise and
//    munmap block until it reads the REMOVE/UNMAP event; sync_wait and
//    svm_migrate_out until it has handled things), never the other way round.
//  - Every device->host copy is made by the service thread (CPU faults, and
//    queued svm_migrate_out requests), so RETURNING is only ever its own.
//  - Every zap of a registered range either goes through userfaultfd_remove()
//    (a user's madvise; a migration's where the kernel has no UFFDIO_MOVE),
//    which blocks the zapping thread until the service thread reads the event
//    and makes UFFDIO_COPY/ZEROPAGE return EAGAIN meanwhile, or is a
//    migration's UFFDIO_MOVE made by the service thread itself (zap_by_move).
//    That serialises the service thread's installs against zaps: when it sees
//    a page MIGRATING and installs a write-protected zero page, the zap of
//    that page cannot have happened yet.
//  - A migration never zaps an address with madvise where it can help it: an
//    mremap/munmap of the range racing with the zap would let the zap hit
//    whatever was mapped there since (zap_by_move).
#define _GNU_SOURCE
#include "svmcore.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#ifndef UFFDIO_MOVE // Linux 6.8; older userspace headers lack it
#define UFFD_FEATURE_MOVE (1 << 16)
#define _UFFDIO_MOVE (0x05)
#define UFFDIO_MOVE_MODE_DONTWAKE ((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ((__u64)1 << 1)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

#define TOP_BITS 11
#define MID_BITS 12
#define LEAF_BITS 12
#define LEAF_PAGES (1ULL << LEAF_BITS)
#define SINK_PAGES (32 * SVM_MAX_RUN) // 8 MiB: the host pages of 32 full runs between emptyings
#define SINK_IDLE_NS (1000 * 1000) // an idle service thread empties the sink after 1 ms
#define MAX_DEFERRED 4096
#define SERVICE_STACK (256 << 10)
#define MAX_CMDS 64
#define PENDING_FREE_BYTES ((1ULL << SVM_FRAME_BITS) / 8)
#define CMD_PAGES_PER_TURN 4096 // pages a command may process before faults get a turn
#define TRIM_MIN_RUN 16 // the shortest run of released frames given back to the kernel (run_end)
#define READ_STREAMS 8 // sequential CPU readers of device pages the read-ahead follows at once
// The largest read-ahead window, in pages: served as bring-backs of
// SVM_MAX_RUN pages, the faulting thread woken by the first (read_ahead).
#ifndef READ_AHEAD_MAX
#define READ_AHEAD_MAX 512
#endif

// A request's state. FREE → FILLING (a caller took the slot) → PENDING (the
// service thread works on it) → DONE (the caller reads the result, FREE).
// A caller that sees no progress for STALL_NS gives up: PENDING →
// ABANDONED, and the service thread frees the slot when it next looks.
enum { CMD_FREE = 0, CMD_FILLING, CMD_PENDING, CMD_DONE, CMD_ABANDONED };
#define STALL_NS (10ULL * 1000 * 1000 * 1000)

// What a request asks for: bring a range home (svm_migrate_out), or take a
// migration's copied pages out of the address space (zap_by_move).
enum { CMD_OUT = 0, CMD_ZAP };

// A request to the service thread.
typedef struct {
	uint64_t state;  // CMD_*, changed atomically
	uint64_t kind;   // CMD_OUT, CMD_ZAP
	uint64_t start;  // first page
	int64_t npages;
	int64_t cursor;  // pages done so far (service thread)
	int64_t moved;   // result
	uint64_t stuck_since; // CLOCK_MONOTONIC ns when the current page first failed with ENOENT (0: not stuck)
	uint64_t stuck_at;    // the page it was
	// CMD_ZAP: the words the migration holds (npages <= SVM_MAX_RUN), and per
	// page (bit i) whether it was taken out / can never be by this request.
	uint64_t held[SVM_MAX_RUN];
	uint64_t zapped, refused;
	// CMD_ZAP: the pages taken out are copied from the sink into these
	// frames of device dev, an absent page's zeroed.
	int32_t dev;
	uint32_t frames[SVM_MAX_RUN];
} svm_cmd;

// All mutable state of this file, in one MAP_SHARED anonymous block.
//
// Why not C statics: statics live in the executable's .bss, which is
// private anonymous memory — migratable. A Go global array handed to a
// kernel would migrate its page, and with it whatever statics share that
// page; the service thread touching them would fault on itself and the
// process would hang. Shared anonymous memory is never migrated (nor
// registered with userfaultfd), and never merges with a user's private
// mapping. The service thread's stack (and its TLS) is shared memory too.
// The one global left, the pointer S, is forced into .data, which is a
// file-backed mapping of the executable: never migrated either.
typedef struct {
	uint8_t zero_page[SVM_PAGE_SIZE];
	uint8_t bounce[SVM_MAX_RUN * SVM_PAGE_SIZE]; // service thread's copy buffer
	uint64_t **top[1 << TOP_BITS];           // radix root
	svm_dev devs[SVM_MAX_DEVS];
	svm_stats global;
	int uffd, evfd;
	// Sync: odd while the service thread is in a loop iteration (from the
	// moment its ppoll returns until it has handled everything it read), even
	// while it waits. Messages are read only in odd periods, so once the
	// value a caller saw odd has moved on — or if it was even — every
	// message read before the caller looked has been handled. munmap,
	// mremap and madvise return only after their event is read: after a
	// sync they are handled. No kick and no wake-up: a fault round's checks
	// cost two loads when the thread is idle.
	uint64_t svc_seq;
	// Threads inside svm_migrate_in, and callers that expect to make
	// requests soon (svm_expect_work). While there are any the service
	// thread polls instead of sleeping: they wait for it (the zap, faults of
	// absent pages), and waking a sleeping thread costs far more than the
	// work (measured here: a zap round trip of 170-200 us when it slept).
	int32_t active;
	// Read-ahead (service thread): a CPU fault on a device page whose
	// stream expected it doubles that stream's window (up to SVM_MAX_RUN
	// pages per copy); any other starts a stream with a window of one page,
	// in the slot used longest ago. One stream per reader, so two threads
	// scanning different halves keep their windows.
	struct {
		uint64_t next;   // the page a sequential reader faults on next
		int window;      // pages its next fault brings (0: slot unused)
		uint64_t used;   // stream_tick when it last matched
	} streams[READ_STREAMS];
	uint64_t stream_tick;
	uint64_t window_reset;    // set by svm_fault_window_reset: forget the streams
	svm_flog flog;            // the CPU fault log (svmcore.h; flog_append)
	int ndeferred;
	struct {
		uint64_t addr, flags;
	} deferred[MAX_DEFERRED];
	svm_cmd cmds[MAX_CMDS];
	uint64_t bugs; // deliberately broken behaviour, for testing test suites (svmtest)
	// SINK_PAGES pages of private anonymous memory registered with the
	// userfaultfd, where the service thread moves a migration's host pages
	// to drop them (zap_by_move); 0 when the kernel has no UFFDIO_MOVE.
	// Nothing ever reads or writes it. Moves fill it front to back
	// (sink_used pages so far) and it is emptied when full or idle
	// (sink_empty): an emptying costs three syscalls, two of which rewrite
	// the VMA under the mmap lock, as much as the move itself.
	uint64_t sink, sink_used;
	// Test hooks (svm_set_zap_delay): a migration sleeps zap_delay_ns before
	// its zap, the service thread zap_hold_ns before it runs a zap request
	// (zap_holding is set meanwhile).
	uint64_t zap_delay_ns, zap_hold_ns, zap_holding;
	// Test hook (svm_defer_bring_backs): the next defer_bring_backs CPU
	// faults on device pages are deferred once, as a bring-back that lost
	// a race is.
	uint64_t defer_bring_backs, deferred_page;
} svm_state;

static svm_state *S __attribute__((section(".data"))) = 0;

// ---- page-state words --------------------------------------------------

static inline uint64_t st_of(uint64_t w) { return w & SVM_ST_MASK; }
static inline int dev_of(uint64_t w) { return (int)((w >> SVM_DEV_SHIFT) & SVM_DEV_MASK); }
static inline uint64_t frame_of(uint64_t w) { return (w >> SVM_FRAME_SHIFT) & SVM_FRAME_MASK; }
static inline uint64_t word_next(uint64_t old, uint64_t st, int dev, uint64_t frame) {
	uint64_t seq = (old >> SVM_SEQ_SHIFT) + 1;
	return st | ((uint64_t)dev << SVM_DEV_SHIFT) | (frame << SVM_FRAME_SHIFT) | (seq << SVM_SEQ_SHIFT);
}
static inline uint64_t ld(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline int cas(uint64_t *p, uint64_t old, uint64_t nw) {
	return __atomic_compare_exchange_n(p, &old, nw, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline void count(uint64_t *c, uint64_t n) { __atomic_fetch_add(c, n, __ATOMIC_RELAXED); }

// ---- logical page table: 47-bit VA, VPN split 11/12/12 -----------------

// table_alloc maps internal memory: shared anonymous, for the reasons given
// at svm_state.
// A forked child does not inherit it (MADV_DONTFORK): shared, the child
// could corrupt the parent's page table; the child has no service thread
// and no device anyway (fork_child gives it its device pages' contents).
static void *table_alloc(size_t bytes) {
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) return NULL;
	madvise(p, bytes, MADV_DONTFORK);
	return p;
}

// svm_init allocates the state block. Called once from the Go package's
// init, before any other function here.
int svm_init(void) {
	if (S) return 0;
	svm_state *st = mmap(NULL, sizeof(svm_state), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (st == MAP_FAILED) return errno;
	madvise(st, sizeof(svm_state), MADV_DONTFORK);
	st->uffd = st->evfd = -1;
	__atomic_store_n(&S, st, __ATOMIC_SEQ_CST);
	return 0;
}

svm_dev *svm_dev_at(int id) { return &S->devs[id]; }
svm_stats *svm_stats_ptr(void) { return &S->global; }

// svm_pte returns the state word of the page holding addr, allocating the
// leaf when alloc is set; NULL when the leaf is absent (the page has never
// been tracked: it is host-owned) or the address is beyond 47 bits.
uint64_t *svm_pte(uint64_t addr, int alloc) {
	uint64_t vpn = addr >> SVM_PAGE_SHIFT;
	if (vpn >> (TOP_BITS + MID_BITS + LEAF_BITS)) return NULL;
	uint64_t ti = vpn >> (MID_BITS + LEAF_BITS);
	uint64_t mi = (vpn >> LEAF_BITS) & ((1ULL << MID_BITS) - 1);
	uint64_t li = vpn & (LEAF_PAGES - 1);
	uint64_t **mid = __atomic_load_n(&S->top[ti], __ATOMIC_ACQUIRE);
	if (!mid) {
		if (!alloc) return NULL;
		uint64_t **fresh = table_alloc(sizeof(uint64_t *) << MID_BITS);
		if (!fresh) return NULL;
		uint64_t **expect = NULL;
		if (__atomic_compare_exchange_n(&S->top[ti], &expect, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			mid = fresh;
		} else {
			munmap(fresh, sizeof(uint64_t *) << MID_BITS);
			mid = expect;
		}
	}
	uint64_t *leaf = __atomic_load_n(&mid[mi], __ATOMIC_ACQUIRE);
	if (!leaf) {
		if (!alloc) return NULL;
		uint64_t *fresh = table_alloc(sizeof(uint64_t) * LEAF_PAGES);
		if (!fresh) return NULL;
		uint64_t *expect = NULL;
		if (__atomic_compare_exchange_n(&mid[mi], &expect, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			leaf = fresh;
		} else {
			munmap(fresh, sizeof(uint64_t) * LEAF_PAGES);
			leaf = expect;
		}
	}
	return &leaf[li];
}

// svm_next_nonhost returns the first page address >= from whose word is not
// HOST (with the word in *word), or SVM_NO_PAGE when there is none.
uint64_t svm_next_nonhost(uint64_t from, uint64_t *word) {
	uint64_t vpn = from >> SVM_PAGE_SHIFT;
	for (uint64_t ti = vpn >> (MID_BITS + LEAF_BITS); ti < (1ULL << TOP_BITS); ti++) {
		uint64_t **mid = __atomic_load_n(&S->top[ti], __ATOMIC_ACQUIRE);
		uint64_t mstart = (ti == vpn >> (MID_BITS + LEAF_BITS)) ? (vpn >> LEAF_BITS) & ((1ULL << MID_BITS) - 1) : 0;
		if (!mid) continue;
		for (uint64_t mi = mstart; mi < (1ULL << MID_BITS); mi++) {
			uint64_t *leaf = __atomic_load_n(&mid[mi], __ATOMIC_ACQUIRE);
			if (!leaf) continue;
			uint64_t base = (ti << (MID_BITS + LEAF_BITS)) | (mi << LEAF_BITS);
			uint64_t lstart = base <= vpn ? vpn - base : 0;
			for (uint64_t li = lstart; li < LEAF_PAGES; li++) {
				uint64_t w = ld(&leaf[li]);
				if (st_of(w) != SVM_ST_HOST) {
					*word = w;
					return (base | li) << SVM_PAGE_SHIFT;
				}
			}
		}
	}
	return SVM_NO_PAGE;
}

uint64_t svm_pte_load(uint64_t addr) {
	uint64_t *p = svm_pte(addr, 0);
	return p ? ld(p) : 0;
}

void svm_pte_load_range(uint64_t start, int n, uint64_t *out) {
	for (int i = 0; i < n; i++) out[i] = svm_pte_load(start + (uint64_t)i * SVM_PAGE_SIZE);
}

// ---- uffd ioctls (return 0 or errno) -------------------------------------


static int u_copy(uint64_t dst, const void *src, uint64_t len, uint64_t mode, int64_t *copied) {
	struct uffdio_copy c = {.dst = dst, .src = (uint64_t)(uintptr_t)src, .len = len, .mode = mode};
	int r = ioctl(S->uffd, UFFDIO_COPY, &c);
	if (copied) *copied = c.copy > 0 ? c.copy : 0;
	return r == 0 ? 0 : errno;
}
static int u_zero(uint64_t dst, uint64_t len, int dontwake) {
	struct uffdio_zeropage z = {.range = {.start = dst, .len = len},
	                            .mode = dontwake ? UFFDIO_ZEROPAGE_MODE_DONTWAKE : 0};
	return ioctl(S->uffd, UFFDIO_ZEROPAGE, &z) == 0 ? 0 : errno;
}
static int u_wp(uint64_t start, uint64_t len, int protect) {
	struct uffdio_writeprotect w = {.range = {.start = start, .len = len},
	                                .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0};
	return ioctl(S->uffd, UFFDIO_WRITEPROTECT, &w) == 0 ? 0 : errno;
}
static int u_wake(uint64_t start, uint64_t len) {
	struct uffdio_range r = {.start = start, .len = len};
	return ioctl(S->uffd, UFFDIO_WAKE, &r) == 0 ? 0 : errno;
}
static void note_error(int e) {
	count(&S->global.errors, 1);
	__atomic_store_n(&S->global.last_errno, (uint64_t)e, __ATOMIC_RELAXED);
}
static void kick(void) {
	uint64_t one = 1;
	if (S->evfd >= 0) (void)!write(S->evfd, &one, sizeof one);
}

// frame_addr is where frame f of device d lives in its arena.
static void *frame_addr(int d, uint32_t f) { return (void *)(uintptr_t)(S->devs[d].arena + (uint64_t)f * SVM_PAGE_SIZE); }

// ---- zero-copy arenas -------------------------------------------------------
//
// A zero-copy arena (svm_dev_attach with zero_copy) is private anonymous
// memory registered with the userfaultfd like a program's mappings, so
// UFFDIO_MOVE can take a host page straight into a frame when it migrates
// and put it straight back when it comes home: no copy either way, and a
// frame whose page went home holds no memory. Its frames are absent until a
// page moves in (or a copy fills one), and absent again once the page moves
// out. An absent frame reads as zero: touching one faults to the service
// thread, which fills it with zeros (arena_fault). The rules that keep the
// service thread from faulting on itself:
//  - the frame of every DEVICE, DUP and RETURNING word is present (a page
//    moved in, a copy, or a zero page for a page that had no host page), so
//    the copy paths may read it; ZAPPING frames are filled only by the
//    service thread's own zap request, and fork_child checks them (mincore)
//    before it reads one;
//  - the service thread writes a frame only with UFFDIO ioctls, or with
//    memcpy once an ioctl said EEXIST (the frame is present, and only the
//    service thread makes frames absent);
//  - pages move home only while the device runs no operation
//    (svm_dev_access): a device access that validated its translation just
//    before the page went home may still read the frame, which must then
//    still hold the data. During an operation pages come home by copy, and
//    their frames stay backed until they are trimmed or reused.

// move_range moves npages pages from src to dst with one UFFDIO_MOVE (dst
// must be absent, both in mappings registered with the userfaultfd) and
// returns the pages moved from the start; *err says why the next one was
// not (0 when all were).
static int move_range(uint64_t dst, uint64_t src, int npages, uint64_t mode, int *err) {
	struct uffdio_move mv = {.dst = dst, .src = src, .len = (uint64_t)npages * SVM_PAGE_SIZE, .mode = mode};
	int e = ioctl(S->uffd, UFFDIO_MOVE, &mv) == 0 ? 0 : errno;
	int moved = e == 0 ? npages : (mv.move > 0 ? (int)(mv.move / (int64_t)SVM_PAGE_SIZE) : 0);
	if (moved < npages && e == 0) e = EAGAIN;
	*err = moved < npages ? e : 0;
	return moved;
}

// arena_dev returns the device whose zero-copy arena holds addr, or -1.
static int arena_dev(uint64_t addr) {
	for (int i = 0; i < SVM_MAX_DEVS; i++) {
		svm_dev *d = &S->devs[i];
		if (!__atomic_load_n(&d->moves, __ATOMIC_ACQUIRE)) continue;
		uint64_t a = __atomic_load_n(&d->arena, __ATOMIC_ACQUIRE);
		if (a && addr >= a && addr < a + d->nframes * SVM_PAGE_SIZE) return i;
	}
	return -1;
}

// arena_fault resolves a fault on an absent frame of device dev's zero-copy
// arena (a copy into a fresh frame, a test reading one): zeros — a zero page
// for a read, a writable zeroed page for a write. Returns 0 to defer (the
// address space is changing).
static int arena_fault(uint64_t page, uint64_t flags, int dev) {
	int e;
	// Installed without waking, counted, then woken: the woken thread sees
	// the count.
	if (flags & UFFD_PAGEFAULT_FLAG_WP) e = u_wp(page, SVM_PAGE_SIZE, 0); // never set by svmrt: clear it
	else if (flags & UFFD_PAGEFAULT_FLAG_WRITE) e = u_copy(page, S->zero_page, SVM_PAGE_SIZE, UFFDIO_COPY_MODE_DONTWAKE, NULL);
	else e = u_zero(page, SVM_PAGE_SIZE, 1);
	if (e == EAGAIN) return 0;
	if (e && e != EEXIST && e != ENOENT) note_error(e);
	if (!e && !(flags & UFFD_PAGEFAULT_FLAG_WP)) count(&S->devs[dev].arena_fills, 1);
	u_wake(page, SVM_PAGE_SIZE);
	return 1;
}

// The host side released frame f of device d: mark it for the device allocator.
static void frame_release(int d, uint64_t f) {
	svm_dev *dv = &S->devs[d];
	if (!dv->pending_free || f >= dv->nframes) return;
	__atomic_fetch_or(&dv->pending_free[f / 64], 1ULL << (f % 64), __ATOMIC_SEQ_CST);
}

// ---- the CPU fault log ------------------------------------------------------
//
// A recorder of page-access traces needs the CPU's side: which device pages
// the CPU touched, in order, and whether it wrote. While a log is on
// (svm_flog_start), handle_fault appends an entry for each fault it serves
// on a DEVICE page (a bring-back) or a DUP page (a write collapsing the
// duplicate, or a missing fault on one); faults on host pages and arena
// faults are not the program's accesses to device memory and are not
// logged. A deferred fault is logged when it is finally served, once. The
// entry is appended before the faulting thread is woken, so a thread that
// drains the log after its access finds the access there. A bring-back
// that moves no page (a device released with its pages: their data is
// gone) is not logged.
//
// Why window 1 while it is on: read-ahead would bring a sequential reader's
// next pages home with the first, and the CPU's touches of those pages
// would take no fault and leave no entry. With one page per bring-back
// every first touch of every device page is a fault of its own, logged in
// the order the service thread serves them, which for one thread is the
// order it made them. The read streams are not consulted or updated, and
// are forgotten when the log stops (svm_flog_release), so windows then grow
// from one page as they would for a fresh run.
//
// When the log is off this costs handle_fault one relaxed load of flog.on,
// on the DEVICE and DUP paths only. When it is on, the acquire fence after
// that load pairs with svm_flog_start's release store of on, so the ring,
// cap and emptied indices it set up are visible.

static inline uint64_t flog_session(void) { return __atomic_load_n(&S->flog.on, __ATOMIC_RELAXED); }

// flog_append logs a served fault on page (service thread only: the ring's
// single producer; see svmcore.h for the hand-off).
static void flog_append(uint64_t page, int write) {
	svm_flog *l = &S->flog;
	__atomic_thread_fence(__ATOMIC_ACQUIRE); // on was read nonzero: see the session's setup
	uint64_t head = l->head; // written by this thread only
	// Acquire: the reader's copies of the slots below tail are done before
	// the slot is overwritten.
	uint64_t tail = __atomic_load_n(&l->tail, __ATOMIC_ACQUIRE);
	if (head - tail >= l->cap) {
		count(&l->lost, 1);
		return;
	}
	l->ring[head & (l->cap - 1)] = page | (write ? SVM_FLOG_WRITE : 0);
	__atomic_store_n(&l->head, head + 1, __ATOMIC_RELEASE); // the entry is written before it is published
}

svm_flog *svm_flog_ptr(void) { return &S->flog; }

int64_t svm_flog_start(void) {
	svm_flog *l = &S->flog;
	if (S->uffd < 0) return -ENOTSUP;
	uint64_t session = __atomic_add_fetch(&l->sessions, 1, __ATOMIC_SEQ_CST);
	uint64_t expect = 0;
	if (!__atomic_compare_exchange_n(&l->owner, &expect, session, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return -EBUSY;
	// The owner alone sets the log up: the producer is idle (on is 0, and
	// the previous session's stop waited out its last append).
	if (!l->ring) {
		// Internal memory (table_alloc: shared, not inherited by a child),
		// mapped once and kept: the service thread may write it, and a
		// later log reuses it.
		l->ring = table_alloc(SVM_FLOG_MAX * sizeof(uint64_t));
		if (!l->ring) {
			__atomic_store_n(&l->owner, 0, __ATOMIC_RELEASE);
			return -ENOMEM;
		}
	}
	uint64_t cap = __atomic_load_n(&l->next_cap, __ATOMIC_RELAXED);
	l->cap = cap ? cap : SVM_FLOG_MAX;
	// Entries a stopped log left are dropped: the reader's tail catches up
	// with the producer's head.
	__atomic_store_n(&l->tail, __atomic_load_n(&l->head, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
	__atomic_store_n(&l->lost, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->on, session, __ATOMIC_RELEASE);
	return (int64_t)session;
}

int svm_flog_off(uint64_t session) {
	uint64_t expect = session;
	return session && __atomic_compare_exchange_n(&S->flog.on, &expect, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void svm_flog_release(uint64_t session) {
	// Read-ahead starts afresh: the streams are forgotten at the next fault
	// on a device page (read_stream).
	svm_fault_window_reset();
	uint64_t expect = session;
	__atomic_compare_exchange_n(&S->flog.owner, &expect, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

int svm_flog_set_cap(uint64_t cap) {
	if (cap > SVM_FLOG_MAX || (cap & (cap - 1))) return EINVAL;
	__atomic_store_n(&S->flog.next_cap, cap, __ATOMIC_RELAXED);
	return 0;
}

// ---- device -> host -----------------------------------------------------

void svm_dev_access(int id, int delta) {
	if (id < 0 || id >= SVM_MAX_DEVS) return;
	__atomic_add_fetch(&S->devs[id].in_flight, (uint64_t)(int64_t)delta, __ATOMIC_SEQ_CST);
}

// Frames leave a device in runs (frame_run): consecutive frames of one
// device, collected as their pages are published elsewhere and handed to
// the allocator (frame_release) when the run ends. While the device runs
// no operation the run's memory is first given back to the kernel, one
// madvise per run, so the process does not keep a second copy of what
// went to the device and came back (or was unmapped there). Not while an
// operation is in flight: it may hold a translation to a frame in its TLB
// and read it; a TLB of a later operation starts empty and sees the new
// words. The memory goes before the allocator can see the frames, so a
// migration that reuses one faults in a fresh page rather than having its
// copy punched out. Frames released during an operation stay backed until
// they are reused.
typedef struct {
	int dev;
	uint64_t first;
	uint64_t n;
} frame_run;

static void run_end(frame_run *r) {
	if (r->n == 0) return;
	svm_dev *dv = &S->devs[r->dev];
	// MADV_REMOVE frees the shared arena's pages (MADV_DONTNEED would only
	// unmap them from this mapping; shmem would keep them). It unmaps them
	// too, and the TLB shootdown costs more than a lone fault's work (a
	// random-order CPU fault took 95 us with a madvise per fault against
	// 40 us without): only runs of TRIM_MIN_RUN frames or more are given
	// back (a sequential reader's windows, munmaps); shorter ones stay
	// backed until reused. A zero-copy arena's frames are not trimmed here:
	// its pages leave by moves, which take the memory with them, and the
	// service thread must never madvise a registered range (the REMOVE
	// event would wait for this very thread). Frames a munmap released stay
	// backed until the allocator reclaims them: it discards their memory
	// then, outside device operations (svm's frames.go, discardBacked);
	// one reclaimed during an operation is reused through the sink, a copy.
	if (r->n >= TRIM_MIN_RUN && !dv->moves && __atomic_load_n(&dv->in_flight, __ATOMIC_SEQ_CST) == 0 &&
	    madvise(frame_addr(r->dev, (uint32_t)r->first), r->n * SVM_PAGE_SIZE, MADV_REMOVE) == 0)
		count(&dv->trimmed, r->n);
	for (uint64_t k = 0; k < r->n; k++) frame_release(r->dev, r->first + k);
	r->n = 0;
}

static void run_add(frame_run *r, int dev, uint64_t f) {
	if (r->n && (dev != r->dev || f != r->first + r->n)) run_end(r);
	if (r->n == 0) {
		r->dev = dev;
		r->first = f;
	}
	r->n++;
}

#define RETRY_ONE (-1000)

// What a bring-back is for (bring_back's fault argument): an explicit
// migration (0), or a CPU fault (BB_FAULT), which the CPU fault log records
// (BB_LOG; BB_WRITE: the access wrote) before the faulting thread is woken,
// so that a thread that drains the log after its access finds it there.
#define BB_FAULT 1
#define BB_LOG 2
#define BB_WRITE 4
#define BB_AHEAD 8 // a fault's read-ahead past its first run: its pages count as the fault's, not another fault

// bring_back copies up to maxpages device-resident pages starting at page
// back into the host address space with one UFFDIO_COPY (which installs the
// pages; waiters are woken after the publish). Returns pages handled (> 0),
// 0 when the first page is no longer device-resident (caller re-examines
// it), -EAGAIN when the address space is changing (retry later), RETRY_ONE
// when a multi-page copy failed as a whole (it crossed a mapping boundary:
// retry the first page alone). fault is 0 or BB_* flags.
static int bring_back(uint64_t page, int maxpages, uint8_t *bounce, int fault) {
	int from_fault = fault & BB_FAULT;
	uint64_t *ptes[SVM_MAX_RUN];
	uint64_t held[SVM_MAX_RUN];
	int n = 0;
	if (maxpages > SVM_MAX_RUN) maxpages = SVM_MAX_RUN;
	for (int i = 0; i < maxpages; i++) {
		uint64_t *p = svm_pte(page + (uint64_t)i * SVM_PAGE_SIZE, 0);
		if (!p) break;
		uint64_t w = ld(p);
		if (st_of(w) != SVM_ST_DEVICE) break;
		// One fault brings home one device's pages: the window ends where
		// another device's begin (that device's CPU faults are its own).
		if (i > 0 && dev_of(w) != dev_of(held[0])) break;
		svm_dev *d = &S->devs[dev_of(w)];
		if (!d->arena || frame_of(w) >= d->nframes) {
			// A device released without bringing this page home: its data
			// is gone. Say so and make the page host-owned (zero) rather
			// than leave a thread waiting for it forever.
			if (i > 0) break;
			if (!cas(p, w, word_next(w, SVM_ST_HOST, 0, 0))) return 0;
			note_error(ENXIO);
			return 1;
		}
		uint64_t nw = word_next(w, SVM_ST_RETURNING, dev_of(w), frame_of(w));
		if (!cas(p, w, nw)) break;
		ptes[n] = p;
		held[n] = nw;
		n++;
	}
	if (n == 0) return 0;
	// Device atomics run in a short C section (svm_dev_atomic) that never
	// faults and never waits; one that checked the old word before our CAS
	// may still be modifying a frame word. Wait it out so the copy includes
	// it: bounded, and safe, since that section cannot wait for us.
	for (int i = 0; i < n; i++) {
		svm_dev *d = &S->devs[dev_of(held[i])];
		while (__atomic_load_n(&d->atomic_busy, __ATOMIC_SEQ_CST) != 0) sched_yield();
	}
	// The CAS above is a full barrier: a device store that validated the
	// old word before it is visible to this copy; one after it sees the new
	// word and replays (see svm's package doc, "device stores").
	//
	// A zero-copy arena's frames go home as they are, a run of consecutive
	// frames per UFFDIO_MOVE, while the device runs no operation (see
	// "zero-copy arenas"). What does not move is copied.
	int dv = dev_of(held[0]); // one device per window (above)
	int moved = 0, e = 0;
	if (S->devs[dv].moves && __atomic_load_n(&S->devs[dv].in_flight, __ATOMIC_SEQ_CST) == 0) {
		while (moved < n) {
			int j = moved + 1;
			while (j < n && frame_of(held[j]) == frame_of(held[j - 1]) + 1) j++;
			moved += move_range(page + (uint64_t)moved * SVM_PAGE_SIZE, (uint64_t)(uintptr_t)frame_addr(dv, (uint32_t)frame_of(held[moved])),
			                    j - moved, UFFDIO_MOVE_MODE_DONTWAKE, &e);
			if (e) break;
		}
	}
	int done = moved;
	if (moved < n && e != EAGAIN) {
		// Gathered into the bounce buffer first, even when the frames are
		// consecutive: UFFDIO_COPY straight from the (shared) arena measured
		// half as fast here (0.23-0.31 GB/s against 0.43-0.52 for a
		// sequential bring-back of 256 MiB).
		int k = n - moved;
		for (int i = 0; i < k; i++)
			memcpy(bounce + (uint64_t)i * SVM_PAGE_SIZE, frame_addr(dv, (uint32_t)frame_of(held[moved + i])), SVM_PAGE_SIZE);
		int64_t copied = 0;
		e = u_copy(page + (uint64_t)moved * SVM_PAGE_SIZE, bounce, (uint64_t)k * SVM_PAGE_SIZE, UFFDIO_COPY_MODE_DONTWAKE, &copied);
		done += e == 0 ? k : (int)(copied / (int64_t)SVM_PAGE_SIZE);
	}
	for (int i = 0; i < n; i++) {
		int d = dev_of(held[i]);
		uint64_t f = frame_of(held[i]);
		if (i < done) {
			cas(ptes[i], held[i], word_next(held[i], SVM_ST_HOST, 0, 0));
			count(&S->devs[d].pages_d2h, 1);
			if (from_fault) count(&S->devs[d].fault_d2h, 1);
			if (from_fault && i == 0 && !(fault & BB_AHEAD)) count(&S->devs[d].cpu_faults, 1);
		} else {
			// Not installed: the device copy stays the truth.
			cas(ptes[i], held[i], word_next(held[i], SVM_ST_DEVICE, d, f));
		}
	}
	// The one place a returning frame is released: a moved one holds no
	// memory any more (given back, as a trim would), a copied one is
	// trimmed in runs.
	for (int i = 0; i < moved; i++) frame_release(dv, frame_of(held[i]));
	count(&S->devs[dv].trimmed, (uint64_t)moved);
	frame_run run = {0};
	for (int i = moved; i < done; i++) run_add(&run, dv, frame_of(held[i]));
	run_end(&run);
	if (done > 0) {
		if (fault & BB_LOG) flog_append(page, (fault & BB_WRITE) != 0);
		u_wake(page, (uint64_t)done * SVM_PAGE_SIZE);
		return done;
	}
	if (e == EAGAIN) return -EAGAIN;
	if (n > 1) return RETRY_ONE;
	// The page is no longer where it was (ENOENT: munmap or mremap took the
	// range; the copy cannot tell which). Its UNMAP or REMAP event is on its
	// way; its handler waits while we hold the page, then drops or moves the
	// DEVICE word we just restored. Retry later.
	if (e == ENOENT || e == EINVAL || e == EFAULT) return -ENOENT;
	// EEXIST on one page: a host page exists where the device held the
	// truth — an invariant violation. Record it; wake rather than spin.
	note_error(e);
	u_wake(page, SVM_PAGE_SIZE);
	return 1;
}

// ---- fault service --------------------------------------------------------

// collapse_dup drops a read duplicate (service thread only): the host page,
// present and write-protected, is the truth; the device frame is released.
// The protection is left for the next writer to clear (its WP fault finds a
// HOST page and unprotects it). Returns 1 when p is no longer DUP.
static int collapse_dup(uint64_t *p, uint64_t w) {
	uint64_t nw = word_next(w, SVM_ST_FILLING, 0, 0);
	if (!cas(p, w, nw)) return 0;
	frame_release(dev_of(w), frame_of(w));
	count(&S->devs[dev_of(w)].collapses, 1);
	cas(p, nw, word_next(nw, SVM_ST_HOST, 0, 0));
	return 1;
}


// read_stream is the read-ahead stream a CPU fault on device page page
// belongs to (service thread), and *window the pages the fault brings: the
// stream that expected it, with its window doubled, or the least recently
// used slot with a window of one page. Nothing changes until
// read_stream_served: a fault that is deferred or retried (a bring-back
// that lost a race, or EAGAIN under load) asks again, and must not double
// the window again — it did, and CPU-fault counts then depended on the
// machine's load.
static int read_stream(uint64_t page, int *window) {
	if (__atomic_exchange_n(&S->window_reset, 0, __ATOMIC_ACQ_REL)) memset(S->streams, 0, sizeof S->streams);
	int lru = 0;
	for (int i = 0; i < READ_STREAMS; i++) {
		if (S->streams[i].window && S->streams[i].next == page) {
			*window = S->streams[i].window < READ_AHEAD_MAX ? S->streams[i].window * 2 : S->streams[i].window;
			return i;
		}
		if (S->streams[i].used < S->streams[lru].used) lru = i;
	}
	*window = 1;
	return lru;
}

// read_stream_served records a served fault of stream i: its window, and
// the page after the n it brought.
static void read_stream_served(int i, int window, uint64_t page, int n) {
	S->streams[i].window = window;
	S->streams[i].next = page + (uint64_t)n * SVM_PAGE_SIZE;
	S->streams[i].used = ++S->stream_tick;
}

// read_ahead brings home up to want device pages from page, the rest of a
// fault's read-ahead window after the run that served the fault, in runs of
// SVM_MAX_RUN (bring_back's limit). The faulting thread was woken by the
// first run and reads it while these move: a sequential reader's copy and
// the next pages' moves overlap (on two CPUs), and a fault is paid per
// window, not per run (a 256 MiB sequential read went 0.42-0.49x copy()
// with one 64-page run per fault). It stops at the first page it cannot
// bring (not on the device, owned by another thread, an address-space
// change not yet read) or of another device than dev, the faulting page's
// (a window brings one device's pages: another's CPU faults are its own),
// and returns the pages brought; a run cut short (a move that stopped at
// an address-space change) goes on from where it stopped. The faults
// counted are the same as for one bring-back of the whole window: the
// service thread reads no message between the runs, so a fault the reader
// raises on a page of a later run meanwhile finds it home.
static int read_ahead(uint64_t page, int want, int dev) {
	int done = 0;
	while (done < want) {
		uint64_t *p = svm_pte(page + (uint64_t)done * SVM_PAGE_SIZE, 0);
		uint64_t w = p ? ld(p) : 0;
		if (st_of(w) != SVM_ST_DEVICE || dev_of(w) != dev) break;
		int n = want - done < SVM_MAX_RUN ? want - done : SVM_MAX_RUN;
		int got = bring_back(page + (uint64_t)done * SVM_PAGE_SIZE, n, S->bounce, BB_FAULT | BB_AHEAD);
		if (got <= 0) break;
		done += got;
	}
	return done;
}

// handle_fault returns 1 when the fault is resolved, 0 to defer it.
static int handle_fault(uint64_t addr, uint64_t flags) {
	uint64_t page = addr & ~(SVM_PAGE_SIZE - 1);
	int wp = (flags & UFFD_PAGEFAULT_FLAG_WP) != 0;
	// For the CPU fault log: a WP fault is a write too.
	int write = wp || (flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0;
	for (int tries = 0; tries < 64; tries++) {
		uint64_t *p = svm_pte(page, 0);
		uint64_t w = p ? ld(p) : 0;
		switch (st_of(w)) {
		case SVM_ST_HOST:
			// An arena page is never tracked (HOST): looked for here only,
			// not on a device page's fault.
			if (tries == 0) {
				int ad = arena_dev(page);
				if (ad >= 0) return arena_fault(page, flags, ad);
			}
			if (wp) {
				// No migration owns the page, so its protection is left over
				// (an aborted migration raced with a zero-fill) or already gone.
				// Unprotect under a FILLING claim: a migration claims HOST
				// pages before it protects them, so it cannot be undone here.
				// An untracked page has no owner either (a protection that
				// mremap carried away from an aborted migration): track it.
				if (!p) p = svm_pte(page, 1);
				if (!p) {
					note_error(ENOMEM);
					u_wp(page, SVM_PAGE_SIZE, 0);
					return 1;
				}
				uint64_t nw = word_next(w, SVM_ST_FILLING, 0, 0);
				if (!cas(p, w, nw)) continue;
				struct uffdio_writeprotect un = {.range = {.start = page, .len = SVM_PAGE_SIZE},
				                                 .mode = UFFDIO_WRITEPROTECT_MODE_DONTWAKE};
				int e = ioctl(S->uffd, UFFDIO_WRITEPROTECT, &un) == 0 ? 0 : errno;
				cas(p, nw, word_next(nw, SVM_ST_HOST, 0, 0));
				if (e == EAGAIN) return 0;
				u_wake(page, SVM_PAGE_SIZE);
				return 1;
			}
			if (!p) p = svm_pte(page, 1);
			if (!p) {
				note_error(ENOMEM);
				u_zero(page, SVM_PAGE_SIZE, 0);
				u_wake(page, SVM_PAGE_SIZE);
				return 1;
			}
			{
				// Claim the page (FILLING) so a migration cannot start between
				// our look and our install: it would copy before we install and
				// a writer could then slip past its write protection.
				uint64_t nw = word_next(w, SVM_ST_FILLING, 0, 0);
				if (!cas(p, w, nw)) continue;
				// Publish before waking so the woken thread never sees FILLING.
				int e = u_zero(page, SVM_PAGE_SIZE, 1);
				cas(p, nw, word_next(nw, SVM_ST_HOST, 0, 0));
				if (e == EAGAIN) return 0;
				// ENOENT: nothing is mapped there any more — a munmap or
				// mremap since the fault (typically a deferred fault retried
				// after its page came home and its range was then unmapped).
				// Nothing to fill, and not an internal error.
				if (e && e != EEXIST && e != ENOENT) note_error(e);
				u_wake(page, SVM_PAGE_SIZE);
			}
			count(&S->global.zero_fills, 1);
			return 1;
		case SVM_ST_MIGRATING:
			if (wp) return 0; // the migrator's unprotect wakes the writer
			{
				// Absent host page = zero content. Install it write-protected so
				// a writer cannot slip in behind the migrator's copy.
				int e = u_copy(page, S->zero_page, SVM_PAGE_SIZE, UFFDIO_COPY_MODE_WP, NULL);
				if (e == EAGAIN) return 0;
				if (e == EEXIST || e == ENOENT) u_wake(page, SVM_PAGE_SIZE); // ENOENT: unmapped since (as above)
				else if (e) { note_error(e); u_wake(page, SVM_PAGE_SIZE); }
				count(&S->global.zero_fills, 1);
				return 1;
			}
		case SVM_ST_DEVICE: {
			if (wp) {
				// The page was dropped after this writer faulted; its retry
				// takes a missing fault that brings the page home.
				u_wake(page, SVM_PAGE_SIZE);
				return 1;
			}
			if (flog_session()) {
				// Logged (by bring_back, before the wake-up): one page per
				// bring-back, no read-ahead (see "the CPU fault log"). A
				// bring-back of one page never says RETRY_ONE.
				int r = bring_back(page, 1, S->bounce, BB_FAULT | BB_LOG | (write ? BB_WRITE : 0));
				if (r == -EAGAIN || r == -ENOENT) return 0;
				if (r == 0) continue;
				return 1;
			}
			int window, stream = read_stream(page, &window);
			if (__atomic_load_n(&S->defer_bring_backs, __ATOMIC_RELAXED) && page != S->deferred_page) {
				__atomic_sub_fetch(&S->defer_bring_backs, 1, __ATOMIC_RELAXED);
				S->deferred_page = page; // its retry is served
				return 0;
			}
			int r = bring_back(page, window, S->bounce, BB_FAULT);
			if (r == RETRY_ONE) r = bring_back(page, 1, S->bounce, BB_FAULT);
			if (r == -EAGAIN || r == -ENOENT || r == RETRY_ONE) return 0;
			if (r == 0) continue;
			read_stream_served(stream, window, page, r + read_ahead(page + (uint64_t)r * SVM_PAGE_SIZE, window - r, dev_of(w)));
			return 1;
		}
		case SVM_ST_DUP:
			// A CPU write to a duplicated page (or a missing fault on one
			// whose host page went away): drop the device copy, then serve
			// the fault as a host page's (unprotect, or zero-fill). Logged
			// at the collapse, before the wake-up: should the host half be
			// deferred, its retry finds a HOST page and is not logged again.
			if (collapse_dup(p, w) && flog_session()) flog_append(page, write);
			continue;
		default: // ZAPPING, RETURNING, FILLING: another thread owns the page
			return 0;
		}
	}
	return 0;
}

// drop_range applies an address-space change to the page table: device
// copies of pages in [start, end) are discarded (munmap, MADV_DONTNEED) and
// every tracked word's sequence is bumped so device TLBs drop their entries.
static void drop_range(uint64_t start, uint64_t end, int is_unmap) {
	frame_run run = {0};
	for (uint64_t a = start & ~(SVM_PAGE_SIZE - 1); a < end;) {
		uint64_t *p = svm_pte(a, 0);
		if (!p) {
			// Skip to the next leaf.
			uint64_t next = ((a >> SVM_PAGE_SHIFT) / LEAF_PAGES + 1) * LEAF_PAGES << SVM_PAGE_SHIFT;
			a = next;
			continue;
		}
		for (;;) {
			uint64_t w = ld(p);
			uint64_t s = st_of(w);
			// A migration's own zap by madvise (or a repetition of its event
			// after a VMA split): the migrator publishes after it. A user's discard
			// racing with a migration of the same page is not told apart:
			// the copy already taken stays the content.
			if (s == SVM_ST_ZAPPING && !is_unmap) break;
			uint64_t nw = word_next(w, SVM_ST_HOST, 0, 0);
			if (s == SVM_ST_RETURNING || s == SVM_ST_FILLING) {
				// Only this thread takes pages through these states, and
				// finishes before handling the next message: impossible.
				note_error(EDEADLK);
				break;
			}
			if (!cas(p, w, nw)) continue;
			if (s == SVM_ST_DEVICE) {
				run_add(&run, dev_of(w), frame_of(w));
				count(&S->devs[dev_of(w)].dropped, 1);
			} else if (s == SVM_ST_DUP) {
				run_add(&run, dev_of(w), frame_of(w));
				count(&S->devs[dev_of(w)].collapses, 1);
			}
			break;
		}
		a += SVM_PAGE_SIZE;
	}
	run_end(&run);
}

static void remap_range(uint64_t from, uint64_t to, uint64_t len) {
	for (uint64_t off = 0; off < len; off += SVM_PAGE_SIZE) {
		uint64_t *p = svm_pte(from + off, 0);
		if (!p) continue;
		uint64_t w;
		for (;;) {
			w = ld(p);
			if (st_of(w) == SVM_ST_RETURNING || st_of(w) == SVM_ST_FILLING) {
				note_error(EDEADLK); // only this thread uses these states (see drop_range)
				break;
			}
			// A page still MIGRATING keeps its host copy (moved by mremap):
			// the migration aborts. One ZAPPING is lost if its zap already
			// ran (a known gap: migrations racing with mremap of the range).
			if (cas(p, w, word_next(w, SVM_ST_HOST, 0, 0))) break;
		}
		if (st_of(w) == SVM_ST_DUP) {
			// The host page moved with its content: the duplicate is dropped.
			frame_release(dev_of(w), frame_of(w));
			count(&S->devs[dev_of(w)].collapses, 1);
			continue;
		}
		if (st_of(w) == SVM_ST_DEVICE) {
			uint64_t *q = svm_pte(to + off, 1);
			if (!q) {
				frame_release(dev_of(w), frame_of(w));
				note_error(ENOMEM);
				continue;
			}
			uint64_t qw = ld(q);
			__atomic_store_n(q, word_next(qw, SVM_ST_DEVICE, dev_of(w), frame_of(w)), __ATOMIC_SEQ_CST);
		}
	}
}

// fork_child gives a forked child its own copy of every page that lives in
// device memory, then lets go of the child's userfaultfd. fork() copies
// the page tables, but a device-resident page has no host page to copy:
// without this the child would read zeros. The parent's fork() is blocked
// until the event is read; the child may already run and fault on such a
// page — it waits on its own userfaultfd, and UFFDIO_COPY wakes it. Closing
// the child's userfaultfd afterwards unregisters its ranges and wakes any
// other waiter into an ordinary (zero-fill) fault, which is right: every
// page that was not on a device was copied by fork() itself.
static void fork_child(int cfd) {
	uint64_t w;
	for (uint64_t a = svm_next_nonhost(0, &w); a != SVM_NO_PAGE; a = svm_next_nonhost(a + SVM_PAGE_SIZE, &w)) {
		uint64_t st = st_of(w);
		if (st != SVM_ST_DEVICE && st != SVM_ST_ZAPPING && st != SVM_ST_RETURNING) continue;
		svm_dev *d = &S->devs[dev_of(w)];
		if (!d->arena || frame_of(w) >= d->nframes) continue;
		uint64_t src = d->arena + frame_of(w) * SVM_PAGE_SIZE;
		// A zero-copy arena's ZAPPING frame is still absent until the zap
		// request has run (and the host page fork() copied is the content):
		// reading it would fault on this thread.
		unsigned char in = 1;
		if (d->moves && st == SVM_ST_ZAPPING && (mincore((void *)(uintptr_t)src, SVM_PAGE_SIZE, &in) != 0 || !(in & 1)))
			continue;
		struct uffdio_copy c = {.dst = a, .src = src, .len = SVM_PAGE_SIZE};
		int e = 0;
		for (int tries = 0; tries < 1000; tries++) { // EAGAIN: the child is changing its mappings
			e = ioctl(cfd, UFFDIO_COPY, &c) == 0 ? 0 : errno;
			if (e != EAGAIN) break;
			sched_yield();
		}
		if (e && e != EEXIST && e != ENOENT) note_error(e);
	}
	close(cfd);
}

// svm_dev_atomic performs a 32-bit atomic on word_addr, a word of a frame of
// device dev, if the page's state word still equals expect (the device's
// translation is current). The section counts itself in the device's
// atomic_busy, which bring_back waits out after it has claimed a page: so
// an atomic either lands before the page's copy home or sees the changed
// word and is retried by the caller wherever the page now is. The section
// touches only the page table and the frame of a DEVICE word (present,
// even in a zero-copy arena; at most the kernel copies a zero page on
// write), so it never faults to the service thread, and it never waits: the
// service thread's wait for it is bounded. Returns (1 << SVM_ATOMIC_OK_SHIFT | result) on success — the old
// value for ADD, 1/0 for CAS — and 0 when the translation is stale.
uint64_t svm_dev_atomic(uint64_t *pte, uint64_t expect, int dev, uint64_t word_addr, int op, uint32_t a, uint32_t b) {
	svm_dev *d = &S->devs[dev];
	uint32_t *word = (uint32_t *)(uintptr_t)word_addr;
	uint64_t r = 0;
	__atomic_add_fetch(&d->atomic_busy, 1, __ATOMIC_SEQ_CST);
	if (ld(pte) == expect) {
		if (op == SVM_ATOMIC_ADD) {
			r = (1ULL << SVM_ATOMIC_OK_SHIFT) | __atomic_fetch_add(word, a, __ATOMIC_SEQ_CST);
		} else {
			uint32_t e = a;
			r = (1ULL << SVM_ATOMIC_OK_SHIFT) | (uint64_t)__atomic_compare_exchange_n(word, &e, b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		}
	}
	__atomic_sub_fetch(&d->atomic_busy, 1, __ATOMIC_SEQ_CST);
	return r;
}

// svm_fault_window_reset makes the service thread's sequential-access
// detector forget the last fault, so fault-back windows depend only on what
// happens from now on (simulated devices reset it when they are created, so
// their CPU-fault counts are reproducible whatever ran before).
void svm_fault_window_reset(void) { __atomic_store_n(&S->window_reset, 1, __ATOMIC_RELEASE); }

// svm_set_bugs sets the deliberately broken behaviours (SVM_BUG_*), so a
// test suite can show it catches them. Never set in production.
void svm_set_bugs(uint64_t bugs) { __atomic_store_n(&S->bugs, bugs, __ATOMIC_SEQ_CST); }

static void handle_event(struct uffd_msg *m) {
	count(&S->global.events, 1);
	if (m->event == UFFD_EVENT_UNMAP && (__atomic_load_n(&S->bugs, __ATOMIC_RELAXED) & SVM_BUG_IGNORE_UNMAP)) {
		count(&S->global.map_gen, 1);
		return; // the notifier bug: device copies of unmapped memory survive
	}
	switch (m->event) {
	case UFFD_EVENT_FORK:
		fork_child((int)m->arg.fork.ufd);
		break;
	case UFFD_EVENT_REMOVE:
		drop_range(m->arg.remove.start, m->arg.remove.end, 0);
		break;
	case UFFD_EVENT_UNMAP:
		drop_range(m->arg.remove.start, m->arg.remove.end, 1);
		count(&S->global.map_gen, 1);
		break;
	case UFFD_EVENT_REMAP:
		remap_range(m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
		count(&S->global.map_gen, 1);
		break;
	default:
		break;
	}
}


// defer_fault keeps a fault for a retry: one entry per page and kind (WP or
// missing), its WRITE flag kept (the CPU fault log says whether a retried
// fault wrote; a deferred write to an absent arena frame gets a writable
// page), merged into an entry that is already there.
static void defer_fault(uint64_t addr, uint64_t flags) {
	uint64_t page = addr & ~(SVM_PAGE_SIZE - 1);
	flags &= UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE;
	for (int i = 0; i < S->ndeferred; i++)
		if (S->deferred[i].addr == page && !((S->deferred[i].flags ^ flags) & UFFD_PAGEFAULT_FLAG_WP)) {
			S->deferred[i].flags |= flags;
			return;
		}
	if (S->ndeferred < MAX_DEFERRED) {
		S->deferred[S->ndeferred].addr = page;
		S->deferred[S->ndeferred].flags = flags;
		S->ndeferred++;
	}
	count(&S->global.deferred, 1);
}

static int run_cmds(void);
static int sink_empty(void);

static void *service(void *arg) {
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	struct uffd_msg msgs[64];
	int cmds_left = 0;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = S->uffd, .events = POLLIN}, {.fd = S->evfd, .events = POLLIN}};
		struct timespec ts = {0, 50 * 1000}, now = {0, 0}, idle = {0, SINK_IDLE_NS};
		int busy = __atomic_load_n(&S->active, __ATOMIC_SEQ_CST) > 0;
		if (busy) sched_yield(); // a Go thread on this CPU still gets it
		const struct timespec *wait = busy ? &now : (S->ndeferred || cmds_left) ? &ts : S->sink_used ? &idle : NULL;
		int r = ppoll(pfd, 2, wait, NULL);
		if (r == 0 && wait == &idle) sink_empty(); // a quiet moment: give the moved pages back
		__atomic_add_fetch(&S->svc_seq, 1, __ATOMIC_SEQ_CST); // odd: reading and handling
		if (r < 0 && errno != EINTR) {
			__atomic_add_fetch(&S->svc_seq, 1, __ATOMIC_SEQ_CST);
			note_error(errno);
			continue;
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			(void)!read(S->evfd, &v, sizeof v);
		}
		if (pfd[0].revents & (POLLERR | POLLHUP)) {
			__atomic_add_fetch(&S->svc_seq, 1, __ATOMIC_SEQ_CST); // nobody waits for a thread that is gone
			break;
		}
		if (pfd[0].revents & POLLIN) {
			ssize_t n = read(S->uffd, msgs, sizeof msgs);
			if (n > 0) {
				for (ssize_t i = 0; i < n / (ssize_t)sizeof msgs[0]; i++) {
					struct uffd_msg *m = &msgs[i];
					if (m->event == UFFD_EVENT_PAGEFAULT) {
						count(&S->global.faults, 1);
						if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) count(&S->global.wp_faults, 1);
						if (!handle_fault(m->arg.pagefault.address, m->arg.pagefault.flags))
							defer_fault(m->arg.pagefault.address, m->arg.pagefault.flags);
					} else {
						handle_event(m);
					}
				}
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				note_error(errno);
			}
		}
		int k = S->ndeferred;
		S->ndeferred = 0;
		for (int i = 0; i < k; i++) {
			if (!handle_fault(S->deferred[i].addr, S->deferred[i].flags)) {
				S->deferred[S->ndeferred++] = S->deferred[i];
			}
		}
		// Requests after the messages: a FORK event read in this iteration
		// has been handled before any page moves home for a request.
		cmds_left = run_cmds();
		__atomic_add_fetch(&S->svc_seq, 1, __ATOMIC_SEQ_CST); // even: all read so far is handled
	}
	return NULL;
}

// sink_open maps and registers the sink zap_by_move moves pages into: private
// anonymous read-write memory like the mappings that migrate (UFFDIO_MOVE
// wants the same protection on both sides), between PROT_NONE guards (a
// page below, 1 MiB above) so that it never merges with a neighbouring
// mapping, and not inherited by a forked child. On failure migrations zap with madvise.
static void sink_open(void) {
	// The guard above is 1 MiB, not a page: a program's mapping that lands
	// right above a small PROT_NONE region is taken for a thread stack
	// above its guard page (svm's maps.go, classifySystem) and refused.
	uint64_t len = (SINK_PAGES + 1) * SVM_PAGE_SIZE + (1 << 20);
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) return;
	uint64_t sink = (uint64_t)(uintptr_t)p + SVM_PAGE_SIZE;
	struct uffdio_register reg = {.range = {.start = sink, .len = SINK_PAGES * SVM_PAGE_SIZE},
	                              .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP};
	if (mprotect((void *)(uintptr_t)sink, SINK_PAGES * SVM_PAGE_SIZE, PROT_READ | PROT_WRITE) != 0 ||
	    madvise(p, len, MADV_DONTFORK) != 0 || ioctl(S->uffd, UFFDIO_REGISTER, &reg) != 0) {
		munmap(p, len);
		return;
	}
	if (!(reg.ioctls & (1ULL << _UFFDIO_MOVE))) {
		// Unregister before the munmap: the UNMAP event of a registered
		// range would wait for a service thread that does not run yet.
		ioctl(S->uffd, UFFDIO_UNREGISTER, &reg.range);
		munmap(p, len);
		return;
	}
	__atomic_store_n(&S->sink, sink, __ATOMIC_SEQ_CST);
}

// svm_open creates the userfaultfd, negotiates the features the protocol
// needs and starts the service thread. On failure it returns -1 and sets
// *err_out to errno * SVM_OPEN_ERR_BASE + the stage (SVM_OPEN_STAGE_*).
int svm_open(int *err_out) {
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
	}
	if (fd < 0) {
		*err_out = errno * SVM_OPEN_ERR_BASE + SVM_OPEN_STAGE_OPEN;
		return -1;
	}
	uint64_t need = UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMAP |
	                UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_PAGEFAULT_FLAG_WP;
	// UFFDIO_MOVE (Linux 6.8) makes the migrations' zaps safe against a
	// racing mremap/munmap (zap_by_move); a kernel without it refuses the
	// feature bit and migrations zap with madvise.
	struct uffdio_api api = {.api = UFFD_API, .features = need | UFFD_FEATURE_MOVE};
	int have_move = ioctl(fd, UFFDIO_API, &api) == 0;
	if (!have_move) {
		api = (struct uffdio_api){.api = UFFD_API, .features = need};
		if (ioctl(fd, UFFDIO_API, &api) != 0) {
			*err_out = errno * SVM_OPEN_ERR_BASE + SVM_OPEN_STAGE_API;
			close(fd);
			return -1;
		}
	}
	int ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev < 0) {
		*err_out = errno * SVM_OPEN_ERR_BASE + SVM_OPEN_STAGE_EVENTFD;
		close(fd);
		return -1;
	}
	S->uffd = fd;
	S->evfd = ev;
	if (have_move) sink_open();
	// The service thread's stack (glibc puts its TLS there too) is shared
	// anonymous memory, populated up front: see svm_state.
	void *stack = mmap(NULL, SERVICE_STACK, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (stack != MAP_FAILED) madvise(stack, SERVICE_STACK, MADV_DONTFORK);
	if (stack == MAP_FAILED) {
		*err_out = errno * SVM_OPEN_ERR_BASE + SVM_OPEN_STAGE_THREAD;
		close(fd);
		close(ev);
		S->uffd = S->evfd = -1;
		return -1;
	}
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstack(&attr, stack, SERVICE_STACK);
	int e = pthread_create(&t, &attr, service, NULL);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		*err_out = e * SVM_OPEN_ERR_BASE + SVM_OPEN_STAGE_THREAD;
		close(fd);
		close(ev);
		S->uffd = S->evfd = -1;
		return -1;
	}
	return 0;
}

// svm_sync_ticket starts a sync: 0 if nothing read is unhandled, else the
// service thread's (odd) iteration count, which svm_sync_passed waits out.
uint64_t svm_sync_ticket(void) {
	uint64_t t = __atomic_load_n(&S->svc_seq, __ATOMIC_SEQ_CST);
	return t & 1 ? t : 0;
}
int svm_sync_passed(uint64_t t) { return t == 0 || __atomic_load_n(&S->svc_seq, __ATOMIC_SEQ_CST) != t; }

int svm_register(uint64_t start, uint64_t len) {
	struct uffdio_register reg = {.range = {.start = start, .len = len},
	                              .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP};
	return ioctl(S->uffd, UFFDIO_REGISTER, &reg) == 0 ? 0 : errno;
}

// svm_dev_attach gives slot id the arena of nframes frames at arena. With
// zero_copy the arena is private anonymous memory the caller mapped
// read-write (and not inherited by a forked child), and it is registered
// with the userfaultfd: a zero-copy arena (see "zero-copy arenas"). Where
// that cannot be done (no UFFDIO_MOVE) the arena is used as a plain one.
int svm_dev_attach(int id, uint64_t arena, uint64_t nframes, int zero_copy) {
	if (id < 0 || id >= SVM_MAX_DEVS) return EINVAL;
	svm_dev *d = &S->devs[id];
	if (nframes > (1ULL << SVM_FRAME_BITS)) return EINVAL;
	int moves = 0;
	if (zero_copy && nframes && svm_zap_by_move()) {
		struct uffdio_register reg = {.range = {.start = arena, .len = nframes * SVM_PAGE_SIZE},
		                              .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP};
		moves = ioctl(S->uffd, UFFDIO_REGISTER, &reg) == 0 && (reg.ioctls & (1ULL << _UFFDIO_MOVE));
		if (!moves) ioctl(S->uffd, UFFDIO_UNREGISTER, &reg.range);
	}
	// One bitmap per slot for the life of the process, big enough for the
	// largest arena a word can name (2^27 frames: 16 MiB of address space,
	// MAP_NORESERVE, only the pages used are ever backed). Allocated on the
	// slot's first attach and reused by every later one, so opening and
	// closing devices costs no mapping; freeing it could not be made safe
	// anyway (the service thread may release a late frame into it).
	if (!d->pending_free) {
		uint64_t *bm = table_alloc(PENDING_FREE_BYTES);
		if (!bm) return ENOMEM;
		d->pending_free = bm;
	}
	memset(d->pending_free, 0, (nframes + 63) / 64 * 8);
	d->nframes = nframes;
	d->cpu_faults = d->pages_d2h = d->pages_h2d = d->dropped = d->dups = d->collapses = d->fault_d2h = d->trimmed = 0;
	d->arena_fills = 0;
	d->in_flight = 0;
	__atomic_store_n(&d->moves, (uint64_t)moves, __ATOMIC_SEQ_CST);
	__atomic_store_n(&d->arena, arena, __ATOMIC_SEQ_CST);
	return 0;
}

void svm_dev_detach(int id) {
	if (id < 0 || id >= SVM_MAX_DEVS) return;
	svm_dev *d = &S->devs[id];
	uint64_t arena = __atomic_exchange_n(&d->arena, 0, __ATOMIC_SEQ_CST);
	if (__atomic_exchange_n(&d->moves, 0, __ATOMIC_SEQ_CST) && arena) {
		// Unregistered before the caller unmaps it: the UNMAP event of a
		// registered range would make the munmap wait for the service
		// thread, and there is nothing in it to drop.
		struct uffdio_range r = {.start = arena, .len = d->nframes * SVM_PAGE_SIZE};
		ioctl(S->uffd, UFFDIO_UNREGISTER, &r);
	}
	// The bitmap is kept (not unmapped): a late frame_release may still
	// touch it, and the slot's next attach reuses it. Its pages are given
	// back: shared memory keeps its content until MADV_REMOVE.
	if (d->pending_free) madvise(d->pending_free, PENDING_FREE_BYTES, MADV_REMOVE);
}

// ---- host -> device -------------------------------------------------------

static int migrate_in(uint64_t start, int npages, int dev, const uint32_t *frames_in, uint8_t *res_out, int dup, int copy, uint64_t gen);

// sync_wait blocks the calling (non-service) thread until the service
// thread has handled every message it read before the call.
static void sync_wait(void) {
	uint64_t t = svm_sync_ticket();
	while (!svm_sync_passed(t)) sched_yield();
}

static int wp_retry(uint64_t start, uint64_t len, int protect) {
	for (int i = 0;; i++) {
		int e = u_wp(start, len, protect);
		if (e != EAGAIN || i > 100000) return e;
		sched_yield();
	}
}

// svm_thread_pointer returns the calling thread's thread pointer (glibc
// keeps the TCB's own address at fs:0; static TLS, errno among it, lies
// just below it).
uint64_t svm_thread_pointer(void) {
	uint64_t tp;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

uint64_t svm_stack_pointer(void) {
	return (uint64_t)(uintptr_t)__builtin_frame_address(0);
}

// on_own_stack reports whether [start, start+len) comes within a few pages
// of the calling thread's stack pointer or thread pointer (its TCB, with
// the static TLS right below). The Go side refuses ranges in the whole
// mappings holding them (svm's migration rule); this is the last line of
// defence should the address space have been reused since it looked, so
// it only looks at the pages in use now — a wider window would refuse a
// program's mapping that merely lies next to a thread's stack. It only
// compares addresses: it must not call into libc (pthread_getattr_np
// allocates, and the allocator's memory may be what is being migrated).
static int on_own_stack(uint64_t start, uint64_t len) {
	uint64_t sp = svm_stack_pointer(), tp = svm_thread_pointer();
	uint64_t end = start + len;
	// Below the stack pointer: the frames this call may still push. Around
	// the thread pointer: the static TLS below it and glibc's struct
	// pthread (about 2.3 KiB) above it, which ends where the thread's stack
	// mapping does — a program's mapping often starts right there.
	uint64_t slo = sp - 8192, shi = sp + 64, tlo = tp - 4096, thi = tp + 2304;
	return (start < shi && slo < end) || (start < thi && tlo < end);
}

// unprotect_held removes the write protection of the pages [i0, i1) of a
// run that this migration still owns (word == held[i]), in maximal
// sub-runs. A page an event took meanwhile (munmap: HOST) is skipped: its
// address may already be reused and protected by another migration or a
// read duplicate, whose protection must stay.
static void unprotect_held(uint64_t start, int i0, int i1, uint64_t **ptes, const uint64_t *held) {
	for (int i = i0; i < i1;) {
		if (ld(ptes[i]) != held[i]) { i++; continue; }
		int j = i + 1;
		while (j < i1 && ld(ptes[j]) == held[j]) j++;
		wp_retry(start + (uint64_t)i * SVM_PAGE_SIZE, (uint64_t)(j - i) * SVM_PAGE_SIZE, 0);
		i = j;
	}
}

// backoff is one step of waiting for the service thread: the first 1000
// yield (it usually answers within them) and return 1; later ones sleep
// 20 µs and return 0, so the caller's progress checks run at that pace.
static int backoff(int spins) {
	if (spins < 1000) {
		sched_yield();
		return 1;
	}
	struct timespec ts = {0, 20 * 1000};
	nanosleep(&ts, NULL);
	return 0;
}

// cmd_take claims a free request slot (FREE -> FILLING) for a request of
// kind over npages pages from start, its progress and results zeroed, for
// the caller to finish filling and post (PENDING).
static svm_cmd *cmd_take(uint64_t kind, uint64_t start, int64_t npages) {
	for (;;) {
		for (int i = 0; i < MAX_CMDS; i++) {
			uint64_t expect = CMD_FREE;
			if (__atomic_compare_exchange_n(&S->cmds[i].state, &expect, CMD_FILLING, 0, __ATOMIC_ACQ_REL,
			                                __ATOMIC_ACQUIRE)) {
				svm_cmd *c = &S->cmds[i];
				c->kind = kind;
				c->start = start;
				c->npages = npages;
				c->cursor = c->moved = 0;
				c->stuck_since = c->stuck_at = 0;
				c->zapped = c->refused = 0;
				return c;
			}
		}
		sched_yield();
	}
}

// zap_by_move takes the host pages of a migration's run [start, start +
// npages pages) that it still holds (words == held[i]) out of the address
// space and into frames[i] of device dev, and returns the pages taken, bit
// i for page i (an absent page counts as taken, its frame zeroed).
//
// Why not madvise(MADV_DONTNEED) here: it zaps whatever is mapped at the
// address when it runs. An mremap or munmap of the range that returns after
// this migration checked its words leaves a hole there, and any mmap may
// fill it before the zap — which then wipes that memory. Seen: the Go
// runtime's off-heap allocations (a crash on zeroed span sets), and the top
// of a new thread's stack, where glibc keeps its TLS (the thread found no g
// in it at its next fault, and the Go runtime let the SIGSEGV kill the
// process without a traceback). No check made beforehand can close that
// window, and madvise itself drops mmap_lock to deliver its REMOVE event and
// looks the VMA up again afterwards. UFFDIO_MOVE into a sink of our own
// removes the pages instead, and done by the service thread it cannot hit a
// mapping that replaced ours: it fails with EAGAIN while any munmap/mremap
// of a registered range has an unread event (mmap_changing), that event is
// read by the service thread only, and the service thread runs requests
// after handling every event it has read — an event that took these pages
// has changed their words, and the request leaves them alone. It raises no
// REMOVE event either. The caller waits without a deadline: the service
// thread retries only until it has read the events in flight. The copy
// into the frames is the service thread's too, from the sink, where nobody
// else can touch the pages.
static uint64_t zap_by_move(uint64_t start, int npages, const uint64_t *held, int dev, const uint32_t *frames) {
	svm_cmd *c = cmd_take(CMD_ZAP, start, npages);
	memcpy(c->held, held, (size_t)npages * sizeof held[0]);
	c->dev = dev;
	memcpy(c->frames, frames, (size_t)npages * sizeof frames[0]);
	__atomic_store_n(&c->state, CMD_PENDING, __ATOMIC_SEQ_CST);
	kick();
	for (int spins = 0; __atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CMD_DONE; spins++) backoff(spins);
	uint64_t zapped = c->zapped;
	__atomic_store_n(&c->state, CMD_FREE, __ATOMIC_RELEASE);
	return zapped;
}

// svm_set_zap_delay makes every migration sleep migrator_ns once its pages
// are ZAPPING and before its zap (after its copy, where there is one), and the service thread sleep service_ns before it
// runs a zap request (svm_zap_holding says when): test hooks that widen the
// windows in which an mremap or munmap of the range can race with the zap.
// 0 turns them off.
void svm_set_zap_delay(uint64_t migrator_ns, uint64_t service_ns) {
	__atomic_store_n(&S->zap_delay_ns, migrator_ns, __ATOMIC_SEQ_CST);
	__atomic_store_n(&S->zap_hold_ns, service_ns, __ATOMIC_SEQ_CST);
}
int svm_zap_holding(void) { return __atomic_load_n(&S->zap_holding, __ATOMIC_SEQ_CST) != 0; }

// svm_defer_bring_backs makes the next n CPU faults on device pages be
// deferred once before they are served (test hook; a fault on the page
// deferred last is served: that is its retry).
void svm_defer_bring_backs(uint64_t n) { __atomic_store_n(&S->defer_bring_backs, n, __ATOMIC_SEQ_CST); }

static void sleep_ns(uint64_t ns) {
	struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
	nanosleep(&ts, NULL);
}

// svm_zap_by_move reports whether migrations drop their host pages with
// UFFDIO_MOVE (zap_by_move) rather than madvise.
int svm_zap_by_move(void) { return __atomic_load_n(&S->sink, __ATOMIC_SEQ_CST) != 0; }

// svm_sink_used is how many moved host pages the sink holds (tests).
uint64_t svm_sink_used(void) { return __atomic_load_n(&S->sink_used, __ATOMIC_RELAXED); }

// publish ends the migration of the ZAPPING pages [i, j): those the zap
// took (bit k - i of zapped) become DEVICE, the others HOST again (SVM_RES_ABORTED),
// as do those an event took meanwhile (a failed CAS: munmap or mremap made
// the page HOST, its frame unused).
static void publish(int i, int j, uint64_t zapped, int dev, const uint32_t *frames, uint64_t **ptes, const uint64_t *held,
                    uint8_t *res) {
	for (int k = i; k < j; k++) {
		int gone = (zapped >> (k - i)) & 1;
		uint64_t to = gone ? word_next(held[k], SVM_ST_DEVICE, dev, frames[k]) : word_next(held[k], SVM_ST_HOST, 0, 0);
		if (!cas(ptes[k], held[k], to) || !gone) {
			res[k] = SVM_RES_ABORTED;
			continue;
		}
		count(&S->devs[dev].pages_h2d, 1);
	}
}

// to_zapping marks the claimed pages [i0, i1) ZAPPING (SVM_RES_ABORTED for those an
// event took meanwhile: discard, munmap), then sleeps the test hook's zap
// delay (svm_set_zap_delay).
static void to_zapping(int i0, int i1, int dev, const uint32_t *frames, uint64_t **ptes, uint64_t *held, uint8_t *res) {
	for (int i = i0; i < i1; i++) {
		uint64_t nw = word_next(held[i], SVM_ST_ZAPPING, dev, frames[i]);
		if (!cas(ptes[i], held[i], nw)) {
			res[i] = SVM_RES_ABORTED;
			continue;
		}
		held[i] = nw;
	}
	uint64_t delay = __atomic_load_n(&S->zap_delay_ns, __ATOMIC_RELAXED);
	if (delay) sleep_ns(delay);
}

// move_run moves the claimed pages [i0, i1) of a call to svm_migrate_in into
// device frames where the kernel has UFFDIO_MOVE: the service thread moves
// them out of the address space into its sink and copies them from there
// (zap_by_move with frames). The move is the moment the content is taken:
// a CPU write before it is in the page that moves, one after it finds the
// page gone (ZAPPING: its fault waits for the publish, then brings the page
// home). So there is no write-protect, and no copy from a live mapping that
// a racing munmap could pull away. A page the kernel will not move stays
// on the host, untouched.
static void move_run(uint64_t start, int i0, int i1, int dev, const uint32_t *frames, uint64_t **ptes,
                     uint64_t *held, uint8_t *res) {
	to_zapping(i0, i1, dev, frames, ptes, held, res);
	for (int i = i0; i < i1;) {
		if (res[i] != SVM_RES_MIGRATED) { i++; continue; }
		int j = i;
		while (j < i1 && res[j] == SVM_RES_MIGRATED) j++;
		publish(i, j, zap_by_move(start + (uint64_t)i * SVM_PAGE_SIZE, j - i, &held[i], dev, &frames[i]), dev, frames, ptes,
		        held, res);
		i = j;
	}
}

// migrate_run moves the claimed pages [i0, i1) of a call to svm_migrate_in.
static void migrate_run(uint64_t start, int i0, int i1, int dev, const uint32_t *frames, uint64_t **ptes,
                        uint64_t *held, uint8_t *res, int dup, int copy, uint64_t gen) {
	svm_dev *d = &S->devs[dev];
	uint64_t rs = start + (uint64_t)i0 * SVM_PAGE_SIZE, rl = (uint64_t)(i1 - i0) * SVM_PAGE_SIZE;
	// Never protect the stack we run on. It can only be in the range if the
	// range was unmapped (or moved) since the caller looked at it and the
	// address space reused for this thread's stack; protecting it would make
	// this thread fault on itself, waiting for the very migration it runs.
	int e = 0;
	// An mremap or munmap that returned after the caller checked the mapping
	// has had its event handled once sync_wait returns: the handler took our
	// claims back (HOST). Protecting now would protect whatever the address
	// space holds there instead — refuse.
	sync_wait();
	// Nor may the range be another mapping than the caller's: after an
	// munmap or mremap of it (counted in map_gen, handled by now), what the
	// address space holds there now may be anything, and HOST words claimed
	// since then hold for it too (the caller retries claims). A move takes
	// any private anonymous page, registered or not: it must not start.
	if (__atomic_load_n(&S->global.map_gen, __ATOMIC_SEQ_CST) != gen) e = ESTALE;
	for (int i = i0; i < i1 && !e; i++)
		if (ld(ptes[i]) != held[i]) e = ESTALE;
	if (!e && on_own_stack(rs, rl)) e = ESTALE;
	if (!e && !dup && !copy && svm_zap_by_move()) {
		move_run(start, i0, i1, dev, frames, ptes, held, res);
		return;
	}
	if (!e) e = wp_retry(rs, rl, 1);
	if (e) {
		if (e != ESTALE) unprotect_held(start, i0, i1, ptes, held); // a partial protect must not outlive us
		for (int i = i0; i < i1; i++) {
			cas(ptes[i], held[i], word_next(held[i], SVM_ST_HOST, 0, 0));
			res[i] = SVM_RES_ABORTED;
		}
		// ESTALE is this function's own finding that the address space
		// changed under the migration (a race the caller is told of, page
		// by page, as SVM_RES_ABORTED), not a failed ioctl.
		if (e != ESTALE) note_error(e);
		return;
	}
	// Copy with process_vm_readv: an absent page faults in through the
	// service thread (zero, write-protected) and an unmapped one fails with
	// EFAULT instead of killing the process.
	struct iovec local[SVM_MAX_RUN], remote = {.iov_base = (void *)(uintptr_t)rs, .iov_len = rl};
	for (int i = i0; i < i1; i++) {
		local[i - i0].iov_base = (void *)(uintptr_t)(d->arena + (uint64_t)frames[i] * SVM_PAGE_SIZE);
		local[i - i0].iov_len = SVM_PAGE_SIZE;
	}
	ssize_t got = process_vm_readv(getpid(), local, i1 - i0, &remote, 1, 0);
	int ok = got < 0 ? 0 : (int)(got / (ssize_t)SVM_PAGE_SIZE);
	if (i0 + ok < i1) {
		// Pages we could not copy stay on the host: unprotect them while we
		// still own them, then give them back.
		unprotect_held(start, i0 + ok, i1, ptes, held);
		for (int i = i0 + ok; i < i1; i++) {
			cas(ptes[i], held[i], word_next(held[i], SVM_ST_HOST, 0, 0));
			res[i] = SVM_RES_ABORTED;
		}
	}
	if (dup) {
		// Read duplication: the host page stays, still write-protected, so
		// a CPU write faults and collapses the copies (handle_fault). Writers
		// blocked since the protect are deferred faults that now see DUP.
		for (int i = i0; i < i0 + ok; i++) {
			if (!cas(ptes[i], held[i], word_next(held[i], SVM_ST_DUP, dev, frames[i]))) {
				res[i] = SVM_RES_ABORTED; // an event took the page (discard, munmap)
				continue;
			}
			count(&d->dups, 1);
		}
		kick();
		return;
	}
	to_zapping(i0, i0 + ok, dev, frames, ptes, held, res);
	// Zap each sub-run still ours, unprotect it, then publish. This is the
	// kernels without UFFDIO_MOVE (move_run otherwise): the zap is madvise,
	// which has the gap zap_by_move describes. madvise blocks until the
	// service thread has *read* each REMOVE event it raises — there may be
	// several, and repetitions, when a concurrent mprotect splits the VMA —
	// but reading is not handling: the handler, which ignores ZAPPING pages,
	// may still be about to look at them. sync_wait() waits until every
	// message read so far has been handled; only then is DEVICE published, so
	// no event of our own zap can mistake the page for a user's discard.
	//
	// The unprotect comes while the pages are still ours (ZAPPING):
	// unprotecting after the publish could undo the protection of another
	// migration that has claimed a page since.
	for (int i = i0; i < i0 + ok;) {
		if (res[i] != SVM_RES_MIGRATED) { i++; continue; }
		int j = i;
		while (j < i0 + ok && res[j] == SVM_RES_MIGRATED) j++;
		uint64_t zs = start + (uint64_t)i * SVM_PAGE_SIZE, zl = (uint64_t)(j - i) * SVM_PAGE_SIZE;
		uint64_t zapped = 0;
		if (madvise((void *)(uintptr_t)zs, zl, MADV_DONTNEED) == 0) {
			sync_wait();
			zapped = j - i == 64 ? ~0ULL : (1ULL << (j - i)) - 1; // j - i <= SVM_MAX_RUN <= 64; a shift by 64 is undefined
		}
		unprotect_held(start, i, j, ptes, held); // wakes writers blocked since the protect
		publish(i, j, zapped, dev, frames, ptes, held, res);
		i = j;
	}
}

// svm_expect_work: delta > 0 says requests are about to come, delta < 0
// that they have ended. While any caller expects work the service thread
// polls (S->active): a caller about to make several migrations in a row
// saves waking a sleeping thread for each one.
void svm_expect_work(int delta) {
	if (delta > 0) {
		__atomic_add_fetch(&S->active, 1, __ATOMIC_SEQ_CST);
		kick(); // the service thread starts polling
	} else {
		__atomic_sub_fetch(&S->active, 1, __ATOMIC_SEQ_CST);
	}
}

int svm_expecting_work(void) { return __atomic_load_n(&S->active, __ATOMIC_SEQ_CST); }

int svm_migrate_in(uint64_t start, int npages, int dev, const uint32_t *frames_in, uint8_t *res_out, int dup, int copy, uint64_t gen) {
	if (dev < 0 || dev >= SVM_MAX_DEVS || !S->devs[dev].arena) return -EINVAL;
	if (S->uffd < 0) return -ENOTSUP;
	// No signal handler may run on this thread while it owns pages: the Go
	// runtime's handlers (preemption, profiling) touch Go memory, which may
	// be a page this very call has in transit, and a fault on a page the
	// thread owns itself is deferred to its owner: itself, forever.
	// Synchronous faults cannot be blocked, but this code takes none.
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	__atomic_add_fetch(&S->active, 1, __ATOMIC_SEQ_CST);
	kick(); // the service thread starts polling
	int r = migrate_in(start, npages, dev, frames_in, res_out, dup, copy, gen);
	__atomic_sub_fetch(&S->active, 1, __ATOMIC_SEQ_CST);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static int migrate_in(uint64_t start, int npages, int dev, const uint32_t *frames_in, uint8_t *res_out, int dup, int copy, uint64_t gen) {
	uint64_t *ptes[SVM_MAX_RUN];
	uint64_t held[SVM_MAX_RUN];
	// The caller's arrays live in Go memory, which may share a page with
	// the range being migrated: touching them between the zap and the
	// publish would fault on a page we own, forever. Work on copies taken
	// before anything moves; write the results back after.
	uint32_t frames[SVM_MAX_RUN];
	uint8_t res[SVM_MAX_RUN];
	int moved = 0;
	for (int base = 0; base < npages; base += SVM_MAX_RUN) {
		int n = npages - base < SVM_MAX_RUN ? npages - base : SVM_MAX_RUN;
		uint64_t bstart = start + (uint64_t)base * SVM_PAGE_SIZE;
		memcpy(frames, frames_in + base, (size_t)n * sizeof frames[0]);
		for (int i = 0; i < n; i++) {
			uint64_t *p = svm_pte(bstart + (uint64_t)i * SVM_PAGE_SIZE, 1);
			ptes[i] = p;
			res[i] = SVM_RES_SKIPPED;
			if (!p) continue;
			if (frames[i] >= S->devs[dev].nframes) continue; // caller: not this page
			uint64_t w = ld(p);
			if (st_of(w) != SVM_ST_HOST) {
				res[i] = st_of(w) == SVM_ST_DEVICE ? SVM_RES_SKIPPED : SVM_RES_BUSY;
				continue;
			}
			uint64_t nw = word_next(w, SVM_ST_MIGRATING, dev, frames[i]);
			if (!cas(p, w, nw)) {
				res[i] = SVM_RES_BUSY;
				continue;
			}
			held[i] = nw;
			res[i] = SVM_RES_MIGRATED;
		}
		for (int i = 0; i < n;) {
			if (res[i] != SVM_RES_MIGRATED) { i++; continue; }
			int j = i;
			while (j < n && res[j] == SVM_RES_MIGRATED) j++;
			migrate_run(bstart, i, j, dev, frames, ptes, held, res, dup, copy, gen);
			i = j;
		}
		for (int i = 0; i < n; i++)
			if (res[i] == SVM_RES_MIGRATED) moved++;
		memcpy(res_out + base, res, (size_t)n); // may fault a migrated page home: fine now
	}
	kick();
	return moved;
}

// svm_migrate_out brings every device-resident page of the range home
// (explicit migration, device release) and returns how many it moved.
//
// The copying is done by the service thread, not the caller: every
// device-to-host copy then happens in one thread, in order with the events
// it reads. That is what makes fork safe — a page a caller brought home
// right after the parent's fork() returned, but before the service thread
// handled the FORK event, would be missing from the child — and it means
// no other thread ever holds a page RETURNING. The caller waits (in C,
// holding no Go P) for its request to complete.
static uint64_t now_ns(void);

int svm_migrate_out(uint64_t start, int npages) {
	if (S->uffd < 0) return -ENOTSUP;
	if (npages <= 0) return 0;
	svm_cmd *c = cmd_take(CMD_OUT, start, npages);
	__atomic_store_n(&c->state, CMD_PENDING, __ATOMIC_SEQ_CST);
	kick();
	// The wait is bounded by progress: a request whose cursor has not moved
	// for STALL_NS (a page held in transit by a thread that never
	// publishes) is abandoned with ETIMEDOUT instead of hanging the caller.
	int64_t last = -1;
	uint64_t since = 0;
	for (int spins = 0; __atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CMD_DONE; spins++) {
		if (backoff(spins)) continue;
		int64_t cur = __atomic_load_n(&c->cursor, __ATOMIC_RELAXED);
		uint64_t now = now_ns();
		if (cur != last) {
			last = cur;
			since = now;
		} else if (now - since > STALL_NS) {
			uint64_t expect = CMD_PENDING;
			if (__atomic_compare_exchange_n(&c->state, &expect, CMD_ABANDONED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return -ETIMEDOUT;
		}
	}
	int moved = (int)c->moved;
	__atomic_store_n(&c->state, CMD_FREE, __ATOMIC_RELEASE);
	return moved;
}

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

// run_cmd advances one migrate-out request (service thread). Returns 1 when
// the request is complete, 0 when it must be resumed later (a page in
// transition under a migrator, an address space in flux, or its turn used).
static int run_cmd(svm_cmd *c) {
	int budget = CMD_PAGES_PER_TURN;
	while (c->cursor < c->npages && budget > 0) {
		uint64_t a = c->start + (uint64_t)c->cursor * SVM_PAGE_SIZE;
		uint64_t w = svm_pte_load(a);
		if (st_of(w) == SVM_ST_HOST) {
			c->cursor++;
			budget--;
			continue;
		}
		if (st_of(w) == SVM_ST_DUP) {
			uint64_t *p = svm_pte(a, 0);
			if (p && !collapse_dup(p, w)) continue; // changed under us: look again
			c->cursor++;
			budget--;
			continue;
		}
		if (st_of(w) != SVM_ST_DEVICE) return 0; // a migrator owns it: look again later
		int max = c->npages - c->cursor < SVM_MAX_RUN ? (int)(c->npages - c->cursor) : SVM_MAX_RUN;
		int r = bring_back(a, max, S->bounce, 0);
		if (r == RETRY_ONE) r = bring_back(a, 1, S->bounce, 0);
		if (r == -ENOENT) {
			uint64_t now = now_ns();
			if (c->stuck_at != a || !c->stuck_since) {
				c->stuck_at = a;
				c->stuck_since = now;
			}
		}
		if (r == -ENOENT && now_ns() - c->stuck_since > 200 * 1000 * 1000ULL) {
			// The page has been gone from the address space for 0.2 s and
			// no UNMAP/REMAP event has told us: a broken notifier. Drop it
			// rather than wait forever (its data has no home to go to).
			uint64_t *p = svm_pte(a, 0);
			uint64_t now = p ? ld(p) : 0;
			if (p && st_of(now) == SVM_ST_DEVICE && cas(p, now, word_next(now, SVM_ST_HOST, 0, 0))) {
				frame_release(dev_of(now), frame_of(now));
				count(&S->devs[dev_of(now)].dropped, 1);
			}
			note_error(ENOENT);
			c->stuck_since = 0;
			continue;
		}
		if (r == -EAGAIN || r == -ENOENT || r == RETRY_ONE) return 0;
		if (r <= 0) continue;
		c->stuck_since = 0;
		c->moved += r;
		c->cursor += r;
		budget -= r;
	}
	return c->cursor >= c->npages;
}

// sink_empty drops the pages moved into the sink (service thread only).
// Unregistered first: a zap of a registered range would wait for this very
// thread to read its REMOVE event. Returns 0 if the sink had to be given up
// (migrations then give their pages up instead of zapping).
static int sink_empty(void) {
	if (!S->sink_used) return 1;
	struct uffdio_range r = {.start = S->sink, .len = SINK_PAGES * SVM_PAGE_SIZE};
	struct uffdio_register reg = {.range = r, .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP};
	if (ioctl(S->uffd, UFFDIO_UNREGISTER, &r) != 0 ||
	    madvise((void *)(uintptr_t)S->sink, S->sink_used * SVM_PAGE_SIZE, MADV_DONTNEED) != 0 ||
	    ioctl(S->uffd, UFFDIO_REGISTER, &reg) != 0) {
		note_error(errno);
		__atomic_store_n(&S->sink, 0, __ATOMIC_SEQ_CST);
		return 0;
	}
	S->sink_used = 0;
	return 1;
}

// sink_move moves up to npages host pages from src into the sink's next
// free pages with one UFFDIO_MOVE (service thread only; UFFDIO_MOVE wants
// an empty destination), emptying it first when they do not fit. Returns
// the pages moved from the start of the range; *err says why the next one
// was not (0 when all were).
//
// An absent source page stops the move (ENOENT) instead of being skipped,
// so every page moved is present in the sink from *at on, for the caller
// to copy (reading an absent sink page would fault on the service thread
// itself).
static int sink_move(uint64_t src, int npages, int *err, uint64_t *at) {
	if (S->sink_used + (uint64_t)npages > SINK_PAGES && !sink_empty()) {
		*err = EIO;
		return 0;
	}
	*at = S->sink + S->sink_used * SVM_PAGE_SIZE;
	int moved = move_range(*at, src, npages, UFFDIO_MOVE_MODE_DONTWAKE, err);
	S->sink_used += (uint64_t)moved;
	return moved;
}

// zero_frame gives frame f of device dev zero content for a page that had
// no host page (service thread): a zero page in an absent frame of a
// zero-copy arena (touching it would fault on this thread), memset
// otherwise. Returns 0 or EAGAIN (the address space is changing: try again
// after the next messages).
static int zero_frame(int dev, uint32_t f) {
	void *fa = frame_addr(dev, f);
	if (S->devs[dev].moves) {
		int e = u_zero((uint64_t)(uintptr_t)fa, SVM_PAGE_SIZE, 1);
		if (e == 0 || e == EAGAIN) return e;
		if (e != EEXIST) note_error(e); // EEXIST: the frame is present
	}
	memset(fa, 0, SVM_PAGE_SIZE);
	return 0;
}

// run_zap takes a migration's pages out of the address space and into its
// frames (service thread; see zap_by_move for why here and why
// UFFDIO_MOVE): into a zero-copy arena's frames straight, a run of
// consecutive frames per move; otherwise, or for a frame that is still
// backed, into the sink, and copied from there.
// A page whose word is no longer what the migration holds was taken by an
// event handled since (munmap, mremap: HOST) and is left alone; so is one
// the kernel will not move (shared with a forked child, a mapping mprotect
// made read-only or executable since): the migration gives it up. Returns 1
// when the request is complete, 0 to resume after the next messages.
static int run_zap(svm_cmd *c) {
	int n = (int)c->npages;
	uint64_t hold = __atomic_load_n(&S->zap_hold_ns, __ATOMIC_RELAXED);
	if (hold && !c->cursor) { // test hook, once per request (cursor is otherwise unused here)
		c->cursor = 1;
		__atomic_store_n(&S->zap_holding, 1, __ATOMIC_SEQ_CST);
		sleep_ns(hold);
		__atomic_store_n(&S->zap_holding, 0, __ATOMIC_SEQ_CST);
	}
	int zc = S->devs[c->dev].moves != 0;
	// For the page at i: alone (a run failed as a whole: page by page) and
	// through the sink (its zero-copy frame is still backed).
	int next_alone = 0, next_sink = 0;
	for (int i = 0; i < n;) {
		uint64_t bit = 1ULL << i;
		uint64_t *p = svm_pte(c->start + (uint64_t)i * SVM_PAGE_SIZE, 0);
		int alone = next_alone, via_sink = !zc || next_sink;
		next_alone = next_sink = 0;
		if (((c->zapped | c->refused) & bit) || !p || ld(p) != c->held[i]) {
			i++;
			continue;
		}
		int j = i + 1;
		while (!alone && j < n && !((c->zapped | c->refused) & (1ULL << j))) {
			uint64_t *q = svm_pte(c->start + (uint64_t)j * SVM_PAGE_SIZE, 0);
			if (!q || ld(q) != c->held[j]) break;
			j++;
		}
		uint64_t src = c->start + (uint64_t)i * SVM_PAGE_SIZE;
		int e = 0, m;
		if (!via_sink) {
			int k = i + 1;
			while (k < j && c->frames[k] == c->frames[k - 1] + 1) k++;
			m = move_range((uint64_t)(uintptr_t)frame_addr(c->dev, c->frames[i]), src, k - i, UFFDIO_MOVE_MODE_DONTWAKE, &e);
			if (e == EEXIST) next_sink = 1; // the frame at i + m is backed (released during an operation)
		} else if (!S->sink) {
			for (int k = i; k < j; k++) c->refused |= 1ULL << k;
			i = j;
			continue;
		} else {
			if (zc) j = i + 1; // a backed frame: this one alone
			uint64_t at;
			m = sink_move(src, j - i, &e, &at);
			for (int k = i; k < i + m; k++)
				memcpy(frame_addr(c->dev, c->frames[k]), (void *)(uintptr_t)(at + (uint64_t)(k - i) * SVM_PAGE_SIZE), SVM_PAGE_SIZE);
		}
		for (int k = i; k < i + m; k++) c->zapped |= 1ULL << k;
		i += m;
		if (!e || next_sink) continue;
		if (e == ENOENT) {
			// An absent page: nothing to take out, its content is zero.
			if (zero_frame(c->dev, c->frames[i]) == EAGAIN) return 0;
			c->zapped |= 1ULL << i;
			i++;
			continue;
		}
		// EAGAIN with nothing moved: an mremap, munmap or madvise of a
		// registered range has not had its event read yet (mmap_changing).
		// Read it first: its handler may take these pages.
		if (e == EAGAIN && m == 0) return 0;
		if (e == EAGAIN) continue; // moved some: try the rest at once
		if (!alone && j - i > 1) {
			// The run may cross a mapping boundary (mprotect split it) or
			// hold one page the kernel refuses: page by page.
			next_alone = 1;
			continue;
		}
		c->refused |= 1ULL << i;
		if (e != EBUSY && e != EINVAL) note_error(e);
		i++;
	}
	return 1;
}

// run_cmds advances every pending request; returns how many remain.
static int run_cmds(void) {
	int left = 0;
	for (int i = 0; i < MAX_CMDS; i++) {
		svm_cmd *c = &S->cmds[i];
		uint64_t st = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
		if (st == CMD_ABANDONED) {
			__atomic_store_n(&c->state, CMD_FREE, __ATOMIC_RELEASE);
			continue;
		}
		if (st != CMD_PENDING) continue;
		if (c->kind == CMD_ZAP ? run_zap(c) : run_cmd(c)) {
			uint64_t expect = CMD_PENDING;
			if (!__atomic_compare_exchange_n(&c->state, &expect, CMD_DONE, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				__atomic_store_n(&c->state, CMD_FREE, __ATOMIC_RELEASE); // abandoned meanwhile
		} else {
			left++;
		}
	}
	return left;
}

// svm_debug_state writes a one-paragraph description of the service thread's
// work in hand into buf (for watchdogs that dump a hung process): deferred
// faults and pending migrate-out requests. Read without locks: a snapshot
// that may be torn, good enough for a diagnosis.
int svm_debug_state(char *buf, int n) {
	int off = 0;
#define P(...) do { if (off < n) off += snprintf(buf + off, (size_t)(n - off), __VA_ARGS__); } while (0)
	int nd = __atomic_load_n(&S->ndeferred, __ATOMIC_RELAXED);
	P("service thread: uffd %d, %d deferred fault(s)", S->uffd, nd);
	for (int i = 0; i < nd && i < 8 && i < MAX_DEFERRED; i++) {
		uint64_t a = S->deferred[i].addr;
		uint64_t w = svm_pte_load(a);
		P("%s %#llx%s (state %llu dev %d)", i ? "," : ":", (unsigned long long)a, S->deferred[i].flags & UFFD_PAGEFAULT_FLAG_WP ? " wp" : "",
		  (unsigned long long)st_of(w), dev_of(w));
	}
	uint64_t seq = __atomic_load_n(&S->svc_seq, __ATOMIC_RELAXED);
	P("; service iteration %llu%s", (unsigned long long)seq / 2, seq & 1 ? " (running)" : " (waiting)");
	for (int i = 0; i < MAX_CMDS; i++) {
		svm_cmd *c = &S->cmds[i];
		uint64_t st = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
		if (st == CMD_FREE) continue;
		P("; request %d: state %llu, %#llx+%lld pages, cursor %lld", i, (unsigned long long)st,
		  (unsigned long long)c->start, (long long)c->npages, (long long)c->cursor);
	}
#undef P
	return off;
}
