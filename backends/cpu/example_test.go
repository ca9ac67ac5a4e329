package cpu_test

import (
	"context"
	"fmt"

	"github.com/svmrt/svmrt/backends/cpu"
	"github.com/svmrt/svmrt/kernels"
)

// The seed's gpu_mul_mat on the host cores: plain slices in, plain slices
// out. MulMat's HostFast sgemm runs unless the device was made
// WithoutFastPaths, in which case every work-item runs the reference Body.
func ExampleDevice_Launch() {
	const m = 64
	a, b, r := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
	for i := range m {
		a[i*m+i] = 2         // a = 2·I
		b[i*m+(m-1-i)] = 1.5 // b = 1.5·J (anti-diagonal)
	}
	dev := cpu.New()
	defer dev.Close()
	args, err := kernels.Bind(kernels.MulMat, r, a, b, m)
	if err != nil {
		panic(err)
	}
	if err := dev.Launch(context.Background(), kernels.MulMat, kernels.MulMatRange(m), args); err != nil {
		panic(err)
	}
	fmt.Println(r[0*m+m-1], r[5*m+m-6], r[5*m+5])
	fmt.Println("fast path launches:", dev.CPUStats().FastPathLaunches)
	// Output:
	// 3 3 0
	// fast path launches: 1
}
