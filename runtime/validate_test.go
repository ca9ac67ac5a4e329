package runtime_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends/simgpu"
	"github.com/svmrt/svmrt/internal/leakcheck"
	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/internal/watchdog"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

// Hostile input through the public API, on every device: each bad input is
// an error naming what and where, the process lives, host data is intact.

func arm(t *testing.T, limit time.Duration) { watchdog.Arm(t, limit, svm.Default().ServiceState) }

// everyDevice lists the devices this machine can open (opencl through the
// ICD loader when a platform is installed).
func everyDevice(t *testing.T) []string {
	names := []string{"cpu", "simgpu"}
	if svmrt.Unavailable("opencl") == nil {
		names = append(names, "opencl")
	} else {
		t.Logf("opencl not tested: %v", svmrt.Unavailable("opencl"))
	}
	return names
}

func wantFault(t *testing.T, what string, err error, sentinel error, addr uintptr) {
	t.Helper()
	var fe *svm.FaultError
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: %v, want %v", what, err, sentinel)
		return
	}
	if addr != ^uintptr(0) && (!errors.As(err, &fe) || fe.Addr&^(svm.PageSize-1) != addr&^(svm.PageSize-1)) {
		t.Errorf("%s: %v, want the address %#x named", what, err, addr)
	}
}

// runErr launches and waits; an error from either is the result.
func runErr(d *svmrt.Device, k *kernels.Kernel, nd kernels.NDRange, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.Run(ctx, k, nd, args...)
}

// NULL, unmapped, PROT_NONE, short and device-memory pointer arguments, on
// every device. Short ones are not tested on opencl: an OpenCL kernel that
// indexes past its argument's memory runs on the driver's threads, where
// the fault cannot be caught (see the runtime package doc).
func TestPointerArgumentsOnEveryDevice(t *testing.T) {
	arm(t, 3*time.Minute)
	none := testmem.Pages(t, 1, syscall.PROT_NONE)
	gap := testmem.Hole(t)
	x := make([]float32, 2048)
	for _, name := range everyDevice(t) {
		t.Run(name, func(t *testing.T) {
			d := open(t, name)
			nd := kernels.SaxpyRange(2048)
			wantFault(t, "NULL y", runErr(d, kernels.Saxpy, nd, nil, x, float32(1), int32(2048)), svmrt.ErrDeviceFault, 0)
			wantFault(t, "unmapped y", runErr(d, kernels.Saxpy, nd, ptrAt(gap), x, float32(1), int32(2048)), svmrt.ErrDeviceFault, gap)
			wantFault(t, "PROT_NONE x", runErr(d, kernels.Saxpy, nd, x, unsafe.Pointer(&none[0]), float32(1), int32(2048)), svmrt.ErrDeviceFault, testmem.Addr(none))
			wantFault(t, "PROT_NONE slice", runErr(d, kernels.Saxpy, nd, testmem.Float32s(none), x, float32(1), int32(1024)), svmrt.ErrDeviceFault, testmem.Addr(none))
			ro := testmem.Pages(t, 2, syscall.PROT_READ)
			wantFault(t, "read-only y", runErr(d, kernels.Saxpy, nd, testmem.Float32s(ro), x, float32(1), int32(2048)), svmrt.ErrPermission, testmem.Addr(ro))
			if name != "opencl" {
				// One page, then a PROT_NONE page: the kernel runs off the end.
				short := testmem.Pages(t, 2, syscall.PROT_READ|syscall.PROT_WRITE)
				if err := syscall.Mprotect(short[svm.PageSize:], syscall.PROT_NONE); err != nil {
					t.Fatal(err)
				}
				y := testmem.Float32s(short[:svm.PageSize])
				for i := range y {
					y[i] = 1
				}
				err := runErr(d, kernels.Saxpy, nd, y, x, float32(1), int32(2048))
				wantFault(t, "short y", err, svmrt.ErrDeviceFault, testmem.Addr(short)+svm.PageSize)
			}
			// The device still works and computes.
			y := make([]float32, 2048)
			for i := range x {
				x[i], y[i] = 1, 2
			}
			if err := runErr(d, kernels.Saxpy, nd, y, x, float32(3), int32(2048)); err != nil || y[2047] != 5 {
				t.Fatalf("saxpy after the bad launches: %v, y[2047] = %v", err, y[2047])
			}
		})
	}
}

