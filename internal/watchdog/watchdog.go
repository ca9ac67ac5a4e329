// Package watchdog keeps a hung test from hanging CI: armed with a time
// limit, it dumps every goroutine's stack and the state of the svm
// fault-service thread, then stops the test binary. Tests that could hang
// (a deadlock in the migration protocol, a command that never returns) arm
// one.
package watchdog

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
)

// State describes something a dump should show besides the goroutines (the
// fault-service thread: svm.Default().ServiceState).
type State func() string

// Arm starts a watchdog for t: if the returned stop is not called within
// limit, it writes the goroutine dump and state() to stderr and exits the
// process with status 2 (t.Fatal from another goroutine cannot stop a
// goroutine that is stuck, and a stuck C thread cannot be stopped at all).
// Arm also registers stop with t.Cleanup. state may be nil.
func Arm(t testing.TB, limit time.Duration, state State) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var once sync.Once
	stop = func() { once.Do(func() { close(done) }) }
	t.Cleanup(stop)
	name := t.Name()
	go func() {
		select {
		case <-done:
		case <-time.After(limit):
			Dump(os.Stderr, fmt.Sprintf("watchdog: %s still running after %v", name, limit), state)
			os.Exit(2)
		}
	}()
	return stop
}

// Dump writes why, state() and every goroutine's stack to w.
func Dump(w io.Writer, why string, state State) {
	fmt.Fprintf(w, "\n=== %s ===\n", why)
	if state != nil {
		fmt.Fprintf(w, "%s\n", state())
	}
	pprof.Lookup("goroutine").WriteTo(w, 2)
	fmt.Fprintf(w, "=== end of watchdog dump ===\n")
}
