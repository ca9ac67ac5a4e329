// Package runtime is svmrt's public API: open a device, launch kernels on
// the program's own memory — slices, unsafe.Pointers, structs with pointers —
// wait for them, and read per-device statistics and page snapshots.
//
// There are no device buffers and no copies in this API. On a device with
// private memory (simgpu) the pages a kernel touches fault into device
// memory; the CPU's next touch of such a page is a real page fault that
// brings it home (see package svm).
//
//	dev, err := runtime.Open("simgpu", runtime.WithVRAM(64<<20))
//	...
//	err = runtime.MulMat(ctx, dev, r, a, b, m) // r = a × b on the device
//	fmt.Println(r[0])                          // faults r's first page home
//
// Launches on one device run in submission order (an in-order queue);
// Launch returns an Event at once, Wait blocks until the kernel finished.
//
// # Devices
//
// Devices come from package backends' registry: each backend package
// registers its kind when imported (this package imports cpu, simgpu and
// opencl), and Open, DeviceNames, Devices and PolicyNames ask the registry.
// The runtime knows a backend only through the backends.Backend contract
// and the optional capability interfaces it implements (migration, a copy
// engine, host-access synchronisation, argument checks, simulator
// counters): a command a device has no capability for is ErrNotSupported.
// Backend-specific options go through WithBackendOptions; backend-specific
// queries through Backend().
//
// Errors of commands on a device are *CommandError values: the command and
// the device, said once, and the cause to match with errors.Is.
//
// # Tracing
//
// WithTrace, WithSharedTrace or the SVMRT_TRACE environment variable make
// a device write its timeline as Chrome/Perfetto Trace Event JSON
// (package trace; trace.go says what each clock's tracks hold).
//
// # Bad input
//
// Every launch and memory command checks the memory it names against the
// address space before anything is queued or touched; a bad address is an
// error naming it (ErrDeviceFault, ErrPermission; ErrNotSupported for
// memory of the process's own machinery, which is never migrated: see
// package svm). Errors are the same on every device: a kernel's access to
// an unmapped, PROT_NONE or NULL address is ErrDeviceFault whether the
// device mirrors the address space (simgpu), runs on the host (cpu) or is
// an OpenCL device (which refuses NULL pointer arguments outright: a fault
// on the driver's threads would kill the process). A nil context is
// ErrInvalidValue; commands after Close, and a second Close, wrap
// ErrClosed; a kernel body that waits for its own device's queue gets
// ErrNotSupported instead of a deadlock.
//
// Misaligned accesses (a 4-byte load from an address that is not a
// multiple of 4) are undefined in OpenCL C, which requires data to be
// aligned to its size. One rule on every device: a misaligned load or
// store runs as the host processor runs it (x86 allows it; on simgpu one
// that crosses a page boundary goes through the MMU page by page, each
// page faulting in as usual), and a misaligned atomic on simgpu fails the
// launch with ErrDeviceFault naming the address (an atomic across two
// pages could not be atomic; cpu runs it as the host does, opencl as its
// driver does). Real GPUs fault on misaligned accesses of every kind:
// portable kernels keep theirs aligned.
//
// Pointers a kernel reaches by indexing past the memory an argument names,
// or by following pointers it loads, cannot be checked in advance: cpu and
// simgpu catch the fault and fail the launch; an OpenCL device may crash
// the process, as any OpenCL program would.
package runtime

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends"
	// The devices svmrt ships with: each registers its kind with package
	// backends when imported. A new backend is one more line here (or a
	// backends.Register call in the program that brings it).
	_ "github.com/svmrt/svmrt/backends/cpu"
	_ "github.com/svmrt/svmrt/backends/opencl"
	_ "github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Errors to match with errors.Is.
var (
	ErrDeviceFault       = svm.ErrDeviceFault        // an access to an unusable address (the error names it)
	ErrPermission        = svm.ErrPermission         // a device write to read-only memory
	ErrOutOfDeviceMemory = svm.ErrOutOfDeviceMemory  // device memory exhausted
	ErrNotSupported      = svm.ErrNotSupported       // capability missing (userfaultfd, backend, ...)
	ErrInvalidValue      = svm.ErrInvalidValue       // bad argument: overlapping copy, bad fill pattern
	ErrUnknownDevice     = backends.ErrUnknownDevice // a device name no backend knows, an index beyond a kind's devices
	ErrClosed            = svm.ErrClosed             // commands on a closed device, a second Close
)

// Device descriptions and counters (see package backends for each field).
type (
	// Info says what a device is and what it can do.
	Info = backends.Info
	// Stats are the counters every device reports.
	Stats = backends.Stats
	// SimStats are the counters only a simulated device keeps.
	SimStats = backends.SimStats
	// Progress reports how far a long launch has got (simulated devices
	// report after every wave of work-groups).
	Progress = backends.Progress
)

