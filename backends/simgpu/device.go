package simgpu

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svmrt/svmrt/svm"
)

// The Device: creation, accessors, Close, and the frame every device
// operation runs in (exclusive) and charges its accesses from (charge).

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
	// svm migrations into device memory made by fault rounds and explicit
	// migrations (calls, not pages: coalesce_test.go counts them).
	hostMigrations atomic.Int64
	// pages mapped remotely because the host took them back after every
	// fault round's service (compiled.go, mapTakenBack).
	takenBack atomic.Int64

	ms  memState // policy state; launchMu
	smp smPool   // SMs for compiled kernels; launchMu

	// tr writes the device's trace (trace.go); nil without one. Set by
	// SetTrace before the device's first operation, read-only after.
	tr *tracer
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
	if d.tr != nil {
		now := d.clock.Now()
		d.tr.account(d, "host activity", now, now) // CPU faults since the last operation
		defer func() { now := d.clock.Now(); d.tr.account(d, "close", now, now) }()
	}
	svm.ForgetDeviceAdvice(d.mem.Location()) // the slot will be reused by another device
	d.smp.free()
	return d.mem.Release()
}

// exclusive runs fn as one device operation (a launch, a copy, a fill),
// named what in the trace: with launchMu held, so none of the device's
// other accesses is in flight (frames may be allocated), with its host
// time counted, and after every address-space change made before it
// (munmap, mprotect, ...) is seen.
func (d *Device) exclusive(what string, fn func(l *launch, start time.Time) error) error {
	d.launchMu.Lock()
	defer d.launchMu.Unlock()
	start := time.Now()
	defer func() { d.hostNs.Add(int64(time.Since(start))) }()
	if d.closed {
		return fmt.Errorf("simgpu: %s: %w", d.Name(), svm.ErrClosed)
	}
	if d.tr != nil {
		defer d.traceOperation(what, d.clock.Now(), start)()
	}
	// Frames whose pages come home during the operation stay backed: its
	// TLBs may still map them (svm.DevMem.BeginAccess).
	d.mem.BeginAccess()
	defer d.mem.EndAccess()
	d.space.Sync()
	if d.cfg.rec != nil {
		d.cfg.rec.cpuPhase() // the CPU's touches since the last operation
	}
	maps, err := d.space.Maps(true)
	if err != nil {
		return err
	}
	if d.tr != nil {
		before := d.clock.Now()
		d.chargeHostActivity()
		d.tr.account(d, "host activity", before, d.clock.Now()) // CPU faults since the last operation
	} else {
		d.chargeHostActivity()
	}
	d.newRound() // a copy or fill is one round: its chunks stay while it runs
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
