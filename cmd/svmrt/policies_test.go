package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	svmrt "github.com/svmrt/svmrt/runtime"
)

// svmrt policies -replay records each workload once and replays it; -save
// keeps the traces, -trace replays saved ones: the same table.
func TestPoliciesReplaySaveAndTrace(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	code, replayed, stderr := svmrtRun("policies", "-replay", "-save", dir, "-workload", "pingpong", "-policy", "demand,uvm")
	if code != 0 || !strings.Contains(stderr, "[record 1/1") {
		t.Fatalf("policies -replay: exit %d\n%s%s", code, replayed, stderr)
	}
	file := filepath.Join(dir, "pingpong.svmtrace")
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	code, fromFile, stderr := svmrtRun("policies", "-trace", file, "-policy", "demand,uvm")
	if code != 0 || fromFile != replayed {
		t.Fatalf("policies -trace: exit %d\n%s%s\nwant\n%s", code, fromFile, stderr, replayed)
	}
	// The pingpong's rows, as the README's table (of runs) has them: demand
	// migrates the pages every round, uvm throttles the thrashing ones.
	faults := map[string]string{}
	for _, line := range strings.Split(replayed, "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "pingpong" && f[len(f)-1] == "ok" {
			faults[f[1]] = f[3]
		}
	}
	if faults["demand"] != "1920" || faults["uvm"] != "832" {
		t.Errorf("replayed pingpong faults %v, want demand 1920 and uvm 832:\n%s", faults, replayed)
	}
	os.WriteFile(filepath.Join(dir, "junk.svmtrace"), []byte("not a trace"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"policies", "-save", dir}, 2, "-save needs -replay"},
		{[]string{"policies", "-trace", file, "-replay"}, 2, "-trace replays saved traces"},
		{[]string{"policies", "-trace", filepath.Join(dir, "junk.svmtrace")}, 1, "not an svmrt access trace"},
		{[]string{"policies", "-trace", filepath.Join(dir, "none.svmtrace")}, 1, "no such file"},
	} {
		code, out, stderr := svmrtRun(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) || out != "" {
			t.Errorf("svmrt %s: exit %d, stderr %q, stdout %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, out, tc.code, tc.err)
		}
	}
}
