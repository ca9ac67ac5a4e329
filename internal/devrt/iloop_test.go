package devrt_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/internal/devrt"
	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
)

// Item loops (clc.ItemLoops) must change nothing the simulated GPU shows:
// every kernel here runs on fresh memory twice, with item loops and with
// one trampoline call per work-item, and the two runs must fault on the
// same pages from the same items in the same rounds, with the same SM
// counters after every round, the same device statistics and simulated
// time, the same error and the same results.

const iloopSrc = `
__kernel void add2(__global int *out, __global const int *a, __global const int *b) {
	int g = get_global_id(0);
	out[g] = a[g] + b[g];          // two loads that fault on fresh memory: restarts
}
__kernel void store_then_load(__global int *mark, __global int *out, __global const int *in) {
	int g = get_global_id(0);
	mark[g] = g + 1;               // a store, then a fault: the item parks mid-loop
	out[g] = in[g] * 3 + mark[g ^ 1];
}
__kernel void count_then_copy(__global int *count, __global int *out, __global const int *in) {
	atomic_inc(count);             // an atomic before the first fault: parks, never repeated
	int g = get_global_id(0);
	out[g] = in[g] + atomic_add(&count[1], 1) * 0;
}
__kernel void ids(__global int *out, __global const int *in) {
	size_t i = get_global_linear_id();
	out[4 * i + 0] = (int)(get_global_id(0) | get_global_id(1) << 10 | get_global_id(2) << 20);
	out[4 * i + 1] = (int)(get_local_id(0) | get_local_id(1) << 10 | get_local_id(2) << 20);
	out[4 * i + 2] = (int)(get_group_id(0) | get_group_id(1) << 10 | get_group_id(2) << 20);
	out[4 * i + 3] = (int)get_local_linear_id() + in[i];
}
__kernel void poke(__global int *out, __global const int *in, __global const int *bad, int which) {
	int g = get_global_id(0);
	int v = in[g];
	if (g == which) v += bad[0];   // a page no fault can bring in: the group fails
	out[g] = v;
}
__kernel void divide(__global int *out, __global const int *in, int den, int which) {
	int g = get_global_id(0);
	int v = in[g];
	out[g] = g == which ? v / den : v; // a hardware trap in one item
}
__kernel void scratch(__global int *out, __global const int *in, __local int *tmp) {
	int l = get_local_id(0), g = get_global_id(0);
	tmp[l] = in[g] + 1;            // a direct __local write: the module never restarts items
	out[g] = tmp[l] * 2 + l;
}
__kernel void three(__global float *out, __global const float *a, __global const float *b, __global const float *c) {
	int g = get_global_id(0);
	out[g] = a[g] + b[g] * c[g];
}
__kernel void rev(__global int *out, __global const int *in, __local int *tmp) {
	int l = get_local_id(0), g = get_global_id(0), n = get_local_size(0);
	tmp[l] = in[g];
	barrier(CLK_LOCAL_MEM_FENCE);  // reaches a barrier: no item loop
	out[g] = tmp[n - 1 - l];
}
`

var (
	iloopOnce sync.Once
	iloopProg *kernels.Program
	iloopErr  error
)

func iloopProgram(t *testing.T) *kernels.Program {
	t.Helper()
	if _, err := kernels.Saxpy.Compiled(); errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	}
	iloopOnce.Do(func() { iloopProg, iloopErr = kernels.Compile(iloopSrc) })
	if iloopErr != nil {
		t.Fatal(iloopErr)
	}
	return iloopProg
}

// itemLoop reports whether the simulated GPU's build of k has an item loop.
func itemLoop(t *testing.T, k *kernels.Kernel) bool {
	t.Helper()
	c, err := k.Compiled()
	if err != nil {
		t.Fatal(err)
	}
	p := c.Program()
	m, err := devrt.Build(context.Background(), p.Toolchain(), p.Module(), devrt.Instrumented)
	if err != nil {
		t.Fatal(err)
	}
	e, err := m.Entry(c.Name)
	if err != nil {
		t.Fatal(err)
	}
	return e.ItemLoop()
}

// mem hands out fresh anonymous memory, each buffer on a 2 MiB boundary
// (the cost model charges per 2 MiB block a fault batch touches, so two
// runs compare equal only if their buffers sit alike), and names
// addresses by buffer and offset, which two runs share.
type mem struct {
	t    *testing.T
	bufs [][]int32
	none []byte // a PROT_NONE page
}

