package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	svmrt "github.com/svmrt/svmrt/runtime"
)

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
}

// The sample on the OpenCL device (PoCL here) agrees with the CPU reference
// exactly (run returns an error otherwise; the kernel's source turns
// FP_CONTRACT off, so the result is bit-identical).
func TestSampleOnOpenCL(t *testing.T) {
	if err := svmrt.OpenCLUnavailable(); err != nil {
		t.Skip(err)
	}
	if err := run(64, "opencl", "8MiB", "demand"); err != nil {
		t.Fatal(err)
	}
}
