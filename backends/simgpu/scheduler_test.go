package simgpu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// The wave scheduler. Launches that can hang run in a child process
// (inChild) with a deadline.

// launchWithin runs k and, if it does not return within d, prints every
// goroutine and exits the (child) process.
func launchWithin(t *testing.T, dev *Device, k *kernels.Kernel, nd kernels.NDRange, d time.Duration, vals ...any) error {
	t.Helper()
	a, err := kernels.Bind(k, vals...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- dev.Launch(context.Background(), k, nd, a) }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		fmt.Fprintf(os.Stderr, "launch of %s did not return within %v; goroutines:\n%s\n", k.Name, d, buf[:n])
		os.Exit(3)
		return nil
	}
}

var barrierKernel = &kernels.Kernel{
	Name:     "review_barrier_then_fault",
	Params:   []kernels.Param{{Name: "buf", Kind: kernels.PtrU32, Written: true}},
	Barriers: true,
	Body: func(it *kernels.Item, a *kernels.Args) {
		if it.LocalID(0) == 1 {
			time.Sleep(20 * time.Millisecond) // arrive last: release the barrier
		}
		it.Barrier()
		if it.LocalID(0) == 0 {
			it.StoreU32(a.Ptr(0), 7) // first touch of buf: a device fault
		}
	},
}

// Guards against a bug found in review (at 0622227; fixed by Unpark(n)): an
// item released from a barrier unparked itself only after waking, while the
// releasing item kept running. When the releaser finished first, running
// hit 0 with nothing stalled: the scheduler left its loop, and the released
// item's next fault stalled forever (deterministic with GOMAXPROCS=1).
func TestBarrierReleaseThenFault(t *testing.T) {
	if !inChild(t, 20*time.Second) {
		return
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	d := newDev(t)
	buf := make([]uint32, 2*svm.PageSize/4)
	p := buf[svm.PageSize/4:] // a page no one touched
	if err := launchWithin(t, d, barrierKernel, kernels.Range1D(2, 2), 5*time.Second, p); err != nil {
		t.Fatal(err)
	}
	if p[0] != 7 {
		t.Fatalf("store lost: %d", p[0])
	}
	runtime.KeepAlive(buf)
}

var rv2StoreKernel = &kernels.Kernel{
	Name:   "review2_store",
	Params: []kernels.Param{{Name: "buf", Kind: kernels.PtrU32, Written: true}},
	Body: func(it *kernels.Item, a *kernels.Args) {
		it.StoreU32(a.Ptr(0)+uintptr(4*it.GlobalID(0)), 1)
	},
}

// Guards against a bug found in review: when l.service returns an error other than out-of-device-memory
// (DevMem.Migrate failing to register the range, Maps failing to read
// /proc/self/maps, MigrateToHost failing), runWave records it but resumes
// the stalled work-items with nothing changed: no errPages entry, no remote
// mapping. They fault again, the round is serviced again, fails again — the
// launch spins forever, and ctx cancellation is only looked at between
// waves. Trigger: private anonymous memory that userfaultfd refuses to
// register — MAP_DROPPABLE (Linux 6.11+) is shown in /proc/self/maps as
// plain "rw-p" anonymous memory, so it is classified migratable.
func TestServiceErrorLivelocksLaunch(t *testing.T) {
	if !inChild(t, 8*time.Second) {
		return
	}
	const mapDroppable = 0x08
	mem, err := syscall.Mmap(-1, 0, svm.PageSize, syscall.PROT_READ|syscall.PROT_WRITE, mapDroppable|syscall.MAP_ANON)
	if err != nil {
		t.Skipf("MAP_DROPPABLE: %v", err)
	}
	d := newDev(t)
	err = launchWithin(t, d, rv2StoreKernel, kernels.Range1D(1, 1), 3*time.Second, uintptr(unsafe.Pointer(&mem[0])))
	t.Logf("launch: %v", err)
	if err == nil {
		t.Fatal("launch succeeded although the page could not be registered")
	}
}

// Guards against a bug found in review: runWave counts every work-item as running and relies on the body
// wrapper's deferred Park to count it out. kernels.RunGroup validates Args
// (Args.Check) before running any body; Launch does not. With Args bound for
// another kernel (or nil), RunGroup returns ErrBadArgs at once, no body runs,
// w.running never drops, and the scheduler waits on its cond forever.
func TestBadArgsHangLaunch(t *testing.T) {
	if !inChild(t, 8*time.Second) {
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
