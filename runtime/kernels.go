package runtime

import (
	"context"
	"fmt"

	"github.com/svmrt/svmrt/kernels"
)

// MulMat computes r = a × b for m×m row-major float32 matrices on d: the
// seed's gpu_mul_mat(r, a, b, m), on the program's own slices.
func MulMat(ctx context.Context, d *Device, r, a, b []float32, m int) error {
	if m <= 0 || len(r) < m*m || len(a) < m*m || len(b) < m*m {
		return fmt.Errorf("runtime: MulMat: m=%d needs %d elements per matrix, got r=%d a=%d b=%d", m, m*m, len(r), len(a), len(b))
	}
	return d.Run(ctx, kernels.MulMat, kernels.MulMatRange(m), r[:m*m], a[:m*m], b[:m*m], int32(m))
}

// Saxpy computes y = alpha*x + y on d.
func Saxpy(ctx context.Context, d *Device, y, x []float32, alpha float32) error {
	n := min(len(x), len(y))
	if n == 0 {
		return nil
	}
	return d.Run(ctx, kernels.Saxpy, kernels.SaxpyRange(n), y, x, alpha, int32(n))
}
