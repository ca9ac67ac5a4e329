// sched.h: the runtime half of the svmk ABI — fibers, the per-SM scheduler,
// barriers, and the simulated MMU's slow paths. See doc.go.
#ifndef DEVRT_SCHED_H
#define DEVRT_SCHED_H

#include <stdint.h>
#include "ksrc/svmk.h"

// Work-item states (dr_sm.state[i]).
enum {
	DR_NEW = 0,      // not started, or to be restarted from scratch
	DR_RUN,          // running on a fiber
	DR_BARRIER,      // parked on its fiber at a barrier
	DR_FAULT,        // parked on its fiber, waiting for its fault to be serviced
	DR_READY,        // parked on its fiber, may resume
	DR_DONE,         // returned
	DR_DEAD,         // aborted, or its group failed
	DR_RESTART,      // gave up its run at a fault (it had done nothing another run would not redo): waits for the
	                 // fault to be serviced, then starts again from scratch, on any fiber
};

// How often one work-item may give up its run at a fault and start again
// before it parks instead. Restarting needs no fiber of its own, but an item
// that needs several pages resident at once could, with device memory
// full, find one evicted by the service of the next on every run; parking
// keeps what it has done, so the bound guarantees progress.
#define DR_MAX_RESTARTS 4

// Group failures (dr_group.fail).
enum {
	DR_FAIL_NONE = 0,
	DR_FAIL_ABORT,        // a work-item was aborted (its fault could not be resolved): fail_item
	DR_FAIL_DIVERGE_EXIT, // fail_item returned while others waited at barrier fail_barrier
	DR_FAIL_DIVERGE_LATE, // fail_item reached barrier fail_barrier after fail_exited items returned
	DR_FAIL_NOSTACK,      // no memory for a fiber stack
	DR_FAIL_SEGV,         // a hardware fault (fail_sig) at fail_addr in a work-item (trap.c)
	DR_FAIL_MISALIGNED,   // an atomic of fail_width bytes at fail_addr, not aligned to its width
};

// Access kinds of a recorded fault.
#define DR_ACC_WRITE 1u
#define DR_ACC_ATOMIC 2u

typedef struct dr_group {
	svmk_group k;
	int first, n;         // its items: sm->items[first .. first+n)
	int live, exited, waiting, barriers;
	int fail;
	int fail_item;        // local linear id
	int fail_barrier;
	int fail_exited;
	uint64_t fail_addr;   // DR_FAIL_SEGV, DR_FAIL_MISALIGNED: the faulting address
	int fail_sig;         // DR_FAIL_SEGV: SIGSEGV, SIGBUS or SIGFPE
	int fail_width;       // DR_FAIL_MISALIGNED: the atomic's width in bytes
	void *local;          // local memory (owned by Go)
} dr_group;

typedef struct dr_vma {
	uint64_t start, end;
	uint32_t prot; // 1 read, 2 write
	uint32_t pad;
} dr_vma;

// The simulated MMU's view of one launch (simgpu only).
typedef struct dr_mmu {
	uint64_t *(*pte)(uint64_t addr, int alloc);
	uint64_t *atomic_busy;      // the device's in-flight atomic counter (the service thread waits it out)
	uint64_t arena;             // base of the device's frames
	int dev;
	uint32_t bugs;              // DR_BUG_*
	dr_vma *vmas;               // CPU mappings, sorted (refreshed by Go each fault round)
	int nvmas;
	uint64_t *rmap;             // open-addressing set of remotely mapped pages: page | 1 (| 2 writable)
	uint64_t rmask;             // capacity - 1
	uint64_t rcount;
	uint64_t direct_lo[4], direct_hi[4]; // on-chip/private ranges: local memory, fiber stacks, the module
	int ndirect;
	int record;                 // a recording launch (record.c): host pages usable in place, no fast path
} dr_mmu;

