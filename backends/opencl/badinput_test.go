package opencl

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Bad input, as a careless or hostile caller gives it: each case is an
// error naming what and where, before anything is enqueued; the process,
// the device and the host data survive.

// addOne reads in and writes out, one uint32 per work-item.
var addOne = &kernels.Kernel{
	Name:   "test_add_one",
	Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}, {Name: "in", Kind: kernels.PtrU32}},
	Source: `__kernel void test_add_one(__global uint *out, __global const uint *in) { size_t i = get_global_id(0); out[i] = in[i] + 1; }`,
}

// NULL, unmapped, PROT_NONE and read-only-but-written pointer arguments,
// in both modes.
func TestBadPointerArguments(t *testing.T) {
	const page = 4096
	for _, m := range modes {
		d := openTest(t, m)
		good := make([]uint32, 1024)
		out := make([]uint32, 1024)
		for i := range good {
			good[i], out[i] = uint32(i), 7
		}
		iso := isolatedPage(t, "unmapped") // page 0 mapped, the next ones not
		unmapped := unsafe.Slice((*uint32)(unsafe.Add(unsafe.Pointer(&iso[0]), page)), 1024)
		none := testmem.Uint32s(testmem.Map(t, page, syscall.PROT_NONE))
		ro := testmem.Uint32s(testmem.Map(t, page, syscall.PROT_READ))
		addr := func(s []uint32) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s))) }
		for _, c := range []struct {
			name    string
			out, in []uint32
			want    error
			addr    uintptr
			param   string
		}{
			{"NULL in", out, nil, svm.ErrDeviceFault, 0, "param 1 (in)"},
			{"NULL out", nil, good, svm.ErrDeviceFault, 0, "param 0 (out)"},
			{"unmapped in", out, unmapped, svm.ErrDeviceFault, addr(unmapped), "param 1 (in)"},
			{"PROT_NONE in", out, none, svm.ErrDeviceFault, addr(none), "param 1 (in)"},
			{"PROT_NONE out", none, good, svm.ErrDeviceFault, addr(none), "param 0 (out)"},
			{"read-only out", ro, good, svm.ErrPermission, addr(ro), "out"},
		} {
			err := launch(t, d, addOne, kernels.Range1D(1024, 64), c.out, c.in)
			var fe *svm.FaultError
			if !errors.Is(err, c.want) || !errors.As(err, &fe) || fe.Addr != c.addr || !strings.Contains(err.Error(), c.param) {
				t.Fatalf("%v %s: %v, want %v at %#x naming %s", m, c.name, err, c.want, c.addr, c.param)
			}
		}
		if d.Stats().Launches != 0 || out[0] != 7 || ro[0] != 0 {
			t.Fatalf("%v: something ran: %d launches, out[0] %d, ro[0] %d", m, d.Stats().Launches, out[0], ro[0])
		}
		if err := launch(t, d, addOne, kernels.Range1D(1024, 64), out, good); err != nil || out[1023] != 1024 {
			t.Fatalf("%v: a good launch after the bad ones: %v, out[1023] %d", m, err, out[1023])
		}
	}
}

