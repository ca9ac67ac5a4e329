package kernels

import (
	"runtime"
	"sync"
	"unsafe"
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
// HostFast is a cache-blocked, register-blocked sgemm in plain Go, run on
// GOMAXPROCS goroutines; it applies when r, a and b are bound to memory of
// known extent (slices or pointers to arrays) covering m*m floats, r overlaps
// neither a nor b, and the launch covers the whole matrix. Its contract, like
// any HostFast, is Body's results within float tolerance (the summation order
// of a fast path may differ); this implementation happens to keep Body's
// per-element order and so is bit-identical today.
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

func mulMatHostFast(nd NDRange, a *Args) bool {
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
	sgemm(r, x, y, m, runtime.GOMAXPROCS(0))
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

// Blocking of the host sgemm. A packed kc×nc panel of b (256×256 floats,
// 256 KiB) stays in L2 while every pair of rows of a band streams over it;
// the 2×kc slice of a for the current row pair (2 KiB) stays in L1.
const (
	sgemmKC = 256 // depth of a k-block
	sgemmNC = 256 // columns of a panel
	// Below this size the product is too small to be worth goroutines.
	sgemmParallelMin = 64
)

// sgemm computes r = a × b (m×m, row-major) on up to workers goroutines.
//
// For every element it sums k in increasing order with float32 rounding
// after each step, exactly like RefMulMat: k-blocks are processed in order
// and each carries its partial sums in r from the previous one.
func sgemm(r, a, b []float32, m, workers int) {
	ns := m / 4 // full 4-column strips; the last m%4 columns are done apart
	bp := make([]float32, min(m, sgemmKC)*4*ns)
	if m < sgemmParallelMin {
		workers = 1
	}
	for k0 := 0; k0 < m; k0 += sgemmKC {
		kn := min(sgemmKC, m-k0)
		packB(bp, b, m, k0, kn, ns)
		parallelBands(m, workers, func(i0, i1 int) {
			sgemmBand(r, a, b, bp[:kn*4*ns], m, k0, kn, i0, i1)
		})
	}
}

// packB copies b[k0:k0+kn, 0:4*ns] into bp as ns strips of 4 columns, each
// strip k-major, so the micro-kernel reads 4 consecutive floats per k.
func packB(bp, b []float32, m, k0, kn, ns int) {
	for s := 0; s < ns; s++ {
		dst := bp[s*kn*4 : (s+1)*kn*4]
		for kk := 0; kk < kn; kk++ {
			off := (k0+kk)*m + 4*s
			src := b[off : off+4 : off+4]
			d := dst[kk*4 : kk*4+4 : kk*4+4]
			d[0], d[1], d[2], d[3] = src[0], src[1], src[2], src[3]
		}
	}
}

// parallelBands splits rows [0, m) into bands of an even number of rows (so
// row pairs stay whole) and runs f on each, on up to workers goroutines.
func parallelBands(m, workers int, f func(i0, i1 int)) {
	pairs := (m + 1) / 2
	workers = max(1, min(workers, pairs))
	per := (pairs + workers - 1) / workers * 2
	var wg sync.WaitGroup
	for i0 := per; i0 < m; i0 += per {
		wg.Go(func() { f(i0, min(i0+per, m)) })
	}
	f(0, min(per, m))
	wg.Wait()
}

// sgemmBand adds the k-block [k0, k0+kn) of a × b into rows [i0, i1) of r
// (or, for the first k-block, stores it: r's old contents are not read).
func sgemmBand(r, a, b, bp []float32, m, k0, kn, i0, i1 int) {
	first := k0 == 0
	ns := m / 4
	for s0 := 0; s0 < ns; s0 += sgemmNC / 4 {
		s1 := min(s0+sgemmNC/4, ns)
		i := i0
		for ; i+2 <= i1; i += 2 {
			ar0 := a[i*m+k0 : i*m+k0+kn]
			ar1 := a[(i+1)*m+k0 : (i+1)*m+k0+kn]
			for s := s0; s < s1; s++ {
				micro2x4(r[i*m+4*s:], r[(i+1)*m+4*s:], ar0, ar1, bp[s*kn*4:(s+1)*kn*4], first)
			}
		}
		if i < i1 { // odd row at the end of the matrix
			ar0 := a[i*m+k0 : i*m+k0+kn]
			for s := s0; s < s1; s++ {
				micro1x4(r[i*m+4*s:], ar0, bp[s*kn*4:(s+1)*kn*4], first)
			}
		}
	}
	// The last m%4 columns, one element at a time, still in k order.
	for i := i0; i < i1; i++ {
		ar := a[i*m+k0 : i*m+k0+kn]
		for j := 4 * ns; j < m; j++ {
			var c float32
			if !first {
				c = r[i*m+j]
			}
			for kk, av := range ar {
				c += float32(av * b[(k0+kk)*m+j])
			}
			r[i*m+j] = c
		}
	}
}

// micro2x4 accumulates a 2×4 tile of r: rows ar0/ar1 of a times a packed
// kn×4 strip p of b. The 8 accumulators, 4 b values and one a value fit in
// the 15 float registers Go has on amd64 (a 4×4 tile spills and is slower).
func micro2x4(r0, r1, ar0, ar1, p []float32, first bool) {
	r0, r1 = r0[:4:4], r1[:4:4]
	ar1 = ar1[:len(ar0)]
	p = p[:len(ar0)*4]
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	if !first {
		c00, c01, c02, c03 = r0[0], r0[1], r0[2], r0[3]
		c10, c11, c12, c13 = r1[0], r1[1], r1[2], r1[3]
	}
	for kk, a0 := range ar0 {
		q := p[kk*4 : kk*4+4 : kk*4+4]
		b0, b1, b2, b3 := q[0], q[1], q[2], q[3]
		c00 += float32(a0 * b0)
		c01 += float32(a0 * b1)
		c02 += float32(a0 * b2)
		c03 += float32(a0 * b3)
		a1 := ar1[kk]
		c10 += float32(a1 * b0)
		c11 += float32(a1 * b1)
		c12 += float32(a1 * b2)
		c13 += float32(a1 * b3)
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
}

// micro1x4 is micro2x4 for a single row.
func micro1x4(r0, ar0, p []float32, first bool) {
	r0 = r0[:4:4]
	p = p[:len(ar0)*4]
	var c0, c1, c2, c3 float32
	if !first {
		c0, c1, c2, c3 = r0[0], r0[1], r0[2], r0[3]
	}
	for kk, a0 := range ar0 {
		q := p[kk*4 : kk*4+4 : kk*4+4]
		c0 += float32(a0 * q[0])
		c1 += float32(a0 * q[1])
		c2 += float32(a0 * q[2])
		c3 += float32(a0 * q[3])
	}
	r0[0], r0[1], r0[2], r0[3] = c0, c1, c2, c3
}
