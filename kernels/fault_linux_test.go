package kernels

import (
	"errors"
	"syscall"
	"testing"
	"unsafe"
)

// TestHostFaultBecomesError: a host-direct access to memory that is mapped
// PROT_NONE fails the launch with an error naming the address instead of
// crashing the process.
func TestHostFaultBecomesError(t *testing.T) {
	page, err := syscall.Mmap(-1, 0, syscall.Getpagesize(), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(page)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(page))) + 64
	k := &Kernel{
		Name:   "wild",
		Params: []Param{{Name: "p", Kind: PtrF32}},
		Body: func(it *Item, a *Args) {
			if it.GlobalID(0) == 2 {
				_ = it.LoadF32(a.Ptr(0))
			}
		},
	}
	for _, concurrent := range []bool{false, true} {
		err := RunGroup(k, Range1D(4, 4), 0, mustBind(t, k, addr), GroupConfig{Concurrent: concurrent})
		var pe *PanicError
		if !errors.As(err, &pe) || !pe.Fault || pe.Addr != addr || pe.GlobalID != [3]int{2, 0, 0} {
			t.Fatalf("concurrent=%v: got %v (%+v)", concurrent, err, pe)
		}
		t.Logf("concurrent=%v: %v", concurrent, err)
	}
}
