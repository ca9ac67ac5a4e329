// sm.c: creating SMs and giving them work-groups to run.
#define _GNU_SOURCE
#include "sched.h"

#include <stdlib.h>
#include <string.h>

typedef struct dr_sm_buf {
	dr_group *groups;
	int groups_cap;
	void **argv;        // ngroups * nargs
	uint64_t *lslots;   // ngroups * nlocal
	uint8_t *local;     // ngroups * local_bytes
	uint64_t local_cap;
	uint64_t argv_cap, lslots_cap;
} dr_sm_buf;

// The registry of every SM in the process, for dr_addr_space: a pointer
// into any SM's fiber stacks is private memory and one into any SM's
// groups' local memory is local, whoever it belongs to (a GPU's apertures).
// reg_mu (dr_spin_lock) is taken on SM creation and release and by
// dr_addr_space, which runs only for generic pointers outside the running
// item's own stack and group. An SM is registered once it has its stacks.
static int reg_mu;
static dr_sm *reg_head;

static void reg_add(dr_sm *sm) {
	dr_spin_lock(&reg_mu);
	sm->reg_prev = NULL;
	sm->reg_next = reg_head;
	if (reg_head) reg_head->reg_prev = sm;
	reg_head = sm;
	dr_spin_unlock(&reg_mu);
}

static void reg_remove(dr_sm *sm) {
	if (!sm->stacks) return; // dr_sm_new failed before reg_add
	dr_spin_lock(&reg_mu);
	if (sm->reg_prev) sm->reg_prev->reg_next = sm->reg_next;
	else reg_head = sm->reg_next;
	if (sm->reg_next) sm->reg_next->reg_prev = sm->reg_prev;
	dr_spin_unlock(&reg_mu);
}

// dr_addr_space is the named address space of a: 0 (private) in any SM's
// fiber stacks, 3 (local) in any SM's groups' local memory, else 1
// (global). An SM being given new groups meanwhile may be seen with its old
// or new local range: either is its local memory.
uint32_t dr_addr_space(uint64_t a) {
	uint32_t as = 1;
	dr_spin_lock(&reg_mu);
	for (dr_sm *sm = reg_head; sm && as == 1; sm = sm->reg_next) as = dr_sm_space(sm, a, 1);
	dr_spin_unlock(&reg_mu);
	return as;
}

static uint32_t pow2(uint32_t n) {
	uint32_t p = 1;
	while (p < n) p <<= 1;
	return p;
}

// dr_sm_new makes an SM. The SM and its arrays are one block of the
// runtime's own memory, laid out one after the other (64-byte aligned).
dr_sm *dr_sm_new(uint32_t tlb_entries, uint32_t ways, int max_items) {
	tlb_entries = pow2(tlb_entries ? tlb_entries : 1);
	ways = pow2(ways ? ways : 1);
	if (ways > tlb_entries) ways = tlb_entries;
	uint64_t n = (uint64_t)max_items, at = 0;
#define DR_PLACE(bytes) (at = (at + 63) & ~63ULL, at += (bytes), at - (bytes))
	uint64_t o_sm = DR_PLACE(sizeof(dr_sm) + sizeof(dr_sm_buf));
	uint64_t o_tlb = DR_PLACE((uint64_t)tlb_entries * sizeof(svmk_tlbe));
	uint64_t o_items = DR_PLACE(n * sizeof(svmk_item));
	uint64_t o_state = DR_PLACE(n);
	uint64_t o_addr = DR_PLACE(n * 8);
	uint64_t o_acc = DR_PLACE(n);
	uint64_t o_eff = DR_PLACE(n);
	uint64_t o_rst = DR_PLACE(n);
	uint64_t o_made = DR_PLACE(n);
	uint64_t o_fib = DR_PLACE(n * sizeof(void *));
#undef DR_PLACE
	uint8_t *block = dr_alloc(at);
	if (!block) return NULL;
	dr_sm *sm = (dr_sm *)(block + o_sm);
	uint32_t sets = tlb_entries / ways, shift = 0;
	while ((1u << shift) < ways) shift++;
	sm->k.tlb = (svmk_tlbe *)(block + o_tlb);
	sm->k.set_mask = sets - 1;
	sm->k.ways = ways;
	sm->k.ways_shift = shift;
	while ((1u << sm->k.set_bits) < sets) sm->k.set_bits++;
	dr_tlb_flush(&sm->k);
	sm->nitems = 0;
	sm->items = (svmk_item *)(block + o_items);
	sm->state = block + o_state;
	sm->fault_addr = (uint64_t *)(block + o_addr);
	sm->fault_acc = block + o_acc;
	sm->effects = block + o_eff;
	sm->restarts = block + o_rst;
	sm->made = block + o_made;
	sm->fiber_of = (void *)(block + o_fib);
	sm->max_fibers = max_items;
	sm->stacks = dr_stack_arena((uint64_t)max_items * SVMK_STACK_SIZE);
	if (!sm->stacks) {
		dr_sm_free(sm);
		return NULL;
	}
	reg_add(sm);
	return sm;
}

