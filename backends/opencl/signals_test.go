package opencl

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends/cpu"
	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
)

// sigaction reads the kernel's struct sigaction for sig.
func sigaction(sig syscall.Signal) [4]uint64 {
	var act [4]uint64
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&act)), 8, 0, 0)
	return act
}

// Loading PoCL and building programs with its LLVM leaves the Go runtime's
// signal handlers in place. (LLVM installs crash handlers with
// SA_RESETHAND; with them, a cpu-backend kernel faulting on two threads at
// once could kill the process: found as a rare SIGSEGV death of `svmrt
// conform` after OpenCL had been loaded.) In a child process, so that
// OpenCL is loaded fresh.
func TestSignalHandlersKept(t *testing.T) {
	if !childtest.InChild(t, "SVMRT_OPENCL_SIGNALS_CHILD", 2*time.Minute) {
		return
	}
	sigs := []syscall.Signal{syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGINT, syscall.SIGTERM}
	before := map[syscall.Signal][4]uint64{}
	for _, sig := range sigs {
		before[sig] = sigaction(sig)
	}
	devs, err := Devices()
	if err != nil {
		t.Skip(err)
	}
	d := openTest(t, ModeAuto)
	k := &kernels.Kernel{
		Name:   "test_signals_build",
		Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}},
		Source: `__kernel void test_signals_build(__global uint *out) { out[0] = 7; }`,
	}
	out := []uint32{0}
	if err := d.Launch(context.Background(), k, kernels.Range1D(1, 1), mustBind(t, k, out)); err != nil || out[0] != 7 {
		t.Fatal(err, out)
	}
	for _, sig := range sigs {
		now := sigaction(sig)
		if sig == syscall.SIGSEGV || sig == syscall.SIGBUS {
			// Open put the kernel-fault handler in front of Go's
			// (kernelfault.c), with Go's flags plus SA_NODEFER and an
			// empty mask (see kf_install); it forwards every other such
			// signal to Go's.
			h, fwd := faultHandlers(sig)
			const nodefer = 0x40000000
			if now[0] != uint64(h) || fwd != uintptr(before[sig][0]) || now[1] != before[sig][1]|nodefer || now[3] != 0 {
				t.Errorf("%v: handler %#x flags %#x mask %#x, want the kernel-fault handler %#x forwarding to Go's %#x (was %#x %#x %#x)",
					sig, now[0], now[1], now[3], h, fwd, before[sig][0], before[sig][1], before[sig][3])
			}
			continue
		}
		if now != before[sig] {
			t.Errorf("%v: handler %#x flags %#x, was %#x %#x", sig, now[0], now[1], before[sig][0], before[sig][1])
		}
	}
	if strings.Contains(devs[0].Platform, "Portable Computing Language") && signalsRestored() == 0 {
		t.Error("PoCL installed no handler to restore: has the guard stopped covering the call that installs them?")
	}
	t.Logf("%d handlers restored", signalsRestored())

	// And the cpu backend's fault handling works, concurrently, with
	// OpenCL loaded.
	ro := testmem.Float32s(testmem.Map(t, 8192, syscall.PROT_READ))
	c := cpu.New(cpu.WithWorkers(2))
	for i := 0; i < 200; i++ {
		a := mustBind(t, kernels.Saxpy, ro, ro, float32(1), len(ro))
		var pe *kernels.PanicError
		if err := c.Launch(context.Background(), kernels.Saxpy, kernels.Range1D(2048, 64), a); !errors.As(err, &pe) || !pe.Fault {
			t.Fatalf("launch %d writing read-only memory: %v", i, err)
		}
	}
}
