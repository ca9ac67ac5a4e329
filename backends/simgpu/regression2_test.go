package simgpu

// Second independent review (after 7fccab7): the wave scheduler. Launches
// that can hang run in a child process (rvInChild, rvLaunch from
// regression_test.go) with a deadline.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

var rv2StoreKernel = &kernels.Kernel{
	Name:   "review2_store",
	Params: []kernels.Param{{Name: "buf", Kind: kernels.PtrU32, Written: true}},
	Body: func(it *kernels.Item, a *kernels.Args) {
		it.StoreU32(a.Ptr(0)+uintptr(4*it.GlobalID(0)), 1)
	},
}

// ---------------------------------------------------------------------------
// Guards against (found in the second review, fixed): when l.service returns an error other than out-of-device-memory
// (DevMem.Migrate failing to register the range, Maps failing to read
// /proc/self/maps, MigrateToHost failing), runWave records it but resumes
// the stalled work-items with nothing changed: no errPages entry, no remote
// mapping. They fault again, the round is serviced again, fails again — the
// launch spins forever, and ctx cancellation is only looked at between
// waves. Trigger: private anonymous memory that userfaultfd refuses to
// register — MAP_DROPPABLE (Linux 6.11+) is shown in /proc/self/maps as
// plain "rw-p" anonymous memory, so it is classified migratable.

func TestRegression2ServiceErrorLivelocksLaunch(t *testing.T) {
	if !rvInChild(t, 8*time.Second) {
		return
	}
	const mapDroppable = 0x08
	mem, err := syscall.Mmap(-1, 0, svm.PageSize, syscall.PROT_READ|syscall.PROT_WRITE, mapDroppable|syscall.MAP_ANON)
	if err != nil {
		t.Skipf("MAP_DROPPABLE: %v", err)
	}
	d := newDev(t)
	err = rvLaunch(t, d, rv2StoreKernel, kernels.Range1D(1, 1), 3*time.Second, uintptr(unsafe.Pointer(&mem[0])))
	t.Logf("launch: %v", err)
	if err == nil {
		t.Fatal("launch succeeded although the page could not be registered")
	}
}

// ---------------------------------------------------------------------------
// Guards against (found in the second review, fixed): runWave counts every work-item as running and relies on the body
// wrapper's deferred Park to count it out. kernels.RunGroup validates Args
// (Args.Check) before running any body; Launch does not. With Args bound for
// another kernel (or nil), RunGroup returns ErrBadArgs at once, no body runs,
// w.running never drops, and the scheduler waits on its cond forever.

func TestRegression2BadArgsHangLaunch(t *testing.T) {
	if !rvInChild(t, 8*time.Second) {
		return
	}
	d := newDev(t)
	other := &kernels.Kernel{Name: "review2_other", Params: []kernels.Param{{Name: "n", Kind: kernels.I32}},
		Body: func(*kernels.Item, *kernels.Args) {}}
	a, err := kernels.Bind(other, int32(1))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Launch(context.Background(), rv2StoreKernel, kernels.Range1D(1, 1), a) }()
	select {
	case err := <-done:
		if !errors.Is(err, kernels.ErrBadArgs) {
			t.Fatalf("launch with another kernel's Args: %v, want ErrBadArgs", err)
		}
	case <-time.After(3 * time.Second):
		// Close would wait for the hung launch: report and leave.
		fmt.Fprintln(os.Stderr, "Launch with Args bound for another kernel never returned (scheduler waits for work-items that never ran)")
		os.Exit(3)
	}
}
