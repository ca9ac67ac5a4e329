package runtime_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	svmrt "github.com/svmrt/svmrt/runtime"
)

// A program that opens only cpu and simgpu devices never loads the OpenCL
// implementation (PoCL, LLVM: memory, threads, and LLVM's signal handlers
// during its first enumeration). Checked in a fresh child process.
func TestOpenCLLoadedOnlyWhenAsked(t *testing.T) {
	const env = "SVMRT_LAZY_OPENCL_CHILD"
	loaded := func() bool {
		maps, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(maps), "libOpenCL") || strings.Contains(string(maps), "libpocl")
	}
	if os.Getenv(env) == "1" {
		for _, name := range []string{"cpu", "simgpu"} {
			d, err := svmrt.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			d.Close()
		}
		if loaded() {
			t.Fatal("opening cpu and simgpu loaded the OpenCL implementation")
		}
		svmrt.DeviceNames() // asking does load it (when installed)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenCLLoadedOnlyWhenAsked$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
