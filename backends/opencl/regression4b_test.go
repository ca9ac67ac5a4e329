package opencl

// Second independent review of the OpenCL backend (4b). Each test here
// failed on the code the review found and passes on the fix.

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/kernels"
)

// Guards against (found in review 4b, fixed): the signature check rejected
// common valid kernels: pointers to vector types (float4* for PtrF32,
// uchar16* for PtrU8), char* for PtrU8, and "unsigned long long" (PoCL:
// "ulong long") for U64. Wrong types stay rejected.
func TestRegression4bSignatureTypeNames(t *testing.T) {
	d := openTest(t, ModeAuto)
	for i, c := range []struct {
		kind kernels.Kind
		arg  string
		ok   bool
	}{
		{kernels.PtrF32, "__global float4 *x", true},
		{kernels.PtrF32, "__global const float16 *x", true},
		{kernels.PtrF32, "__global float3 *x", true},
		{kernels.PtrI32, "__global int8 *x", true},
		{kernels.PtrU32, "__global uint2 *x", true},
		{kernels.PtrU8, "__global uchar16 *x", true},
		{kernels.PtrU8, "__global char *x", true},
		{kernels.PtrU8, "__global signed char *x", true},
		{kernels.PtrU8, "__global char4 *x", true},
		{kernels.U64, "unsigned long long x", true},
		{kernels.I64, "long long x", true},
		// Still wrong.
		{kernels.PtrF32, "__global int4 *x", false},
		{kernels.PtrF32, "__global double4 *x", false},
		{kernels.PtrU32, "__global float4 *x", false},
		{kernels.PtrU8, "__global short *x", false},
		{kernels.PtrU8, "__global ushort2 *x", false},
		{kernels.PtrI32, "__global uint4 *x", false},
		{kernels.U64, "uint x", false},
		{kernels.I64, "int x", false},
	} {
		name := fmt.Sprintf("rg4b_type_%d", i)
		k := &kernels.Kernel{Name: name, Params: []kernels.Param{{Name: "x", Kind: c.kind}},
			Source: "__kernel void " + name + "(" + c.arg + ") { }"}
		p, err := d.sh.program(k)
		if err != nil {
			t.Fatalf("%s: build: %v", c.arg, err)
		}
		err = checkSignature(k, p)
		if c.ok && err != nil {
			t.Errorf("%v param, OpenCL %q (type name %q): rejected: %v", c.kind, c.arg, p.types[0], err)
		}
		if !c.ok && !errors.Is(err, kernels.ErrBadArgs) {
			t.Errorf("%v param, OpenCL %q (type name %q): %v, want kernels.ErrBadArgs", c.kind, c.arg, p.types[0], err)
		}
	}
	// And a vector kernel runs, in either mode, on the program's []float32.
	k := &kernels.Kernel{Name: "rg4b_vec_scale", Params: []kernels.Param{
		{Name: "x", Kind: kernels.PtrF32, Written: true}, {Name: "b", Kind: kernels.PtrU8}, {Name: "n", Kind: kernels.U64}},
		Source: `__kernel void rg4b_vec_scale(__global float4 *x, __global const uchar16 *b, unsigned long long n) {
	size_t i = get_global_id(0);
	if (i < n) x[i] = x[i] * 2.0f + (float)b[0].s1;
}`}
	for _, m := range modes {
		d := openTest(t, m)
		x := make([]float32, 16)
		for i := range x {
			x[i] = float32(i)
		}
		b := make([]byte, 16)
		b[1] = 3
		if err := launch(t, d, k, kernels.Range1D(4, 4), x, b, uint64(4)); err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		for i, v := range x {
			if v != float32(i)*2+3 {
				t.Fatalf("%v: x[%d] = %v, want %v", m, i, v, float32(i)*2+3)
			}
		}
	}
}

