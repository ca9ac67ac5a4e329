package cpu

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/svmrt/svmrt/kernels"
)

// BenchmarkMulMat compares MulMat's HostFast sgemm with its reference Body
// (one goroutine per worker running work-groups, every access through the
// Item accessors) on the cpu device, in GFLOP/s (2·m³ flops per product).
func BenchmarkMulMat(b *testing.B) {
	for _, c := range []struct {
		name string
		m    int
		opts []Option
	}{
		{"fast", 256, nil},
		{"body", 256, []Option{WithoutFastPaths()}},
		{"fast", 512, nil},
		{"fast", 1024, nil},
	} {
		b.Run(fmt.Sprintf("%s/%d", c.name, c.m), func(b *testing.B) {
			m := c.m
			r := rand.New(rand.NewPCG(1, 1))
			x, y, out := randF32(r, m*m), randF32(r, m*m), make([]float32, m*m)
			d := New(c.opts...)
			a := bind(b, kernels.MulMat, out, x, y, m)
			nd := kernels.MulMatRange(m)
			for b.Loop() {
				if err := d.Launch(context.Background(), kernels.MulMat, nd, a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(m)*float64(m)*float64(m)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkSaxpy is a memory-bound kernel through the Body path: the
// executor's per-work-item cost across workers.
func BenchmarkSaxpy(b *testing.B) {
	n := 1 << 20
	y, x := make([]float32, n), make([]float32, n)
	d := New()
	a := bind(b, kernels.Saxpy, y, x, float32(2), n)
	nd := kernels.SaxpyRange(n)
	for b.Loop() {
		if err := d.Launch(context.Background(), kernels.Saxpy, nd, a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
	b.SetBytes(int64(n) * 12)
}
