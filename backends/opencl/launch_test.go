package opencl

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// openTest opens OpenCL device 0 in mode m, or skips the test when this
// machine has no OpenCL platform. The device is closed after the test.
func openTest(t testing.TB, m Mode) *Device {
	t.Helper()
	if _, err := Devices(); err != nil {
		if errors.Is(err, ErrUnavailable) {
			t.Skipf("no OpenCL here: %v", err)
		}
		t.Fatal(err)
	}
	d, err := Open(0, WithMode(m))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// ErrClosed: the test closed it itself.
		if err := d.Close(); err != nil && !errors.Is(err, svm.ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	return d
}

// modes are the modes every library kernel is tested in: the probed one
// (pass-through on PoCL) and forced buffer mode.
var modes = []Mode{ModeAuto, ModeBuffer}

func launch(t testing.TB, d *Device, k *kernels.Kernel, nd kernels.NDRange, vals ...any) error {
	t.Helper()
	a, err := kernels.Bind(k, vals...)
	if err != nil {
		t.Fatal(err)
	}
	return d.Launch(context.Background(), k, nd, a)
}

func randF32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// On PoCL's CPU device the probe picks pass-through: the device has no
// fine-grained system SVM, but a kernel reads and writes a host pointer.
func TestModeProbe(t *testing.T) {
	d := openTest(t, ModeAuto)
	t.Logf("%s: %s", d.Name(), d.Describe())
	info := d.DeviceInfo()
	switch {
	case info.SVM.FineSystem:
		if d.Mode() != ModePassThrough {
			t.Fatalf("fine-grained system SVM but mode %v", d.Mode())
		}
	case info.Type == "cpu":
		if d.Mode() != ModePassThrough || !strings.Contains(d.ModeReason(), "probed host-pointer access") {
			t.Fatalf("CPU device: mode %v (%s), want pass-through by probe", d.Mode(), d.ModeReason())
		}
	default:
		if d.Mode() != ModeBuffer {
			t.Fatalf("device without system SVM: mode %v", d.Mode())
		}
	}
	if caps := d.Caps(); caps.Coherent != (d.Mode() == ModePassThrough) || caps.Faults || caps.PrivateMemory {
		t.Fatalf("caps %+v for mode %v", caps, d.Mode())
	}
	b := openTest(t, ModeBuffer)
	if b.Mode() != ModeBuffer || !strings.Contains(b.Describe(), "mode buffer") {
		t.Fatalf("forced buffer mode: %v, %s", b.Mode(), b.Describe())
	}
}

// Every library kernel on OpenCL agrees with its plain-Go reference, in
// pass-through and in buffer mode.
func TestLibraryKernels(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			d := openTest(t, m)
			r := rand.New(rand.NewPCG(1, 2))
			t.Run("mulmat", func(t *testing.T) {
				for _, n := range []int{1, 37, 64} {
					a, b := randF32(r, n*n), randF32(r, n*n)
					got, want := make([]float32, n*n), make([]float32, n*n)
					kernels.RefMulMat(want, a, b, n)
					if err := launch(t, d, kernels.MulMat, kernels.MulMatRange(n), got, a, b, n); err != nil {
						t.Fatal(err)
					}
					// The source says FP_CONTRACT OFF: same rounding, same
					// summation order as RefMulMat, so bit-identical.
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("m=%d: r[%d] = %v, want %v", n, i, got[i], want[i])
						}
					}
				}
			})
			t.Run("saxpy", func(t *testing.T) {
				for _, n := range []int{1, 1000, 1025} {
					x, y := randF32(r, n), randF32(r, n)
					want := append([]float32(nil), y...)
					kernels.RefSaxpy(want, x, 1.75, n)
					if err := launch(t, d, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(1.75), n); err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if y[i] != want[i] {
							t.Fatalf("n=%d: y[%d] = %v, want %v", n, i, y[i], want[i])
						}
					}
				}
			})
			t.Run("sum_reduce", func(t *testing.T) {
				for _, c := range []struct{ n, local int }{{5000, 256}, {1000, 96}, {4096, 1024}, {7, 0}} {
					in := randF32(r, c.n)
					nd := kernels.SumRange(c.n, c.local)
					if nd.GroupSize() > d.DeviceInfo().MaxWorkGroupSize {
						continue
					}
					want := kernels.RefSumReduce(in, c.n, c.local)
					got := make([]float32, nd.TotalGroups())
					if err := launch(t, d, kernels.SumReduce, nd, got, in, c.n); err != nil {
						t.Fatal(err)
					}
					// Same tree, no products to contract: exact.
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("n=%d local=%d: partials\n got %v\nwant %v", c.n, c.local, got, want)
					}
				}
			})
			t.Run("histogram", func(t *testing.T) {
				for _, c := range []struct{ n, bins int }{{5000, 13}, {1, 1}, {3000, 256}} {
					data := make([]uint32, c.n)
					for i := range data {
						data[i] = r.Uint32()
					}
					want, got := make([]uint32, c.bins), make([]uint32, c.bins)
					want[0], got[0] = 7, 7 // bins accumulate
					kernels.RefHistogram(want, data, c.n)
					if err := launch(t, d, kernels.Histogram, kernels.HistogramRange(c.n), got, data, c.n, c.bins); err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("n=%d bins=%d: got %v want %v", c.n, c.bins, got, want)
					}
				}
			})
			t.Run("gather", func(t *testing.T) {
				for _, n := range []int{1, 300, 4096} {
					src := randF32(r, 10000)
					idx := make([]uint32, n)
					for i := range idx {
						idx[i] = uint32(r.IntN(len(src)))
					}
					got, want := make([]float32, n), make([]float32, n)
					kernels.RefGather(want, src, idx, n)
					if err := launch(t, d, kernels.Gather, kernels.GatherRange(n), got, src, idx, n); err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("n=%d: out[%d] = %v, want %v", n, i, got[i], want[i])
						}
					}
				}
			})
			t.Run("stride_add", func(t *testing.T) {
				for _, c := range []struct{ n, stride int }{{1, 1}, {64, 1024}, {100, 3}} {
					got := make([]int32, c.n*c.stride)
					for i := range got {
						got[i] = int32(i)
					}
					want := append([]int32(nil), got...)
					kernels.RefStrideAdd(want, c.stride, 5, c.n)
					if err := launch(t, d, kernels.StrideAdd, kernels.StrideAddRange(c.n), got, c.stride, int32(5), c.n); err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("n=%d stride=%d: p[%d] = %v, want %v", c.n, c.stride, i, got[i], want[i])
						}
					}
				}
			})
			t.Run("list_walk", func(t *testing.T) {
				heads := makeLists(r, 300)
				out := make([]float32, len(heads))
				for i := range out {
					out[i] = -1
				}
				err := launch(t, d, kernels.ListWalk, kernels.ListWalkRange(len(heads)), out, heads, len(heads))
				if d.Mode() == ModeBuffer {
					// The lists' nodes are memory the launch does not name.
					if !errors.Is(err, svm.ErrNotSupported) || !strings.Contains(err.Error(), "param 1 (heads)") {
						t.Fatalf("list_walk in buffer mode: %v, want ErrNotSupported naming heads", err)
					}
					for i := range out {
						if out[i] != -1 {
							t.Fatalf("out[%d] written by a launch that was refused", i)
						}
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := kernels.RefListWalk(heads); fmt.Sprint(out) != fmt.Sprint(want) {
					t.Fatalf("got %v want %v", out, want)
				}
			})
		})
	}
}

