package devrt

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/internal/devrt/wijam"
	"github.com/svmrt/svmrt/kernels"
)

// The work-item jam (package wijam) on the cpu: which group loops it takes,
// and that what it runs is what the scalar loop would have.

const jamSrc = `#pragma OPENCL FP_CONTRACT OFF
__kernel void counted(__global int *out, __global volatile int *count) {
	out[get_global_id(0)] = atomic_inc(count);
}
__kernel void shared(__global const int *in, __global int *last, int n) {
	int s = 0;
	for (int j = 0; j < n; j++)
		s += in[j];
	*last = s + get_global_id(0);
}
__kernel void ragged(__global int *out, __global const int *len, __global const int *in) {
	int i = get_global_id(0), s = 0;
	for (int j = 0; j < len[i]; j++)
		s += in[j];
	out[i] = s;
}
__kernel void priv(__global long *out, int flag) {
	long a[8], b[8];
	long *p = flag ? a : b;
	int i = get_global_id(0);
	p[i & 7] = i;
	p[(i + 1) & 7] = -i;
	out[i] = p[i & 7];
}
__kernel void plain(__global float *y, __global const float *x) {
	int i = get_global_id(0);
	y[i] = 2.0f * x[i];
}
__kernel void everyfourth(__global float *out, __global const float *in, int n) {
	int i = get_global_id(0);
	if ((i & 3) == 0) {
		float s = 0.0f;
		for (int k = 0; k < n; k++)
			s += in[k] * (float)i;
		out[i] = s;
	}
}
__kernel void vec4(__global float4 *out, __global const float4 *in, float4 scale, int n, int flip) {
	int i = get_global_id(0);
	float4 acc = (float4)(0.0f);
	for (int k = 0; k < n; k++) {
		if (flip)
			acc = acc * scale - in[(i + k) % 64];
		else
			acc += in[(i + k) % 64] * scale;
	}
	out[i] = acc;
}
__kernel void wideid(__global long *out, ulong base) {
	int i = get_global_id(0);
	out[get_global_id(0) - base] = i;
}
`

func jamModule(t *testing.T) *Module {
	t.Helper()
	m := compileFor(t, jamSrc, Native)
	if err := JamUnavailable(); err != nil {
		t.Fatalf("the work-item jam is not available: %v", err)
	}
	return m
}

// mulMatModule is the library's mulmat (kernels.MulMat), built for the cpu.
func mulMatModule(t *testing.T) (*Module, Entry) {
	t.Helper()
	m := jamModule(t)
	mm := compileFor(t, kernels.MulMat.Source, Native)
	e, err := mm.Entry(kernels.MulMat.Name)
	if err != nil {
		t.Fatal(err)
	}
	return m, e
}

// TestJamOutcomes: the library mulmat's loop is jammed with wijam.Lanes
// lanes; the kernels it must not jam say why (atomics; a store every
// work-item makes to one address; a branch on a loaded, per-item trip
// count; a loop LLVM's vectorizer took).
func TestJamOutcomes(t *testing.T) {
	m, mm := mulMatModule(t)
	if lanes, why := mm.Jam(); lanes != wijam.Lanes {
		t.Errorf("%s: jam = %d lanes (%q), want %d", kernels.MulMat.Name, lanes, why, wijam.Lanes)
	}
	for _, c := range []struct {
		kernel, why string
		lanes       int
	}{
		{"counted", "atomics", 0},
		{"shared", "a store to an address shared by all work-items", 0},
		{"ragged", "a branch that depends on the work-item through memory or a loop", 0},
		{"plain", "LLVM's loop vectorizer took the loop", 0},
		// Found in review: a pointer chosen between two private arrays
		// hides them from an underlying-object walk; lanes sharing one
		// copy gave -7 0 -1 -2 … instead of 0 1 2 … (hand-written IR).
		{"priv", "private memory of the loop's function", 0},
	} {
		e, err := m.Entry(c.kernel)
		if err != nil {
			t.Fatal(err)
		}
		lanes, why := e.Jam()
		if lanes != c.lanes || !strings.Contains(why, c.why) {
			t.Errorf("%s: jam = %d lanes (%q), want %d (%q)", c.kernel, lanes, why, c.lanes, c.why)
		}
	}
}

// mmRef is mulmat's result computed the way the kernel does (no fused
// multiply-add, k in order).
func mmRef(a, b []float32, m int) []float32 {
	r := make([]float32, m*m)
	for row := range m {
		for col := range m {
			var sum float32
			for k := range m {
				sum += float32(a[row*m+k] * b[k*m+col])
			}
			r[row*m+col] = sum
		}
	}
	return r
}

