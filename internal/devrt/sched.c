// sched.c: fibers, the per-SM scheduler, barriers and the simulated MMU's
// slow paths (the runtime half of the svmk ABI). See doc.go for the model.
#define _GNU_SOURCE
#include "sched.h"
#include "trap.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

// ---- context switch (x86-64 System V) -------------------------------------
//
// dr_switch saves the callee-saved general registers on the current stack, stores the stack pointer in *save and continues on
// the stack `to` (a context saved by dr_switch, or a fresh one made by
// fiber_init). Nothing else is preserved: a switch is a function call, and
// the MXCSR and x87 control words, callee-saved too, are never changed by
// kernel code (OpenCL C has no way to change the rounding mode).
void dr_switch(void **save, void *to);
void dr_fiber_start(void);
__asm__(
    ".text\n"
    ".globl dr_switch\n"
    ".type dr_switch,@function\n"
    "dr_switch:\n"
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".size dr_switch,.-dr_switch\n"
    ".globl dr_fiber_start\n"
    ".type dr_fiber_start,@function\n"
    "dr_fiber_start:\n"
    "  movq %r12, %rdi\n"
    "  call dr_fiber_main\n"
    "  ud2\n"
    ".size dr_fiber_start,.-dr_fiber_start\n");

// How an item loop's next step (rt_iloop_next) goes: run the item start()
// made; end the item just run and start the next; start the next after the
// item just run gave its run up (fault(): not ended, it is DR_RESTART).
enum { DR_LOOP_THIS = 1, DR_LOOP_NEXT, DR_LOOP_AFTER_RESTART };

// A fiber is a SVMK_STACK_SIZE-aligned stack whose top holds this header
// (its first field is svmk_fiber.item, which the kernel side reads).
typedef struct dr_fiber {
	svmk_item *item;
	void *sp;
	dr_sm *sm;
	int idx;                 // the item's index in sm->items
	int lfirst;              // how an item loop's next step goes (DR_LOOP_*, rt_iloop_next)
	struct dr_fiber *next;   // free list
	void *restart_jb[5];     // where the running item's run began (__builtin_setjmp), for fault() to give it up
} dr_fiber;

_Static_assert(sizeof(dr_fiber) <= SVMK_FIBER_RESERVE, "fiber header too large");

static dr_fiber *fiber_at(uint8_t *stack) {
	return (dr_fiber *)(stack + SVMK_STACK_SIZE - SVMK_FIBER_RESERVE);
}

// fiber_init makes a fresh context on f's stack that enters dr_fiber_main(f).
static void fiber_init(dr_fiber *f) {
	uint64_t *sp = (uint64_t *)((uint8_t *)f - 56); // popping 56 bytes lands 16-aligned, on f
	sp[0] = 0;                 // r15
	sp[1] = 0;                 // r14
	sp[2] = 0;                 // r13
	sp[3] = (uint64_t)f;       // r12: dr_fiber_start passes it on
	sp[4] = 0;                 // rbx
	sp[5] = 0;                 // rbp
	sp[6] = (uint64_t)dr_fiber_start;
	f->sp = sp;
}

// The fiber stacks, aligned to their size (the kernel finds its item from
// the stack pointer), in the runtime's own region (rtmem.c).
void *dr_stack_arena(uint64_t bytes) { return dr_pages(bytes, SVMK_STACK_SIZE, 1); }

void dr_stack_arena_free(void *p, uint64_t bytes) { dr_pages_free(p, bytes); }

static dr_fiber *fiber_get(dr_sm *sm) {
	dr_fiber *f = sm->free_fibers;
	if (f) {
		sm->free_fibers = f->next;
		return f;
	}
	if (sm->nfibers >= sm->max_fibers) return NULL;
	f = fiber_at(sm->stacks + (uint64_t)sm->nfibers * SVMK_STACK_SIZE);
	sm->nfibers++;
	f->sm = sm;
	return f;
}

static void fiber_put(dr_sm *sm, dr_fiber *f) {
	f->item = NULL;
	f->next = sm->free_fibers;
	sm->free_fibers = f;
}

// to_sched leaves the running fiber for the scheduler. The fiber resumes
// here if the scheduler switches back to it.
static void to_sched(dr_sm *sm, dr_fiber *f) { dr_switch(&f->sp, sm->sched_sp); }

static dr_fiber *cur_fiber(void) {
	uintptr_t sp;
	__asm__("mov %%rsp, %0" : "=r"(sp));
	return (dr_fiber *)(((sp | (SVMK_STACK_SIZE - 1)) + 1) - SVMK_FIBER_RESERVE);
}

// ---- groups and barriers ----------------------------------------------------

static dr_group *group_of(dr_sm *sm, svmk_item *it) { return (dr_group *)it->grp; }

// group_fail records the first failure of g and kills its parked items.
static void group_fail(dr_sm *sm, dr_group *g, int why, int item) {
	if (g->fail == DR_FAIL_NONE) {
		g->fail = why;
		g->fail_item = item;
		g->fail_barrier = g->barriers + 1;
		g->fail_exited = g->exited;
	}
	for (int i = g->first; i < g->first + g->n; i++) {
		switch (sm->state[i]) {
		case DR_BARRIER:
		case DR_FAULT:
		case DR_READY:
			fiber_put(sm, sm->fiber_of[i]);
			sm->fiber_of[i] = NULL;
			sm->state[i] = DR_DEAD;
			break;
		case DR_NEW:
		case DR_RESTART:
			sm->state[i] = DR_DEAD;
			break;
		}
	}
}

// die ends the running item for good (its group failed or it was aborted).
__attribute__((noreturn)) static void die(dr_sm *sm, dr_fiber *f) {
	sm->state[f->idx] = DR_DEAD;
	for (;;) to_sched(sm, f); // the scheduler never resumes a dead item
}

static void rt_barrier(svmk_item *it, uint32_t flags) {
	(void)flags;
	dr_fiber *f = cur_fiber();
	dr_sm *sm = f->sm;
	dr_group *g = group_of(sm, it);
	sm->effects[f->idx] = 1; // the group counts its barriers: a restart would pass this one twice
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (g->fail) die(sm, f);
	if (g->exited > 0) {
		group_fail(sm, g, DR_FAIL_DIVERGE_LATE, (int)it->local_linear);
		die(sm, f);
	}
	if (g->n == 1) {
		g->barriers++;
		return;
	}
	g->waiting++;
	if (g->waiting == g->live) {
		// The last to arrive releases the others and goes on.
		for (int i = g->first; i < g->first + g->n; i++)
			if (sm->state[i] == DR_BARRIER) sm->state[i] = DR_READY;
		g->waiting = 0;
		g->barriers++;
		return;
	}
	sm->state[f->idx] = DR_BARRIER;
	to_sched(sm, f);
	if (g->fail) die(sm, f);
}

