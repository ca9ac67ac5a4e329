package simgpu

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Copy copies n bytes from src to dst on the device, through its page table
// (clEnqueueSVMMemcpy on fine-grained system SVM). Each range is one fault
// request: if any of its pages is not usable yet, the whole range is faulted
// in with one device fault and one batch (hmm_range_fault), not one fault
// per page. Overlapping ranges are an error (CL_MEM_COPY_OVERLAP).
func (d *Device) Copy(ctx context.Context, dst, src, n uintptr) error {
	if n == 0 {
		return nil
	}
	if dst < src+n && src < dst+n {
		return fmt.Errorf("simgpu: copy %#x..%#x to %#x..%#x: regions overlap: %w", src, src+n, dst, dst+n, svm.ErrInvalidValue)
	}
	return d.dma(ctx, "copy", func(l *launch, m *itemMem) error {
		// The whole of both ranges is checked before anything is touched,
		// so a count far beyond the buffer fails at once, naming the first
		// bad address, instead of faulting in neighbouring mappings.
		if err := l.maps.CheckRange(d.Name(), src, n, false); err != nil {
			return err
		}
		if err := l.maps.CheckRange(d.Name(), dst, n, true); err != nil {
			return err
		}
		if err := l.faultRange(src, n, false); err != nil {
			return err
		}
		if err := l.faultRange(dst, n, true); err != nil {
			return err
		}
		i := uintptr(0)
		if (dst|src)%8 == 0 {
			for ; i+8 <= n; i += 8 {
				m.Store64(dst+i, m.Load64(src+i))
			}
		}
		for ; i < n; i++ {
			m.Store8(dst+i, m.Load8(src+i))
		}
		return nil
	})
}

// Fill writes pattern repeatedly over [dst, dst+n) on the device
// (clEnqueueSVMMemFill). The pattern size must be a power of two from 1 to
// 128 bytes, n a multiple of it and dst aligned to it (CL_INVALID_VALUE).
func (d *Device) Fill(ctx context.Context, dst uintptr, pattern []byte, n uintptr) error {
	if err := svm.CheckFill(dst, pattern, n); err != nil {
		return fmt.Errorf("simgpu: %w", err)
	}
	if n == 0 {
		return nil
	}
	return d.dma(ctx, "fill", func(l *launch, m *itemMem) error {
		if err := l.maps.CheckRange(d.Name(), dst, n, true); err != nil {
			return err
		}
		if err := l.faultRange(dst, n, true); err != nil {
			return err
		}
		for i := uintptr(0); i < n; i++ {
			m.Store8(dst+i, pattern[i%uintptr(len(pattern))])
		}
		return nil
	})
}

// dma runs a device-side operation with one work-item's view of memory.
// Its accesses fault synchronously (there is no wave to stall). ctx is
// checked while the ranges are faulted in, between pieces: a cancelled
// command stops before it has written anything (faulting in moves pages,
// it changes no data) and returns ctx.Err().
func (d *Device) dma(ctx context.Context, what string, op func(l *launch, m *itemMem) error) error {
	if ctx == nil {
		return fmt.Errorf("simgpu: memory command with a nil context: %w", svm.ErrInvalidValue)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.cfg.rec != nil {
		d.cfg.rec.notRecorded(what)
	}
	return d.exclusive(what, func(l *launch, _ time.Time) error {
		l.ctx = ctx
		m := &itemMem{l: l, tlb: NewTLB(d.cfg.tlbEntries)}
		err := runDMA(l, m, op)
		d.charge(m.bytes, m.tlb.Hits, m.tlb.Misses, m.remote)
		return err
	})
}

// faultPiece is the most pages faultRange services at once: between pieces
// it re-checks the command's context. (Large, so ordinary commands are one
// piece and their simulated time is that of one batch.)
const faultPiece = 16384

// faultRange makes [start, start+n) usable for the access, as one fault
// request: nothing is counted if every page already is. A range of more than
// faultPiece pages is serviced piece by piece, the context checked between.
func (l *launch) faultRange(start, n uintptr, write bool) error {
	first, end := start&^pageMask, (start+n+pageMask)&^pageMask
	counted := false
	for p := first; p < end; p += faultPiece * svm.PageSize {
		if l.ctx != nil {
			if err := l.ctx.Err(); err != nil {
				return err
			}
		}
		pe := min(end, p+faultPiece*svm.PageSize)
		s, e := max(start, p), min(start+n, pe)
		if err := l.faultPiece(s, e-s, write, &counted); err != nil {
			return err
		}
	}
	return nil
}

func (l *launch) faultPiece(start, n uintptr, write bool, counted *bool) error {
	first, end := start&^pageMask, (start+n+pageMask)&^pageMask
	var b Batch
	var faults []Fault
	for p := first; p < end; p += svm.PageSize {
		if l.usable(p, write) {
			continue
		}
		b.Pages = append(b.Pages, PageFault{Page: uint64(p), Write: write, Count: 1})
		addr := p
		if p < start {
			addr = start
		}
		faults = append(faults, Fault{Addr: uint64(addr), Write: write})
	}
	if len(b.Pages) == 0 {
		return nil
	}
	name := "fault batch (piece)"
	if !*counted {
		// One fault request, one batch, however many pieces service it.
		b.Raw = 1
		l.dev.faults.Add(1)
		l.dev.batches.Add(1)
		*counted = true
		name = "fault batch"
	}
	if d := l.dev; d.tr != nil {
		defer func(start time.Duration) { d.tr.batch(d, name, b, start, d.clock.Now()) }(d.clock.Now())
	}
	maps, err := l.dev.space.Maps(true)
	if err != nil {
		return err
	}
	l.maps = maps
	bad, err := l.serviceBatch(maps, b, faults)
	if err != nil {
		return err
	}
	return bad
}

// usable reports whether the device can access page now without a fault.
func (l *launch) usable(page uintptr, write bool) bool {
	return l.usableAt(page, svm.PTE(page, false), write)
}

// usableAt is usable for a caller that has the page's state word w (nil:
// untracked) at hand.
func (l *launch) usableAt(page uintptr, w *uint64, write bool) bool {
	var word uint64
	if w != nil {
		word = atomic.LoadUint64(w)
	}
	// The same rule as the MMU's walk: a remote mapping counts only while
	// the host owns the page.
	if r, ok := l.remoteFor(page); ok && svm.WordState(word) == svm.StateHost {
		return !write || r.writable
	}
	delete(l.remote, uint64(page)) // stale: the page moved since
	if w == nil {
		return false
	}
	if svm.WordDevice(word) != l.dev.mem.ID() {
		return false
	}
	if st := svm.WordState(word); st != svm.StateDevice && (st != svm.StateDup || write) {
		return false
	}
	v, ok := l.maps.Find(page)
	return ok && v.Read && (!write || v.Write)
}

// runDMA runs op, turning an aborted access (a fault that could not be
// resolved) or a memory fault on a remote page into an error.
func runDMA(l *launch, m *itemMem, op func(l *launch, m *itemMem) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		switch r := recover().(type) {
		case nil:
		case *kernels.Abort:
			err = r.Err
		case interface{ Addr() uintptr }:
			err = &svm.FaultError{Device: l.dev.Name(), Addr: r.Addr(), Reason: "memory fault", Err: svm.ErrDeviceFault}
		default:
			panic(r)
		}
	}()
	return op(l, m)
}
