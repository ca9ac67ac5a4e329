package svm

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// Helpers shared by the package's tests. Scenarios that can hang or poison
// the process (the fault service thread deadlocked, stale page-table words)
// run in a child process (the test binary re-executed with -test.run) with a
// deadline: inChild.

const childEnv = "SVM_TEST_CHILD"

// inChild runs t in a child process with a deadline (childtest.InChild),
// after checking that migration is available.
func inChild(t *testing.T, deadline time.Duration) bool {
	t.Helper()
	if os.Getenv(childEnv) != t.Name() {
		if Default().Degraded() != nil {
			t.Skip(Default().Degraded())
		}
	}
	return childtest.InChild(t, childEnv, deadline)
}

func sayf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// mmapRW maps n read-write bytes that stay mapped when the test ends: the
// test unmaps or moves them itself (munmap and mremap are what it tests) or
// leaves them mapped. Memory unmapped at the test's end comes from
// testmem.Map.
func mmapRW(t *testing.T, n int) []byte {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bytesAt views n bytes of non-Go memory at addr (an mmap'd range or a
// device arena) without tripping vet's unsafeptr check.
func bytesAt(addr uintptr, n int) []byte {
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), n)
}

// spinFor burns roughly n loop iterations (a sub-microsecond-scale delay used
// to sweep one racer's start across the other's critical window).
func spinFor(n int) {
	x := 0
	for i := 0; i < n; i++ {
		x += i
	}
	spinSink += x
}

var spinSink int

// staleWords counts pages of [base, base+pages) whose word still says a device
// holds them.
func staleWords(base uintptr, pages int) (n int) {
	for i := 0; i < pages; i++ {
		if WordState(uffd.Load(base+uintptr(i)*PageSize)) == StateDevice {
			n++
		}
	}
	return n
}

// runForked forks; the child stores store into *p first when store >= 0,
// then writes the byte it reads at p to fd and exits.
//
//go:nosplit
func runForked(p *byte, fd int, store int) (pid uintptr, errno syscall.Errno) {
	pid, _, errno = syscall.RawSyscall(syscall.SYS_FORK, 0, 0, 0)
	if errno != 0 || pid != 0 {
		return pid, errno
	}
	// Child: only raw syscalls, no allocation, no stack growth.
	if store >= 0 {
		*p = byte(store)
	}
	b := *p
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b)), 1)
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	return 0, 0
}

// forkedResult waits for the forked child and returns the byte it sent.
func forkedResult(pid uintptr, fd int) byte {
	var b [1]byte
	syscall.Read(fd, b[:])
	var ws syscall.WaitStatus
	syscall.Wait4(int(pid), &ws, 0, nil)
	return b[0]
}
