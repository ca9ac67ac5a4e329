package opencl

// Fourth independent review: the OpenCL backend. Each test here failed on
// the code the review found and passes on the fix.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Guards against (found in the fourth review, fixed): the signature check
// compared only the argument count and address spaces. A scalar of another
// size was CL_INVALID_ARG_SIZE (not ErrBadArgs); an F32 parameter bound to
// an int argument ran with the float's bits read as an int (a wrong answer,
// no error); a __local argument in the middle matched a scalar parameter;
// a PtrF32 parameter ran on an int* argument.
func TestRegression4SignatureTypes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params []kernels.Param
		src    string // the kernel's parameter list
		vals   []any
		names  string // what the error must name
	}{
		{"I32 param, long argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrI32, Written: true}, {Name: "v", Kind: kernels.I32}},
			"__global int *out, long v", []any{[]int32{0}, int32(7)}, "param 1 (v)"},
		{"F32 param, int argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "v", Kind: kernels.F32}},
			"__global float *out, int v", []any{[]float32{0}, float32(1.5)}, "param 1 (v)"},
		{"U64 param, __local argument in the middle",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "v", Kind: kernels.U64}},
			"__global float *out, __local float *scratch", []any{[]float32{0}, uint64(8)}, "param 1 (v)"},
		{"PtrF32 param, int* argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "v", Kind: kernels.F32}},
			"__global int *out, float v", []any{[]float32{0}, float32(2)}, "param 0 (out)"},
		{"PtrU8 param, uint* argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrU8, Written: true}, {Name: "v", Kind: kernels.F32}},
			"__global uint *out, float v", []any{[]byte{0}, float32(2)}, "param 0 (out)"},
		{"U32 param, int argument",
			[]kernels.Param{{Name: "out", Kind: kernels.PtrF32, Written: true}, {Name: "v", Kind: kernels.U32}},
			"__global float *out, int v", []any{[]float32{0}, uint32(3)}, "param 1 (v)"},
	} {
		for _, m := range modes {
			t.Run(fmt.Sprintf("%s/%v", tc.name, m), func(t *testing.T) {
				d := openTest(t, m)
				name := "rg4_sig_" + strings.NewReplacer(" ", "_", ",", "", "*", "p", "_", "").Replace(tc.name)
				k := &kernels.Kernel{Name: name, Params: tc.params,
					Source: "__kernel void " + name + "(" + tc.src + ") { }"}
				err := launch(t, d, k, kernels.Range1D(1, 1), tc.vals...)
				if !errors.Is(err, kernels.ErrBadArgs) || !strings.Contains(err.Error(), tc.names) {
					t.Fatalf("got %v, want kernels.ErrBadArgs naming %s", err, tc.names)
				}
				if d.Stats().Launches != 0 {
					t.Fatal("the launch was enqueued")
				}
				t.Log(err)
			})
		}
	}
	// And what matches runs: atomic_uint* for PtrU32, __constant pointers,
	// unsigned spellings, PtrAny on a struct pointer.
	d := openTest(t, ModeAuto)
	k := &kernels.Kernel{Name: "rg4_sig_ok", Params: []kernels.Param{
		{Name: "a", Kind: kernels.PtrU32, Written: true}, {Name: "b", Kind: kernels.PtrF32}, {Name: "c", Kind: kernels.PtrAny},
		{Name: "u", Kind: kernels.U32}, {Name: "l", Kind: kernels.I64}, {Name: "ul", Kind: kernels.U64}},
		Source: `typedef struct { int x; } S;
__kernel void rg4_sig_ok(__global volatile atomic_uint *a, __constant float *b, __global S *c, unsigned int u, long l, unsigned long ul) {
	atomic_store_explicit(&a[0], u + (uint)b[0] + (uint)c->x + (uint)l + (uint)ul, memory_order_relaxed, memory_scope_device);
}`}
	out := []uint32{0}
	s := &struct{ X int32 }{X: 5}
	if err := launch(t, d, k, kernels.Range1D(1, 1), out, []float32{2}, s, uint32(1), int64(10), uint64(100)); err != nil || out[0] != 118 {
		t.Fatalf("matching signature: %v, out %d", err, out[0])
	}
}

var rg4Fill = &kernels.Kernel{
	Name:   "rg4_fill",
	Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}, {Name: "v", Kind: kernels.U32}},
	Source: `__kernel void rg4_fill(__global uint *out, uint v) { out[get_global_id(0)] = v; }`,
}

