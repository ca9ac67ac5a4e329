package simgpu

import (
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// benchMem returns an itemMem of a fresh launch over a device whose memory
// already holds buf (prefetched), so every access after the first is a TLB
// hit on a device page.
func benchMem(b *testing.B, buf []uint32) (*Device, *itemMem) {
	d := newDev(b, WithVRAM(8<<20))
	if err := d.Prefetch(uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)*4)); err != nil {
		b.Skip("prefetch:", err)
	}
	maps, err := d.space.Maps(true)
	if err != nil {
		b.Fatal(err)
	}
	l := &launch{dev: d, maps: maps, remote: map[uint64]remoteMap{}, errPages: map[uint64]error{}}
	w := &wave{l: l, resume: make(chan struct{})}
	return d, &itemMem{w: w, l: l, tlb: NewTLB(DefaultTLBEntries)}
}

// residentPage returns a page-aligned address inside buf whose page is on
// d (a fault would stall forever: there is no scheduler in a benchmark).
func residentPage(b *testing.B, d *Device, buf []uint32) uintptr {
	addr := (uintptr(unsafe.Pointer(&buf[0])) + svm.PageSize - 1) &^ (svm.PageSize - 1)
	if addr+svm.PageSize > uintptr(unsafe.Pointer(&buf[0]))+uintptr(len(buf)*4) {
		b.Fatal("buffer too small")
	}
	w := svm.PTE(addr, false)
	if w == nil || svm.WordState(*w) != svm.StateDevice || svm.WordDevice(*w) != d.Mem().ID() {
		b.Skip("page not resident on the device (degraded mode?)")
	}
	return addr
}

// BenchmarkDeviceLoadTLBHit: ns per simulated device load that hits the TLB
// (translation check, seqlock re-check, plain load from the VRAM arena).
func BenchmarkDeviceLoadTLBHit(b *testing.B) {
	buf := make([]uint32, 2048) // holds one whole page
	d, m := benchMem(b, buf)
	addr := residentPage(b, d, buf)
	m.Load32(addr) // fill
	b.ReportAllocs()
	b.ResetTimer()
	var s uint32
	for i := 0; i < b.N; i++ {
		s += m.Load32(addr + uintptr(i&1023)*4)
	}
	b.StopTimer()
	if m.tlb.Misses > 2 {
		b.Fatalf("%d TLB misses: not measuring the hit path", m.tlb.Misses)
	}
	sinkU32 = s
}

// BenchmarkDeviceStoreTLBHit: a device store (atomic exchange + re-check).
func BenchmarkDeviceStoreTLBHit(b *testing.B) {
	buf := make([]uint32, 2048)
	d, m := benchMem(b, buf)
	addr := residentPage(b, d, buf)
	m.Store32(addr, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Store32(addr+uintptr(i&1023)*4, uint32(i))
	}
}

// BenchmarkHostLoad is the peer: the same loads through the cpu backend's
// host-direct path (a plain load).
func BenchmarkHostLoad(b *testing.B) {
	buf := make([]uint32, 1024)
	addr := uintptr(unsafe.Pointer(&buf[0]))
	var s uint32
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s += *(*uint32)(ptr(addr + uintptr(i&1023)*4))
	}
	sinkU32 = s
}

var sinkU32 uint32

// BenchmarkSaxpyKernel: whole launches, per work-item, device memory warm.
func BenchmarkSaxpyKernel(b *testing.B) {
	d := newDev(b, WithVRAM(16<<20))
	n := 1 << 14
	x, y := make([]float32, n), make([]float32, n)
	a, err := kernels.Bind(kernels.Saxpy, y, x, float32(1), int32(n))
	if err != nil {
		b.Fatal(err)
	}
	nd := kernels.SaxpyRange(n)
	if err := d.Launch(b.Context(), kernels.Saxpy, nd, a); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Launch(b.Context(), kernels.Saxpy, nd, a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
}
