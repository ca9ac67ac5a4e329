package simgpu

import (
	"testing"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// genericLocalSrc writes and reads __local and __private memory through
// generic pointers (which are instrumented: they may point anywhere).
const genericLocalSrc = `
void put(int *p, int v) { *p = v; }
int get(int *p) { return *p; }
__kernel void gen(__global int *out) {
	__local int ls[64];
	int priv = 0;
	int l = get_local_id(0);
	put(&ls[l], l);
	put(&priv, 2);
	barrier(CLK_LOCAL_MEM_FENCE);
	out[get_global_id(0)] = get(&ls[63 - l]) + get(&priv);
}`

// genericLocal compiles genericLocalSrc's kernel and maps its output page
// (2 MiB aligned).
func genericLocal(t *testing.T) (k *kernels.Kernel, outB []byte, out []int32) {
	t.Helper()
	needUFFD(t)
	needCompiler(t)
	p, err := kernels.Compile(genericLocalSrc, kernels.WithBuildOptions("-cl-std=CL2.0"))
	if err != nil {
		t.Fatal(err)
	}
	outB = testmem.Aligned(t, svm.PageSize, 2<<20)
	return p.Kernel("gen"), outB, testmem.Int32s(outB)
}

// checkGenericLocal checks gen's results over 128 items in groups of 64.
func checkGenericLocal(t *testing.T, out []int32) {
	t.Helper()
	for i := range 128 {
		if want := int32(63-i%64) + 2; out[i] != want {
			t.Fatalf("out[%d] = %d, want %d", i, out[i], want)
		}
	}
}

// Local and private memory reached through generic pointers is on-chip:
// no fault, no remote access. The page where a group's local block begins
// is only partly local memory (the runtime's blocks start a cache colour
// into their pages) and was taken for host memory: 4 device faults and
// remote accesses for two groups, found while recording traces.
func TestGenericPointersToLocalMemoryDoNotFault(t *testing.T) {
	k, outB, out := genericLocal(t)
	d := newDev(t)
	if err := d.Prefetch(testmem.Addr(outB), uintptr(len(outB))); err != nil {
		t.Fatal(err)
	}
	if err := run(t, d, k, kernels.Range1D(128, 64), out); err != nil {
		t.Fatal(err)
	}
	st := countersOf(d)
	if st.DeviceFaults != 0 || st.RemoteAccesses != 0 {
		t.Errorf("%d device faults, %d remote accesses; want none", st.DeviceFaults, st.RemoteAccesses)
	}
	checkGenericLocal(t, out)
}
