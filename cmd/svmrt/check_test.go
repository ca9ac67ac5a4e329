package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/kernels/kerneltest"
	svmrt "github.com/svmrt/svmrt/runtime"
)

func TestCheckUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"check", "cpu"}, 2, "unexpected argument"},
		{[]string{"check", "-device", "tpu"}, 2, "unknown target"},
		{[]string{"check", "-device", "cpu,gpu/go"}, 2, "unknown target"},
		{[]string{"check", "-run", "no-such-kernel"}, 2, "no case matches"},
		{[]string{"check", "-run", "("}, 2, "-run"},
		{[]string{"check", "-timeout", "0s"}, 2, "must be positive"},
	} {
		code, _, stderr := svmrtRun(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("svmrt %s: exit %d (%s), want %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.err)
		}
	}
	code, out, _ := svmrtRun("check", "-list")
	for _, c := range kerneltest.Library() {
		if !strings.Contains(out, c.Name) {
			t.Errorf("-list lacks %s:\n%s", c.Name, out)
		}
	}
	if code != 0 {
		t.Errorf("-list: exit %d", code)
	}
}

// The library on every device here: a table of identical results, exit 0.
func TestCheckLibrary(t *testing.T) {
	if _, err := kernels.Saxpy.Compiled(); errors.Is(err, kernels.ErrNoToolchain) {
		t.Skip(err)
	}
	code, out, stderr := svmrtRun("check", "-run", "^(saxpy/n=1000|sum_reduce/n=1000,local=100|list_walk)")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	t.Log(out)
	devices := []string{"cpu", "simgpu"}
	if svmrt.Unavailable("opencl") == nil {
		devices = append(devices, "opencl:0")
	}
	for _, c := range []string{"saxpy/n=1000", "sum_reduce/n=1000,local=100", "list_walk/lists=512"} {
		for _, want := range []string{c + " *cpu +go +baseline", c + " +host +ref +identical"} {
			if !regexpFind(want, out) {
				t.Errorf("no row %q", want)
			}
		}
		for _, d := range devices {
			if want := c + " +" + d + " +source +identical"; !regexpFind(want, out) {
				t.Errorf("no row %q", want)
			}
		}
	}
	if !strings.HasPrefix(out, "kernel ") || !strings.Contains(out, "3 cases, ") || !strings.Contains(out, ": 0 differ or failed") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.Contains(stderr, "[3/3] ") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
}

// A difference makes the exit status 1 and shows in the table with the
// first differing element; skipped runs say why.
func TestCheckDifferenceExits1(t *testing.T) {
	defer func(f func() []kerneltest.Case) { checkCases = f }(checkCases)
	checkCases = func() []kerneltest.Case {
		var c kerneltest.Case
		for _, l := range kerneltest.Library() {
			if l.Name == "saxpy/n=1000" {
				c = l
			}
		}
		ref := c.Reference
		c.Name = "saxpy/wrong-reference"
		c.Reference = func(args []any) { ref(args); args[0].([]float32)[999] += 1 }
		return []kerneltest.Case{c}
	}
	code, out, stderr := svmrtRun("check", "-device", "cpu/go,simgpu/go,cpu/fast")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr)
	}
	for _, want := range []string{`saxpy/wrong-reference +host +ref +DIFFERS: y\[999\] = 2.891785 \(0x40391301\), want 1.8917849 \(0x3ff22602\); 1 of 1000 elements differ`,
		`saxpy/wrong-reference +simgpu +go +identical`, `saxpy/wrong-reference +cpu +fast +skipped`,
		`on cpu \(fast\): skipped: the kernel has no HostFast path`, `1 cases, 4 runs: 1 differ or failed, 1 skipped`} {
		if !regexpFind(want, out) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// An OpenCL device asked for by name where OpenCL is unavailable: exit 1
// with the reason; with -device all its runs are skipped with the reason.
func TestCheckWithoutOpenCL(t *testing.T) {
	t.Setenv("OCL_ICD_VENDORS", t.TempDir())
	if !childtest.InChild(t, "SVMRT_CLI_CHECK_NOCL_CHILD", 2*time.Minute) {
		return
	}
	code, _, stderr := svmrtRun("check", "-device", "opencl", "-run", "saxpy/n=1000")
	if code != 1 || !strings.Contains(stderr, "no OpenCL platform") {
		t.Fatalf("-device opencl: exit %d: %s", code, stderr)
	}
	code, out, stderr := svmrtRun("check", "-device", "cpu/go,opencl/buffer,cpu/go", "-run", "saxpy/n=1000")
	if code != 1 {
		t.Fatalf("-device opencl/buffer: exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = svmrtRun("check", "-run", "saxpy/n=1000")
	if code != 0 || !regexpFind(`saxpy/n=1000 +opencl +source +skipped`, out) || !regexpFind(`on opencl \(source\): skipped: cannot open opencl: .*no OpenCL platform`, out) {
		t.Fatalf("-device all: exit %d:\n%s%s", code, out, stderr)
	}
}

func regexpFind(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
