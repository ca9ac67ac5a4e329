// rtmem.c: the runtime's own memory, on pages of its own, in a region of
// its own.
//
// Every page of private anonymous memory in the process can migrate to a
// simulated device — the Go heap and C malloc's arenas included — and a
// CPU write to a migrated page brings it home. Were the runtime's
// bookkeeping (an SM's item states, the fault list it rewrites every fault
// round) on a malloc page that also holds data a kernel uses, each round's
// write would pull that page back and the device would fault on it again,
// forever. So everything the runtime keeps in C lives on pages that hold
// nothing else.
//
// Those pages are taken from one reservation of address space (PROT_NONE,
// no memory behind it) made on first use, not mapped wherever the kernel
// likes: a program that unmaps its memory and launches a kernel on the
// stale pointer must get a fault, and a fresh mmap of ours would often land
// exactly in the hole it left (the kernel hands the most recently freed
// range out first) — the kernel would then write into the runtime's own
// state. A block is mapped (zeroed) into its slot on allocation and the
// slot put back to PROT_NONE on free. Should the reservation fail (an
// address-space limit), blocks are plain mappings.
#define _GNU_SOURCE
#include "sched.h"

#include <string.h>
#include <sys/mman.h>

#define RESV_BYTES (8ULL << 30) // fiber stacks of every SM included
#define RESV_PAGES (RESV_BYTES / SVMK_PAGE_SIZE)

// resv_mu guards the bitmap (dr_spin_lock: allocations are rare and short).
static int resv_mu;

static uint8_t *resv;           // the reservation, or NULL
static uint64_t *resv_used;     // one bit per page
static uint64_t resv_hint;      // where the next search starts (pages)
static int resv_tried;

static void resv_init(void) {
	resv_tried = 1;
	void *r = mmap(NULL, RESV_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED) return;
	void *u = mmap(NULL, RESV_PAGES / 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (u == MAP_FAILED) {
		munmap(r, RESV_BYTES);
		return;
	}
	resv = r;
	resv_used = u;
}

static int used(uint64_t i) { return (resv_used[i / 64] >> (i % 64)) & 1; }

static void mark(uint64_t i, uint64_t n, int on) {
	for (uint64_t k = i; k < i + n; k++) {
		if (on) resv_used[k / 64] |= 1ULL << (k % 64);
		else resv_used[k / 64] &= ~(1ULL << (k % 64));
	}
}

// find returns the first free run of n pages starting at a multiple of
// align (pages), searching from the hint and wrapping once; RESV_PAGES if
// there is none. Called with resv_mu held.
static uint64_t find(uint64_t n, uint64_t align) {
	for (int pass = 0; pass < 2; pass++) {
		uint64_t from = pass == 0 ? resv_hint : 0, to = pass == 0 ? RESV_PAGES : resv_hint + n;
		if (to > RESV_PAGES) to = RESV_PAGES;
		for (uint64_t i = (from + align - 1) / align * align; i + n <= to;) {
			uint64_t k = 0;
			while (k < n && !used(i + k)) k++;
			if (k == n) return i;
			i = (i + k + 1 + align - 1) / align * align; // past the used page
		}
	}
	return RESV_PAGES;
}

// dr_pages maps len bytes (a multiple of the page size) of zeroed memory
// aligned to align (a power of two, at least a page) in the reservation,
// or anywhere if there is none; noreserve as MAP_NORESERVE. NULL if it
// cannot.
void *dr_pages(uint64_t len, uint64_t align, int noreserve) {
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0);
	dr_spin_lock(&resv_mu);
	if (!resv_tried) resv_init();
	if (resv) {
		uint64_t n = len / SVMK_PAGE_SIZE, i = find(n, align / SVMK_PAGE_SIZE);
		if (i < RESV_PAGES) {
			uint8_t *p = mmap(resv + i * SVMK_PAGE_SIZE, len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, -1, 0);
			if (p != MAP_FAILED) {
				mark(i, n, 1);
				resv_hint = i + n;
			}
			dr_spin_unlock(&resv_mu);
			return p == MAP_FAILED ? NULL : p;
		}
	}
	dr_spin_unlock(&resv_mu);
	// No reservation, or it is full: a plain mapping, over-allocated to
	// align it, then trimmed.
	uint64_t over = len + (align > SVMK_PAGE_SIZE ? align : 0);
	uint8_t *p = mmap(NULL, over, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) return NULL;
	uint8_t *a = (uint8_t *)(((uint64_t)p + align - 1) & ~(align - 1));
	if (a > p) munmap(p, a - p);
	if (p + over > a + len) munmap(a + len, p + over - (a + len));
	return a;
}

// dr_pages_free gives back what dr_pages returned.
void dr_pages_free(void *p, uint64_t len) {
	if (!p) return;
	uint8_t *b = p;
	if (resv && b >= resv && b < resv + RESV_BYTES) {
		dr_spin_lock(&resv_mu);
		// Back to reserved address space: the pages go, the slot stays ours.
		mmap(b, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
		mark((uint64_t)(b - resv) / SVMK_PAGE_SIZE, len / SVMK_PAGE_SIZE, 0);
		dr_spin_unlock(&resv_mu);
		return;
	}
	munmap(p, len);
}

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
	uint8_t *p = dr_pages(len, SVMK_PAGE_SIZE, 0);
	if (!p) return NULL;
	dr_block_hdr *h = (dr_block_hdr *)(p + off) - 1;
	h->map = p; // fresh anonymous pages are zero: the block is too
	h->len = len;
	return p + off;
}

static dr_block_hdr *hdr_of(void *p) { return (dr_block_hdr *)p - 1; }

void dr_free(void *p) {
	if (p) dr_pages_free(hdr_of(p)->map, hdr_of(p)->len);
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