// next_new returns the item after i if the scheduler would start it next
// (it is new and its group has not failed), else -1.
static int next_new(dr_sm *sm, int i, dr_group *g) {
	int j = i + 1;
	if (j >= sm->nitems || sm->state[j] != DR_NEW) return -1;
	if (j >= g->first + g->n) g++;
	return g->fail ? -1 : j;
}

// item_init fills in item i's ids. Items are made when they first start
// (a launch may have millions); consecutive items reuse the previous one's
// coordinates instead of dividing.
static void item_init(dr_sm *sm, int i) {
	svmk_item *wi = &sm->items[i];
	dr_group *g = sm->init_group;
	if (!g || i < g->first || i >= g->first + g->n) g = sm->init_group = &sm->groups[i / sm->group_size];
	const svmk_launch *l = sm->l;
	uint32_t k = (uint32_t)(i - g->first);
	uint64_t x, y, z;
	if (i == sm->last_init + 1 && k != 0) {
		svmk_item *p = &sm->items[i - 1];
		x = p->lid[0] + 1, y = p->lid[1], z = p->lid[2];
		if (x == l->lsize[0]) {
			x = 0;
			if (++y == l->lsize[1]) y = 0, z++;
		}
	} else {
		uint32_t l0 = (uint32_t)l->lsize[0], l1 = (uint32_t)l->lsize[1];
		x = k % l0, y = (k / l0) % l1, z = k / (l0 * l1);
	}
	sm->last_init = i;
	wi->lid[0] = x, wi->lid[1] = y, wi->lid[2] = z;
	uint64_t gx = g->k.id[0] * l->lsize[0] + x, gy = g->k.id[1] * l->lsize[1] + y, gz = g->k.id[2] * l->lsize[2] + z;
	wi->gid[0] = gx + l->offset[0];
	wi->gid[1] = l->work_dim > 1 ? gy + l->offset[1] : 0;
	wi->gid[2] = l->work_dim > 2 ? gz + l->offset[2] : 0;
	wi->grp = &g->k;
	wi->sm = &sm->k;
	wi->l = l;
	wi->local_linear = k;
	wi->global_linear = (gz * l->gsize[1] + gy) * l->gsize[0] + gx;
	wi->st_pte = 0;
	sm->made[i] = 1;
}

// begin makes item i the one running on f, from the beginning: its state,
// and the counters a restart goes back to.
static void begin(dr_sm *sm, dr_fiber *f, int i) {
	f->idx = i;
	sm->state[i] = DR_RUN;
	sm->pos = i;
	sm->fresh = 1;
	sm->run_base[0] = sm->k.hits;
	sm->run_base[1] = sm->k.misses;
	sm->run_base[2] = sm->k.bytes;
	sm->run_base[3] = sm->k.remote;
}

// start prepares item i to run on f, from the beginning, in its own item.
static void start(dr_sm *sm, dr_fiber *f, int i) {
	if (!sm->made[i]) item_init(sm, i); // first start
	f->item = &sm->items[i];
	f->lfirst = DR_LOOP_THIS;
	begin(sm, f, i);
}

// item_next makes it, which holds the ids of item i, hold those of item
// i+1 of the same group g: item_init's arithmetic, without a division,
// from the previous item's coordinates.
static void item_next(dr_sm *sm, dr_group *g, svmk_item *it) {
	const svmk_launch *l = sm->l;
	uint64_t x = it->lid[0] + 1;
	it->local_linear++;
	it->st_pte = 0;
	if (x < l->lsize[0]) { // along the row: dimension 0 moves by one
		it->lid[0] = x;
		it->gid[0]++;
		it->global_linear++;
		return;
	}
	uint64_t y = it->lid[1] + 1, z = it->lid[2];
	if (y == l->lsize[1]) y = 0, z++;
	it->lid[0] = 0, it->lid[1] = y, it->lid[2] = z;
	uint64_t gx = g->k.id[0] * l->lsize[0], gy = g->k.id[1] * l->lsize[1] + y, gz = g->k.id[2] * l->lsize[2] + z;
	it->gid[0] = gx + l->offset[0];
	it->gid[1] = l->work_dim > 1 ? gy + l->offset[1] : 0;
	it->gid[2] = l->work_dim > 2 ? gz + l->offset[2] : 0;
	it->global_linear = (gz * l->gsize[1] + gy) * l->gsize[0] + gx;
}

// rt_iloop_next is an item loop's step (clc.ItemLoops; the simulated GPU's
// kernels without barriers). The loop runs on the fiber of the item start()
// made, with that item's svmk_item — the run's item, whose ids it rewrites
// for each of the following ones, so the fiber header never changes. The
// first call runs that item; each later one ends the item the loop has
// just run, as dr_fiber_main ends an item its trampoline returned from,
// and starts the next one as start() would, if the scheduler would start
// it next anyway (next_new, within the group): same items, same order,
// same state and counters as one trampoline call per item. Everything the
// scheduler keeps per item is indexed by f->idx, which follows the loop;
// only the ids live in the run's item instead of the item's own (fault()
// copies them there when anything else will read them).
static _Bool rt_iloop_next(svmk_item *it) {
	dr_fiber *f = cur_fiber();
	dr_sm *sm = f->sm;
	int i = f->idx;
	dr_group *g = group_of(sm, it);
	if (f->lfirst == DR_LOOP_THIS) {
		f->lfirst = DR_LOOP_NEXT;
		return 1;
	}
	if (f->lfirst == DR_LOOP_AFTER_RESTART) {
		f->lfirst = DR_LOOP_NEXT; // i gave its run up: it is not ended
	} else {
		g->live--;
		g->exited++;
		sm->state[i] = DR_DONE;
		if (g->waiting > 0 && !g->fail) group_fail(sm, g, DR_FAIL_DIVERGE_EXIT, (int)it->local_linear);
	}
	int j = i + 1;
	if (j >= g->first + g->n || sm->state[j] != DR_NEW || g->fail) return 0;
	item_next(sm, g, it);
	// The run's item no longer holds the ids of the item it is: item_init
	// must not build on it.
	sm->last_init = -2;
	begin(sm, f, j);
	return 1;
}

