package viz

import (
	"os/exec"
	"strings"
	"testing"
)

// The core build needs no EGL or GL: without the build tag viz nothing in
// the module depends on go-gl, and the GL packages compile no C (so a
// machine without libegl-dev and libgl-dev builds ./...). With the tag,
// vizgl does use go-gl (the test would pass vacuously otherwise).
func TestCoreBuildNeedsNoGL(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip(err)
	}
	list := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if deps := list("-deps", "../..."); strings.Contains(deps, "github.com/go-gl/") {
		t.Errorf("without -tags viz the module depends on go-gl:\n%s", grep(deps, "go-gl"))
	}
	if cgo := list("-f", "{{.ImportPath}} {{.CgoFiles}}", "./egl", "./vizgl"); strings.Contains(cgo, ".go") {
		t.Errorf("without -tags viz the GL packages have cgo files:\n%s", cgo)
	}
	if deps := list("-tags", "viz", "-deps", "./vizgl"); !strings.Contains(deps, "github.com/go-gl/gl/v3.3-core/gl") {
		t.Errorf("with -tags viz vizgl does not use go-gl:\n%s", deps)
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
