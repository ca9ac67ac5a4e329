package simgpu

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/devrt"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Compiled kernels: OpenCL C built with every global, constant and generic
// memory access instrumented (internal/irx) and run natively on fibers by
// the device runtime (internal/devrt). The MMU fast path — a lookup in the
// MRU way of the SM's TLB set — is C inlined into the kernel; a miss walks
// svm's page table in C; an access that must fault parks the work-item
// (or, if it has done nothing a restart would repeat, drops it to restart
// later) and the fault goes to the same fault buffer, batching, policies
// and cost model as a Go body's. Groups run in waves of as many as the
// SMs hold at once (CostModel.Resident per SM); the SMs of a wave run in
// parallel on host threads, each one's items in a fixed order, so counters
// and simulated time do not depend on the host's scheduling.

// WithGoBodies makes the device run the Go Body of kernels that have one
// instead of compiling their OpenCL C source (the execution path from
// before kernels were compiled; for cross-checking the two).
func WithGoBodies() Option { return func(c *config) { c.goBodies = true } }

// DefaultLocalMemory is the local memory one work-group may use (the 64 KiB
// per work-group that CUDA and most OpenCL GPUs offer).
const DefaultLocalMemory = 64 << 10

// maxUnresolvedRounds bounds how often a wave may find the same work-items
// stalled at the same addresses after servicing them: a fault the service
// cannot make stick (a page another device or the CPU keeps taking) fails
// the launch instead of spinning.
const maxUnresolvedRounds = 1000

// stuckRemoteRounds is how many rounds in a row a wave may find the same
// work-items stalled at the same addresses before the pages they wait for
// that the host has taken back are mapped remotely (mapTakenBack). A page
// the service brought in that is home again by the time the items retry
// was touched by the host in between — a CPU thread, or the Go runtime
// itself reading an object that shares the page with the kernel's data
// (seen: a []*ListNode on the page of a value the round loop read); the
// next round would bring it in and lose it again, for ever. Remote, the
// items finish on the host's copy. Normal rounds never repeat: a serviced
// fault lets its items on.
const stuckRemoteRounds = 4

// smPool is the device's SMs, made on the first compiled launch and kept,
// and the buffers a wave rewrites at every fault round, sized for every
// item the SMs can hold. The buffers are off the Go heap: there they could
// share a page with a kernel's data, and each round's write would pull
// that page back from the device, which would fault on it again — a wave
// that never ends. They are made once: mapping and unmapping them per wave
// cost more than the waves of a fault-free kernel.
type smPool struct {
	sms    []*devrt.SM
	faults []Fault   // the faults of a round's waiting items (ctl.waits) the service must resolve
	bad    []uint64  // pages whose faults failed
	ctl    *roundCtl // how the SMs' steps of a round run; nil until the SMs are made
	// The round's workers (runSMs). Not off the heap with ctl: the race
	// detector sees a wait group's synchronisation only in Go memory. A
	// field of the Device, made with it, not per launch: its page holds
	// what the Device does, not a kernel's small allocations.
	wg sync.WaitGroup
}

// smStep is what one SM's step of a fault round found: the faults it
// collected into its part of smPool.waits and their digest.
type smStep struct {
	n      int
	digest uint64
	any    bool
}

// roundCtl is what the SMs' steps of a fault round share: how to end the
// last round's waits, where to collect the faults, and the workers' counter
// of SMs (runSMs). Every round reads and writes it, so it is off the heap
// too — a read pulls a device page home as surely as a write (a closure
// holding this state, made once per wave and called every round, shared a
// page with a kernel's []*ListNode: the list walk never finished).
type roundCtl struct {
	resume   bool     // end the last round's waits first (SM.Resume) ...
	abortAll bool     // ... aborting every waiting item
	bad      []uint64 // ... or those on these pages (in smPool.bad)
	// Set with the pool: SM i collects its faults into waits from i×room
	// (room: the items an SM holds) and says how many in steps[i].
	waits []devrt.Fault
	steps []smStep
	room  int
	warp  int
	next  atomic.Int32
}

// collected is what SM i's step of the round collected.
func (ctl *roundCtl) collected(i int) []devrt.Fault {
	return ctl.waits[i*ctl.room : i*ctl.room+ctl.steps[i].n]
}

