// Package childtest runs a test in a child copy of the test binary with a
// deadline, for tests whose failure mode is a hang or a poisoned process
// (a deadlocked fault-service thread, a stale page table): the parent
// survives, reports, and shows what the child's threads were blocked in.
package childtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// InChild reports whether this process is the child run of t (env names
// the environment variable that marks it). In the parent it runs the child
// with a deadline and fails t if the child fails, crashes or hangs, or skips
// t if the child skipped; the caller then returns.
func InChild(t *testing.T, env string, deadline time.Duration) bool {
	t.Helper()
	if os.Getenv(env) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	hung := false
	select {
	case err = <-waited:
	case <-time.After(deadline):
		hung = true
		threads := Threads(cmd.Process.Pid)
		cmd.Process.Kill()
		<-waited
		out.WriteString("threads of the hung child:\n" + threads)
	}
	// Keep the head (a fatal error's message) and the tail (the traceback's
	// end, the hung threads).
	tail := out.String()
	if len(tail) > 12000 {
		tail = tail[:4000] + "\n...\n" + tail[len(tail)-8000:]
	}
	switch {
	case hung:
		t.Fatalf("child hung (killed after %v):\n%s", deadline, tail)
	case err != nil:
		t.Fatalf("child failed: %v\n%s", err, tail)
	case strings.Contains(out.String(), "--- SKIP"):
		t.Skipf("child skipped:\n%s", tail)
	}
	return false
}

// Threads describes each thread of pid: its kernel wait channel
// (handle_userfault marks a thread blocked in a userfault) and
// /proc/.../syscall.
func Threads(pid int) string {
	var sb strings.Builder
	dir := fmt.Sprintf("/proc/%d/task/", pid)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		wchan, _ := os.ReadFile(dir + e.Name() + "/wchan")
		sc, _ := os.ReadFile(dir + e.Name() + "/syscall")
		fmt.Fprintf(&sb, "  tid %s wchan=%s syscall=%s", e.Name(), wchan, sc)
	}
	return sb.String()
}
