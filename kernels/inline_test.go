package kernels

import (
	"os/exec"
	"regexp"
	"runtime"
	"testing"
)

// TestAccessorsInline guards the host path's cost: the global-memory
// accessors must stay inlinable, so a body's access on the cpu backend is a
// nil check and a load. A change that pushes one over the inliner's budget
// fails here rather than silently slowing every kernel down.
func TestAccessorsInline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package with -gcflags=-m")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(goTool, "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, m := range []string{
		"LoadF32", "StoreF32", "LoadI32", "StoreI32", "LoadU32", "StoreU32", "LoadU64", "StoreU64",
		"LoadU8", "StoreU8", "LoadPtr", "AtomicAddU32", "AtomicAddI32", "AtomicCASU32", "AtomicLoadU32",
		"GlobalID", "LocalID", "GroupID", "GlobalSize", "LocalSize",
	} {
		if !regexp.MustCompile(`can inline \(\*Item\)\.` + m + `\b`).Match(out) {
			t.Errorf("(*Item).%s is not inlinable on %s/%s", m, runtime.GOOS, runtime.GOARCH)
		}
	}
}
