package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	svmrt "github.com/svmrt/svmrt/runtime"
)

// svmrt trace -o FILE run ... writes a trace of the sample's run that holds
// its launch and its fault batches.
func TestTraceCommandWritesTrace(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	file := filepath.Join(t.TempDir(), "mulmat.json")
	code, out, stderr := svmrtRun("trace", "-o", file, "run", "-m", "32", "mulmat")
	if code != 0 {
		t.Fatalf("svmrt trace: exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "max error vs CPU reference 0") || !strings.Contains(stderr, file) {
		t.Errorf("svmrt trace did not print the run's summary and the trace's name:\n%s\n%s", out, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not JSON: %v", file, err)
	}
	var launches, batches int
	for _, e := range doc.TraceEvents {
		switch e.Name {
		case "launch gpu_mul_mat":
			launches++
		case "fault batch":
			batches++
		}
	}
	// The summary's batch count is the trace's.
	var want int
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "fault" && f[1] == "batches" {
			want, _ = strconv.Atoi(f[2])
		}
	}
	if launches != 2 || batches != want || want <= 0 {
		t.Errorf("trace holds %d launch events (want 2: host and device clock) and %d fault batches (the summary says %d)", launches, batches, want)
	}
}

func TestTraceCommandUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"trace"}, 2, "what to trace"},
		{[]string{"trace", "-o", "x.json", "mulmat"}, 2, `"mulmat"`},
		{[]string{"trace", "-o", filepath.Join(t.TempDir(), "t.json"), "run", "saxpy"}, 2, "unknown sample"},
		{[]string{"trace", "-o", filepath.Join(t.TempDir(), "no-dir", "t.json"), "run", "mulmat"}, 1, "no such file"},
		{[]string{"trace", "-h"}, 0, ""},
		{[]string{"help", "trace"}, 0, ""},
	} {
		code, out, stderr := svmrtRun(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.says) {
			t.Errorf("svmrt %s: exit %d, want %d, with %q on stderr:\n%s%s", strings.Join(tc.args, " "), code, tc.code, tc.says, out, stderr)
		}
		if tc.code == 0 && !strings.Contains(out, "usage: svmrt trace") {
			t.Errorf("svmrt %s printed no usage on stdout:\n%s", strings.Join(tc.args, " "), out)
		}
	}
}
