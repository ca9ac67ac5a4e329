package svmtest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

const childEnv = "SVMTEST_MAIN_CHILD"

// provokeServiceError makes the fault-service thread record a real internal
// error: a page left on a device whose memory is then detached has no data
// to bring home, and the explicit migration that finds it makes it a zero
// host page and counts ENXIO (bring_back).
func provokeServiceError(t *testing.T) {
	t.Helper()
	if err := uffd.Open(); err != nil {
		t.Skipf("userfaultfd not available here: %v", err)
	}
	mem, err := syscall.Mmap(-1, 0, uffd.PageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	arena, err := syscall.Mmap(-1, 0, uffd.PageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(arena)
	mem[0] = 1
	base := uintptr(unsafe.Pointer(&mem[0]))
	if err := uffd.Register(base, uffd.PageSize); err != nil {
		t.Fatal(err)
	}
	const slot = 1 // nothing else in this binary attaches a device
	if err := uffd.AttachDevice(slot, uintptr(unsafe.Pointer(&arena[0])), 1, false); err != nil {
		t.Fatal(err)
	}
	res := make([]uint8, 1)
	if n, err := uffd.MigrateIn(base, slot, []uint32{0}, res, uffd.Move, uffd.Stats().MapGen); n != 1 || err != nil {
		uffd.DetachDevice(slot)
		t.Fatalf("MigrateIn = %d, %v (result %v)", n, err, res)
	}
	before := uffd.Stats().Errors
	uffd.DetachDevice(slot)
	if _, err := uffd.MigrateOut(base, 1); err != nil {
		t.Fatal(err)
	}
	if got := uffd.Stats().Errors - before; got != 1 {
		t.Fatalf("service thread recorded %d internal errors, want 1", got)
	}
}

// The child runs of TestMainReportsServiceErrors: what a test does decides
// what the check after it says.
func TestMainChild(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "":
		t.Skip("run by TestMainReportsServiceErrors")
	case "provoke":
		provokeServiceError(t)
	case "expect":
		ExpectServiceErrors(t)
		provokeServiceError(t)
	case "broken":
		Set(IgnoreUnmap)
		provokeServiceError(t)
		Set(0)
	case "broken-then-error":
		Set(IgnoreUnmap)
		Set(0)
		provokeServiceError(t)
	case "fail":
		provokeServiceError(t)
		t.Fatal("failing on purpose")
	}
}

// A test binary whose tests pass fails when the service thread recorded an
// internal error, saying how many and the last errno; errors a test
// declared with ExpectServiceErrors, or recorded while the core was broken
// on purpose (Set), are not held against it, those after Set(0) are; and
// when the tests failed, their exit status stands alone.
func TestMainReportsServiceErrors(t *testing.T) {
	if err := uffd.Open(); err != nil {
		t.Skipf("userfaultfd not available here: %v", err)
	}
	const report = "svm fault service recorded 1 internal errors (last errno 6: no such device or address)"
	for _, tc := range []struct {
		child      string
		code       int
		report     bool
		testResult string
	}{
		{"provoke", 1, true, "--- PASS: TestMainChild"},
		{"expect", 0, false, "--- PASS: TestMainChild"},
		{"broken", 0, false, "--- PASS: TestMainChild"},
		{"broken-then-error", 1, true, "--- PASS: TestMainChild"},
		{"fail", 1, false, "--- FAIL: TestMainChild"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), childEnv+"="+tc.child)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if _, exited := err.(*exec.ExitError); err != nil && !exited {
			t.Fatal(err)
		}
		code, reported := cmd.ProcessState.ExitCode(), strings.Contains(stderr.String(), report)
		if code != tc.code || reported != tc.report || !strings.Contains(stdout.String(), tc.testResult) {
			t.Errorf("child %q: exit %d (want %d), report on stderr %v (want %v), want %q in its output:\nstdout:\n%s\nstderr:\n%s",
				tc.child, code, tc.code, reported, tc.report, tc.testResult, stdout.String(), stderr.String())
		}
	}
}
