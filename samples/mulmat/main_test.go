package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/samples/mulmat/sample"
	"github.com/svmrt/svmrt/svm/svmtest"
)

// The fault-service thread's internal errors reach no test: the binary fails
// if it recorded any.
func TestMain(m *testing.M) { svmtest.Main(m) }

// The sample itself, run twice as separate processes: it succeeds, and
// everything it prints except the host time is identical (the simulated
// clock and counters are deterministic).
func TestSampleTwiceIdentical(t *testing.T) {
	if os.Getenv("MULMAT_SAMPLE_CHILD") == "1" {
		if err := run(96, "simgpu", "8MiB", "demand"); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	out := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSampleTwiceIdentical$", "-test.count=1")
		cmd.Env = append(os.Environ(), "MULMAT_SAMPLE_CHILD=1")
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("sample failed: %v\n%s", err, b)
		}
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.Contains(l, "host time") && strings.HasPrefix(l, " ") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	a, b := out(), out()
	if a != b {
		t.Fatalf("two runs differ:\n%s\n---\n%s", a, b)
	}
	for _, want := range []string{"max error vs CPU reference 0", "device faults", "pages host→device"} {
		if !strings.Contains(a, want) {
			t.Fatalf("summary lacks %q:\n%s", want, a)
		}
	}
	if strings.Contains(a, "device faults              0\n") {
		t.Fatalf("no device faults:\n%s", a)
	}
	t.Logf("\n%s", a)
}

func TestBadFlags(t *testing.T) {
	if err := run(0, "simgpu", "8MiB", "demand"); err == nil {
		t.Fatal("-m 0 accepted")
	}
	if err := run(8, "tpu", "8MiB", "demand"); err == nil || !strings.Contains(err.Error(), "unknown device") {
		t.Fatalf("unknown device: %v", err)
	}
	if err := run(8, "simgpu", "lots", "demand"); err == nil {
		t.Fatal("bad -vram accepted")
	}
	if err := run(8, "simgpu", "8MiB", "clairvoyant"); err == nil || !strings.Contains(err.Error(), "unknown policy") {
		t.Fatalf("unknown policy: %v", err)
	}
	// -vram 1MB said only "bad size": now the accepted forms.
	if err := run(8, "simgpu", "1MB", ""); !errors.Is(err, sample.ErrUsage) || !strings.Contains(err.Error(), "256MiB, 1GiB") || !strings.Contains(err.Error(), "1048576") {
		t.Fatalf("-vram 1MB: %v", err)
	}
	// -policy and -vram were ignored on cpu: now refused, saying why.
	for _, c := range [][2]string{{"", "uvm"}, {"64MiB", ""}, {"", "demand"}} {
		err := run(8, "cpu", c[0], c[1])
		if !errors.Is(err, sample.ErrUsage) || !strings.Contains(err.Error(), "only the simulated GPU (-device simgpu) has device memory") {
			t.Fatalf("cpu with -vram %q -policy %q: %v", c[0], c[1], err)
		}
	}
}

// The sample's exit status: 2 for a usage error (here -policy on cpu), 0
// on cpu without simulated-GPU options, which it does not print zero
// counters for.
func TestSampleExitStatus(t *testing.T) {
	if os.Getenv("MULMAT_SAMPLE_MAIN") == "1" {
		os.Args = append([]string{"mulmat"}, strings.Fields(os.Getenv("MULMAT_SAMPLE_ARGS"))...)
		main()
		os.Exit(0)
	}
	for _, tc := range []struct {
		args string
		code int
		want string
	}{
		{"-device cpu -m 16 -policy uvm", 2, "mulmat: -policy uvm: only the simulated GPU"},
		{"-device cpu -m 16", 0, "device faults              none counted: cpu accesses host memory directly"},
		{"-m 16 -vram 1MB", 2, "want bytes (1048576)"},
		{"-device tpu", 2, `unknown device "tpu"`},
		{"-m 16 extra", 2, `unexpected argument "extra"`},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSampleExitStatus$", "-test.count=1")
		cmd.Env = append(os.Environ(), "MULMAT_SAMPLE_MAIN=1", "MULMAT_SAMPLE_ARGS="+tc.args)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("mulmat %s: exit %d, want %d and %q:\n%s", tc.args, code, tc.code, tc.want, out)
		}
	}
}

// The sample on the OpenCL device (PoCL here) agrees with the CPU reference
// exactly (run returns an error otherwise; the kernel's source turns
// FP_CONTRACT off, so the result is bit-identical).
func TestSampleOnOpenCL(t *testing.T) {
	if err := svmrt.Unavailable("opencl"); err != nil {
		t.Skip(err)
	}
	if err := run(64, "opencl", "", ""); err != nil {
		t.Fatal(err)
	}
}
