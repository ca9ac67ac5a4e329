package devrt

import (
	"testing"
	"unsafe"
)

// OffHeap blocks are alone on their pages (each starts a few cache lines
// into a mapping of its own), zeroed, and usable over their whole length.
func TestOffHeapBlocksOwnTheirPages(t *testing.T) {
	const page = 4096
	a := OffHeap[uint64](3)
	b := OffHeap[uint64](1000) // spans two pages
	defer FreeOffHeap(a)
	defer FreeOffHeap(b)
	pa, pb := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	if pa%64 != 0 || pb%64 != 0 || pa%page < 64 || pb%page < 64 || pa%page > 2048 || pb%page > 2048 {
		t.Fatalf("blocks at %#x and %#x, want them cache-line aligned in the first half of a page, past its header", pa, pb)
	}
	if endA := pa + 3*8; pa/page == pb/page || (pb < endA && pb+1000*8 > pa) {
		t.Fatalf("blocks %#x and %#x share a page", pa, pb)
	}
	for i := range b {
		if b[i] != 0 {
			t.Fatalf("b[%d] = %d, want a zeroed block", i, b[i])
		}
		b[i] = uint64(i)
	}
	for i := range b {
		if b[i] != uint64(i) {
			t.Fatalf("b[%d] = %d after writing %d", i, b[i], i)
		}
	}
	z := OffHeap[byte](0)
	defer FreeOffHeap(z)
	if cap(z) == 0 {
		t.Error("OffHeap(0) has no capacity: FreeOffHeap could not find its block")
	}
}