// Counts far larger than the mapping (2^30 bytes on one page followed by
// unmapped pages), and ranges that cross a hole or a PROT_NONE page: every
// memory command and a launch fail at once with ErrDeviceFault naming the
// first bad address, and the host data is unchanged.
func TestHugeCountsAndHoles(t *testing.T) {
	const page, huge = 4096, 1 << 30
	ctx := context.Background()
	for _, m := range modes {
		d := openTest(t, m)
		iso := isolatedPage(t, "unmapped")
		p := uintptr(unsafe.Pointer(&iso[0]))
		hole := p + page
		// A mapping with a PROT_NONE page in its middle.
		mid := testmem.Map(t, 3*page, syscall.PROT_READ|syscall.PROT_WRITE)
		q := uintptr(unsafe.Pointer(&mid[0]))
		if err := syscall.Mprotect(mid[page:2*page], syscall.PROT_NONE); err != nil {
			t.Fatal(err)
		}
		for i := range iso {
			iso[i] = byte(i)
		}
		other := make([]byte, 4*page)
		o := uintptr(unsafe.Pointer(&other[0]))
		// The other side of the huge copies: 1 GiB, never touched.
		gib, err := syscall.Mmap(-1, 0, huge, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Munmap(gib) })
		g := uintptr(unsafe.Pointer(&gib[0]))
		big := unsafe.Slice((*uint32)(unsafe.Pointer(&iso[0])), huge/4) // a slice header claiming 1 GiB
		for _, c := range []struct {
			name string
			f    func() error
			bad  uintptr
		}{
			{"fill 2^30", func() error { return d.Fill(ctx, p, []byte{0xee}, huge) }, hole},
			{"copy 2^30 from", func() error { return d.Copy(ctx, g, p, huge) }, hole},
			{"copy 2^30 to", func() error { return d.Copy(ctx, p, g, huge) }, hole},
			{"map 2^30", func() error { return d.Map(ctx, p, huge) }, hole},
			{"unmap 2^30", func() error { return d.Unmap(ctx, p, huge) }, hole},
			{"migrate 2^30", func() error { return d.MigrateMem(ctx, p, huge, false) }, hole},
			{"migrate 2^30 to host", func() error { return d.MigrateMem(ctx, p, huge, true) }, hole},
			{"launch on a 2^30 slice", func() error { return launch(t, d, addOne, kernels.Range1D(1024, 64), big, big) }, hole},
			{"fill across PROT_NONE", func() error { return d.Fill(ctx, q, []byte{0xee}, 3*page) }, q + page},
			{"copy across PROT_NONE", func() error { return d.Copy(ctx, o, q, 3*page) }, q + page},
			{"migrate across PROT_NONE", func() error { return d.MigrateMem(ctx, q, 3*page, false) }, q + page},
			{"fill wrapping the address space", func() error { return d.Fill(ctx, p, []byte{0xee}, ^uintptr(0)-p+page) }, p},
		} {
			done := make(chan error, 1)
			go func() { done <- c.f() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("%v %s: no answer after 20 s", m, c.name)
			}
			var fe *svm.FaultError
			if !errors.Is(err, svm.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr != c.bad {
				t.Fatalf("%v %s: %v, want ErrDeviceFault at %#x", m, c.name, err, c.bad)
			}
		}
		for i := range iso {
			if iso[i] != byte(i) {
				t.Fatalf("%v: byte %d of the small mapping changed to %#x", m, i, iso[i])
			}
		}
		for i := range other {
			if other[i] != 0 {
				t.Fatalf("%v: byte %d of the other buffer changed to %#x", m, i, other[i])
			}
		}
		if mid[0] != 0 || mid[2*page] != 0 {
			t.Fatalf("%v: the mapping around the PROT_NONE page changed", m)
		}
		if d.Stats().Launches != 0 {
			t.Fatalf("%v: %d launches ran", m, d.Stats().Launches)
		}
	}
}

// Local memory and work-groups beyond the device's limits are errors
// before anything is enqueued.
func TestBeyondDeviceLimits(t *testing.T) {
	d := openTest(t, ModeAuto)
	info := d.DeviceInfo()
	out := make([]uint32, 64)
	dyn := &kernels.Kernel{
		Name:       "test_dyn_local",
		Params:     []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}, {Name: "n", Kind: kernels.U64}},
		Source:     `__kernel void test_dyn_local(__global uint *out, ulong n, __local uint *tmp) { tmp[get_local_id(0)] = 1; out[get_global_id(0)] = tmp[get_local_id(0)]; }`,
		LocalBytes: func(_ kernels.NDRange, a *kernels.Args) int { return int(a.Words[1]) },
	}
	param := &kernels.Kernel{
		Name:   "test_param_local",
		Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}, {Name: "tmp", Kind: kernels.LocalMem}},
		Source: `__kernel void test_param_local(__global uint *out, __local uint *tmp) { tmp[get_local_id(0)] = 2; out[get_global_id(0)] = tmp[get_local_id(0)]; }`,
	}
	if err := launch(t, d, dyn, kernels.Range1D(64, 64), out, uint64(256)); err != nil || out[63] != 1 {
		t.Fatalf("dynamic local memory within the limit: %v, out %d", err, out[63])
	}
	for _, n := range []uint64{1 << 40, info.LocalMem + 1} {
		if err := launch(t, d, dyn, kernels.Range1D(64, 64), out, n); !errors.Is(err, kernels.ErrInvalidNDRange) || !strings.Contains(err.Error(), "local memory") {
			t.Fatalf("%d bytes of dynamic local memory: %v, want ErrInvalidNDRange", n, err)
		}
	}
	pa, err := kernels.Bind(param, out, uint32(1<<31))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Launch(context.Background(), param, kernels.Range1D(64, 64), pa); !errors.Is(err, svm.ErrOutOfDeviceMemory) || !strings.Contains(err.Error(), "local memory") {
		t.Fatalf("a 2 GiB __local parameter: %v, want ErrOutOfDeviceMemory", err)
	}
	big := info.MaxWorkGroupSize * 2
	if err := launch(t, d, fillKernel, kernels.Range1D(big, big), make([]uint32, big), uint32(1)); !errors.Is(err, kernels.ErrInvalidNDRange) {
		t.Fatalf("a work-group of %d (the device's maximum is %d): %v", big, info.MaxWorkGroupSize, err)
	}
	if d.Stats().Launches != 1 {
		t.Fatalf("%d launches, want the 1 good one", d.Stats().Launches)
	}
}

