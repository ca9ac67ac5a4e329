package runtime_test

import (
	"context"
	"fmt"

	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// A kernel written only in OpenCL C, run on every device with the program's
// own slices: no Go body, no parameter list to keep in step with the source.
func ExampleBuild() {
	const src = `
__kernel void axpb(__global float *y, __global const float *x, float a, float b) {
	size_t i = get_global_id(0);
	y[i] = a * x[i] + b;
}`
	ctx := context.Background()
	prog, err := svmrt.Build(ctx, src, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	k := prog.Kernel("axpb")
	for _, p := range k.Params {
		fmt.Printf("%s %v written=%v\n", p.Name, p.Kind, p.Written)
	}
	for _, name := range []string{"cpu", "simgpu", "opencl"} {
		dev, err := svmrt.Open(name)
		if err != nil {
			fmt.Println(name, "unavailable") // no OpenCL platform here
			continue
		}
		x, y := make([]float32, 1024), make([]float32, 1024)
		for i := range x {
			x[i] = float32(i)
		}
		err = dev.Run(ctx, k, kernels.Range1D(len(x), 64), y, x, float32(2), float32(1))
		fmt.Println(name, err, y[0], y[1], y[1023])
		dev.Close()
	}
	// Output:
	// y PtrF32 written=true
	// x PtrF32 written=false
	// a F32 written=false
	// b F32 written=false
	// cpu <nil> 1 3 2047
	// simgpu <nil> 1 3 2047
	// opencl <nil> 1 3 2047
}
