package kernels

// Gather is out[i] = src[idx[i]] for i < n, one work-item per element: the
// random-access pattern of sparse and graph codes (each item may touch a
// different page of src). Indices must be in range; idx values are taken
// as unsigned. Launch it over GatherRange(n).
var Gather = &Kernel{
	Name: "gather",
	Params: []Param{
		{Name: "out", Kind: PtrF32, Written: true},
		{Name: "src", Kind: PtrF32},
		{Name: "idx", Kind: PtrU32},
		{Name: "n", Kind: I32},
	},
	Source: gatherSource,
	Body:   gatherBody,
}

const gatherSource = `// out[i] = src[idx[i]] for i < n.
__kernel void gather(__global float *out,
                     __global const float *src,
                     __global const uint *idx,
                     int n)
{
    int i = get_global_id(0);
    if (i < n)
        out[i] = src[idx[i]];
}
`

func gatherBody(it *Item, a *Args) {
	i := it.GlobalID(0)
	if i >= int(a.I32(3)) {
		return
	}
	j := it.LoadU32(a.Ptr(2) + uintptr(i)*4)
	it.StoreF32(a.Ptr(0)+uintptr(i)*4, it.LoadF32(a.Ptr(1)+uintptr(j)*4))
}

// GatherRange is a 1-D NDRange covering n elements in groups of 256 (or one
// group of n when n < 256).
func GatherRange(n int) NDRange { return coverRange(n, 256) }

// RefGather is the plain-Go reference for Gather.
func RefGather(out, src []float32, idx []uint32, n int) {
	for i := 0; i < n; i++ {
		out[i] = src[idx[i]]
	}
}

// StrideAdd is p[i*stride] += v for i < n (ints): one word in every stride,
// e.g. one per page — the sparse sharing pattern that makes pages bounce
// between a CPU and a device touching the same data in turns (thrashing).
// Launch it over StrideAddRange(n).
var StrideAdd = &Kernel{
	Name: "stride_add",
	Params: []Param{
		{Name: "p", Kind: PtrI32, Written: true},
		{Name: "stride", Kind: I32},
		{Name: "v", Kind: I32},
		{Name: "n", Kind: I32},
	},
	Source: strideAddSource,
	Body:   strideAddBody,
}

const strideAddSource = `// p[i*stride] += v for i < n.
__kernel void stride_add(__global int *p,
                         int stride,
                         int v,
                         int n)
{
    int i = get_global_id(0);
    if (i < n)
        p[(long)i * stride] += v;
}
`

func strideAddBody(it *Item, a *Args) {
	i := it.GlobalID(0)
	if i >= int(a.I32(3)) {
		return
	}
	addr := a.Ptr(0) + uintptr(int64(i)*int64(a.I32(1))*4)
	it.StoreI32(addr, it.LoadI32(addr)+a.I32(2))
}

// StrideAddRange is a 1-D NDRange covering n elements in groups of 64 (or
// one group of n when n < 64).
func StrideAddRange(n int) NDRange { return coverRange(n, 64) }

// RefStrideAdd is the plain-Go reference for StrideAdd.
func RefStrideAdd(p []int32, stride int, v int32, n int) {
	for i := 0; i < n; i++ {
		p[i*stride] += v
	}
}
