package simgpu

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

func needCompiler(t *testing.T) {
	t.Helper()
	if _, err := kernels.Saxpy.Compiled(); errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// freshF32 maps n float32s of fresh anonymous memory (no page has been
// touched by the device; unmapped at the end of the test).
func freshF32(t *testing.T, n int) []float32 {
	t.Helper()
	return testmem.Float32s(testmem.Map(t, n*4, syscall.PROT_READ|syscall.PROT_WRITE))
}

// alignedF32 maps n float32s starting on a 2 MiB boundary: the cost model
// charges per 2 MiB VA block a fault batch touches, so two runs compare
// equal only if their arrays sit alike relative to those blocks.
func alignedF32(t *testing.T, n int) []float32 {
	t.Helper()
	return testmem.Float32s(testmem.Aligned(t, n*4, 2<<20))
}

// saxpyFaults runs the library saxpy (compiled) over fresh memory and
// returns the device's counters.
func saxpyFaults(t *testing.T, n int, opts ...Option) counters {
	t.Helper()
	d := newDev(t, opts...)
	x, y := freshF32(t, n), freshF32(t, n)
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	if err := run(t, d, kernels.Saxpy, kernels.Range1D(n, 256), y, x, float32(2), int32(n)); err != nil {
		t.Fatal(err)
	}
	st := countersOf(d)
	for i := range y {
		if y[i] != 2*float32(i)+1 {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], 2*float32(i)+1)
		}
	}
	return st
}

// A warp's accesses to one page raise one fault: a float saxpy over fresh
// memory raises (warps per page) × (pages) faults per array, so the count
// scales with 1/warp size, and the same pages migrate whatever the warp
// size.
func TestCompiledWarpCoalescesFaults(t *testing.T) {
	needCompiler(t)
	const n = 64 << 10 // 64 pages per array
	pages := int64(2 * n * 4 / svm.PageSize)
	w32 := saxpyFaults(t, n)
	w64 := saxpyFaults(t, n, WithWarpSize(64))
	w1 := saxpyFaults(t, n, WithWarpSize(1))
	t.Logf("faults: warp 1 %d, 32 %d, 64 %d; pages H→D %d", w1.DeviceFaults, w32.DeviceFaults, w64.DeviceFaults, w32.PagesH2D)
	for _, st := range []counters{w1, w32, w64} {
		if st.PagesH2D != pages {
			t.Errorf("pages H→D %d, want %d", st.PagesH2D, pages)
		}
	}
	if w32.DeviceFaults*32 != w1.DeviceFaults || w64.DeviceFaults*2 != w32.DeviceFaults {
		t.Errorf("faults: warp 1 %d, 32 %d, 64 %d: want exactly 32× and 2× fewer", w1.DeviceFaults, w32.DeviceFaults, w64.DeviceFaults)
	}
	// 1024 floats per page = 32 warps of 32, each faulting once per page it
	// reads or writes (x: read; y: read, then written).
	if perPage := w32.DeviceFaults / pages; perPage < 32 || perPage > 64 {
		t.Errorf("%d faults per page with warps of 32, want 32..64", perPage)
	}
}

// Counters and simulated time of a compiled launch are the same on every
// run.
func TestCompiledDeterministic(t *testing.T) {
	needCompiler(t)
	runMulMat := func() (counters, time.Duration) {
		d := newDev(t)
		m := 128
		// Fresh mappings (Go heap pages are shared with other objects the
		// runtime touches, which would add CPU faults that vary), placed
		// alike in both runs.
		a, b, r := alignedF32(t, m*m), alignedF32(t, m*m), alignedF32(t, m*m)
		for i := range a {
			a[i], b[i] = float32(i%7), float32(i%5)
		}
		if err := run(t, d, kernels.MulMat, kernels.MulMatRange(m), r, a, b, int32(m)); err != nil {
			t.Fatal(err)
		}
		st, clock := countersOf(d), d.Clock().Total() // before the host reads r back
		ref := make([]float32, m*m)
		kernels.RefMulMat(ref, a, b, m)
		for i := range r {
			if r[i] != ref[i] {
				t.Fatalf("r[%d] = %v, want %v", i, r[i], ref[i])
			}
		}
		return st, clock
	}
	s1, c1 := runMulMat()
	s2, c2 := runMulMat()
	s1.HostTime, s2.HostTime = 0, 0
	if s1 != s2 || c1 != c2 {
		t.Errorf("two runs differ:\n%+v %v\n%+v %v", s1, c1, s2, c2)
	}
	if s1.TLBHits == 0 || s1.DeviceFaults == 0 {
		t.Errorf("no TLB hits or faults counted: %+v", s1)
	}
}