// Guards against (found in review 4b, fixed): the signal guard put back
// every disposition that changed during a guarded call, also the program's
// own signal.Ignore made by another goroutine while a program built
// (seconds): SIGUSR1 ignored during a build was handled again after it.
// Now only handlers the OpenCL implementation installed (functions of
// another shared object) and flag/mask-only changes are put back. In a
// child process: it loads OpenCL fresh and changes the process's signals.
func TestRegression4bSignalGuardKeepsProgramChanges(t *testing.T) {
	if !childtest.InChild(t, "SVMRT_OPENCL_SIGNALS_4B_CHILD", 2*time.Minute) {
		return
	}
	d := openTest(t, ModeAuto) // loads PoCL and LLVM (a guarded call that replaces handlers)
	segv := sigaction(syscall.SIGSEGV)
	usr1 := sigaction(syscall.SIGUSR1)
	if usr1[0] <= 1 {
		t.Fatalf("SIGUSR1 handler %#x before the build: want the Go runtime's", usr1[0])
	}
	name := fmt.Sprintf("rg4b_sig_build_%d", time.Now().UnixNano()%1000000)
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

// Guards against (found in review 4b, fixed): after a Close that returned
// ErrCloseTimeout, a second Close returned nil at once while the kernel
// still ran. Now every Close waits again and returns ErrCloseTimeout until
// the device is released; Done is closed then, and Close returns nil.
func TestRegression4bCloseAgainAfterTimeout(t *testing.T) {
	if _, err := Devices(); err != nil {
		t.Skip(err)
	}
	d, err := Open(0, WithCloseTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if d.Mode() != ModePassThrough {
		t.Skip("needs a device that sees host memory while a kernel runs (to release the kernel)")
	}
	flag := abandonWaiting(t, d)
	for i := 1; i <= 3; i++ {
		start := time.Now()
		err := d.Close()
		if !errors.Is(err, ErrCloseTimeout) || !strings.Contains(err.Error(), "1 command(s) still running") {
			t.Fatalf("Close #%d with the kernel still running (flag[2]=%d): %v, want ErrCloseTimeout", i, atomic.LoadUint32(&flag[2]), err)
		}
		if el := time.Since(start); el < 80*time.Millisecond || el > 5*time.Second {
			t.Fatalf("Close #%d returned after %v, want about the 100ms timeout", i, el)
		}
	}
	select {
	case <-d.Done():
		t.Fatal("Done closed while the kernel runs")
	default:
	}
	atomic.StoreUint32(&flag[0], 1)
	select {
	case <-d.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("Done never closed after the kernel ended")
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close after the device was released: %v", err)
	}
	if atomic.LoadUint32(&flag[2]) != 1 {
		t.Fatal("the kernel did not complete")
	}
}

var rg4bSpin = &kernels.Kernel{
	Name:   "rg4b_spin",
	Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}, {Name: "n", Kind: kernels.U32}},
	Source: `__kernel void rg4b_spin(__global uint *out, uint n) {
	uint x = out[0];
	for (uint i = 0; i < n; i++) x = x * 1664525u + 1013904223u + (x >> 7);
	out[0] = x;
}`,
}