// Device is an open device with an in-order launch queue.
type Device struct {
	be   backends.Backend
	kind string

	mu     sync.Mutex // protects queue and closed
	queue  chan *Event
	closed bool
	wg     sync.WaitGroup

	// kernelRunning is set while the queue worker runs a kernel launch: a
	// Wait from inside a kernel body on this device would wait for itself.
	kernelRunning atomic.Bool

	// tr is the device's trace (trace.go); nil when tracing is off. Set
	// by Open, read-only after.
	tr *deviceTrace
}

// Open opens a device by name: a kind ("cpu", "simgpu", "opencl"; see
// DeviceNames) for its first device, or "kind:N" for the N-th ("opencl:1").
// Names are case-insensitive. A name no backend knows, or an index beyond
// a kind's devices, is an error wrapping ErrUnknownDevice that lists the
// known kinds; a kind that cannot run here (OpenCL without a platform)
// wraps ErrNotSupported and says why.
func Open(name string, opts ...Option) (*Device, error) {
	var oc openConfig
	for _, o := range opts {
		o(&oc)
	}
	c := oc.Config
	drv, index, err := backends.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("runtime: open: %w", err)
	}
	if c.Policy != "" && len(policyNames(drv)) == 0 {
		return nil, fmt.Errorf("runtime: open %s: memory policy %q: %s: %w", name, c.Policy, knownPolicies(drv), ErrNotSupported)
	}
	be, err := drv.Open(index, c)
	if err != nil {
		return nil, fmt.Errorf("runtime: open %s: %w", name, err)
	}
	d := &Device{be: be, kind: drv.Name, queue: make(chan *Event, 64)}
	if err := d.startTrace(oc.trace, oc.sharedTrace); err != nil {
		be.Close()
		return nil, fmt.Errorf("runtime: open %s: %w", name, err)
	}
	d.wg.Add(1)
	go d.worker()
	return d, nil
}

// Name is the device's name.
func (d *Device) Name() string { return d.be.Name() }

// Info says what the device is and what it can do.
func (d *Device) Info() Info { return d.be.Info() }

// Backend returns the backend device for backend-specific queries: assert
// it to the backend's type (*simgpu.Device, *cpu.Device, *opencl.Device)
// or to one of package backends' capability interfaces.
func (d *Device) Backend() backends.Backend { return d.be }

// Degraded reports why pages cannot migrate in this process (nil when they
// can). Devices still work: they access host memory remotely.
func Degraded() error { return svm.Default().Degraded() }

// Event is a submitted command: a kernel launch or a memory operation.
type Event struct {
	dev    *Device
	ctx    context.Context
	kernel bool                            // a kernel launch (not a memory command)
	what   string                          // for errors: "saxpy", "memcpy", ...
	run    func(ctx context.Context) error // executed in queue order
	done   chan struct{}
	err    error
	stats  EventStats // what the command did (eventstats.go); written before done closes
}

