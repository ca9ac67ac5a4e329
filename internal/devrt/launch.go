package devrt

// #include <stdlib.h>
// #include <string.h>
// #include "sched.h"
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Geometry is an NDRange: Dims dimensions of Global work-items in groups of
// Local, ids starting at Offset. Unused dimensions are 1 (offset 0).
type Geometry struct {
	Dims                  int
	Global, Local, Offset [3]int
}

// Groups is the number of work-groups; GroupSize the items in one.
func (g Geometry) Groups() int {
	return (g.Global[0] / g.Local[0]) * (g.Global[1] / g.Local[1]) * (g.Global[2] / g.Local[2])
}

// GroupSize is the number of work-items in a work-group.
func (g Geometry) GroupSize() int { return g.Local[0] * g.Local[1] * g.Local[2] }

// Arg is one kernel argument: its bytes as the kernel takes them (an
// address, a scalar, a vector, a struct), or — for a __local pointer — the
// size of the local memory to give each work-group.
type Arg struct {
	Bytes []byte
	Local int
}

// Launch is a kernel launch in C memory, ready to be assigned to SMs. Free
// it when no SM runs it any more.
type Launch struct {
	Entry Entry
	Geom  Geometry
	// LocalBytes is the local memory one work-group uses: its __local
	// arguments and variables (set by Prepare).
	LocalBytes int
	c          *C.svmk_launch
	args       *C.dr_args
	alloc      unsafe.Pointer // the C memory all of the above is in
}

// NewLaunch copies the geometry and the arguments into C memory.
func NewLaunch(e Entry, g Geometry, args []Arg) (*Launch, error) {
	for d := 0; d < 3; d++ {
		if d >= g.Dims {
			g.Global[d], g.Local[d], g.Offset[d] = 1, 1, 0
		}
		if g.Global[d] <= 0 || g.Local[d] <= 0 || g.Global[d]%g.Local[d] != 0 {
			return nil, fmt.Errorf("devrt: bad geometry %+v", g)
		}
	}
	l := &Launch{Entry: e, Geom: g}
	// One block of the runtime's own memory holds it all, carved in
	// 16-byte aligned pieces (the sizes below, summed first).
	round := func(n int) int { return (max(n, 1) + 15) &^ 15 }
	// The geometry, the argument table, its pointers, the __local
	// arguments' indices and sizes (at most one each per argument), then
	// the argument bytes.
	total := round(int(unsafe.Sizeof(C.svmk_launch{}))) + round(int(unsafe.Sizeof(C.dr_args{}))) + round(8*len(args)) +
		round(4*len(args)) + round(8*len(args))
	for _, a := range args {
		total += round(len(a.Bytes))
	}
	block := C.dr_alloc(C.uint64_t(total))
	if block == nil {
		return nil, fmt.Errorf("devrt: out of memory for %d bytes of launch arguments", total)
	}
	l.alloc = block
	used := 0
	calloc := func(n int) unsafe.Pointer {
		p := unsafe.Add(block, used)
		used += round(n)
		return p
	}
	l.c = (*C.svmk_launch)(calloc(int(unsafe.Sizeof(C.svmk_launch{}))))
	l.c.work_dim = C.uint32_t(g.Dims)
	for d := 0; d < 3; d++ {
		l.c.gsize[d] = C.uint64_t(g.Global[d])
		l.c.lsize[d] = C.uint64_t(g.Local[d])
		l.c.ngroups[d] = C.uint64_t(g.Global[d] / g.Local[d])
		l.c.offset[d] = C.uint64_t(g.Offset[d])
	}
	l.args = (*C.dr_args)(calloc(int(unsafe.Sizeof(C.dr_args{}))))
	n := len(args)
	ptrs := (*[1 << 20]unsafe.Pointer)(calloc(8 * n))[:n:n]
	var nlocal int
	for _, a := range args {
		if a.Local > 0 {
			nlocal++
		}
	}
	lidx := (*[1 << 20]C.int)(calloc(4 * nlocal))[:nlocal:nlocal]
	lsz := (*[1 << 20]C.uint64_t)(calloc(8 * nlocal))[:nlocal:nlocal]
	j := 0
	for i, a := range args {
		if a.Local > 0 {
			lidx[j], lsz[j] = C.int(i), C.uint64_t(a.Local)
			j++
			continue
		}
		b := calloc(len(a.Bytes))
		if len(a.Bytes) > 0 {
			C.memcpy(b, unsafe.Pointer(&a.Bytes[0]), C.size_t(len(a.Bytes)))
		}
		ptrs[i] = b
	}
	l.args.n = C.int(n)
	if n > 0 {
		l.args.ptrs = (*unsafe.Pointer)(unsafe.Pointer(&ptrs[0]))
	}
	l.args.nlocal = C.int(nlocal)
	l.args.static_local = C.uint64_t(e.Module().StaticLocal)
	if nlocal > 0 {
		l.args.local_idx = &lidx[0]
		l.args.local_size = &lsz[0]
	}
	return l, nil
}

// Free releases the launch's C memory.
func (l *Launch) Free() {
	C.dr_free(l.alloc)
	l.alloc = nil
}

// Errors a group can fail with besides an aborted work-item.
var (
	// ErrNoStack: the runtime could not get memory for a work-item's stack.
	ErrNoStack = errors.New("devrt: out of memory for work-item stacks")
)

// GroupFailure says why one work-group failed.
type GroupFailure struct {
	Group     int    // linear work-group index
	Why       int    // C.DR_FAIL_*
	LocalItem int    // the work-item (local linear id); -1 for a fault in a group loop, where it is not known
	Barrier   int    // the barrier generation involved (1-based)
	Exited    int    // items that had returned (late arrival)
	Addr      uint64 // FailSegv, FailMisaligned: the faulting address
	Signal    int    // FailSegv: the signal (SIGSEGV, SIGBUS, SIGFPE)
	Width     int    // FailMisaligned: the atomic's width in bytes
}

// Kinds of group failure.
const (
	FailAbort       = C.DR_FAIL_ABORT
	FailDivergeEnd  = C.DR_FAIL_DIVERGE_EXIT
	FailDivergeLate = C.DR_FAIL_DIVERGE_LATE
	FailNoStack     = C.DR_FAIL_NOSTACK
	FailSegv        = C.DR_FAIL_SEGV
	FailMisaligned  = C.DR_FAIL_MISALIGNED
)
