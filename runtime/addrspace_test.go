package runtime_test

import (
	"context"
	"errors"
	"testing"

	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// to_global, to_local and to_private (OpenCL C 2.0's generic address
// space) on cpu and simgpu: each gives back a pointer into its own address
// space and NULL for one into another. (The Khronos CTS's
// test_generic_address_space found them missing: "undefined symbol:
// __to_global"; and a static __local variable compared with NULL in a
// constant expression broke the build.) A pointer to a neighbour's private
// variable is private too (check 8: the answer is the memory's kind, not
// whose it is, as the CTS's language_struct expects). PoCL 3.1 here has no
// generic address space: its compiler does not declare them.
func TestAddressSpaceQualifierFunctions(t *testing.T) {
	const src = `
__kernel void spaces(__global int *out, __global int *g, __local int *la) {
	__local int ls[4];
	__local ulong mine[16];
	int p = (int)get_global_id(0);
	la[get_local_id(0)] = 1;
	ls[0] = 2;
	__generic int *pg = g + p, *pl = la + get_local_id(0), *ps = ls, *pp = &p;
	int i = p * 9;
	mine[get_local_id(0)] = (ulong)&p;
	barrier(CLK_LOCAL_MEM_FENCE);
	int *next = (int *)mine[(get_local_id(0) + 1) % get_local_size(0)];
	out[i + 8] = to_private(next) == next && to_global(next) == 0;
	out[i + 0] = to_global(pg) == g + p;
	out[i + 1] = to_global(pl) == 0;
	out[i + 2] = to_local(pl) == la + get_local_id(0);
	out[i + 3] = to_local(ps) == ls;
	out[i + 4] = to_local(pg) == 0;
	out[i + 5] = to_private(pp) == &p;
	out[i + 6] = to_private(pg) == 0;
	out[i + 7] = to_global(pp) == 0 && to_private(pl) == 0;
}`
	ctx := context.Background()
	prog, err := svmrt.Build(ctx, src, "-cl-std=CL2.0")
	if err != nil {
		if errors.Is(err, svmrt.ErrNoToolchain) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	k := prog.Kernel("spaces")
	const n, group = 64, 16
	for _, name := range []string{"cpu", "simgpu"} {
		dev, err := svmrt.Open(name)
		if err != nil {
			t.Logf("%s: %v", name, err)
			continue
		}
		out, g := make([]int32, 9*n), make([]int32, n)
		err = dev.Run(ctx, k, kernels.Range1D(n, group), out, g, group*4)
		dev.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for i, v := range out {
			if v != 1 {
				t.Errorf("%s: work-item %d, check %d false", name, i/9, i%9)
			}
		}
	}
}
