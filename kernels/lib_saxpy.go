package kernels

// Saxpy is y[i] = a*x[i] + y[i] for i < n, one work-item per element. Launch
// it over SaxpyRange(n); items with i >= n do nothing.
//
// The product is rounded to float32 before the addition (no FMA), as in
// RefSaxpy; the OpenCL source turns contraction off (FP_CONTRACT OFF), so
// OpenCL results are bit-identical on a device that honours it.
var Saxpy = &Kernel{
	Name: "saxpy",
	Params: []Param{
		{Name: "y", Kind: PtrF32, Written: true},
		{Name: "x", Kind: PtrF32},
		{Name: "a", Kind: F32},
		{Name: "n", Kind: I32},
	},
	Source: saxpySource,
	Body:   saxpyBody,
}

const saxpySource = `// y[i] = a * x[i] + y[i] for i < n.
// Round the product before the addition, as the Go body does (no fused multiply-add),
// so OpenCL results are bit-identical to the Go ones.
#pragma OPENCL FP_CONTRACT OFF
__kernel void saxpy(__global float *y,
                    __global const float *x,
                    float a,
                    int n)
{
    int i = get_global_id(0);
    if (i < n)
        y[i] = a * x[i] + y[i];
}
`

func saxpyBody(it *Item, a *Args) {
	i := it.GlobalID(0)
	if i >= int(a.I32(3)) {
		return
	}
	off := uintptr(i) * 4
	y, x := a.Ptr(0)+off, a.Ptr(1)+off
	it.StoreF32(y, float32(a.F32(2)*it.LoadF32(x))+it.LoadF32(y))
}

// SaxpyRange is a 1-D NDRange covering n elements in groups of 256 (or one
// group of n when n < 256). For n <= 0 it is a single idle work-item.
func SaxpyRange(n int) NDRange { return coverRange(n, 256) }

// RefSaxpy is the plain-Go reference for Saxpy.
func RefSaxpy(y, x []float32, a float32, n int) {
	for i := 0; i < n; i++ {
		y[i] = float32(a*x[i]) + y[i]
	}
}

// coverRange is a 1-D range of at least n work-items in groups of local: the
// global size is n rounded up to a multiple of local. Kernels launched over it
// bounds-check their id against n.
func coverRange(n, local int) NDRange {
	if n <= 0 {
		return Range1D(1, 1)
	}
	if n < local {
		local = n
	}
	return Range1D((n+local-1)/local*local, local)
}
