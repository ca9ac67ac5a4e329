package opencl

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends/cpu"
	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// A short pointer argument: a pointer into a 1-page mapping, followed by
// unmapped pages, through which the kernel reads or writes 4 pages. The
// launch's checks pass (the argument's own range is mapped); the kernel
// faults on a PoCL worker thread. That must be a failed launch naming the
// argument and the address, with the process alive, the host data intact
// and the device lost (ErrDeviceLost for everything after). Each case in a
// child process: the device stays lost for the rest of the process.
func TestShortPointer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mode  Mode
		write bool
		after string // what follows the argument's page: see isolatedPage
	}{
		// Names of one depth: a child's -test.run must match its case alone.
		{"pass-through/read/unmapped", ModePassThrough, false, "unmapped"},
		{"pass-through/write/unmapped", ModePassThrough, true, "unmapped"},
		{"pass-through/read/prot-none", ModePassThrough, false, "prot-none"},
		{"pass-through/write/prot-none", ModePassThrough, true, "prot-none"},
		{"pass-through/read/past-file-end", ModePassThrough, false, "past-file-end"},
		{"buffer/read/guard", ModeBuffer, false, "unmapped"},
		{"buffer/write/guard", ModeBuffer, true, "unmapped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !childtest.InChild(t, "SVMRT_OPENCL_SHORTPTR_CHILD", 2*time.Minute) {
				return
			}
			shortPointer(t, tc.mode, tc.write, tc.after)
		})
	}
}

// isolatedPage maps one read-write page with nothing mapped in the 15
// pages after it, far from where the kernel puts new mappings (which fill
// holes next to existing ones: a hole next to an ordinary mapping may be
// filled by the next mmap of any thread). after says what follows instead:
// "unmapped", "prot-none" (15 PROT_NONE pages), or "past-file-end" (the
// page is the first of a 16-page shared mapping of a 1-page memfd: the
// rest raise SIGBUS).
func isolatedPage(t *testing.T, after string) []byte {
	t.Helper()
	const page, span = 4096, 16 * 4096
	flags, fd := uintptr(syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS), ^uintptr(0)
	if after == "past-file-end" {
		if runtime.GOARCH != "amd64" {
			t.Skip("memfd_create by its amd64 syscall number")
		}
		name := []byte("svmrt-short-file\x00")
		f, _, e := syscall.Syscall(319 /* SYS_MEMFD_CREATE (amd64) */, uintptr(unsafe.Pointer(&name[0])), 1 /* MFD_CLOEXEC */, 0)
		if e != 0 {
			t.Skipf("memfd_create: %v", e)
		}
		t.Cleanup(func() { syscall.Close(int(f)) })
		if err := syscall.Ftruncate(int(f), page); err != nil {
			t.Fatal(err)
		}
		flags, fd = syscall.MAP_SHARED, f
	}
	for hint := uintptr(0x1000_0000_0000); hint < 0x2000_0000_0000; hint += 0x10_0000_0000 {
		p, _, e := syscall.Syscall6(syscall.SYS_MMAP, hint, span, syscall.PROT_READ|syscall.PROT_WRITE,
			flags|0x100000 /* MAP_FIXED_NOREPLACE */, fd, 0)
		if e != 0 {
			continue
		}
		switch after {
		case "prot-none":
			syscall.Syscall(syscall.SYS_MPROTECT, p+page, span-page, syscall.PROT_NONE)
		case "unmapped":
			syscall.Syscall(syscall.SYS_MUNMAP, p+page, span-page, 0)
		}
		t.Cleanup(func() { syscall.Syscall(syscall.SYS_MUNMAP, p, span, 0) })
		return unsafe.Slice((*byte)(unsafe.Add(nil, p)), page) // memory outside the Go heap
	}
	t.Fatal("no free address range for an isolated page")
	return nil
}

var (
	shortRead = &kernels.Kernel{
		Name:   "test_short_read",
		Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}, {Name: "in", Kind: kernels.PtrU32}},
		Source: `__kernel void test_short_read(__global uint *out, __global const uint *in) { size_t i = get_global_id(0); out[i] = in[i] + 1; }`,
	}
	shortWrite = &kernels.Kernel{
		Name:   "test_short_write",
		Params: []kernels.Param{{Name: "in", Kind: kernels.PtrU32}, {Name: "out", Kind: kernels.PtrU32, Written: true}},
		Source: `__kernel void test_short_write(__global const uint *in, __global uint *out) { size_t i = get_global_id(0); out[i] = in[i] + 1; }`,
	}
)