func makeLists(r *rand.Rand, n int) []*kernels.ListNode {
	heads := make([]*kernels.ListNode, n)
	for i := range heads {
		if i == 3 {
			continue
		}
		for j := r.IntN(40); j >= 0; j-- {
			heads[i] = &kernels.ListNode{Next: heads[i], Value: r.Float32()}
		}
	}
	return heads
}

// addTwo: out[i] = a[i] + b[i] for i < n.
var addTwo = &kernels.Kernel{
	Name: "test_add_two",
	Params: []kernels.Param{
		{Name: "out", Kind: kernels.PtrU32, Written: true},
		{Name: "a", Kind: kernels.PtrU32},
		{Name: "b", Kind: kernels.PtrU32},
		{Name: "n", Kind: kernels.I32},
	},
	Source: `__kernel void test_add_two(__global uint *out, __global const uint *a, __global const uint *b, int n) {
	int i = get_global_id(0);
	if (i < n) out[i] = a[i] + b[i];
}`,
}

// Buffer mode: parameters naming overlapping memory share one staged
// buffer, offsets are preserved, and only written ranges come back.
func TestBufferModeAliasing(t *testing.T) {
	d := openTest(t, ModeBuffer)
	buf := make([]uint32, 12)
	for i := range buf {
		buf[i] = uint32(i * 10)
	}
	out := make([]uint32, 8)
	before := d.Stats()
	if err := launch(t, d, addTwo, kernels.Range1D(8, 8), out, buf[0:8], buf[4:12], 8); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if want := buf[i] + buf[i+4]; out[i] != want {
			t.Fatalf("out[%d] = %d, want %d", i, out[i], want)
		}
	}
	st := d.Stats()
	// One merged buffer of 12 words plus out's 8 in; only out's 8 back.
	if in, back := st.BytesH2D-before.BytesH2D, st.BytesD2H-before.BytesD2H; in != (12+8)*4 || back != 8*4 {
		t.Fatalf("staged %d bytes in, %d back; want %d and %d", in, back, (12+8)*4, 8*4)
	}
	// The same slice as input and output: y = 2*y + y.
	y := []float32{1, 2, 3, 4}
	if err := launch(t, d, kernels.Saxpy, kernels.SaxpyRange(4), y, y, float32(2), 4); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(y) != "[3 6 9 12]" {
		t.Fatalf("aliased saxpy: %v", y)
	}
	// A pointer of unknown extent cannot be staged.
	err := launch(t, d, addTwo, kernels.Range1D(8, 8), out, unsafe.Pointer(&buf[0]), buf[4:12], 8)
	if !errors.Is(err, svm.ErrNotSupported) || !strings.Contains(err.Error(), "param 1 (a)") {
		t.Fatalf("unsafe.Pointer in buffer mode: %v", err)
	}
}