void dr_sm_free(dr_sm *sm) {
	if (!sm) return;
	reg_remove(sm);
	dr_sm_buf *b = (dr_sm_buf *)(sm + 1);
	dr_free(b->groups);
	dr_free(b->argv);
	dr_free(b->lslots);
	dr_free(b->local);
	dr_stack_arena_free(sm->stacks, (uint64_t)sm->max_fibers * SVMK_STACK_SIZE);
	dr_rec_free(sm);
	dr_free(sm); // the block starts with the SM
}

static int grow(void **p, uint64_t *cap, uint64_t need) {
	if (need <= *cap) return 0;
	void *n = dr_realloc(*p, need);
	if (!n) return -1;
	*p = n;
	*cap = need;
	return 0;
}

// dr_sm_assign gives the SM work-groups g0 .. g0+ng-1 (linear indices,
// dimension 0 fastest) of launch l: their items start as DR_NEW (their ids
// are filled in when they first start), their local memory zeroed. The SM
// must have room for ng * group-size items. loop, if not NULL, is the
// kernel's group loop, used when the SM runs natively; iloop, if not NULL,
// its item loop, used when the SM has a simulated MMU.
int dr_sm_assign(dr_sm *sm, const svmk_launch *l, void (*tramp)(void **), void (*loop)(void **, svmk_item *),
                 void (*iloop)(void **, svmk_item *), const dr_args *a, uint64_t g0, int ng) {
	dr_sm_buf *b = (dr_sm_buf *)(sm + 1);
	uint64_t gs = l->lsize[0] * l->lsize[1] * l->lsize[2];
	if ((uint64_t)ng * gs > (uint64_t)sm->max_fibers) return -1;
	uint64_t lbytes = 0;
	for (int j = 0; j < a->nlocal; j++) lbytes += (a->local_size[j] + 63) & ~63ULL;
	uint64_t static_at = lbytes; // the static __local block follows the arguments' memory
	lbytes += (a->static_local + 63) & ~63ULL;
	if (ng > b->groups_cap) {
		dr_group *n = dr_realloc(b->groups, sizeof(dr_group) * ng);
		if (!n) return -1;
		b->groups = n;
		b->groups_cap = ng;
	}
	uint64_t cap;
	cap = b->argv_cap;
	if (grow((void **)&b->argv, &cap, sizeof(void *) * (uint64_t)ng * (a->n ? a->n : 1))) return -1;
	b->argv_cap = cap;
	cap = b->lslots_cap;
	if (grow((void **)&b->lslots, &cap, 8 * (uint64_t)ng * (a->nlocal ? a->nlocal : 1))) return -1;
	b->lslots_cap = cap;
	cap = b->local_cap;
	if (lbytes && grow((void **)&b->local, &cap, lbytes * ng)) return -1;
	b->local_cap = cap;
	if (lbytes) memset(b->local, 0, lbytes * ng);
	// Atomic stores: dr_addr_space reads them from other SMs' threads.
	__atomic_store_n(&sm->local_lo, b->local, __ATOMIC_RELAXED);
	__atomic_store_n(&sm->local_hi, b->local + lbytes * ng, __ATOMIC_RELAXED);

	sm->l = l;
	sm->tramp = tramp;
	sm->g0 = g0;
	// A simulated MMU parks and restarts items mid-group: a group loop,
	// which runs the group as one call, cannot stop at an item; an item
	// loop hands each item back to the scheduler's bookkeeping (sched.c).
	sm->loop = sm->mmu ? NULL : loop;
	sm->iloop = sm->mmu ? iloop : NULL;
	sm->groups = b->groups;
	sm->ngroups = ng;
	sm->nitems = (int)(ng * gs);
	sm->free_fibers = NULL;
	sm->nfibers = 0;
	sm->group_size = (int)gs;
	// Items get their ids when they first start (item_init; made[i] 0
	// until then: a byte per item to clear, not a cache line of items).
	memset(sm->made, 0, sm->nitems);
	sm->last_init = -2;
	sm->gave_up.item = -2;
	sm->stalled_to = -1;
	sm->init_group = NULL;
	memset(sm->state, DR_NEW, sm->nitems);
	memset(sm->effects, 0, sm->nitems);
	memset(sm->restarts, 0, sm->nitems);
	for (int k = 0; k < ng; k++) {
		uint64_t lin = g0 + k;
		dr_group *g = &b->groups[k];
		memset(g, 0, sizeof *g);
		g->k.id[0] = lin % l->ngroups[0];
		g->k.id[1] = (lin / l->ngroups[0]) % l->ngroups[1];
		g->k.id[2] = lin / (l->ngroups[0] * l->ngroups[1]);
		void **argv = b->argv + (uint64_t)k * a->n;
		uint64_t *slots = b->lslots + (uint64_t)k * a->nlocal;
		if (a->n) memcpy(argv, a->ptrs, sizeof(void *) * a->n);
		uint8_t *lm = b->local + lbytes * k;
		g->local = lm;
		for (int j = 0; j < a->nlocal; j++) {
			slots[j] = (uint64_t)lm;
			argv[a->local_idx[j]] = &slots[j];
			lm += (a->local_size[j] + 63) & ~63ULL;
		}
		g->k.args = argv;
		g->k.static_local = a->static_local ? b->local + lbytes * k + static_at : NULL;
		g->k.local_lo = b->local + lbytes * k;
		g->k.local_hi = g->k.local_lo + lbytes;
		g->first = (int)(k * gs);
		g->n = (int)gs;
		g->live = (int)gs;
	}
	return 0;
}