const simtSrc = `
__kernel void reverse(__global int *out, __global const int *in, __local int *tmp) {
	int l = get_local_id(0), g = get_global_id(0), n = get_local_size(0);
	tmp[l] = in[g];
	barrier(CLK_LOCAL_MEM_FENCE);
	out[g] = tmp[n - 1 - l];
}
__kernel void diverge(__global int *out) {
	if (get_local_id(0) == 3) return;
	barrier(CLK_GLOBAL_MEM_FENCE);
	out[get_global_id(0)] = 1;
}
__kernel void spin(__global int *out, int n) {
	for (int i = 0; i < n; i++) out[(i * 1031) % (1 << 20)] += i;
}
`

// Barriers and __local memory in compiled kernels; a work-item leaving
// while the others wait at a barrier is ErrBarrierDivergence; __local
// memory beyond the device's 64 KiB per group is ErrOutOfDeviceMemory.
func TestCompiledBarriersAndLocal(t *testing.T) {
	needCompiler(t)
	p, err := kernels.Compile(simtSrc)
	if err != nil {
		t.Fatal(err)
	}
	d := newDev(t)
	in, out := make([]int32, 4096), make([]int32, 4096)
	for i := range in {
		in[i] = int32(i)
	}
	rev := p.Kernel("reverse")
	if err := run(t, d, rev, kernels.Range1D(4096, 128), out, in, 128*4); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if want := int32(i/128*128 + 127 - i%128); out[i] != want {
			t.Fatalf("out[%d] = %d, want %d", i, out[i], want)
		}
	}
	if err := run(t, d, p.Kernel("diverge"), kernels.Range1D(256, 64), out); !errors.Is(err, kernels.ErrBarrierDivergence) {
		t.Errorf("divergent barrier: %v, want ErrBarrierDivergence", err)
	}
	if err := run(t, d, rev, kernels.Range1D(64, 64), out, in, DefaultLocalMemory+4); !errors.Is(err, svm.ErrOutOfDeviceMemory) {
		t.Errorf("local memory over the limit: %v, want ErrOutOfDeviceMemory", err)
	}
}

// Cancelling the context stops a compiled launch at its next fault round.
func TestCompiledCancel(t *testing.T) {
	needCompiler(t)
	p, err := kernels.Compile(simtSrc)
	if err != nil {
		t.Fatal(err)
	}
	d := newDev(t)
	out := freshF32(t, 1<<20)
	a, err := kernels.Bind(p.Kernel("spin"), unsafe.Pointer(&out[0]), int32(1<<14))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = d.Launch(ctx, p.Kernel("spin"), kernels.Range1D(1<<16, 256), a)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled launch: %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("cancel took %v", el)
	}
}

// A wave is as many work-groups as the SMs hold at once (SMCount ×
// Resident), on the compiled path and the Go-body path alike, and the
// result does not depend on how many there are.
func TestWaveHoldsResidentGroups(t *testing.T) {
	needCompiler(t)
	const n = 64 << 10 // 256 groups of 256
	for _, tt := range []struct {
		name  string
		cost  func(*CostModel)
		opts  []Option
		waves int
	}{
		{"default", func(*CostModel) {}, nil, 2},                                // 16 SMs × 8 groups of 256
		{"one group per SM", func(c *CostModel) { c.GroupsPerSM = 1 }, nil, 16}, // 16 SMs × 1
		{"1024 threads per SM", func(c *CostModel) { c.ThreadsPerSM = 1024 }, nil, 4},
		{"Go bodies", func(*CostModel) {}, []Option{WithGoBodies()}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cost := DefaultCostModel()
			tt.cost(&cost)
			waves := 0
			saxpyFaults(t, n, append([]Option{WithCostModel(cost), WithProgress(func(p Progress) { waves = p.Waves })}, tt.opts...)...)
			if waves != tt.waves {
				t.Errorf("%d waves, want %d", waves, tt.waves)
			}
		})
	}
}

// Local memory bounds the groups an SM holds: SumReduce's groups of 256
// take 1 KiB each, so an SM with 2 KiB of it holds two.
func TestWaveBoundedByLocalMemory(t *testing.T) {
	needCompiler(t)
	const n = 64 << 10 // 256 groups of 256
	for _, opts := range [][]Option{nil, {WithGoBodies()}} {
		cost := DefaultCostModel()
		cost.LocalMemoryPerSM = 2 << 10
		waves := 0
		d := newDev(t, append([]Option{WithCostModel(cost), WithProgress(func(p Progress) { waves = p.Waves })}, opts...)...)
		in := freshF32(t, n)
		for i := range in {
			in[i] = 1
		}
		nd := kernels.SumRange(n, 256)
		partial := make([]float32, nd.TotalGroups())
		if err := run(t, d, kernels.SumReduce, nd, partial, in, int32(n)); err != nil {
			t.Fatal(err)
		}
		if waves != 8 { // 256 groups / (16 SMs × 2)
			t.Errorf("go bodies %v: %d waves, want 8", opts != nil, waves)
		}
		for g, p := range partial {
			if p != 256 {
				t.Fatalf("partial[%d] = %v, want 256", g, p)
			}
		}
	}
}
