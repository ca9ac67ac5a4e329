package simgpu

import (
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/childtest"
)

// Helpers shared by the package's tests. Scenarios that can hang the
// process run in a child process (the test binary re-executed with
// -test.run) with a deadline: inChild.

const childEnv = "SIMGPU_TEST_CHILD"

// inChild runs t in a child process with a deadline (childtest.InChild),
// after checking that migration is available.
func inChild(t *testing.T, deadline time.Duration) bool {
	t.Helper()
	if os.Getenv(childEnv) != t.Name() {
		needUFFD(t)
	}
	return childtest.InChild(t, childEnv, deadline)
}

// blockAligned maps n bytes at a 2 MiB boundary (unmapped after the test).
func blockAligned(t *testing.T, n int) ([]byte, uintptr) {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, n+2<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(b) })
	base := uintptr(unsafe.Pointer(&b[0]))
	off := int((2<<20 - base%(2<<20)) % (2 << 20))
	return b[off : off+n], base + uintptr(off)
}