// dr_sm_run_native runs work-groups of l natively (no MMU) on this SM, one
// at a time, taking them chunk at a time from the shared counter *next
// until there are total or *stop is set (by another worker's failure or by
// cancellation): the whole of one cpu worker's share in one call from Go.
// Chunks, not single groups: a counter bumped per group bounces its cache
// line between the workers' cores at every group (measured: two workers
// took 0.69 ns per saxpy element where one took 0.48). It returns 1 if a
// group failed (the SM's failures say which), -1 if groups could not be
// assigned, 0 otherwise.
int dr_sm_run_native(dr_sm *sm, const svmk_launch *l, void (*tramp)(void **), void (*loop)(void **, svmk_item *),
                     const dr_args *a, uint64_t *next, uint64_t total, uint64_t chunk, int *stop) {
	if (chunk == 0) chunk = 1;
	for (;;) {
		uint64_t g0 = __atomic_fetch_add(next, chunk, __ATOMIC_RELAXED);
		if (g0 >= total) return 0;
		uint64_t g1 = g0 + chunk < total ? g0 + chunk : total;
		for (uint64_t g = g0; g < g1; g++) {
			if (__atomic_load_n(stop, __ATOMIC_RELAXED)) return 0;
			if (dr_sm_assign(sm, l, tramp, loop, NULL, a, g, 1) != 0) {
				__atomic_store_n(stop, 1, __ATOMIC_RELAXED);
				return -1;
			}
			if (sm->loop) dr_sm_run_loops(sm);
			else dr_sm_run(sm);
			if (sm->groups[0].fail) {
				__atomic_store_n(stop, 1, __ATOMIC_RELAXED);
				return 1;
			}
		}
	}
}
