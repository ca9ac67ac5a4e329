package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// svmrt icd builds the library (here into a temporary directory) and prints
// the .icd line and how to select it; the library it built is a platform
// clinfo lists.
func TestICDBuild(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed: the ICD is a cgo c-shared library")
	}
	lib := filepath.Join(t.TempDir(), "libsvmrt-icd.so")
	code, out, stderr := svmrtRun("icd", "-o", lib)
	if code != 0 {
		t.Fatalf("svmrt icd -o %s: exit %d\n%s%s", lib, code, out, stderr)
	}
	for _, want := range []string{".icd line   " + lib + "\n", "OCL_ICD_VENDORS=" + lib + " clinfo", "svmrt icd -install"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(strings.TrimSuffix(lib, ".so") + ".h"); err == nil {
		t.Errorf("the build left the c-shared header beside the library")
	}
	clinfo, err := exec.LookPath("clinfo")
	if err != nil {
		t.Fatal("clinfo is not installed: run scripts/setup.sh")
	}
	cmd := exec.Command(clinfo, "-l")
	cmd.Env = append(os.Environ(), "OCL_ICD_VENDORS="+lib)
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "Platform #0: svmrt") || !strings.Contains(string(b), "Device #0: simgpu") {
		t.Errorf("clinfo -l with the built library: %v\n%s", err, b)
	}
}

// -install writes the .icd file naming the library; without root it
// refuses, writing nothing.
func TestICDInstall(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "libsvmrt-icd.so")
	if err := os.WriteFile(lib, []byte("not really a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	oldDir, oldEuid := vendorsDir, geteuid
	defer func() { vendorsDir, geteuid = oldDir, oldEuid }()
	vendorsDir = filepath.Join(dir, "vendors")
	icdFile := filepath.Join(vendorsDir, "svmrt.icd")

	geteuid = func() int { return 1000 }
	code, _, stderr := svmrtRun("icd", "-lib", lib, "-install")
	if code != 1 || !strings.Contains(stderr, "needs root") || !strings.Contains(stderr, "OCL_ICD_VENDORS="+lib) {
		t.Errorf("-install without root: exit %d, stderr %q; want 1 and why", code, stderr)
	}
	if _, err := os.Stat(icdFile); err == nil {
		t.Errorf("-install without root wrote %s", icdFile)
	}

	geteuid = func() int { return 0 }
	code, out, stderr := svmrtRun("icd", "-lib", lib, "-install")
	if code != 0 || !strings.Contains(out, "installed   "+icdFile) {
		t.Fatalf("-install: exit %d\n%s%s", code, out, stderr)
	}
	b, err := os.ReadFile(icdFile)
	if err != nil || string(b) != lib+"\n" {
		t.Errorf("%s: %q, %v; want the library's path", icdFile, b, err)
	}
	if st, err := os.Stat(icdFile); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("%s mode %v, %v", icdFile, st.Mode(), err)
	}
	entries, _ := os.ReadDir(vendorsDir)
	if len(entries) != 1 {
		t.Errorf("vendors directory holds %d files, want only svmrt.icd", len(entries))
	}
}

func TestICDUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"icd", "-lib", "/no/such/lib.so"}, 1, "-lib"},
		{[]string{"icd", "-lib", "x.so", "-o", "y.so"}, 2, "not both"},
		{[]string{"icd", "extra"}, 2, "unexpected argument"},
	} {
		code, _, stderr := svmrtRun(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("svmrt %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.msg)
		}
	}
	code, out, _ := svmrtRun("icd", "-h")
	if code != 0 || !strings.Contains(out, "OCL_ICD_VENDORS") || !strings.Contains(out, "-install") {
		t.Errorf("icd -h: exit %d\n%s", code, out)
	}
}
