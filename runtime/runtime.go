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
// aligned to its size. The simulated GPU checks and reports them as
// ErrDeviceFault naming the address, as a GPU's memory system would; the
// cpu and opencl devices execute them as the host processor does. Portable
// kernels keep their accesses aligned.
//
// Pointers a kernel reaches by indexing past the memory an argument names,
// or by following pointers it loads, cannot be checked in advance: cpu and
// simgpu catch the fault and fail the launch; an OpenCL device may crash
// the process, as any OpenCL program would.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends/cpu"
	"github.com/svmrt/svmrt/backends/opencl"
	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Errors to match with errors.Is.
var (
	ErrDeviceFault       = svm.ErrDeviceFault       // an access to an unusable address (the error names it)
	ErrPermission        = svm.ErrPermission        // a device write to read-only memory
	ErrOutOfDeviceMemory = svm.ErrOutOfDeviceMemory // device memory exhausted
	ErrNotSupported      = svm.ErrNotSupported      // capability missing (userfaultfd, backend, ...)
	ErrInvalidValue      = svm.ErrInvalidValue      // bad argument: overlapping copy, bad fill pattern
	ErrUnknownDevice     = errors.New("unknown device")
	ErrClosed            = svm.ErrClosed // commands on a closed device, a second Close
)

// Stats are a device's counters (see svm.Stats).
type Stats = svm.Stats

// PageInfo and PageState describe pages in a Snapshot.
type (
	PageInfo  = svm.PageInfo
	PageState = svm.PageState
)

// backend is what every backend package provides.
type backend interface {
	Name() string
	Launch(ctx context.Context, k *kernels.Kernel, nd kernels.NDRange, a *kernels.Args) error
	Stats() svm.Stats
	Close() error
}

type config struct {
	goBodies bool
	noFast   bool
	vram     int64
	pcieGen  int
	workers  int
	cost     *simgpu.CostModel
	progress func(Progress)
	simgpu   []simgpu.Option
	opencl   []opencl.Option
}

// WithOpenCLOptions passes backend options straight to an OpenCL device
// (for example opencl.WithMode(opencl.ModeBuffer)).
func WithOpenCLOptions(opts ...opencl.Option) Option {
	return func(c *config) { c.opencl = append(c.opencl, opts...) }
}

// WithSimGPUOptions passes backend options straight to a simulated GPU.
func WithSimGPUOptions(opts ...simgpu.Option) Option {
	return func(c *config) { c.simgpu = append(c.simgpu, opts...) }
}

// Progress reports how far a long launch has got (simulated devices report
// after every wave of work-groups).
type Progress = simgpu.Progress

// WithProgress calls fn as launches progress (see Progress).
func WithProgress(fn func(Progress)) Option { return func(c *config) { c.progress = fn } }

// Option configures Open.
type Option func(*config)

// WithVRAM sets a simulated GPU's memory size in bytes.
func WithVRAM(bytes int64) Option { return func(c *config) { c.vram = bytes } }

// WithPCIeGen sets a simulated GPU's link generation (3, 4 or 5).
func WithPCIeGen(gen int) Option { return func(c *config) { c.pcieGen = gen } }

// WithCostModel replaces a simulated GPU's cost model.
func WithCostModel(m simgpu.CostModel) Option { return func(c *config) { c.cost = &m } }

// WithGoBodies makes cpu and simgpu run the Go Body of kernels that have
// one instead of compiling their OpenCL C source (to cross-check the two:
// see kernels/kerneltest). opencl always runs the source.
func WithGoBodies() Option { return func(c *config) { c.goBodies = true } }

// WithoutFastPaths makes the cpu device skip kernels' hand-written HostFast
// paths (MulMat's sgemm), so every launch runs the kernel itself.
func WithoutFastPaths() Option { return func(c *config) { c.noFast = true } }

