// rtmem.c: the runtime's own memory, on pages of its own.
//
// Every page of private anonymous memory in the process can migrate to a
// simulated device — the Go heap and C malloc's arenas included — and a
// CPU write to a migrated page brings it home. Were the runtime's
// bookkeeping (an SM's item states, the fault list it rewrites every fault
// round) on a malloc page that also holds data a kernel uses, each round's
// write would pull that page back and the device would fault on it again,
// forever. So everything the runtime keeps in C lives in mappings of its
// own, which hold nothing else: dr_alloc is mmap rounded up to pages, with
// the mapping's start and length in a header in front of the block.
#define _GNU_SOURCE
#include "sched.h"

#include <string.h>
#include <sys/mman.h>

// Blocks start at different cache lines of their first page (the header
// with the mapping's start and length sits right before): were they all at
// one page offset, an SM's arrays indexed alike (item states, fault
// addresses, the items) would fall into the same cache sets and the
// processor would take their loads for dependent on each other's stores.
#define DR_ALLOC_COLOURS 32

static unsigned colour;

typedef struct {
	uint8_t *map;
	uint64_t len;
} dr_block_hdr;

void *dr_alloc(uint64_t n) {
	uint64_t off = 64 * (1 + __atomic_fetch_add(&colour, 1, __ATOMIC_RELAXED) % DR_ALLOC_COLOURS);
	uint64_t len = (n + off + SVMK_PAGE_SIZE - 1) & ~(uint64_t)SVMK_PAGE_MASK;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) return NULL;
	dr_block_hdr *h = (dr_block_hdr *)(p + off) - 1;
	h->map = p; // fresh anonymous pages are zero: the block is too
	h->len = len;
	return p + off;
}

static dr_block_hdr *hdr_of(void *p) { return (dr_block_hdr *)p - 1; }

void dr_free(void *p) {
	if (p) munmap(hdr_of(p)->map, hdr_of(p)->len);
}

void *dr_realloc(void *p, uint64_t n) {
	if (!p) return dr_alloc(n);
	dr_block_hdr *h = hdr_of(p);
	uint64_t have = h->len - (uint64_t)((uint8_t *)p - h->map);
	if (n <= have) return p;
	void *q = dr_alloc(n);
	if (!q) return NULL;
	memcpy(q, p, have);
	dr_free(p);
	return q;
}