// A count far larger than the buffer: refused at once with an error naming
// the first bad address, nothing written, on every device.
func TestMemoryCommandsHugeCounts(t *testing.T) {
	arm(t, 3*time.Minute)
	for _, name := range everyDevice(t) {
		t.Run(name, func(t *testing.T) {
			d := open(t, name)
			buf := testmem.Pages(t, 2, syscall.PROT_READ|syscall.PROT_WRITE)
			for i := range buf {
				buf[i] = 7
			}
			far := make([]byte, 64)
			ctx := context.Background()
			start := time.Now()
			for what, enq := range map[string]func() (*svmrt.Event, error){
				"memfill": func() (*svmrt.Event, error) {
					return d.Memfill(ctx, unsafe.Pointer(&buf[0]), []byte{1, 2, 3, 4}, 1<<30)
				},
				"memcpy to": func() (*svmrt.Event, error) {
					return d.Memcpy(ctx, unsafe.Pointer(&buf[0]), unsafe.Pointer(&far[0]), 1<<30)
				},
				"memcpy from": func() (*svmrt.Event, error) {
					return d.Memcpy(ctx, unsafe.Pointer(&far[0]), unsafe.Pointer(&buf[0]), 1<<30)
				},
				"memfill wrapping": func() (*svmrt.Event, error) {
					return d.Memfill(ctx, ptrAt(^uintptr(0)-4095), []byte{1}, 8192)
				},
			} {
				ev, err := enq()
				if err == nil {
					err = ev.Wait(ctx)
				}
				var fe *svm.FaultError
				if !errors.As(err, &fe) {
					t.Errorf("%s of 1 GiB from a 2-page buffer: %v, want a fault naming an address", what, err)
				}
			}
			if el := time.Since(start); el > 20*time.Second {
				t.Errorf("refusals took %v", el)
			}
			for i := range buf {
				if buf[i] != 7 {
					t.Fatalf("byte %d = %d after refused commands", i, buf[i])
				}
			}
		})
	}
}

// A cpu-device Memfill over a simulated GPU's memory arena used to corrupt
// the device-resident pages silently. The arena is not host memory: the
// command (and a kernel argument naming it) is refused, and the data the
// device holds is intact.
func TestDeviceMemoryUnreachableFromCPU(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	arm(t, time.Minute)
	g := open(t, "simgpu", svmrt.WithVRAM(1<<20))
	c := open(t, "cpu")
	data := make([]uint32, 4096)
	for i := range data {
		data[i] = uint32(i) * 3
	}
	if _, err := g.Migrate(unsafe.Pointer(&data[0]), uintptr(len(data))*4); err != nil {
		t.Fatal(err)
	}
	mem := g.Backend().(*simgpu.Device).Mem()
	arena, size := mem.Base(), uintptr(mem.Frames())*svm.PageSize
	ctx := context.Background()
	ev, err := c.Memfill(ctx, ptrAt(arena), []byte{0xff, 0xff, 0xff, 0xff}, size)
	if err == nil {
		err = ev.Wait(ctx)
	}
	wantFault(t, "cpu memfill over the arena", err, svmrt.ErrDeviceFault, arena)
	if !strings.Contains(fmt.Sprint(err), "device memory") {
		t.Errorf("error does not say why: %v", err)
	}
	dev := unsafe.Slice((*float32)(ptrAt(arena)), 1024)
	wantFault(t, "cpu kernel on the arena", runErr(c, kernels.Saxpy, kernels.SaxpyRange(1024), dev, dev, float32(1), int32(1024)), svmrt.ErrDeviceFault, arena)
	for i := range data {
		if data[i] != uint32(i)*3 {
			t.Fatalf("data[%d] = %d, want %d: device-resident data corrupted", i, data[i], i*3)
		}
	}
}

// A nil context is an error, not a crash of the queue's worker.
func TestNilContext(t *testing.T) {
	arm(t, time.Minute)
	d := open(t, "cpu")
	y := make([]float32, 64)
	//lint:ignore SA1012 the point of the test
	var nilCtx context.Context
	if _, err := d.Launch(nilCtx, kernels.Saxpy, kernels.SaxpyRange(64), y, y, float32(1), int32(64)); !errors.Is(err, svmrt.ErrInvalidValue) {
		t.Errorf("Launch(nil ctx): %v, want ErrInvalidValue", err)
	}
	if _, err := d.Memfill(nilCtx, unsafe.Pointer(&y[0]), []byte{0}, 64); !errors.Is(err, svmrt.ErrInvalidValue) {
		t.Errorf("Memfill(nil ctx): %v, want ErrInvalidValue", err)
	}
	ev, err := d.Launch(context.Background(), kernels.Saxpy, kernels.SaxpyRange(64), y, y, float32(1), int32(64))
	if err != nil {
		t.Fatal(err)
	}
	<-ev.Done()
	if err := ev.Wait(nilCtx); !errors.Is(err, svmrt.ErrInvalidValue) {
		t.Errorf("Wait(nil): %v, want ErrInvalidValue", err)
	}
	if err := ev.Wait(context.Background()); err != nil {
		t.Errorf("the launch itself: %v", err)
	}
}

