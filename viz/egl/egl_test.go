//go:build viz && cgo

package egl

import (
	"strings"
	"testing"
)

// A surfaceless context opens here (no X server, no /dev/dri: Mesa's
// software rasteriser) and GL's core entry points resolve through it.
func TestOpenSurfaceless(t *testing.T) {
	c, err := Open(3, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.Contains(c.Vendor(), "Mesa") {
		t.Errorf("vendor %q, want Mesa's EGL", c.Vendor())
	}
	for _, fn := range []string{"glClear", "glReadPixels", "glGenFramebuffers", "glTexImage2D"} {
		if ProcAddress(fn) == nil {
			t.Errorf("eglGetProcAddress(%s) = nil", fn)
		}
	}
}

// Opening and closing again works: Close leaves nothing current behind.
func TestOpenTwice(t *testing.T) {
	for i := 0; i < 2; i++ {
		c, err := Open(3, 3)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		c.Close()
	}
}
