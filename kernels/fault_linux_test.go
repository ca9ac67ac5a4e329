package kernels

import (
	"errors"
	"syscall"
	"testing"

	"github.com/svmrt/svmrt/internal/testmem"
)

// TestHostFaultBecomesError: a host-direct access to memory that is mapped
// PROT_NONE fails the launch with an error naming the address instead of
// crashing the process.
func TestHostFaultBecomesError(t *testing.T) {
	addr := testmem.Addr(testmem.Pages(t, 1, syscall.PROT_NONE)) + 64
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
