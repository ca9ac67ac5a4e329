// Package cpu is svmrt's host-cores backend: the machine's own cores as a
// coherent compute device.
//
// # Where it sits
//
// The runtime hands a backend a kernel, an NDRange and bound arguments
// (kernels.Bind: the program's own pointers). For most backends that is the
// start of real work: simgpu translates every access through a simulated MMU
// and migrates pages; opencl pre-faults or maps memory for a real device. For
// cpu there is nothing to do: the device is the host, every pointer is valid
// as it is, memory is coherent and nothing migrates. So cpu is the fast path
// for real work and the reference the other backends are checked against.
//
// # How a launch runs
//
// Launch validates the range and arguments, then runs, in this order of
// preference,
//   - the kernel's HostFast path (a whole-launch routine in plain Go, such
//     as MulMat's blocked sgemm) when the kernel has one, it accepts the
//     arguments, and fast paths are not disabled with WithoutFastPaths;
//   - the kernel's OpenCL C, compiled for the host without instrumentation
//     (compiled.go): a kernel made by kernels.Compile, or a Go kernel with
//     a Source (unless WithGoBodies, or clang-15 is missing and the kernel
//     has a Body). Work-groups go to WithWorkers workers one at a time; a
//     kernel without barriers runs a group as one loop, one with barriers
//     runs its work-items as fibers;
//   - the kernel's Go Body: work-groups handed out the same way, each
//     worker running kernels.RunGroup with host-direct memory access.
//
// Cancelling the context stops handing out work-groups; groups already
// running finish (a work-group cannot be interrupted half-way), and Launch
// returns ctx.Err(). HostFast paths run to completion once started. Results
// of a cancelled or failed launch are partial.
//
// A fault on a bad address inside a kernel (an argument pointing at unmapped
// memory, say), compiled or Go, fails the launch with a *kernels.PanicError
// naming the work-item and address instead of crashing the process; so
// does an integer division by zero in compiled code.
//
// # Concurrency
//
// A Device is safe for concurrent use: each Launch runs its own workers, and
// the statistics are atomic counters. Concurrent launches share the cores
// through the Go scheduler.
package cpu

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/cpuid/v2"

	"github.com/svmrt/svmrt/internal/errdefs"
	"github.com/svmrt/svmrt/kernels"
)

// Info describes the host CPU as a compute device.
type Info struct {
	Name, Vendor string // brand string and vendor ("GenuineIntel"), as cpuid reports them
	Cores        int    // physical cores
	Threads      int    // logical CPUs (hardware threads)
	L1D, L2, L3  int    // cache sizes in bytes; 0 if unknown
	// SIMD is the widest vector extension the CPU has: "AVX-512", "AVX2",
	// "AVX", "SSE4.2", "SSE2" on x86; "SVE2", "SVE", "NEON" on ARM; "none".
	// It describes the hardware; the Go fast paths are scalar code.
	SIMD             string
	MaxWorkGroupSize int
}

// Stats are a device's cumulative counters.
type Stats struct {
	Launches         uint64 // successful and failed launches that started work
	WorkGroups       uint64 // work-groups run through kernels.RunGroup
	WorkItems        uint64 // their work-items
	FastPathLaunches uint64 // launches completed by a kernel's HostFast path
	CompiledLaunches uint64 // launches that ran the kernel's compiled OpenCL C
	HostNs           int64  // wall-clock time spent inside Launch, in nanoseconds
}

// Option configures a Device.
type Option func(*Device)

// WithWorkers sets how many goroutines run the work-groups of one launch;
// n <= 0 means GOMAXPROCS at New.
func WithWorkers(n int) Option {
	return func(d *Device) {
		if n > 0 {
			d.workers = n
		}
	}
}

// WithoutFastPaths makes every launch run the kernel's reference Body, never
// its HostFast path (to cross-check the two, or to measure the Body).
func WithoutFastPaths() Option { return func(d *Device) { d.noFast = true } }

// Device is the host CPU as a compute device.
type Device struct {
	// Set by New, then read-only.
	workers  int
	noFast   bool
	goBodies bool
	info     Info

	closed atomic.Bool

	// Statistics, updated atomically by concurrent launches.
	launches, groups, items, fastLaunches, compiledLaunches atomic.Uint64
	hostNs                                                  atomic.Int64
}

// New returns a cpu device.
func New(opts ...Option) *Device {
	d := &Device{workers: runtime.GOMAXPROCS(0), info: detect()}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Name is the backend's name, "cpu".
func (d *Device) Name() string { return "cpu" }

// CPU describes the host CPU.
func (d *Device) CPU() Info { return d.info }

// CPUStats returns the device's own counters (work-groups and work-items
// run, and the paths launches took).
func (d *Device) CPUStats() Stats {
	return Stats{
		Launches:         d.launches.Load(),
		WorkGroups:       d.groups.Load(),
		WorkItems:        d.items.Load(),
		FastPathLaunches: d.fastLaunches.Load(),
		CompiledLaunches: d.compiledLaunches.Load(),
		HostNs:           d.hostNs.Load(),
	}
}

// Close marks the device closed: later launches fail with ErrClosed.
// Launches already running finish normally. The device holds no resources
// beyond memory; a second Close is an error wrapping ErrClosed.
func (d *Device) Close() error {
	if !d.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("cpu: close: %w", errdefs.ErrClosed)
	}
	return nil
}

