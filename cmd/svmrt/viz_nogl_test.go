//go:build !viz || !cgo

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Built without -tags viz, svmrt viz says how to get the renderer (exit
// status 1) and writes nothing.
func TestVizWithoutGL(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.png")
	code, stdout, stderr := svmrtRun("viz", "-o", out, "-m", "16", "mulmat")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "built without the OpenGL renderer: build it with -tags viz") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("wrote a picture")
	}
}
