package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// How cpu and simgpu build OpenCL C that a single work-item's view gets
// wrong once many items run in one function or groups share one module.

// A __local variable declared in a kernel's body was one variable for the
// whole launch on cpu and simgpu, shared by the groups running at once (a
// per-group count came out 113 instead of 128, or 256). Until it gets
// per-group storage those devices refuse it, saying what to do instead;
// an OpenCL device runs it.
func TestKernelScopeLocalVariable(t *testing.T) {
	const src = `
__kernel void count_local(__global int *out) {
	__local int cnt;
	if (get_local_id(0) == 0) cnt = 0;
	barrier(CLK_LOCAL_MEM_FENCE);
	atomic_inc(&cnt);
	barrier(CLK_LOCAL_MEM_FENCE);
	if (get_local_id(0) == 0) out[get_group_id(0)] = cnt;
}`
	p, err := kernels.Compile(src)
	if errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	for _, name := range everyDevice(t) {
		t.Run(name, func(t *testing.T) {
			d := open(t, name)
			out := make([]int32, 64)
			err := d.Run(context.Background(), p.Kernel("count_local"), kernels.Range1D(64*128, 128), out)
			if name == "opencl" {
				if err != nil {
					t.Fatal(err)
				}
				for g, v := range out {
					if v != 128 {
						t.Fatalf("group %d counted %d items, want 128", g, v)
					}
				}
				return
			}
			if !errors.Is(err, svmrt.ErrNotSupported) || !strings.Contains(err.Error(), `"cnt"`) ||
				!strings.Contains(err.Error(), "count_local") || !strings.Contains(err.Error(), "__local pointer argument") {
				t.Fatalf("got %v, want ErrNotSupported naming count_local's cnt and the way out", err)
			}
		})
	}
}

// A helper that is not inlined and calls get_global_id: in the cpu
// device's group loop its call was hoisted out of the loop (the builtin is
// declared const, so the helper was taken for one), and every item of a
// row got the first one's id.
func TestHelperFunctionReadsItsOwnWorkItemID(t *testing.T) {
	const src = `
__attribute__((noinline)) int gid(void) { return get_global_id(0); }
__attribute__((noinline)) int lid(void) { return get_local_id(0); }
__kernel void helper_id(__global int *out, __global int *local_ids) {
	out[get_global_id(0)] = gid();
	local_ids[get_global_id(0)] = lid();
}`
	p, err := kernels.Compile(src)
	if errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	for _, name := range everyDevice(t) {
		t.Run(name, func(t *testing.T) {
			d := open(t, name)
			ids, lids := make([]int32, 4096), make([]int32, 4096)
			if err := d.Run(context.Background(), p.Kernel("helper_id"), kernels.Range1D(4096, 256), ids, lids); err != nil {
				t.Fatal(err)
			}
			for i := range ids {
				if ids[i] != int32(i) || lids[i] != int32(i%256) {
					t.Fatalf("item %d: helpers returned global id %d, local id %d", i, ids[i], lids[i])
				}
			}
		})
	}
}
