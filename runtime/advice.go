package runtime

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/svm"
)

// Memory advice and placement: the Go counterparts of cudaMemAdvise,
// hmadvise, cudaMemPrefetchAsync and clEnqueueSVMMigrateMem. Advice is a
// hint attached to an address range of the process (page granular: ranges
// widen to whole pages); devices that migrate pages (simgpu) act on it
// when they service faults, devices that access host memory directly
// (cpu) ignore it. RangeAttributes reads back what was set.

// Location is where advice says data should live: Host, or a device's
// Location(). Advice is a property of the address range, kept by the
// address space (package svm) and read by every device.
type Location = svm.Location

// Host is the host memory as a location.
const Host Location = svm.LocationHost

// AdviceRange is the advice in force over [Start, End).
type AdviceRange = svm.AdviceRange

// Location is the device as a preferred location. Devices without private
// memory (cpu) work on host memory: their location is Host. A closed
// device has none (its slot goes to the next device opened): advice naming
// it is refused.
func (d *Device) Location() Location {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return svm.LocationNone
	}
	if m, ok := d.be.(backends.Migrator); ok {
		return m.Location()
	}
	return Host
}

// SetPreferredLocation advises that [p, p+n) should live at loc: Host keeps
// the pages in host memory (devices map them remotely instead of migrating
// them); a device's Location makes that device their home.
func SetPreferredLocation(p unsafe.Pointer, n uintptr, loc Location) error {
	return advise(p, n, svm.SetPreferredLocation, loc)
}

// UnsetPreferredLocation removes the preferred location of [p, p+n).
func UnsetPreferredLocation(p unsafe.Pointer, n uintptr) error {
	return advise(p, n, svm.UnsetPreferredLocation, svm.LocationNone)
}

// SetAccessedBy advises that d accesses [p, p+n): d keeps a mapping of the
// host pages and takes no fault for them (with preferred location Host,
// nothing migrates). Devices without private memory need no such advice;
// it is accepted and has no effect for them.
func SetAccessedBy(p unsafe.Pointer, n uintptr, d *Device) error {
	switch loc := d.Location(); loc {
	case Host:
		return nil
	case svm.LocationNone:
		return d.fail("set accessed-by", ErrClosed)
	default:
		return advise(p, n, svm.SetAccessedBy, loc)
	}
}

// UnsetAccessedBy removes d from the accessors of [p, p+n).
func UnsetAccessedBy(p unsafe.Pointer, n uintptr, d *Device) error {
	loc := d.Location()
	if loc == Host || loc == svm.LocationNone {
		return nil // nothing to undo (closing a device removes its advice)
	}
	return advise(p, n, svm.UnsetAccessedBy, loc)
}

// SetReadMostly advises that [p, p+n) is mostly read: a device reading it
// gets a read-only duplicate while the host keeps its pages (with a policy
// that duplicates, such as "uvm"); a write by either side collapses the
// copies.
func SetReadMostly(p unsafe.Pointer, n uintptr) error {
	return advise(p, n, svm.SetReadMostly, svm.LocationNone)
}

// UnsetReadMostly removes the read-mostly advice from [p, p+n).
func UnsetReadMostly(p unsafe.Pointer, n uintptr) error {
	return advise(p, n, svm.UnsetReadMostly, svm.LocationNone)
}

// ClearAdvice removes all advice from [p, p+n).
func ClearAdvice(p unsafe.Pointer, n uintptr) { svm.ClearAdvice(uintptr(p), n) }

// RangeAttributes returns the advice set on [p, p+n): the pieces that carry
// advice, in address order (cudaMemRangeGetAttributes).
func RangeAttributes(p unsafe.Pointer, n uintptr) []AdviceRange {
	return svm.RangeAdvice(uintptr(p), n)
}

func advise(p unsafe.Pointer, n uintptr, kind svm.AdviceKind, loc Location) error {
	if p == nil {
		return fmt.Errorf("runtime: advise %v: nil pointer: %w", kind, ErrInvalidValue)
	}
	if err := svm.Advise(uintptr(p), n, kind, loc); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	return nil
}

// PrefetchAsync queues migrating [p, p+n) to the device (toHost false) or
// to the host (toHost true) ahead of use, in order with the device's other
// commands (cudaMemPrefetchAsync; MigrateMem is the OpenCL name).
func (d *Device) PrefetchAsync(ctx context.Context, p unsafe.Pointer, n uintptr, toHost bool) (*Event, error) {
	if !toHost {
		if _, err := d.migrator(); err != nil {
			return nil, d.fail("prefetch", err)
		}
	}
	return d.enqueue(ctx, "prefetch", func(ctx context.Context) error {
		defer keep(p, nil)
		if toHost {
			_, err := svm.Default().MigrateToHost(uintptr(p), n)
			return err
		}
		return d.prefetch(p, n)
	})
}

// Discard queues discarding the content of the whole pages inside [p, p+n)
// (content no longer needed): device copies are dropped without being
// written back and the pages read as zero afterwards. The memory must hold
// no Go pointers.
func (d *Device) Discard(ctx context.Context, p unsafe.Pointer, n uintptr) (*Event, error) {
	if p == nil {
		return nil, fmt.Errorf("runtime: discard: nil pointer: %w", ErrInvalidValue)
	}
	return d.enqueue(ctx, "discard", func(ctx context.Context) error {
		defer keep(p, nil)
		_, err := svm.Default().Discard(uintptr(p), n)
		return err
	})
}
