package uffd

import (
	"fmt"
	"io"
	"sync/atomic"
	"syscall"
)

// The fault-service thread counts the ioctls and system calls that failed
// where they must not (GlobalStats.Errors, with the last errno): an invariant
// broken, a page whose data had no home. It cannot return them to anyone —
// it serves faults and events, not callers — so a program that works by
// every other measure may have recorded some. Test binaries therefore check
// the count once their tests have passed (CheckAfterTests, svmtest.Main). A
// test that provokes such errors on purpose declares them (ExpectErrors):
// only those are not held against the binary.

var expectedErrors atomic.Uint64

// ExpectErrors declares n internal errors of the service thread that a test
// provoked on purpose.
func ExpectErrors(n uint64) { expectedErrors.Add(n) }

// UnexpectedErrors returns how many internal errors the service thread has
// recorded beyond those declared with ExpectErrors, and the errno of the
// last one it recorded.
func UnexpectedErrors() (n uint64, lastErrno syscall.Errno) {
	s := Stats()
	if exp := expectedErrors.Load(); s.Errors > exp {
		n = s.Errors - exp
	}
	return n, syscall.Errno(s.LastErrno)
}

// ErrorsReport is what a test binary says when the service thread recorded
// n internal errors, the last with errno.
func ErrorsReport(n uint64, errno syscall.Errno) string {
	return fmt.Sprintf("svm fault service recorded %d internal errors (last errno %d: %v)", n, uint64(errno), errno)
}

// CheckAfterTests returns the exit code of a test binary whose tests
// returned code: code itself when they failed (their failure says more) or
// when the service thread recorded no unexpected internal error; otherwise
// 1, after writing ErrorsReport to w.
func CheckAfterTests(code int, w io.Writer) int {
	if code != 0 {
		return code
	}
	if n, errno := UnexpectedErrors(); n > 0 {
		fmt.Fprintln(w, ErrorsReport(n, errno))
		return 1
	}
	return 0
}
