package opencl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/svm"
)

// Guards against (found in the fourth review, fixed): a kernel spinning
// on memory nobody would write (a buffer-mode kernel spinning on its
// staged copy of a host flag) made Close block forever. Close now gives up
// after its timeout with ErrCloseTimeout, and releases the queue when the
// command completes.
func TestCloseDoesNotBlockForever(t *testing.T) {
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

// Guards against (found in review 4b, the second review of the OpenCL
// backend, fixed): after a Close that returned
// ErrCloseTimeout, a second Close returned nil at once while the kernel
// still ran. Now every Close waits again and returns ErrCloseTimeout until
// the device is released; Done is closed then, and Close returns nil.
func TestCloseAgainAfterTimeout(t *testing.T) {
	if _, err := Devices(); err != nil {
		t.Skip(err)
	}
	d, err := Open(0, WithCloseTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if d.Mode() != ModePassThrough {
		t.Skip("needs a device that sees host memory while a kernel runs (to release the kernel)")
	}
	flag := abandonWaiting(t, d)
	for i := 1; i <= 3; i++ {
		start := time.Now()
		err := d.Close()
		if !errors.Is(err, ErrCloseTimeout) || !strings.Contains(err.Error(), "1 command(s) still running") {
			t.Fatalf("Close #%d with the kernel still running (flag[2]=%d): %v, want ErrCloseTimeout", i, atomic.LoadUint32(&flag[2]), err)
		}
		if el := time.Since(start); el < 80*time.Millisecond || el > 5*time.Second {
			t.Fatalf("Close #%d returned after %v, want about the 100ms timeout", i, el)
		}
	}
	select {
	case <-d.Done():
		t.Fatal("Done closed while the kernel runs")
	default:
	}
	atomic.StoreUint32(&flag[0], 1)
	select {
	case <-d.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("Done never closed after the kernel ended")
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close after the device was released: %v", err)
	}
	if atomic.LoadUint32(&flag[2]) != 1 {
		t.Fatal("the kernel did not complete")
	}
}

// Guards against (found in the fourth review, fixed): buffer-mode Fill
// allocated its SVM buffer before registering the command; on a closed
// device it returned ErrClosed and leaked the buffer.
func TestFillOnClosedDevice(t *testing.T) {
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
