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
	c   *C.dr_sm
	max int
	l   *Launch
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
}

// Assign gives the SM work-groups g0 .. g0+n-1 of l.
func (s *SM) Assign(l *Launch, g0, n int) error {
	if n*l.Geom.GroupSize() > s.max {
		return fmt.Errorf("devrt: %d groups of %d items exceed the SM's %d", n, l.Geom.GroupSize(), s.max)
	}
	if C.dr_sm_assign(s.c, l.c, (*[0]byte)(l.Entry.fn), (*[0]byte)(l.Entry.loop), l.args, C.uint64_t(g0), C.int(n)) != 0 {
		return fmt.Errorf("devrt: assigning work-groups: %w", ErrNoStack)
	}
	s.l = l
	return nil
}

// Run runs the assigned work-items until none can progress and returns how
// many wait for a fault to be serviced.
func (s *SM) Run() int { return int(C.dr_sm_run(s.c)) }

// Items is the number of assigned work-items.
func (s *SM) Items() int { return int(s.c.nitems) }

// Stall is a work-item waiting for a fault.
type Stall struct {
	Index        int    // index among the SM's items
	GlobalLinear uint64 // the item's global linear id
	LocalLinear  int
	Group        int // linear work-group index
	Addr         uint64
	Write        bool
	Atomic       bool
}

// Stalls appends the items waiting for faults, in item order.
func (s *SM) Stalls(dst []Stall) []Stall {
	n := int(s.c.nitems)
	state := unsafe.Slice((*uint8)(unsafe.Pointer(s.c.state)), n)
	addr := unsafe.Slice((*uint64)(unsafe.Pointer(s.c.fault_addr)), n)
	acc := unsafe.Slice((*uint8)(unsafe.Pointer(s.c.fault_acc)), n)
	items := unsafe.Slice(s.c.items, n)
	gs := s.l.Geom.GroupSize()
	for i := 0; i < n; i++ {
		if state[i] != C.DR_FAULT {
			continue
		}
		dst = append(dst, Stall{Index: i, GlobalLinear: uint64(items[i].global_linear), LocalLinear: int(items[i].local_linear),
			Group: int(s.c.g0) + i/gs, Addr: addr[i], Write: acc[i]&C.DR_ACC_WRITE != 0, Atomic: acc[i]&C.DR_ACC_ATOMIC != 0})
	}
	return dst
}

// Resume lets a stalled item go on (retrying its access) or, with abort,
// fails it and its group.
func (s *SM) Resume(i int, abort bool) {
	state := unsafe.Slice((*uint8)(unsafe.Pointer(s.c.state)), int(s.c.nitems))
	ab := unsafe.Slice((*uint8)(unsafe.Pointer(s.c.abort)), int(s.c.nitems))
	if state[i] != C.DR_FAULT {
		return
	}
	if abort {
		ab[i] = 1
	}
	state[i] = C.DR_READY
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
			Barrier: int(g.fail_barrier), Exited: int(g.fail_exited), Addr: uint64(g.fail_addr), Signal: int(g.fail_sig)})
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
