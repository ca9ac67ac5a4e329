package kernels

import (
	"unsafe"

	"github.com/svmrt/svmrt/internal/sgemm"
)

// MulMat is the seed's gpu_mul_mat(r, a, b, m): r = a × b for m×m row-major
// float32 matrices. Work-item (col, row) = (GlobalID(0), GlobalID(1)) computes
// r[row*m+col], so neighbouring items of dimension 0 read neighbouring
// columns of b. Launch it over MulMatRange(m); items outside the matrix do
// nothing, so a larger range is also correct.
//
// Body sums k = 0..m-1 in order, rounding to float32 after every product and
// every addition (the products are converted explicitly so no compiler fuses
// them into FMAs: RefMulMat and every Go path round identically on every
// architecture). The OpenCL source turns contraction off (#pragma OPENCL
// FP_CONTRACT OFF), so an OpenCL device that honours it gives the same
// bits too (PoCL does).
//
// HostFast is internal/sgemm: packed, cache-blocked sgemm with a SIMD
// micro-kernel chosen at run time from cpuid (AVX-512F, AVX2+FMA, SSE2, or
// portable Go; sgemm.Kernel names it, SVMRT_SGEMM forces one), on the
// device's worker count of goroutines (the launching one included). It
// applies when r, a and b are bound to memory of known extent (slices or
// pointers to arrays) covering m*m floats, r overlaps neither a nor b, and
// the launch covers the whole matrix. Its contract, like any HostFast, is
// Body's results within float tolerance, and here they differ in the last
// bits: the sum over k is split into k-blocks added in turn, and the AVX
// kernels use fused multiply-adds (one rounding per step instead of Body's
// two). The error stays within the usual k·ε·Σ|a·b| bound; when every
// product and partial sum is exact in float32 (small integers, halves, …)
// the results are still bit-identical. They do not depend on the worker
// count.
var MulMat = &Kernel{
	Name: "gpu_mul_mat",
	Params: []Param{
		{Name: "r", Kind: PtrF32, Written: true},
		{Name: "a", Kind: PtrF32},
		{Name: "b", Kind: PtrF32},
		{Name: "m", Kind: I32},
	},
	Source:   mulMatSource,
	Body:     mulMatBody,
	HostFast: mulMatHostFast,
}

const mulMatSource = `// r = a x b for m x m row-major float matrices.
// Round the product before the addition, as the Go body does (no fused multiply-add),
// so OpenCL results are bit-identical to the Go ones.
#pragma OPENCL FP_CONTRACT OFF
// Work-item (col, row) = (get_global_id(0), get_global_id(1)) computes r[row*m + col].
__kernel void gpu_mul_mat(__global float *r,
                          __global const float *a,
                          __global const float *b,
                          int m)
{
    int col = get_global_id(0);
    int row = get_global_id(1);
    if (row >= m || col >= m)
        return;
    float sum = 0.0f;
    for (int k = 0; k < m; k++)
        sum += a[row * m + k] * b[k * m + col];
    r[row * m + col] = sum;
}
`

func mulMatBody(it *Item, a *Args) {
	col, row := it.GlobalID(0), it.GlobalID(1)
	m := int(a.I32(3))
	if row >= m || col >= m {
		return
	}
	const f = 4 // sizeof(float32)
	arow := a.Ptr(1) + uintptr(row*m)*f
	bcol := a.Ptr(2) + uintptr(col)*f
	stride := uintptr(m) * f
	var sum float32
	for k := 0; k < m; k++ {
		sum += float32(it.LoadF32(arow+uintptr(k)*f) * it.LoadF32(bcol+uintptr(k)*stride))
	}
	it.StoreF32(a.Ptr(0)+uintptr(row*m+col)*f, sum)
}

// MulMatRange is the NDRange for MulMat on m×m matrices: m×m work-items in
// 16×16 groups when 16 divides m, else in g×g groups with g the largest
// divisor of m not above 16. For m <= 0 it is a single work-item that does
// nothing, so an empty product is still a valid launch.
func MulMatRange(m int) NDRange {
	if m <= 0 {
		return Range2D(1, 1, 1, 1)
	}
	l := 16
	for m%l != 0 {
		l--
	}
	return Range2D(m, m, l, l)
}

// RefMulMat is the plain-Go reference for MulMat: r = a × b, summing k in
// order with the same float32 rounding as Body.
func RefMulMat(r, a, b []float32, m int) {
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			var sum float32
			for k := 0; k < m; k++ {
				sum += float32(a[i*m+k] * b[k*m+j])
			}
			r[i*m+j] = sum
		}
	}
}

func mulMatHostFast(nd NDRange, a *Args, workers int) bool {
	m := int(a.I32(3))
	n := nd.norm()
	if m <= 0 || m > 1<<20 || n.Dims < 2 || n.Global[0] < m || n.Global[1] < m || len(a.Ranges) < 3 {
		return false // not the whole matrix (or nothing to do): Body handles it
	}
	r, ok1 := hostF32(a, 0, m*m)
	x, ok2 := hostF32(a, 1, m*m)
	y, ok3 := hostF32(a, 2, m*m)
	if !ok1 || !ok2 || !ok3 || a.Ranges[0].overlaps(a.Ranges[1]) || a.Ranges[0].overlaps(a.Ranges[2]) {
		// Unknown extent, or r aliases an input: then the result depends on
		// the order items run in, and only Body reproduces that faithfully.
		return false
	}
	sgemm.Mul(m, m, m, x, m, y, m, r, m, workers)
	return true
}

// hostF32 returns pointer argument i as a []float32 of n elements, if its
// Range is known to cover them. Only Ranges that Bind derived from real Go
// slices and pointers are trusted: a fast path indexes the memory directly,
// and a hand-assembled Range that overstated its length would make it read or
// write out of bounds on goroutines where a fault cannot be recovered.
func hostF32(a *Args, i, n int) ([]float32, bool) {
	if a.kinds == nil || i >= len(a.Ranges) {
		return nil, false
	}
	rg := a.Ranges[i]
	if rg.Start == 0 || rg.Start != a.Ptr(i) || rg.Len/4 < uintptr(n) {
		return nil, false
	}
	return unsafe.Slice((*float32)(hostPtr(rg.Start)), n), true
}

func (r Range) overlaps(o Range) bool {
	return r.Len > 0 && o.Len > 0 && r.Start < o.End() && o.Start < r.End()
}
