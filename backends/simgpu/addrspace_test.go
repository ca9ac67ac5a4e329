package simgpu

import (
	"testing"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// publishClassifySrc's first kernel stores each work-item's pointers to a
// private variable and to its group's __local memory in global memory; the
// second, run next with the same shape, classifies the pointers another
// group's item stored (its SM's stacks and local memory are still there:
// the device keeps its SMs, and the same shape gives each SM the same
// groups and local block). The stores into ls keep the __local arrays.
const publishClassifySrc = `
__kernel void publish(__global ulong *slots) {
	__local int ls[4];
	int p = (int)get_global_id(0);
	size_t i = get_global_id(0);
	slots[2 * i] = (ulong)&p;
	slots[2 * i + 1] = (ulong)&ls[1];
	ls[get_local_id(0) % 4] = p;
}
__kernel void classify(__global ulong *slots, __global int *out) {
	__local int ls[4];
	size_t i = get_global_id(0), j = (i + get_local_size(0)) % get_global_size(0);
	int *pp = (int *)slots[2 * j], *pl = (int *)slots[2 * j + 1];
	out[4 * i + 0] = to_private(pp) == pp;
	out[4 * i + 1] = to_local(pl) == pl;
	out[4 * i + 2] = to_global(pp) == 0 && to_global(pl) == 0;
	out[4 * i + 3] = to_local(pp) == 0 && to_private(pl) == 0;
	ls[get_local_id(0) % 4] = 1;
}`

// to_private and to_local answer by the memory's kind, not whose it is (as
// a GPU's apertures do): a pointer to another work-item's private variable
// is private, one to another group's __local memory local, on whichever
// SM. They gave NULL for anything but the item's own stack and group; the
// Khronos CTS's language_struct, whose items swap such pointers through a
// global struct, failed hundreds of its 16,384 items.
func TestAddressSpaceOfOtherItemsMemory(t *testing.T) {
	needUFFD(t)
	needCompiler(t)
	p, err := kernels.Compile(publishClassifySrc, kernels.WithBuildOptions("-cl-std=CL2.0"))
	if err != nil {
		t.Fatal(err)
	}
	const n, group = 256, 32 // 8 groups: each on an SM of its own
	d := newDev(t)
	if d.cfg.cost.SMCount < n/group {
		t.Fatalf("%d SMs: the test wants a group per SM", d.cfg.cost.SMCount)
	}
	slotsB := testmem.Aligned(t, svm.PageSize, 2*8*n)
	outB := testmem.Aligned(t, svm.PageSize, 4*4*n)
	nd, slots, out := kernels.Range1D(n, group), testmem.Addr(slotsB), testmem.Int32s(outB)
	if err := run(t, d, p.Kernel("publish"), nd, slots); err != nil {
		t.Fatal(err)
	}
	if err := run(t, d, p.Kernel("classify"), nd, slots, out); err != nil {
		t.Fatal(err)
	}
	checks := []string{"to_private(other's private)", "to_local(other group's local)", "to_global of both NULL", "wrong space NULL"}
	for i, v := range out {
		if v != 1 {
			t.Errorf("work-item %d: %s false", i/4, checks[i%4])
		}
	}
}
