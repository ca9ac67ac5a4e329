package runtime_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends/opencl"
	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

func openCLOrSkip(t *testing.T) {
	t.Helper()
	if err := svmrt.Unavailable("opencl"); err != nil {
		t.Skip(err)
	}
}

// The seed's mulmat on opencl (probed mode and forced buffer mode) is
// bit-identical to cpu and simgpu: the OpenCL source turns FP_CONTRACT off
// and sums in the same order.
func TestOpenCLMulMatAgreesWithCPUAndSimGPU(t *testing.T) {
	openCLOrSkip(t)
	ctx := context.Background()
	m := 96
	a, b := make([]float32, m*m), make([]float32, m*m)
	for i := range a {
		a[i], b[i] = float32(i%17)/8-1, float32(i%13)/4
	}
	results := map[string][]float32{}
	devs := map[string]*svmrt.Device{
		"cpu":           open(t, "cpu"),
		"simgpu":        open(t, "simgpu", svmrt.WithVRAM(16<<20)),
		"opencl":        open(t, "opencl"),
		"opencl-buffer": open(t, "opencl:0", svmrt.WithBackendOptions(opencl.WithMode(opencl.ModeBuffer))),
	}
	for name, d := range devs {
		r := make([]float32, m*m)
		if err := svmrt.MulMat(ctx, d, r, a, b, m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		results[name] = r
	}
	for name, r := range results {
		if !slices.Equal(r, results["cpu"]) {
			t.Fatalf("%s differs from cpu", name)
		}
	}
	if info := devs["opencl"].Info(); !strings.Contains(info.Description, "mode pass-through") || !info.Caps.Coherent {
		t.Fatalf("opencl info: %+v", info)
	}
	if info := devs["opencl-buffer"].Info(); !strings.Contains(info.Description, "mode buffer") || info.Caps.Coherent {
		t.Fatalf("opencl buffer info: %+v", info)
	}
	if st := devs["opencl-buffer"].Stats(); st.Launches != 1 || st.BytesH2D != 3*int64(m*m*4) || st.BytesD2H != int64(m*m*4) {
		t.Fatalf("buffer-mode stats %+v", st)
	}
}

// In buffer mode a kernel that follows pointers into memory the launch
// does not name is ErrNotSupported, not a wrong answer.
func TestOpenCLBufferModeListWalkNotSupported(t *testing.T) {
	openCLOrSkip(t)
	d := open(t, "opencl", svmrt.WithBackendOptions(opencl.WithMode(opencl.ModeBuffer)))
	heads := []*kernels.ListNode{{Value: 1}, {Value: 2, Next: &kernels.ListNode{Value: 3}}}
	out := []float32{-1, -1}
	err := d.Run(context.Background(), kernels.ListWalk, kernels.ListWalkRange(2), out, heads, int32(2))
	if !errors.Is(err, svmrt.ErrNotSupported) || !strings.Contains(err.Error(), "list_walk") {
		t.Fatalf("got %v, want ErrNotSupported naming list_walk", err)
	}
	if out[0] != -1 || out[1] != -1 {
		t.Fatalf("out written: %v", out)
	}
}

// Pass-through on pages the simulated GPU holds: PoCL's worker threads
// touch them, take real userfaultfd faults, and the svm core's service
// thread brings them home.
func TestOpenCLOnPagesMigratedToSimGPU(t *testing.T) {
	openCLOrSkip(t)
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	g := open(t, "simgpu", svmrt.WithVRAM(16<<20))
	o := open(t, "opencl")
	n := 64 << 10
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	if err := svmrt.Saxpy(ctx, g, y, x, 2); err != nil { // y = 2x + 1, y and x now on simgpu
		t.Fatal(err)
	}
	snap, err := svmrt.SnapshotSlice(g, y)
	if err != nil || snap[len(snap)/2].State != svm.PageOnDevice {
		t.Fatalf("y not on the simulated GPU: %v %v", err, snap[len(snap)/2].State)
	}
	if err := svmrt.Saxpy(ctx, o, y, x, 1); err != nil { // y = 3x + 1 on PoCL
		t.Fatal(err)
	}
	dst := make([]float32, n)
	ev, err := o.Memcpy(ctx, unsafe.Pointer(&dst[0]), unsafe.Pointer(&y[0]), uintptr(4*n))
	if err == nil {
		err = ev.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	for i := range y {
		if want := 3*float32(i) + 1; y[i] != want || dst[i] != want {
			t.Fatalf("y[%d] = %v, copy %v, want %v", i, y[i], dst[i], want)
		}
	}
}

// The memory commands on opencl, through the runtime's queue.
func TestOpenCLMemoryCommands(t *testing.T) {
	openCLOrSkip(t)
	ctx := context.Background()
	for _, mode := range []opencl.Mode{opencl.ModeAuto, opencl.ModeBuffer} {
		d := open(t, "opencl", svmrt.WithBackendOptions(opencl.WithMode(mode)))
		wait := func(ev *svmrt.Event, err error) {
			t.Helper()
			if err == nil {
				err = ev.Wait(ctx)
			}
			if err != nil {
				t.Fatalf("%v: %v", mode, err)
			}
		}
		src, dst := make([]uint32, 4096), make([]uint32, 4096)
		for i := range src {
			src[i] = uint32(i * 3)
		}
		wait(d.Memcpy(ctx, unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), 4*4096))
		if !slices.Equal(src, dst) {
			t.Fatalf("%v: memcpy", mode)
		}
		wait(d.Memfill(ctx, unsafe.Pointer(&dst[8]), []byte{1, 0, 0, 0}, 4*100))
		if dst[7] != 21 || dst[8] != 1 || dst[107] != 1 || dst[108] != 108*3 {
			t.Fatalf("%v: memfill: %v", mode, dst[6:10])
		}
		if _, err := d.Memfill(ctx, unsafe.Pointer(&dst[0]), []byte{1, 2, 3}, 12); !errors.Is(err, svmrt.ErrInvalidValue) {
			t.Fatalf("3-byte pattern: %v", err)
		}
		wait(d.Map(ctx, unsafe.Pointer(&dst[0]), 4*4096))
		dst[0] = 77
		wait(d.Unmap(ctx, unsafe.Pointer(&dst[0]), 4*4096))
		wait(d.MigrateMem(ctx, unsafe.Pointer(&dst[0]), 4*4096, false))
		wait(d.MigrateMem(ctx, unsafe.Pointer(&dst[0]), 4*4096, true))
		if dst[0] != 77 || dst[4095] != 4095*3 {
			t.Fatalf("%v: data after map/unmap/migrate", mode)
		}
		if err := d.Prefetch(unsafe.Pointer(&dst[0]), 4096); !errors.Is(err, svmrt.ErrNotSupported) {
			t.Fatalf("prefetch on opencl: %v", err)
		}
	}
}

// Without an ICD loader, or with a loader that finds no platform: opencl is
// not among the device names, opening it says why (ErrNotSupported and
// opencl.ErrUnavailable), and cpu and simgpu still work.
func TestWithoutOpenCL(t *testing.T) {
	for _, tc := range []struct{ name, key, val, why string }{
		{"no-loader", opencl.EnvLibrary, "/nonexistent/libOpenCL.so.1", "cannot load the OpenCL ICD loader"},
		{"no-vendor-files", "OCL_ICD_VENDORS", "", "no OpenCL platform"}, // "": an empty temporary directory
	} {
		t.Run(tc.name, func(t *testing.T) {
			val := tc.val
			if val == "" {
				val = t.TempDir()
			}
			if !childtestInChild(t, tc.key, val) {
				return
			}
			if slices.Contains(svmrt.DeviceNames(), "opencl") {
				t.Fatalf("DeviceNames %v lists opencl", svmrt.DeviceNames())
			}
			_, err := svmrt.Open("opencl")
			if !errors.Is(err, svmrt.ErrNotSupported) || !errors.Is(err, opencl.ErrUnavailable) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("Open(opencl): %v", err)
			}
			t.Log(err)
			for _, name := range []string{"cpu", "simgpu"} {
				d := open(t, name, svmrt.WithVRAM(8<<20))
				y, x := []float32{1, 2}, []float32{10, 20}
				if err := svmrt.Saxpy(context.Background(), d, y, x, 2); err != nil || y[0] != 21 || y[1] != 42 {
					t.Fatalf("%s without OpenCL: %v %v", name, err, y)
				}
			}
		})
	}
}

// childtestInChild runs t in a child process with key=val in its
// environment; it reports whether this is the child.
func childtestInChild(t *testing.T, key, val string) bool {
	t.Setenv(key, val) // inherited by the child; the parent has loaded OpenCL already or never will in this test
	return childtest.InChild(t, "SVMRT_RUNTIME_NOCL_CHILD", 2*time.Minute)
}

// Guards against (found in the fourth review, fixed): Open of an OpenCL
// device index the machine does not have returned an error no caller could
// errors.Is.
func TestNoSuchOpenCLDevice(t *testing.T) {
	if err := svmrt.Unavailable("opencl"); err != nil {
		t.Skip(err)
	}
	_, err := svmrt.Open("opencl:99")
	if !errors.Is(err, svmrt.ErrUnknownDevice) || !errors.Is(err, opencl.ErrNoDevice) || !strings.Contains(err.Error(), "99") {
		t.Fatalf("Open(opencl:99): %v, want ErrUnknownDevice and opencl.ErrNoDevice naming the index", err)
	}
	t.Log(err)
}
