package opencl

// Helpers shared by several test files of the package.

import (
	"github.com/svmrt/svmrt/kernels"
)

// fillKernel writes v to out[i] for every work-item i.
var fillKernel = &kernels.Kernel{
	Name:   "test_fill_u32",
	Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}, {Name: "v", Kind: kernels.U32}},
	Source: `__kernel void test_fill_u32(__global uint *out, uint v) { out[get_global_id(0)] = v; }`,
}