// A kernel that does not compile returns the build log.
func TestBuildErrorCarriesLog(t *testing.T) {
	for _, m := range modes {
		d := openTest(t, m)
		bad := &kernels.Kernel{
			Name:   "test_syntax_error",
			Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}},
			Source: `__kernel void test_syntax_error(__global uint *out) {
	out[0] = undeclared_thing_42 +;
}`,
		}
		out := []uint32{5}
		err := launch(t, d, bad, kernels.Range1D(1, 1), out)
		var be *BuildError
		if !errors.Is(err, ErrBuild) || !errors.As(err, &be) {
			t.Fatalf("%v: got %v, want a *BuildError", m, err)
		}
		if !strings.Contains(be.Log, "undeclared_thing_42") || !strings.Contains(err.Error(), "undeclared_thing_42") {
			t.Fatalf("build log does not name the bad identifier:\n%s", be.Log)
		}
		var ce *CLError
		if !errors.As(err, &ce) || ce.Code != -11 || !strings.Contains(err.Error(), "CL_BUILD_PROGRAM_FAILURE") {
			t.Fatalf("want CL_BUILD_PROGRAM_FAILURE in %v", err)
		}
		if out[0] != 5 || d.Stats().Launches != 0 {
			t.Fatalf("a failed build ran something: out %v, launches %d", out, d.Stats().Launches)
		}
	}
}

