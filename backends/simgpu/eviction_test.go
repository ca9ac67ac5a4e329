package simgpu

import (
	"context"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/svm"
)

// A copy between two VA blocks on a one-chunk device does not evict on
// every access: the chunk the operation uses stays, the other side is
// accessed remotely.
//
// Guards against a bug found in review (of the memory policies).
func TestCopyOnOneChunkDoesNotPingPong(t *testing.T) {
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
//
// Guards against a bug found in review (of the memory policies).
func TestDuplicateOnlyEvictionCounted(t *testing.T) {
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
