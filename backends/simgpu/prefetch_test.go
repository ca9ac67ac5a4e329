package simgpu

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Prefetch goes through the chunk accounting: what it brings in can be
// evicted by a later launch, and a prefetch larger than the device evicts
// its own first blocks instead of failing.
//
// Guards against a bug found in review (of the memory policies).
func TestPrefetchedPagesAreEvictable(t *testing.T) {
	needUFFD(t)
	d := newDev(t, WithVRAM(4<<20)) // two chunks
	a := make([]float32, 1<<20)     // 4 MiB
	for i := range a {
		a[i] = 1
	}
	ap := uintptr(unsafe.Pointer(&a[0]))
	if err := d.Prefetch(ap, uintptr(len(a)*4)); err != nil {
		t.Fatal(err)
	}
	if len(d.ms.chunks) == 0 {
		t.Fatal("prefetched pages belong to no chunk")
	}
	n := 256 << 10
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = 1, 2
	}
	s0 := countersOf(d)
	if err := run(t, d, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(2), int32(n)); err != nil {
		t.Fatal(err)
	}
	s1 := countersOf(d)
	if got := s1.PagesH2D - s0.PagesH2D; got < int64(2*n*4/svm.PageSize) || s1.RemoteAccesses != s0.RemoteAccesses {
		t.Errorf("after a device-filling prefetch, saxpy migrated %d of %d pages and made %d remote accesses: the prefetched chunks were not evictable",
			got, 2*n*4/svm.PageSize, s1.RemoteAccesses-s0.RemoteAccesses)
	}
	if s1.Evictions == 0 {
		t.Errorf("4 MiB prefetch plus 2 MiB of saxpy on a 4 MiB device evicted nothing")
	}
	for i := range y {
		if y[i] != 4 {
			t.Fatalf("y[%d] = %v", i, y[i])
		}
	}
	big := make([]float32, 3<<19) // 6 MiB > 4 MiB
	for i := range big {
		big[i] = float32(i)
	}
	if err := d.Prefetch(uintptr(unsafe.Pointer(&big[0])), uintptr(len(big)*4)); err != nil {
		t.Fatalf("prefetch larger than the device on an evicting policy: %v", err)
	}
	for i := range big {
		if big[i] != float32(i) {
			t.Fatalf("big[%d] = %v", i, big[i])
		}
	}
	// Without eviction it is still an error that says so.
	noEvict, _ := PolicyByName("no-evict")
	e := newDev(t, WithVRAM(1<<20), WithPolicy(noEvict))
	if err := e.Prefetch(uintptr(unsafe.Pointer(&big[0])), uintptr(len(big)*4)); !errors.Is(err, svm.ErrOutOfDeviceMemory) {
		t.Fatalf("no-evict prefetch of 6 MiB into 1 MiB: %v, want ErrOutOfDeviceMemory", err)
	}
}