// step is SM i's part of a fault round, on the host thread that runs it:
// the last round's resume, the run, and the collection of its waiting
// items' faults.
func (ctl *roundCtl) step(i int, s *devrt.SM) {
	if ctl.resume {
		s.Resume(ctl.bad, ctl.abortAll)
	}
	s.Run()
	part := ctl.waits[i*ctl.room : i*ctl.room : (i+1)*ctl.room]
	st := &ctl.steps[i]
	part, st.digest, st.any = s.Faults(part, ctl.warp)
	st.n = len(part)
}

// free releases the SMs and the buffers.
func (p *smPool) free() {
	for _, s := range p.sms {
		s.Free()
	}
	if p.ctl != nil {
		devrt.FreeOffHeap(p.ctl.waits)
		devrt.FreeOffHeap(p.faults)
		devrt.FreeOffHeap(p.bad)
		devrt.FreeOffHeap(p.ctl.steps)
		devrt.FreeOffHeap(unsafe.Slice(p.ctl, 1))
	}
	*p = smPool{}
}

// sms returns SMCount SMs that can each hold items work-items.
func (d *Device) sms(items int) ([]*devrt.SM, error) {
	p := &d.smp
	if p.ctl == nil || p.ctl.room < items {
		p.free()
		n := max(items, 256)
		for range d.cfg.cost.SMCount {
			s, err := devrt.NewSM(d.cfg.smTLBEntries, d.cfg.smTLBWays, n)
			if err != nil {
				p.free()
				return nil, err
			}
			s.SetWarp(d.cfg.warp)
			p.sms = append(p.sms, s)
		}
		all := n * len(p.sms)
		p.faults = devrt.OffHeap[Fault](all)
		p.bad = devrt.OffHeap[uint64](all)
		p.ctl = &devrt.OffHeap[roundCtl](1)[0]
		p.ctl.waits, p.ctl.steps, p.ctl.room, p.ctl.warp = devrt.OffHeap[devrt.Fault](all), devrt.OffHeap[smStep](len(p.sms)), n, d.cfg.warp
	}
	return p.sms, nil
}

