package runtime

import (
	"context"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/svm"
)

// The OpenCL 2.0 SVM memory commands (clEnqueueSVMMemcpy, MemFill, Map,
// Unmap, MigrateMem) for fine-grained system SVM: they take the program's
// own pointers and run in the device's queue, in order with kernels.

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
	if err := svm.CheckHostRange(d.Name(), s, n, false); err != nil {
		return nil, d.fail("memcpy", fmt.Errorf("source: %w", err))
	}
	if err := svm.CheckHostRange(d.Name(), t, n, true); err != nil {
		return nil, d.fail("memcpy", fmt.Errorf("destination: %w", err))
	}
	return d.enqueue(ctx, "memcpy", func(ctx context.Context) error {
		defer keep(dst, src)
		m, err := d.memoryCommands("memcpy")
		if err != nil {
			return err
		}
		return m.Copy(ctx, t, s, n)
	})
}

// Memfill queues filling [dst, dst+n) with pattern repeated. The pattern
// must be 1, 2, 4, ..., 128 bytes, n a multiple of it and dst aligned to
// it; otherwise ErrInvalidValue (CL_INVALID_VALUE) before anything is
// queued.
func (d *Device) Memfill(ctx context.Context, dst unsafe.Pointer, pattern []byte, n uintptr) (*Event, error) {
	t := uintptr(dst)
	if err := svm.CheckFill(t, pattern, n); err != nil {
		return nil, d.fail("memfill", err)
	}
	if err := svm.CheckHostRange(d.Name(), t, n, true); err != nil {
		return nil, d.fail("memfill", err)
	}
	pat := append([]byte(nil), pattern...) // the caller may reuse its slice once we return
	return d.enqueue(ctx, "memfill", func(ctx context.Context) error {
		defer keep(dst, nil)
		m, err := d.memoryCommands("memfill")
		if err != nil {
			return err
		}
		return m.Fill(ctx, t, pat, n)
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
		if h, ok := d.be.(backends.HostSync); ok && err == nil {
			err = h.Map(ctx, uintptr(p), n)
		}
		return err
	})
}

// Unmap queues the end of host access to [p, p+n): a synchronisation point;
// with fine-grained system SVM there is nothing to write back.
func (d *Device) Unmap(ctx context.Context, p unsafe.Pointer, n uintptr) (*Event, error) {
	return d.enqueue(ctx, "unmap", func(ctx context.Context) error {
		defer keep(p, nil)
		if h, ok := d.be.(backends.HostSync); ok {
			return h.Unmap(ctx, uintptr(p), n)
		}
		return nil
	})
}

// MigrateMem queues migrating [p, p+n) to the device (toHost false) or to
// the host (toHost true), as clEnqueueSVMMigrateMem does.
func (d *Device) MigrateMem(ctx context.Context, p unsafe.Pointer, n uintptr, toHost bool) (*Event, error) {
	return d.enqueue(ctx, "migrate", func(ctx context.Context) error {
		defer keep(p, nil)
		if m, ok := d.be.(backends.MemMigrator); ok {
			return m.MigrateMem(ctx, uintptr(p), n, toHost)
		}
		if toHost {
			_, err := svm.Default().MigrateToHost(uintptr(p), n)
			return err
		}
		_, err := d.migrate(p, n)
		return err
	})
}

// keep keeps the objects the pointers point into alive until the command
// has run.
func keep(p, q unsafe.Pointer) {
	runtime.KeepAlive(p)
	runtime.KeepAlive(q)
}

// memoryCommands is the device's copy engine. Every device svmrt ships
// with has one (the host cores' is the host's own loads and stores); a
// backend without one cannot run memory commands.
func (d *Device) memoryCommands(what string) (backends.MemoryCommands, error) {
	m, ok := d.be.(backends.MemoryCommands)
	if !ok {
		return nil, fmt.Errorf("device has no %s command: %w", what, ErrNotSupported)
	}
	return m, nil
}

// MakeExclusive queues giving the device exclusive access to [p, p+n) for
// device atomics (HMM's make_device_exclusive): the pages move into device
// memory, where the device's atomics run locally; the CPU's next touch of a
// page revokes the device's access to it (the page comes home with every
// device update in it), and the device's next access faults it back.
func (d *Device) MakeExclusive(ctx context.Context, p unsafe.Pointer, n uintptr) (*Event, error) {
	if _, err := d.migrator(); err != nil {
		return nil, d.fail("make-exclusive", err)
	}
	return d.enqueue(ctx, "make-exclusive", func(ctx context.Context) error {
		defer keep(p, nil)
		_, err := d.migrate(p, n)
		return err
	})
}