// dr_fiber_main runs f's item to its end, then — so that a run of items
// that never block costs no context switch — the following items for as
// long as the scheduler would start them next anyway (same order, same
// results). With an item loop, the items of one group in that run are
// one call of the loop.
void dr_fiber_main(dr_fiber *f) {
	dr_sm *sm = f->sm;
	for (;;) {
		svmk_item *it = f->item;
		dr_group *g = group_of(sm, it);
		if (sm->loop && it->local_linear == 0) {
			// The whole group in one loop: no item waits for another.
			sm->loop(g->k.args, it);
			memset(&sm->state[g->first], DR_DONE, g->n);
			g->live = 0;
			g->exited = g->n;
			f->idx = g->first + g->n - 1;
			sm->last_init = f->idx;
			sm->pos = f->idx;
		} else if (__builtin_setjmp(f->restart_jb) == 0) {
			if (sm->iloop) {
				// Items of g, from this one, each ended as below (by
				// rt_iloop_next) until the next is not for this run; a
				// restart leaves the loop by the long jump (and the loop
				// goes on below), a trap by run_fiber's.
				sm->iloop(g->k.args, it); // f->lfirst: DR_LOOP_THIS (start()) or DR_LOOP_AFTER_RESTART (below)
			} else {
				sm->tramp(g->k.args);
				g->live--;
				g->exited++;
				sm->state[f->idx] = DR_DONE;
				// Returned while others wait at a barrier: they never get out.
				if (g->waiting > 0 && !g->fail) group_fail(sm, g, DR_FAIL_DIVERGE_EXIT, (int)it->local_linear);
			}
		} else if (sm->stalled_to >= 0) {
			// fault() gave item f->idx's run up and stalled the warp's
			// lanes after it (warp_stall): the fiber goes on after them.
			f->idx = sm->pos = sm->stalled_to;
			sm->stalled_to = -1;
		} else if (sm->iloop) {
			// fault() gave item f->idx's run up (DR_RESTART). If the next
			// item is this run's, the loop goes on with it, from the ids
			// of the one that gave up (rt_iloop_next): no new run. If the
			// run's item is that one's own, it keeps them (dr_sm_faults and
			// its next start() read them): the run goes on in a copy, the
			// next item's own.
			svmk_item *run = f->item;
			dr_group *rg = group_of(sm, run);
			int i = f->idx, j = next_new(sm, i, rg);
			if (j >= 0 && j < rg->first + rg->n) {
				if (run == &sm->items[i]) {
					sm->items[j] = *run;
					f->item = &sm->items[j];
				}
				f->lfirst = DR_LOOP_AFTER_RESTART;
				continue;
			}
		} // else fault() gave the run up: the item is DR_RESTART (still live: it will reach the
		  // barrier when it runs again), and the fiber goes on with the next one
		int j = next_new(sm, f->idx, g);
		if (j < 0) break;
		start(sm, f, j);
	}
	for (;;) to_sched(sm, f);
}

// ---- the scheduler --------------------------------------------------------

// run_fiber switches to f and, when it comes back, frees it unless its item
// is parked on it.
static void run_fiber(dr_sm *sm, dr_fiber *f) {
	sm->cur = f;
	sm->runs++;
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0) == 0) {
		dr_trap_jmp = &jb;
		dr_switch(&sm->sched_sp, f->sp);
		dr_trap_jmp = NULL;
	} else {
		// The work-item took a hardware fault (trap.c): its stack is
		// abandoned, its group fails.
		svmk_item *it = f->item;
		dr_group *g = group_of(sm, it);
		// In a group loop the faulting item is not known: the loop may
		// have run it in a vector with its neighbours, and it need not
		// write each one's ids to the item (-1: unknown).
		int lin = sm->loop ? -1 : (int)it->local_linear;
		group_fail(sm, g, DR_FAIL_SEGV, lin);
		if (g->fail == DR_FAIL_SEGV && g->fail_item == lin) {
			g->fail_addr = dr_trap_addr;
			g->fail_sig = dr_trap_sig;
		}
		if (sm->loop) memset(&sm->state[g->first], DR_DEAD, g->n);
		sm->state[f->idx] = DR_DEAD;
		sm->pos = g->first + g->n - 1;
	}
	sm->cur = NULL;
	int i = f->idx;
	switch (sm->state[i]) {
	case DR_BARRIER:
	case DR_FAULT:
	case DR_READY:
		sm->fiber_of[i] = f;
		break;
	default: // DONE, DEAD, RESTART: the stack is free
		sm->fiber_of[i] = NULL;
		fiber_put(sm, f);
	}
}

// The per-item passes over an SM's states that run every fault round (a
// wave's SMs hold tens of thousands of items, most of them waiting), as
// branch-free loops the compiler vectorises: -O2's cost model keeps loops
// of unknown length scalar, hence the attribute.
#define DR_VECTORISE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))

// waiting_state reports whether an item in state s waits for a fault.
static inline int waiting_state(uint8_t s) { return (s == DR_FAULT) | (s == DR_RESTART); }

// resumed_state is the state after its fault was serviced of an item
// waiting in state s: a parked item may resume, one that gave its run up
// starts again. Any other state stays.
static inline uint8_t resumed_state(uint8_t s) { return s == DR_FAULT ? DR_READY : s == DR_RESTART ? DR_NEW : s; }

// resume_all ends every wait.
DR_VECTORISE static void resume_all(uint8_t *restrict st, int n) {
	for (int i = 0; i < n; i++) st[i] = resumed_state(st[i]);
}

// count_waiting counts the items waiting for a fault.
DR_VECTORISE static int count_waiting(const uint8_t *restrict st, int n) {
	int c = 0;
	for (int i = 0; i < n; i++) c += waiting_state(st[i]);
	return c;
}

// dr_sm_run runs the SM's work-items until none can make progress: each is
// done, dead, parked at a barrier, or waiting for a fault. Items are taken in
// index order, pass after pass, so the order of execution — and with it the
// TLB's contents and every counter — depends only on the inputs. Returns the
// number of items waiting for faults, or -1 when a fiber stack could not be
// had.
int dr_sm_run(dr_sm *sm) {
	sm->unusable_page = ~0ULL; // the last round's service may have made it usable
	sm->gave_up.item = -2;     // warp_stall compares items of one pass only
	for (;;) {
		int progress = 0;
		for (sm->pos = 0; sm->pos < sm->nitems; sm->pos++) {
			int i = sm->pos;
			uint8_t st = sm->state[i];
			if (st == DR_NEW) {
				dr_group *g = &sm->groups[i / sm->group_size];
				if (g->fail) {
					sm->state[i] = DR_DEAD;
					continue;
				}
				dr_fiber *f = fiber_get(sm);
				if (!f) {
					group_fail(sm, g, DR_FAIL_NOSTACK, i - g->first);
					continue;
				}
				start(sm, f, i);
				fiber_init(f);
				run_fiber(sm, f); // may run items i+1, ... too (sm->pos follows)
				progress = 1;
			} else if (st == DR_READY) {
				dr_fiber *f = sm->fiber_of[i];
				sm->state[i] = DR_RUN;
				sm->fresh = 0; // it has parked: what it did before is kept, it never restarts
				run_fiber(sm, f);
				progress = 1;
			}
		}
		// Another pass only if something was released.
		if (!progress || (!memchr(sm->state, DR_NEW, sm->nitems) && !memchr(sm->state, DR_READY, sm->nitems))) break;
	}
	int waiting = count_waiting(sm->state, sm->nitems);
	sm->waiting = waiting;
	return waiting;
}

