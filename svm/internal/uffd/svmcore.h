// svmcore.h: the C half of svmrt's userspace HMM core.
//
// Everything the fault-service thread touches lives here, in memory the Go
// runtime does not manage: the logical page table (a lazily allocated radix
// tree of 64-bit page-state words), the device registry (arena bases, frame
// counts, counters, pending-free bitmaps) and a bounce buffer. The service
// thread is a pthread started through cgo: it never needs a Go P, so a Go
// thread that faults while holding its P (inside runtime.memmove, say) can
// always be resolved. See ../../doc.go for the state machine.
#ifndef SVMRT_SVMCORE_H
#define SVMRT_SVMCORE_H

#include <stdint.h>

#define SVM_PAGE_SHIFT 12
#define SVM_PAGE_SIZE 4096ULL

// Page-state word layout (one per 4 KiB page):
//   bits  0..2   state
//   bits  3..8   owning device id (0..63)
//   bits  9..35  device frame number (2^27 frames = 512 GiB per device)
//   bits 36..63  sequence number, bumped on every transition
// Each field starts where the previous one ends; the Go side (uffd.go)
// decodes words with these same names, so the layout is defined only here.
#define SVM_ST_BITS 3
#define SVM_DEV_SHIFT SVM_ST_BITS
#define SVM_DEV_BITS 6
#define SVM_FRAME_SHIFT (SVM_DEV_SHIFT + SVM_DEV_BITS)
#define SVM_FRAME_BITS 27
#define SVM_SEQ_SHIFT (SVM_FRAME_SHIFT + SVM_FRAME_BITS)
#define SVM_ST_MASK ((1ULL << SVM_ST_BITS) - 1)       // the state, at bit 0
#define SVM_DEV_MASK ((1ULL << SVM_DEV_BITS) - 1)     // the device id, after >> SVM_DEV_SHIFT
#define SVM_FRAME_MASK ((1ULL << SVM_FRAME_BITS) - 1) // the frame, after >> SVM_FRAME_SHIFT

enum {
	SVM_ST_HOST = 0,      // the host page is the truth (present, or absent = zero)
	SVM_ST_DEVICE = 1,    // resident in a device frame; host page absent
	SVM_ST_MIGRATING = 2, // host->device copy in progress; host page write-protected
	SVM_ST_ZAPPING = 3,   // copy done; host page being dropped
	SVM_ST_RETURNING = 4, // device->host copy in progress
	SVM_ST_FILLING = 5,   // the service thread is installing a host page (a zero page, or an unprotect)
	SVM_ST_DUP = 6,       // read duplicate: a device frame holds a read-only copy; the host page
	                      // stays present and write-protected (a CPU write collapses the copies)
};

#define SVM_MAX_DEVS 64

// A word names its device in SVM_DEV_BITS bits, and every state fits the
// state field.
_Static_assert(SVM_MAX_DEVS <= (1 << SVM_DEV_BITS), "device ids must fit the word's device field");
_Static_assert(SVM_ST_DUP <= SVM_ST_MASK, "page states must fit the word's state field");
_Static_assert(SVM_SEQ_SHIFT < 64, "the sequence number needs bits of its own");

// Pages per migration run: svm_migrate_in works on runs of at most this many
// pages, and per-page masks of a run are the bits of one uint64_t.
#define SVM_MAX_RUN 64
_Static_assert(SVM_MAX_RUN <= 64, "per-page masks of a run are uint64_t bits");

// Per-device block shared by C and Go. Counters are updated with atomics.
typedef struct {
	uint64_t arena;          // base of the device memory arena (0: slot unused)
	uint64_t nframes;        // frames in the arena
	uint64_t *pending_free;  // bitmap: frames the host side released; the device allocator reclaims them
	uint64_t cpu_faults;     // CPU faults that brought pages of this device home
	uint64_t pages_d2h;      // pages copied device -> host (faults and explicit)
	uint64_t pages_h2d;      // pages copied host -> device
	uint64_t dropped;        // device pages dropped by munmap/madvise events
	uint64_t atomic_busy;    // device atomics in flight on this device's frames (svm_dev_atomic)
	uint64_t dups;           // read duplicates made (svm_migrate_in with dup)
	uint64_t collapses;      // read duplicates dropped (CPU write, eviction, migration, events)
	uint64_t fault_d2h;      // pages copied device -> host by CPU faults (part of pages_d2h)
	uint64_t in_flight;      // device operations running (svm_dev_access): a device TLB may map frames
	uint64_t trimmed;        // frames given back to the kernel when their pages came home
	uint64_t moves;          // a zero-copy arena (svm_dev_attach): pages move between the host and frames
	uint64_t arena_fills;    // absent frames of a zero-copy arena zero-filled when first touched
} svm_dev;

