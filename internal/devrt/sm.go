package devrt

// #include "sched.h"
// #include "trap.h"
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

var (
	trapOnce sync.Once
	trapErr  error
)

// installTrap puts the kernel fault handler (trap.c) in front of Go's, once.
func installTrap() error {
	trapOnce.Do(func() {
		if C.dr_trap_install() != 0 {
			trapErr = fmt.Errorf("devrt: installing the kernel fault handler failed")
		}
	})
	return trapErr
}

// SM is one simulated compute unit (or, for native execution, one worker):
// a TLB shared by the warps it runs, the work-items of the groups assigned
// to it, and their fibers. An SM is used by one goroutine at a time.
type SM struct {
	c      *C.dr_sm
	max    int
	l      *Launch
	faults []C.dr_fault // Faults' buffer (OffHeap)
	// Nothing here is written during a launch's fault rounds (what they
	// change is in C): this struct is on the Go heap, and a write per
	// round to a page a kernel's data shares would pull that page back
	// from the device every round.
}

// NewSM makes an SM for up to maxItems work-items at a time, with a TLB of
// tlbEntries entries in sets of ways (both rounded up to powers of two).
func NewSM(tlbEntries, ways, maxItems int) (*SM, error) {
	if err := installTrap(); err != nil {
		return nil, err
	}
	c := C.dr_sm_new(C.uint32_t(tlbEntries), C.uint32_t(ways), C.int(maxItems))
	if c == nil {
		return nil, fmt.Errorf("devrt: no memory for an SM of %d work-items: %w", maxItems, ErrNoStack)
	}
	return &SM{c: c, max: maxItems}, nil
}

// Free releases the SM.
func (s *SM) Free() {
	if s.c != nil {
		C.dr_sm_free(s.c)
		s.c = nil
	}
	s.freeFaults()
}

func (s *SM) freeFaults() {
	if s.faults != nil {
		FreeOffHeap(s.faults)
		s.faults = nil
	}
}

// Test hooks (iloop_test.go compares item loops with one trampoline call
// per work-item): noItemLoops makes Assign run every kernel the latter way
// on a simulated MMU; faultsHook, if set, sees what every SM.Faults that
// found waiting items returns.
var (
	noItemLoops bool
	faultsHook  func(s *SM, faults []Fault, digest uint64)
)

// Assign gives the SM work-groups g0 .. g0+n-1 of l.
func (s *SM) Assign(l *Launch, g0, n int) error {
	if n*l.Geom.GroupSize() > s.max {
		return fmt.Errorf("devrt: %d groups of %d items exceed the SM's %d", n, l.Geom.GroupSize(), s.max)
	}
	iloop := l.Entry.iloop
	if noItemLoops {
		iloop = nil
	}
	if C.dr_sm_assign(s.c, l.c, (*[0]byte)(l.Entry.fn), (*[0]byte)(l.Entry.loop), (*[0]byte)(iloop), l.args,
		C.uint64_t(g0), C.int(n)) != 0 {
		return fmt.Errorf("devrt: assigning work-groups: %w", ErrNoStack)
	}
	s.l = l
	s.c.no_restart = 0
	if l.Entry.Module().NoRestart {
		s.c.no_restart = 1
	}
	return nil
}

// SetWarp sets how many consecutive work-items of a group make a warp (the
// faults of a warp's lanes to one page are one fault: Faults), and with it
// which lanes stall together: lanes after one that gave its run up at the
// same access as the lane before it, on the same page, wait with it
// without running (see warp_stall in sched.c). Below 2, every item runs
// on its own.
func (s *SM) SetWarp(n int) {
	if n < 0 {
		n = 0
	}
	s.c.warp = C.uint32_t(n)
}

// Run runs the assigned work-items until none can progress and returns how
// many wait for a fault to be serviced.
func (s *SM) Run() int { return int(C.dr_sm_run(s.c)) }

// Items is the number of assigned work-items.
func (s *SM) Items() int { return int(s.c.nitems) }

// Fault is one fault the SM's waiting work-items need serviced: the first
// access of a warp to a page.
type Fault struct {
	Addr         uint64 // the first waiting item's faulting address on the page
	GlobalLinear uint64 // that item's global linear id
	Group        int    // linear work-group index
	Write        bool   // some access of the warp to the page writes
	Atomic       bool   // ... or is atomic
}

