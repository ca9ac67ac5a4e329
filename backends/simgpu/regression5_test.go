package simgpu

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Regression tests for the review of the memory policies (issue 5).

// Prefetch goes through the chunk accounting: what it brings in can be
// evicted by a later launch, and a prefetch larger than the device evicts
// its own first blocks instead of failing.
func TestRegression5PrefetchedPagesAreEvictable(t *testing.T) {
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

// A copy between two VA blocks on a one-chunk device does not evict on
// every access: the chunk the operation uses stays, the other side is
// accessed remotely.
func TestRegression5CopyOnOneChunkDoesNotPingPong(t *testing.T) {
	needUFFD(t)
	d := newDev(t, WithVRAM(2<<20))
	buf := make([]byte, 8<<20)
	base := uintptr(unsafe.Pointer(&buf[0]))
	off := int((2<<20 - base%(2<<20)) % (2 << 20))
	src := buf[off : off+64<<10]
	dst := buf[off+2<<20 : off+2<<20+64<<10]
	for i := range src {
		src[i] = byte(i * 3)
	}
	if err := d.Copy(context.Background(), uintptr(unsafe.Pointer(&dst[0])), uintptr(unsafe.Pointer(&src[0])), uintptr(len(src))); err != nil {
		t.Fatal(err)
	}
	s := countersOf(d)
	if s.Evictions > 1 || s.DeviceFaults > 4 {
		t.Errorf("64 KiB copy on a one-chunk device: %d evictions, %d faults (ping-pong)", s.Evictions, s.DeviceFaults)
	}
	for i := range src {
		if dst[i] != src[i] {
			t.Fatalf("dst[%d] = %d, want %d", i, dst[i], src[i])
		}
	}
}

// Evicting a chunk that holds only read duplicates counts as an eviction
// (nothing is written back).
func TestRegression5DuplicateOnlyEvictionCounted(t *testing.T) {
	needUFFD(t)
	uvm, _ := PolicyByName("uvm")
	// Two chunks: one for the block of out and idx, one that the blocks of
	// src take turns in.
	d := newDev(t, WithPolicy(uvm), WithVRAM(4<<20))
	src := alignedF32(t, 2<<20) // 8 MiB: four blocks
	for i := range src {
		src[i] = float32(i)
	}
	sp, sn := uintptr(unsafe.Pointer(&src[0])), uintptr(len(src)*4)
	if err := svm.Advise(sp, sn, svm.SetReadMostly, svm.LocationNone); err != nil {
		t.Fatal(err)
	}
	defer svm.ClearAdvice(sp, sn)
	// out and idx on the first two pages of a 2 MiB block of their own:
	// on the Go heap, where the allocator put them (beside src's blocks or
	// not, next to each other or not) decided what competed for the chunks
	// and how many pages were written back, and the bound below held only
	// sometimes.
	block := alignedF32(t, 2*1024)
	out := block[:1]
	idx := unsafe.Slice((*uint32)(unsafe.Pointer(&block[1024])), 1)
	for k := 0; k < 4; k++ { // one read per block, one block per launch
		idx[0] = uint32(k * (1 << 19))
		gatherOnce(t, d, out, src, idx)
	}
	s := countersOf(d)
	// out's and idx's pages (migrated: they are not read-mostly) may be
	// written back with their chunk; the duplicates never are.
	if s.Duplicates < 4 || s.Evictions < 3 || s.PagesEvicted > 2 {
		t.Errorf("dups %d, evictions %d, pages written back %d: want >= 4, >= 3, <= 2", s.Duplicates, s.Evictions, s.PagesEvicted)
	}
}

// Closing a device removes it from the advice: the next device in its slot
// does not inherit it.
func TestRegression5AdviceForgetsClosedDevice(t *testing.T) {
	needUFFD(t)
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 4096)
	p, n := uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)*4)
	defer svm.ClearAdvice(p, n)
	if err := svm.Advise(p, n, svm.SetAccessedBy, a.Location()); err != nil {
		t.Fatal(err)
	}
	if err := svm.Advise(p, n, svm.SetPreferredLocation, a.Location()); err != nil {
		t.Fatal(err)
	}
	slot := a.Location()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if rs := svm.RangeAdvice(p, n); len(rs) != 0 {
		t.Fatalf("advice for closed device %v remains: %+v", slot, rs)
	}
}

// blockAligned maps n bytes at a 2 MiB boundary (unmapped after the test).
func blockAligned(t *testing.T, n int) ([]byte, uintptr) {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, n+2<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(b) })
	base := uintptr(unsafe.Pointer(&b[0]))
	off := int((2<<20 - base%(2<<20)) % (2 << 20))
	return b[off : off+n], base + uintptr(off)
}

// A fill or copy on a device whose only chunk the operation already uses
// reaches a page held by another GPU: the page comes home and is written
// remotely (second review: it failed after 1000 faults).
func TestRegression5DMAToPeerPageOnFullDevice(t *testing.T) {
	needUFFD(t)
	a := newDev(t, WithVRAM(2<<20), WithName("A"))
	b := newDev(t, WithName("B"))
	buf, p := blockAligned(t, 4<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if err := b.Prefetch(p+2<<20, svm.PageSize); err != nil {
		t.Fatal(err)
	}
	if err := a.Copy(context.Background(), p+2<<20, p, svm.PageSize); err != nil {
		t.Fatalf("copy to a page on the other GPU: %v", err)
	}
	for i := 0; i < svm.PageSize; i++ {
		if buf[2<<20+i] != byte(i) {
			t.Fatalf("dst[%d] = %d, want %d", i, buf[2<<20+i], byte(i))
		}
	}
	if err := b.Prefetch(p+2<<20, svm.PageSize); err != nil {
		t.Fatal(err)
	}
	if err := a.Fill(context.Background(), p, []byte{7}, 2<<20+svm.PageSize); err != nil {
		t.Fatalf("fill across a page on the other GPU: %v", err)
	}
	for i := 0; i < 2<<20+svm.PageSize; i += 999 {
		if buf[i] != 7 {
			t.Fatalf("buf[%d] = %d after fill", i, buf[i])
		}
	}
	if s := a.Stats(); s.DeviceFaults > 10 {
		t.Errorf("%d faults for two operations", s.DeviceFaults)
	}
}

// A CPU fault's sequential window stops at another device's page: each
// device is charged for the CPU faults on its own pages.
func TestRegression5FaultWindowStopsAtDeviceChange(t *testing.T) {
	needUFFD(t)
	a := newDev(t, WithName("A"))
	b := newDev(t, WithName("B"))
	buf, p := blockAligned(t, 2<<20)
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
