package opencl

import (
	"context"
	"sync"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
)

// Guards against (found in the fourth review, fixed): pooled kernel objects
// (shared by every Device on the OpenCL device, whatever its mode) kept
// their clSetKernelExecInfo settings: a pass-through launch after a
// buffer-mode one ran with the SVM_PTRS list of freed staging buffers, a
// buffer-mode launch after a pass-through one with FINE_GRAIN_SYSTEM on.
func TestExecInfoReset(t *testing.T) {
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
		if err := step.d.Launch(context.Background(), fillKernel, kernels.Range1D(len(out), 64), mustBind(t, fillKernel, out, uint32(i+1))); err != nil || out[1023] != uint32(i+1) {
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

// Guards against (found in review 4b, the second review of the OpenCL
// backend, fixed): the SVM_PTRS sentinel was
// allocated under a sync.Once: had that clSVMAlloc failed, it stayed 0 for
// the process and launches staging nothing skipped resetting the kernel
// object's SVM_PTRS list (inheriting another launch's freed buffers). Now
// a failed allocation is retried by the next launch (and a launch fails
// with svm.ErrOutOfDeviceMemory if it fails again).
func TestSentinelRetried(t *testing.T) {
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
	if err := launch(t, d, fillKernel, kernels.Range1D(1, 1), out, uint32(9)); err != nil || out[0] != 9 {
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