// WithWorkers sets the number of host goroutines the cpu device uses.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// DeviceNames lists the device kinds Open accepts here: "cpu", "simgpu",
// and "opencl" (the first OpenCL device; "opencl:N" opens the N-th) when an
// OpenCL platform with a device is installed. OpenCLUnavailable says why
// it is not.
//
// Asking loads the OpenCL implementation (PoCL and LLVM: tens of MiB, a
// few threads, and LLVM's crash handlers for the ~35 ms of its first
// enumeration, see the opencl package doc); a program that only opens
// "cpu" or "simgpu" never loads it.
func DeviceNames() []string {
	names := []string{"cpu", "simgpu"}
	if OpenCLUnavailable() == nil {
		names = append(names, "opencl")
	}
	return names
}

// OpenCLUnavailable is nil when OpenCL devices can be opened here, else why
// not (an error wrapping opencl.ErrUnavailable: no ICD loader, no platform,
// no device).
func OpenCLUnavailable() error {
	_, err := opencl.Devices()
	return err
}

// Device is an open device with an in-order launch queue.
type Device struct {
	be   backend
	kind string

	mu     sync.Mutex // protects queue and closed
	queue  chan *Event
	closed bool
	wg     sync.WaitGroup

	// kernelRunning is set while the queue worker runs a kernel launch: a
	// Wait from inside a kernel body on this device would wait for itself.
	kernelRunning atomic.Bool
}

// Open opens a device by name: "cpu", "simgpu", "opencl" or "opencl:N".
// Opening an OpenCL device where OpenCL is unavailable is an error wrapping
// both ErrNotSupported and opencl.ErrUnavailable, with the reason.
func Open(name string, opts ...Option) (*Device, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	var be backend
	lname := strings.ToLower(name)
	if idx, ok := openCLIndex(lname); ok {
		d, err := opencl.Open(idx, c.opencl...)
		if err != nil {
			if errors.Is(err, opencl.ErrUnavailable) {
				return nil, fmt.Errorf("runtime: open %s: %w: %w", name, ErrNotSupported, err)
			}
			if errors.Is(err, opencl.ErrNoDevice) {
				return nil, fmt.Errorf("runtime: open %s: %w: %w", name, ErrUnknownDevice, err)
			}
			return nil, fmt.Errorf("runtime: open %s: %w", name, err)
		}
		return start(d, lname), nil
	}
	switch lname {
	case "cpu":
		var co []cpu.Option
		if c.workers > 0 {
			co = append(co, cpu.WithWorkers(c.workers))
		}
		if c.goBodies {
			co = append(co, cpu.WithGoBodies())
		}
		if c.noFast {
			co = append(co, cpu.WithoutFastPaths())
		}
		be = cpuBackend{cpu.New(co...)}
	case "simgpu", "simgpu:0":
		var so []simgpu.Option
		if c.cost != nil {
			so = append(so, simgpu.WithCostModel(*c.cost))
		}
		if c.vram > 0 {
			so = append(so, simgpu.WithVRAM(c.vram))
		}
		if c.pcieGen > 0 {
			so = append(so, simgpu.WithPCIeGen(c.pcieGen))
		}
		if c.progress != nil {
			so = append(so, simgpu.WithProgress(c.progress))
		}
		if c.goBodies {
			so = append(so, simgpu.WithGoBodies())
		}
		so = append(so, c.simgpu...)
		d, err := simgpu.New(so...)
		if err != nil {
			return nil, fmt.Errorf("runtime: open simgpu: %w", err)
		}
		be = d
	default:
		names := DeviceNames()
		sort.Strings(names)
		return nil, fmt.Errorf("runtime: %w %q (known: %s)", ErrUnknownDevice, name, strings.Join(names, ", "))
	}
	return start(be, lname), nil
}

// start wraps a backend in a Device with its queue worker.
func start(be backend, kind string) *Device {
	d := &Device{be: be, kind: kind, queue: make(chan *Event, 64)}
	d.wg.Add(1)
	go d.worker()
	return d
}

