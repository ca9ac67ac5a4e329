package simgpu

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Replaying an access trace (accesstrace.go) on a device: the trace's
// regions are mapped afresh at its VA-block offsets and its events run in
// order through the device's real machinery — svm's page table and
// migrations, the fault buffer's batches, the policy, the prefetcher, the
// cost model and the clock — so that a replay under a policy counts what a
// run of the workload under that policy would, without the workload.
//
// A replayed launch runs as a compiled kernel's would: work-groups in waves
// of as many as the SMs hold, shared out among the SMs in consecutive runs;
// in a fault round each work-item goes through its accesses from where it
// stopped until one finds its page unusable for it (not resident, not
// mapped remotely, a duplicate it would write); the waiting items' faults
// (one per warp and page, with every waiting lane's access kind) are
// serviced as one round, and the items go on. The SM's TLB (lazily
// validated against the page-state words, as the MMU's) sees each item's
// first access to each page; its other accesses to the page count as hits.
// Accesses to host pages mapped remotely count as remote accesses, the rest
// as bytes, as in a compiled launch.

// Replay replays t on d: it maps t's regions (unmapped again, their advice
// forgotten, when it returns), then runs t's events — advice applied,
// prefetches made, the CPU's touches made by the calling goroutine as real
// loads and stores (so they take real CPU faults), launches replayed. d's
// counters and clock are the result. A cancelled ctx stops between events
// and waves.
func Replay(ctx context.Context, d *Device, t *AccessTrace) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if d.cfg.rec != nil {
		return fmt.Errorf("simgpu: %s: replay on a recording device: %w", d.Name(), svm.ErrNotSupported)
	}
	regs, err := mapTraceRegions(t, d.cfg.cost.VABlockSize)
	if err != nil {
		return err
	}
	defer regs.free()
	for i, e := range t.Events {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		switch e.Kind {
		case TraceLaunchEvent:
			err = d.replayLaunch(ctx, e.Launch, regs)
		case TracePrefetchEvent:
			err = d.Prefetch(regs.addr(e.Region, e.Off), uintptr(e.Len))
		case TraceAdviceEvent:
			err = regs.advise(d, e.Region, e.Advice)
		case TraceCPUEvent:
			regs.touch(e.CPU)
		}
		if err != nil {
			return fmt.Errorf("simgpu: replay %s: event %d (%s): %w", t.Name, i, e.Kind, err)
		}
	}
	return nil
}

// traceRegions are a replay's mappings of a trace's regions.
type traceRegions struct {
	maps [][]byte // whole mappings, for munmap
	data [][]byte // the regions in them
}

