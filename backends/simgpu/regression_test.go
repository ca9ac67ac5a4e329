package simgpu

// Regression tests from an independent review of the HMM core. Scenarios that can hang the process run in a child process
// (the test binary re-executed with -test.run) with a deadline.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

const rvChildEnv = "SIMGPU_REVIEW_CHILD"

// rvInChild reports whether this is the child run of t. In the parent it
// runs the child with a deadline and fails t if the child fails, crashes or
// hangs; the caller then returns.
func rvInChild(t *testing.T, deadline time.Duration) bool {
	t.Helper()
	if os.Getenv(rvChildEnv) == t.Name() {
		return true
	}
	needUFFD(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), rvChildEnv+"="+t.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	hung := false
	select {
	case err = <-waited:
	case <-time.After(deadline):
		hung = true
		cmd.Process.Kill()
		<-waited
	}
	tail := out.String()
	if len(tail) > 8000 {
		tail = "..." + tail[len(tail)-8000:]
	}
	switch {
	case hung:
		t.Fatalf("child hung (killed after %v):\n%s", deadline, tail)
	case err != nil:
		t.Fatalf("child failed: %v\n%s", err, tail)
	case strings.Contains(out.String(), "--- SKIP"):
		t.Skipf("child skipped:\n%s", tail)
	}
	return false
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
