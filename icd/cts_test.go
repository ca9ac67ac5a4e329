package icd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Khronos conformance suite test_svm on the ICD: all 16 of its tests
// must pass. The CTS is third-party code kept beside the repo, never in it
// ($SVMRT_CTS_DIR, else ../shared/opencl-cts next to the repo, else
// /work/shared/opencl-cts); the test skips, saying so, where it is absent.
// scripts/cts.sh (make cts) builds it once into the user cache (about 2.5
// minutes on two cores) and runs the suite (about 45 s).

// svmTests is how many tests test_svm has.
const svmTests = 16

// ctsSource finds the CTS source directory, or "" and why not.
func ctsSource(root string) (string, string) {
	var tried []string
	for _, d := range []string{os.Getenv("SVMRT_CTS_DIR"), filepath.Join(root, "..", "shared", "opencl-cts"), "/work/shared/opencl-cts"} {
		if d == "" {
			continue
		}
		tried = append(tried, d)
		if _, err := os.Stat(filepath.Join(d, "build.sh")); err == nil {
			return d, ""
		}
	}
	return "", "no OpenCL CTS (tried " + strings.Join(tried, ", ") + "; set SVMRT_CTS_DIR)"
}

func testCTSSVM(t *testing.T, root, lib string) {
	src, why := ctsSource(root)
	if src == "" {
		t.Skip(why)
	}
	for _, tool := range []string{"bash", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "cts.sh"), "test_svm")
	var e []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OCL_ICD_VENDORS=") && !strings.HasPrefix(kv, "SVMRT_VRAM=") {
			e = append(e, kv)
		}
	}
	// The build directory is cts.sh's default (built once per CTS source, as
	// make cts does) or $SVMRT_CTS_BUILD, which the environment passes on.
	cmd.Env = append(e, "SVMRT_CTS_DIR="+src, "SVMRT_ICD="+lib,
		"SVMRT_CTS_PLATFORMS=svmrt", "SVMRT_CTS_TIMEOUT=600")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("scripts/cts.sh test_svm (%v):\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("scripts/cts.sh: %v", err)
	}
	// cts.sh names the suite's log: "cts: test_svm on svmrt: ... (LOG)".
	m := regexp.MustCompile(`cts: test_svm on svmrt: .*\((/\S+/test_svm-svmrt\.log)\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("scripts/cts.sh named no test_svm log:\n%s", out)
	}
	log, err := os.ReadFile(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	passed := regexp.MustCompile(`(?m)^\w+ passed$`).FindAll(log, -1)
	failed := regexp.MustCompile(`(?m)^\w+ FAILED$`).FindAll(log, -1)
	if len(passed) != svmTests || len(failed) != 0 {
		var names []string
		for _, f := range failed {
			names = append(names, strings.TrimSuffix(string(f), " FAILED"))
		}
		t.Errorf("test_svm: %d of %d passed; failed: %s\n%s", len(passed), svmTests, strings.Join(names, ", "), log)
	}
}