// Faults appends the faults of the items waiting after Run, one per
// work-group, warp (warp consecutive local ids) and page, in item order,
// and returns them with a digest of every waiting item's id and address
// (equal digests: the same items stalled at the same addresses) and
// whether any item waits. dst must have room for one fault per item the SM
// holds: the caller keeps it in OffHeap memory, which append must not move
// to the Go heap.
func (s *SM) Faults(dst []Fault, warp int) ([]Fault, uint64, bool) {
	if s.c.waiting == 0 { // Run counted none: no pass over the items
		return dst, fnvOffset, false
	}
	n := int(s.c.nitems)
	if cap(s.faults) < n {
		s.freeFaults()
		s.faults = OffHeap[C.dr_fault](n) // rewritten every fault round: not on a page a kernel uses
	}
	var digest C.uint64_t
	k := int(C.dr_sm_faults(s.c, C.uint32_t(warp), unsafe.SliceData(s.faults), C.int(n), &digest))
	if k < 0 { // cannot happen: at most one fault per waiting item
		panic("devrt: more faults than work-items")
	}
	if cap(dst)-len(dst) < k {
		panic("devrt: SM.Faults: dst has no room for the SM's faults")
	}
	start := len(dst)
	for _, f := range s.faults[:k] {
		dst = append(dst, Fault{Addr: uint64(f.addr), GlobalLinear: uint64(f.global_linear), Group: int(s.c.g0) + int(f.group),
			Write: f.acc&C.DR_ACC_WRITE != 0, Atomic: f.acc&C.DR_ACC_ATOMIC != 0})
	}
	if faultsHook != nil {
		faultsHook(s, dst[start:], uint64(digest))
	}
	return dst, uint64(digest), k > 0
}

// fnvOffset is the digest of no waiting items (dr_sm_faults starts its FNV
// hash there).
const fnvOffset = 0xcbf29ce484222325

// Resume ends the wait of every waiting item: each retries (a parked item
// its access, an item that gave its run up from the start) the next time
// the SM runs, except those waiting on one of badPages (sorted) — or all,
// with abortAll — which are aborted, failing their groups.
func (s *SM) Resume(badPages []uint64, abortAll bool) {
	var p *C.uint64_t
	if len(badPages) > 0 {
		p = (*C.uint64_t)(unsafe.Pointer(&badPages[0]))
	}
	ab := C.int(0)
	if abortAll {
		ab = 1
	}
	C.dr_sm_resume(s.c, p, C.int(len(badPages)), ab)
}

// Failures returns the failed groups, in group order.
func (s *SM) Failures() []GroupFailure {
	var out []GroupFailure
	gs := unsafe.Slice(s.c.groups, int(s.c.ngroups))
	for k := range gs {
		g := &gs[k]
		if g.fail == C.DR_FAIL_NONE {
			continue
		}
		out = append(out, GroupFailure{Group: int(s.c.g0) + k, Why: int(g.fail), LocalItem: int(g.fail_item),
			Barrier: int(g.fail_barrier), Exited: int(g.fail_exited), Addr: uint64(g.fail_addr), Signal: int(g.fail_sig),
			Width: int(g.fail_width)})
	}
	return out
}

// Counters are an SM's TLB and memory counters.
type Counters struct {
	Hits, Misses, Bytes, Remote int64
	Fibers                      int // fibers switched to
}

// Counters returns the SM's counters since the last reset.
func (s *SM) Counters() Counters {
	return Counters{Hits: int64(s.c.k.hits), Misses: int64(s.c.k.misses), Bytes: int64(s.c.k.bytes),
		Remote: int64(s.c.k.remote), Fibers: int(s.c.runs)}
}

// ResetCounters zeroes the counters.
func (s *SM) ResetCounters() {
	s.c.k.hits, s.c.k.misses, s.c.k.bytes, s.c.k.remote, s.c.runs = 0, 0, 0, 0, 0
}

// FlushTLB empties the TLB.
func (s *SM) FlushTLB() { C.dr_tlb_flush(&s.c.k) }
