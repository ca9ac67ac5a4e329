//go:build viz && cgo

package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/samples/mulmat/sample"
	"github.com/svmrt/svmrt/viz"
)

// svmrt viz end to end, headless through EGL and Mesa: the PNG it writes
// has the layout's size, and its cells are the colours of where the pages
// were: after the launch all three matrices on the simulated GPU, at the
// end r back on the host and a and b still on the device; the legend
// names the device.
func TestVizDrawsMulmat(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	out := filepath.Join(t.TempDir(), "residency.png")
	code, stdout, stderr := svmrtRun("viz", "-o", out, "mulmat", "-m", "64", "-read-steps", "4")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "max error vs CPU reference 0") ||
		!regexp.MustCompile(`residency: 7 samples of 12 pages \(a 4, b 4, r 4\) in \S+residency\.png, \d+x\d+, drawn by \S+`).MatchString(stdout) {
		t.Errorf("stdout:\n%s", stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pic, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The same run's layout (the residency is deterministic where it is
	// checked here: after the launch and at the end).
	res, err := collect(sample.Config{M: 64, ReadSteps: 4})
	if err != nil {
		t.Fatal(err)
	}
	l, err := viz.NewLayout(res)
	if err != nil {
		t.Fatal(err)
	}
	if pic.Bounds() != image.Rect(0, 0, l.Width, l.Height) {
		t.Fatalf("picture %v, layout %dx%d", pic.Bounds(), l.Width, l.Height)
	}
	device := viz.Colour(viz.Location{Kind: viz.OnDevice, Device: res.Devices[0].Slot})
	host := viz.Colour(viz.Location{Kind: viz.Host})
	at := func(s, p int) any {
		c := l.Cell(s, p)
		return pic.At((c.Min.X+c.Max.X-1)/2, (c.Min.Y+c.Max.Y-1)/2)
	}
	last := len(res.Samples) - 1
	for p := 0; p < 12; p++ {
		if got := at(2, p); got != device {
			t.Errorf("page %d after the launch: %v, want the device's %v", p, got, device)
		}
		want := device
		if p >= 8 {
			want = host
		}
		if got := at(last, p); got != want {
			t.Errorf("page %d at the end: %v, want %v", p, got, want)
		}
	}
	for _, e := range l.Legend {
		if e.Label == "on simgpu" {
			mid := image.Pt((e.Swatch.Min.X+e.Swatch.Max.X)/2, (e.Swatch.Min.Y+e.Swatch.Max.Y)/2)
			if got := pic.At(mid.X, mid.Y); got != device {
				t.Errorf("legend's simgpu swatch %v, want %v", got, device)
			}
			return
		}
	}
	t.Errorf("legend names no simgpu: %+v", l.Legend)
}

// A file that cannot be written is an error (exit 1), not a panic.
func TestVizUnwritableOutput(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	code, _, stderr := svmrtRun("viz", "-o", filepath.Join(t.TempDir(), "no", "such", "dir.png"), "-m", "16", "mulmat")
	if code != 1 || !strings.Contains(stderr, "no such file or directory") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
