package opencl

import (
	"fmt"
	"os/signal"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/kernels"
)

// Guards against (found in the fourth review, fixed): the signal guard
// compared only the handler and flags of each disposition, so a call that
// changed only a handler's sa_mask kept the change; and concurrent guarded
// calls could save each other's replaced handlers as "the original" and
// restore those.
func TestSignalGuard(t *testing.T) {
	const sig = syscall.SIGUSR2
	orig := sigaction(sig)
	changed := orig
	changed[3] ^= 1 << (syscall.SIGHUP - 1) // one more signal blocked while the handler runs
	t.Run("mask", func(t *testing.T) {
		defer setSigaction(sig, orig)
		guardEnter()
		setSigaction(sig, changed)
		guardLeave()
		if now := sigaction(sig); now != orig {
			t.Fatalf("after a guarded call changed only the mask: %#x, want %#x", now, orig)
		}
	})
	t.Run("overlapping", func(t *testing.T) {
		defer setSigaction(sig, orig)
		guardEnter() // call A
		setSigaction(sig, changed)
		guardEnter() // call B starts while A's change is in place
		guardLeave() // A ends
		if now := sigaction(sig); now != changed {
			t.Fatalf("restored while a guarded call was still running: %#x", now)
		}
		guardLeave() // B ends
		if now := sigaction(sig); now != orig {
			t.Fatalf("after overlapping guarded calls: %#x, want the original %#x", now, orig)
		}
	})
}

func setSigaction(sig syscall.Signal, act [4]uint64) {
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

// Guards against (found in review 4b, the second review of the OpenCL
// backend, fixed): the signal guard put back
// every disposition that changed during a guarded call, also the program's
// own signal.Ignore made by another goroutine while a program built
// (seconds): SIGUSR1 ignored during a build was handled again after it.
// Now only handlers the OpenCL implementation installed (functions of
// another shared object) and flag/mask-only changes are put back. In a
// child process: it loads OpenCL fresh and changes the process's signals.
func TestSignalGuardKeepsProgramChanges(t *testing.T) {
	if !childtest.InChild(t, "SVMRT_OPENCL_SIGNALGUARD_CHILD", 2*time.Minute) {
		return
	}
	d := openTest(t, ModeAuto) // loads PoCL and LLVM (a guarded call that replaces handlers)
	segv := sigaction(syscall.SIGSEGV)
	usr1 := sigaction(syscall.SIGUSR1)
	if usr1[0] <= 1 {
		t.Fatalf("SIGUSR1 handler %#x before the build: want the Go runtime's", usr1[0])
	}
	name := fmt.Sprintf("test_guard_build_%d", time.Now().UnixNano()%1000000)
	k := &kernels.Kernel{Name: name, Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}},
		Source: "__kernel void " + name + "(__global uint *out) { out[0] = 7; }"}
	// The build is a guarded call; the program ignores SIGUSR1 while it
	// runs (the outer guard holds the window open around it, as a
	// seconds-long build would).
	guardEnter()
	signal.Ignore(syscall.SIGUSR1)
	out := []uint32{0}
	err := launch(t, d, k, kernels.Range1D(1, 1), out)
	guardLeave()
	if err != nil || out[0] != 7 {
		t.Fatal(err, out)
	}
	if now := sigaction(syscall.SIGUSR1); now[0] != 1 /* SIG_IGN */ {
		t.Fatalf("SIGUSR1, ignored by the program during the build: handler %#x after it, want SIG_IGN", now[0])
	}
	if now := sigaction(syscall.SIGSEGV); now != segv {
		t.Fatalf("SIGSEGV after the build: %#x, want Go's %#x", now, segv)
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGUSR1) // ignored: the process survives
	time.Sleep(50 * time.Millisecond)
}