// launchCompiled runs compiled kernel c (the compiled form of k, whose
// arguments a were bound for) on the device.
func (d *Device) launchCompiled(ctx context.Context, k, c *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error {
	rl, err := devrt.Prepare(ctx, d.Name(), k, c, nd, a, devrt.Instrumented, DefaultLocalMemory, svm.ErrOutOfDeviceMemory)
	if err != nil {
		return err
	}
	defer rl.Free()
	rec := d.cfg.rec
	var park []addrRange // a recording launch's blocks (record.go)
	defer func() {
		if park != nil {
			rec.parkBlocks(d, park)
		}
	}()
	return d.exclusive("launch "+k.Name, func(l *launch, start time.Time) error {
		d.launches.Add(1)
		d.compiledLaunches.Add(1)
		l.k, l.nd, l.a = k, nd, a
		resident := d.cfg.cost.Resident(nd.GroupSize(), rl.LocalBytes)
		sms, err := d.sms(resident * nd.GroupSize())
		if err != nil {
			return err
		}
		mmu := devrt.NewMMU(devrt.MMUConfig{
			PTE: svm.PTEFunc(), AtomicBusy: svm.DeviceAtomicBusy(d.mem.ID()), Arena: d.mem.Base(), Device: d.mem.ID(),
			IgnoreProtection: d.cfg.bugs.ignoreProtection(), TrustPageTable: d.cfg.bugs.trustPageTable(),
		})
		defer mmu.Free()
		if lo, hi := rl.Entry.Module().Range(); hi > lo {
			mmu.AddDirect(lo, hi) // the module's constants are device constant memory
		}
		l.mmu = mmu
		defer func() { l.mmu, l.mmuMaps = nil, nil }()
		mmu.SetRecord(rec != nil)
		var recorded []devrt.RecEntry
		faultsBefore := d.faults.Load()
		l.syncMMU(true)
		for _, s := range sms {
			s.SetMMU(mmu)
			s.FlushTLB() // every launch starts cold: counts do not depend on earlier launches
			s.ResetCounters()
		}
		groups := nd.TotalGroups()
		per := d.cfg.cost.SMCount * resident
		waves := (groups + per - 1) / per
		for g0 := 0; g0 < groups; g0 += per {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := l.runCompiledWave(ctx, sms, rl, g0, min(g0+per, groups))
			if rec != nil {
				for _, s := range sms {
					var rerr error
					if recorded, rerr = s.Recorded(recorded); rerr != nil && err == nil {
						err = rerr
					}
				}
			}
			if d.cfg.progress != nil {
				d.cfg.progress(Progress{Kernel: k.Name, Wave: g0/per + 1, Waves: waves, DeviceFaults: d.faults.Load(),
					Simulated: d.clock.Now(), Elapsed: time.Since(start)})
			}
			if err != nil {
				return err
			}
		}
		if rec != nil {
			if n := d.faults.Load() - faultsBefore; n > 0 {
				// Cannot happen while the walk treats host pages as usable:
				// a fault means a run may have been given up and counted twice.
				return fmt.Errorf("simgpu: %s: recording launch %s took %d faults: %w", d.Name(), k.Name, n, ErrRecording)
			}
			park = rec.noteLaunch(d, l, k, nd, rl.LocalBytes, recorded)
		}
		return nil
	})
}

// syncMMU brings the C view up to date: the CPU mappings (all is set, or
// they changed at a fault round) and the remote mappings made since.
func (l *launch) syncMMU(all bool) {
	m := l.mmu
	// svm hands out a new Maps when the mappings change and the same one
	// while they do not: most rounds have nothing to copy.
	if all || l.maps != l.mmuMaps {
		vs := make([]devrt.VMA, 0, len(l.maps.VMAs))
		for _, v := range l.maps.VMAs {
			vs = append(vs, devrt.VMA{Start: v.Start, End: v.End, Read: v.Read, Write: v.Write})
		}
		m.SetVMAs(vs)
		l.mmuMaps = l.maps
	}
	if all {
		m.ClearRemote()
		for p, r := range l.remote {
			m.AddRemote(uintptr(p), r.writable)
		}
	} else {
		for _, p := range l.remoteNew {
			if r, ok := l.remote[p]; ok {
				m.AddRemote(uintptr(p), r.writable)
			}
		}
	}
	l.remoteNew = l.remoteNew[:0]
}

// runSMs makes every SM's step of a round (roundCtl.step), on up to
// GOMAXPROCS host threads: no step touches what another SM's does. wg
// waits for the workers.
func runSMs(ctl *roundCtl, wg *sync.WaitGroup, sms []*devrt.SM) {
	workers := min(runtime.GOMAXPROCS(0), len(sms))
	if workers <= 1 {
		for i, s := range sms {
			ctl.step(i, s)
		}
		return
	}
	ctl.next.Store(0)
	work := func() {
		for {
			i := int(ctl.next.Add(1) - 1)
			if i >= len(sms) {
				return
			}
			ctl.step(i, sms[i])
		}
	}
	for range workers - 1 {
		wg.Go(work)
	}
	work() // the calling goroutine is one of the workers: one hand-off fewer per round
	wg.Wait()
}

// runCompiledWave runs work-groups g0..g1-1 to completion, shared out
// among the SMs in consecutive runs as evenly as they go (as a GPU's block
// scheduler fills every SM): run, collect the waiting work-items' faults
// (one per warp and page), service them as one round, resume, until no
// work-item waits.
func (l *launch) runCompiledWave(ctx context.Context, sms []*devrt.SM, rl *devrt.Launch, g0, g1 int) error {
	d := l.dev
	n := g1 - g0
	sms = sms[:min(n, len(sms))]
	q, r := n/len(sms), n%len(sms)
	at := g0
	for i, s := range sms {
		ng := q
		if i < r {
			ng++
		}
		if err := s.Assign(rl, at, ng); err != nil {
			return err
		}
		at += ng
	}
	// Off the Go heap (smPool), with room for every item of the wave: SM
	// i's faults are collected into its own part of waits, from i×room.
	// Nothing the rounds write is on the heap: a kernel's data may share its
	// page (see smPool).
	ctl := d.smp.ctl
	waits, faults, bad := ctl.waits[:0], d.smp.faults[:0], d.smp.bad[:0]
	ctl.resume = false
	var (
		serviceErr error
		prevDigest uint64
		same       int
		abortErr   = map[int]error{} // group -> why its items were aborted
	)
	for {
		runSMs(ctl, &d.smp.wg, sms)
		ctl.resume = false
		// The SMs' faults in SM order, moved together (each part starts
		// at or after where the one before it ends).
		waits = waits[:0]
		digest, waiting := uint64(0xcbf29ce484222325), false
		for i := range sms {
			waits = append(waits, ctl.collected(i)...)
			digest = (digest ^ ctl.steps[i].digest) * 0x100000001b3
			waiting = waiting || ctl.steps[i].any
		}
		if !waiting {
			break
		}
		if err := ctx.Err(); err != nil {
			// Cancelled: the waiting items never resume; the launch ends
			// at this fault round.
			serviceErr = err
			for _, w := range waits {
				if _, ok := abortErr[w.Group]; !ok {
					abortErr[w.Group] = err
				}
			}
			ctl.resume, ctl.bad, ctl.abortAll = true, nil, true
			continue
		}
		// A wave that keeps stalling the same items at the same addresses
		// is not making progress.
		if digest == prevDigest {
			same++
		} else {
			same = 0
		}
		prevDigest = digest
		// Pages that became usable without a fault (accessed-by advice,
		// pinned pages, a page an earlier round brought in) need none; the
		// rest are one fault per warp and page.
		faults = faults[:0]
		// Consecutive waits are mostly warps on the same page: the answer
		// for the last page is kept (nothing changes it within the loop).
		lastPage, lastWrite, lastUsable := ^uint64(0), false, false
		for _, w := range waits {
			page := w.Addr &^ pageMask
			write := w.Write || w.Atomic
			if page != lastPage || write != lastWrite {
				lastPage, lastWrite, lastUsable = page, write, l.usable(uintptr(page), write)
				if lastUsable {
					if r, ok := l.remoteFor(uintptr(page)); ok && hostOwned(page) {
						l.mmu.AddRemote(uintptr(page), r.writable)
					}
				} else if same >= stuckRemoteRounds {
					lastUsable = l.mapTakenBack(page, write)
				}
			}
			if lastUsable {
				continue
			}
			faults = append(faults, Fault{Addr: w.Addr, Write: write, Atomic: w.Atomic, Item: int(w.GlobalLinear)})
		}
		if len(faults) > 0 {
			slices.SortFunc(faults, faultCompare)
			// One Migrate per batch, back to back: the service thread
			// stays awake through them.
			done := svm.ExpectMigrations()
			err := l.service(faults)
			done()
			if err != nil {
				if serviceErr == nil {
					serviceErr = err
				}
				for _, f := range faults {
					page := f.Addr &^ pageMask
					if _, ok := l.errPages[page]; !ok && !l.usable(uintptr(page), f.Write) {
						l.errPages[page] = err
					}
				}
			}
		}
		l.syncMMU(false)
		d.cfg.bugs.serviced()
		bad = bad[:0]
		for _, w := range waits {
			page := w.Addr &^ pageMask
			err, isBad := l.errPages[page]
			if !isBad && same >= maxUnresolvedRounds {
				err = &svm.FaultError{Device: d.Name(), Addr: uintptr(w.Addr), Write: w.Write,
					Reason: fmt.Sprintf("fault not resolved after %d rounds (the page keeps moving away)", same), Err: svm.ErrDeviceFault}
				isBad = true
			}
			if isBad {
				bad = append(bad, page)
				if _, ok := abortErr[w.Group]; !ok {
					abortErr[w.Group] = err
				}
			}
		}
		slices.Sort(bad)
		bad = slices.Compact(bad)
		ctl.resume, ctl.bad, ctl.abortAll = true, bad, same >= maxUnresolvedRounds
	}
	var c devrt.Counters
	for _, s := range sms {
		sc := s.Counters()
		c.Hits += sc.Hits
		c.Misses += sc.Misses
		c.Bytes += sc.Bytes
		c.Remote += sc.Remote
		s.ResetCounters()
	}
	d.charge(c.Bytes, c.Hits, c.Misses, c.Remote)
	if serviceErr != nil {
		return serviceErr
	}
	for _, s := range sms {
		for _, f := range s.Failures() {
			return f.Err(d.Name(), l.k.Name, devrt.GeometryOf(l.nd), abortErr[f.Group])
		}
	}
	return nil
}

// mapTakenBack maps page remotely for the rest of the launch if the host
// owns it and the access is one its mapping allows, and reports whether
// it did (see stuckRemoteRounds). Anything else — a page another device
// holds, one in transit, an access the mapping forbids — is left to the
// fault service and, failing that, to maxUnresolvedRounds.
func (l *launch) mapTakenBack(page uint64, write bool) bool {
	if !hostOwned(page) {
		return false
	}
	r, ok := l.remoteMappable(uintptr(page))
	if !ok || (write && !r.writable) {
		return false
	}
	l.setRemote(page, r) // into the MMU with the round's other changes (syncMMU)
	l.dev.takenBack.Add(1)
	return true
}

// hostOwned reports whether the host owns page (its state word says HOST).
func hostOwned(page uint64) bool {
	w := svm.PTE(uintptr(page), false)
	return w == nil || svm.WordState(atomic.LoadUint64(w)) == svm.StateHost
}