// The svm core's page-state word, as the MMU's walk reads it: the state
// in bits 0..2, the owning device in bits 3..8, the frame in bits 9..35
// (the layout svm/internal/uffd defines; devrt cannot include that header,
// and TestPageWordLayoutMatchesSVM checks the two agree).
#define DR_PW_ST_MASK 7ULL
#define DR_PW_DEV_SHIFT 3
#define DR_PW_DEV_MASK 63ULL
#define DR_PW_FRAME_SHIFT 9
#define DR_PW_FRAME_MASK ((1ULL << 27) - 1)
enum {
	DR_PW_HOST = 0,   // the host page is the truth
	DR_PW_DEVICE = 1, // resident in a device frame
	DR_PW_DUP = 6,    // a read-only duplicate in a device frame
};

// One entry of an SM's access recording (record.c): work-item item's
// accesses to one page of one kind.
typedef struct dr_rec_entry {
	uint64_t item;  // global linear id
	uint64_t key;   // page address | kind (0 load, DR_ACC_WRITE store, | DR_ACC_ATOMIC atomic)
	uint64_t count; // accesses
	uint64_t bytes;
} dr_rec_entry;

typedef struct dr_rec {
	dr_rec_entry *e;   // in the order of their first access
	uint64_t n, cap;
	uint64_t *slot;    // open addressing: index + 1 of an entry, 0 empty
	uint64_t smask;    // table capacity - 1 (0: no table yet)
	uint64_t last;     // index + 1 of the entry used last
	int oom;           // an entry could not be had: the recording is incomplete
} dr_rec;

#define DR_BUG_IGNORE_PROT 1u
#define DR_BUG_TRUST_PT 2u

// One SM: a TLB, the work-items of its groups, their fibers.
typedef struct dr_sm {
	svmk_sm k;
	dr_mmu *mmu;                // NULL: native (host-direct) execution
	const svmk_launch *l;
	void (*tramp)(void **args);
	void (*loop)(void **args, svmk_item *first); // the group loop (native, barrier-free kernels), or NULL
	void (*iloop)(void **args, svmk_item *first); // the item loop (simulated MMU, barrier-free kernels), or NULL
	dr_group *groups;
	int ngroups;
	svmk_item *items;
	uint8_t *state;
	uint64_t *fault_addr;       // per item: the faulting address (DR_FAULT)
	uint8_t *fault_acc;
	uint8_t *effects;           // per item: it did something a restart would redo (an atomic, a barrier, a copy)
	uint8_t *restarts;          // per item: runs it gave up (DR_RESTART)
	uint8_t *made;              // per item: items[i] holds its ids (item_init, or fault()'s copy)
	void **fiber_of;            // per item: the fiber it is parked on
	int nitems;
	void *free_fibers;          // stacks ready for reuse
	int nfibers;                // stacks handed out
	int max_fibers;
	uint8_t *stacks;            // this SM's share of the stack arena
	void *sched_sp;             // the scheduler's saved context
	void *cur;                  // the running fiber
	uint8_t bounce[2][128];     // page-crossing accesses
	uint64_t bounce_addr;       // destination of a bounced store
	int runs;                   // fibers switched to (statistics)
	int fresh;                  // the running item has not parked since it (re)started
	int no_restart;             // the kernel writes __local memory directly: items never restart
	int waiting;                // items waiting for faults after the last dr_sm_run
	int64_t run_base[4];        // hits, misses, bytes, remote when the running item (re)started
	uint64_t unusable_page;     // a page a walk in this pass found unusable (~0: none) ...
	int unusable_write;         // ... for a write only (1) or for any access (0)
	int pos;                    // the scheduler's position in its pass over the items
	int group_size;
	uint64_t g0;                // linear index of the first assigned group
	int last_init;
	dr_group *init_group;       // the group of the item last made
	uint32_t warp;              // work-items per warp (SM.SetWarp); below 2, no lane stalls with another
	int stalled_to;             // fault(): the last lane it stalled with the item giving up (-1: none)
	struct {                    // the item that last gave its run up (fault()), for warp_stall
		int item;
		uint32_t acc;
		int64_t at;             // accesses its run made before the faulting one
		uint64_t addr;
	} gave_up;
	uint8_t *local_lo, *local_hi; // the groups' local memory
	dr_rec rec;                 // the access recording (mmu->record)
	struct dr_sm *reg_next, *reg_prev; // every SM of the process (sm.c's registry, for dr_addr_space)
} dr_sm;

// dr_sm_space says what of sm's own memory [a, a+n) reaches: 0 its fiber
// stacks (private memory), 3 its groups' local memory, 1 neither. The
// local range is read atomically: other SMs' threads ask (dr_addr_space)
// while the SM is given new groups.
static inline uint32_t dr_sm_space(const dr_sm *sm, uint64_t a, uint64_t n) {
	uint64_t s = (uint64_t)sm->stacks, e = a + n;
	if (e > s && a < s + (uint64_t)sm->max_fibers * SVMK_STACK_SIZE) return 0;
	uint64_t lo = (uint64_t)__atomic_load_n(&sm->local_lo, __ATOMIC_RELAXED);
	uint64_t hi = (uint64_t)__atomic_load_n(&sm->local_hi, __ATOMIC_RELAXED);
	if (e > lo && a < hi) return 3;
	return 1;
}

// A spin lock, for the runtime's rare and short critical sections
// (pthread.h cannot be had here, its sched.h being shadowed by ours).
static inline void dr_spin_lock(int *mu) {
	while (__atomic_exchange_n(mu, 1, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
}

static inline void dr_spin_unlock(int *mu) { __atomic_store_n(mu, 0, __ATOMIC_RELEASE); }

int dr_sm_run(dr_sm *sm);
uint32_t dr_addr_space(uint64_t a);
int dr_sm_run_loops(dr_sm *sm);
void *dr_stack_arena(uint64_t bytes);
void dr_stack_arena_free(void *p, uint64_t bytes);

// The runtime's own memory (rtmem.c): zeroed, on pages that hold nothing
// else, so the runtime's writes never pull a kernel's page back from a
// device.
void *dr_alloc(uint64_t n);
void *dr_pages(uint64_t len, uint64_t align, int noreserve);
void dr_pages_free(void *p, uint64_t len);
void *dr_realloc(void *p, uint64_t n);
void dr_free(void *p);
int dr_install_rt(void *slot);
int dr_mmu_remote_add(dr_mmu *m, uint64_t page, int writable);
void dr_mmu_remote_clear(dr_mmu *m);
void dr_tlb_flush(svmk_sm *sm);
void dr_rec_access(dr_sm *sm, const svmk_item *it, uint64_t addr, uint64_t size, uint32_t kind);
void dr_rec_reset(dr_sm *sm);
void dr_rec_free(dr_sm *sm);


// Arguments of a launch: per argument a pointer to its bytes; __local
// arguments name a size instead, and get a pointer into each group's local
// memory.
typedef struct dr_args {
	int n;
	void **ptrs;
	int nlocal;
	int *local_idx;
	uint64_t *local_size;
	uint64_t static_local; // bytes of static __local variables per group (the module's)
} dr_args;

dr_sm *dr_sm_new(uint32_t tlb_entries, uint32_t ways, int max_items);
int dr_sm_run_native(dr_sm *sm, const svmk_launch *l, void (*tramp)(void **), void (*loop)(void **, svmk_item *),
                     const dr_args *a, uint64_t *next, uint64_t total, uint64_t chunk, int *stop);
void dr_sm_free(dr_sm *sm);
int dr_sm_assign(dr_sm *sm, const svmk_launch *l, void (*tramp)(void **), void (*loop)(void **, svmk_item *),
                 void (*iloop)(void **, svmk_item *), const dr_args *a, uint64_t g0, int ng);

// One fault to service: the first access of a warp to a page among the
// SM's waiting items.
typedef struct dr_fault {
	uint64_t addr;          // the first waiting item's faulting address on the page
	uint64_t global_linear; // that item's global linear id
	uint32_t group;         // index among the SM's groups
	uint32_t acc;           // DR_ACC_* of every waiting access of the warp to the page
} dr_fault;

int dr_sm_faults(dr_sm *sm, uint32_t warp, dr_fault *out, int cap, uint64_t *digest);
void dr_sm_resume(dr_sm *sm, const uint64_t *bad_pages, int nbad, int abort_all);

#endif
