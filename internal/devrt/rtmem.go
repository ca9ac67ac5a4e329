package devrt

// #include "sched.h"
import "C"

import (
	"fmt"
	"unsafe"
)

// OffHeap returns a zeroed slice of n Ts in the runtime's own memory
// (rtmem.c): pages that hold nothing else, so writing it never touches a
// page a kernel's data is on — unlike the Go heap, where a buffer the
// runtime rewrites at every fault round may share a page with a kernel's
// output, and each write would pull that page back from the device. T must
// hold no Go pointers (the garbage collector does not look here). Free it
// with FreeOffHeap; it panics if the memory cannot be had, as make does.
func OffHeap[T any](n int) []T {
	var zero T
	size := uint64(max(n, 1)) * uint64(unsafe.Sizeof(zero))
	p := C.dr_alloc(C.uint64_t(size))
	if p == nil {
		panic(fmt.Sprintf("devrt: out of memory for %d bytes of runtime buffers", size))
	}
	return unsafe.Slice((*T)(p), max(n, 1))[:n] // cap >= 1: SliceData is the block's address
}

// FreeOffHeap frees a slice OffHeap returned (any reslice of it that starts
// where it does).
func FreeOffHeap[T any](s []T) {
	C.dr_free(unsafe.Pointer(unsafe.SliceData(s)))
}
