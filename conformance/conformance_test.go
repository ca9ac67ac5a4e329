package conformance

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/svmrt/svmrt/backends/opencl"
	"github.com/svmrt/svmrt/internal/childtest"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// TestSuite runs every conformance test on every backend that opens here.
func TestSuite(t *testing.T) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { runSuite(t, b) })
	}
}

// runSuite runs every conformance test on b as a subtest.
func runSuite(t *testing.T, b Backend) {
	for _, ct := range Tests() {
		t.Run(ct.Name, func(t *testing.T) {
			r := RunOne(context.Background(), b, ct, 2*time.Minute)
			switch r.Status {
			case Fail:
				t.Fatalf("%s: %s", ct.Doc, r.Reason)
			case Skip:
				t.Skip(r.Reason)
			}
		})
	}
}

// Without an ICD loader the suite runs on cpu and simgpu and nothing else
// changes.
func TestSuiteWithoutOpenCL(t *testing.T) {
	t.Setenv(opencl.EnvLibrary, "/nonexistent/libOpenCL.so.1")
	if !childtest.InChild(t, "SVMRT_CONFORM_NOCL_CHILD", 5*time.Minute) {
		return
	}
	var names []string
	for _, b := range Backends() {
		names = append(names, b.Name)
	}
	if fmt.Sprint(names) != "[cpu simgpu]" {
		t.Fatalf("backends %v without OpenCL", names)
	}
	for _, r := range Run(context.Background(), Backends(), Tests(), Options{Filter: regexpMust("^svm/(memcpy|indirect-pointers|list-across)")}) {
		if r.Status != Pass {
			t.Fatalf("%s on %s: %s: %s", r.Test, r.Backend, r.Status, r.Reason)
		}
	}
	if !strings.Contains(fmt.Sprint(svmrt.Unavailable("opencl")), "cannot load") {
		t.Fatal(svmrt.Unavailable("opencl"))
	}
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