typedef struct {
	uint64_t faults;       // fault messages read
	uint64_t zero_fills;   // faults resolved with a zero page (host-owned, absent)
	uint64_t wp_faults;    // write-protect faults
	uint64_t deferred;     // faults deferred (page in transition, or mmap changing)
	uint64_t events;       // remove/unmap/remap events
	uint64_t map_gen;      // bumped on unmap/remap: Go re-reads /proc/self/maps
	uint64_t errors;       // unexpected ioctl failures (EEXIST on a device page, ...)
	uint64_t last_errno;
} svm_stats;

int svm_init(void);
svm_dev *svm_dev_at(int id);
svm_stats *svm_stats_ptr(void);

// Page table.
uint64_t *svm_pte(uint64_t addr, int alloc);
uint64_t svm_pte_load(uint64_t addr);
// svm_pte_load_range writes the state words of the n pages from start (0
// for untracked ones) to out: one cgo call for a run of pages, where a
// call per page cost a host->device Migrate about a third of its time.
void svm_pte_load_range(uint64_t start, int n, uint64_t *out);
// svm_next_nonhost returns SVM_NO_PAGE when no page at or after from is
// anything but host-owned.
#define SVM_NO_PAGE UINT64_MAX
uint64_t svm_next_nonhost(uint64_t from, uint64_t *word);

// Service thread and uffd. svm_open returns 0, or -1 with *err_out =
// errno * SVM_OPEN_ERR_BASE + the stage that failed (SVM_OPEN_STAGE_*).
#define SVM_OPEN_ERR_BASE 16
enum {
	SVM_OPEN_STAGE_OPEN = 1,    // userfaultfd(2), then /dev/userfaultfd
	SVM_OPEN_STAGE_API = 2,     // UFFDIO_API feature negotiation
	SVM_OPEN_STAGE_EVENTFD = 3, // the eventfd that wakes the service thread
	SVM_OPEN_STAGE_THREAD = 4,  // the service thread's stack or the thread itself
};
int svm_open(int *err_out);
int svm_register(uint64_t start, uint64_t len);
uint64_t svm_sync_ticket(void);
int svm_sync_passed(uint64_t ticket);
uint64_t svm_sink_used(void);
int svm_dev_attach(int id, uint64_t arena, uint64_t nframes, int zero_copy);
void svm_dev_detach(int id);
// svm_dev_access counts a device operation in (delta 1) or out (-1). While
// none runs, frames whose pages come home are given back to the kernel at
// once (no device TLB can map them: every operation starts with an empty
// TLB and walks the page table).
void svm_dev_access(int id, int delta);

// Migration. Results per page in res (SVM_RES_*). With dup set the pages
// are duplicated instead: the frames get read-only copies, the host pages
// stay (write-protected) and the words become SVM_ST_DUP. With copy set the
// pages are copied and zapped (write-protect, copy, MADV_DONTNEED) even
// where the kernel has UFFDIO_MOVE: the caller sets it for a read-only
// mapping, whose pages UFFDIO_MOVE refuses (it moves only between writable
// mappings).
enum {
	SVM_RES_MIGRATED = 0, // moved into its frame (or duplicated there)
	SVM_RES_SKIPPED = 1,  // not taken: already on a device, or no frame given for it
	SVM_RES_ABORTED = 2,  // the address space changed under the migration; the frame was not used
	SVM_RES_BUSY = 3,     // another thread owns the page; retry
};
void svm_expect_work(int delta);
int svm_expecting_work(void);
int svm_migrate_in(uint64_t start, int npages, int dev, const uint32_t *frames, uint8_t *res, int dup, int copy, uint64_t gen);
// Bring every device-resident page of [start, start+npages) home (queued to the
// service thread; the caller waits); read duplicates in the range are dropped
// (the host copy is the truth). Returns pages moved or -errno.
int svm_migrate_out(uint64_t start, int npages);