// TestJamMulMatBitIdentical runs the jammed library mulmat over shapes that take every
// path: whole rows of chunks (16 wide groups), a remainder the scalar loop
// runs (12 wide: one chunk and four items), rows narrower than a chunk (4),
// and a global size past m, where the guard differs inside a chunk and the
// rest of the row goes scalar. Every result must equal the reference bit
// for bit, and nothing past m may be written.
func TestJamMulMatBitIdentical(t *testing.T) {
	_, e := mulMatModule(t)
	rng := rand.New(rand.NewSource(1))
	for _, c := range []struct{ m, global, local int }{
		{48, 48, 16}, {36, 36, 12}, {20, 20, 4}, {45, 48, 16}, {37, 48, 12},
	} {
		a, b := make([]float32, c.m*c.m), make([]float32, c.m*c.m)
		for i := range a {
			a[i], b[i] = rng.Float32()*2-1, rng.Float32()*2-1
		}
		// r has a canary tail: the guard must keep the items past m from
		// writing.
		r := make([]float32, c.m*c.m+64)
		for i := range r {
			r[i] = -7
		}
		l, err := NewLaunch(e, Geometry{Dims: 2, Global: [3]int{c.global, c.global, 1}, Local: [3]int{c.local, c.local, 1}},
			[]Arg{addr(r), addr(a), addr(b), {Bytes: le32(uint32(c.m))}})
		if err != nil {
			t.Fatal(err)
		}
		if f, err := RunNative(context.Background(), l, 2); err != nil || len(f) > 0 {
			t.Fatal(err, f)
		}
		l.Free()
		want := mmRef(a, b, c.m)
		for i, w := range want {
			if math.Float32bits(r[i]) != math.Float32bits(w) {
				t.Fatalf("m=%d global=%d local=%d: r[%d] = %v, want %v", c.m, c.global, c.local, i, r[i], w)
			}
		}
		for i := len(want); i < len(r); i++ {
			if r[i] != -7 {
				t.Fatalf("m=%d global=%d: r[%d] (past the matrix) written: %v", c.m, c.global, i, r[i])
			}
		}
	}
}

