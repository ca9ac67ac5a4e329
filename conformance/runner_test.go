package conformance

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	svmrt "github.com/svmrt/svmrt/runtime"
)

// cpuBackend is the cpu device as a Backend.
func cpuBackend() Backend {
	return Backend{Name: "cpu", Open: func() (*svmrt.Device, error) { return svmrt.Open("cpu") }}
}

// Guards against (found in the third review, fixed): cleanups run on RunOne's own goroutine, unguarded. A cleanup
// that reports a failure the documented way (c.Check / c.Fatalf, which call
// runtime.Goexit — testing.T allows Fatal in Cleanup) ends the *runner's*
// goroutine: RunOne never returns (in `svmrt conform`, main's goroutine
// exits and the process dies with "no goroutines"), the other cleanups and
// the device Close are skipped. A panicking cleanup likewise crashes the
// runner instead of failing the test.
func TestFatalInCleanupKillsRunner(t *testing.T) {
	var closed atomic.Bool
	test := Test{Name: "runner/fatal-in-cleanup", Run: func(c *C) {
		c.Cleanup(func() { closed.Store(true) })
		c.Cleanup(func() { c.Check(errors.New("munmap failed"), "cleanup") })
	}}
	got := make(chan Result, 1)
	go func() { got <- RunOne(context.Background(), cpuBackend(), test, 5*time.Second) }()
	select {
	case r := <-got:
		if r.Status != Fail || !closed.Load() {
			t.Fatalf("result %+v, earlier cleanup ran: %v; want a failure and every cleanup run", r, closed.Load())
		}
	case <-time.After(time.Second):
		t.Fatalf("RunOne never returned: the cleanup's Goexit ended the runner goroutine (earlier cleanup ran: %v)", closed.Load())
	}
}

// Guards against (found in the third review, fixed): when the caller's ctx is cancelled (Ctrl-C in a library user,
// a test deadline), Run keeps starting tests, each test's select sees
// tctx done at once and records "did not finish in time after <timeout>"
// although no timeout elapsed, and the still-running test goroutine is
// abandoned with its device open (tests pile up, running concurrently).
func TestCancelledRunReportsTimeouts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	release := make(chan struct{})
	defer close(release)
	test := Test{Name: "runner/slow", Run: func(c *C) { <-release }}
	r := RunOne(ctx, cpuBackend(), test, time.Hour)
	if r.Status == Fail && strings.Contains(r.Reason, ErrTimeout.Error()) {
		t.Fatalf("a cancelled run is reported as a timeout after 1h: %+v", r)
	}
}
