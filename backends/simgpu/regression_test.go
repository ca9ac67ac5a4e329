package simgpu

// Regression tests from an independent review of the HMM core. Scenarios that can hang the process run in a child process
// (the test binary re-executed with -test.run) with a deadline.

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

const rvChildEnv = "SIMGPU_REVIEW_CHILD"

// rvInChild runs t in a child process with a deadline (childtest.InChild),
// after checking that migration is available.
func rvInChild(t *testing.T, deadline time.Duration) bool {
	t.Helper()
	if os.Getenv(rvChildEnv) != t.Name() {
		needUFFD(t)
	}
	return childtest.InChild(t, rvChildEnv, deadline)
}

// rvLaunch runs k and, if it does not return within d, prints every
// goroutine and exits the (child) process.
func rvLaunch(t *testing.T, dev *Device, k *kernels.Kernel, nd kernels.NDRange, d time.Duration, vals ...any) error {
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

// ---------------------------------------------------------------------------
// Finding (at 0622227): an item released from a barrier unparked itself only
// after waking, while the releasing item kept running. When the releaser
// finished first, running hit 0 with nothing stalled: the scheduler left its
// loop, and the released item's next fault stalled forever (deterministic
// with GOMAXPROCS=1). Kept as a regression test for the Unpark(n) fix.

var rvBarrierKernel = &kernels.Kernel{
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

func TestRegressionBarrierReleaseThenFault(t *testing.T) {
	if !rvInChild(t, 20*time.Second) {
		return
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	d := newDev(t)
	buf := make([]uint32, 2*svm.PageSize/4)
	p := buf[svm.PageSize/4:] // a page no one touched
	if err := rvLaunch(t, d, rvBarrierKernel, kernels.Range1D(2, 2), 5*time.Second, p); err != nil {
		t.Fatal(err)
	}
	if p[0] != 7 {
		t.Fatalf("store lost: %d", p[0])
	}
	runtime.KeepAlive(buf)
}

// ---------------------------------------------------------------------------
// Finding (-race): DevMem.Release writes d.arena = nil with no lock while
// Caps (via DevMem.Frames), DevMem.Migrate and the Alloc error path read it.
// Fails only under the race detector.
func TestRegressionCapsDuringClose(t *testing.T) {
	needUFFD(t)
	d, err := New(WithVRAM(1 << 20))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			_ = d.Caps()
		}
	}()
	time.Sleep(time.Microsecond)
	d.Close()
	<-done
}