// dr_sm_faults writes the faults the SM's waiting items (DR_FAULT,
// DR_RESTART) need serviced to out: one per work-group, warp (warp
// consecutive local ids) and page, in item order, with the access kinds of
// all of them. It returns how many, or -1 if there are more than cap.
// *digest gets a hash of every waiting item's index and address, by which the
// caller sees a round that stalls exactly like the one before: a sum of
// one mix per item, so the items' mixes overlap in the pipeline (a chained
// FNV step per item, two dependent multiplies, was most of this pass —
// most items of a fault round wait).
int dr_sm_faults(dr_sm *sm, uint32_t warp, dr_fault *out, int cap, uint64_t *digest) {
	int n = 0, gs = sm->group_size;
	uint64_t h = 0xcbf29ce484222325ULL;
	if (!warp) warp = 1;
	const uint8_t *restrict state = sm->state, *restrict facc = sm->fault_acc;
	const uint64_t *restrict faddr = sm->fault_addr;
	// Group by group and warp by warp (no division per item: most items
	// of a fault round are waiting).
	for (int g = 0; g < sm->ngroups; g++) {
		for (int w0 = 0; w0 < gs; w0 += (int)warp) {
			int warp_first = n, end = g * gs + (w0 + (int)warp < gs ? w0 + (int)warp : gs);
			int cur = -1; // the warp's fault the last waiting item joined (most go on with it)
			uint64_t cur_page = 0;
			uint32_t cur_acc = 0; // the access kinds that fault has gathered since (kept out of memory:
			                      // an |= into out[cur] per item was a store-to-load chain)
			for (int i = g * gs + w0; i < end; i++) {
				if (!waiting_state(state[i])) continue;
				uint64_t addr = faddr[i], page = addr & ~SVMK_PAGE_MASK;
				// The item's index, not its global id, goes into the
				// digest: the same within a wave, and read without touching
				// the item (two cache lines; only faults written out need it).
				h += (((uint64_t)i + 1) * 0x9E3779B97F4A7C15ULL) ^ (addr * 0xC2B2AE3D27D4EB4FULL);
				if (cur >= 0 && page == cur_page) {
					cur_acc |= facc[i];
					continue;
				}
				if (cur >= 0) out[cur].acc |= cur_acc;
				int j = warp_first;
				while (j < n && (out[j].addr & ~SVMK_PAGE_MASK) != page) j++;
				cur = j, cur_page = page, cur_acc = facc[i];
				if (j < n) continue;
				if (n == cap) return -1;
				out[n].addr = addr;
				out[n].global_linear = sm->items[i].global_linear;
				out[n].group = (uint32_t)g;
				out[n].acc = 0;
				n++;
			}
			if (cur >= 0) out[cur].acc |= cur_acc;
		}
	}
	*digest = h;
	return n;
}

// dr_sm_resume ends the wait of every waiting item once its fault was
// serviced: a parked item retries its access when the SM runs again, an
// item that gave up its run starts again. Items waiting on one of the
// bad_pages (sorted), or all if abort_all, are aborted instead, and their
// groups fail — in item order, so the first of them is the one reported.
void dr_sm_resume(dr_sm *sm, const uint64_t *bad_pages, int nbad, int abort_all) {
	if (!nbad && !abort_all) {
		resume_all(sm->state, sm->nitems); // nearly every round: nothing aborted
		return;
	}
	for (int i = 0; i < sm->nitems; i++) {
		uint8_t st = sm->state[i];
		if (!waiting_state(st)) continue;
		int bad = abort_all;
		if (!bad && nbad) {
			uint64_t page = sm->fault_addr[i] & ~SVMK_PAGE_MASK;
			int lo = 0, hi = nbad;
			while (lo < hi) {
				int mid = (lo + hi) / 2;
				if (bad_pages[mid] < page) lo = mid + 1;
				else hi = mid;
			}
			bad = lo < nbad && bad_pages[lo] == page;
		}
		if (bad) {
			dr_group *g = &sm->groups[i / sm->group_size];
			group_fail(sm, g, DR_FAIL_ABORT, i - g->first); // frees parked fibers, this one's too
			continue;
		}
		sm->state[i] = resumed_state(st);
	}
}

// dr_sm_run_loops runs the SM's groups natively with the kernel's group
// loop: each group is its first item, which runs all the others (see
// dr_fiber_main), so there is no pass over the items to make. Returns -1
// when a fiber stack could not be had.
int dr_sm_run_loops(dr_sm *sm) {
	for (int k = 0; k < sm->ngroups; k++) {
		dr_group *g = &sm->groups[k];
		// A group loop goes on into the next group (dr_fiber_main): run
		// only the groups it has not reached.
		if (g->fail || sm->state[g->first] != DR_NEW) continue;
		dr_fiber *f = fiber_get(sm);
		if (!f) {
			group_fail(sm, g, DR_FAIL_NOSTACK, 0);
			return -1;
		}
		start(sm, f, g->first);
		fiber_init(f);
		run_fiber(sm, f);
	}
	return 0;
}

// ---- the simulated MMU ------------------------------------------------------

static uint64_t never_changes = 0; // the "page word" of direct entries
static uint64_t always_stale = 1;  // st_pte of a bounced store: st_done always replays

// in_direct reports whether [a, a+n) reaches memory a GPU would not reach
// through its MMU: this SM's own work-item stacks (private memory) and
// local memory, and the ranges the owner named (the module's constants).
static int in_direct(dr_sm *sm, dr_mmu *m, uint64_t a, uint64_t n) {
	if (dr_sm_space(sm, a, n) != 1) return 1;
	uint64_t e = a + n;
	for (int i = 0; i < m->ndirect; i++)
		if (e > m->direct_lo[i] && a < m->direct_hi[i]) return 1;
	return 0;
}

// record counts an access of a recording launch (record.c), unless it is
// to on-chip or private memory (the direct ranges), which no policy places.
static void record(dr_sm *sm, const svmk_item *it, uint64_t addr, uint64_t size, uint32_t kind) {
	if (sm->mmu->record && !in_direct(sm, sm->mmu, addr, size)) dr_rec_access(sm, it, addr, size, kind);
}

// record_range is record for n bytes at addr, one access per page.
static void record_range(dr_sm *sm, const svmk_item *it, uint64_t addr, uint64_t n, uint32_t kind) {
	if (!sm->mmu->record) return;
	for (uint64_t k = 0; k < n;) {
		uint64_t room = SVMK_PAGE_SIZE - ((addr + k) & SVMK_PAGE_MASK), c = n - k < room ? n - k : room;
		record(sm, it, addr + k, c, kind);
		k += c;
	}
}

static const dr_vma *vma_find(dr_mmu *m, uint64_t a) {
	int lo = 0, hi = m->nvmas;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (m->vmas[mid].end <= a) lo = mid + 1;
		else hi = mid;
	}
	if (lo < m->nvmas && m->vmas[lo].start <= a) return &m->vmas[lo];
	return NULL;
}

