package runtime

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"unsafe"

	"github.com/svmrt/svmrt/backends/opencl"
	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/svm"
)

// The OpenCL 2.0 SVM memory commands (clEnqueueSVMMemcpy, MemFill, Map,
// Unmap, MigrateMem) for fine-grained system SVM: they take the program's
// own pointers and run in the device's queue, in order with kernels.

// deviceMemops is what a backend that makes the copies and fills itself
// provides (simgpu's copy engine, OpenCL's clEnqueueSVMMemcpy/MemFill); on
// the others (cpu) the host makes them.
type deviceMemops interface {
	Copy(ctx context.Context, dst, src, n uintptr) error
	Fill(ctx context.Context, dst uintptr, pattern []byte, n uintptr) error
}

var (
	_ deviceMemops = (*simgpu.Device)(nil)
	_ deviceMemops = (*opencl.Device)(nil)
)

// Memcpy queues a copy of n bytes from src to dst made by the device.
// Overlapping regions are ErrInvalidValue (CL_MEM_COPY_OVERLAP). Both
// ranges are checked against the address space at once and again when the
// copy runs (svm.Maps.CheckRange): a count beyond the mappings fails
// with ErrDeviceFault naming the first bad address, before anything is
// touched.
func (d *Device) Memcpy(ctx context.Context, dst, src unsafe.Pointer, n uintptr) (*Event, error) {
	s, t := uintptr(src), uintptr(dst)
	if n > 0 && t < s+n && s < t+n {
		return nil, fmt.Errorf("runtime: memcpy %#x..%#x to %#x..%#x: regions overlap: %w", s, s+n, t, t+n, ErrInvalidValue)
	}
	if err := checkRange(d.Name(), s, n, false); err != nil {
		return nil, fmt.Errorf("runtime: memcpy source: %w", err)
	}
	if err := checkRange(d.Name(), t, n, true); err != nil {
		return nil, fmt.Errorf("runtime: memcpy destination: %w", err)
	}
	return d.enqueue(ctx, "memcpy", func(ctx context.Context) error {
		defer keep(dst, src)
		if m, ok := d.be.(deviceMemops); ok {
			return m.Copy(ctx, t, s, n)
		}
		return hostCopy(t, s, n)
	})
}

// Memfill queues filling [dst, dst+n) with pattern repeated. The pattern
// must be 1, 2, 4, ..., 128 bytes, n a multiple of it and dst aligned to
// it; otherwise ErrInvalidValue (CL_INVALID_VALUE) before anything is
// queued.
func (d *Device) Memfill(ctx context.Context, dst unsafe.Pointer, pattern []byte, n uintptr) (*Event, error) {
	t := uintptr(dst)
	if err := svm.CheckFill(t, pattern, n); err != nil {
		return nil, fmt.Errorf("runtime: memfill: %w", err)
	}
	if err := checkRange(d.Name(), t, n, true); err != nil {
		return nil, fmt.Errorf("runtime: memfill: %w", err)
	}
	pat := append([]byte(nil), pattern...) // the caller may reuse its slice once we return
	return d.enqueue(ctx, "memfill", func(ctx context.Context) error {
		defer keep(dst, nil)
		if m, ok := d.be.(deviceMemops); ok {
			return m.Fill(ctx, t, pat, n)
		}
		return hostFill(t, pat, n)
	})
}

// Map queues making [p, p+n) ready for host access: pages on a device come
// home now, so the host's accesses take no fault. With fine-grained system
// SVM the host may access memory at any time; Map is an optimisation and a
// synchronisation point, as clEnqueueSVMMap is.
func (d *Device) Map(ctx context.Context, p unsafe.Pointer, n uintptr) (*Event, error) {
	return d.enqueue(ctx, "map", func(ctx context.Context) error {
		defer keep(p, nil)
		_, err := svm.Default().MigrateToHost(uintptr(p), n)
		if o, ok := d.be.(*opencl.Device); ok && err == nil {
			err = o.Map(ctx, uintptr(p), n)
		}
		return err
	})
}

