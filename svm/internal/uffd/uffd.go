// Package uffd is the only place in svmrt that talks to userfaultfd. It owns
// the C half of the HMM core (svmcore.c): the logical page table in off-heap
// memory, the device registry the fault-service thread reads, the service
// thread itself, and the host<->device migration primitives.
//
// Why C: a goroutine cannot service userfaultfd faults. A Go thread that
// faults inside runtime.memmove keeps its P and cannot be preempted, so with
// GOMAXPROCS=1 a handler goroutine never runs, and with more Ps a GC
// stop-the-world waits forever for the faulting thread. A pthread needs no P.
package uffd

/*
#cgo CFLAGS: -O2 -Wall -Wno-unused-result
#cgo LDFLAGS: -lpthread
#include "svmcore.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The page-state word layout, page states and per-page migration results
// are defined once, in svmcore.h; these are its names.
const (
	PageShift  = C.SVM_PAGE_SHIFT
	PageSize   = C.SVM_PAGE_SIZE
	MaxDevices = C.SVM_MAX_DEVS
	MaxRun     = C.SVM_MAX_RUN // pages per migration sub-run

	StateHost      = C.SVM_ST_HOST
	StateDevice    = C.SVM_ST_DEVICE
	StateMigrating = C.SVM_ST_MIGRATING
	StateZapping   = C.SVM_ST_ZAPPING
	StateReturning = C.SVM_ST_RETURNING
	StateFilling   = C.SVM_ST_FILLING
	StateDup       = C.SVM_ST_DUP

	stMask     = C.SVM_ST_MASK
	devShift   = C.SVM_DEV_SHIFT
	devMask    = C.SVM_DEV_MASK
	frameShift = C.SVM_FRAME_SHIFT
	frameBits  = C.SVM_FRAME_BITS
	frameMask  = C.SVM_FRAME_MASK
	seqShift   = C.SVM_SEQ_SHIFT
)

// Word decoders.
func State(w uint64) int    { return int(w & stMask) }
func Dev(w uint64) int      { return int(w>>devShift) & devMask }
func Frame(w uint64) uint64 { return (w >> frameShift) & frameMask }
func Seq(w uint64) uint64   { return w >> seqShift }
func MaxFrames() uint64     { return 1 << frameBits }

// Migration results per page (svm_migrate_in).
const (
	Migrated = C.SVM_RES_MIGRATED
	Skipped  = C.SVM_RES_SKIPPED // already resident on a device
	Aborted  = C.SVM_RES_ABORTED // the address space changed under the migration; frame unused
	Busy     = C.SVM_RES_BUSY    // another thread owns the page right now; retry
)

func init() {
	// The C state block must exist before anything else here runs.
	if e := C.svm_init(); e != 0 {
		panic(fmt.Sprintf("svmrt: cannot map the page-table state block: %v", syscall.Errno(e)))
	}
}

// mainTLS is the main thread's thread pointer, read in init: the Go runtime
// runs package initialisation on the main thread.
var mainTLS uintptr

func init() { mainTLS = uintptr(C.svm_thread_pointer()) }

// MainTLS is an address in the main thread's static TLS block (its thread
// pointer), 0 if unknown.
func MainTLS() uintptr { return mainTLS }

// ThreadSelf returns an address on the calling thread's C stack and its
// thread pointer. Call it with the goroutine locked to its thread, and make
// the cgo call that must avoid them on the same thread.
func ThreadSelf() (sp, tp uintptr) {
	return uintptr(C.svm_stack_pointer()), uintptr(C.svm_thread_pointer())
}

var (
	openOnce sync.Once
	openErr  error
	opened   atomic.Bool
)

// ErrUnavailable wraps every reason userfaultfd cannot be used.
var ErrUnavailable = errors.New("userfaultfd unavailable")

// Open creates the process's userfaultfd and starts the fault-service
// thread. It is idempotent; the first result is returned to every caller.
func Open() error {
	openOnce.Do(func() {
		var code C.int
		if C.svm_open(&code) != 0 {
			errno := syscall.Errno(code / C.SVM_OPEN_ERR_BASE)
			stage := [...]string{
				C.SVM_OPEN_STAGE_OPEN:    "open userfaultfd (syscall and /dev/userfaultfd)",
				C.SVM_OPEN_STAGE_API:     "UFFDIO_API feature negotiation",
				C.SVM_OPEN_STAGE_EVENTFD: "eventfd",
				C.SVM_OPEN_STAGE_THREAD:  "start service thread",
			}[code%C.SVM_OPEN_ERR_BASE]
			openErr = fmt.Errorf("%w: %s: %v", ErrUnavailable, stage, errno)
			return
		}
		opened.Store(true)
	})
	return openErr
}

// Available reports whether Open succeeded.
func Available() bool { return opened.Load() }

// Register registers [start, start+length) for MISSING and WP faults.
func Register(start, length uintptr) error {
	if !opened.Load() {
		return ErrUnavailable
	}
	if e := C.svm_register(C.uint64_t(start), C.uint64_t(length)); e != 0 {
		return fmt.Errorf("UFFDIO_REGISTER %#x+%#x: %w", start, length, syscall.Errno(e))
	}
	return nil
}

// Sync waits until the service thread has handled every message it read
// before the call: after munmap or madvise returns (their events are read
// before they return), Sync guarantees the page table reflects them.
func Sync() {
	if !opened.Load() {
		return
	}
	t := C.svm_sync_ticket()
	for i := 0; C.svm_sync_passed(t) == 0; i++ {
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// PTE returns a pointer to the state word of the page holding addr, or nil
// when the page has never been tracked and alloc is false (or the address is
// beyond the 47-bit user address space). The word lives in C memory and may
// be read with sync/atomic at any time.
func PTE(addr uintptr, alloc bool) *uint64 {
	a := C.int(0)
	if alloc {
		a = 1
	}
	return (*uint64)(unsafe.Pointer(C.svm_pte(C.uint64_t(addr), a)))
}

// Load returns the state word of the page holding addr (0 = host, untracked).
func Load(addr uintptr) uint64 {
	if p := PTE(addr, false); p != nil {
		return atomic.LoadUint64(p)
	}
	return 0
}

// LoadRange fills words with the state words of the len(words) pages from
// start (0 = host, untracked) in one call: for loops over a run of pages,
// where Load's call per page is most of the loop's cost.
func LoadRange(start uintptr, words []uint64) {
	if len(words) > 0 {
		C.svm_pte_load_range(C.uint64_t(start), C.int(len(words)), (*C.uint64_t)(unsafe.Pointer(&words[0])))
	}
}

// Walk calls fn for every tracked page whose state is not HOST, in address
// order. fn may change page states.
func Walk(fn func(addr uintptr, word uint64)) error {
	from := uint64(0)
	for {
		var w C.uint64_t
		a := uint64(C.svm_next_nonhost(C.uint64_t(from), &w))
		if a == C.SVM_NO_PAGE {
			return nil
		}
		fn(uintptr(a), uint64(w))
		from = a + PageSize
	}
}

// DebugState describes the service thread's pending work: deferred faults
// (with their pages' states) and migrate-out requests in hand.
func DebugState() string {
	buf := make([]byte, 4096)
	n := int(C.svm_debug_state((*C.char)(unsafe.Pointer(&buf[0])), C.int(len(buf))))
	return string(buf[:min(n, len(buf)-1)])
}

// NextNonHost returns the first tracked page at or after from whose state
// is not HOST, and false when there is none. Its cost grows with the table
// leaves allocated, not with the distance covered.
func NextNonHost(from uintptr) (uintptr, bool) {
	var w C.uint64_t
	a := uint64(C.svm_next_nonhost(C.uint64_t(from), &w))
	return uintptr(a), a != C.SVM_NO_PAGE
}

// AttachDevice makes device slot id's arena known to the C side. With
// zeroCopy the arena must be private anonymous read-write memory that a
// forked child does not inherit (MADV_DONTFORK): it is registered with the
// userfaultfd, and pages move into and out of its frames instead of being
// copied, where the kernel has UFFDIO_MOVE (ZeroCopy says whether it took).
func AttachDevice(id int, arena uintptr, nframes uint64, zeroCopy bool) error {
	if e := C.svm_dev_attach(C.int(id), C.uint64_t(arena), C.uint64_t(nframes), C.int(b2i(zeroCopy))); e != 0 {
		return fmt.Errorf("attach device %d: %w", id, syscall.Errno(e))
	}
	return nil
}

// ZeroCopy reports whether slot id's arena is a zero-copy one: pages move
// between the host and its frames instead of being copied (AttachDevice).
func ZeroCopy(id int) bool {
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&C.svm_dev_at(C.int(id)).moves))) != 0
}

// DetachDevice forgets slot id's arena.
func DetachDevice(id int) { C.svm_dev_detach(C.int(id)) }

// PendingFree is the bitmap of slot id's frames released by the host side.
// Reclaim words with atomic.SwapUint64.
func PendingFree(id int) []uint64 {
	d := C.svm_dev_at(C.int(id))
	if d.pending_free == nil {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(d.pending_free)), (uint64(d.nframes)+63)/64)
}

// InFlight reports whether slot id has device operations running
// (DeviceAccess), during which a device TLB may map its frames.
func InFlight(id int) bool {
	d := C.svm_dev_at(C.int(id))
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.in_flight))) != 0
}

// DevCounters are the C-side counters of one device slot.
type DevCounters struct {
	CPUFaults, PagesD2H, PagesH2D, Dropped uint64
	Dups, Collapses                        uint64 // read duplicates made and dropped
	FaultD2H                               uint64 // pages brought home by CPU faults (part of PagesD2H)
	Trimmed                                uint64 // frames given back to the kernel as their pages came home
	ArenaFills                             uint64 // absent frames of a zero-copy arena zero-filled on first touch
}

// Counters reads slot id's counters.
func Counters(id int) DevCounters {
	d := C.svm_dev_at(C.int(id))
	return DevCounters{
		CPUFaults:  atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.cpu_faults))),
		PagesD2H:   atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.pages_d2h))),
		PagesH2D:   atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.pages_h2d))),
		Dropped:    atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.dropped))),
		Dups:       atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.dups))),
		Collapses:  atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.collapses))),
		FaultD2H:   atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.fault_d2h))),
		Trimmed:    atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.trimmed))),
		ArenaFills: atomic.LoadUint64((*uint64)(unsafe.Pointer(&d.arena_fills))),
	}
}

// DeviceAccess counts a device operation of slot id in (delta 1) or out
// (-1); see svm_dev_access.
func DeviceAccess(id, delta int) { C.svm_dev_access(C.int(id), C.int(delta)) }

// GlobalStats are the service thread's counters.
type GlobalStats struct {
	Faults, ZeroFills, WPFaults, Deferred, Events, MapGen, Errors, LastErrno uint64
}

// Stats reads the service thread's counters.
func Stats() GlobalStats {
	g := C.svm_stats_ptr()
	l := func(p *C.uint64_t) uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(p))) }
	return GlobalStats{l(&g.faults), l(&g.zero_fills), l(&g.wp_faults), l(&g.deferred), l(&g.events), l(&g.map_gen), l(&g.errors), l(&g.last_errno)}
}

// How says how MigrateIn takes a range's pages.
type How int

const (
	// Move moves the pages out of the address space (UFFDIO_MOVE, where the
	// kernel has it; write-protect, copy and zap otherwise).
	Move How = iota
	// Copy write-protects, copies and zaps (MADV_DONTNEED) even where the
	// kernel has UFFDIO_MOVE: for read-only mappings, whose pages
	// UFFDIO_MOVE refuses (it moves only between writable mappings).
	Copy
	// Duplicate gives the frames read-only copies (read duplication); the
	// host pages stay, write-protected.
	Duplicate
)

// ExpectWork tells the fault-service thread that requests are about to
// come (n > 0) or that the caller's have ended (n < 0): while any caller
// expects work, or is inside MigrateIn, the thread polls instead of
// sleeping.
func ExpectWork(n int) { C.svm_expect_work(C.int(n)) }

// ExpectingWork is how many callers keep the service thread polling now
// (ExpectWork, and MigrateIn calls in progress).
func ExpectingWork() int { return int(C.svm_expecting_work()) }

// MigrateIn moves the host-owned pages of [start, start+n pages) into device
// slot dev's frames (frames[i] for page i), as how says, writing a result
// per page into res. It returns the number of pages migrated.
//
// gen is the address-space generation (GlobalStats.MapGen) of the caller's
// look at the range: when an munmap or mremap has been handled since, the
// range may hold another mapping, and no page is taken (each reported as
// given up).
func MigrateIn(start uintptr, dev int, frames []uint32, res []uint8, how How, gen uint64) (int, error) {
	n := len(frames)
	if n == 0 {
		return 0, nil
	}
	if len(res) < n {
		panic("uffd.MigrateIn: res shorter than frames")
	}
	r := C.svm_migrate_in(C.uint64_t(start), C.int(n), C.int(dev), (*C.uint32_t)(unsafe.Pointer(&frames[0])), (*C.uint8_t)(unsafe.Pointer(&res[0])),
		C.int(b2i(how == Duplicate)), C.int(b2i(how == Copy)), C.uint64_t(gen))
	if r < 0 {
		return 0, syscall.Errno(-r)
	}
	return int(r), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// MigrateOut brings every device-resident page of [start, start+n pages)
// home (the fault-service thread does the copying; the caller waits). It
// returns the number of pages moved.
func MigrateOut(start uintptr, n int) (int, error) {
	r := C.svm_migrate_out(C.uint64_t(start), C.int(n))
	if r < 0 {
		return 0, syscall.Errno(-r)
	}
	return int(r), nil
}

// ResetFaultWindow makes the service thread's sequential-access detector
// forget its history (see svm_fault_window_reset).
func ResetFaultWindow() { C.svm_fault_window_reset() }

// SetZapDelay makes every migration sleep migrator once its pages are
// ZAPPING and before dropping them from the address space, and the fault-service
// thread sleep service before it drops them for a migration (ZapHolding
// reports it asleep): test hooks that widen the windows an mremap or munmap
// of the range can race into. 0 turns them off.
func SetZapDelay(migrator, service time.Duration) {
	C.svm_set_zap_delay(C.uint64_t(migrator), C.uint64_t(service))
}

// DeferBringBacks makes the next n CPU faults on device pages be deferred
// once each before they are served, as a bring-back that lost a race (or
// met EAGAIN) is: a test hook.
func DeferBringBacks(n int) { C.svm_defer_bring_backs(C.uint64_t(n)) }

// ZapHolding reports whether the service thread sleeps in the SetZapDelay
// hook.
func ZapHolding() bool { return C.svm_zap_holding() != 0 }

// ZapByMove reports whether migrations drop their host pages with
// UFFDIO_MOVE, which a racing mremap or munmap cannot misdirect, rather
// than with madvise (kernels before 6.8), which may zap a mapping that
// replaced the range meanwhile.
func ZapByMove() bool { return C.svm_zap_by_move() != 0 }

// SinkPages is how many zapped host pages the service thread still holds:
// moves fill the sink, and it is emptied when full or after a millisecond
// of quiet.
func SinkPages() int { return int(C.svm_sink_used()) }

// BugIgnoreUnmap makes the service thread forget to drop device copies on
// munmap (see SetBugs).
const BugIgnoreUnmap = C.SVM_BUG_IGNORE_UNMAP

// SetBugs turns deliberately broken behaviours on (for testing test suites).
func SetBugs(bugs uint64) { C.svm_set_bugs(C.uint64_t(bugs)) }

// DeviceAtomicAdd adds delta to the 32-bit word at wordAddr, in a frame of
// device dev, if *pte still equals expect; ok is false when the translation
// is stale (the page moved: retry through the page table). See
// svm_dev_atomic for why this runs in C.
func DeviceAtomicAdd(pte *uint64, expect uint64, dev int, wordAddr uintptr, delta uint32) (old uint32, ok bool) {
	r := uint64(C.svm_dev_atomic((*C.uint64_t)(unsafe.Pointer(pte)), C.uint64_t(expect), C.int(dev), C.uint64_t(wordAddr), C.SVM_ATOMIC_ADD, C.uint32_t(delta), 0))
	return uint32(r), r>>C.SVM_ATOMIC_OK_SHIFT != 0
}

// DeviceAtomicCAS is the compare-and-swap counterpart of DeviceAtomicAdd.
func DeviceAtomicCAS(pte *uint64, expect uint64, dev int, wordAddr uintptr, old, new uint32) (swapped, ok bool) {
	r := uint64(C.svm_dev_atomic((*C.uint64_t)(unsafe.Pointer(pte)), C.uint64_t(expect), C.int(dev), C.uint64_t(wordAddr), C.SVM_ATOMIC_CAS, C.uint32_t(old), C.uint32_t(new)))
	return uint32(r) != 0, r>>C.SVM_ATOMIC_OK_SHIFT != 0
}

// PTEFunc returns the C page-table walk svm_pte (uint64_t *(*)(uint64_t
// addr, int alloc)), for C code outside this package that translates
// addresses (the simulated GPU's compiled-kernel MMU).
func PTEFunc() unsafe.Pointer { return unsafe.Pointer(C.svm_pte) }

// AtomicBusy returns device id's count of device atomics in flight: C code
// that runs a device atomic on a frame increments it, re-checks the page
// word, operates and decrements it; the service thread waits for zero after
// claiming a page and before copying it (see svm_dev_atomic).
func AtomicBusy(id int) *uint64 {
	return (*uint64)(unsafe.Pointer(&C.svm_dev_at(C.int(id)).atomic_busy))
}
