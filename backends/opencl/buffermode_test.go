package opencl

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Guards against (found in the fourth review, fixed): a buffer-mode launch
// whose ctx ended while its copy-back ran returned ctx.Err() while the
// copy-back went on writing host memory. Now a Launch that returns
// ctx.Err() has written nothing, then or later; a copy-back that started
// makes Launch wait for it and return its result. Cancellations are
// spread over the launch's duration, within a time bound.
func TestBufferCancelCopyBack(t *testing.T) {
	d := openTest(t, ModeBuffer)
	n := 16 << 20 // 64 MiB: a copy-back of some milliseconds
	if testing.Short() {
		n = 4 << 20
	}
	out := make([]uint32, n)
	nd := kernels.Range1D(n, 256)
	if err := d.Launch(context.Background(), fillKernel, nd, mustBind(t, fillKernel, out, uint32(1))); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := d.Launch(context.Background(), fillKernel, nd, mustBind(t, fillKernel, out, uint32(2))); err != nil {
		t.Fatal(err)
	}
	full := time.Since(t0)
	untouched := func() (int, uint32) {
		for i := 0; i < n; i += 1021 {
			if out[i] != 0 {
				return i, out[i]
			}
		}
		return -1, 0
	}
	cancelled, completed := 0, 0
	deadline := time.Now().Add(8 * time.Second)
	for try := 0; try < 60 && time.Now().Before(deadline); try++ {
		clear(out)
		val := uint32(100 + try)
		ctx, cancel := context.WithCancel(context.Background())
		delay := time.Duration(float64(full) * (0.2 + float64(try%20)/20))
		timer := time.AfterFunc(delay, cancel)
		err := d.Launch(ctx, fillKernel, nd, mustBind(t, fillKernel, out, val))
		timer.Stop()
		cancel()
		switch {
		case err == nil:
			completed++
			if out[0] != val || out[n-1] != val {
				t.Fatalf("try %d: completed launch left %d..%d, want %d", try, out[0], out[n-1], val)
			}
		case errors.Is(err, context.Canceled):
			cancelled++
			if i, v := untouched(); i >= 0 {
				t.Fatalf("try %d (cancel after %v): Launch returned %v but out[%d] = %d: copied back", try, delay, err, i, v)
			}
			time.Sleep(full + 20*time.Millisecond) // the device finishes the abandoned kernel
			if i, v := untouched(); i >= 0 {
				t.Fatalf("try %d (cancel after %v): Launch returned %v, then out[%d] became %d: copied back after Launch returned", try, delay, err, i, v)
			}
		default:
			t.Fatalf("try %d: %v", try, err)
		}
	}
	t.Logf("full launch %v; %d launches cancelled, %d completed", full, cancelled, completed)
	if cancelled == 0 {
		t.Log("no cancellation landed before completion (machine too fast for the delays)")
	}
}

// Guards against (found in the fourth review, fixed): in buffer mode a
// read-only parameter overlapping a written one made the whole merged
// buffer "written": its read-only part had to be writable (ErrPermission
// on a read-only page) and was copied back.
func TestReadOnlyOverlapNotWritten(t *testing.T) {
	d := openTest(t, ModeBuffer)
	mem := testmem.Map(t, 2*4096, syscall.PROT_READ|syscall.PROT_WRITE)
	w := testmem.Uint32s(mem)
	for i := range w {
		w[i] = uint32(i)
	}
	if err := syscall.Mprotect(mem[4096:], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	// dst: the first page (written); src: both pages (read-only), so the
	// two share one staging buffer. dst[i] = src[i + 1024] + 1.
	k := &kernels.Kernel{Name: "test_readonly_shift", Params: []kernels.Param{
		{Name: "dst", Kind: kernels.PtrU32, Written: true}, {Name: "src", Kind: kernels.PtrU32}},
		Source: `__kernel void test_readonly_shift(__global uint *dst, __global const uint *src) { int i = get_global_id(0); dst[i] = src[i + 1024] + 1; }`}
	if err := launch(t, d, k, kernels.Range1D(1024, 64), w[:1024], w); err != nil {
		t.Fatalf("read-only parameter over a read-only page, overlapping a written one: %v", err)
	}
	for i := 0; i < 1024; i++ {
		if w[i] != uint32(i+1024+1) || w[i+1024] != uint32(i+1024) {
			t.Fatalf("word %d = %d, word %d = %d", i, w[i], i+1024, w[i+1024])
		}
	}
	// A written parameter on the read-only page is still refused.
	err := launch(t, d, k, kernels.Range1D(1024, 64), w[1024:], w)
	var fe *svm.FaultError
	if !errors.Is(err, svm.ErrPermission) || !errors.As(err, &fe) || fe.Addr < uintptr(unsafe.Pointer(&mem[4096])) {
		t.Fatalf("written parameter on a read-only page: %v", err)
	}
}

var spinKernel = &kernels.Kernel{
	Name:   "test_spin",
	Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}, {Name: "n", Kind: kernels.U32}},
	Source: `__kernel void test_spin(__global uint *out, uint n) {
	uint x = out[0];
	for (uint i = 0; i < n; i++) x = x * 1664525u + 1013904223u + (x >> 7);
	out[0] = x;
}`,
}