func (m *mem) ints(n int) []int32 {
	const block = 2 << 20
	// Each buffer a few pages further into its block than the last: not
	// all in one TLB set.
	off := len(m.bufs) % 8 * 5 * 4096
	s := testmem.Int32s(testmem.Aligned(m.t, n*4+block, block)[off : off+n*4])
	m.bufs = append(m.bufs, s)
	return s
}

func (m *mem) seq(n, mod int) []int32 {
	s := m.ints(n)
	for i := range s {
		s[i] = int32(i%mod + 1)
	}
	return s
}

func (m *mem) floats(n int) []float32 {
	s := m.ints(n)
	return unsafe.Slice((*float32)(unsafe.Pointer(&s[0])), n)
}

func (m *mem) protNone() uintptr {
	m.none = testmem.Map(m.t, 4096, syscall.PROT_NONE)
	return testmem.Addr(m.none)
}

// name writes address a as buffer+offset.
func (m *mem) name(a uint64) string {
	for i, b := range m.bufs {
		lo := uint64(uintptr(unsafe.Pointer(&b[0])))
		if a >= lo && a < lo+uint64(len(b))*4 {
			return fmt.Sprintf("b%d+%#x", i, a-lo)
		}
	}
	if m.none != nil {
		if lo := uint64(testmem.Addr(m.none)); a >= lo && a < lo+4096 {
			return fmt.Sprintf("none+%#x", a-lo)
		}
	}
	return fmt.Sprintf("%#x", a)
}

var hexRE = regexp.MustCompile(`0x[0-9a-f]+`)

// outcome is everything one launch showed.
type outcome struct {
	rounds []string // per SM per fault round: its faults and counters
	stats  backends.Stats
	sim    backends.SimStats
	clock  simgpu.ClockBreakdown
	err    string
	bufs   [][]int32
}

type iloopCase struct {
	name   string
	kernel string
	nd     kernels.NDRange
	opts   []simgpu.Option
	args   func(m *mem) []any
	loop   bool // the kernel has an item loop
	fails  bool // the launch fails
	check  func(t *testing.T, bufs [][]int32)
}

var hookMu sync.Mutex // one launch with the faults hook at a time