// Wrong arguments are errors before anything is enqueued.
func TestBadArgumentsBeforeEnqueue(t *testing.T) {
	for _, m := range modes {
		d := openTest(t, m)
		y, x := []float32{1, 2, 3}, []float32{1, 1, 1}
		good, _ := kernels.Bind(kernels.Saxpy, y, x, float32(2), 3)
		other, _ := kernels.Bind(kernels.Histogram, []uint32{0}, []uint32{1}, 1, 1) // 4 args, other kinds
		wrongSig := &kernels.Kernel{                                                // Params say 2 arguments, the source takes 3
			Name:   "test_wrong_count",
			Params: []kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "n", Kind: kernels.I32}},
			Source: `__kernel void test_wrong_count(__global float *out, int n, int extra) { out[0] = n + extra; }`,
		}
		wrongKind := &kernels.Kernel{ // Params say scalar, the source takes a pointer
			Name:   "test_wrong_kind",
			Params: []kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "v", Kind: kernels.U64}},
			Source: `__kernel void test_wrong_kind(__global float *out, __global float *v) { out[0] = v[0]; }`,
		}
		cases := []struct {
			name string
			k    *kernels.Kernel
			nd   kernels.NDRange
			a    *kernels.Args
			want error
		}{
			{"too few words", kernels.Saxpy, kernels.SaxpyRange(3), &kernels.Args{Words: []uint64{1, 2}}, kernels.ErrBadArgs},
			{"bound for another kernel", kernels.Saxpy, kernels.SaxpyRange(3), other, kernels.ErrBadArgs},
			{"nil args", kernels.Saxpy, kernels.SaxpyRange(3), nil, kernels.ErrBadArgs},
			{"bad NDRange", kernels.Saxpy, kernels.Range1D(3, 2), good, kernels.ErrInvalidNDRange},
			{"4-D NDRange", kernels.Saxpy, kernels.NDRange{Dims: 4}, good, kernels.ErrInvalidNDRange},
			{"source takes more arguments", wrongSig, kernels.Range1D(1, 1), mustBind(t, wrongSig, y, 1), kernels.ErrBadArgs},
			{"source takes a pointer for a scalar", wrongKind, kernels.Range1D(1, 1), mustBind(t, wrongKind, y, 1), kernels.ErrBadArgs},
		}
		for _, c := range cases {
			err := d.Launch(context.Background(), c.k, c.nd, c.a)
			if !errors.Is(err, c.want) {
				t.Fatalf("%v %s: got %v, want %v", m, c.name, err, c.want)
			}
			t.Logf("%v %s: %v", m, c.name, err)
		}
		if _, err := kernels.Bind(kernels.Saxpy, y, "x", 2.0, 3); !errors.Is(err, kernels.ErrBadArgs) {
			t.Fatalf("Bind with a string: %v", err)
		}
		if fmt.Sprint(y) != "[1 2 3]" || d.Stats().Launches != 0 {
			t.Fatalf("%v: something ran: y %v, launches %d", m, y, d.Stats().Launches)
		}
	}
}

