package cpu

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// The host cores as a backend: registration, the contract's required
// methods, and the checks and memory commands of a device that dereferences
// the program's pointers itself.

func init() {
	backends.Register(backends.Driver{Name: "cpu", Order: 10, Open: openDriver})
}

// openDriver opens the cpu device from the runtime's options.
func openDriver(index int, cfg backends.Config) (backends.Backend, error) {
	if index != 0 {
		return nil, fmt.Errorf("%w cpu:%d: the host is one device, cpu:0", backends.ErrUnknownDevice, index)
	}
	var opts []Option
	if cfg.Workers > 0 {
		opts = append(opts, WithWorkers(cfg.Workers))
	}
	if cfg.GoBodies {
		opts = append(opts, WithGoBodies())
	}
	if cfg.NoFastPaths {
		opts = append(opts, WithoutFastPaths())
	}
	for _, o := range cfg.Options {
		if co, ok := o.(Option); ok {
			opts = append(opts, co)
		}
	}
	return New(opts...), nil
}

// Backend says that this option is the cpu device's (backends.Option).
func (Option) Backend() string { return "cpu" }

var (
	_ backends.Backend        = (*Device)(nil)
	_ backends.ArgChecker     = (*Device)(nil)
	_ backends.MemoryCommands = (*Device)(nil)
	_ backends.Option         = Option(nil)
)

// Info says what the device is: the host CPU, coherent with itself.
func (d *Device) Info() backends.Info {
	ci := d.info
	return backends.Info{
		Name: d.Name(),
		Caps: svm.Caps{Coherent: true, PageSize: svm.PageSize},
		Description: fmt.Sprintf("%s: %d cores / %d threads, L1d %d KiB, L2 %d KiB, L3 %d KiB, %s",
			ci.Name, ci.Cores, ci.Threads, ci.L1D>>10, ci.L2>>10, ci.L3>>10, ci.SIMD),
	}
}

// Stats returns the device's counters in the runtime's terms (nothing
// migrates on the host: the page counters stay zero).
func (d *Device) Stats() backends.Stats {
	return backends.Stats{
		Launches:         int64(d.launches.Load()),
		CompiledLaunches: int64(d.compiledLaunches.Load()),
		FastPathLaunches: int64(d.fastLaunches.Load()),
		HostTime:         time.Duration(d.hostNs.Load()),
	}
}

// CheckArgs checks the memory each pointer argument names before the launch
// is queued. The device dereferences the program's pointers itself, so
// what they name must be host memory it may touch: mapped, readable,
// writable when the kernel may write it, and not device memory (a
// simulated GPU's arena holds pages whose truth is on that device). NULL
// is a valid argument; a kernel that follows it faults.
func (d *Device) CheckArgs(k *kernels.Kernel, a *kernels.Args) error {
	for i, p := range k.Params {
		r := a.Ranges[i]
		if !p.Kind.IsPointer() || r.Start == 0 {
			continue
		}
		if err := svm.CheckHostRange(d.Name(), r.Start, max(r.Len, 1), r.Written); err != nil {
			return fmt.Errorf("argument %d (%s): %w", i, p.Name, err)
		}
	}
	return nil
}

// launchFault turns a memory fault a kernel took on the host into the
// error a mirroring device reports for the same access: ErrDeviceFault for
// unmapped and PROT_NONE memory, ErrPermission for a write to read-only
// memory, both naming the address; the *kernels.PanicError (work-item,
// stack) stays in the chain.
//
// A Go body's NULL dereference is a fault too: the Go runtime reports it as
// a "nil pointer dereference" without the address (somewhere in the first
// page), which becomes ErrDeviceFault at address 0, as the other devices
// report a NULL access.
func (d *Device) launchFault(err error) error {
	var pe *kernels.PanicError
	if !errors.As(err, &pe) {
		return err
	}
	if !pe.Fault {
		if re, ok := pe.Value.(runtime.Error); ok && strings.Contains(re.Error(), "nil pointer dereference") {
			fe := &svm.FaultError{Device: d.Name(), Addr: 0, Reason: "NULL pointer dereference", Err: svm.ErrDeviceFault}
			return fmt.Errorf("%w (%w)", fe, err)
		}
		return err
	}
	return fmt.Errorf("%w (%w)", svm.ClassifyHostFault(d.Name(), pe.Addr), err)
}

// Copy copies n bytes from src to dst with the host's own loads and stores.
// Both ranges are checked against the mappings as they are now before
// anything is touched; a fault the check could not foresee (a concurrent
// munmap) is the error a mirroring device reports.
func (d *Device) Copy(ctx context.Context, dst, src, n uintptr) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := svm.CheckHostRange(d.Name(), src, n, false); err != nil {
		return err
	}
	if err := svm.CheckHostRange(d.Name(), dst, n, true); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer d.memoryFault(&err)
	copy(unsafe.Slice((*byte)(ptrOf(dst)), n), unsafe.Slice((*byte)(ptrOf(src)), n))
	return nil
}

// Fill fills [dst, dst+n) with pattern repeated (the caller checked that n
// is a multiple of it: svm.CheckFill).
func (d *Device) Fill(ctx context.Context, dst uintptr, pattern []byte, n uintptr) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := svm.CheckHostRange(d.Name(), dst, n, true); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer d.memoryFault(&err)
	b := unsafe.Slice((*byte)(ptrOf(dst)), n)
	for i := 0; i < len(b); i += len(pattern) {
		copy(b[i:], pattern)
	}
	return nil
}

// memoryFault recovers the fault of a memory command into *err.
func (d *Device) memoryFault(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if f, ok := r.(interface{ Addr() uintptr }); ok {
		*err = svm.ClassifyHostFault(d.Name(), f.Addr())
		return
	}
	if re, ok := r.(runtime.Error); ok {
		*err = fmt.Errorf("cpu: memory command: %v: %w", re, svm.ErrDeviceFault)
		return
	}
	panic(r)
}

// ptrOf converts an address to a pointer (one place, outside vet's
// unsafeptr pattern: the memory is the program's, kept alive by the caller).
func ptrOf(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }
