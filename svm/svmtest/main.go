package svmtest

import (
	"os"
	"testing"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// Main runs a test binary's tests and exits with their result, except that
// when they passed but the fault-service thread recorded internal errors
// (failed ioctls it could only count: nothing returns them to a caller, so
// no test sees them) it says so on stderr and exits 1. Call it from the
// TestMain of every package whose tests use the svm core:
//
//	func TestMain(m *testing.M) { svmtest.Main(m) }
func Main(m *testing.M) {
	os.Exit(uffd.CheckAfterTests(m.Run(), os.Stderr))
}

// ExpectServiceErrors declares that the calling test provokes internal
// errors of the fault-service thread on purpose: those recorded from now
// until the test ends are not held against the test binary by Main. The
// service thread is the process's, so a test that calls it must not run in
// parallel with others (their errors would be excused too).
func ExpectServiceErrors(t testing.TB) {
	before := uffd.Stats().Errors
	t.Cleanup(func() {
		uffd.Sync() // errors of events the test caused are counted by now
		uffd.ExpectErrors(uffd.Stats().Errors - before)
	})
}
