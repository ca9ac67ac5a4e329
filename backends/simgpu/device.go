// Package simgpu is a simulated GPU that mirrors the process address space
// the way a Linux HMM driver does, with a deterministic clock.
//
// Every load and store a kernel makes goes through the device MMU (mmu.go):
// a per-work-item TLB caches translations together with the page-state word
// they came from (a changed word is a shootdown); a miss walks svm's logical
// page table; a page that is not resident on this device, or not mapped for
// the access, raises a replayable fault. The faulting work-item stalls; when
// every work-item of the wave is stalled, at a barrier or finished, the
// scheduler drains the fault buffer, splits it into batches of up to 256
// raw faults, deduplicates and sorts each batch and services it: pages of
// mappings that cannot migrate (shared, file-backed) are mapped remotely
// (the device reads the host page over the simulated link); private
// anonymous pages go where the device's memory Policy says (policy.go) —
// migrated into the VRAM arena (svm.DevMem.Migrate) together with the
// prefetcher's picks, mapped remotely, or read-duplicated. Then the stalled
// work-items replay their accesses.
//
// Memory policies (policy.go, residency.go, advice.go): device memory is
// handed out in 2 MiB chunks, one per VA block; a full device evicts the
// chunk the policy picks (LRU, unused first) and writes its pages back, so
// launches larger than the device complete. The thrashing detector marks
// pages that keep coming back within a lapse; a policy may throttle them
// (map remotely for a launch) and pin them to the host. Advice set on
// address ranges (Advise: preferred location, accessed-by, read-mostly)
// steers placement; accessed-by and pinned pages are mapped without a
// fault. The default policy is "demand" (migrate what faults, evict when
// full — Linux HMM's behaviour); "uvm" adds NVIDIA UVM's prefetcher,
// thrashing mitigation and read duplication. CPU faults on the device's
// pages are charged to its clock at its next operation, so ping-pong costs
// both ways.
//
// Work-groups run in waves of as many as the SMs hold at once
// (CostModel.SMCount × CostModel.Resident: 2048 work-items or 32 groups per
// SM by default, fewer for groups that use much local memory). Faults are
// collected per round in a deterministic order and every charge comes from the cost model,
// so the same program and inputs give identical simulated time and counters
// on every run, whatever the host scheduling (for kernels without
// cross-work-group communication and without concurrent CPU access).
//
// Device-side atomics on device-resident pages run in device memory, in a
// short C section the fault-service thread waits out before it copies such
// a page home — the device has exclusive access to the page until a CPU
// touch revokes it (HMM's make_device_exclusive), and no update is lost.
// On pages mapped remotely they are system-scope atomics on the host page
// (as PCIe AtomicOps would be).
//
// Lock order: Device.launchMu (one launch at a time; protects the policy
// state, memState) → wave.mu → svm advice lock, Clock.mu →
// svm's locks.
package simgpu

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/internal/devrt"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// DefaultVRAM is the default device memory size.
const DefaultVRAM = 256 << 20

type config struct {
	bugs       Bugs
	name       string
	vram       int64
	cost       CostModel
	tlbEntries int
	progress   func(Progress)
	policy     Policy

	// Compiled kernels (simt.go).
	warp                    int
	smTLBEntries, smTLBWays int
	goBodies                bool
}

// Progress reports how far a launch has got; see WithProgress.
type Progress = backends.Progress

// WithProgress calls fn after every wave of every launch (from the
// launching goroutine; keep it cheap).
func WithProgress(fn func(Progress)) Option { return func(c *config) { c.progress = fn } }

// Option configures a Device.
type Option func(*config)

// Bugs are deliberately broken behaviours, for showing that a test suite
// (the conformance suite) catches them. Never use them otherwise.
type Bugs struct {
	// IgnoreProtection: device writes ignore the CPU mapping's protection
	// (no ErrPermission; the write is attempted).
	IgnoreProtection bool
	// WideByteStores: a byte store writes its whole aligned 4-byte word,
	// zeroing the other three bytes (breaks byte granularity).
	WideByteStores bool
	// TrustPageTable: translations of device-resident pages are not
	// re-validated against the CPU mappings (a device that never notices
	// munmap or mprotect by itself).
	TrustPageTable bool
}