// Wait blocks until the launch has finished or ctx is done. It returns the
// launch's error, or ctx's error if ctx ended first (the launch keeps
// running; Wait again to see its result). A nil ctx is an error wrapping
// ErrInvalidValue, and so is a Wait from inside a kernel body for a command
// queued behind that kernel on the same device (it would wait for itself).
func (e *Event) Wait(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("runtime: wait for %s: nil context: %w", e.what, ErrInvalidValue)
	}
	select {
	case <-e.done:
		return e.err
	default:
	}
	if err := e.dev.checkNotInOwnKernel("wait for " + e.what); err != nil {
		return err
	}
	select {
	case <-e.done:
		return e.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the launch has finished.
func (e *Event) Done() <-chan struct{} { return e.done }

// Launch binds args to k's parameters and queues the launch. Argument
// errors (count, types) and NDRange errors are returned at once, before
// anything is queued. ctx cancels the launch between waves.
//
// The memory the arguments name is checked against the address space
// before the kernel touches it (on cpu at Launch, on the other devices by
// the device): a slice over unmapped, PROT_NONE or
// device memory, or a raw pointer to such an address, is an error naming
// the address. A nil ctx is an error wrapping ErrInvalidValue.
func (d *Device) Launch(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, args ...any) (*Event, error) {
	if k == nil {
		return nil, fmt.Errorf("runtime: Launch: nil kernel: %w", ErrInvalidValue)
	}
	if ctx == nil {
		return nil, fmt.Errorf("runtime: launch %s: nil context: %w", k.Name, ErrInvalidValue)
	}
	if err := nd.Validate(); err != nil {
		return nil, d.fail("launch "+k.Name, err)
	}
	a, err := kernels.Bind(k, args...)
	if err != nil {
		return nil, d.fail("launch "+k.Name, err)
	}
	if c, ok := d.be.(backends.ArgChecker); ok {
		// A device that dereferences the program's pointers itself (the
		// host cores) checks what they name now; devices that mirror the
		// address space check each access, OpenCL devices before they
		// enqueue.
		if err := c.CheckArgs(k, a); err != nil {
			return nil, d.fail("launch "+k.Name, err)
		}
	}
	return d.enqueueKind(ctx, "launch "+k.Name, true, func(ctx context.Context) error {
		err := d.be.Launch(ctx, k, nd, a)
		runtime.KeepAlive(a) // the launch used the memory a's values name
		return err
	})
}

// enqueue submits a memory command to the device's in-order queue.
func (d *Device) enqueue(ctx context.Context, what string, run func(context.Context) error) (*Event, error) {
	return d.enqueueKind(ctx, what, false, run)
}

func (d *Device) enqueueKind(ctx context.Context, what string, kernel bool, run func(context.Context) error) (*Event, error) {
	if ctx == nil {
		return nil, fmt.Errorf("runtime: %s: nil context: %w", what, ErrInvalidValue)
	}
	ev := &Event{dev: d, ctx: ctx, kernel: kernel, what: what, run: run, done: make(chan struct{})}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, d.fail(what, ErrClosed)
	}
	d.queue <- ev
	return ev, nil
}

// checkNotInOwnKernel refuses to block a kernel body on this device's queue
// while a kernel runs on it: the queue is in order, so whatever the body
// waits for runs after the kernel, which waits for the body — forever.
//
// A body is recognised by its callers, the kernels package's work-group
// runner, on the goroutine's stack (Go has no goroutine-local state to mark
// it otherwise). The device is not identified: a body of another device's
// kernel that waits here while this device runs a kernel is refused too.
func (d *Device) checkNotInOwnKernel(what string) error {
	if d == nil || !d.kernelRunning.Load() || !inKernelBody() {
		return nil
	}
	return fmt.Errorf("runtime: %s on %s from inside a kernel running on it: it would wait for itself (launch it without waiting, or from the host): %w",
		what, d.Name(), ErrNotSupported)
}

// kernelBodyFrames prefixes the methods that call Go kernel bodies (the
// work-group runner, sequential or one goroutine per work-item).
const kernelBodyFrames = "github.com/svmrt/svmrt/kernels.(*groupRun)."

func inKernelBody() bool {
	var pcs [256]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, kernelBodyFrames) {
			return true
		}
		if !more {
			return false
		}
	}
}

// Run launches and waits.
func (d *Device) Run(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, args ...any) error {
	if err := d.checkNotInOwnKernel("run"); err != nil {
		return err
	}
	ev, err := d.Launch(ctx, k, nd, args...)
	if err != nil {
		return err
	}
	return ev.Wait(ctx)
}

func (d *Device) worker() {
	defer d.wg.Done()
	for ev := range d.queue {
		if err := ev.ctx.Err(); err != nil {
			ev.err = err
		} else {
			var span commandSpan
			if d.tr != nil {
				span = d.tr.begin()
			}
			before, start := backends.CountersOf(d.be), time.Now()
			d.kernelRunning.Store(ev.kernel)
			err := ev.run(ev.ctx)
			d.kernelRunning.Store(false)
			ev.stats = eventStats(before, backends.CountersOf(d.be), time.Since(start))
			if err != nil {
				ev.err = d.fail(ev.what, err)
			}
			if d.tr != nil {
				d.tr.end(span, ev.what, err, len(d.queue) == 0)
			}
		}
		ev.run = nil // nothing of the command is needed any more
		close(ev.done)
	}
}

// Stats returns the device's counters.
func (d *Device) Stats() Stats { return d.be.Stats() }

// SimStats returns a simulated device's own counters (its clock, TLB hits
// and misses, remote accesses) and true; a real device has none: false.
func (d *Device) SimStats() (SimStats, bool) {
	if s, ok := d.be.(backends.Simulator); ok {
		return s.SimStats(), true
	}
	return SimStats{}, false
}

// Close waits for queued launches, brings every page the device holds home
// and releases everything Open took. A second Close is an error wrapping
// ErrClosed, as is every command on a closed device.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return d.fail("close", ErrClosed)
	}
	d.closed = true
	close(d.queue)
	d.mu.Unlock()
	d.wg.Wait()
	err := d.be.Close()
	if d.tr != nil {
		if terr := d.tr.close(); terr != nil && err == nil {
			err = terr
		}
	}
	if err != nil {
		return d.fail("close", err)
	}
	return nil
}

