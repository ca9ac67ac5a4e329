package simgpu

import (
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/svm"
)

// Closing a device removes it from the advice: the next device in its slot
// does not inherit it.
//
// Guards against a bug found in review (of the memory policies).
func TestAdviceForgetsClosedDevice(t *testing.T) {
	needUFFD(t)
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 4096)
	p, n := uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)*4)
	defer svm.ClearAdvice(p, n)
	if err := svm.Advise(p, n, svm.SetAccessedBy, a.Location()); err != nil {
		t.Fatal(err)
	}
	if err := svm.Advise(p, n, svm.SetPreferredLocation, a.Location()); err != nil {
		t.Fatal(err)
	}
	slot := a.Location()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if rs := svm.RangeAdvice(p, n); len(rs) != 0 {
		t.Fatalf("advice for closed device %v remains: %+v", slot, rs)
	}
}
