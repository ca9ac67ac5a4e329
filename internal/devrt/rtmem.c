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
// the mapping's length in a header in front of the block.
#define _GNU_SOURCE
#include "sched.h"

#include <string.h>
#include <sys/mman.h>

#define DR_ALLOC_HDR 64 // keeps blocks 64-byte aligned

void *dr_alloc(uint64_t n) {
	uint64_t len = (n + DR_ALLOC_HDR + SVMK_PAGE_SIZE - 1) & ~(uint64_t)SVMK_PAGE_MASK;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) return NULL;
	*(uint64_t *)p = len; // fresh anonymous pages are zero: the block is too
	return p + DR_ALLOC_HDR;
}

static uint64_t block_len(void *p) { return *(uint64_t *)((uint8_t *)p - DR_ALLOC_HDR); }

void dr_free(void *p) {
	if (p) munmap((uint8_t *)p - DR_ALLOC_HDR, block_len(p));
}

void *dr_realloc(void *p, uint64_t n) {
	if (!p) return dr_alloc(n);
	uint64_t have = block_len(p) - DR_ALLOC_HDR;
	if (n <= have) return p;
	void *q = dr_alloc(n);
	if (!q) return NULL;
	memcpy(q, p, have);
	dr_free(p);
	return q;
}