static uint64_t rhash(uint64_t page) { return (page >> 12) * 0x9E3779B97F4A7C15ULL; }

int dr_mmu_remote_add(dr_mmu *m, uint64_t page, int writable) {
	if ((m->rcount + 1) * 2 > m->rmask + 1) {
		uint64_t ncap = (m->rmask + 1) * 2;
		uint64_t *n = dr_alloc(ncap * 8);
		if (!n) return -1;
		for (uint64_t i = 0; i <= m->rmask; i++) {
			uint64_t e = m->rmap[i];
			if (!e) continue;
			uint64_t j = rhash(e & ~SVMK_PAGE_MASK) & (ncap - 1);
			while (n[j]) j = (j + 1) & (ncap - 1);
			n[j] = e;
		}
		dr_free(m->rmap);
		m->rmap = n;
		m->rmask = ncap - 1;
	}
	uint64_t e = page | 1 | (writable ? 2 : 0);
	uint64_t j = rhash(page) & m->rmask;
	while (m->rmap[j] && (m->rmap[j] & ~SVMK_PAGE_MASK) != page) j = (j + 1) & m->rmask;
	if (!m->rmap[j]) m->rcount++;
	m->rmap[j] = e;
	return 0;
}

void dr_mmu_remote_clear(dr_mmu *m) {
	memset(m->rmap, 0, (m->rmask + 1) * 8);
	m->rcount = 0;
}

static uint64_t remote_find(dr_mmu *m, uint64_t page) {
	uint64_t j = rhash(page) & m->rmask;
	for (;;) {
		uint64_t e = m->rmap[j];
		if (!e) return 0;
		if ((e & ~SVMK_PAGE_MASK) == page) return e;
		j = (j + 1) & m->rmask;
	}
}

// An empty TLB entry: no page table word (pte NULL ends a set's ways), and
// a fast_vpn no address matches, so the inlined fast path never reads it.
static void tlbe_clear(svmk_tlbe *e) {
	memset(e, 0, sizeof *e);
	e->fast_vpn = SVMK_NO_FAST;
}

void dr_tlb_flush(svmk_sm *sm) {
	uint64_t n = (sm->set_mask + 1) * sm->ways;
	for (uint64_t i = 0; i < n; i++) tlbe_clear(&sm->tlb[i]);
}

static void tlb_insert(svmk_sm *sm, const svmk_tlbe *e) {
	svmk_tlbe *set = &sm->tlb[svmk_set_index(e->vpn, sm->set_mask, sm->set_bits) << sm->ways_shift];
	uint32_t w = sm->ways, i;
	for (i = 0; i < w && set[i].pte; i++)
		if (set[i].vpn == e->vpn) break;
	if (i == w) i = w - 1; // full: drop the LRU way
	memmove(&set[1], &set[0], sizeof(svmk_tlbe) * i);
	set[0] = *e;
}

// tlb_lookup is the full lookup (every way, LRU order kept); it counts one
// hit or one miss.
static svmk_tlbe *tlb_lookup(svmk_sm *sm, uint64_t vpn, int write) {
	svmk_tlbe *set = &sm->tlb[svmk_set_index(vpn, sm->set_mask, sm->set_bits) << sm->ways_shift];
	for (uint32_t i = 0; i < sm->ways && set[i].pte; i++) {
		if (set[i].vpn != vpn) continue;
		if (__atomic_load_n(set[i].pte, __ATOMIC_ACQUIRE) != set[i].word) {
			memmove(&set[i], &set[i + 1], sizeof(svmk_tlbe) * (sm->ways - 1 - i));
			tlbe_clear(&set[sm->ways - 1]);
			break;
		}
		if (write && !(set[i].flags & SVMK_TLB_WRITABLE)) break;
		if (i) {
			svmk_tlbe hit = set[i];
			memmove(&set[1], &set[0], sizeof(svmk_tlbe) * i);
			set[0] = hit;
		}
		sm->hits++;
		return &set[0];
	}
	sm->misses++;
	return NULL;
}

// walk translates page for the access from the page table, the CPU
// mappings and the launch's remote mappings; 0 when the access must fault.
static int walk(dr_sm *sm, uint64_t page, int write, svmk_tlbe *e) {
	dr_mmu *m = sm->mmu;
	memset(e, 0, sizeof *e);
	e->vpn = page >> SVMK_PAGE_SHIFT;
	e->fast_vpn = SVMK_NO_FAST; // device memory below sets it
	// A page that holds any of a direct range is direct: the runtime's
	// blocks (local memory) start a cache colour into pages that hold
	// nothing else (rtmem.c), so the first of them is only partly inside.
	if (in_direct(sm, m, page, SVMK_PAGE_SIZE)) {
		e->pte = &never_changes;
		e->base = page;
		e->flags = SVMK_TLB_WRITABLE | SVMK_TLB_DIRECT;
		return 1;
	}
	uint64_t *pte = m->pte(page, 1);
	if (!pte) return 0;
	uint64_t w = __atomic_load_n(pte, __ATOMIC_ACQUIRE);
	uint64_t st = w & DR_PW_ST_MASK, dev = (w >> DR_PW_DEV_SHIFT) & DR_PW_DEV_MASK,
	         frame = (w >> DR_PW_FRAME_SHIFT) & DR_PW_FRAME_MASK;
	e->pte = pte;
	e->word = w;
	if (st == DR_PW_DEVICE || st == DR_PW_DUP) {
		if ((int)dev != m->dev) return 0;
		if (st == DR_PW_DUP && write) return 0;
		const dr_vma *v = vma_find(m, page);
		int ignore = m->bugs & DR_BUG_IGNORE_PROT, trust = m->bugs & DR_BUG_TRUST_PT;
		if (!trust && (!v || !(v->prot & 1) || (write && !(v->prot & 2) && !ignore))) return 0;
		e->base = m->arena + frame * SVMK_PAGE_SIZE;
		e->fast_vpn = m->record ? SVMK_NO_FAST : e->vpn; // recording: every access to the slow path
		if (st == DR_PW_DEVICE && ((v && (v->prot & 2)) || ignore || trust)) e->flags |= SVMK_TLB_WRITABLE;
		return 1;
	}
	if (st == DR_PW_HOST && m->record) {
		// A recording launch runs on the host pages where they are (as the
		// cpu device does), so it takes no faults: what it records is the
		// kernel's accesses, not a policy's placements.
		const dr_vma *v = vma_find(m, page);
		if (!v || !(v->prot & 1) || (write && !(v->prot & 2))) return 0;
		e->base = page;
		e->flags = SVMK_TLB_REMOTE | ((v->prot & 2) ? SVMK_TLB_WRITABLE : 0);
		return 1;
	}
	if (st == DR_PW_HOST) {
		uint64_t r = remote_find(m, page);
		if (!r || (write && !(r & 2))) return 0;
		e->base = page;
		e->flags = SVMK_TLB_REMOTE | ((r & 2) ? SVMK_TLB_WRITABLE : 0);
		return 1;
	}
	return 0; // in transition
}