// Every command on a closed device is ErrClosed, and so is a second Close.
func TestUseAfterClose(t *testing.T) {
	ctx := context.Background()
	for _, m := range modes {
		d := openTest(t, m)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		p := uintptr(unsafe.Pointer(&buf[0]))
		for _, c := range []struct {
			name string
			err  error
		}{
			{"close again", d.Close()},
			{"launch", launch(t, d, fillKernel, kernels.Range1D(4, 4), make([]uint32, 4), uint32(1))},
			{"copy", d.Copy(ctx, p, p+32, 16)},
			{"fill", d.Fill(ctx, p, []byte{1}, 16)},
			{"map", d.Map(ctx, p, 16)},
			{"unmap", d.Unmap(ctx, p, 16)},
			{"migrate", d.MigrateMem(ctx, p, 16, false)},
		} {
			if !errors.Is(c.err, svm.ErrClosed) {
				t.Errorf("%v %s after Close: %v, want ErrClosed", m, c.name, c.err)
			}
		}
		for _, b := range buf {
			if b != 0 {
				t.Fatalf("%v: a command on a closed device wrote memory", m)
			}
		}
	}
}

// Open and Close many times: no growth in file descriptors, threads,
// mappings, goroutines or SVM allocations (every 500th device launches a
// kernel first).
func TestOpenCloseCycles(t *testing.T) {
	cycles := 10000
	if testing.Short() {
		cycles = 2000
	}
	d := openTest(t, ModeAuto) // loads OpenCL, builds fillKernel
	out := make([]uint32, 64)
	if err := launch(t, d, fillKernel, kernels.Range1D(64, 64), out, uint32(1)); err != nil {
		t.Fatal(err)
	}
	settle := func() {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
	settle()
	fds, threads, maps, gs, svms := countFDs(), countThreads(), countMaps(), runtime.NumGoroutine(), liveSVM.Load()
	start := time.Now()
	for i := 0; i < cycles; i++ {
		m := modes[i%2]
		d, err := Open(0, WithMode(m))
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%500 == 0 {
			if err := launch(t, d, fillKernel, kernels.Range1D(64, 64), out, uint32(i)); err != nil || out[63] != uint32(i) {
				t.Fatalf("cycle %d: launch: %v, out %d", i, err, out[63])
			}
		}
		if err := d.Close(); err != nil {
			t.Fatalf("cycle %d: close: %v", i, err)
		}
		if err := d.Close(); !errors.Is(err, svm.ErrClosed) {
			t.Fatalf("cycle %d: second close: %v", i, err)
		}
	}
	el := time.Since(start)
	settle()
	t.Logf("%d open/close cycles in %v; fds %d→%d, threads %d→%d, mappings %d→%d, goroutines %d→%d, SVM allocations %d→%d",
		cycles, el.Round(time.Millisecond), fds, countFDs(), threads, countThreads(), maps, countMaps(), gs, runtime.NumGoroutine(), svms, liveSVM.Load())
	if n := countFDs(); n > fds {
		t.Errorf("file descriptors grew from %d to %d", fds, n)
	}
	if n := countThreads(); n > threads+2 { // the Go runtime may start a thread or two
		t.Errorf("threads grew from %d to %d", threads, n)
	}
	if n := countMaps(); n > maps+16 { // the Go heap may grow a little
		t.Errorf("mappings grew from %d to %d over %d cycles", maps, n, cycles)
	}
	if n := runtime.NumGoroutine(); n > gs {
		t.Errorf("goroutines grew from %d to %d", gs, n)
	}
	if n := liveSVM.Load(); n != svms {
		t.Errorf("SVM allocations went from %d to %d", svms, n)
	}
}

func countFDs() int {
	e, _ := os.ReadDir("/proc/self/fd")
	return len(e)
}

func countThreads() int {
	e, _ := os.ReadDir("/proc/self/task")
	return len(e)
}

func countMaps() int {
	b, _ := os.ReadFile("/proc/self/maps")
	return strings.Count(string(b), "\n")
}