// Guards against (found in review 4b, fixed): in buffer mode a launch
// queued behind an earlier, abandoned kernel still running ignored its
// ctx (its copy-in was a blocking clEnqueueSVMMemcpy, which waits for every
// earlier command on the in-order queue), and Map/Unmap/MigrateMem were a
// bare clFinish (blocking past ctx, then nil). Both now return ctx.Err()
// when ctx ends first, and the abandoned launch writes nothing to host
// memory, then or later.
func TestRegression4bBufferCtxBehindRunningKernel(t *testing.T) {
	d := openTest(t, ModeBuffer)
	spin := func(ctx context.Context, out []uint32, n uint32) (time.Duration, error) {
		start := time.Now()
		err := d.Launch(ctx, rg4bSpin, kernels.Range1D(1, 1), mustBind(t, rg4bSpin, out, n))
		return time.Since(start), err
	}
	// Build, then calibrate a kernel of about a second.
	if _, err := spin(context.Background(), []uint32{1}, 1); err != nil {
		t.Fatal(err)
	}
	n := uint32(20_000_000)
	dur, err := spin(context.Background(), []uint32{1}, n)
	if err != nil {
		t.Fatal(err)
	}
	if f := float64(1500*time.Millisecond) / float64(max(dur, time.Millisecond)); f > 1 {
		n = uint32(min(float64(n)*f, 1<<31))
	}
	long := func() []uint32 {
		out := []uint32{1}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := spin(ctx, out, n); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the long kernel: %v, want it abandoned", err)
		}
		return out
	}
	t.Logf("n=%d (calibration %v)", n, dur)
	const bound = time.Second // "at once": well before the ~1.5 s kernel ends, with room for a loaded CI machine

	outA := long()
	outB := []uint32{1}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	el, err := spin(ctx, outB, 1)
	cancel()
	t.Logf("the launch behind it: %v after %v", err, el.Round(time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || el > bound {
		t.Fatalf("a launch behind a running kernel with a 100ms ctx: %v after %v, want context.DeadlineExceeded at once", err, el.Round(time.Millisecond))
	}

	outA2 := long()
	for _, c := range []struct {
		what string
		f    func(ctx context.Context) error
	}{
		{"Map", func(ctx context.Context) error { return d.Map(ctx, 0, 0) }},
		{"Unmap", func(ctx context.Context) error { return d.Unmap(ctx, 0, 0) }},
		{"MigrateMem", func(ctx context.Context) error { return d.MigrateMem(ctx, 0, 0, false) }},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		err := c.f(ctx)
		el := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || el > bound {
			t.Fatalf("buffer-mode %s behind a running kernel with a 50ms ctx: %v after %v, want context.DeadlineExceeded at once", c.what, err, el.Round(time.Millisecond))
		}
	}
	// Drain; nothing the abandoned launches staged was copied back.
	if err := d.Map(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	if outA[0] != 1 || outA2[0] != 1 || outB[0] != 1 {
		t.Fatalf("abandoned launches wrote host memory: %d %d %d", outA[0], outA2[0], outB[0])
	}
	if _, err := spin(context.Background(), outB, 1); err != nil || outB[0] == 1 {
		t.Fatalf("a launch after the drain: %v, out %d", err, outB[0])
	}
}

// Guards against (found in review 4b, fixed): the SVM_PTRS sentinel was
// allocated under a sync.Once: had that clSVMAlloc failed, it stayed 0 for
// the process and launches staging nothing skipped resetting the kernel
// object's SVM_PTRS list (inheriting another launch's freed buffers). Now
// a failed allocation is retried by the next launch (and a launch fails
// with svm.ErrOutOfDeviceMemory if it fails again).
func TestRegression4bSentinelRetried(t *testing.T) {
	d := openTest(t, ModeAuto)
	sh := d.sh
	if sh.sentinel() == 0 {
		t.Skip("no clSVMAlloc")
	}
	// As if the first allocation had failed.
	sh.sentinelMu.Lock()
	old := sh.sentinelPtr
	sh.sentinelPtr = 0
	sh.sentinelMu.Unlock()
	var lists [][]uintptr
	testHookExecInfo = func(_ uintptr, what string, vals []uintptr) {
		if what == "svm-ptrs" {
			lists = append(lists, vals)
		}
	}
	defer func() { testHookExecInfo = nil }()
	out := []uint32{0}
	if err := launch(t, d, rg4Fill, kernels.Range1D(1, 1), out, uint32(9)); err != nil || out[0] != 9 {
		t.Fatal(err, out)
	}
	testHookExecInfo = nil
	sent := sh.sentinel()
	if sent == 0 {
		t.Fatal("the sentinel was not allocated again after a failure")
	}
	if len(lists) != 1 || len(lists[0]) != 1 || lists[0][0] != sent {
		t.Fatalf("SVM_PTRS of a launch staging nothing: %#x, want the sentinel %#x", lists, sent)
	}
	_ = old // the earlier allocation lives for the process, like the sentinel
}