// Guards against (found in review 4b, the second review of the OpenCL
// backend, fixed): in buffer mode a launch
// queued behind an earlier, abandoned kernel still running ignored its
// ctx (its copy-in was a blocking clEnqueueSVMMemcpy, which waits for every
// earlier command on the in-order queue), and Map/Unmap/MigrateMem were a
// bare clFinish (blocking past ctx, then nil). Both now return ctx.Err()
// when ctx ends first, and the abandoned launch writes nothing to host
// memory, then or later.
func TestBufferCtxBehindRunningKernel(t *testing.T) {
	d := openTest(t, ModeBuffer)
	spin := func(ctx context.Context, out []uint32, n uint32) (time.Duration, error) {
		start := time.Now()
		err := d.Launch(ctx, spinKernel, kernels.Range1D(1, 1), mustBind(t, spinKernel, out, n))
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

// In buffer mode every pointer argument is the staging buffer's address
// (never the host's), read-only parameters included, at the host address's
// offset modulo 128: the kernel reports the addresses it was given.
func TestBufferModePassesStagedPointers(t *testing.T) {
	d := openTest(t, ModeBuffer)
	k := &kernels.Kernel{Name: "test_arg_addresses", Params: []kernels.Param{
		{Name: "out", Kind: kernels.PtrAny, Written: true}, {Name: "src", Kind: kernels.PtrU32}, {Name: "src2", Kind: kernels.PtrF32}},
		Source: `__kernel void test_arg_addresses(__global ulong *out, __global const uint *src, __global const float *src2) {
	out[0] = (ulong)out; out[1] = (ulong)src; out[2] = (ulong)src2; out[3] = src[0] + (ulong)src2[1];
}`}
	out := make([]uint64, 4)
	src := make([]uint32, 1000)
	src2 := make([]float32, 1000)
	src[0], src2[1] = 40, 2
	for _, off := range []int{0, 1, 7} {
		if err := launch(t, d, k, kernels.Range1D(1, 1), out, src[off:], src2[off:]); err != nil {
			t.Fatal(err)
		}
		for i, h := range []struct {
			name       string
			start, end uintptr
		}{
			{"out", uintptr(unsafe.Pointer(&out[0])), uintptr(unsafe.Pointer(&out[0])) + 32},
			{"src", uintptr(unsafe.Pointer(&src[off])), uintptr(unsafe.Pointer(&src[0])) + 4000},
			{"src2", uintptr(unsafe.Pointer(&src2[off])), uintptr(unsafe.Pointer(&src2[0])) + 4000},
		} {
			got := uintptr(out[i])
			if got >= h.start && got < h.end {
				t.Fatalf("offset %d: %s reached the kernel as its host address %#x, not a staging buffer", off, h.name, got)
			}
			if got%128 != h.start%128 {
				t.Fatalf("offset %d: %s at %#x on the device, host %#x: alignment modulo 128 not kept", off, h.name, got, h.start)
			}
		}
		want := uint64(src[off]) + uint64(src2[off+1])
		if out[3] != want {
			t.Fatalf("offset %d: kernel read %d through the staged pointers, want %d", off, out[3], want)
		}
	}
}