// WithBugs makes the device deliberately wrong (see Bugs).
func WithBugs(b Bugs) Option { return func(c *config) { c.bugs = b } }

// WithVRAM sets the device memory size in bytes (default 256 MiB).
func WithVRAM(bytes int64) Option { return func(c *config) { c.vram = bytes } }

// WithPCIeGen selects the simulated link generation: 3, 4 or 5.
func WithPCIeGen(gen int) Option { return func(c *config) { c.cost.PCIeGen = gen } }

// WithCostModel replaces the whole cost model.
func WithCostModel(m CostModel) Option { return func(c *config) { c.cost = m } }

// WithName sets the device name (default "simgpu").
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithTLBEntries sets the per-work-item TLB size of Go-body kernels
// (default DefaultTLBEntries); compiled kernels use the SM TLB (WithSMTLB).
func WithTLBEntries(n int) Option { return func(c *config) { c.tlbEntries = n } }

// Device is one simulated GPU.
type Device struct {
	cfg   config
	space *svm.Space
	mem   *svm.DevMem
	clock Clock

	launchMu sync.Mutex // one launch at a time; protects the fields below
	closed   bool

	// Counters (atomics: read by Stats at any time).
	launches, faults, batches, remote, tlbHits, tlbMisses atomic.Int64
	compiledLaunches                                      atomic.Int64
	evictions, pagesEvicted, pagesPrefetched              atomic.Int64
	thrashEvents, throttles, pins                         atomic.Int64
	hostNs                                                atomic.Int64

	ms  memState // policy state; launchMu
	smp smPool   // SMs for compiled kernels; launchMu
}

var _ svm.Device = (*Device)(nil)

// New creates a simulated GPU attached to the process's address space.
func New(opts ...Option) (*Device, error) {
	cfg := config{name: "simgpu", vram: DefaultVRAM, cost: DefaultCostModel(), tlbEntries: DefaultTLBEntries,
		policy: &UVM{Label: "demand"}, warp: DefaultWarpSize, smTLBEntries: DefaultSMTLBEntries, smTLBWays: DefaultSMTLBWays}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.cost.Validate(); err != nil {
		return nil, fmt.Errorf("simgpu: %w", err)
	}
	if cfg.cost.PageSize != svm.PageSize {
		return nil, fmt.Errorf("simgpu: cost model page size %d: only %d is supported", cfg.cost.PageSize, svm.PageSize)
	}
	if cfg.warp < 1 || cfg.smTLBEntries < 1 || cfg.smTLBWays < 1 {
		return nil, fmt.Errorf("simgpu: warp size %d, SM TLB %d entries in %d ways: each must be at least 1", cfg.warp, cfg.smTLBEntries, cfg.smTLBWays)
	}
	if cfg.vram < svm.PageSize {
		return nil, fmt.Errorf("simgpu: VRAM size %d bytes: must be at least one page (%d bytes)", cfg.vram, svm.PageSize)
	}
	d := &Device{cfg: cfg, space: svm.Default()}
	mem, err := d.space.Attach(d, cfg.vram)
	if err != nil {
		return nil, err
	}
	d.mem = mem
	d.ms = memState{chunks: map[uint64]*chunkRec{}, hist: map[uint64]*pageHist{},
		capacity: max(1, mem.Frames()/d.blockPages())}
	d.space.ResetFaultWindow() // reproducible CPU-fault counts from here on
	return d, nil
}

// Name implements svm.Device.
func (d *Device) Name() string { return d.cfg.name }

// Describe says what the device is, in one line.
func (d *Device) Describe() string {
	c := d.cfg.cost
	return fmt.Sprintf("simulated GPU: %d MiB device memory, PCIe gen %d, %d SMs of %d work-items (%d work-groups) each, warps of %d sharing a %d-entry TLB per SM",
		int64(d.mem.Frames())*svm.PageSize>>20, c.PCIeGen, c.SMCount, c.ThreadsPerSM, c.GroupsPerSM, d.cfg.warp, d.cfg.smTLBEntries)
}

