package opencl

import (
	"context"
	"testing"

	"github.com/svmrt/svmrt/backends/cpu"
	"github.com/svmrt/svmrt/kernels"
)

// launcher is what the benchmarks launch on: an OpenCL device in either
// mode, or the cpu backend for comparison.
type launcher interface {
	Launch(context.Context, *kernels.Kernel, kernels.NDRange, *kernels.Args) error
}

func benchDevices(b *testing.B) []struct {
	name string
	dev  launcher
} {
	return []struct {
		name string
		dev  launcher
	}{
		{"opencl-pass-through", openTest(b, ModePassThrough)},
		{"opencl-buffer", openTest(b, ModeBuffer)},
		{"cpu", cpu.New()},
	}
}

// BenchmarkSaxpy: y = a*x + y over 1 Mi floats (8 MiB touched, 4 MiB
// written): pass-through hands PoCL the slices; buffer mode copies 8 MiB
// in and 4 MiB out around the kernel.
func BenchmarkSaxpy(b *testing.B) {
	const n = 1 << 20
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	for _, d := range benchDevices(b) {
		b.Run(d.name, func(b *testing.B) {
			a := mustBind(b, kernels.Saxpy, y, x, float32(0.5), n)
			if err := d.dev.Launch(context.Background(), kernels.Saxpy, kernels.SaxpyRange(n), a); err != nil {
				b.Fatal(err) // warm: the program is built
			}
			b.SetBytes(3 * 4 * n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := d.dev.Launch(context.Background(), kernels.Saxpy, kernels.SaxpyRange(n), a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMulMat: the seed's 256×256 product (the cpu backend uses its
// blocked HostFast sgemm; PoCL compiles the naive OpenCL C kernel).
func BenchmarkMulMat(b *testing.B) {
	const m = 256
	x, y, r := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
	for i := range x {
		x[i], y[i] = float32(i%17)/8, float32(i%13)/4
	}
	for _, d := range benchDevices(b) {
		b.Run(d.name, func(b *testing.B) {
			a := mustBind(b, kernels.MulMat, r, x, y, m)
			if err := d.dev.Launch(context.Background(), kernels.MulMat, kernels.MulMatRange(m), a); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := d.dev.Launch(context.Background(), kernels.MulMat, kernels.MulMatRange(m), a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
