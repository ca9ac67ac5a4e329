package devrt

import (
	"context"
	"math"
	"testing"
)

const saxpySrc = `#pragma OPENCL FP_CONTRACT OFF
__kernel void saxpy(__global float *y, __global const float *x, float a, int n) {
	int i = get_global_id(0);
	if (i < n) y[i] = a * x[i] + y[i];
}
__kernel void rev(__global int *out, __global const int *in, __local int *tmp) {
	int l = get_local_id(0), g = get_global_id(0);
	tmp[l] = in[g];
	barrier(CLK_LOCAL_MEM_FENCE);
	out[g] = tmp[get_local_size(0) - 1 - l];
}
`

func TestNativeSaxpyAndBarrier(t *testing.T) {
	m := compileFor(t, saxpySrc, Native)
	e, err := m.Entry("saxpy")
	if err != nil {
		t.Fatal(err)
	}
	n := 100000
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	l, err := NewLaunch(e, Geometry{Dims: 1, Global: [3]int{100096}, Local: [3]int{128}},
		[]Arg{addr(y), addr(x), {Bytes: le32(math.Float32bits(2))}, {Bytes: le32(uint32(n))}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if f, err := RunNative(context.Background(), l, 2); err != nil || len(f) > 0 {
		t.Fatal(err, f)
	}
	for i := range y {
		if y[i] != 2*float32(i)+1 {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], 2*float32(i)+1)
		}
	}
	e2, _ := m.Entry("rev")
	in, out := onHeap[int32](4096), onHeap[int32](4096)
	for i := range in {
		in[i] = int32(i)
	}
	l2, _ := NewLaunch(e2, Geometry{Dims: 1, Global: [3]int{4096}, Local: [3]int{64}}, []Arg{addr(out), addr(in), {Local: 256}})
	defer l2.Free()
	if f, err := RunNative(context.Background(), l2, 2); err != nil || len(f) > 0 {
		t.Fatal(err, f)
	}
	for i := range out {
		if want := int32(i/64*64 + 63 - i%64); out[i] != want {
			t.Fatalf("out[%d] = %d, want %d", i, out[i], want)
		}
	}
}

// BenchmarkNativeSaxpy is the host cost of one saxpy work-item run natively
// on one worker (the cpu device's per-item overhead), in ns per element.
func BenchmarkNativeSaxpy(b *testing.B) {
	m := compileFor(b, saxpySrc, Native)
	e, err := m.Entry("saxpy")
	if err != nil {
		b.Fatal(err)
	}
	n := 1 << 22
	x, y := make([]float32, n), make([]float32, n)
	l, err := NewLaunch(e, Geometry{Dims: 1, Global: [3]int{n}, Local: [3]int{256}},
		[]Arg{addr(y), addr(x), {Bytes: le32(math.Float32bits(2))}, {Bytes: le32(uint32(n))}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Free()
	b.ResetTimer()
	for range b.N {
		if f, err := RunNative(context.Background(), l, 1); err != nil || len(f) > 0 {
			b.Fatal(err, f)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
}