// Caps implements svm.Device.
func (d *Device) Caps() svm.Caps {
	return svm.Caps{PrivateMemory: true, Faults: true, PageSize: svm.PageSize, MemoryBytes: int64(d.mem.Frames()) * svm.PageSize}
}

// Invalidate implements svm.Device. Translations live in per-work-item TLBs
// that exist only during a launch and check their page-state word on every
// hit, so a change the svm core publishes is seen on the next access.
func (d *Device) Invalidate(start, end uintptr) {}

// Mem is the device's memory in the svm core (frames, counters).
func (d *Device) Mem() *svm.DevMem { return d.mem }

// CostModel returns the device's cost model.
func (d *Device) CostModel() CostModel { return d.cfg.cost }

// Clock returns the breakdown of simulated time so far.
func (d *Device) Clock() ClockBreakdown { return d.clock.Breakdown() }

// Degraded reports why pages cannot migrate (nil when they can).
func (d *Device) Degraded() error { return d.space.Degraded() }

// Close brings every page the device holds home and releases everything
// New took: its slot in the page table, its arena, its SMs. A second Close,
// and every command after Close, is an error wrapping ErrClosed.
func (d *Device) Close() error {
	d.launchMu.Lock()
	defer d.launchMu.Unlock()
	if d.closed {
		return fmt.Errorf("simgpu: close %s: %w", d.Name(), svm.ErrClosed)
	}
	d.closed = true
	svm.ForgetDeviceAdvice(d.mem.Location()) // the slot will be reused by another device
	d.smp.free()
	return d.mem.Release()
}

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
	c, err := k.Runnable(d.cfg.goBodies || d.cfg.bugs.WideByteStores)
	if err != nil {
		return err
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
	err = d.exclusive(func(l *launch, start time.Time) error {
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

// exclusive runs fn as one device operation (a launch, a copy, a fill):
// with launchMu held, so none of the device's other accesses is in flight
// (frames may be allocated), with its host time counted, and after every
// address-space change made before it (munmap, mprotect, ...) is seen.
func (d *Device) exclusive(fn func(l *launch, start time.Time) error) error {
	d.launchMu.Lock()
	defer d.launchMu.Unlock()
	start := time.Now()
	defer func() { d.hostNs.Add(int64(time.Since(start))) }()
	if d.closed {
		return fmt.Errorf("simgpu: %s: %w", d.Name(), svm.ErrClosed)
	}
	d.space.Sync()
	maps, err := d.space.Maps(true)
	if err != nil {
		return err
	}
	d.chargeHostActivity()
	d.ms.tick++ // a copy or fill is one round: its chunks stay while it runs
	l := &launch{dev: d, maps: maps, remote: map[uint64]remoteMap{}, errPages: map[uint64]error{}}
	l.advice.Refresh()
	l.now = d.clock.Now()
	return fn(l, start)
}

// charge adds the execution of some device accesses to the clock and the
// counters.
func (d *Device) charge(bytes, hits, misses, remote int64) {
	d.tlbHits.Add(hits)
	d.tlbMisses.Add(misses)
	d.remote.Add(remote)
	d.clock.Charge(TimeCompute, d.cfg.cost.ComputeTime(bytes, 0, hits, misses, 0))
	if remote > 0 {
		// Remote accesses stall like TLB misses: the work-groups of a wave
		// run on different SMs and their stalls overlap (ComputeTime).
		d.clock.Charge(TimeRemote, d.cfg.cost.ComputeTime(0, 0, 0, 0, remote))
	}
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

// service resolves one round's faults, batch by batch.
func (l *launch) service(faults []Fault) error {
	d := l.dev
	cost := d.cfg.cost
	d.faults.Add(int64(len(faults)))
	d.ms.tick++ // a new round: the chunks it uses are not evicted during it
	// mprotect has no event: the mappings of the faulting pages are checked
	// against the kernel's at every fault round.
	maps, err := d.space.VerifiedMaps(faultRanges(faults)...)
	if err != nil {
		return err
	}
	l.maps = maps
	var launchErr error
	for _, b := range Batches(faults, cost.FaultBatchMax, cost.PageSize) {
		d.batches.Add(1)
		bad, err := l.serviceBatch(maps, b, faults)
		if err != nil {
			return err
		}
		if launchErr == nil {
			launchErr = bad
		}
	}
	return launchErr
}

// serviceBatch resolves one deduplicated batch. bad is the first error of
// pages that could not be resolved (now in errPages: they abort only the
// work-items touching them); err is fatal for the launch.
//
// Every page the batch cannot use yet is checked (classify), then placed:
// pages of mappings that cannot migrate (shared, file-backed, degraded
// mode) are mapped remotely; the others go where the policy says —
// migrated (with the prefetcher's picks from their VA blocks), mapped
// remotely, or duplicated read-only. Migrations take device memory chunk
// by chunk, evicting when it is full.
func (l *launch) serviceBatch(maps *svm.Maps, b Batch, faults []Fault) (bad, err error) {
	d := l.dev
	cost := d.cfg.cost
	l.advice.Refresh()
	l.now = d.clock.Now()
	var launchErr error
	fail := func(page uint64, e error) {
		l.errPages[page] = e
		if launchErr == nil {
			launchErr = e
		}
	}
	var serviced []uint64
	var migrate, duplicate []uint64 // demand pages, ascending
	for _, pf := range b.Pages {
		page := pf.Page
		if _, bad := l.errPages[page]; bad {
			continue
		}
		if e := l.classify(maps, pf, firstAddr(faults, page)); e != nil {
			fail(page, e)
			continue
		}
		v, _ := maps.Find(uintptr(page))
		word := atomic.LoadUint64(svm.PTE(uintptr(page), true))
		if svm.WordDevice(word) == d.mem.ID() && (svm.WordState(word) == svm.StateDevice || svm.WordState(word) == svm.StateDup && !pf.Write) {
			continue // replayed after an earlier batch brought it in
		}
		serviced = append(serviced, page)
		place := MapRemote
		if v.Migratable() && d.space.Degraded() == nil {
			adv := l.advice.At(uintptr(page))
			verdict := d.cfg.policy.Place(FaultInfo{
				Page: page, Write: pf.Write, Advice: adv,
				AccessedByMe:  adv.AccessedByDevice(d.mem.ID()),
				PreferredHere: adv.Preferred == d.mem.Location(),
				OnOtherDevice: svm.WordState(word) == svm.StateDevice,
				Thrash:        d.noteThrash(page),
				Now:           d.clock.Now(),
			})
			place = verdict.Place
			if verdict.Throttle || verdict.PinFor > 0 {
				h := d.ms.hist[page] // exists: only a page seen before thrashes
				if h != nil {
					if verdict.Throttle {
						h.Throttles++
						d.throttles.Add(1)
					}
					if verdict.PinFor > 0 {
						h.PinnedUntil = d.clock.Now() + verdict.PinFor
						d.pins.Add(1)
					}
				}
			}
			if place == Duplicate && pf.Write {
				place = Migrate // a duplicate is read-only: a write migrates
			}
		}
		switch place {
		case Migrate:
			migrate = append(migrate, page)
		case Duplicate:
			duplicate = append(duplicate, page)
		default:
			if err := l.mapRemote(page, v); err != nil {
				return nil, err
			}
		}
	}
	d.clock.Charge(TimeFaultService, cost.BatchServiceTime(serviced))
	if err := l.moveRuns(maps, duplicate, true, fail); err != nil {
		return nil, err
	}
	prefetched := l.prefetch(maps, migrate)
	migrate = append(migrate, prefetched...)
	slices.Sort(migrate)
	if err := l.moveRuns(maps, migrate, false, fail); err != nil {
		return nil, err
	}
	for _, p := range prefetched {
		if w := atomic.LoadUint64(svm.PTE(uintptr(p), true)); svm.WordState(w) == svm.StateDevice && svm.WordDevice(w) == d.mem.ID() {
			d.pagesPrefetched.Add(1)
		}
	}
	return launchErr, nil
}

// mapRemote maps a host page for this launch (a page on a device comes
// home first).
func (l *launch) mapRemote(page uint64, v svm.VMA) error {
	d := l.dev
	word := atomic.LoadUint64(svm.PTE(uintptr(page), true))
	if svm.WordState(word) != svm.StateHost {
		n, err := d.space.MigrateToHost(uintptr(page), svm.PageSize)
		if err != nil {
			return err
		}
		d.clock.Charge(TimeTransferD2H, d.cfg.cost.TransferTime(n*svm.PageSize))
	}
	l.setRemote(page, remoteMap{writable: v.Write || d.cfg.bugs.IgnoreProtection})
	return nil
}

// migrateRun migrates pages (contiguous, ascending, inside v and one VA
// block) into device memory — or duplicates them, with dup — taking the
// block's chunk first. Pages that would not move and are on the host are
// mapped remotely so the work-items make progress. A full device evicts
// (if the policy does) a chunk not used in this round; when every chunk
// is in use by this round, the pages are used remotely instead. Without
// eviction a full device fails with ErrOutOfDeviceMemory.
func (l *launch) migrateRun(v svm.VMA, pages []uint64, dup bool) error {
	d := l.dev
	cost := d.cfg.cost
	evicts := d.cfg.policy.Evicts()
	block := d.blockOf(pages[0])
	ours := func(p uint64) bool {
		w := atomic.LoadUint64(svm.PTE(uintptr(p), true))
		return svm.WordDevice(w) == d.mem.ID() && (svm.WordState(w) == svm.StateDevice || svm.WordState(w) == svm.StateDup)
	}
	// Pages on other devices move over the peer link, not through the host.
	onPeer, had := make([]bool, len(pages)), make([]bool, len(pages))
	for i, p := range pages {
		w := atomic.LoadUint64(svm.PTE(uintptr(p), true))
		onPeer[i] = svm.WordState(w) == svm.StateDevice && svm.WordDevice(w) != d.mem.ID()
		had[i] = ours(p)
	}
	room := true
	if evicts {
		ok, err := d.useChunk(block)
		if err != nil {
			return err
		}
		room = ok
	}
	for room {
		mig := d.mem.Migrate
		if dup {
			mig = d.mem.Duplicate
		}
		_, err := mig(v, uintptr(pages[0]), len(pages))
		if err == nil {
			break
		}
		if !errors.Is(err, svm.ErrOutOfDeviceMemory) || !evicts {
			return err
		}
		// Frames ran out before chunks did (device memory that is not a
		// whole number of chunks): evict another chunk and retry; with
		// nothing left to evict, the rest is used remotely.
		ok, eerr := d.evictOne(block)
		if eerr != nil {
			return eerr
		}
		room = ok
	}
	var h2d, peer int
	for i, p := range pages {
		if ours(p) && !had[i] {
			if onPeer[i] {
				peer++
			} else {
				h2d++
			}
		}
	}
	d.clock.Charge(TimeTransferH2D, cost.TransferTime(h2d*svm.PageSize))
	d.clock.Charge(TimeTransferPeer, cost.PeerTransferTime(peer*svm.PageSize))
	for i, p := range pages {
		w := atomic.LoadUint64(svm.PTE(uintptr(p), true))
		switch {
		case svm.WordState(w) == svm.StateHost:
			// Busy for too long, the address space changed under the
			// migration, or no room: map it so the work-items progress.
			l.setRemote(p, remoteMap{writable: v.Write})
		case !room && !had[i] && !ours(p):
			// No room, and the page is on another device: bring it home and
			// map it (a copy or fill is one round; waiting for the next
			// round would never end).
			if err := l.mapRemote(p, v); err != nil {
				return err
			}
		}
		// Otherwise (a migration in flight elsewhere) it faults again.
	}
	return nil
}

// prefetch returns the pages the policy's prefetcher adds to a batch's
// demand migrations (ascending, demand sorted ascending). Only pages inside
// the launch's named argument ranges are eligible — a mapping may hold
// other threads' stacks, which must not move — and only host pages of
// migratable mappings that are not pinned or advised elsewhere.
func (l *launch) prefetch(maps *svm.Maps, demand []uint64) []uint64 {
	d := l.dev
	if len(demand) == 0 || l.a == nil || !prefetches(d.cfg.policy) {
		return nil
	}
	bp := d.blockPages()
	var out []uint64
	for i := 0; i < len(demand); {
		block := d.blockOf(demand[i])
		b := BlockState{BigPage: max(1, d.cfg.cost.BigPageSize/svm.PageSize), Faulted: make([]bool, bp), Resident: make([]bool, bp), Eligible: make([]bool, bp), Thrashing: make([]bool, bp)}
		for ; i < len(demand) && d.blockOf(demand[i]) == block; i++ {
			k := (demand[i] - block) / svm.PageSize
			b.Faulted[k] = true
			if h := d.ms.hist[demand[i]]; h != nil && h.Thrashing(d.thrashThreshold()) {
				b.Thrashing[k] = true
			}
		}
		any := false
		for k := 0; k < bp; k++ {
			page := block + uint64(k)*svm.PageSize
			w := atomic.LoadUint64(svm.PTE(uintptr(page), true))
			if svm.WordState(w) == svm.StateDevice && svm.WordDevice(w) == d.mem.ID() {
				b.Resident[k] = true
				continue
			}
			if b.Faulted[k] || svm.WordState(w) != svm.StateHost || !l.named(uintptr(page)) {
				continue
			}
			if v, ok := maps.Find(uintptr(page)); !ok || !v.Migratable() {
				continue
			}
			if adv := l.advice.At(uintptr(page)); adv.Preferred == svm.LocationHost || adv.ReadMostly {
				continue
			}
			if d.pinned(page, d.clock.Now()) {
				continue
			}
			if _, remote := l.remote[page]; remote {
				continue
			}
			b.Eligible[k] = true
			any = true
		}
		if !any {
			continue
		}
		for _, k := range d.cfg.policy.Prefetch(b) {
			if k >= 0 && k < bp && b.Eligible[k] {
				out = append(out, block+uint64(k)*svm.PageSize)
			}
		}
	}
	return out
}

// named reports whether addr is inside a range the launch's arguments name.
func (l *launch) named(addr uintptr) bool {
	for _, r := range l.a.Ranges {
		if r.Len > 0 && addr >= r.Start&^pageMask && addr < r.End() {
			return true
		}
	}
	return false
}

// classify checks that a faulting access is legal; the error names the
// address and the reason.
func (l *launch) classify(maps *svm.Maps, pf PageFault, addr uint64) error {
	v, ok := maps.Find(uintptr(pf.Page))
	fe := &svm.FaultError{Device: l.dev.Name(), Addr: uintptr(addr), Write: pf.Write, Err: svm.ErrDeviceFault}
	switch {
	case !ok:
		fe.Reason = "address not mapped"
	case v.Kind == svm.KindDeviceMemory:
		fe.Reason = "address is device memory, not a host address"
	case v.Kind == svm.KindSpecial:
		fe.Reason = fmt.Sprintf("%s mapping is not device accessible", v.Path)
	case !v.Read:
		fe.Reason = "mapping is PROT_NONE"
	case pf.Write && !v.Write && !l.dev.cfg.bugs.IgnoreProtection:
		fe.Reason = "mapping is read-only"
		fe.Err = svm.ErrPermission
	default:
		return nil
	}
	return fe
}

// firstAddr returns the lowest raw faulting address on page (faults are
// sorted by address), for error messages.
func firstAddr(faults []Fault, page uint64) uint64 {
	i := sort.Search(len(faults), func(i int) bool { return faults[i].Addr >= page })
	if i < len(faults) && faults[i].Addr < page+svm.PageSize {
		return faults[i].Addr
	}
	return page
}

// Prefetch migrates the migratable pages of [start, start+length) into the
// device's memory ahead of use (cudaMemPrefetchAsync, clEnqueueSVMMigrateMem).
// Pages of mappings that cannot migrate are skipped: they are mapped on
// first touch. The transfer is charged to the simulated clock.
func (d *Device) Prefetch(start, length uintptr) error { return d.migrate(start, length, false) }

// Migrate moves [start, start+length) into the device's memory now and
// returns how many pages moved, following Linux's migrate_vma: a hole or a
// PROT_NONE mapping anywhere in the range is ErrDeviceFault naming the
// address, before anything moves; pages of mappings that are mirrored, not
// migrated (shared, file-backed, read-only, the stack and the process's
// machinery) stay in host memory while the rest migrates, and are reported
// by a *svm.LeftInPlaceError (ErrNotSupported) beside the count.
func (d *Device) Migrate(start, length uintptr) (int, error) {
	_, before, _, _ := d.mem.Counters()
	err := d.migrate(start, length, true)
	_, after, _, _ := d.mem.Counters()
	return int(after - before), err
}

func (d *Device) migrate(start, length uintptr, strict bool) error {
	if err := d.space.Degraded(); err != nil {
		return err
	}
	if length == 0 {
		return nil
	}
	if start+length < start || start+length > svm.UserSpaceEnd {
		return &svm.FaultError{Device: d.Name(), Addr: start, Reason: fmt.Sprintf("migration of %d bytes at %#x runs past the end of the user address space", length, start), Err: svm.ErrDeviceFault}
	}
	first := start &^ pageMask
	end := (start + length + pageMask) &^ pageMask
	// One device operation: frames move while none of our accesses is in
	// flight, through the same chunk accounting as faults (a prefetch
	// larger than the device evicts, and what it brings in can be evicted).
	return d.exclusive(func(l *launch, _ time.Time) error {
		maps := l.maps
		// Mapping by mapping, never page by page: a range of terabytes
		// over holes costs what the address space holds there.
		for a := first; strict && a < end; {
			v, ok := maps.Find(a)
			if !ok {
				return &svm.FaultError{Device: d.Name(), Addr: a, Reason: "migration of an unmapped address", Err: svm.ErrDeviceFault}
			}
			if !v.Read {
				return &svm.FaultError{Device: d.Name(), Addr: a, Reason: "migration of a PROT_NONE mapping", Err: svm.ErrDeviceFault}
			}
			a = v.End
		}
		var pages []uint64
		var left *svm.LeftInPlaceError
		for a := first; a < end; {
			v, ok := maps.Find(a)
			if !ok {
				return &svm.FaultError{Device: d.Name(), Addr: a, Reason: "migration of an unmapped address", Err: svm.ErrDeviceFault}
			}
			stop := min(end, v.End)
			if v.Migratable() {
				for p := a; p < stop; p += svm.PageSize {
					pages = append(pages, uint64(p))
				}
			} else if strict {
				if left == nil {
					left = &svm.LeftInPlaceError{Device: d.Name()}
				}
				clipped := v
				clipped.Start, clipped.End = a, stop
				left.Pages += int((stop - a) / svm.PageSize)
				left.Mappings = append(left.Mappings, clipped)
			}
			a = stop
		}
		// Blocks one by one: each is its own round, so a range larger than
		// the device evicts its own first blocks as it goes (LRU).
		var firstErr error
		for i := 0; i < len(pages); {
			j := i + 1
			for j < len(pages) && d.blockOf(pages[j]) == d.blockOf(pages[i]) {
				j++
			}
			d.ms.tick++
			if err := l.moveRuns(maps, pages[i:j], false, func(_ uint64, err error) {
				if firstErr == nil {
					firstErr = err
				}
			}); err != nil {
				return err
			}
			i = j
		}
		if firstErr == nil && left != nil {
			return left
		}
		return firstErr
	})
}
