package opencl

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// With PoCL installed (the project's setup installs it), discovery finds
// its CPU device and reads its SVM capabilities: PoCL 3.1 reports
// coarse- and fine-grained buffer SVM and atomics, not fine-grained system
// SVM.
func TestDevicesPoCL(t *testing.T) {
	if os.Getenv("OPENCL_CHILD") != "" {
		return
	}
	devs, err := Devices()
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no OpenCL here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var pocl *DeviceInfo
	for i, d := range devs {
		t.Logf("%d.%d %s %q %s %s CUs=%d mem=%dMiB svm=%v", d.PlatformIndex, d.Index, d.Type, d.Name, d.Version, d.CVersion, d.ComputeUnits, d.GlobalMem>>20, d.SVM)
		if strings.Contains(d.Platform, "Portable Computing Language") {
			pocl = &devs[i]
		}
	}
	if pocl == nil {
		t.Skip("PoCL not installed")
	}
	if pocl.Type != "cpu" || pocl.ComputeUnits < 1 || pocl.GlobalMem == 0 || !strings.HasPrefix(pocl.Version, "OpenCL ") {
		t.Fatalf("PoCL device info looks wrong: %+v", *pocl)
	}
	if !pocl.SVM.CoarseBuffer || !pocl.SVM.FineBuffer {
		t.Fatalf("PoCL SVM capabilities %v, want at least coarse- and fine-grained buffer", pocl.SVM)
	}
}

// Without an ICD (the loader pointed at an empty vendor directory) or
// without a loader at all, Devices says so with ErrUnavailable.
func TestUnavailableSaysWhy(t *testing.T) {
	if os.Getenv("OPENCL_CHILD") == "1" {
		_, err := Devices()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
		t.Log(err)
		return
	}
	// Without the loader installed (before the project's setup ran) every
	// case says the loader is missing: the empty vendor directory cannot
	// be shown then.
	_, err := Devices()
	noLoader := err != nil && strings.Contains(err.Error(), "cannot load the OpenCL ICD loader")
	for _, tc := range []struct {
		name, env, want string
	}{
		{"no vendor", "OCL_ICD_VENDORS=" + t.TempDir(), "no OpenCL platform"},
		{"no loader", EnvLibrary + "=/nonexistent/libOpenCL.so.1", "cannot load the OpenCL ICD loader"},
	} {
		if noLoader && tc.name == "no vendor" {
			t.Logf("%s: not shown, the ICD loader is not installed here: %v", tc.name, err)
			continue
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnavailableSaysWhy$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "OPENCL_CHILD=1", tc.env)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Fatalf("%s: %v\n%s", tc.name, err, out)
		}
	}
}