// TestJamRefusedKernelsStillRun: the kernels the jam leaves alone give
// their scalar results (every counter value once; each item's own private
// array).
func TestJamRefusedKernelsStillRun(t *testing.T) {
	m := jamModule(t)
	ep, _ := m.Entry("priv")
	pout := onHeap[int64](64)
	lp, err := NewLaunch(ep, Geometry{Dims: 1, Global: [3]int{64}, Local: [3]int{32}}, []Arg{addr(pout), {Bytes: le32(1)}})
	if err != nil {
		t.Fatal(err)
	}
	defer lp.Free()
	if f, err := RunNative(context.Background(), lp, 2); err != nil || len(f) > 0 {
		t.Fatal(err, f)
	}
	for i, v := range pout {
		if v != int64(i) {
			t.Fatalf("priv: out[%d] = %d, want %d", i, v, i)
		}
	}
	e, _ := m.Entry("counted")
	out, count := onHeap[int32](256), onHeap[int32](1)
	l, err := NewLaunch(e, Geometry{Dims: 1, Global: [3]int{256}, Local: [3]int{64}}, []Arg{addr(out), addr(count)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if f, err := RunNative(context.Background(), l, 2); err != nil || len(f) > 0 {
		t.Fatal(err, f)
	}
	seen := make([]bool, 256)
	for i, v := range out {
		if v < 0 || v >= 256 || seen[v] {
			t.Fatalf("out[%d] = %d: counter values must be 0..255, each once", i, v)
		}
		seen[v] = true
	}
	if count[0] != 256 {
		t.Fatalf("count = %d, want 256", count[0])
	}
}

// TestGroupLoopIDLimit: a launch whose dimension-0 ids reach
// clc.GroupLoopIDLimit runs item by item (the group loop assumes ids below
// it, and would turn int i = get_global_id(0) into the id itself: here
// 2^31 + j, where the int is negative).
func TestGroupLoopIDLimit(t *testing.T) {
	m := jamModule(t)
	e, _ := m.Entry("wideid")
	const base = clc.GroupLoopIDLimit - 16
	out := onHeap[int64](64)
	l, err := NewLaunch(e, Geometry{Dims: 1, Global: [3]int{64}, Local: [3]int{16}, Offset: [3]int{base}},
		[]Arg{addr(out), {Bytes: le64(base)}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if f, err := RunNative(context.Background(), l, 2); err != nil || len(f) > 0 {
		t.Fatal(err, f)
	}
	for j, v := range out {
		if want := int64(int32(uint32(base + j))); v != want {
			t.Fatalf("out[%d] = %d, want %d (the id as an int)", j, v, want)
		}
	}
}

// TestJamDivergentAndVectorKernels: a guard that differs inside every
// chunk (every fourth work-item works: each chunk runs scalar), and float4
// values with a uniform branch inside the work-item's loop (the lanes'
// copies are vector instructions already). Both jammed, both bit-identical
// to the Go reference.
func TestJamDivergentAndVectorKernels(t *testing.T) {
	m := jamModule(t)
	for _, k := range []string{"everyfourth", "vec4"} {
		e, _ := m.Entry(k)
		if lanes, why := e.Jam(); lanes != wijam.Lanes {
			t.Errorf("%s: jam = %d lanes (%q), want %d", k, lanes, why, wijam.Lanes)
		}
	}
	rng := rand.New(rand.NewSource(2))
	const items, n = 96, 37
	in := onHeap[float32](4 * 64)
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}

	e, _ := m.Entry("everyfourth")
	out := onHeap[float32](items)
	for i := range out {
		out[i] = -3
	}
	l, err := NewLaunch(e, Geometry{Dims: 1, Global: [3]int{items}, Local: [3]int{24}},
		[]Arg{addr(out), addr(in), {Bytes: le32(n)}})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := RunNative(context.Background(), l, 2); err != nil || len(f) > 0 {
		t.Fatal(err, f)
	}
	l.Free()
	for i, v := range out {
		want := float32(-3)
		if i&3 == 0 {
			want = 0
			for k := range n {
				want += float32(in[k] * float32(i))
			}
		}
		if math.Float32bits(v) != math.Float32bits(want) {
			t.Fatalf("everyfourth: out[%d] = %v, want %v", i, v, want)
		}
	}

	e, _ = m.Entry("vec4")
	scale := [4]float32{0.5, -1.25, 2, 0.75}
	var sb []byte
	for _, f := range scale {
		sb = append(sb, le32(math.Float32bits(f))...)
	}
	for _, flip := range []uint32{0, 1} {
		out4 := onHeap[float32](4 * items)
		l, err := NewLaunch(e, Geometry{Dims: 1, Global: [3]int{items}, Local: [3]int{32}},
			[]Arg{addr(out4), addr(in), {Bytes: sb}, {Bytes: le32(n)}, {Bytes: le32(flip)}})
		if err != nil {
			t.Fatal(err)
		}
		if f, err := RunNative(context.Background(), l, 2); err != nil || len(f) > 0 {
			t.Fatal(err, f)
		}
		l.Free()
		for i := range items {
			for c := range 4 {
				var acc float32
				for k := range n {
					x := in[4*((i+k)%64)+c]
					if flip == 1 {
						acc = float32(acc*scale[c]) - x
					} else {
						acc += float32(x * scale[c])
					}
				}
				if got := out4[4*i+c]; math.Float32bits(got) != math.Float32bits(acc) {
					t.Fatalf("vec4 flip=%d: out[%d].s%d = %v, want %v", flip, i, c, got, acc)
				}
			}
		}
	}
}

// TestBuildWithoutJam: where the plugin cannot be built (no llvm-config:
// llvm-15-dev missing; here $SVMRT_LLVM_CONFIG names nothing), native
// modules are built without the jam — JamUnavailable names the package,
// Entry.Jam says so — and run the same.
func TestBuildWithoutJam(t *testing.T) {
	tc, err := clc.FindToolchain()
	if err != nil {
		t.Skip(err)
	}
	t.Setenv("SVMRT_LLVM_CONFIG", filepath.Join(t.TempDir(), "llvm-config"))
	// A toolchain of its own: the plugin is looked up once per toolchain
	// and directory, and this one has not been.
	fake := *tc
	fake.Version += " (no jam)"
	src := strings.Replace(kernels.MulMat.Source, "gpu_mul_mat", "gpu_mul_mat_nojam", 1)
	cm, err := tc.Compile(context.Background(), src, clc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(context.Background(), &fake, cm, Native)
	if err != nil {
		t.Fatal(err)
	}
	if err := JamUnavailable(); !errors.Is(err, wijam.ErrUnavailable) || !strings.Contains(err.Error(), "llvm-15-dev") {
		t.Fatalf("JamUnavailable() = %v; want wijam.ErrUnavailable naming llvm-15-dev", err)
	}
	e, err := m.Entry("gpu_mul_mat_nojam")
	if err != nil {
		t.Fatal(err)
	}
	if lanes, why := e.Jam(); lanes != 0 || why != "the module was built without the work-item jam" {
		t.Fatalf("Jam() = %d, %q", lanes, why)
	}
	const n = 24
	a, b, r := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7)-3, float32(i%5)*0.5
	}
	l, err := NewLaunch(e, Geometry{Dims: 2, Global: [3]int{n, n, 1}, Local: [3]int{8, 8, 1}},
		[]Arg{addr(r), addr(a), addr(b), {Bytes: le32(n)}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if f, err := RunNative(context.Background(), l, 2); err != nil || len(f) > 0 {
		t.Fatal(err, f)
	}
	for i, w := range mmRef(a, b, n) {
		if math.Float32bits(r[i]) != math.Float32bits(w) {
			t.Fatalf("r[%d] = %v, want %v", i, r[i], w)
		}
	}
}