func mustBind(t testing.TB, k *kernels.Kernel, vals ...any) *kernels.Args {
	t.Helper()
	a, err := kernels.Bind(k, vals...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Memory a launch names that is not accessible is a fault error naming the
// address, before anything is enqueued (a PoCL worker thread touching it
// would kill the process).
func TestBadMemoryBeforeEnqueue(t *testing.T) {
	for _, m := range modes {
		d := openTest(t, m)
		mem, err := syscall.Mmap(-1, 0, 3*4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			t.Fatal(err)
		}
		w := testmem.Uint32s(mem)
		if err := syscall.Mprotect(mem[4096:8192], syscall.PROT_NONE); err != nil {
			t.Fatal(err)
		}
		out := make([]uint32, len(w))
		err = launch(t, d, addTwo, kernels.Range1D(len(w), 256), out, w, w, len(w))
		var fe *svm.FaultError
		if !errors.Is(err, svm.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr != uintptr(unsafe.Pointer(&mem[4096])) {
			t.Fatalf("%v: PROT_NONE page: %v", m, err)
		}
		syscall.Mprotect(mem, syscall.PROT_READ)
		err = launch(t, d, addTwo, kernels.Range1D(len(w), 256), w, out, out, len(w))
		if !errors.Is(err, svm.ErrPermission) || !errors.As(err, &fe) || fe.Addr != uintptr(unsafe.Pointer(&mem[0])) {
			t.Fatalf("%v: write to read-only memory: %v", m, err)
		}
		syscall.Munmap(mem)
		if d.Stats().Launches != 0 {
			t.Fatalf("launched %d", d.Stats().Launches)
		}
	}
}

// The SVM memory commands move the right bytes in both modes.
func TestMemoryCommands(t *testing.T) {
	ctx := context.Background()
	for _, m := range modes {
		d := openTest(t, m)
		src := make([]byte, 3*4096+123)
		dst := make([]byte, len(src))
		for i := range src {
			src[i] = byte(i % 251)
		}
		at := func(b []byte, i int) uintptr { return uintptr(unsafe.Pointer(&b[i])) }
		if err := d.Copy(ctx, at(dst, 3), at(src, 5), uintptr(len(src)-10)); err != nil {
			t.Fatal(err)
		}
		if string(dst[3:len(src)-7]) != string(src[5:len(src)-5]) || dst[0] != 0 || dst[len(dst)-1] != 0 {
			t.Fatalf("%v: copy moved the wrong bytes", m)
		}
		if err := d.Copy(ctx, at(src, 100), at(src, 0), 200); !errors.Is(err, svm.ErrInvalidValue) {
			t.Fatalf("overlapping copy: %v", err)
		}
		region := make([]byte, 1024+128)
		base := (at(region, 0) + 127) &^ 127
		off := int(base - at(region, 0))
		for _, size := range []int{1, 2, 4, 8, 16, 32, 64, 128} {
			pat := make([]byte, size)
			for i := range pat {
				pat[i] = byte(size + i)
			}
			if err := d.Fill(ctx, base, pat, 1024); err != nil {
				t.Fatalf("%v fill %d: %v", m, size, err)
			}
			for i := 0; i < 1024; i++ {
				if region[off+i] != pat[i%size] {
					t.Fatalf("%v pattern %d: byte %d = %d", m, size, i, region[off+i])
				}
			}
		}
		for _, bad := range []struct {
			p   []byte
			dst uintptr
			n   uintptr
		}{{[]byte{1, 2, 3}, base, 96}, {make([]byte, 256), base, 1024}, {nil, base, 64}, {[]byte{1, 2, 3, 4}, base, 10}, {[]byte{1, 2, 3, 4}, base + 2, 16}} {
			if err := d.Fill(ctx, bad.dst, bad.p, bad.n); !errors.Is(err, svm.ErrInvalidValue) {
				t.Fatalf("bad fill %v: %v", bad, err)
			}
		}
		if err := d.Map(ctx, at(dst, 0), uintptr(len(dst))); err != nil {
			t.Fatalf("%v map: %v", m, err)
		}
		dst[0] = 42 // host access while mapped
		if err := d.Unmap(ctx, at(dst, 0), uintptr(len(dst))); err != nil {
			t.Fatalf("%v unmap: %v", m, err)
		}
		for _, toHost := range []bool{false, true} {
			if err := d.MigrateMem(ctx, at(dst, 0), uintptr(len(dst)), toHost); err != nil {
				t.Fatalf("%v migrate toHost=%v: %v", m, toHost, err)
			}
		}
		if dst[0] != 42 || string(dst[3:len(src)-7]) != string(src[5:len(src)-5]) {
			t.Fatalf("%v: data changed by map/unmap/migrate", m)
		}
		// A bad source is a fault error naming it, and dst stays intact.
		bad, _ := syscall.Mmap(-1, 0, 4096, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		err := d.Copy(ctx, at(dst, 0), at(bad, 0), 4096)
		var fe *svm.FaultError
		if !errors.Is(err, svm.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr != at(bad, 0) || dst[0] != 42 {
			t.Fatalf("%v: copy from PROT_NONE: %v", m, err)
		}
		syscall.Munmap(bad)
	}
}

// Errors name the OpenCL call and the status by name; a missing entry
// point is ErrNotSupported.
func TestCLErrors(t *testing.T) {
	e := &CLError{Call: "clSetKernelArg", Code: -52}
	if e.Error() != "opencl: clSetKernelArg: CL_INVALID_KERNEL_ARGS (-52)" || !errors.Is(fmt.Errorf("x: %w", e), &CLError{Code: -52}) {
		t.Fatal(e.Error())
	}
	if m := (&CLError{Call: "clSVMAlloc", Missing: true}); !errors.Is(m, svm.ErrNotSupported) || !strings.Contains(m.Error(), "clSVMAlloc") {
		t.Fatal(m)
	}
	if !errors.Is(&CLError{Code: -4}, svm.ErrOutOfDeviceMemory) || ErrorName(-9999) != "CL error -9999" {
		t.Fatal("error mapping")
	}
}
