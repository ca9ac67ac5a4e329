package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/svmrt/svmrt/kernels"
)

// Library returns a case for every kernel of package kernels, at sizes that
// keep a check quick (a few seconds for all of them on every device, once
// the sources are compiled and cached), each with the library's plain-Go
// reference. Every one is expected to be bit-identical on every target but
// cpu/fast for MulMat (its sgemm sums in blocks, with FMAs; see
// kernels.MulMat).
func Library() []Case {
	var cs []Case
	for _, m := range []int{64, 100, 128} { // 16×16 groups; 10×10 groups; 16×16 groups, 8×8 of them
		cs = append(cs, mulMatCase(m, kernels.MulMatRange(m)))
	}
	cs = append(cs, mulMatCase(10, kernels.Range2D(16, 16, 8, 8))) // a range larger than the matrix
	cs = append(cs, saxpyCase(64<<10), saxpyCase(1000), saxpySpecialCase("saxpy/special", -0.75), saxpySpecialCase("saxpy/underflow", 0x1p-100))
	cs = append(cs, sumCase(100_000, 256), sumCase(1000, 100), sumCase(5000, 1024))
	cs = append(cs, sumNDCase(kernels.Range2D(64, 16, 16, 4), 1000), sumNDCase(kernels.Range3D(8, 8, 8, 4, 2, 8), 500))
	cs = append(cs, histogramCase(64<<10, 37), gatherCase(64<<10, 256<<10), strideAddCase(256, 1024), listWalkCase(512))
	return cs
}