// launchOnce runs c on a fresh device and fresh memory, item loops on or
// off.
func launchOnce(t *testing.T, p *kernels.Program, c iloopCase, loops bool) outcome {
	t.Helper()
	m := &mem{t: t}
	args := c.args(m)
	d, err := simgpu.New(c.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	k := p.Kernel(c.kernel)
	a, err := kernels.Bind(k, args...)
	if err != nil {
		t.Fatal(err)
	}
	var o outcome
	hookMu.Lock()
	// One host thread: the rounds come in SM order (SetFaultsHook).
	procs := runtime.GOMAXPROCS(1)
	devrt.SetItemLoops(loops)
	devrt.SetFaultsHook(func(s *devrt.SM, fs []devrt.Fault, _ uint64) {
		var b strings.Builder
		for _, f := range fs {
			fmt.Fprintf(&b, "%s@%d/g%d w%v a%v; ", m.name(f.Addr), f.GlobalLinear, f.Group, f.Write, f.Atomic)
		}
		fmt.Fprintf(&b, "%+v", s.Counters())
		o.rounds = append(o.rounds, b.String())
	})
	err = d.Launch(context.Background(), k, c.nd, a)
	devrt.SetFaultsHook(nil)
	devrt.SetItemLoops(true)
	runtime.GOMAXPROCS(procs)
	hookMu.Unlock()
	if err != nil {
		o.err = hexRE.ReplaceAllStringFunc(err.Error(), func(h string) string {
			v, _ := strconv.ParseUint(h[2:], 16, 64)
			return m.name(v)
		})
	}
	o.stats = d.Stats()
	o.stats.HostTime = 0
	o.sim = d.SimStats()
	o.clock = d.Clock()
	for _, b := range m.bufs {
		o.bufs = append(o.bufs, slices.Clone(b))
	}
	return o
}

func TestItemLoopsChangeNothing(t *testing.T) {
	p := iloopProgram(t)
	const n = 16 << 10
	cases := []iloopCase{
		{name: "restarts", kernel: "add2", nd: kernels.Range1D(n, 256), loop: true,
			args: func(m *mem) []any { return []any{m.ints(n), m.seq(n, 97), m.seq(n, 89)} },
			check: func(t *testing.T, b [][]int32) {
				for i := range b[0] {
					if want := int32(i%97 + 1 + i%89 + 1); b[0][i] != want {
						t.Fatalf("out[%d] = %d, want %d", i, b[0][i], want)
					}
				}
			}},
		{name: "restarts/small-tlb/warp8", kernel: "add2", nd: kernels.Range1D(n, 128), loop: true,
			opts: []simgpu.Option{simgpu.WithSMTLB(16, 4), simgpu.WithWarpSize(8)},
			args: func(m *mem) []any { return []any{m.ints(n), m.seq(n, 97), m.seq(n, 89)} }},
		{name: "store-then-fault", kernel: "store_then_load", nd: kernels.Range1D(n, 256), loop: true,
			args: func(m *mem) []any { return []any{m.ints(n), m.ints(n), m.seq(n, 1000)} },
			check: func(t *testing.T, b [][]int32) {
				for i := range b[1] {
					if want := int32((i%1000+1)*3 + (i ^ 1) + 1); b[1][i] != want {
						t.Fatalf("out[%d] = %d, want %d", i, b[1][i], want)
					}
				}
			}},
		{name: "atomics", kernel: "count_then_copy", nd: kernels.Range1D(n, 256), loop: true,
			args: func(m *mem) []any { return []any{m.ints(2), m.ints(n), m.seq(n, n)} },
			check: func(t *testing.T, b [][]int32) {
				if b[0][0] != n || b[0][1] != n {
					t.Errorf("counts %v, want %d each", b[0], n)
				}
			}},
		{name: "2d", kernel: "ids", nd: kernels.Range2D(64, 48, 16, 6), loop: true,
			args: func(m *mem) []any { return []any{m.ints(4 * 64 * 48), m.seq(64*48, 5)} },
			check: func(t *testing.T, b [][]int32) {
				for y := range 48 {
					for x := range 64 {
						i := y*64 + x
						lx, ly := x%16, y%6
						want := []int32{int32(x | y<<10), int32(lx | ly<<10), int32(x/16 | (y/6)<<10), int32(ly*16+lx) + int32(i%5+1)}
						if got := b[0][4*i : 4*i+4]; !slices.Equal(got, want) {
							t.Fatalf("item (%d,%d): %v, want %v", x, y, got, want)
						}
					}
				}
			}},
		{name: "3d/group-not-warp-multiple", kernel: "ids", nd: kernels.Range3D(20, 6, 4, 5, 3, 2), loop: true,
			opts: []simgpu.Option{simgpu.WithSMTLB(8, 2)},
			args: func(m *mem) []any { return []any{m.ints(4 * 20 * 6 * 4), m.seq(20*6*4, 7)} }},
		{name: "1d/group-24-warp-32", kernel: "add2", nd: kernels.Range1D(24*50, 24), loop: true,
			args: func(m *mem) []any { return []any{m.ints(1200), m.seq(1200, 97), m.seq(1200, 89)} }},
		{name: "group-fails", kernel: "poke", nd: kernels.Range1D(n, 256), loop: true, fails: true,
			args: func(m *mem) []any { return []any{m.ints(n), m.seq(n, 50), m.protNone(), int32(3*256 + 77)} }},
		{name: "trap", kernel: "divide", nd: kernels.Range1D(n, 256), loop: true, fails: true,
			args: func(m *mem) []any { return []any{m.ints(n), m.seq(n, 50), int32(0), int32(5*256 + 3)} }},
		{name: "no-restart", kernel: "scratch", nd: kernels.Range1D(n, 256), loop: true,
			args: func(m *mem) []any { return []any{m.ints(n), m.seq(n, 333), 256 * 4} },
			check: func(t *testing.T, b [][]int32) {
				for i := range b[0] {
					if want := int32((i%333+2)*2 + i%256); b[0][i] != want {
						t.Fatalf("out[%d] = %d, want %d", i, b[0][i], want)
					}
				}
			}},
		{name: "memory-pressure", kernel: "three", nd: kernels.Range1D(n, 256), loop: true,
			opts: []simgpu.Option{simgpu.WithVRAM(4 << 20)},
			args: func(m *mem) []any {
				a, b, c := m.floats(n), m.floats(n), m.floats(n)
				for i := range a {
					a[i], b[i], c[i] = float32(i), float32(i%3), 0.5
				}
				return []any{m.floats(n), a, b, c}
			}},
		{name: "saxpy", kernel: "", nd: kernels.SaxpyRange(n), loop: true,
			args: func(m *mem) []any {
				x, y := m.floats(n), m.floats(n)
				for i := range x {
					x[i], y[i] = float32(i), 1
				}
				return []any{y, x, float32(2), int32(n)}
			}},
		{name: "barrier", kernel: "rev", nd: kernels.Range1D(n, 128), loop: false,
			args: func(m *mem) []any { return []any{m.ints(n), m.seq(n, n), 128 * 4} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog := p
			if c.kernel == "" { // the library's saxpy
				cp, err := kernels.Saxpy.Compiled()
				if err != nil {
					t.Fatal(err)
				}
				prog, c.kernel = cp.Program(), kernels.Saxpy.Name
			}
			if got := itemLoop(t, prog.Kernel(c.kernel)); got != c.loop {
				t.Fatalf("%s: item loop %v, want %v", c.kernel, got, c.loop)
			}
			on := launchOnce(t, prog, c, true)
			off := launchOnce(t, prog, c, false)
			if (on.err != "") != c.fails {
				t.Fatalf("launch error %q, want one: %v", on.err, c.fails)
			}
			if on.err != off.err {
				t.Errorf("error with item loops:\n\t%s\nwithout:\n\t%s", on.err, off.err)
			}
			if on.sim != off.sim {
				t.Errorf("simulator counters with item loops:\n\t%+v\nwithout:\n\t%+v", on.sim, off.sim)
			}
			if on.stats != off.stats {
				t.Errorf("stats with item loops:\n\t%+v\nwithout:\n\t%+v", on.stats, off.stats)
			}
			if on.clock != off.clock {
				t.Errorf("simulated time with item loops:\n\t%+v\nwithout:\n\t%+v", on.clock, off.clock)
			}
			if len(on.rounds) != len(off.rounds) {
				t.Errorf("%d SM fault rounds with item loops, %d without", len(on.rounds), len(off.rounds))
			}
			for i := range min(len(on.rounds), len(off.rounds)) {
				if on.rounds[i] != off.rounds[i] {
					t.Errorf("SM fault round %d with item loops:\n\t%s\nwithout:\n\t%s", i, on.rounds[i], off.rounds[i])
					break
				}
			}
			for i := range on.bufs {
				if !slices.Equal(on.bufs[i], off.bufs[i]) {
					t.Errorf("buffer %d differs with item loops", i)
				}
			}
			if on.stats.DeviceFaults == 0 {
				t.Errorf("no device faults: nothing was exercised (%+v)", on.stats)
			}
			if c.check != nil {
				c.check(t, on.bufs)
			}
			t.Logf("%d SM fault rounds; %+v; %s", len(on.rounds), on.stats, on.err)
		})
	}
}

// BenchmarkItemLoopSaxpy is the host time per work-item of the library's
// saxpy on the simulated GPU, memory warm, with item loops and with one
// trampoline call per work-item (per-wave costs included).
func BenchmarkItemLoopSaxpy(b *testing.B) {
	if _, err := kernels.Saxpy.Compiled(); errors.Is(err, kernels.ErrNoToolchain) {
		b.Skip(err)
	} else if err != nil {
		b.Fatal(err)
	}
	const n = 1 << 20
	for _, loops := range []bool{true, false} {
		b.Run(fmt.Sprintf("loops=%v", loops), func(b *testing.B) {
			d, err := simgpu.New(simgpu.WithVRAM(64 << 20))
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			x, y := make([]float32, n), make([]float32, n)
			a, err := kernels.Bind(kernels.Saxpy, y, x, float32(1), int32(n))
			if err != nil {
				b.Fatal(err)
			}
			devrt.SetItemLoops(loops)
			defer devrt.SetItemLoops(true)
			nd := kernels.SaxpyRange(n)
			if err := d.Launch(context.Background(), kernels.Saxpy, nd, a); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if err := d.Launch(context.Background(), kernels.Saxpy, nd, a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
		})
	}
}
