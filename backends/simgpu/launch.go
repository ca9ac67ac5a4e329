package simgpu

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svmrt/svmrt/internal/devrt"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Launching a Go-body kernel: the launch state shared by every device
// operation, and the wave scheduler — work-groups run in waves, faulting
// work-items stall, and when the whole wave is stalled the fault service
// (faultservice.go) runs and they replay. Compiled kernels: compiled.go.

// Launch runs kernel k over nd with bound arguments a and returns when it
// has finished. Cancelling ctx stops before the next wave.
func (d *Device) Launch(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error {
	if err := nd.Validate(); err != nil {
		return err
	}
	if k == nil {
		return fmt.Errorf("simgpu: launch of a nil kernel: %w", kernels.ErrBadArgs)
	}
	if a == nil {
		return fmt.Errorf("simgpu: launch %s: no arguments bound (use kernels.Bind): %w", k.Name, kernels.ErrBadArgs)
	}
	if err := a.Check(k); err != nil {
		return err
	}
	// The WideByteStores bug is a Go-body behaviour (the compiled MMU has
	// no hook for it): a device built with it runs Go bodies.
	c, err := k.Runnable(d.cfg.goBodies || d.cfg.bugs.wideByteStores())
	if err != nil {
		return err
	}
	if c == nil && d.cfg.rec != nil {
		return fmt.Errorf("simgpu: %s: launch %s: only compiled kernels can be recorded (this one runs its Go body): %w", d.Name(), k.Name, svm.ErrNotSupported)
	}
	if c != nil {
		err := d.launchCompiled(ctx, k, c, nd, a)
		runtime.KeepAlive(a)
		return err
	}
	if k.Body == nil {
		return fmt.Errorf("simgpu: kernel %s has neither OpenCL C source nor a Go body: %w", k.Name, svm.ErrNotSupported)
	}
	// A Go body's group gets its local memory from the Go heap: the size a
	// kernel asks for (possibly computed from an argument) is checked
	// against the device's local memory first, as a compiled kernel's is,
	// so a hostile size fails the launch instead of the process.
	if k.LocalBytes != nil {
		if n := k.LocalBytes(nd, a); n < 0 || n > DefaultLocalMemory {
			return fmt.Errorf("simgpu: %s: kernel %s asks for %d bytes of local memory per work-group; the device has %d: %w",
				d.Name(), k.Name, n, DefaultLocalMemory, svm.ErrOutOfDeviceMemory)
		}
	}
	err = d.exclusive("launch "+k.Name, func(l *launch, start time.Time) error {
		d.launches.Add(1)
		l.k, l.nd, l.a = k, nd, a
		groups := nd.TotalGroups()
		local := 0
		if k.LocalBytes != nil {
			local = k.LocalBytes(nd, a)
		}
		per := d.cfg.cost.SMCount * d.cfg.cost.Resident(nd.GroupSize(), local)
		waves := (groups + per - 1) / per
		var err error
		for g0 := 0; g0 < groups && err == nil; g0 += per {
			if err = ctx.Err(); err != nil {
				break
			}
			err = l.runWave(g0, min(g0+per, groups))
			if d.cfg.progress != nil {
				d.cfg.progress(Progress{Kernel: k.Name, Wave: g0/per + 1, Waves: waves, DeviceFaults: d.faults.Load(),
					Simulated: d.clock.Now(), Elapsed: time.Since(start)})
			}
		}
		return err
	})
	runtime.KeepAlive(a)
	return err
}

// remoteMap is the scheduler's decision to map a host page remotely.
type remoteMap struct{ writable bool }

// launch is the state of one kernel launch.
type launch struct {
	dev *Device
	ctx context.Context // memory commands: checked between pieces (nil for kernels)
	k   *kernels.Kernel
	nd  kernels.NDRange
	a   *kernels.Args

	// Written by the scheduler only while every work-item is stalled;
	// read by work-items after they resume (the resume channel orders it).
	maps     *svm.Maps            // CPU mappings as of the launch start / last fault round
	remote   map[uint64]remoteMap // page -> remote mapping
	errPages map[uint64]error     // page -> the error its accesses abort with
	advice   svm.AdviceSnapshot   // the advice in force (refreshed every round)
	now      time.Duration        // the clock as of the last refresh: work-items read it instead of taking the clock's lock

	mems []itemMem // work-item memories, reused by every wave (scheduler only)

	// Compiled kernels: the simulated MMU's C view (nil for Go bodies), the
	// maps its mappings were copied from, and the remote mappings made
	// since it was last brought up to date.
	mmu       *devrt.MMU
	mmuMaps   *svm.Maps
	remoteNew []uint64

	// A fault round's migrations (coalesce.go): coalesce while service
	// runs, pending what is decided and not moved yet.
	coalesce bool
	pending  pendingMove
}

// setRemote maps a host page remotely for the launch.
func (l *launch) setRemote(page uint64, r remoteMap) {
	l.remote[page] = r
	if l.mmu != nil {
		l.remoteNew = append(l.remoteNew, page)
	}
}

// wave is one round-based execution of up to SMCount × Resident work-groups.
type wave struct {
	l *launch

	mu       sync.Mutex // protects the fields below
	cond     *sync.Cond // signalled when running drops to 0
	running  int        // work-items neither stalled nor finished
	stalled  int        // work-items stalled on a fault
	resume   chan struct{}
	faults   FaultBuffer
	items    []*itemMem
	firstErr error
}

func (w *wave) Park() {
	w.mu.Lock()
	w.running--
	if w.running == 0 {
		w.cond.Signal()
	}
	w.mu.Unlock()
}

func (w *wave) Unpark(n int) {
	w.mu.Lock()
	w.running += n
	w.mu.Unlock()
}

// stall records a fault and blocks the work-item until the batch holding it
// has been serviced.
func (w *wave) stall(f Fault) {
	w.faults.Push(f)
	w.mu.Lock()
	ch := w.resume
	w.stalled++
	w.running--
	if w.running == 0 {
		w.cond.Signal()
	}
	w.mu.Unlock()
	<-ch
}

func (l *launch) runWave(g0, g1 int) error {
	d := l.dev
	w := &wave{l: l, resume: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	size := l.nd.GroupSize()
	w.running = (g1 - g0) * size
	w.items = make([]*itemMem, 0, (g1-g0)*size)
	// Wrap the body so the scheduler learns when each work-item finishes
	// (also when it aborts: the deferred call runs while the panic unwinds).
	wk := *l.k
	wk.HostFast = nil
	errs := make([]error, g1-g0)
	// Work-item memories and their TLBs are reused from wave to wave (each
	// starts cold, so counts stay deterministic).
	if len(l.mems) < (g1-g0)*size {
		l.mems = make([]itemMem, (g1-g0)*size)
		for i := range l.mems {
			l.mems[i].tlb = NewTLB(d.cfg.tlbEntries)
		}
	}
	var wg sync.WaitGroup
	var started atomic.Int64 // work-items whose body began (the rest must be counted out)
	body := l.k.Body
	wk.Body = func(it *kernels.Item, a *kernels.Args) {
		started.Add(1)
		defer w.Park()
		body(it, a)
	}
	for g := g0; g < g1; g++ {
		mems := l.mems[(g-g0)*size : (g-g0+1)*size]
		for i := range mems {
			tlb := mems[i].tlb
			tlb.Flush()
			tlb.Hits, tlb.Misses = 0, 0
			mems[i] = itemMem{w: w, l: l, tlb: tlb, item: g*size + i}
			w.items = append(w.items, &mems[i])
		}
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			errs[g-g0] = kernels.RunGroup(&wk, l.nd, g, l.a, kernels.GroupConfig{
				Concurrent: true,
				MemFor:     func(i int) kernels.Mem { return &mems[i] },
				Gate:       w,
			})
		}(g)
	}
	// A group RunGroup refused before running any body (bad arguments, say)
	// would leave its work-items counted as running forever. Once every
	// group has returned, the count is exact; until then the scheduler waits
	// for stalls as usual. groupsDone lets it know.
	groupsDone := make(chan struct{})
	go func() {
		wg.Wait()
		w.mu.Lock()
		w.running -= int((g1-g0)*size) - int(started.Load())
		if w.running < 0 {
			w.running = 0
		}
		w.cond.Signal()
		w.mu.Unlock()
		close(groupsDone)
	}()
	var serviceErr error
	for {
		w.mu.Lock()
		for w.running > 0 {
			w.cond.Wait()
		}
		if w.stalled == 0 {
			w.mu.Unlock()
			break
		}
		w.mu.Unlock()
		// Every work-item is stalled, waiting at a barrier or done: service.
		faults := w.faults.Drain()
		if err := l.service(faults); err != nil {
			if serviceErr == nil {
				serviceErr = err
			}
			// Whatever the round could not resolve aborts the work-items
			// that wait on it; replaying them would fault forever.
			for _, f := range faults {
				page := f.Addr &^ pageMask
				if _, ok := l.errPages[page]; !ok && !l.usable(uintptr(page), f.Write) {
					l.errPages[page] = err
				}
			}
		}
		w.mu.Lock()
		w.running += w.stalled
		w.stalled = 0
		close(w.resume)
		w.resume = make(chan struct{})
		w.mu.Unlock()
	}
	<-groupsDone
	// Charge the wave's execution from the per-item counters (sums, so the
	// order work-items ran in does not matter).
	var bytes, hits, misses, remote int64
	for _, m := range w.items {
		bytes += m.bytes
		remote += m.remote
		hits += m.tlb.Hits
		misses += m.tlb.Misses
	}
	d.charge(bytes, hits, misses, remote)
	if serviceErr != nil {
		return serviceErr
	}
	// The first error by work-group order: deterministic.
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
