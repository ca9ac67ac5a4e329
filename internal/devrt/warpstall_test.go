package devrt_test

import (
	"context"
	"maps"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/internal/devrt"
	"github.com/svmrt/svmrt/kernels"
)

// A warp stalls as one (warp_stall in sched.c): when two consecutive lanes
// give their runs up at the same access on the same page and the lanes'
// addresses, continued linearly, stay in that page, the rest of the warp
// waits without running. Lanes whose addresses leave the page run, so the
// first fault round still sees every page the warp's lanes want.

const warpStallSrc = `
__kernel void copy_at(__global int *out, __global const int *in, int stride, int skew) {
	int g = get_global_id(0);
	out[g] = in[g * stride + skew];
}
`

// firstRound launches copy_at over fresh memory (one SM per group) and
// returns, per SM, the faults its first fault round showed and how many
// work-items ran to a fault in it, and the input.
func firstRound(t *testing.T, n, group, stride, skew int, opts ...simgpu.Option) (faults [][]devrt.Fault, ran []int, in []int32) {
	t.Helper()
	if _, err := kernels.Saxpy.Compiled(); err != nil {
		t.Skip(err)
	}
	p, err := kernels.Compile(warpStallSrc)
	if err != nil {
		t.Fatal(err)
	}
	m := &mem{t: t}
	out := m.ints(n)
	in = m.seq(n*stride+skew, n*stride+skew)
	d, err := simgpu.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	k := p.Kernel("copy_at")
	a, err := kernels.Bind(k, out, in, int32(stride), int32(skew))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[*devrt.SM]bool{}
	var mu sync.Mutex
	hookMu.Lock()
	// One host thread: the SMs' first rounds come in SM order
	// (SetFaultsHook).
	procs := runtime.GOMAXPROCS(1)
	devrt.SetFaultsHook(func(s *devrt.SM, fs []devrt.Fault, _ uint64) {
		mu.Lock()
		defer mu.Unlock()
		if seen[s] {
			return
		}
		seen[s] = true
		faults = append(faults, append([]devrt.Fault(nil), fs...))
		ran = append(ran, s.GaveUp())
	})
	err = d.Launch(context.Background(), k, kernels.Range1D(n, group), a)
	devrt.SetFaultsHook(nil)
	runtime.GOMAXPROCS(procs)
	hookMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if want := in[i*stride+skew]; v != want {
			t.Fatalf("out[%d] = %d, want %d", i, v, want)
		}
	}
	return faults, ran, in
}

func TestWarpStallsOnOnePage(t *testing.T) {
	const n, group, warp = 1024, 256, 32
	faults, ran, _ := firstRound(t, n, group, 1, 0)
	if len(ran) != n/group {
		t.Fatalf("%d SMs had a fault round, want %d (one group each)", len(ran), n/group)
	}
	for i, c := range ran {
		// Every warp's lanes 0 and 1 ran to the fault on in[]; lanes 2..31 waited.
		if want := 2 * group / warp; c != want {
			t.Errorf("SM %d: %d work-item runs in the first round, want %d (two per warp)", i, c, want)
		}
		// One fault per warp and page: the group's 256 ints are on one page.
		if len(faults[i]) != group/warp {
			t.Errorf("SM %d: %d faults, want %d", i, len(faults[i]), group/warp)
		}
	}
	// Without warps (one lane each) every item runs to its fault.
	_, ran, _ = firstRound(t, n, group, 1, 0, simgpu.WithWarpSize(1))
	for i, c := range ran {
		if c != group {
			t.Errorf("warps of 1, SM %d: %d work-item runs, want %d", i, c, group)
		}
	}
}

func TestWarpLanesOnOtherPagesStillRun(t *testing.T) {
	const n, group, warp = 512, 128, 32
	// Each lane on its own page: no lane waits for another's page.
	faults, ran, _ := firstRound(t, n, group, 1024, 0)
	for i, c := range ran {
		if c != group || len(faults[i]) != group {
			t.Errorf("page stride, SM %d: %d runs and %d faults, want %d of each", i, c, len(faults[i]), group)
		}
	}
	// Lanes 33 ints apart: a warp spans 4 KiB less 4 bytes, so most warps
	// cross a page boundary, and the first round must fault on every page
	// the group's lanes read (one SM per group: SM order is group order).
	const stride = 33
	faults, ran, in := firstRound(t, n, group, stride, 0)
	if len(faults) != n/group {
		t.Fatalf("%d SMs had a fault round, want %d", len(faults), n/group)
	}
	base := uint64(uintptr(unsafe.Pointer(&in[0])))
	stalled := false
	for i := range faults {
		want, got := map[uint64]bool{}, map[uint64]bool{}
		for g := i * group; g < (i+1)*group; g++ {
			want[(base+uint64(g*stride*4))>>12] = true
		}
		for _, f := range faults[i] {
			got[f.Addr>>12] = true
		}
		if !maps.Equal(want, got) {
			t.Errorf("lanes 33 ints apart, SM %d: faults on %d pages, want the %d the lanes read", i, len(got), len(want))
		}
		stalled = stalled || ran[i] < group
	}
	if !stalled {
		t.Error("lanes 33 ints apart: no lane waited for another's page (the part of a warp within one page should)")
	}
}

// A warp's stall stops at the first lane that is not new: here lanes 16..31
// finish in the second round while lanes 0..15 go on to a third access,
// where lanes 0 and 1 fault together and the lanes after them would stall —
// 2..15 do, the finished ones must not (stalled, they would run again).
// Every access a run completes is counted once (a given-up run's are not),
// so the TLB's hits and misses add up to the kernel's accesses: 4 for each
// of lanes 0..15, 2 for each of lanes 16..31.
func TestWarpStallStopsAtFinishedLane(t *testing.T) {
	if _, err := kernels.Saxpy.Compiled(); err != nil {
		t.Skip(err)
	}
	p, err := kernels.Compile(`
__kernel void tail(__global int *out, __global const int *in, __global const int *more, __global const int *extra) {
	int g = get_global_id(0);
	int v = in[g];
	if (get_local_id(0) % 32 >= 16) { // finishes in the second round
		out[g] = v;
		return;
	}
	v += more[g * 64]; // lanes 256 bytes apart: the warp's continuation leaves the page, no stall
	v += extra[g];     // a third round: lanes 0 and 1 fault together
	out[g] = v;
}
`)
	if err != nil {
		t.Fatal(err)
	}
	const n = 64 // two warps, one group
	m := &mem{t: t}
	out, in, more, extra := m.ints(n), m.seq(n, 5), m.seq(n*64, 7), m.seq(n, 3)
	d, err := simgpu.New()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// out on the device already: lanes 16..31's store does not fault, and
	// they finish in the second round.
	if err := d.Prefetch(uintptr(unsafe.Pointer(&out[0])), n*4); err != nil {
		t.Fatal(err)
	}
	k := p.Kernel("tail")
	a, err := kernels.Bind(k, out, in, more, extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Launch(context.Background(), k, kernels.Range1D(n, n), a); err != nil {
		t.Fatal(err)
	}
	for g := range n {
		want := in[g]
		if g%32 < 16 {
			want += more[g*64] + extra[g]
		}
		if out[g] != want {
			t.Fatalf("out[%d] = %d, want %d", g, out[g], want)
		}
	}
	st := d.SimStats()
	if got, want := st.TLBHits+st.TLBMisses, int64(n/32*(16*4+16*2)); got != want {
		t.Fatalf("%d TLB hits and misses, want %d (one per access a run completed)", got, want)
	}
}
