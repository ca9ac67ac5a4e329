package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func svmrtRun(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"conform", "simgpu"}, 2},               // device is a flag
		{[]string{"conform", "-run", "no-such-test"}, 2}, // nothing matched
		{[]string{"conform", "-timeout", "-1s"}, 2},
		{[]string{"conform", "-device", "tpu"}, 2},
		{[]string{"run", "-device", "tpu", "mulmat"}, 2},
		{[]string{"run", "-m", "70000", "mulmat"}, 2},
		{[]string{"run", "nosuchsample"}, 2},
		{[]string{"help"}, 0},
	} {
		if code, _, stderr := svmrtRun(tc.args...); code != tc.code {
			t.Errorf("svmrt %s: exit %d, want %d (%s)", strings.Join(tc.args, " "), code, tc.code, stderr)
		}
	}
}

func TestDevicesAndRun(t *testing.T) {
	code, out, _ := svmrtRun("devices")
	if code != 0 || !strings.Contains(out, "cpu") || !strings.Contains(out, "simgpu") || !strings.Contains(out, "OpenCL") {
		t.Fatalf("devices: %d\n%s", code, out)
	}
	code, out, _ = svmrtRun("run", "-device", "simgpu", "-m", "32", "mulmat")
	if code != 0 || !strings.Contains(out, "0 wrong elements") {
		t.Fatalf("run: %d\n%s", code, out)
	}
}

func TestConformJSON(t *testing.T) {
	code, out, stderr := svmrtRun("conform", "-device", "cpu", "-run", "svm/indirect", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rs []map[string]any
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 || rs[0]["status"] != "pass" {
		t.Fatalf("json: %v %s", err, out)
	}
	if !strings.Contains(stderr, "[1/1]") {
		t.Fatalf("no progress on stderr: %q", stderr)
	}
}
