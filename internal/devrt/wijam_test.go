package devrt

import (
	"context"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/internal/clc"
	"github.com/svmrt/svmrt/internal/devrt/wijam"
)

// The work-item jam (package wijam) on the cpu: which group loops it takes,
// and that what it runs is what the scalar loop would have.

const jamSrc = `#pragma OPENCL FP_CONTRACT OFF
__kernel void mm(__global float *r, __global const float *a, __global const float *b, int m) {
	int col = get_global_id(0), row = get_global_id(1);
	if (row >= m || col >= m)
		return;
	float sum = 0.0f;
	for (int k = 0; k < m; k++)
		sum += a[row * m + k] * b[k * m + col];
	r[row * m + col] = sum;
}
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
__kernel void plain(__global float *y, __global const float *x) {
	int i = get_global_id(0);
	y[i] = 2.0f * x[i];
}
__kernel void wideid(__global long *out, ulong base) {
	int i = get_global_id(0);
	out[get_global_id(0) - base] = i;
}
`

func jamModule(t *testing.T) *Module {
	t.Helper()
	if err := JamUnavailable(); err != nil {
		t.Fatalf("the work-item jam is not available: %v", err)
	}
	return compileFor(t, jamSrc, Native)
}

// TestJamOutcomes: mulmat's loop is jammed with wijam.Lanes lanes; the
// kernels it must not jam say why (atomics; a store every work-item makes
// to one address; a branch on a loaded, per-item trip count).
func TestJamOutcomes(t *testing.T) {
	m := jamModule(t)
	for _, c := range []struct {
		kernel, why string
		lanes       int
	}{
		{"mm", "", wijam.Lanes},
		{"counted", "atomics", 0},
		{"shared", "a store to an address shared by all work-items", 0},
		{"ragged", "a branch that depends on the work-item through memory or a loop", 0},
		{"plain", "LLVM's loop vectorizer took the loop", 0},
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

// mmRef is mm's result computed the way the kernel does (no fused
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

// TestJamMulMatBitIdentical runs the jammed mm over shapes that take every
// path: whole rows of chunks (16 wide groups), a remainder the scalar loop
// runs (12 wide: one chunk and four items), rows narrower than a chunk (4),
// and a global size past m, where the guard differs inside a chunk and the
// rest of the row goes scalar. Every result must equal the reference bit
// for bit, and nothing past m may be written.
func TestJamMulMatBitIdentical(t *testing.T) {
	m := jamModule(t)
	e, err := m.Entry("mm")
	if err != nil {
		t.Fatal(err)
	}
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
// their scalar results (every counter value once; the last store wins).
func TestJamRefusedKernelsStillRun(t *testing.T) {
	m := jamModule(t)
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