// Device-local atomics on a device-resident page (see svm_dev_atomic). The
// result has bit SVM_ATOMIC_OK_SHIFT set when the translation was current
// (the operation ran) and the operation's 32-bit result below it.
#define SVM_ATOMIC_ADD 0
#define SVM_ATOMIC_CAS 1
#define SVM_ATOMIC_OK_SHIFT 32
uint64_t svm_dev_atomic(uint64_t *pte, uint64_t expect, int dev, uint64_t word_addr, int op, uint32_t a, uint32_t b);

// Deliberate bugs for testing test suites (svm_set_bugs).
#define SVM_BUG_IGNORE_UNMAP 1ULL // the service thread does not drop device copies on munmap
void svm_set_bugs(uint64_t bugs);

void svm_fault_window_reset(void);

// The CPU fault log (svm's cpufaultlog.go): while it is on, the service
// thread appends one entry per CPU fault it serves on a DEVICE or DUP page
// to a single-producer (the service thread), single-consumer (the log's
// Go reader) ring, and every bring-back moves one page. An entry is the
// page's address with bit 0 set for a write (SVM_FLOG_WRITE).
//
// The hand-off: the producer writes ring[head % cap], then stores head + 1
// with release; the reader loads head with acquire, reads the entries below
// it, then stores its tail with release; the producer loads tail with
// acquire before it reuses a slot (a full ring drops the entry and counts
// it in lost). head is written only by the producer, tail only by the
// reader; cap and ring are fixed while a log is on (set before on is
// stored, with release; the producer reads them after an acquire fence).
#define SVM_FLOG_MAX (1u << 16) // entries in the ring (a power of two)
#define SVM_FLOG_WRITE 1ULL
typedef struct {
	uint64_t on;       // 0, or the session of the log that is on (the fault path's one load)
	uint64_t owner;    // 0, or the session holding the log (from its start until its stop is complete)
	uint64_t sessions; // the last session number handed out
	uint64_t cap;      // entries the ring holds in this session (a power of two <= SVM_FLOG_MAX)
	uint64_t next_cap; // cap of the next session (svm_flog_set_cap, a test hook)
	uint64_t *ring;    // SVM_FLOG_MAX entries, mapped at the first start and kept
	uint64_t lost;     // entries dropped on a full ring; the reader swaps it with 0
	uint64_t pad0[1];
	uint64_t head;     // entries appended (producer)
	uint64_t pad1[7];  // head and tail on cache lines of their own
	uint64_t tail;     // entries read (reader)
	uint64_t pad2[7];
} svm_flog;

svm_flog *svm_flog_ptr(void);
// svm_flog_start turns the log on for a new session, the ring emptied;
// returns the session (> 0), or -EBUSY while another log holds it, -ENOMEM
// when the ring cannot be mapped, -ENOTSUP before svm_open.
int64_t svm_flog_start(void);
// svm_flog_off turns session's log off (its entries stop); returns 1 if it
// was on. The caller then waits for the service thread to finish the
// iteration it is in (no append that saw the session is in flight) and
// calls svm_flog_release.
int svm_flog_off(uint64_t session);
// svm_flog_release ends session: read-ahead starts afresh and a new log may
// start.
void svm_flog_release(uint64_t session);
// svm_flog_set_cap sets the ring capacity of the next session (a power of
// two, 1..SVM_FLOG_MAX; 0: SVM_FLOG_MAX); EINVAL otherwise.
int svm_flog_set_cap(uint64_t cap);

// Test hooks: migrations, and the service thread, sleep before a zap (see
// svm_set_zap_delay).
void svm_set_zap_delay(uint64_t migrator_ns, uint64_t service_ns);
int svm_zap_holding(void);
// Test hook: the next n CPU faults on device pages are deferred once.
void svm_defer_bring_backs(uint64_t n);
// Whether migrations zap with UFFDIO_MOVE (the kernel has it) or madvise.
int svm_zap_by_move(void);

// The calling thread's thread pointer (fs:0) and an address on its stack.
uint64_t svm_thread_pointer(void);
uint64_t svm_stack_pointer(void);

// A description of the service thread's pending work (watchdog dumps).
int svm_debug_state(char *buf, int n);

#endif
