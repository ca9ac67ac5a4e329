package runtime_test

import (
	"context"
	"errors"
	"testing"

	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// Program-scope and function-scope static __global variables belong to
// their program: each program built from the same source starts from the
// initializers (zero without one, a NULL pointer) and keeps its own values
// from launch to launch, on cpu and simgpu. (The Khronos CTS's
// progvar_prog_scope_uninit/_init found a second program reading what the
// first one's writer kernel had stored.)
func TestProgramScopeVariablesArePerProgram(t *testing.T) {
	const src = `
__global int counter;
__global int start = 40;
__global long table[3] = {1, 2, 3};
__global int *__global last;
__kernel void step(__global int *out) {
	static __global int calls;
	out[0] = counter; out[1] = start; out[2] = (int)table[2];
	out[3] = last == 0; out[4] = calls;
	counter += 1; start += 2; table[2] *= 10; last = &counter; calls++;
}`
	ctx := context.Background()
	build := func() *kernels.Kernel {
		prog, err := svmrt.Build(ctx, src, "-cl-std=CL2.0")
		if err != nil {
			if errors.Is(err, svmrt.ErrNoToolchain) {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		return prog.Kernel("step")
	}
	first, second := build(), build()
	fresh := [5]int32{0, 40, 3, 1, 0}
	after := func(n int32) [5]int32 { // the values seen at the (n+1)th launch
		v := fresh
		if n > 0 {
			v = [5]int32{n, 40 + 2*n, 3 * pow10(n), 0, n}
		}
		return v
	}
	for _, name := range []string{"cpu", "simgpu"} {
		dev, err := svmrt.Open(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		run := func(k *kernels.Kernel) [5]int32 {
			out := make([]int32, 5)
			if err := dev.Run(ctx, k, kernels.Range1D(1, 1), out); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return [5]int32(out)
		}
		for i := int32(0); i < 2; i++ {
			if got := run(first); got != after(i) {
				t.Errorf("%s: first program, launch %d saw %v, want %v", name, i+1, got, after(i))
			}
		}
		if got := run(second); got != fresh {
			t.Errorf("%s: second program's first launch saw %v, want the initial values %v", name, got, fresh)
		}
		if got := run(first); got != after(2) {
			t.Errorf("%s: first program after the second ran saw %v, want %v", name, got, after(2))
		}
		dev.Close()
	}
}

func pow10(n int32) int32 {
	p := int32(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}
