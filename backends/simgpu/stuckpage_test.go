//go:build svmrt_testhooks

package simgpu

import (
	"syscall"
	"testing"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
)

// A page the host takes back after every fault round's service — in the
// wild the Go runtime reading an object that shares the page with the
// kernel's data, here a hook that reads the page then — would keep its
// work-items stalled for ever (the launch failed after 1000 rounds: "fault
// not resolved"). After stuckRemoteRounds such rounds the page is mapped
// remotely and the items finish on the host's copy.
func TestPageTakenBackEveryRoundIsMappedRemotely(t *testing.T) {
	needUFFD(t)
	needCompiler(t)
	p, err := kernels.Compile(`
__kernel void add_first(__global int *out, __global const int *in) {
	out[get_global_id(0)] = in[0] + (int)get_global_id(0);
}
`)
	if err != nil {
		t.Fatal(err)
	}
	in := testmem.Int32s(testmem.Map(t, 4096, syscall.PROT_READ|syscall.PROT_WRITE))
	in[0] = 7
	out := make([]int32, 256)
	rounds, hostSaw := 0, int32(0)
	d := newDev(t, withAfterService(func() {
		rounds++
		hostSaw = in[0] // a CPU read: the page comes home
	}))
	if err := run(t, d, p.Kernel("add_first"), kernels.Range1D(len(out), 64), out, in); err != nil {
		t.Fatalf("launch: %v (after %d serviced rounds)", err, rounds)
	}
	for i, v := range out {
		if v != 7+int32(i) {
			t.Fatalf("out[%d] = %d, want %d", i, v, 7+i)
		}
	}
	if hostSaw != 7 {
		t.Fatalf("the host read %d from the page, want 7", hostSaw)
	}
	st := countersOf(d)
	if n := d.takenBack.Load(); n != 1 || st.RemoteAccesses == 0 {
		t.Fatalf("%d pages mapped remotely for being taken back, %d remote accesses; want 1 and some (%d rounds)",
			n, st.RemoteAccesses, rounds)
	}
	if rounds > stuckRemoteRounds+2 {
		t.Errorf("%d serviced rounds, want at most %d", rounds, stuckRemoteRounds+2)
	}
	t.Logf("%d serviced rounds, %+v", rounds, st)
}
