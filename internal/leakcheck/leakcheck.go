// Package leakcheck counts what a process holds — mappings, open file
// descriptors, threads — so a test can open and close something many times
// and show that nothing is left behind.
package leakcheck

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// Counts is what the process holds at one moment.
type Counts struct {
	Maps       int // lines of /proc/self/maps
	SharedAnon int // shared anonymous mappings (svm's internal memory, device arenas)
	FDs        int // entries of /proc/self/fd
	Threads    int // entries of /proc/self/task
}

// Take counts, after a GC (so finalizers that free things have had a
// chance to run).
func Take(t testing.TB) Counts {
	t.Helper()
	runtime.GC()
	var c Counts
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		c.Maps++
		f := strings.Fields(string(line))
		if len(f) < 5 || len(f[1]) != 4 || f[1][3] != 's' {
			continue
		}
		if f[4] == "0" || len(f) >= 6 && strings.HasPrefix(f[5], "/dev/zero") {
			c.SharedAnon++
		}
	}
	c.FDs = count(t, "/proc/self/fd")
	c.Threads = count(t, "/proc/self/task")
	return c
}

func count(t testing.TB, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// Slack is how much the Go runtime itself may grow while a test runs: a
// new OS thread (its stack, guard page and malloc arena are three
// mappings), heap arenas and metadata chunks. A leak of one mapping per
// cycle over thousands of cycles is far beyond it.
const Slack = 12

// SharedSlack is how many shared anonymous mappings a run may add without
// leaking: the page table's leaves, shared mappings made lazily for
// addresses first seen during the run (a leak grows with the cycles, as
// the pending-free bitmap did, one per cycle).
const SharedSlack = 2

// Check fails t if after holds more than before: shared anonymous mappings
// by at most SharedSlack (everything svm maps is shared anonymous memory),
// fds not at all, total mappings and threads by at most Slack and 4 (the
// Go runtime's own growth). what names the cycles run.
func Check(t testing.TB, what string, before, after Counts) {
	t.Helper()
	var bad []string
	if after.SharedAnon > before.SharedAnon+SharedSlack {
		bad = append(bad, fmt.Sprintf("shared anonymous mappings %d -> %d", before.SharedAnon, after.SharedAnon))
	}
	if after.FDs > before.FDs {
		bad = append(bad, fmt.Sprintf("open fds %d -> %d", before.FDs, after.FDs))
	}
	if after.Maps > before.Maps+Slack {
		bad = append(bad, fmt.Sprintf("mappings %d -> %d", before.Maps, after.Maps))
	}
	if after.Threads > before.Threads+4 {
		bad = append(bad, fmt.Sprintf("threads %d -> %d", before.Threads, after.Threads))
	}
	if len(bad) > 0 {
		t.Fatalf("%s leaked: %s", what, strings.Join(bad, "; "))
	}
	t.Logf("%s: %+v -> %+v", what, before, after)
}
