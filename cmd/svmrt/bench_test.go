package main

import (
	"regexp"
	"strings"
	"testing"
)

// svmrt bench runs the kernel and peer benchmarks in one run and prints
// ratios beside the peers (issue 14); here at the smoke sizes.

func TestBenchBadUsage(t *testing.T) {
	for _, args := range [][]string{{"bench", "-sections", "a,nope"}, {"bench", "-n", "0"}, {"bench", "extra"}} {
		code, _, stderr := svmrtRun(args...)
		if code != 2 || stderr == "" {
			t.Errorf("svmrt %s: exit %d, stderr %q; want 2 and a message", strings.Join(args, " "), code, stderr)
		}
	}
	if _, _, stderr := svmrtRun("bench", "-sections", "nope"); !strings.Contains(stderr, `"nope"`) || !strings.Contains(stderr, "movement") {
		t.Errorf("unknown section: stderr %q, want the section and the known ones named", stderr)
	}
}

func TestBenchPeersSmall(t *testing.T) {
	code, out, stderr := svmrtRun("bench", "-small", "-n", "1", "-sections", "sgemm,movement")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	// sgemm at m=256 on 1 and 2 threads, with the ratio against gonum.
	for _, thr := range []string{"1", "2"} {
		if !regexp.MustCompile(`(?m)^\s+256\s+` + thr + `\s+[0-9.]+\s.*\d\.\d\d×`).MatchString(out) {
			t.Errorf("no sgemm row for m=256, %s threads with a ratio:\n%s", thr, out)
		}
	}
	for _, row := range []string{"sequential bring-back, 1 reader", "sequential bring-back, 2 readers", "host→device Migrate", "random-order CPU faults", "RSS after device round trip"} {
		if !strings.Contains(out, row) {
			t.Errorf("no %q row:\n%s", row, out)
		}
	}
	if !regexp.MustCompile(`GB/s\s+[0-9.]+ GB/s\s+[0-9.]+×`).MatchString(out) {
		t.Errorf("no movement figure beside copy() with its ratio:\n%s", out)
	}
	for _, p := range []string{"svmrt bench: sgemm", "svmrt bench: page movement", "svmrt bench: done"} {
		if !strings.Contains(stderr, p) {
			t.Errorf("no progress line %q on stderr:\n%s", p, stderr)
		}
	}
}

func TestBenchKernelSectionSmall(t *testing.T) {
	code, out, stderr := svmrtRun("bench", "-small", "-n", "1", "-sections", "a")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if !regexp.MustCompile(`(?m)^\s+(MET|MISSED)\s+\(a\) simgpu compiled access on a TLB hit: [0-9.]+ ns/access`).MatchString(out) {
		t.Errorf("no verdict for goal (a):\n%s", out)
	}
	if strings.Contains(out, "(b) saxpy") || strings.Contains(out, "sgemm kernel") {
		t.Errorf("sections other than a ran:\n%s", out)
	}
}