// slot is the device's owner id in the page table (0 for devices without
// private memory).
func (d *Device) slot() int {
	if m, ok := d.be.(backends.Migrator); ok {
		return m.Slot()
	}
	return 0
}

// Snapshot reports the state of each page of [p, p+length) as seen by d,
// without faulting anything in.
func (d *Device) Snapshot(p unsafe.Pointer, length uintptr) ([]PageInfo, error) {
	if err := d.checkOpen("snapshot"); err != nil {
		return nil, err
	}
	return svm.Default().Snapshot(uintptr(p), length, d.slot())
}

// checkOpen is nil while d is open, else an error wrapping ErrClosed.
func (d *Device) checkOpen(what string) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return d.fail(what, ErrClosed)
	}
	return nil
}

// SnapshotSlice is Snapshot over a slice's backing array.
func SnapshotSlice[T any](d *Device, s []T) ([]PageInfo, error) {
	if len(s) == 0 {
		return nil, nil
	}
	var zero T
	return d.Snapshot(unsafe.Pointer(unsafe.SliceData(s)), uintptr(len(s))*unsafe.Sizeof(zero))
}

// Prefetch migrates [p, p+length) to the device ahead of use. Pages of
// mappings that cannot migrate are left in place (mapped on fault).
// Returns ErrNotSupported on devices without private memory or in degraded
// mode.
func (d *Device) Prefetch(p unsafe.Pointer, length uintptr) error {
	if err := d.checkOpen("prefetch"); err != nil {
		return err
	}
	if err := d.prefetch(p, length); err != nil {
		return d.fail("prefetch", err)
	}
	return nil
}

// prefetch is Prefetch for queued commands (they run even while Close
// drains the queue).
func (d *Device) prefetch(p unsafe.Pointer, length uintptr) error {
	m, err := d.migrator()
	if err != nil {
		return err
	}
	return m.Prefetch(uintptr(p), length)
}

// migrator is the device's migration capability, or an error wrapping
// ErrNotSupported.
func (d *Device) migrator() (backends.Migrator, error) {
	m, ok := d.be.(backends.Migrator)
	if !ok {
		return nil, fmt.Errorf("device has no private memory: %w", ErrNotSupported)
	}
	return m, nil
}

// Migrate moves [p, p+length) into d's memory now (clEnqueueSVMMigrateMem,
// hmadvise-style explicit placement) and says how many pages moved. It
// follows Linux's migrate_vma: a hole or PROT_NONE memory in the range is
// ErrDeviceFault naming the address, before anything moves; private
// anonymous pages move whatever their protection (read-only ones stay
// read-only on the device) and whether or not they were ever written; pages
// of mappings that are mirrored, not migrated (shared, file-backed, the
// process's machinery) stay in host memory while the rest moves, and
// are reported by a *svm.LeftInPlaceError (ErrNotSupported) beside the
// count. Prefetch skips such pages silently.
func (d *Device) Migrate(p unsafe.Pointer, length uintptr) (int, error) {
	if err := d.checkOpen("migrate"); err != nil {
		return 0, err
	}
	n, err := d.migrate(p, length)
	if err != nil {
		return n, d.fail("migrate", err)
	}
	return n, nil
}

// migrate is Migrate for queued commands.
func (d *Device) migrate(p unsafe.Pointer, length uintptr) (int, error) {
	m, err := d.migrator()
	if err != nil {
		return 0, err
	}
	return m.Migrate(uintptr(p), length)
}

// Release gives back all of d's memory and keeps d open: every page it
// holds comes home with its data, and later launches fault back what they
// touch (to free device memory between phases of a program without
// closing the device). It waits for the command running now and returns
// how many pages came home. A device without private memory has nothing
// to give back (0, nil).
func (d *Device) Release() (int, error) {
	if err := d.checkOpen("release"); err != nil {
		return 0, err
	}
	r, ok := d.be.(backends.Releaser)
	if !ok {
		if _, hasMemory := d.be.(backends.Migrator); hasMemory {
			return 0, d.fail("release", fmt.Errorf("device cannot give back its memory while open: %w", ErrNotSupported))
		}
		return 0, nil
	}
	n, err := r.Release()
	if err != nil {
		return n, d.fail("release", err)
	}
	return n, nil
}

// MigrateToHost brings every device-resident page of [p, p+length) home
// and says how many pages came.
func MigrateToHost(p unsafe.Pointer, length uintptr) (int, error) {
	return svm.Default().MigrateToHost(uintptr(p), length)
}
