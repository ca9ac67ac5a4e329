package cpu

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
)

const compiledSrc = `
__kernel void scale(__global float *y, __global const float *x, float a) {
	size_t i = get_global_id(0);
	y[i] = a * x[i];
}
__kernel void reverse(__global int *out, __global const int *in, __local int *tmp) {
	int l = get_local_id(0), g = get_global_id(0), n = get_local_size(0);
	tmp[l] = in[g];
	barrier(CLK_LOCAL_MEM_FENCE);
	out[g] = tmp[n - 1 - l];
}
__kernel void poke(__global int *p, int at) {
	if (get_global_id(0) == at) p[0] = 1;
}
__kernel void divide(__global int *out, int den) {
	out[get_global_id(0)] = 100 / (den - (int)get_global_id(0));
}
`

func compileProgram(t *testing.T) *kernels.Program {
	t.Helper()
	p, err := kernels.Compile(compiledSrc)
	if errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A kernel given only as OpenCL C runs natively on cpu: with and without
// barriers, __local memory sized at launch.
func TestCompiledKernels(t *testing.T) {
	p := compileProgram(t)
	d := New(WithWorkers(2))
	ctx := context.Background()

	scale := p.Kernel("scale")
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)
	}
	if err := d.Launch(ctx, scale, kernels.Range1D(4096, 128), bind(t, scale, y, x, float32(3))); err != nil {
		t.Fatal(err)
	}
	for i := range y {
		if y[i] != 3*float32(i) {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], 3*float32(i))
		}
	}

	rev := p.Kernel("reverse")
	in, out := make([]int32, 1024), make([]int32, 1024)
	for i := range in {
		in[i] = int32(i)
	}
	if err := d.Launch(ctx, rev, kernels.Range1D(1024, 64), bind(t, rev, out, in, 64*4)); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if want := int32(i/64*64 + 63 - i%64); out[i] != want {
			t.Fatalf("out[%d] = %d, want %d", i, out[i], want)
		}
	}
	if s := d.CPUStats(); s.CompiledLaunches != 2 || s.WorkItems != 4096+1024 {
		t.Errorf("stats %+v: want 2 compiled launches of 5120 items", s)
	}
}

// Bad input to a compiled kernel fails the launch and the process goes on:
// a PROT_NONE pointer (a *kernels.PanicError naming the work-group and the
// address), an integer division by zero, and __local memory beyond the
// device's limit (before anything runs).
func TestCompiledKernelFaults(t *testing.T) {
	p := compileProgram(t)
	d := New(WithWorkers(2))
	ctx := context.Background()
	prot := testmem.Map(t, 4096, syscall.PROT_NONE)
	poke := p.Kernel("poke")
	args, err := kernels.Bind(poke, unsafe.Pointer(&prot[0]), int32(700))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Launch(ctx, poke, kernels.Range1D(1024, 64), args)
	var pe *kernels.PanicError
	// poke reaches no barrier: its groups run as loops, which name the
	// group and the address but not the item.
	if !errors.As(err, &pe) || !pe.Fault || pe.Addr != uintptr(unsafe.Pointer(&prot[0])) || pe.GlobalID != kernels.UnknownItem || pe.Group != 10 {
		t.Fatalf("PROT_NONE store: %v (%+v), want a fault at %p in work-group 10", err, pe, &prot[0])
	}

	div := p.Kernel("divide")
	out := make([]int32, 256)
	err = d.Launch(ctx, div, kernels.Range1D(256, 64), bind(t, div, out, int32(130)))
	if !errors.As(err, &pe) || pe.Fault || pe.GlobalID != kernels.UnknownItem || pe.Group != 2 {
		t.Fatalf("division by zero: %v, want a PanicError for work-group 2", err)
	}
	if out[0] != 100/130 || out[1] != 100/129 {
		t.Errorf("group 0 did not run: %v", out[:4])
	}

	rev := p.Kernel("reverse")
	in := make([]int32, 64)
	err = d.Launch(ctx, rev, kernels.Range1D(64, 64), bind(t, rev, in, in, 1<<30))
	if !errors.Is(err, ErrOutOfLocalMemory) {
		t.Fatalf("1 GiB of local memory: %v, want ErrOutOfLocalMemory", err)
	}

	// The device still works.
	TestCompiledKernels(t)
}