// Guards against (found in the fourth review, fixed): a buffer-mode launch
// whose ctx ended while its copy-back ran returned ctx.Err() while the
// copy-back went on writing host memory. Now a Launch that returns
// ctx.Err() has written nothing, then or later; a copy-back that started
// makes Launch wait for it and return its result. Cancellations are
// spread over the launch's duration, within a time bound.
func TestRegression4BufferCancelCopyBack(t *testing.T) {
	d := openTest(t, ModeBuffer)
	n := 16 << 20 // 64 MiB: a copy-back of some milliseconds
	if testing.Short() {
		n = 4 << 20
	}
	out := make([]uint32, n)
	nd := kernels.Range1D(n, 256)
	if err := d.Launch(context.Background(), rg4Fill, nd, mustBind(t, rg4Fill, out, uint32(1))); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := d.Launch(context.Background(), rg4Fill, nd, mustBind(t, rg4Fill, out, uint32(2))); err != nil {
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
		err := d.Launch(ctx, rg4Fill, nd, mustBind(t, rg4Fill, out, val))
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

// Guards against (found in the fourth review, fixed): buffer-mode Fill
// allocated its SVM buffer before registering the command; on a closed
// device it returned ErrClosed and leaked the buffer.
func TestRegression4FillOnClosedDevice(t *testing.T) {
	d := openTest(t, ModeBuffer)
	d.Close()
	region := make([]byte, 64<<20)
	dst := uintptr(unsafe.Pointer(&region[0]))
	live, vm := liveSVM.Load(), vmSizeKB()
	for i := 0; i < 20; i++ {
		if err := d.Fill(context.Background(), dst, []byte{1, 2, 3, 4}, uintptr(len(region))); !errors.Is(err, svm.ErrClosed) {
			t.Fatal(err)
		}
	}
	if got := liveSVM.Load(); got != live {
		t.Errorf("%d SVM allocations left behind by Fill on a closed device", got-live)
	}
	if grown := vmSizeKB() - vm; grown > 512<<10 {
		t.Errorf("VmSize grew by %d MiB over 20 fills on a closed device", grown>>10)
	}
	// And an open device's fills free theirs.
	d2 := openTest(t, ModeBuffer)
	live = liveSVM.Load()
	for i := 0; i < 5; i++ {
		if err := d2.Fill(context.Background(), dst, []byte{byte(i)}, 4096); err != nil || region[4095] != byte(i) {
			t.Fatal(err, region[4095])
		}
	}
	if got := liveSVM.Load(); got != live {
		t.Errorf("%d SVM allocations left behind by fills", got-live)
	}
}

func vmSizeKB() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmSize:" {
			var n int
			fmt.Sscan(f[1], &n)
			return n
		}
	}
	return 0
}

// Guards against (found in the fourth review, fixed): pooled kernel objects
// (shared by every Device on the OpenCL device, whatever its mode) kept
// their clSetKernelExecInfo settings: a pass-through launch after a
// buffer-mode one ran with the SVM_PTRS list of freed staging buffers, a
// buffer-mode launch after a pass-through one with FINE_GRAIN_SYSTEM on.
func TestRegression4ExecInfoReset(t *testing.T) {
	type state struct {
		fine    uintptr
		hasFine bool
		ptrs    []uintptr
	}
	var mu sync.Mutex
	objs := map[uintptr]*state{} // what each kernel object has been told
	var last uintptr
	testHookExecInfo = func(kern uintptr, what string, vals []uintptr) {
		mu.Lock()
		defer mu.Unlock()
		s := objs[kern]
		if s == nil {
			s = &state{}
			objs[kern] = s
		}
		switch what {
		case "fine-system":
			s.fine, s.hasFine = vals[0], true
		case "svm-ptrs":
			s.ptrs = append([]uintptr(nil), vals...)
		}
		last = kern
	}
	defer func() { testHookExecInfo = nil }()
	buf, pass := openTest(t, ModeBuffer), openTest(t, ModePassThrough)
	out := make([]uint32, 1024)
	host := uintptr(unsafe.Pointer(&out[0]))
	for i, step := range []struct {
		d    *Device
		fine bool
	}{{buf, false}, {pass, true}, {buf, false}, {pass, true}} {
		if err := step.d.Launch(context.Background(), rg4Fill, kernels.Range1D(len(out), 64), mustBind(t, rg4Fill, out, uint32(i+1))); err != nil || out[1023] != uint32(i+1) {
			t.Fatal(err, out[1023])
		}
		mu.Lock()
		s := objs[last]
		mu.Unlock()
		if s == nil {
			t.Fatalf("step %d (%v): no exec info set", i, step.d.Mode())
		}
		if buf.sh.execFineOK && (!s.hasFine || (s.fine == 1) != step.fine) {
			t.Errorf("step %d (%v): the kernel object ran with FINE_GRAIN_SYSTEM %v (set: %v), want %v", i, step.d.Mode(), s.fine, s.hasFine, step.fine)
		}
		if step.fine {
			for _, p := range s.ptrs {
				if p != buf.sh.sentinel() {
					t.Errorf("step %d (pass-through): the kernel object ran with SVM_PTRS %#x, a buffer of an earlier launch", i, s.ptrs)
				}
			}
		} else if len(s.ptrs) != 1 || s.ptrs[0] == host || s.ptrs[0] == buf.sh.sentinel() {
			t.Errorf("step %d (buffer): SVM_PTRS %#x, want this launch's one staging buffer", i, s.ptrs)
		}
	}
}

