package irx

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// LLVM 15 tools the tests use; a test needing one that is missing skips.

func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// run runs a tool, failing the test with its output on error.
func run(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool(t, name), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
	return out.String()
}

// verifyIR checks ll with llvm-as-15 and opt-15 -passes=verify.
func verifyIR(t testing.TB, ll string) {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "m.ll")
	if err := os.WriteFile(f, []byte(ll), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "llvm-as-15", "-o", filepath.Join(dir, "m.bc"), f)
	run(t, dir, "opt-15", "-passes=verify", "-disable-output", f)
}

// clCompile compiles OpenCL C to LLVM 15 textual IR the way svmrt does.
func clCompile(t testing.TB, src string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "k.cl")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-x", "cl", "-cl-std=CL3.0", "-Xclang", "-finclude-default-header",
		"-target", "x86_64-unknown-linux-gnu", "-Xclang", "-ffake-address-space-map", "-O2",
		"-fno-vectorize", "-fno-slp-vectorize", "-emit-llvm", "-S", "-o", filepath.Join(dir, "k.ll")}, extra...)
	run(t, dir, "clang-15", append(args, f)...)
	b, err := os.ReadFile(filepath.Join(dir, "k.ll"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