// restartable reports whether the running item i could be run again from
// the beginning with the same outcome as going on: it has run without
// parking since it started, written nothing (no store, atomic, copy or
// barrier: it->st_pte is set by every global or generic store, fast path
// or slow), and not used up its restarts. Stores to __local memory are
// plain instructions nobody sees: a kernel that has any runs with
// no_restart set (its module says so).
static int restartable(dr_sm *sm, const svmk_item *it, int i) {
	return !sm->no_restart && sm->fresh && !it->st_pte && !sm->effects[i] && sm->restarts[i] < DR_MAX_RESTARTS;
}

// new_run counts the DR_NEW states at st, up to max: eight at a time
// (DR_NEW is 0), since a stalled warp's lanes are nearly always all new.
static int new_run(const uint8_t *st, int max) {
	_Static_assert(DR_NEW == 0, "new_run reads DR_NEW as zero bytes");
	int n = 0;
	while (n + 8 <= max) {
		uint64_t w;
		memcpy(&w, st + n, 8);
		if (w) return n + __builtin_ctzll(w) / 8; // little-endian: the first non-zero byte
		n += 8;
	}
	while (n < max && st[n] == DR_NEW) n++;
	return n;
}

// stall_lanes makes the n lanes at st stalled: DR_RESTART, each waiting on
// addr + d·(its distance from the lane before them) with access kind acc.
DR_VECTORISE static void stall_lanes(uint8_t *restrict st, uint64_t *restrict faddr, uint8_t *restrict facc, int n,
                                     uint64_t addr, int64_t d, uint8_t acc) {
	for (int j = 0; j < n; j++) {
		st[j] = DR_RESTART;
		faddr[j] = addr + (uint64_t)(d * (j + 1));
		facc[j] = acc;
	}
}

// warp_stall stalls the lanes after item i in its warp, without running
// them, when i and the lane before it both gave their runs up at the same
// access (the same count of accesses into the run, the same kind) on the
// same page, and their addresses, continued linearly to the warp's last
// lane, stay in that page: a GPU's warp executes an access for all its
// lanes at once, raises its fault and replays it once the fault is
// serviced, so the lanes of a page-coherent warp never run on ahead of the
// fault one by one. Stalled lanes are DR_RESTART items that never started:
// each waits on its predicted address (in the page, so the warp's fault
// for that page covers them and adds no fault), and runs from the
// beginning after the service, as a restarted item does (a restart leaves
// no trace in the counters). A lane whose access would have gone
// elsewhere finds its own fault a round later. Only new lanes that follow
// in a row stall; sm->stalled_to gets the last (else -1).
static void warp_stall(dr_sm *sm, svmk_item *it, int i, uint64_t addr, uint32_t acc, int64_t at) {
	dr_group *g = group_of(sm, it);
	int prev = sm->gave_up.item;
	uint64_t prev_addr = sm->gave_up.addr;
	int same = prev == i - 1 && sm->gave_up.at == at && sm->gave_up.acc == acc;
	sm->gave_up.item = i;
	sm->gave_up.acc = acc;
	sm->gave_up.at = at;
	sm->gave_up.addr = addr;
	sm->stalled_to = -1;
	uint64_t page = addr & ~SVMK_PAGE_MASK;
	if (sm->warp < 2 || !same || prev < g->first || (prev_addr & ~SVMK_PAGE_MASK) != page) return;
	int k = i - g->first, lane = k % (int)sm->warp;
	if (lane == 0) return; // i - 1 is in the warp before
	int last = k - lane + (int)sm->warp;
	if (last > g->n) last = g->n;
	last--; // the warp's last lane (local index)
	int64_t d = (int64_t)(addr - prev_addr); // |d| < a page: both are in it
	uint64_t end = addr + (uint64_t)(d * (last - k));
	if ((end & ~SVMK_PAGE_MASK) != page) return;
	int from = g->first + k + 1; // the lane after i
	int n = new_run(sm->state + from, last - k);
	if (n == 0) return;
	stall_lanes(sm->state + from, sm->fault_addr + from, sm->fault_acc + from, n, addr, d, (uint8_t)acc);
	sm->stalled_to = from + n - 1;
}

// fault stops the running item until its fault on addr has been serviced
// (Go resumes it, or aborts it and its group when the fault cannot be
// resolved). An item that has only read so far gives its run up: it will
// start again from scratch, as if it had started later, its accesses
// uncounted (the SM's counters go back to where they were when it
// started). It needs no fiber while it waits, and the fiber goes on with
// the next item, its stack still in cache. Any other item parks on its
// fiber and keeps what it did, as a GPU replays only the faulting access.
static void fault(dr_sm *sm, svmk_item *it, uint64_t addr, uint32_t acc) {
	dr_fiber *f = cur_fiber();
	int i = f->idx;
	// In an item loop it is the run's item, holding i's ids: i's own gets
	// them, for dr_sm_faults (and for start(), if i restarts). The loop
	// keeps using the run's item if i parks.
	if (it != &sm->items[i]) {
		sm->items[i] = *it;
		sm->made[i] = 1;
	}
	sm->fault_addr[i] = addr;
	sm->fault_acc[i] = (uint8_t)acc;
	if (restartable(sm, it, i)) {
		sm->restarts[i]++;
		int64_t at = sm->k.hits + sm->k.misses + sm->k.remote - sm->run_base[0] - sm->run_base[1] - sm->run_base[3];
		warp_stall(sm, it, i, addr, acc, at);
		sm->k.hits = sm->run_base[0];
		sm->k.misses = sm->run_base[1];
		sm->k.bytes = sm->run_base[2];
		sm->k.remote = sm->run_base[3];
		sm->state[i] = DR_RESTART;
		__builtin_longjmp(f->restart_jb, 1);
	}
	sm->fresh = 0;
	sm->state[i] = DR_FAULT;
	to_sched(sm, f);
	if (group_of(sm, it)->fail) die(sm, f); // aborted (dr_sm_resume), or another item failed the group
}

// translate returns a valid TLB entry for the page of addr, faulting (and
// stalling) until there is one.
static svmk_tlbe *translate(dr_sm *sm, svmk_item *it, uint64_t addr, uint32_t acc) {
	uint64_t page = addr & ~SVMK_PAGE_MASK;
	int write = (acc & (DR_ACC_WRITE | DR_ACC_ATOMIC)) != 0;
	svmk_tlbe *e = tlb_lookup(&sm->k, page >> SVMK_PAGE_SHIFT, write);
	if (e) return e;
	for (;;) {
		// Within one pass nothing makes an unusable page usable (only the
		// service between passes does), so the warp-mates of an item that
		// found its page unusable fault without walking again.
		if (page == sm->unusable_page && (write || !sm->unusable_write)) {
			fault(sm, it, addr, acc);
			continue;
		}
		svmk_tlbe n;
		if (walk(sm, page, write, &n)) {
			tlb_insert(&sm->k, &n);
			return &sm->k.tlb[svmk_set_index(n.vpn, sm->k.set_mask, sm->k.set_bits) << sm->k.ways_shift];
		}
		sm->unusable_page = page;
		sm->unusable_write = write;
		fault(sm, it, addr, acc);
	}
}