// Guards against (found in the fourth review, fixed): an already-ended ctx
// did not stop Copy, Fill or Map (the command ran, and the result was nil
// or Canceled at random); a cancelled Launch and a completed one raced in
// one select.
func TestRegression4EndedContextEnqueuesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range modes {
		d := openTest(t, m)
		src, dst := make([]byte, 4096), make([]byte, 4096)
		for i := range src {
			src[i] = 7
		}
		s, t2 := uintptr(unsafe.Pointer(&src[0])), uintptr(unsafe.Pointer(&dst[0]))
		for i := 0; i < 20; i++ {
			for what, err := range map[string]error{
				"copy":    d.Copy(ctx, t2, s, 4096),
				"fill":    d.Fill(ctx, t2, []byte{9}, 4096),
				"map":     d.Map(ctx, t2, 4096),
				"unmap":   d.Unmap(ctx, t2, 4096),
				"migrate": d.MigrateMem(ctx, t2, 4096, false),
				"launch":  d.Launch(ctx, rg4Fill, kernels.Range1D(1024, 64), mustBind(t, rg4Fill, u32(dst), uint32(5))),
			} {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("%v: %s with an ended ctx: %v, want context.Canceled", m, what, err)
				}
			}
			if err := d.sync(context.Background(), "test"); err != nil {
				t.Fatal(err)
			}
			for j, v := range dst {
				if v != 0 {
					t.Fatalf("%v: byte %d = %d after commands with an ended ctx: a command ran", m, j, v)
				}
			}
		}
		if d.Stats().Launches != 0 {
			t.Fatalf("%v: %d launches enqueued", m, d.Stats().Launches)
		}
		// A command that completes with a live ctx returns its result.
		live, stop := context.WithCancel(context.Background())
		for i := 0; i < 50; i++ {
			if err := d.Copy(live, t2, s, 4096); err != nil || dst[4095] != 7 {
				t.Fatal(err)
			}
		}
		stop()
	}
}

func u32(b []byte) []uint32 { return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4) }

// Guards against (found in the fourth review, fixed): the per-kernel
// work-group limits were not checked before enqueue: a kernel compiled
// with reqd_work_group_size launched with another size, or a group larger
// than CL_KERNEL_WORK_GROUP_SIZE, failed in clEnqueueNDRangeKernel
// (CL_INVALID_WORK_GROUP_SIZE) instead of kernels.ErrInvalidNDRange.
func TestRegression4WorkGroupLimits(t *testing.T) {
	d := openTest(t, ModeAuto)
	k := &kernels.Kernel{Name: "rg4_reqd_wg", Params: []kernels.Param{{Name: "out", Kind: kernels.PtrU32, Written: true}},
		Source: `__kernel __attribute__((reqd_work_group_size(64, 1, 1))) void rg4_reqd_wg(__global uint *out) { out[get_global_id(0)] = get_local_size(0); }`}
	out := make([]uint32, 256)
	if err := launch(t, d, k, kernels.Range1D(256, 64), out); err != nil || out[255] != 64 {
		t.Fatalf("the required work-group size: %v %d", err, out[255])
	}
	err := launch(t, d, k, kernels.Range1D(256, 32), out)
	if !errors.Is(err, kernels.ErrInvalidNDRange) || !strings.Contains(err.Error(), "rg4_reqd_wg") {
		t.Fatalf("work-group 32 on a kernel compiled for 64: %v, want ErrInvalidNDRange naming the kernel", err)
	}
	t.Log(err)
	// The device's per-dimension and per-kernel limits (PoCL's are all
	// equal to its maximum group size, so they are checked on a copy of
	// the device with smaller ones).
	info := d.sh.info
	info.MaxWorkItemSizes = []int{64, 8, 1}
	small := &Device{index: d.index, sh: &shared{info: info}}
	for _, tc := range []struct {
		nd        kernels.NDRange
		kernelMax int
		ok        bool
	}{
		{kernels.Range2D(128, 16, 64, 4), 0, true},
		{kernels.Range2D(128, 16, 64, 16), 0, false},
		{kernels.Range3D(4, 4, 4, 1, 1, 2), 0, false},
		{kernels.Range1D(256, 128), 0, false},
		{kernels.Range1D(256, 64), 32, false},
		{kernels.Range1D(256, 32), 32, true},
	} {
		err := small.checkGroup(tc.nd, tc.kernelMax)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, kernels.ErrInvalidNDRange)) {
			t.Errorf("%+v (kernel max %d): %v", tc.nd, tc.kernelMax, err)
		}
	}
}

