package runtime_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/internal/testmem"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// memCmdChildEnv marks the child run of a test that, on the bug it
// guards against, crashes the process.
const memCmdChildEnv = "RUNTIME_MEMCOMMANDS_CHILD"

// Guards against (found in the third review, fixed): on the cpu device, Memcpy/Memfill with a NULL pointer (or a
// length beyond any allocation) crash the whole process: hostCopy/hostFill
// build unsafe.Slice(nil, n), which panics with a runtime error that has no
// Addr(), so hostRecover re-panics on the queue's worker goroutine. The
// simulated GPU reports the same call as ErrDeviceFault.
func TestCPUMemcpyNilCrashesProcess(t *testing.T) {
	if os.Getenv(memCmdChildEnv) != t.Name() {
		childtest.InChild(t, memCmdChildEnv, 20*time.Second)
		return
	}
	d := open(t, "cpu")
	src := make([]byte, 64)
	// Refused at once (the range is checked before it is queued) or by the
	// command: either way ErrDeviceFault, and the process lives.
	ev, err := d.Memcpy(context.Background(), nil, unsafe.Pointer(&src[0]), 64)
	if err == nil {
		err = ev.Wait(context.Background())
	}
	if !errors.Is(err, svmrt.ErrDeviceFault) {
		t.Fatalf("memcpy to NULL: %v, want ErrDeviceFault", err)
	}
}

// Guards against (found in the third review, fixed, with
// TestCPUMemcpyNilCrashesProcess): Memfill of NULL on the cpu device crashed
// the process the same way, through hostFill.
func TestCPUMemfillNilCrashesProcess(t *testing.T) {
	if os.Getenv(memCmdChildEnv) != t.Name() {
		childtest.InChild(t, memCmdChildEnv, 20*time.Second)
		return
	}
	d := open(t, "cpu")
	ev, err := d.Memfill(context.Background(), nil, []byte{1, 2, 3, 4}, 64)
	if err == nil {
		err = ev.Wait(context.Background())
	}
	if !errors.Is(err, svmrt.ErrDeviceFault) {
		t.Fatalf("memfill of NULL: %v, want ErrDeviceFault", err)
	}
}

// Guards against (found in the third review, fixed): a memory command writing read-only memory fails with
// ErrPermission on simgpu (classify) but with ErrDeviceFault on cpu
// (hostRecover never looks at the mapping; hostFault only handles kernel
// PanicErrors). A kernel writing the same memory on cpu gets ErrPermission.
func TestMemfillReadOnlyErrorIdentity(t *testing.T) {
	mem := testmem.Map(t, 4096, syscall.PROT_READ)
	names := []string{"cpu"}
	if svmrt.Degraded() == nil {
		names = append(names, "simgpu")
	}
	for _, name := range names {
		d := open(t, name)
		ev, err := d.Memfill(context.Background(), unsafe.Pointer(&mem[0]), []byte{7}, 4096)
		if err == nil {
			err = ev.Wait(context.Background())
		}
		if !errors.Is(err, svmrt.ErrPermission) {
			t.Errorf("%s: memfill of read-only memory: %v, want ErrPermission", name, err)
		}
	}
}
