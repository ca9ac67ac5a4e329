// record.c: access recording. With the MMU's record flag set (a recording
// launch, MMU.SetRecord), every global access of the SM's work-items —
// loads, stores, atomics, copies and fills — leaves the fast path (no TLB
// entry is fast) and is counted here per work-item, page and kind: an
// entry per (item, page, kind), in the order of the item's first such
// access, with its number of accesses and bytes. That is a work-item's
// page-access trace, which the simulated GPU replays under other memory
// policies.
//
// A recording launch takes no faults (the walk treats host pages as usable
// in place, see walk in sched.c), so no run is given up and restarted: an
// access is counted exactly once. Entries live in the runtime's own memory
// (rtmem.c), found again through an open-addressing table of entry
// indices, with the entry last used checked first (most accesses go to the
// page the item used last).
#define _GNU_SOURCE
#include "sched.h"

#include <string.h>

static uint64_t rec_hash(uint64_t item, uint64_t key) {
	return (item * 0x9E3779B97F4A7C15ULL) ^ ((key >> SVMK_PAGE_SHIFT) * 0xC2B2AE3D27D4EB4FULL) ^ (key & 3);
}

// rec_grow doubles the table (rehashing every entry) or the entries.
static int rec_grow_table(dr_rec *r) {
	uint64_t cap = r->smask ? (r->smask + 1) * 2 : 1024;
	uint64_t *slot = dr_alloc(cap * sizeof(uint64_t));
	if (!slot) return 0;
	for (uint64_t i = 0; i < r->n; i++) {
		uint64_t h = rec_hash(r->e[i].item, r->e[i].key) & (cap - 1);
		while (slot[h]) h = (h + 1) & (cap - 1);
		slot[h] = i + 1;
	}
	dr_free(r->slot);
	r->slot = slot;
	r->smask = cap - 1;
	return 1;
}

static void rec_one(dr_rec *r, uint64_t item, uint64_t page, uint32_t kind, uint64_t bytes) {
	uint64_t key = page | kind;
	if (r->last && r->e[r->last - 1].item == item && r->e[r->last - 1].key == key) {
		r->e[r->last - 1].count++;
		r->e[r->last - 1].bytes += bytes;
		return;
	}
	if (r->oom) return;
	if ((r->n + 1) * 2 > r->smask + 1 && !rec_grow_table(r)) {
		r->oom = 1;
		return;
	}
	uint64_t h = rec_hash(item, key) & r->smask;
	for (; r->slot[h]; h = (h + 1) & r->smask) {
		dr_rec_entry *e = &r->e[r->slot[h] - 1];
		if (e->item == item && e->key == key) {
			e->count++;
			e->bytes += bytes;
			r->last = r->slot[h];
			return;
		}
	}
	if (r->n == r->cap) {
		uint64_t cap = r->cap ? r->cap * 2 : 4096;
		dr_rec_entry *e = dr_realloc(r->e, cap * sizeof *e);
		if (!e) {
			r->oom = 1;
			return;
		}
		r->e = e;
		r->cap = cap;
	}
	r->e[r->n] = (dr_rec_entry){.item = item, .key = key, .count = 1, .bytes = bytes};
	r->slot[h] = ++r->n;
	r->last = r->n;
}

// dr_rec_access counts an access of size bytes at addr by work-item it
// (split at a page boundary). kind: 0 a load, DR_ACC_WRITE a store,
// DR_ACC_WRITE|DR_ACC_ATOMIC an atomic.
void dr_rec_access(dr_sm *sm, const svmk_item *it, uint64_t addr, uint64_t size, uint32_t kind) {
	dr_rec *r = &sm->rec;
	uint64_t off = addr & SVMK_PAGE_MASK, page = addr & ~SVMK_PAGE_MASK;
	uint64_t first = off + size <= SVMK_PAGE_SIZE ? size : SVMK_PAGE_SIZE - off;
	rec_one(r, it->global_linear, page, kind & 3, first);
	if (first < size) rec_one(r, it->global_linear, page + SVMK_PAGE_SIZE, kind & 3, size - first);
}

// dr_rec_reset forgets the SM's entries (keeping their memory).
void dr_rec_reset(dr_sm *sm) {
	dr_rec *r = &sm->rec;
	if (r->slot) memset(r->slot, 0, (r->smask + 1) * sizeof(uint64_t));
	r->n = 0;
	r->last = 0;
	r->oom = 0;
}

// dr_rec_free releases the SM's entries.
void dr_rec_free(dr_sm *sm) {
	dr_rec *r = &sm->rec;
	dr_free(r->e);
	dr_free(r->slot);
	memset(r, 0, sizeof *r);
}
