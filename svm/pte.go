package svm

import (
	"unsafe"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// Word accessors for devices' MMUs: the page-state words of the logical
// page table, and device atomics on device-resident pages.

// PTE returns the page-state word of the page holding addr, allocating the
// table leaf when alloc is set (nil when absent and !alloc, or addr is out
// of range). Read it with sync/atomic.
func PTE(addr uintptr, alloc bool) *uint64 { return uffd.PTE(addr, alloc) }

// Page states as stored in a word.
const (
	StateHost      = uffd.StateHost
	StateDevice    = uffd.StateDevice
	StateMigrating = uffd.StateMigrating
	StateZapping   = uffd.StateZapping
	StateReturning = uffd.StateReturning
	StateFilling   = uffd.StateFilling
	StateDup       = uffd.StateDup // read duplicate: device copy + write-protected host page
)

// WordState, WordDevice, WordFrame and WordSeq decode a page-state word.
func WordState(w uint64) int    { return uffd.State(w) }
func WordDevice(w uint64) int   { return uffd.Dev(w) }
func WordFrame(w uint64) uint64 { return uffd.Frame(w) }
func WordSeq(w uint64) uint64   { return uffd.Seq(w) }

// PTEFunc is the page-table walk as a C function pointer (uint64_t
// *(*)(uint64_t addr, int alloc)), for a device's C code.
func PTEFunc() unsafe.Pointer { return uffd.PTEFunc() }

// DeviceAtomicBusy is device id's in-flight atomic counter, for a device's C
// code that runs atomics on device-resident pages: increment it, re-check the
// page word, operate, decrement — the service thread waits for zero after
// claiming a page and before copying it home, so no update is lost.
func DeviceAtomicBusy(id int) *uint64 { return uffd.AtomicBusy(id) }

// DeviceAtomicAdd and DeviceAtomicCAS perform a device's atomic on a word
// of a device-resident page, if the page's state word still equals expect
// (ok is false otherwise: the page moved, translate again). They run in a
// short C section that the fault-service thread waits out before copying a
// page home, so no atomic update is lost when the CPU revokes the device's
// access (see svm_dev_atomic).
func DeviceAtomicAdd(pte *uint64, expect uint64, dev int, wordAddr uintptr, delta uint32) (old uint32, ok bool) {
	return uffd.DeviceAtomicAdd(pte, expect, dev, wordAddr, delta)
}

// DeviceAtomicCAS is the compare-and-swap counterpart of DeviceAtomicAdd.
func DeviceAtomicCAS(pte *uint64, expect uint64, dev int, wordAddr uintptr, old, new uint32) (swapped, ok bool) {
	return uffd.DeviceAtomicCAS(pte, expect, dev, wordAddr, old, new)
}
