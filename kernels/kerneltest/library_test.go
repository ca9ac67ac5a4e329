package kerneltest_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/kernels/kerneltest"
)

// Every library kernel's compiled OpenCL C gives results bit-identical to
// its Go body and its plain-Go reference on cpu, simgpu and opencl (PoCL).
func TestLibrary(t *testing.T) {
	kerneltest.TAll(t, kerneltest.Library(), append(kerneltest.DefaultTargets(), "opencl/buffer")...)
}

// Library has a case for every kernel the library declares (every
// `= &Kernel{` in kernels/lib_*.go), so a new kernel cannot go unchecked.
func TestLibraryCoversEveryKernel(t *testing.T) {
	files, err := filepath.Glob("../lib_*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no library sources: %v", err)
	}
	decl := regexp.MustCompile(`(?m)^var (\w+) = &Kernel\{`)
	checked := map[*kernels.Kernel]bool{}
	for _, c := range kerneltest.Library() {
		checked[c.Kernel] = true
	}
	byName := map[string]*kernels.Kernel{
		"MulMat": kernels.MulMat, "Saxpy": kernels.Saxpy, "SumReduce": kernels.SumReduce, "Histogram": kernels.Histogram,
		"ListWalk": kernels.ListWalk, "Gather": kernels.Gather, "StrideAdd": kernels.StrideAdd,
	}
	n := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			n++
			k, ok := byName[m[1]]
			if !ok {
				t.Errorf("%s declares kernel %s, unknown to this test: add it here and a case to Library", f, m[1])
				continue
			}
			if !checked[k] {
				t.Errorf("kernel %s (%s) has no case in Library", m[1], f)
			}
		}
	}
	if n != len(byName) {
		t.Errorf("found %d kernel declarations, want %d", n, len(byName))
	}
}

// Built from OpenCL C only (kernels.Compile: parameters from the compiler,
// no Go declaration), every library kernel gives the same bits as its
// reference on every device.
func TestLibraryFromSource(t *testing.T) {
	var cs []kerneltest.Case
	for _, c := range kerneltest.Library() {
		sc, err := kerneltest.FromSource(c)
		if errors.Is(err, kernels.ErrNoToolchain) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if sc.Kernel.Body != nil || sc.Kernel.Program() == nil || sc.Reference == nil {
			t.Fatalf("%s: FromSource kept the Go declaration", c.Name)
		}
		cs = append(cs, sc)
	}
	kerneltest.TAll(t, cs, append(kerneltest.DefaultTargets(), "opencl/buffer")...)
}
