package svm

import (
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
)

// Guards against a bug found in review: fork is neither followed (UFFD_FEATURE_EVENT_FORK) nor refused
// (the FORK rule of svm's package doc, doc.go: the child gets a copy of
// every device-resident page). A child created by fork() — C code's system()/popen()/fork
// through cgo — does not inherit the userfaultfd registration, so every
// page resident on a device reads as zero in the child, silently.
func TestForkChildSeesDevicePageData(t *testing.T) {
	if !inChild(t, 20*time.Second) {
		return
	}
	m := attach(t, 4)
	mem := mmapRW(t, PageSize)
	mem[0] = 42
	migrateRange(t, m, unsafe.Pointer(&mem[0]), len(mem))
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	pid, errno := runForked(&mem[0], fds[1], -1)
	runtime.UnlockOSThread()
	if errno != 0 {
		t.Skipf("fork: %v", errno)
	}
	b := forkedResult(pid, fds[0])
	if mem[0] != 42 {
		t.Fatalf("parent lost its data: %d", mem[0])
	}
	if b != 42 {
		t.Fatalf("forked child reads %d from a device-resident page whose content is 42 (fork neither followed nor refused)", b)
	}
}

// Guards against a bug found in review: fork_child walks the page table after the parent's fork() has
// returned and copies only pages that are *still* on a device when the walk
// reaches them. A page the parent brings home meanwhile (MigrateToHost,
// Release, another device's Migrate — anything on a Go thread) was absent in
// the parent at fork time, so the child has no copy of it either: the child
// reads zeros instead of the data the page held at fork time.
func TestForkChildLosesPageBroughtHomeAfterFork(t *testing.T) {
	if !inChild(t, 20*time.Second) {
		return
	}
	const pages = 4096 // fork_child copies these first (address order)...
	m := attach(t, pages+1)
	mem := mmapRW(t, (pages+1)*PageSize)
	for i := 0; i < len(mem); i += PageSize {
		mem[i] = 42
	}
	migrateRange(t, m, unsafe.Pointer(&mem[0]), len(mem))
	last := testmem.Addr(mem) + pages*PageSize // ...and this one last
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	pid, errno := runForked(&mem[pages*PageSize], fds[1], -1)
	if errno == 0 {
		// Parent, right after fork() returned: bring the last page home.
		if _, err := Default().MigrateToHost(last, PageSize); err != nil {
			t.Error(err)
		}
	}
	runtime.UnlockOSThread()
	if errno != 0 {
		t.Skipf("fork: %v", errno)
	}
	b := forkedResult(pid, fds[0])
	if mem[pages*PageSize] != 42 {
		t.Fatalf("parent lost its data")
	}
	if b != 42 {
		t.Fatalf("forked child reads %d from a page that held 42 (on the device) at fork time", b)
	}
}
