package simgpu

import (
	"testing"

	"github.com/svmrt/svmrt/kernels"
)

// The runtime's own bookkeeping must never share a page with a kernel's
// data. When the buffers a wave rewrote at every fault round were on the Go
// heap, the one holding the round's faults could land on the page of a
// small output slice beside it; each round's write pulled that page back
// from the device, the device faulted on it again, and the launch failed
// after 1000 rounds with "the page keeps moving away" (about one `svmrt
// check` run in four, list_walk/lists=512). Those buffers now live in
// internal/devrt's own mappings (OffHeap). Each launch here allocates its
// output afresh on the Go heap, among the runtime's allocations, so the
// bad placement comes up within a few launches if it can come up at all.
func TestGoHeapOutputNeverSharesRuntimePages(t *testing.T) {
	needCompiler(t)
	d := newDev(t)
	const lists = 512
	heads := make([]*kernels.ListNode, lists)
	for i := range heads {
		for j := 0; j < i%32; j++ {
			heads[i] = &kernels.ListNode{Next: heads[i], Value: float32(j + i)}
		}
	}
	want := kernels.RefListWalk(heads)
	for launch := range 40 {
		out := make([]float32, lists) // 2 KiB: two to a Go heap page
		if err := run(t, d, kernels.ListWalk, kernels.ListWalkRange(lists), out, heads, int32(lists)); err != nil {
			t.Fatalf("launch %d: %v", launch, err)
		}
		for i := range out {
			if out[i] != want[i] {
				t.Fatalf("launch %d: out[%d] = %v, want %v", launch, i, out[i], want[i])
			}
		}
	}
}
