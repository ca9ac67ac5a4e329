package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/svmrt/svmrt/backends/opencl"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// Guards against (found in the fourth review, fixed): the suite never ran
// OpenCL's buffer mode, where svm/host-device-atomics failed silently (the
// copy-back overwrote the host's concurrent increments), svm/runs-without-
// wait hung (the kernel spun on a staged copy of the host's flag, and the
// device could then never be closed), and the pointer-following tests
// failed with ErrNotSupported instead of skipping; the skip notes said
// PoCL runs kernels on host memory, which buffer mode does not.
func TestBufferModeSuite(t *testing.T) {
	if err := svmrt.Unavailable("opencl"); err != nil {
		t.Skip(err)
	}
	found := false
	for _, b := range Backends() {
		found = found || b.Name == "opencl/buffer"
	}
	if !found {
		t.Error("Backends() has no opencl/buffer backend although OpenCL is available")
	}
	b := Backend{Name: "opencl/buffer", Open: func() (*svmrt.Device, error) {
		return svmrt.Open("opencl", svmrt.WithBackendOptions(opencl.WithMode(opencl.ModeBuffer)))
	}}
	want := map[string]string{
		"svm/host-device-atomics":     "not coherent with the host while a kernel runs",
		"svm/runs-without-wait":       "not coherent with the host while a kernel runs",
		"svm/byte-granularity":        "not coherent with the host while a kernel runs",
		"svm/indirect-pointers":       "not supported",
		"svm/list-across-allocations": "not supported",
		"svm/pointer-at-every-offset": "not supported",
	}
	start := time.Now()
	for _, r := range Run(context.Background(), []Backend{b}, Tests(), Options{Timeout: 20 * time.Second}) {
		switch {
		case r.Status == Fail:
			t.Errorf("%s fails on opencl/buffer: %s", r.Test, r.Reason)
		case want[r.Test] != "" && (r.Status != Skip || !strings.Contains(r.Reason, want[r.Test])):
			t.Errorf("%s on opencl/buffer: %s (%s), want a skip saying %q", r.Test, r.Status, r.Reason, want[r.Test])
		case r.Status == Skip && strings.Contains(r.Reason, "runs kernels on host memory"):
			t.Errorf("%s on opencl/buffer: the skip note says the device runs on host memory: %s", r.Test, r.Reason)
		}
	}
	t.Logf("the suite on opencl/buffer in %v", time.Since(start).Round(time.Millisecond))
}