func shortPointer(t *testing.T, m Mode, write bool, after string) {
	if _, err := Devices(); err != nil {
		t.Skip(err)
	}
	d, err := Open(0, WithMode(m), WithCloseTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if d.DeviceInfo().Type != "cpu" {
		t.Skip("the guard covers CPU devices (PoCL): a GPU reports its own faults")
	}
	const page, n = 4096, 4 * 1024 // 4 pages of uint32s
	// The short argument: one page, then unmapped (or PROT_NONE) pages.
	mem := isolatedPage(t, after)
	base := uintptr(unsafe.Pointer(&mem[0]))
	short := testmem.Uint32s(mem[:page])
	for i := range short {
		short[i] = uint32(i)
	}
	long := make([]uint32, n) // the other argument, long enough
	const untouched = 0xaaaaaaaa
	for i := range long {
		long[i] = untouched
	}
	k, param, vals := shortRead, "param 1 (in)", []any{long, short}
	if write {
		for i := range long {
			long[i] = uint32(i)
		}
		k, param, vals = shortWrite, "param 1 (out)", []any{long, short}
	}
	// Build first (a build is seconds; the launch below must fail fast).
	if err := launch(t, d, k, kernels.Range1D(64, 64), long, long); err != nil {
		t.Fatal(err)
	}
	for i := range long[:64] {
		long[i] = map[bool]uint32{false: untouched, true: uint32(i)}[write]
	}
	start := time.Now()
	err = launch(t, d, k, kernels.Range1D(n, 64), vals...)
	t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
	var fe *svm.FaultError
	if !errors.Is(err, svm.ErrDeviceFault) || !errors.Is(err, ErrDeviceLost) || !errors.As(err, &fe) {
		t.Fatalf("short pointer: %v, want a *svm.FaultError (ErrDeviceFault) and ErrDeviceLost", err)
	}
	if fe.Addr < base+page || fe.Addr >= base+4*page {
		t.Errorf("fault at %#x, want in the unmapped pages %#x..%#x after the argument", fe.Addr, base+page, base+4*page)
	}
	if fe.Write != write {
		t.Errorf("fault write=%v, want %v", fe.Write, write)
	}
	if !strings.Contains(err.Error(), k.Name+" "+param) {
		t.Errorf("the error does not name %s %s: %v", k.Name, param, err)
	}
	// Host data intact: the argument's own page as it was (read) or each
	// word as it was or the kernel's value (write); the long argument's
	// words the kernel could not have reached (its work-items faulted
	// before writing) untouched.
	for i, v := range short {
		if v != uint32(i) && !(write && v == uint32(i)+1) {
			t.Fatalf("argument word %d = %#x", i, v)
		}
	}
	if !write {
		for i, v := range long {
			switch {
			case m == ModeBuffer && v != untouched:
				t.Fatalf("buffer mode copied back out[%d] = %#x from a lost launch", i, v)
			case i >= 1024 && v != untouched:
				t.Fatalf("out[%d] = %#x, written by a work-item whose read faulted", i, v)
			case v != untouched && v != uint32(i)+1:
				t.Fatalf("out[%d] = %#x", i, v)
			}
		}
	}
	// The device is lost: everything after is ErrDeviceLost, at once.
	start = time.Now()
	if err := launch(t, d, fillKernel, kernels.Range1D(4, 4), long, uint32(1)); !errors.Is(err, ErrDeviceLost) {
		t.Errorf("launch after the fault: %v", err)
	}
	if err := d.Fill(context.Background(), uintptr(unsafe.Pointer(&long[0])), []byte{1}, 16); !errors.Is(err, ErrDeviceLost) {
		t.Errorf("fill after the fault: %v", err)
	}
	if _, err := Open(0); !errors.Is(err, ErrDeviceLost) {
		t.Errorf("open after the fault: %v", err)
	}
	err = d.Close()
	if !errors.Is(err, ErrDeviceLost) {
		t.Errorf("close after the fault: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the lost device's errors took %v", el)
	}
	t.Log(err)
}

// A short-pointer launch among concurrent good launches: it fails with the
// fault, every other launch either completes with the right data or fails
// with ErrDeviceLost (never a fault error of its own, never a hang). In a
// child process (the device is lost after).
func TestShortPointerAmongLaunches(t *testing.T) {
	if !childtest.InChild(t, "SVMRT_OPENCL_SHORTPTR_CHILD", 2*time.Minute) {
		return
	}
	if _, err := Devices(); err != nil {
		t.Skip(err)
	}
	d, err := Open(0, WithCloseTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if d.DeviceInfo().Type != "cpu" || d.Mode() != ModePassThrough {
		t.Skip("needs PoCL's CPU device in pass-through mode")
	}
	short := testmem.Uint32s(isolatedPage(t, "unmapped"))
	out := make([]uint32, 4*1024)
	// Build both kernels first.
	if err := launch(t, d, shortRead, kernels.Range1D(64, 64), out, out); err != nil {
		t.Fatal(err)
	}
	if err := launch(t, d, fillKernel, kernels.Range1D(64, 64), out, uint32(1)); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 3, 200
	results := make(chan error, workers*rounds)
	stop := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			mine := make([]uint32, 1024)
			for r := 0; r < rounds; r++ {
				v := uint32(w<<16 | r)
				err := launch(t, d, fillKernel, kernels.Range1D(len(mine), 64), mine, v)
				if err == nil && (mine[0] != v || mine[len(mine)-1] != v) {
					err = errors.New("a completed launch left wrong data")
				}
				results <- err
				if errors.Is(err, ErrDeviceLost) {
					break
				}
			}
			stop <- struct{}{}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	err = launch(t, d, shortRead, kernels.Range1D(len(out), 64), out, short)
	var fe *svm.FaultError
	if !errors.As(err, &fe) || !errors.Is(err, ErrDeviceLost) || !strings.Contains(err.Error(), "param 1 (in)") {
		t.Fatalf("short pointer among launches: %v", err)
	}
	deadline := time.After(30 * time.Second)
	for w := 0; w < workers; w++ {
		select {
		case <-stop:
		case <-deadline:
			t.Fatal("good launches hung after the device was lost")
		}
	}
	close(results)
	ok, lost := 0, 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrDeviceLost) && !errors.As(err, &fe):
			lost++
		default:
			t.Errorf("a good launch: %v", err)
		}
	}
	t.Logf("%d good launches completed, %d failed with ErrDeviceLost", ok, lost)
	if lost == 0 {
		t.Error("no good launch saw the device lost")
	}
}

