// svmk.h: the ABI between a compiled kernel module and svmrt's device runtime.
//
// A kernel module is OpenCL C compiled by clang, linked with the builtins
// library and with svmk_rt.c (the kernel-side half of this ABI), and loaded
// with dlopen. The runtime half (internal/devrt's scheduler, in the Go
// binary) runs work-items on fibers: stacks of SVMK_STACK_SIZE bytes aligned
// to their size, whose top SVMK_FIBER_RESERVE bytes hold a svmk_fiber. The
// kernel side finds the current work-item from the stack pointer alone
// (svmk_cur), so no thread-local storage and no extra kernel parameter is
// needed, and a work-item function is two loads.
//
// Every field the kernel side reads is set before the work-item runs and not
// changed while it runs, except the SM's counters and TLB, which only the
// thread running that SM touches. (A loop over work-items — a group loop, an
// item loop — rewrites its item's ids between two work-items, in calls the
// compiler cannot see through or in the loop's own code.) Layout changes
// must bump SVMK_ABI.
#ifndef SVMK_H
#define SVMK_H

#include <stdint.h>

#define SVMK_ABI 7

#define SVMK_STACK_SHIFT 16
#define SVMK_STACK_SIZE (1ULL << SVMK_STACK_SHIFT) // per fiber, aligned to its size
#define SVMK_FIBER_RESERVE 256ULL                    // the svmk_fiber at the top of each stack

#define SVMK_PAGE_SHIFT 12
#define SVMK_PAGE_SIZE 4096ULL
#define SVMK_PAGE_MASK (SVMK_PAGE_SIZE - 1)

// TLB entry flags.
#define SVMK_TLB_WRITABLE 1u
#define SVMK_TLB_REMOTE 2u // host memory over the link: counts remote accesses
#define SVMK_TLB_DIRECT 4u // on-chip or private memory (local, stacks, module constants): not counted

// One cached translation. Valid while *pte == word (the page-state word
// carries a sequence number, so any change of the page misses); direct
// entries point pte at a constant word.
#define SVMK_NO_FAST (~0ULL) // a fast_vpn no address has

// svmk_set_index is the TLB set of a virtual page number: the low bits
// folded with the next ones, so that arrays a multiple of the set span
// (sets × 4 KiB, 2 MiB by default) apart do not fall into the same sets.
// Which bits a GPU's L1 TLB indexes with is not published; folding is a
// simulator choice.
static inline uint64_t svmk_set_index(uint64_t vpn, uint64_t set_mask, uint32_t set_bits) {
	return (vpn ^ (vpn >> set_bits)) & set_mask;
}

typedef struct svmk_tlbe {
	uint64_t vpn;
	uint64_t *pte;
	uint64_t word;
	uint64_t base;   // address of the page's backing memory
	// fast_vpn is what the inlined fast path compares: vpn for device
	// memory, SVMK_NO_FAST for remote and direct entries, so their accesses
	// always take the slow path, which counts remote accesses and leaves
	// their bytes out of device-memory traffic. The fast path then counts
	// only hits and bytes.
	uint64_t fast_vpn;
	uint32_t flags;
	uint32_t pad;
} svmk_tlbe;

// One compute unit (SM): its L1 TLB, shared by every warp it runs, and its
// counters. Owned by the thread running the SM.
typedef struct svmk_sm {
	svmk_tlbe *tlb;    // sets * ways entries; the MRU way of set s is tlb[s << ways_shift]
	uint64_t set_mask;
	uint32_t ways_shift, ways;
	uint32_t set_bits, pad_;  // log2(sets)
	int64_t hits, misses, bytes, remote;
} svmk_sm;

struct svmk_group;
struct svmk_launch;

// One work-item.
typedef struct svmk_item {
	uint64_t gid[3]; // global id, offset included; 0 in unused dimensions
	uint64_t lid[3];
	struct svmk_group *grp;
	svmk_sm *sm;
	const struct svmk_launch *l;
	uint64_t *st_pte; // the translation the last store used, re-checked after it
	uint64_t st_word;
	uint32_t local_linear;
	uint32_t pad;
	uint64_t global_linear;
} svmk_item;

typedef struct svmk_group {
	uint64_t id[3];
	void **args;      // per-argument pointers to the argument bytes (local pointers resolved per group)
	void *static_local; // the group's block of static __local variables (devrt's staticlocal.go)
	uint8_t *local_lo, *local_hi; // all of the group's __local memory (arguments' and static): to_local
} svmk_group;

typedef struct svmk_launch {
	uint32_t work_dim;
	uint32_t pad;
	uint64_t gsize[3], lsize[3], ngroups[3], offset[3];
} svmk_launch;

// The fiber header at the top of every fiber stack.
typedef struct svmk_fiber {
	svmk_item *item;
	void *priv[9];    // the scheduler's (the rest of its dr_fiber)
} svmk_fiber;

// Atomic read-modify-write operations (svmk_rt.rmw).
enum {
	SVMK_RMW_XCHG, SVMK_RMW_ADD, SVMK_RMW_SUB, SVMK_RMW_AND, SVMK_RMW_NAND, SVMK_RMW_OR, SVMK_RMW_XOR,
	SVMK_RMW_MAX, SVMK_RMW_MIN, SVMK_RMW_UMAX, SVMK_RMW_UMIN, SVMK_RMW_FADD, SVMK_RMW_FSUB,
};