// mapTraceRegions maps each region at its offset in a VA block (private
// anonymous memory, read-only where the region was).
func mapTraceRegions(t *AccessTrace, block int) (*traceRegions, error) {
	rs := &traceRegions{}
	for i, r := range t.Regions {
		m, err := syscall.Mmap(-1, 0, int(r.Size)+block, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
		if err != nil {
			rs.free()
			return nil, fmt.Errorf("simgpu: replay %s: map region %d (%d bytes): %w", t.Name, i, r.Size, err)
		}
		base := uintptr(unsafe.Pointer(&m[0]))
		off := (uintptr(r.Offset) - base%uintptr(block) + uintptr(block)) % uintptr(block)
		data := m[off : off+uintptr(r.Size)]
		if !r.Writable {
			if err := syscall.Mprotect(data, syscall.PROT_READ); err != nil {
				syscall.Munmap(m)
				rs.free()
				return nil, fmt.Errorf("simgpu: replay %s: protect region %d: %w", t.Name, i, err)
			}
		}
		rs.maps = append(rs.maps, m)
		rs.data = append(rs.data, data)
	}
	return rs, nil
}

func (rs *traceRegions) free() {
	for i, m := range rs.maps {
		svm.ClearAdvice(rs.base(i), uintptr(len(rs.data[i])))
		syscall.Munmap(m)
	}
	rs.maps, rs.data = nil, nil
}

func (rs *traceRegions) base(reg int) uintptr { return uintptr(unsafe.Pointer(&rs.data[reg][0])) }

func (rs *traceRegions) addr(reg int, off uint64) uintptr { return rs.base(reg) + uintptr(off) }

// advise makes a region's advice the trace's.
func (rs *traceRegions) advise(d *Device, reg int, adv []TraceAdvice) error {
	svm.ClearAdvice(rs.base(reg), uintptr(len(rs.data[reg])))
	for _, a := range adv {
		at, n := rs.addr(reg, a.Off), uintptr(a.Len)
		var err error
		if a.PreferHost {
			err = svm.Advise(at, n, svm.SetPreferredLocation, svm.LocationHost)
		} else if a.PreferDevice {
			err = svm.Advise(at, n, svm.SetPreferredLocation, d.Location())
		}
		if err == nil && a.AccessedByDevice {
			err = svm.Advise(at, n, svm.SetAccessedBy, d.Location())
		}
		if err == nil && a.ReadMostly {
			err = svm.Advise(at, n, svm.SetReadMostly, svm.LocationNone)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// touch makes the CPU's touches: a load for a read, a store (an atomic add
// of zero: the page's bytes stay) for a write.
func (rs *traceRegions) touch(ts []TraceTouch) {
	for _, t := range ts {
		p := (*uint32)(unsafe.Pointer(&rs.data[t.Region][uintptr(t.Page)*svm.PageSize]))
		if t.Write {
			atomic.AddUint32(p, 0)
		} else {
			atomic.LoadUint32(p)
		}
	}
}

// replayLaunch replays one launch (see the top of this file).
func (d *Device) replayLaunch(ctx context.Context, tl *TraceLaunch, regs *traceRegions) error {
	return d.exclusive("launch "+tl.Kernel, func(l *launch, start time.Time) error {
		d.launches.Add(1)
		d.compiledLaunches.Add(1)
		l.k = &kernels.Kernel{Name: tl.Kernel}
		// The prefetcher's candidates: the memory the arguments named.
		l.a = &kernels.Args{}
		for _, r := range tl.Ranges {
			l.a.Ranges = append(l.a.Ranges, kernels.Range{Start: regs.addr(r.Region, r.Off), Len: uintptr(r.Len)})
		}
		base := make([]uintptr, len(regs.data))
		for i := range base {
			base[i] = regs.base(i)
		}
		rp := &replayer{l: l, tl: tl, base: base, pos: slices.Clone(tl.Start[:len(tl.Start)-1])}
		for _, d := range regs.data {
			rp.pages = append(rp.pages, len(d)/svm.PageSize)
		}
		for range d.cfg.cost.SMCount { // cold at the launch's start, as a compiled launch's
			rp.tlbs = append(rp.tlbs, NewTLBAssoc(d.cfg.smTLBEntries, d.cfg.smTLBWays))
		}
		per := d.cfg.cost.SMCount * d.cfg.cost.Resident(tl.GroupSize, tl.LocalBytes)
		waves := (tl.Groups + per - 1) / per
		for g0 := 0; g0 < tl.Groups; g0 += per {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := rp.wave(g0, min(g0+per, tl.Groups))
			if d.cfg.progress != nil {
				d.cfg.progress(Progress{Kernel: tl.Kernel, Wave: g0/per + 1, Waves: waves, DeviceFaults: d.faults.Load(),
					Simulated: d.clock.Now(), Elapsed: time.Since(start)})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// replayer is one replayed launch's state.
type replayer struct {
	l     *launch
	tl    *TraceLaunch
	base  []uintptr    // region bases
	pos   []uint32     // per work-item: its next access
	tlbs  []*TLB       // per SM
	memo  [][]pageMemo // per region and page (made on first use)
	pages []int        // pages per region
	round uint32

	waits  []replayWait
	faults []Fault
}

// pageMemo is what a replay knows of a page: its state word's address
// (fixed for the life of the process), and whether reads and writes could
// use it in a round (usable's answer holds until the round's service).
type pageMemo struct {
	pte   *uint64
	round [2]uint32 // the round + 1 whose answer ok holds, for reads and writes
	ok    [2]bool
}

// page returns the memo of a page.
func (rp *replayer) page(reg uint16, page uint32) *pageMemo {
	if rp.memo == nil {
		rp.memo = make([][]pageMemo, len(rp.base))
	}
	m := rp.memo[reg]
	if m == nil {
		m = make([]pageMemo, rp.pages[reg])
		rp.memo[reg] = m
	}
	pm := &m[page]
	if pm.pte == nil {
		pm.pte = svm.PTE(rp.base[reg]+uintptr(page)*svm.PageSize, true)
	}
	return pm
}

// usable is launch.usable, asked once per page, kind and round.
func (rp *replayer) usable(pm *pageMemo, addr uint64, write bool) bool {
	k := 0
	if write {
		k = 1
	}
	if pm.round[k] != rp.round+1 {
		pm.round[k], pm.ok[k] = rp.round+1, rp.l.usableAt(uintptr(addr), pm.pte, write)
	}
	return pm.ok[k]
}

// replayWait is a work-item waiting for a page.
type replayWait struct {
	item          int
	page          uint64
	write, atomic bool
}

// wave replays groups g0..g1-1 to completion.
func (rp *replayer) wave(g0, g1 int) error {
	l, d, tl := rp.l, rp.l.dev, rp.tl
	size := tl.GroupSize
	n := g1 - g0
	sms := min(n, len(rp.tlbs))
	q, r := n/sms, n%sms
	// smItems[s] is SM s's items [lo, hi) (group-major indices).
	type span struct{ lo, hi int }
	spans := make([]span, sms)
	at := g0
	for s := range sms {
		ng := q
		if s < r {
			ng++
		}
		spans[s] = span{at * size, (at + ng) * size}
		at += ng
	}
	var bytes, hits, misses, remote int64
	stuck := 0
	for {
		rp.waits = rp.waits[:0]
		progress := false
		rp.round++
		for s, sp := range spans[:sms] {
			tlb := rp.tlbs[s]
			for i := sp.lo; i < sp.hi; i++ {
				end := tl.Start[i+1]
				for rp.pos[i] < end {
					a := &tl.Accesses[rp.pos[i]]
					page := uint64(rp.base[a.Region]) + uint64(a.Page)*svm.PageSize
					write := a.Kind != TraceRead
					pm := rp.page(a.Region, a.Page)
					if !rp.usable(pm, page, write) {
						rp.waits = append(rp.waits, replayWait{item: i, page: page, write: write, atomic: a.Kind == TraceAtomic})
						break
					}
					pte := pm.pte
					word := atomic.LoadUint64(pte)
					if svm.WordState(word) == svm.StateHost {
						remote += int64(a.Count) // mapped remotely: over the link
					} else {
						bytes += int64(a.Bytes)
					}
					vpn := page / svm.PageSize
					if tlb.Lookup(vpn) != nil {
						hits++
					} else {
						misses++
						tlb.Insert(TLBEntry{VPN: vpn, PTE: pte, Word: word, Writable: write})
					}
					hits += int64(a.Count) - 1
					rp.pos[i]++
					progress = true
				}
			}
		}
		if len(rp.waits) == 0 {
			break
		}
		if progress {
			stuck = 0
		} else if stuck++; stuck >= maxUnresolvedRounds {
			w := rp.waits[0]
			return &svm.FaultError{Device: d.Name(), Addr: uintptr(w.page), Write: w.write,
				Reason: fmt.Sprintf("replay: fault not resolved after %d rounds (the page keeps moving away)", stuck), Err: svm.ErrDeviceFault}
		}
		// One fault per group, warp and page, in item order, with the kinds
		// of every waiting lane's access. The waits are in item order, so a
		// warp's are consecutive: its faults so far are the list's tail.
		rp.faults = rp.faults[:0]
		warp := max(d.cfg.warp, 1)
		curWarp, warpFaults := -1, 0
	waits:
		for _, w := range rp.waits {
			if wk := w.item/size*size + w.item%size/warp; wk != curWarp { // group, then warp in it
				curWarp, warpFaults = wk, len(rp.faults)
			}
			for j := warpFaults; j < len(rp.faults); j++ {
				if f := &rp.faults[j]; f.Addr == w.page {
					f.Write = f.Write || w.write
					f.Atomic = f.Atomic || w.atomic
					continue waits
				}
			}
			rp.faults = append(rp.faults, Fault{Addr: w.page, Write: w.write, Atomic: w.atomic, Item: w.item})
		}
		slices.SortFunc(rp.faults, faultCompare)
		done := svm.ExpectMigrations()
		err := l.service(rp.faults)
		done()
		if err != nil {
			d.charge(bytes, hits, misses, remote)
			return err
		}
	}
	d.charge(bytes, hits, misses, remote)
	return nil
}