// While kernels are in flight (the kernel-fault handler looks at every
// SIGSEGV then), faults of Go code and of the cpu backend's kernels are
// still Go's: panics that recover, the OpenCL device not lost.
func TestGoFaultsWhileKernelsRun(t *testing.T) {
	d := openTest(t, ModeAuto)
	if d.Mode() != ModePassThrough {
		t.Skip("needs a device that sees host memory while a kernel runs")
	}
	flag := abandonWaiting(t, d) // a kernel spinning on the device until flag[0] = 1
	defer atomic.StoreUint32(&flag[0], 1)
	none := testmem.Map(t, 4096, syscall.PROT_NONE)
	ro := testmem.Float32s(testmem.Map(t, 8192, syscall.PROT_READ))
	c := cpu.New(cpu.WithWorkers(2))
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	for i := 0; i < 100; i++ {
		if got := readFaulting(&none[0]); got == nil {
			t.Fatalf("round %d: reading PROT_NONE memory did not panic", i)
		}
		a := mustBind(t, kernels.Saxpy, ro, ro, float32(1), len(ro))
		var pe *kernels.PanicError
		if err := c.Launch(context.Background(), kernels.Saxpy, kernels.Range1D(2048, 64), a); !errors.As(err, &pe) || !pe.Fault {
			t.Fatalf("round %d: cpu launch writing read-only memory: %v", i, err)
		}
	}
	if atomic.LoadUint32(&flag[2]) != 0 {
		t.Fatal("the spinning kernel ended early: the faults were not seen while a kernel ran")
	}
	if f := lostFault(); f != nil {
		t.Fatalf("a Go fault was taken for a kernel's: %+v", f)
	}
}

func readFaulting(p *byte) (r any) {
	defer func() { r = recover() }()
	_ = *(*byte)(unsafe.Pointer(p))
	return nil
}

// Guards against (found by runtime's FuzzMemoryCommands seed
// launch-null-y-cpu, fixed): the kernel-fault handler ran with every
// signal blocked; when it sat in front of the cpu device's trap handler
// (installed before OpenCL was opened), the trap's siglongjmp left SIGSEGV
// blocked on the worker thread, and its next fault killed the process. In
// a child process, so that the cpu device's handler is installed first.
func TestNativeCPUFaultsBehindHandler(t *testing.T) {
	if !childtest.InChild(t, "SVMRT_OPENCL_NATIVE_CHILD", 2*time.Minute) {
		return
	}
	c := cpu.New(cpu.WithWorkers(2))
	y, x := make([]float32, 2048), make([]float32, 2048)
	if err := c.Launch(context.Background(), kernels.Saxpy, kernels.SaxpyRange(len(y)), mustBind(t, kernels.Saxpy, y, x, float32(1), len(y))); err != nil {
		t.Fatal(err) // the cpu device's trap handler is in place now
	}
	openTest(t, ModeAuto) // the kernel-fault handler goes in front of it
	ro := testmem.Float32s(testmem.Map(t, 8192, syscall.PROT_READ))
	for i := 0; i < 100; i++ {
		var pe *kernels.PanicError
		err := c.Launch(context.Background(), kernels.Saxpy, kernels.Range1D(2048, 64), mustBind(t, kernels.Saxpy, ro, ro, float32(1), len(ro)))
		if !errors.As(err, &pe) || !pe.Fault {
			t.Fatalf("native launch %d writing read-only memory: %v", i, err)
		}
	}
}