// rng is the deterministic source of a case's data: the same seed gives
// the same contents on every call of Inputs.
func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// uniform is n floats in [-1, 1).
func uniform(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

func mulMatCase(m int, nd kernels.NDRange) Case {
	name := fmt.Sprintf("mulmat/m=%d", m)
	if nd != kernels.MulMatRange(m) {
		name += fmt.Sprintf(",range=%dx%d", nd.Global[0], nd.Global[1])
	}
	return Case{
		Name:   name,
		Kernel: kernels.MulMat,
		Range:  nd,
		Inputs: func() []any {
			r := rng(uint64(m))
			return []any{make([]float32, m*m), uniform(r, m*m), uniform(r, m*m), int32(m)}
		},
		Reference: func(args []any) {
			kernels.RefMulMat(args[0].([]float32), args[1].([]float32), args[2].([]float32), m)
		},
	}
}

func saxpyCase(n int) Case {
	return Case{
		Name:   fmt.Sprintf("saxpy/n=%d", n),
		Kernel: kernels.Saxpy,
		Range:  kernels.SaxpyRange(n),
		Inputs: func() []any {
			r := rng(uint64(n))
			return []any{uniform(r, n), uniform(r, n), float32(1.2345678), int32(n)}
		},
		Reference: func(args []any) {
			kernels.RefSaxpy(args[0].([]float32), args[1].([]float32), args[2].(float32), n)
		},
	}
}

// specials are float32 values where implementations part ways if they do
// not follow IEEE 754 to the letter: signed zeros, subnormals (flushed to
// zero under -cl-denorms-are-zero or FTZ/DAZ), the largest and smallest
// normals (overflow, underflow), infinities and NaNs with payloads (quiet
// and signalling).
var specials = []uint32{
	0x00000000, 0x80000000, // +0, -0
	0x00000001, 0x80000001, 0x007fffff, 0x00400000, // subnormals
	0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, // smallest and largest normals
	0x7f800000, 0xff800000, // ±Inf
	0x7fc00000, 0x7fc01234, 0xffc00001, 0x7f800001, // NaNs: quiet (payloads, sign), signalling
	0x3f800000, 0xbf800000, 0x3eaaaaab, 0x4b000001, // ±1, 1/3, 2^23+1
}

// saxpySpecialCase runs saxpy on every pair of special values (x[i], y[i]),
// except those where both a*x[i] and y[i] are NaN: which NaN's payload an
// addition of two NaNs returns is up to the instruction's operand order,
// which IEEE 754 leaves open and a compiler may swap.
func saxpySpecialCase(name string, alpha float32) Case {
	var xs, ys []float32
	for _, xb := range specials {
		for _, yb := range specials {
			x, y := math.Float32frombits(xb), math.Float32frombits(yb)
			if p := float32(alpha * x); p != p && y != y {
				continue
			}
			xs, ys = append(xs, x), append(ys, y)
		}
	}
	n := len(xs)
	return Case{
		Name:   name,
		Kernel: kernels.Saxpy,
		Range:  kernels.SaxpyRange(n),
		Inputs: func() []any {
			return []any{append([]float32(nil), ys...), append([]float32(nil), xs...), alpha, int32(n)}
		},
		Reference: func(args []any) {
			kernels.RefSaxpy(args[0].([]float32), args[1].([]float32), alpha, n)
		},
	}
}

func sumCase(n, local int) Case {
	nd := kernels.SumRange(n, local)
	return Case{
		Name:   fmt.Sprintf("sum_reduce/n=%d,local=%d", n, local),
		Kernel: kernels.SumReduce,
		Range:  nd,
		Inputs: func() []any {
			in := uniform(rng(uint64(n)), n)
			for i := range in {
				in[i] *= float32(1 + i%1000) // a wide range of magnitudes: rounding shows
			}
			return []any{make([]float32, nd.TotalGroups()), in, int32(n)}
		},
		Reference: func(args []any) {
			copy(args[0].([]float32), kernels.RefSumReduce(args[1].([]float32), n, local))
		},
	}
}

// sumNDCase sums n elements over a 2- or 3-D range: the kernel's linear
// ids (get_global_linear_id, get_local_linear_id, the group's linear
// index) give every element to one work-item. There is no reference:
// RefSumReduce models the 1-D ranges of SumRange, where a group's items
// are consecutive elements; here they are not. The body and the source
// are compared with each other.
func sumNDCase(nd kernels.NDRange, n int) Case {
	return Case{
		Name:   fmt.Sprintf("sum_reduce/n=%d,%d-D", n, nd.Dims),
		Kernel: kernels.SumReduce,
		Range:  nd,
		Inputs: func() []any {
			return []any{make([]float32, nd.TotalGroups()), uniform(rng(uint64(n)), n), int32(n)}
		},
	}
}

func histogramCase(n, nbins int) Case {
	return Case{
		Name:   fmt.Sprintf("histogram/n=%d,bins=%d", n, nbins),
		Kernel: kernels.Histogram,
		Range:  kernels.HistogramRange(n),
		Inputs: func() []any {
			r := rng(uint64(n))
			bins, data := make([]uint32, nbins), make([]uint32, n)
			for i := range bins {
				bins[i] = uint32(i * 1000) // bins are added to, not cleared
			}
			for i := range data {
				data[i] = r.Uint32()
			}
			return []any{bins, data, int32(n), int32(nbins)}
		},
		Reference: func(args []any) {
			kernels.RefHistogram(args[0].([]uint32), args[1].([]uint32), n)
		},
	}
}

func gatherCase(n, srcLen int) Case {
	return Case{
		Name:   fmt.Sprintf("gather/n=%d,src=%d", n, srcLen),
		Kernel: kernels.Gather,
		Range:  kernels.GatherRange(n),
		Inputs: func() []any {
			r := rng(uint64(n))
			src, idx := uniform(r, srcLen), make([]uint32, n)
			for i := range idx {
				idx[i] = uint32(r.IntN(srcLen))
			}
			return []any{make([]float32, n), src, idx, int32(n)}
		},
		Reference: func(args []any) {
			kernels.RefGather(args[0].([]float32), args[1].([]float32), args[2].([]uint32), n)
		},
	}
}

func strideAddCase(n, stride int) Case {
	const v = -7
	return Case{
		Name:   fmt.Sprintf("stride_add/n=%d,stride=%d", n, stride),
		Kernel: kernels.StrideAdd,
		Range:  kernels.StrideAddRange(n),
		Inputs: func() []any {
			p := make([]int32, n*stride)
			for i := range p {
				p[i] = int32(i)
			}
			return []any{p, int32(stride), int32(v), int32(n)}
		},
		Reference: func(args []any) {
			kernels.RefStrideAdd(args[0].([]int32), stride, v, n)
		},
	}
}

// listWalkCase: n lists of 0 to 31 nodes each, values of mixed magnitudes
// (so the order of the additions shows in the sums).
func listWalkCase(n int) Case {
	return Case{
		Name:   fmt.Sprintf("list_walk/lists=%d", n),
		Kernel: kernels.ListWalk,
		Range:  kernels.ListWalkRange(n),
		Inputs: func() []any {
			r := rng(uint64(n))
			heads := make([]*kernels.ListNode, n)
			for i := range heads {
				for j := 0; j < i%32; j++ {
					heads[i] = &kernels.ListNode{Next: heads[i], Value: (r.Float32() - 0.5) * float32(int(1)<<(j%20))}
				}
			}
			return []any{make([]float32, n), heads, int32(n)}
		},
		Reference: func(args []any) {
			copy(args[0].([]float32), kernels.RefListWalk(args[1].([]*kernels.ListNode)))
		},
	}
}
