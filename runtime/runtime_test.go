package runtime_test

import (
	"context"
	"errors"
	"math"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

func open(t testing.TB, name string, opts ...svmrt.Option) *svmrt.Device {
	t.Helper()
	d, err := svmrt.Open(name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// The README's main job, as a test: the seed's mulmat on the simulated GPU.
func TestMulMatSampleOnSimGPU(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	dev := open(t, "simgpu", svmrt.WithVRAM(16<<20))
	m := 128
	a, b, r, ref := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
	for i := range a {
		a[i], b[i] = float32(i%17)/8, float32(i%13)/4
	}
	kernels.RefMulMat(ref, a, b, m)
	if err := svmrt.MulMat(context.Background(), dev, r, a, b, m); err != nil {
		t.Fatal(err)
	}
	st := dev.Stats()
	if st.DeviceFaults == 0 || st.PagesH2D == 0 || st.FaultBatches == 0 {
		t.Fatalf("no faults or migrations: %+v", st)
	}
	snap, err := svmrt.SnapshotSlice(dev, r)
	if err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(&r[0]))
	for _, p := range snap {
		inside := p.Addr >= base && p.Addr+svm.PageSize <= base+uintptr(len(r)*4)
		if inside && p.State != svm.PageOnDevice {
			t.Fatalf("r page %#x is %v after the launch, want on-device", p.Addr, p.State)
		}
	}
	for i := range r {
		if r[i] != ref[i] {
			t.Fatalf("r[%d] = %v, want %v", i, r[i], ref[i])
		}
	}
	if got := dev.Stats().CPUFaults - st.CPUFaults; got == 0 {
		t.Fatal("reading r took no CPU fault")
	}
}

// Every library kernel gives the reference's results on every backend.
func TestLibraryKernelsAgreeAcrossBackends(t *testing.T) {
	ctx := context.Background()
	for _, name := range svmrt.DeviceNames() {
		t.Run(name, func(t *testing.T) {
			dev := open(t, name)
			t.Run("mul_mat", func(t *testing.T) {
				m := 48
				a, b, r, ref := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
				for i := range a {
					a[i], b[i] = float32(i%9)-4, float32(i%7)/2
				}
				kernels.RefMulMat(ref, a, b, m)
				if err := svmrt.MulMat(ctx, dev, r, a, b, m); err != nil {
					t.Fatal(err)
				}
				equal(t, r, ref)
			})
			t.Run("saxpy", func(t *testing.T) {
				n := 5000
				x, y, ref := make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range x {
					x[i], y[i], ref[i] = float32(i), float32(n-i), float32(n-i)
				}
				kernels.RefSaxpy(ref, x, 1.5, n)
				if err := svmrt.Saxpy(ctx, dev, y, x, 1.5); err != nil {
					t.Fatal(err)
				}
				equal(t, y, ref)
			})
			t.Run("sum_reduce", func(t *testing.T) {
				n, local := 4096, 128
				in := make([]float32, n)
				for i := range in {
					in[i] = float32(i % 10)
				}
				nd := kernels.SumRange(n, local)
				partial := make([]float32, nd.TotalGroups())
				if err := dev.Run(ctx, kernels.SumReduce, nd, partial, in, int32(n)); err != nil {
					t.Fatal(err)
				}
				equal(t, partial, kernels.RefSumReduce(in, n, local))
			})
			t.Run("histogram", func(t *testing.T) {
				n, nbins := 10000, 16
				data := make([]uint32, n)
				for i := range data {
					data[i] = uint32(i*i + 3)
				}
				bins, ref := make([]uint32, nbins), make([]uint32, nbins)
				kernels.RefHistogram(ref, data, n)
				if err := dev.Run(ctx, kernels.Histogram, kernels.HistogramRange(n), bins, data, int32(n), int32(nbins)); err != nil {
					t.Fatal(err)
				}
				for i := range bins {
					if bins[i] != ref[i] {
						t.Fatalf("bin %d = %d, want %d", i, bins[i], ref[i])
					}
				}
			})
			t.Run("gather", func(t *testing.T) {
				n := 3000
				src, idx := make([]float32, 20000), make([]uint32, n)
				for i := range src {
					src[i] = float32(i) / 3
				}
				for i := range idx {
					idx[i] = uint32(i*7919) % uint32(len(src))
				}
				out, ref := make([]float32, n), make([]float32, n)
				kernels.RefGather(ref, src, idx, n)
				if err := dev.Run(ctx, kernels.Gather, kernels.GatherRange(n), out, src, idx, int32(n)); err != nil {
					t.Fatal(err)
				}
				equal(t, out, ref)
			})
			t.Run("stride_add", func(t *testing.T) {
				n, stride := 40, 1024 // one int per page
				p := make([]int32, n*stride)
				for i := range p {
					p[i] = int32(i % 11)
				}
				ref := append([]int32(nil), p...)
				kernels.RefStrideAdd(ref, stride, -3, n)
				if err := dev.Run(ctx, kernels.StrideAdd, kernels.StrideAddRange(n), p, int32(stride), int32(-3), int32(n)); err != nil {
					t.Fatal(err)
				}
				for i := range p {
					if p[i] != ref[i] {
						t.Fatalf("p[%d] = %d, want %d", i, p[i], ref[i])
					}
				}
			})
			t.Run("list_walk", func(t *testing.T) {
				// Lists of ordinary Go structs, nodes allocated one by one.
				n := 300
				heads := make([]*kernels.ListNode, n)
				for i := range heads {
					for j := 0; j < i%7+1; j++ {
						heads[i] = &kernels.ListNode{Next: heads[i], Value: float32(i*10 + j)}
					}
				}
				out := make([]float32, n)
				if err := dev.Run(ctx, kernels.ListWalk, kernels.ListWalkRange(n), out, heads, int32(n)); err != nil {
					t.Fatal(err)
				}
				equal(t, out, kernels.RefListWalk(heads))
			})
		})
	}
}

func equal(t *testing.T, got, want []float32) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] && math.Abs(float64(got[i]-want[i])) > 1e-4*math.Abs(float64(want[i])) {
			t.Fatalf("[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestLaunchErrorsBeforeEnqueue(t *testing.T) {
	for _, name := range svmrt.DeviceNames() {
		dev := open(t, name)
		ctx := context.Background()
		y := make([]float32, 100)
		if _, err := dev.Launch(ctx, kernels.Saxpy, kernels.Range1D(100, 64), y, y, float32(1), int32(100)); !errors.Is(err, kernels.ErrInvalidNDRange) {
			t.Fatalf("%s: non-dividing NDRange: %v", name, err)
		}
		if _, err := dev.Launch(ctx, kernels.Saxpy, kernels.Range1D(128, 64), y, y); !errors.Is(err, kernels.ErrBadArgs) {
			t.Fatalf("%s: missing args: %v", name, err)
		}
		if _, err := dev.Launch(ctx, kernels.Saxpy, kernels.Range1D(128, 64), "y", y, float32(1), int32(100)); !errors.Is(err, kernels.ErrBadArgs) {
			t.Fatalf("%s: wrong type: %v", name, err)
		}
		if st := dev.Stats(); st.Launches != 0 {
			t.Fatalf("%s: a bad launch ran: %+v", name, st)
		}
	}
	if _, err := svmrt.Open("tpu"); !errors.Is(err, svmrt.ErrUnknownDevice) {
		t.Fatalf("unknown device: %v", err)
	}
}

func TestInOrderQueueAndWait(t *testing.T) {
	dev := open(t, "simgpu", svmrt.WithVRAM(8<<20))
	n := 2048
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	ctx := context.Background()
	var evs []*svmrt.Event
	for k := 0; k < 5; k++ {
		ev, err := dev.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(k+1), int32(n))
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := evs[len(evs)-1].Wait(wctx); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		select {
		case <-ev.Done():
		default:
			t.Fatal("a launch queued earlier has not finished")
		}
	}
	for i := range y {
		if y[i] != 15 {
			t.Fatalf("y[%d]=%v want 15", i, y[i])
		}
	}
}

func TestCancelledContext(t *testing.T) {
	dev := open(t, "simgpu")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	y := make([]float32, 256)
	err := dev.Run(ctx, kernels.Saxpy, kernels.SaxpyRange(256), y, y, float32(1), int32(256))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestClosedDevice(t *testing.T) {
	dev, err := svmrt.Open("simgpu")
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, 1024)
	if err := dev.Run(context.Background(), kernels.Saxpy, kernels.SaxpyRange(1024), y, y, float32(1), int32(1024)); err != nil {
		t.Fatal(err)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	// Close brought y home: reading it takes no fault and the data is there.
	snap, _ := svm.Default().Snapshot(uintptr(unsafe.Pointer(&y[0])), 4096, 0)
	if snap[0].State == svm.PageOnDevice || snap[0].State == svm.PageOnOtherDevice {
		t.Fatalf("page still on device after Close: %v", snap[0].State)
	}
	if _, err := dev.Launch(context.Background(), kernels.Saxpy, kernels.SaxpyRange(1024), y, y, float32(1), int32(1024)); !errors.Is(err, svmrt.ErrClosed) {
		t.Fatalf("launch after close: %v", err)
	}
}

// Bad pointers fail a launch with an error naming the address, on every
// device, and the process survives with the host data intact.
func TestBadMemoryErrorsOnEveryDevice(t *testing.T) {
	for _, name := range svmrt.DeviceNames() {
		t.Run(name, func(t *testing.T) {
			dev := open(t, name)
			ctx := context.Background()
			mem := testmem.Pages(t, 2, syscall.PROT_READ|syscall.PROT_WRITE)
			x := testmem.Float32s(mem)
			for i := range x {
				x[i] = 7
			}
			base := testmem.Addr(mem)
			n := len(x)
			// Read-only memory written by a kernel: ErrPermission.
			if err := syscall.Mprotect(mem, syscall.PROT_READ); err != nil {
				t.Fatal(err)
			}
			err := dev.Run(ctx, kernels.Saxpy, kernels.SaxpyRange(n), x, x, float32(1), int32(n))
			var fe *svm.FaultError
			if !errors.Is(err, svmrt.ErrPermission) || !errors.As(err, &fe) || fe.Addr < base || fe.Addr >= base+2*svm.PageSize {
				t.Fatalf("write to read-only memory: %v", err)
			}
			// PROT_NONE: ErrDeviceFault naming the address.
			if err := syscall.Mprotect(mem, syscall.PROT_NONE); err != nil {
				t.Fatal(err)
			}
			err = dev.Run(ctx, kernels.Saxpy, kernels.SaxpyRange(n), x, x, float32(1), int32(n))
			if !errors.Is(err, svmrt.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr < base || fe.Addr >= base+2*svm.PageSize {
				t.Fatalf("PROT_NONE: %v", err)
			}
			if err := syscall.Mprotect(mem, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
				t.Fatal(err)
			}
			for i := range x {
				if x[i] != 7 {
					t.Fatalf("host data changed at %d: %v", i, x[i])
				}
			}
		})
	}
}
