package kerneltest_test

import (
	"context"
	"fmt"
	"os"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/kernels/kerneltest"
)

// scale is a kernel of your own, written twice: OpenCL C for the devices
// and a Go body. The check makes sure the two agree bit for bit.
var scale = &kernels.Kernel{
	Name: "scale",
	Params: []kernels.Param{
		{Name: "out", Kind: kernels.PtrF32, Written: true},
		{Name: "in", Kind: kernels.PtrF32},
		{Name: "s", Kind: kernels.F32},
		{Name: "n", Kind: kernels.I32},
	},
	Source: `#pragma OPENCL FP_CONTRACT OFF
__kernel void scale(__global float *out, __global const float *in, float s, int n) {
	int i = get_global_id(0);
	if (i < n) out[i] = in[i] * s + 1.0f;
}`,
	Body: func(it *kernels.Item, a *kernels.Args) {
		i := it.GlobalID(0)
		if i < int(a.I32(3)) {
			// float32(...) rounds the product before the addition, as the
			// source does with FP_CONTRACT OFF (Go would otherwise be
			// free to fuse them).
			v := float32(it.LoadF32(a.Ptr(1)+uintptr(i)*4)*a.F32(2)) + 1
			it.StoreF32(a.Ptr(0)+uintptr(i)*4, v)
		}
	},
}

// Check a kernel of your own on every device here: its compiled source on
// cpu, simgpu and opencl against its Go body on the cpu device. In a test,
// kerneltest.T(t, c) does the same and fails the test on a difference.
func ExampleCheck() {
	const n = 10000
	c := kerneltest.Case{
		Kernel: scale,
		Range:  kernels.Range1D(10240, 256),
		Inputs: func() []any { // fresh memory, the same contents, every call
			in := make([]float32, n)
			for i := range in {
				in[i] = float32(i) / 7
			}
			return []any{make([]float32, n), in, float32(0.3), int32(n)}
		},
	}
	rep, err := kerneltest.Check(context.Background(), c) // cpu, simgpu, opencl
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(rep) // one line per run: target, device, path, result
	if !rep.OK() {
		fmt.Println(rep.Err())
	}
}