// Guards against (found in the fourth review, fixed): in buffer mode a
// read-only parameter overlapping a written one made the whole merged
// buffer "written": its read-only part had to be writable (ErrPermission
// on a read-only page) and was copied back.
func TestRegression4ReadOnlyOverlapNotWritten(t *testing.T) {
	d := openTest(t, ModeBuffer)
	mem, err := syscall.Mmap(-1, 0, 2*4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	w := u32(mem)
	for i := range w {
		w[i] = uint32(i)
	}
	if err := syscall.Mprotect(mem[4096:], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	// dst: the first page (written); src: both pages (read-only), so the
	// two share one staging buffer. dst[i] = src[i + 1024] + 1.
	k := &kernels.Kernel{Name: "rg4_shift", Params: []kernels.Param{
		{Name: "dst", Kind: kernels.PtrU32, Written: true}, {Name: "src", Kind: kernels.PtrU32}},
		Source: `__kernel void rg4_shift(__global uint *dst, __global const uint *src) { int i = get_global_id(0); dst[i] = src[i + 1024] + 1; }`}
	if err := launch(t, d, k, kernels.Range1D(1024, 64), w[:1024], w); err != nil {
		t.Fatalf("read-only parameter over a read-only page, overlapping a written one: %v", err)
	}
	for i := 0; i < 1024; i++ {
		if w[i] != uint32(i+1024+1) || w[i+1024] != uint32(i+1024) {
			t.Fatalf("word %d = %d, word %d = %d", i, w[i], i+1024, w[i+1024])
		}
	}
	// A written parameter on the read-only page is still refused.
	err = launch(t, d, k, kernels.Range1D(1024, 64), w[1024:], w)
	var fe *svm.FaultError
	if !errors.Is(err, svm.ErrPermission) || !errors.As(err, &fe) || fe.Addr < uintptr(unsafe.Pointer(&mem[4096])) {
		t.Fatalf("written parameter on a read-only page: %v", err)
	}
}

// Guards against (found in the fourth review, fixed): a kernel spinning
// on memory nobody would write (a buffer-mode kernel spinning on its
// staged copy of a host flag) made Close block forever. Close now gives up
// after its timeout with ErrCloseTimeout, and releases the queue when the
// command completes.
func TestRegression4CloseDoesNotBlockForever(t *testing.T) {
	if _, err := Devices(); err != nil {
		t.Skip(err)
	}
	d, err := Open(0, WithCloseTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if d.Mode() != ModePassThrough {
		t.Skip("needs a device that sees host memory while a kernel runs (to release the kernel)")
	}
	flag := abandonWaiting(t, d)
	closed := make(chan error, 1)
	start := time.Now()
	go func() { closed <- d.Close() }()
	select {
	case err := <-closed:
		if !errors.Is(err, ErrCloseTimeout) || !strings.Contains(err.Error(), "1 command(s) still running") {
			t.Fatalf("Close with a kernel still running: %v, want ErrCloseTimeout", err)
		}
		t.Logf("Close returned after %v: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(10 * time.Second):
		atomic.StoreUint32(&flag[0], 1)
		t.Fatal("Close blocked with a kernel that does not end")
	}
	select {
	case <-d.released:
		t.Fatal("the queue was released under a running kernel")
	default:
	}
	atomic.StoreUint32(&flag[0], 1)
	select {
	case <-d.released:
	case <-time.After(30 * time.Second):
		t.Fatal("the queue was never released after the kernel ended")
	}
	if atomic.LoadUint32(&flag[2]) != 1 {
		t.Fatal("the kernel did not complete")
	}
}

// Guards against (found in the fourth review, fixed): the signal guard
// compared only the handler and flags of each disposition, so a call that
// changed only a handler's sa_mask kept the change; and concurrent guarded
// calls could save each other's replaced handlers as "the original" and
// restore those.
func TestRegression4SignalGuard(t *testing.T) {
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