// A kernel body that runs a kernel on its own device and waits for it
// would wait for itself (the queue is in order): it gets ErrNotSupported at
// once, and the outer launch completes.
func TestRunFromInsideOwnKernel(t *testing.T) {
	arm(t, 2*time.Minute)
	for _, name := range []string{"cpu", "simgpu"} {
		t.Run(name, func(t *testing.T) {
			d := open(t, name, svmrt.WithGoBodies())
			y := make([]float32, 64)
			var inner error
			reentrant := &kernels.Kernel{
				Name: "reentrant",
				Body: func(it *kernels.Item, _ *kernels.Args) {
					if it.GlobalID(0) == 0 {
						inner = d.Run(context.Background(), kernels.Saxpy, kernels.SaxpyRange(64), y, y, float32(1), int32(64))
					}
				},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := d.Run(ctx, reentrant, kernels.Range1D(1, 1)); err != nil {
				t.Fatalf("outer launch: %v", err)
			}
			if !errors.Is(inner, svmrt.ErrNotSupported) || !strings.Contains(inner.Error(), "wait for itself") {
				t.Fatalf("Run from inside a kernel on its own device: %v, want ErrNotSupported", inner)
			}
			// From the host, the same Run works.
			if err := d.Run(ctx, kernels.Saxpy, kernels.SaxpyRange(64), y, y, float32(1), int32(64)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// After Close: every command wraps ErrClosed, Snapshot included; a second
// Close too.
func TestEveryCommandAfterClose(t *testing.T) {
	arm(t, time.Minute)
	for _, name := range []string{"cpu", "simgpu"} {
		d, err := svmrt.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, 1024)
		p, n := unsafe.Pointer(&y[0]), uintptr(4096)
		ctx := context.Background()
		_, snapErr := d.Snapshot(p, n)
		_, launchErr := d.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(1024), y, y, float32(1), int32(1024))
		_, fillErr := d.Memfill(ctx, p, []byte{0}, n)
		errs := map[string]error{"close": d.Close(), "snapshot": snapErr, "launch": launchErr, "memfill": fillErr}
		if name == "simgpu" {
			errs["prefetch"] = d.Prefetch(p, n)
			_, errs["migrate"] = d.Migrate(p, n)
		}
		for what, err := range errs {
			if !errors.Is(err, svmrt.ErrClosed) {
				t.Errorf("%s: %s after Close: %v, want ErrClosed", name, what, err)
			}
		}
	}
}

// Snapshot of a huge range is refused instead of allocating an entry per
// page.
func TestSnapshotHugeRange(t *testing.T) {
	arm(t, time.Minute)
	d := open(t, "cpu")
	y := make([]byte, 64)
	if _, err := d.Snapshot(unsafe.Pointer(&y[0]), 1<<44); !errors.Is(err, svmrt.ErrInvalidValue) && !errors.Is(err, svmrt.ErrDeviceFault) {
		t.Errorf("snapshot of 16 TiB: %v", err)
	}
}

// Open and Close through the runtime 10,000 times per device: no mapping,
// fd, thread or goroutine left behind.
func TestOpenCloseNoLeak(t *testing.T) {
	arm(t, 5*time.Minute)
	for _, name := range []string{"cpu", "simgpu"} {
		cycle := func() {
			d, err := svmrt.Open(name, svmrt.WithVRAM(1<<20))
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 100; i++ {
			cycle()
		}
		before := leakcheck.Take(t)
		g0 := goroutines()
		n := 10000
		if testing.Short() {
			n = 1000
		}
		for i := 0; i < n; i++ {
			cycle()
		}
		leakcheck.Check(t, fmt.Sprintf("%d %s open/close cycles", n, name), before, leakcheck.Take(t))
		if g := goroutines(); g > g0+2 {
			t.Errorf("%s: goroutines %d -> %d", name, g0, g)
		}
	}
}

func goroutines() int {
	for i := 0; i < 50; i++ { // queue workers exit just after Close returns
		time.Sleep(time.Millisecond)
	}
	return goruntime.NumGoroutine()
}

// ptrAt converts an address to a pointer (vet's unsafeptr check flags the
// direct conversion; these addresses are not Go memory).
func ptrAt(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }
