package simgpu

import (
	"testing"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm"
)

// A CPU fault's sequential window stops at another device's page: each
// device is charged for the CPU faults on its own pages.
//
// Guards against a bug found in review (of the memory policies).
func TestFaultWindowStopsAtDeviceChange(t *testing.T) {
	needUFFD(t)
	a := newDev(t, WithName("A"))
	b := newDev(t, WithName("B"))
	buf := testmem.Aligned(t, 2<<20, 2<<20)
	p := testmem.Addr(buf)
	for i := range buf {
		buf[i] = 1
	}
	if err := a.Prefetch(p, 2*svm.PageSize); err != nil {
		t.Fatal(err)
	}
	if err := b.Prefetch(p+2*svm.PageSize, svm.PageSize); err != nil {
		t.Fatal(err)
	}
	a.space.ResetFaultWindow()
	sum := int(buf[0]) + int(buf[svm.PageSize]) // sequential: the second fault's window would reach B's page
	sum += int(buf[2*svm.PageSize])             // B's page: its own fault
	if sum != 3 {
		t.Fatalf("read %d", sum)
	}
	fa, pa := a.Mem().FaultCounters()
	fb, pb := b.Mem().FaultCounters()
	if pa != 2 || fb != 1 || pb != 1 || fa != 2 {
		t.Fatalf("A: %d faults, %d pages; B: %d faults, %d pages; want 2/2 and 1/1", fa, pa, fb, pb)
	}
}