// Unmap queues the end of host access to [p, p+n): a synchronisation point;
// with fine-grained system SVM there is nothing to write back.
func (d *Device) Unmap(ctx context.Context, p unsafe.Pointer, n uintptr) (*Event, error) {
	return d.enqueue(ctx, "unmap", func(ctx context.Context) error {
		defer keep(p, nil)
		if o, ok := d.be.(*opencl.Device); ok {
			return o.Unmap(ctx, uintptr(p), n)
		}
		return nil
	})
}

// MigrateMem queues migrating [p, p+n) to the device (toHost false) or to
// the host (toHost true), as clEnqueueSVMMigrateMem does.
func (d *Device) MigrateMem(ctx context.Context, p unsafe.Pointer, n uintptr, toHost bool) (*Event, error) {
	return d.enqueue(ctx, "migrate", func(ctx context.Context) error {
		defer keep(p, nil)
		if o, ok := d.be.(*opencl.Device); ok {
			// clEnqueueSVMMigrateMem: pages on another (simulated) device
			// come home first, so the OpenCL device can reach them.
			if _, err := svm.Default().MigrateToHost(uintptr(p), n); err != nil {
				return err
			}
			return o.MigrateMem(ctx, uintptr(p), n, toHost)
		}
		if toHost {
			_, err := svm.Default().MigrateToHost(uintptr(p), n)
			return err
		}
		return d.migrate(p, n)
	})
}

// keep keeps the objects the pointers point into alive until the command
// has run.
func keep(p, q unsafe.Pointer) {
	runtime.KeepAlive(p)
	runtime.KeepAlive(q)
}

// hostCopy and hostFill are the cpu device's memory commands: plain memory
// operations, with a bad address reported as the same error a mirroring
// device reports (see classifyHostFault).
func hostCopy(dst, src, n uintptr) (err error) {
	if err := checkHostRange(src, n, false); err != nil {
		return err
	}
	if err := checkHostRange(dst, n, true); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer hostRecover(&err)
	copy(unsafe.Slice((*byte)(ptrOf(dst)), n), unsafe.Slice((*byte)(ptrOf(src)), n))
	return nil
}

func hostFill(dst uintptr, pattern []byte, n uintptr) (err error) {
	if err := checkHostRange(dst, n, true); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer hostRecover(&err)
	b := unsafe.Slice((*byte)(ptrOf(dst)), n)
	for i := 0; i < len(b); i += len(pattern) {
		copy(b[i:], pattern)
	}
	return nil
}

// checkHostRange checks a host memory command's range against the mappings
// as they are now, before anything is touched: NULL, holes, PROT_NONE,
// read-only for a write, and device memory (a simulated GPU's arena holds
// pages whose truth is on the device: a host write there would corrupt
// them silently) are refused with the error a mirroring device gives.
func checkHostRange(p, n uintptr, write bool) error {
	if n == 0 {
		return nil
	}
	m, err := svm.Default().Maps(true)
	if err != nil {
		return err
	}
	return m.CheckRange("cpu", p, n, write)
}

func hostRecover(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if f, ok := r.(interface{ Addr() uintptr }); ok {
		*err = classifyHostFault("cpu", f.Addr())
		return
	}
	if re, ok := r.(runtime.Error); ok {
		*err = fmt.Errorf("runtime: host memory command: %v: %w", re, ErrDeviceFault)
		return
	}
	panic(r)
}

// ptrOf converts an address to a pointer (one place, outside vet's
// unsafeptr pattern: the memory is the program's, kept alive by the caller).
func ptrOf(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

// MakeExclusive queues giving the device exclusive access to [p, p+n) for
// device atomics (HMM's make_device_exclusive): the pages move into device
// memory, where the device's atomics run locally; the CPU's next touch of a
// page revokes the device's access to it (the page comes home with every
// device update in it), and the device's next access faults it back.
func (d *Device) MakeExclusive(ctx context.Context, p unsafe.Pointer, n uintptr) (*Event, error) {
	if _, ok := d.be.(*simgpu.Device); !ok {
		return nil, fmt.Errorf("runtime: exclusive access on %s: device has no private memory: %w", d.Name(), ErrNotSupported)
	}
	return d.enqueue(ctx, "make-exclusive", func(ctx context.Context) error {
		defer keep(p, nil)
		return d.migrate(p, n)
	})
}