// The runtime's slow paths, reached through the module's __svm_rt pointer.
typedef struct svmk_rt {
	uint32_t abi;
	uint32_t pad;
	void *(*ld_slow)(svmk_item *it, uint64_t addr, uint64_t size);
	void *(*st_slow)(svmk_item *it, uint64_t addr, uint64_t size);
	void (*st_replay)(svmk_item *it, void *h, uint64_t size);
	void (*barrier)(svmk_item *it, uint32_t flags);
	// width is 4 or 8; float operations pass and return the bits.
	uint64_t (*rmw)(svmk_item *it, uint64_t addr, int op, int width, uint64_t v);
	uint64_t (*cas)(svmk_item *it, uint64_t addr, int width, uint64_t cmp, uint64_t nv);
	void (*mcopy)(svmk_item *it, uint64_t dst, uint64_t src, uint64_t n);
	void (*mset)(svmk_item *it, uint64_t dst, int c, uint64_t n);
	// Item loops (simulated GPU): ends the work-item the loop ran last, if
	// any, and makes it the next one; 0 when the loop's run is over.
	_Bool (*iloop_next)(svmk_item *it);
	// The named address space of a pointer that is not into the running
	// item's own stack or its group's __local memory (__svm_addr_space).
	uint32_t (*addr_space)(svmk_item *it, uint64_t addr);
} svmk_rt;

// svmk_cur returns the running work-item: the fiber header sits at the top
// of the SVMK_STACK_SIZE-aligned stack the current stack pointer is in.
//
// The lookups are inline assembly with no memory operands, which the
// compiler treats as pure: within one work-item's run they are computed
// once and stay in registers, instead of being reloaded after every store
// the kernel makes (a store through a kernel pointer might, as far as the
// compiler knows, alias the fiber header or the SM). That is sound because
// none of them changes while a work-item runs: an item runs on one fiber
// of one SM, and an SM's TLB array and geometry are fixed for its life. Nor
// while a loop over work-items runs: the fiber header names the loop's
// item throughout, whose ids change (they are read through the pointer,
// as memory) but whose address does not.
#define SVMK_HDR_OFF (1 - (long)SVMK_FIBER_RESERVE) // from (rsp | (STACK_SIZE-1)) to the header
#define SVMK_SM_OFF 56                              // offsetof(svmk_item, sm)
#define SVMK_TLB_OFF 0                              // offsetof(svmk_sm, tlb)
#define SVMK_SETMASK_OFF 8                          // offsetof(svmk_sm, set_mask)
#define SVMK_WAYSHIFT_OFF 16                        // offsetof(svmk_sm, ways_shift)
#define SVMK_SETBITS_OFF 24                         // offsetof(svmk_sm, set_bits)

static inline svmk_item *svmk_cur(void) {
	svmk_item *it;
	__asm__("mov %%rsp, %0\n\tor %1, %0\n\tmov %c2(%0), %0"
	        : "=r"(it)
	        : "i"(SVMK_STACK_SIZE - 1), "i"(SVMK_HDR_OFF));
	return it;
}

// svmk_cur_sm returns the SM the running work-item is on.
static inline svmk_sm *svmk_cur_sm(void) {
	svmk_sm *sm;
	__asm__("mov %%rsp, %0\n\tor %1, %0\n\tmov %c2(%0), %0\n\tmov %c3(%0), %0"
	        : "=r"(sm)
	        : "i"(SVMK_STACK_SIZE - 1), "i"(SVMK_HDR_OFF), "i"(SVMK_SM_OFF));
	return sm;
}

// svmk_sm_word returns the 64-bit field at byte offset off of the running
// work-item's SM (its TLB pointer, set mask, ways shift).
#define svmk_sm_word(off)                                                                    \
	({                                                                                       \
		uint64_t v_;                                                                         \
		__asm__("mov %%rsp, %0\n\tor %1, %0\n\tmov %c2(%0), %0\n\tmov %c3(%0), %0\n\tmov %c4(%0), %0" \
		        : "=r"(v_)                                                                   \
		        : "i"(SVMK_STACK_SIZE - 1), "i"(SVMK_HDR_OFF), "i"(SVMK_SM_OFF), "i"(off));  \
		v_;                                                                                  \
	})

_Static_assert(__builtin_offsetof(svmk_item, sm) == SVMK_SM_OFF, "svmk_item.sm moved");
_Static_assert(__builtin_offsetof(svmk_sm, tlb) == SVMK_TLB_OFF, "svmk_sm.tlb moved");
_Static_assert(__builtin_offsetof(svmk_sm, set_mask) == SVMK_SETMASK_OFF, "svmk_sm.set_mask moved");
_Static_assert(__builtin_offsetof(svmk_sm, ways_shift) == SVMK_WAYSHIFT_OFF, "svmk_sm.ways_shift moved");
_Static_assert(__builtin_offsetof(svmk_sm, set_bits) == SVMK_SETBITS_OFF, "svmk_sm.set_bits moved");
_Static_assert(__builtin_offsetof(svmk_fiber, item) == 0, "svmk_fiber.item moved");

#endif