// openCLIndex parses "opencl" (device 0) and "opencl:N".
func openCLIndex(name string) (int, bool) {
	if name == "opencl" {
		return 0, true
	}
	rest, ok := strings.CutPrefix(name, "opencl:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// Name is the device's name.
func (d *Device) Name() string { return d.be.Name() }

// Info describes a device.
type Info struct {
	Name        string
	Caps        svm.Caps
	Description string
}

// Info says what the device is and what it can do.
func (d *Device) Info() Info {
	switch be := d.be.(type) {
	case cpuBackend:
		ci := be.Device.Info()
		return Info{Name: be.Name(), Caps: svm.Caps{Coherent: true, PageSize: svm.PageSize},
			Description: fmt.Sprintf("%s: %d cores / %d threads, L1d %d KiB, L2 %d KiB, L3 %d KiB, %s",
				ci.Name, ci.Cores, ci.Threads, ci.L1D>>10, ci.L2>>10, ci.L3>>10, ci.SIMD)}
	case *simgpu.Device:
		return Info{Name: be.Name(), Caps: be.Caps(), Description: be.Describe()}
	case *opencl.Device:
		return Info{Name: be.Name(), Caps: be.Caps(), Description: be.Describe()}
	}
	return Info{Name: d.be.Name()}
}

// Backend returns the backend device (*simgpu.Device, *cpu.Device,
// *opencl.Device) for
// backend-specific queries.
func (d *Device) Backend() any {
	if c, ok := d.be.(cpuBackend); ok {
		return c.Device
	}
	return d.be
}

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
// before the kernel touches it (svm.Maps.CheckRange; on cpu at Launch, on
// the other devices by the device): a slice over unmapped, PROT_NONE or
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
		return nil, fmt.Errorf("runtime: launch %s: %w", k.Name, err)
	}
	a, err := kernels.Bind(k, args...)
	if err != nil {
		return nil, fmt.Errorf("runtime: launch %s: %w", k.Name, err)
	}
	if _, direct := d.be.(cpuBackend); direct {
		// The cpu device dereferences the program's pointers itself: what
		// they name is checked here (device memory above all: a simulated
		// GPU's arena holds pages whose truth is on that device). Mirroring
		// devices check each access against the mappings themselves, and
		// OpenCL devices check before they enqueue.
		for i, p := range k.Params {
			r := a.Ranges[i]
			if !p.Kind.IsPointer() || r.Start == 0 {
				continue // NULL is a valid argument; a kernel that follows it faults
			}
			if err := checkRange(d.Name(), r.Start, max(r.Len, 1), r.Written); err != nil {
				return nil, fmt.Errorf("runtime: launch %s: argument %d (%s): %w", k.Name, i, p.Name, err)
			}
		}
	}
	return d.enqueueKind(ctx, k.Name, true, func(ctx context.Context) error {
		err := d.be.Launch(ctx, k, nd, a)
		runtime.KeepAlive(a) // the launch used the memory a's values name
		return err
	})
}

// checkRange checks [p, p+n) for device dev (see svm.Maps.CheckRange)
// against the cached mappings and, when they find a problem, against fresh
// ones (mprotect has no event: the cache may be behind).
func checkRange(dev string, p, n uintptr, write bool) error {
	s := svm.Default()
	m, err := s.Maps(false)
	if err != nil {
		return err
	}
	if m.CheckRange(dev, p, n, write) == nil {
		return nil
	}
	if m, err = s.Maps(true); err != nil {
		return err
	}
	return m.CheckRange(dev, p, n, write)
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
		return nil, fmt.Errorf("runtime: %s on %s: %w", what, d.Name(), ErrClosed)
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
			d.kernelRunning.Store(ev.kernel)
			err := ev.run(ev.ctx)
			d.kernelRunning.Store(false)
			if err != nil {
				ev.err = fmt.Errorf("runtime: %s on %s: %w", ev.what, d.be.Name(), hostFault(d.be.Name(), err))
			}
		}
		ev.run = nil // nothing of the command is needed any more
		close(ev.done)
	}
}

// Stats returns the device's counters.
func (d *Device) Stats() Stats { return d.be.Stats() }

// Close waits for queued launches, brings every page the device holds home
// and releases everything Open took. A second Close is an error wrapping
// ErrClosed, as is every command on a closed device.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return fmt.Errorf("runtime: close %s: %w", d.Name(), ErrClosed)
	}
	d.closed = true
	close(d.queue)
	d.mu.Unlock()
	d.wg.Wait()
	return d.be.Close()
}