// count charges one access through entry e (the fast path does the same
// for device memory: a hit and its bytes).
static void count(dr_sm *sm, const svmk_tlbe *e, uint64_t size) {
	if (e->flags & SVMK_TLB_REMOTE) sm->k.remote++;
	else if (!(e->flags & SVMK_TLB_DIRECT)) sm->k.bytes += size;
}

static void *rt_ld_slow(svmk_item *it, uint64_t addr, uint64_t size) {
	dr_sm *sm = cur_fiber()->sm;
	record(sm, it, addr, size, 0);
	uint64_t off = addr & SVMK_PAGE_MASK;
	if (off + size <= SVMK_PAGE_SIZE) {
		svmk_tlbe *e = translate(sm, it, addr, 0);
		count(sm, e, size);
		return (void *)(e->base + off);
	}
	// Crossing a page: gather both parts on the item's own stack (the
	// second part may park it, and other items use the SM's bounce buffer
	// meanwhile), then into the bounce buffer, which the kernel reads
	// before any other item runs.
	uint8_t tmp[sizeof sm->bounce[0]];
	if (size > sizeof tmp) size = sizeof tmp;
	uint64_t first = SVMK_PAGE_SIZE - off;
	svmk_tlbe *e = translate(sm, it, addr, 0);
	count(sm, e, first);
	memcpy(tmp, (void *)(e->base + off), first);
	e = translate(sm, it, addr + first, 0);
	count(sm, e, size - first);
	memcpy(tmp + first, (void *)e->base, size - first);
	memcpy(sm->bounce[0], tmp, size);
	return sm->bounce[0];
}

static void *rt_st_slow(svmk_item *it, uint64_t addr, uint64_t size) {
	dr_sm *sm = cur_fiber()->sm;
	record(sm, it, addr, size, DR_ACC_WRITE);
	uint64_t off = addr & SVMK_PAGE_MASK;
	if (off + size <= SVMK_PAGE_SIZE) {
		svmk_tlbe *e = translate(sm, it, addr, DR_ACC_WRITE);
		count(sm, e, size);
		it->st_pte = e->pte;
		it->st_word = e->word;
		return (void *)(e->base + off);
	}
	// Crossing a page: the store lands in the bounce buffer and st_done
	// (always "stale") writes it out page by page.
	sm->bounce_addr = addr;
	it->st_pte = &always_stale;
	it->st_word = 0;
	return sm->bounce[1];
}

// put writes n bytes at addr (within one page) through the MMU, repeating
// the write where the page went if it moved meanwhile.
static void put(dr_sm *sm, svmk_item *it, uint64_t addr, const uint8_t *src, uint64_t n) {
	for (;;) {
		svmk_tlbe *e = translate(sm, it, addr, DR_ACC_WRITE);
		uint64_t *pte = e->pte, word = e->word;
		memcpy((void *)(e->base + (addr & SVMK_PAGE_MASK)), src, n);
		sm->effects[cur_fiber()->idx] = 1;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(pte, __ATOMIC_RELAXED) == word) return;
	}
}

static void rt_st_replay(svmk_item *it, void *h, uint64_t size) {
	dr_sm *sm = cur_fiber()->sm;
	uint8_t tmp[128];
	if (size > sizeof tmp) size = sizeof tmp;
	memcpy(tmp, h, size);
	uint64_t addr = 0;
	if (it->st_pte == &always_stale) {
		addr = sm->bounce_addr;
	} else {
		// The page moved under the store, which went to its old frame (h).
		// Nothing else ran on this SM since, so the translation the store
		// used is still in the TLB: one page-table word per page names the
		// page.
		uint64_t n = (sm->k.set_mask + 1) * sm->k.ways;
		for (uint64_t i = 0; i < n; i++)
			if (sm->k.tlb[i].pte == it->st_pte) {
				addr = (sm->k.tlb[i].vpn << SVMK_PAGE_SHIFT) | ((uint64_t)h & SVMK_PAGE_MASK);
				break;
			}
		if (!addr) return; // cannot happen: the entry was used an instant ago
	}
	uint64_t off = addr & SVMK_PAGE_MASK;
	uint64_t first = off + size <= SVMK_PAGE_SIZE ? size : SVMK_PAGE_SIZE - off;
	put(sm, it, addr, tmp, first);
	if (first < size) put(sm, it, addr + first, tmp + first, size - first);
}

