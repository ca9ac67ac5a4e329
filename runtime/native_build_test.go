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
// per-group count came out 113 instead of 128, or 256). Every group gets
// its own now, on every device: a counter, a 2-D tile read at constant and
// computed indices and handed to a helper, two kernels of one module each
// with their own, and (cpu and simgpu: PoCL's OpenCL 3.0 has no generic
// address space) one cast to a generic pointer.
func TestKernelScopeLocalVariables(t *testing.T) {
	const src = `
__kernel void count_local(__global int *out) {
	__local int cnt;
	if (get_local_id(0) == 0) cnt = 0;
	barrier(CLK_LOCAL_MEM_FENCE);
	atomic_inc(&cnt);
	barrier(CLK_LOCAL_MEM_FENCE);
	if (get_local_id(0) == 0) out[get_group_id(0)] = cnt;
}
__attribute__((noinline)) int sum4(__local int *p) { return p[0] + p[1] + p[2] + p[3]; }
__kernel void tile(__global int *out) {
	__local int t[8][16];
	__local int first;
	int l = get_local_id(0), g = get_group_id(0);
	t[l / 16][l % 16] = g * 1000 + l;
	if (l == 0) first = g;
	barrier(CLK_LOCAL_MEM_FENCE);
	// t[0][3] and t[7][15] are constant indices.
	out[get_global_id(0)] = t[0][3] + t[7][15] + t[(127 - l) / 16][(127 - l) % 16] + sum4(&t[1][0]) + first;
}`
	p, err := kernels.Compile(src)
	if errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	const genericSrc = `
__attribute__((noinline)) int sum4(int *p) { return p[0] + p[1] + p[2] + p[3]; }
__kernel void via_generic(__global int *out) {
	__local int v[64];
	int l = get_local_id(0);
	v[l] = get_group_id(0) * 100 + l;
	barrier(CLK_LOCAL_MEM_FENCE);
	out[get_global_id(0)] = sum4(&v[0]);
}`
	pg, err := kernels.Compile(genericSrc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range everyDevice(t) {
		t.Run(name, func(t *testing.T) {
			d := open(t, name)
			out := make([]int32, 64)
			if err := d.Run(context.Background(), p.Kernel("count_local"), kernels.Range1D(64*128, 128), out); err != nil {
				t.Fatal(err)
			}
			for g, v := range out {
				if v != 128 {
					t.Fatalf("group %d counted %d items, want 128", g, v)
				}
			}
			if name != "opencl" {
				gen := make([]int32, 8*64)
				if err := d.Run(context.Background(), pg.Kernel("via_generic"), kernels.Range1D(8*64, 64), gen); err != nil {
					t.Fatal(err)
				}
				for i, v := range gen {
					g := int32(i / 64)
					if want := 4*g*100 + 0 + 1 + 2 + 3; v != want {
						t.Fatalf("generic: item %d: %d, want %d", i, v, want)
					}
				}
			}
			const groups = 40
			tiles := make([]int32, groups*128)
			if err := d.Run(context.Background(), p.Kernel("tile"), kernels.Range1D(groups*128, 128), tiles); err != nil {
				t.Fatal(err)
			}
			for i, v := range tiles {
				g, l := int32(i/128), int32(i%128)
				b := g * 1000
				want := (b + 3) + (b + 127) + (b + 127 - l) + (4*b + 16 + 17 + 18 + 19) + g
				if v != want {
					t.Fatalf("item %d (group %d): %d, want %d", i, g, v, want)
				}
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

// A group's static __local variables count against the device's local
// memory with its __local arguments: together more than the device has is
// a launch error saying so, not an allocation that kills the process.
func TestKernelScopeLocalVariablesCountAgainstLocalMemory(t *testing.T) {
	const src = `
__kernel void big(__global char *out, __local char *scratch) {
	__local char buf[60 * 1024];
	buf[get_local_id(0)] = 1;
	scratch[get_local_id(0)] = 2;
	barrier(CLK_LOCAL_MEM_FENCE);
	out[get_global_id(0)] = buf[0] + scratch[0];
}`
	p, err := kernels.Compile(src)
	if errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	d := open(t, "simgpu")
	out := make([]byte, 64)
	err = d.Run(context.Background(), p.Kernel("big"), kernels.Range1D(64, 64), out, 8<<10)
	if !errors.Is(err, svmrt.ErrOutOfDeviceMemory) || !strings.Contains(err.Error(), "__local variables") {
		t.Fatalf("60 KiB of __local variables and an 8 KiB __local argument on a 64 KiB device: %v", err)
	}
	if err := d.Run(context.Background(), p.Kernel("big"), kernels.Range1D(64, 64), out, 1<<10); err != nil {
		t.Fatalf("with a 1 KiB argument it fits: %v", err)
	}
	if out[63] != 3 {
		t.Fatalf("out[63] = %d, want 3", out[63])
	}
}