// Launch runs kernel k over nd with arguments a and returns when every
// work-item has run, or with the first error: an invalid range
// (kernels.ErrInvalidNDRange), arguments that do not match the kernel
// (kernels.ErrBadArgs), a failing work-item (the error kernels.RunGroup
// reports: a fault is also the svm.FaultError a mirroring device gives,
// see launchFault), ctx.Err() if cancellation kept work-groups from
// running, or svm.ErrClosed.
func (d *Device) Launch(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error {
	return d.launchFault(d.launch(ctx, k, nd, a))
}

func (d *Device) launch(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error {
	if d.closed.Load() {
		return fmt.Errorf("cpu: launch: %w", errdefs.ErrClosed)
	}
	if k == nil {
		return errors.New("cpu: launch of a nil kernel")
	}
	if err := nd.Validate(); err != nil {
		return fmt.Errorf("cpu: kernel %s: %w", k.Name, err)
	}
	if err := a.Check(k); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	d.launches.Add(1)
	defer func() {
		d.hostNs.Add(int64(time.Since(start)))
		// The addresses in a.Words are only as good as the objects in a.Keep.
		runtime.KeepAlive(a)
	}()
	if !d.noFast && k.HostFast != nil {
		ok, err := hostFast(k, nd, a, d.workers)
		if err != nil {
			return err
		}
		if ok {
			d.fastLaunches.Add(1)
			return nil
		}
	}
	c, err := k.Runnable(d.goBodies)
	if err != nil {
		return err
	}
	if c != nil {
		return d.launchCompiled(ctx, k, c, nd, a)
	}
	if k.Body == nil {
		return errNoBody(k)
	}
	return d.runGroups(ctx, k, nd, a)
}

// hostFast runs k.HostFast with the device's worker count, turning a panic
// (or a fault on a bad address) into an error.
func hostFast(k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args, workers int) (ok bool, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("cpu: kernel %s: fast path panicked: %v", k.Name, r)
		}
	}()
	return k.HostFast(nd, a, workers), nil
}

// runGroups hands the work-groups of a launch to the workers.
func (d *Device) runGroups(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error {
	total := nd.TotalGroups()
	groupSize := uint64(nd.GroupSize())
	localBytes := 0
	if k.LocalBytes != nil {
		localBytes = max(0, k.LocalBytes(nd, a))
	}
	var (
		next      atomic.Int64 // next group to hand out
		stop      atomic.Bool  // an error or cancellation: hand out no more
		cancelled atomic.Bool
		errOnce   sync.Once
		firstErr  error
	)
	done := ctx.Done()
	worker := func() {
		// One local-memory buffer per worker, reused by its groups.
		cfg := kernels.GroupConfig{}
		if localBytes > 0 {
			cfg.Local = make([]byte, localBytes)
		}
		for !stop.Load() {
			if done != nil {
				select {
				case <-done:
					cancelled.Store(true)
					stop.Store(true)
					return
				default:
				}
			}
			g := int(next.Add(1) - 1)
			if g >= total {
				return
			}
			err := kernels.RunGroup(k, nd, g, a, cfg)
			d.groups.Add(1)
			d.items.Add(groupSize)
			if err != nil {
				errOnce.Do(func() { firstErr = err })
				stop.Store(true)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for range min(d.workers, total) - 1 {
		wg.Go(worker)
	}
	worker() // the launching goroutine is a worker too
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if cancelled.Load() && next.Load() < int64(total) {
		return ctx.Err()
	}
	return nil
}

// detect reads the CPU description from cpuid, with fallbacks for what it
// cannot tell (some VMs hide the topology leaves).
func detect() Info {
	c := &cpuid.CPU
	info := Info{
		Name:             strings.TrimSpace(c.BrandName),
		Vendor:           c.VendorString,
		Cores:            c.PhysicalCores,
		Threads:          c.LogicalCores,
		L1D:              max(c.Cache.L1D, 0),
		L2:               max(c.Cache.L2, 0),
		L3:               max(c.Cache.L3, 0),
		SIMD:             simd(c),
		MaxWorkGroupSize: kernels.MaxWorkGroupSize,
	}
	if info.Threads <= 0 {
		info.Threads = runtime.NumCPU()
	}
	if info.Cores <= 0 || info.Cores > info.Threads {
		info.Cores = info.Threads
	}
	if info.Name == "" {
		info.Name = runtime.GOARCH + " CPU"
	}
	return info
}

// simd names the widest vector extension c supports.
func simd(c *cpuid.CPUInfo) string {
	for _, f := range []struct {
		id   cpuid.FeatureID
		name string
	}{
		{cpuid.AVX512F, "AVX-512"},
		{cpuid.AVX2, "AVX2"},
		{cpuid.AVX, "AVX"},
		{cpuid.SSE42, "SSE4.2"},
		{cpuid.SSE2, "SSE2"},
		{cpuid.SVE2, "SVE2"},
		{cpuid.SVE, "SVE"},
		{cpuid.ASIMD, "NEON"},
	} {
		if c.Supports(f.id) {
			return f.name
		}
	}
	return "none"
}