// Device atomics on a device-resident page run inside the device's atomic
// section: the service thread waits for atomic_busy to drop to zero after it
// has claimed a page and before it copies it, so an atomic that validated
// the page word first is in the copy, and one that comes later sees the
// new word and retries.
// RMW_WIDTH defines do_rmw<bits>: the operation op on the T at p, as one
// atomic instruction where x86 has one, else a compare-exchange loop.
#define RMW_WIDTH(bits, T, S, F)                                                                          \
	static T do_rmw##bits(T *q, int op, T x) {                                                           \
		switch (op) {                                                                                     \
		case SVMK_RMW_XCHG: return __atomic_exchange_n(q, x, __ATOMIC_SEQ_CST);                           \
		case SVMK_RMW_ADD: return __atomic_fetch_add(q, x, __ATOMIC_SEQ_CST);                             \
		case SVMK_RMW_SUB: return __atomic_fetch_sub(q, x, __ATOMIC_SEQ_CST);                             \
		case SVMK_RMW_AND: return __atomic_fetch_and(q, x, __ATOMIC_SEQ_CST);                             \
		case SVMK_RMW_NAND: return __atomic_fetch_nand(q, x, __ATOMIC_SEQ_CST);                           \
		case SVMK_RMW_OR: return __atomic_fetch_or(q, x, __ATOMIC_SEQ_CST);                               \
		case SVMK_RMW_XOR: return __atomic_fetch_xor(q, x, __ATOMIC_SEQ_CST);                             \
		}                                                                                                 \
		T old = __atomic_load_n(q, __ATOMIC_SEQ_CST);                                                     \
		for (;;) {                                                                                        \
			T nv;                                                                                         \
			union { T u; F f; } a = {old}, b = {x}, c;                                                    \
			switch (op) {                                                                                 \
			case SVMK_RMW_MAX: nv = (S)old > (S)x ? old : x; break;                                       \
			case SVMK_RMW_MIN: nv = (S)old < (S)x ? old : x; break;                                       \
			case SVMK_RMW_UMAX: nv = old > x ? old : x; break;                                            \
			case SVMK_RMW_UMIN: nv = old < x ? old : x; break;                                            \
			case SVMK_RMW_FADD: c.f = a.f + b.f; nv = c.u; break;                                         \
			case SVMK_RMW_FSUB: c.f = a.f - b.f; nv = c.u; break;                                         \
			default: return old;                                                                          \
			}                                                                                             \
			if (__atomic_compare_exchange_n(q, &old, nv, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return old; \
		}                                                                                                 \
	}
RMW_WIDTH(32, uint32_t, int32_t, float)
RMW_WIDTH(64, uint64_t, int64_t, double)

static uint64_t do_rmw(void *p, int op, int width, uint64_t v) {
	return width == 4 ? do_rmw32(p, op, (uint32_t)v) : do_rmw64(p, op, v);
}

static uint64_t atomic_op(svmk_item *it, uint64_t addr, int width, int cas, int op, uint64_t a, uint64_t b) {
	dr_fiber *f = cur_fiber();
	dr_sm *sm = f->sm;
	dr_mmu *m = sm->mmu;
	if (addr & (uint64_t)(width - 1)) {
		// OpenCL C atomics are aligned to their size; a GPU faults on one
		// that is not. One across a page boundary would also reach past
		// the page's frame, which no translation covers.
		dr_group *g = group_of(sm, it);
		group_fail(sm, g, DR_FAIL_MISALIGNED, (int)it->local_linear);
		if (g->fail == DR_FAIL_MISALIGNED && g->fail_item == (int)it->local_linear) {
			g->fail_addr = addr;
			g->fail_width = width;
		}
		die(sm, f);
	}
	record(sm, it, addr, (uint64_t)width, DR_ACC_WRITE | DR_ACC_ATOMIC);
	for (;;) {
		svmk_tlbe *e = translate(sm, it, addr, DR_ACC_WRITE | DR_ACC_ATOMIC);
		void *p = (void *)(e->base + (addr & SVMK_PAGE_MASK));
		sm->effects[f->idx] = 1; // set before the operation: a restart must never repeat it
		if (e->flags & (SVMK_TLB_REMOTE | SVMK_TLB_DIRECT)) {
			if (e->flags & SVMK_TLB_REMOTE) sm->k.remote++;
			if (!cas) return do_rmw(p, op, width, a);
			if (width == 4) {
				uint32_t exp = (uint32_t)a;
				__atomic_compare_exchange_n((uint32_t *)p, &exp, (uint32_t)b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
				return exp;
			}
			uint64_t exp = a;
			__atomic_compare_exchange_n((uint64_t *)p, &exp, b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			return exp;
		}
		uint64_t *pte = e->pte, word = e->word, r;
		__atomic_add_fetch(m->atomic_busy, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(pte, __ATOMIC_SEQ_CST) != word) {
			__atomic_sub_fetch(m->atomic_busy, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (!cas) {
			r = do_rmw(p, op, width, a);
		} else if (width == 4) {
			uint32_t exp = (uint32_t)a;
			__atomic_compare_exchange_n((uint32_t *)p, &exp, (uint32_t)b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			r = exp;
		} else {
			uint64_t exp = a;
			__atomic_compare_exchange_n((uint64_t *)p, &exp, b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			r = exp;
		}
		__atomic_sub_fetch(m->atomic_busy, 1, __ATOMIC_SEQ_CST);
		sm->k.bytes += (uint64_t)width;
		return r;
	}
}

static uint64_t rt_rmw(svmk_item *it, uint64_t addr, int op, int width, uint64_t v) {
	return atomic_op(it, addr, width, 0, op, v, 0);
}

static uint64_t rt_cas(svmk_item *it, uint64_t addr, int width, uint64_t cmp, uint64_t nv) {
	return atomic_op(it, addr, width, 1, 0, cmp, nv);
}

// mcopy is memmove through the MMU, a page-bounded chunk at a time, via a
// small buffer (the two ranges may overlap).
static void rt_mcopy(svmk_item *it, uint64_t dst, uint64_t src, uint64_t n) {
	dr_sm *sm = cur_fiber()->sm;
	record_range(sm, it, src, n, 0);
	record_range(sm, it, dst, n, DR_ACC_WRITE);
	uint8_t buf[256];
	int backward = dst > src && dst < src + n;
	uint64_t done = 0;
	while (done < n) {
		uint64_t c = n - done < sizeof buf ? n - done : sizeof buf;
		uint64_t s = backward ? src + n - done - c : src + done;
		uint64_t d = backward ? dst + n - done - c : dst + done;
		for (uint64_t k = 0; k < c;) {
			uint64_t a = s + k, room = SVMK_PAGE_SIZE - (a & SVMK_PAGE_MASK), m = c - k < room ? c - k : room;
			svmk_tlbe *e = translate(sm, it, a, 0);
			count(sm, e, m);
			memcpy(buf + k, (void *)(e->base + (a & SVMK_PAGE_MASK)), m);
			k += m;
		}
		for (uint64_t k = 0; k < c;) {
			uint64_t a = d + k, room = SVMK_PAGE_SIZE - (a & SVMK_PAGE_MASK), m = c - k < room ? c - k : room;
			put(sm, it, a, buf + k, m);
			sm->k.bytes += m; // counted once per chunk, like a store
			k += m;
		}
		done += c;
	}
}

static void rt_mset(svmk_item *it, uint64_t dst, int c, uint64_t n) {
	dr_sm *sm = cur_fiber()->sm;
	record_range(sm, it, dst, n, DR_ACC_WRITE);
	uint8_t buf[256];
	memset(buf, c, sizeof buf);
	for (uint64_t k = 0; k < n;) {
		uint64_t a = dst + k, room = SVMK_PAGE_SIZE - (a & SVMK_PAGE_MASK), m = n - k < room ? n - k : room;
		if (m > sizeof buf) m = sizeof buf;
		put(sm, it, a, buf, m);
		sm->k.bytes += m;
		k += m;
	}
}

static uint32_t rt_addr_space(svmk_item *it, uint64_t addr) {
	(void)it;
	return dr_addr_space(addr);
}

static svmk_rt the_rt = {
    .abi = SVMK_ABI,
    .ld_slow = rt_ld_slow,
    .st_slow = rt_st_slow,
    .st_replay = rt_st_replay,
    .barrier = rt_barrier,
    .rmw = rt_rmw,
    .cas = rt_cas,
    .mcopy = rt_mcopy,
    .mset = rt_mset,
    .iloop_next = rt_iloop_next,
    .addr_space = rt_addr_space,
};

// dr_install_rt points a loaded module's __svm_rt at the runtime.
int dr_install_rt(void *slot) {
	*(svmk_rt **)slot = &the_rt;
	return 0;
}