// slot is the device's owner id in the page table (0 for devices without
// private memory).
func (d *Device) slot() int {
	if g, ok := d.be.(*simgpu.Device); ok {
		return g.Mem().ID()
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
		return fmt.Errorf("runtime: %s on %s: %w", what, d.Name(), ErrClosed)
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
	return d.prefetch(p, length)
}

// prefetch is Prefetch for queued commands (they run even while Close
// drains the queue).
func (d *Device) prefetch(p unsafe.Pointer, length uintptr) error {
	g, ok := d.be.(*simgpu.Device)
	if !ok {
		return fmt.Errorf("runtime: prefetch on %s: device has no private memory: %w", d.Name(), ErrNotSupported)
	}
	return g.Prefetch(uintptr(p), length)
}

// Migrate moves [p, p+length) into d's memory now (clEnqueueSVMMigrateMem,
// hmadvise-style explicit placement). Unlike Prefetch it refuses ranges that
// cannot migrate — shared or file-backed mappings — with ErrNotSupported
// naming the mapping.
func (d *Device) Migrate(p unsafe.Pointer, length uintptr) error {
	if err := d.checkOpen("migrate"); err != nil {
		return err
	}
	return d.migrate(p, length)
}

// migrate is Migrate for queued commands.
func (d *Device) migrate(p unsafe.Pointer, length uintptr) error {
	g, ok := d.be.(*simgpu.Device)
	if !ok {
		return fmt.Errorf("runtime: migrate on %s: device has no private memory: %w", d.Name(), ErrNotSupported)
	}
	return g.Migrate(uintptr(p), length)
}

// MigrateToHost brings every device-resident page of [p, p+length) home.
func MigrateToHost(p unsafe.Pointer, length uintptr) (int, error) {
	return svm.Default().MigrateToHost(uintptr(p), length)
}

// hostFault turns a memory fault taken by a host-direct kernel access (the
// cpu device dereferences the program's pointers itself) into the same
// errors a mirroring device reports: ErrDeviceFault for unmapped and
// PROT_NONE memory, ErrPermission for a write to read-only memory.
//
// A Go body's NULL dereference is a fault too: the Go runtime reports it as
// a "nil pointer dereference" runtime error without the address (somewhere
// in the first page), which becomes ErrDeviceFault at address 0, as the
// other devices report a NULL access.
func hostFault(dev string, err error) error {
	var pe *kernels.PanicError
	if !errors.As(err, &pe) {
		return err
	}
	if !pe.Fault {
		if re, ok := pe.Value.(runtime.Error); ok && strings.Contains(re.Error(), "nil pointer dereference") {
			return fmt.Errorf("%w (%v)", &svm.FaultError{Device: dev, Addr: 0, Reason: "NULL pointer dereference", Err: ErrDeviceFault}, pe)
		}
		return err
	}
	return fmt.Errorf("%w (%v)", classifyHostFault(dev, pe.Addr), pe)
}

// classifyHostFault names a memory fault the host took at addr on behalf of
// device dev, by the mapping there now.
func classifyHostFault(dev string, addr uintptr) *svm.FaultError {
	fe := &svm.FaultError{Device: dev, Addr: addr, Err: ErrDeviceFault}
	// Fresh mappings: mprotect has no event, the cached copy may be stale.
	var v svm.VMA
	ok := false
	maps, rerr := svm.Default().Maps(true)
	if rerr == nil {
		v, ok = maps.Find(addr)
	}
	switch {
	case rerr != nil || !ok:
		fe.Reason = "address not mapped"
	case !v.Read:
		fe.Reason = "mapping is PROT_NONE"
	case !v.Write:
		fe.Write, fe.Reason, fe.Err = true, "mapping is read-only", ErrPermission
	default:
		fe.Reason = "memory fault in " + v.Kind.String() + " mapping"
	}
	return fe
}

// cpuBackend adapts the cpu device's statistics to svm.Stats.
type cpuBackend struct{ *cpu.Device }

func (c cpuBackend) Stats() svm.Stats {
	s := c.Device.Stats()
	return svm.Stats{Launches: int64(s.Launches), HostTime: time.Duration(s.HostNs)}
}
