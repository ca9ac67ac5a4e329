package runtime_test

import (
	"context"
	"fmt"

	svmrt "github.com/svmrt/svmrt/runtime"
)

// The seed's gpu_mul_mat(r, a, b, m) on ordinary slices: no buffers, no
// copies. Reading r afterwards takes real page faults that bring it home.
func Example() {
	dev, err := svmrt.Open("simgpu", svmrt.WithVRAM(64<<20))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()

	m := 64
	a, b, r := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
	for i := 0; i < m; i++ {
		a[i*m+i] = 2 // a = 2·I
		for j := 0; j < m; j++ {
			b[i*m+j] = float32(i + j)
		}
	}
	if err := svmrt.MulMat(context.Background(), dev, r, a, b, m); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r[0], r[1], r[m*m-1]) // 2·b
	fmt.Println("device faults > 0:", dev.Stats().DeviceFaults > 0 || svmrt.Degraded() != nil)
	// Output:
	// 0 2 252
	// device faults > 0: true
}
