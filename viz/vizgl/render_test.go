//go:build viz && cgo

package vizgl

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svmrt/svmrt/viz"
)

// synthetic is a residency matrix whose every cell is known: three ranges
// of 10, 5 and 20 pages over 8 samples, pages moving host → device 1 →
// duplicated → device 2 → in transit in a pattern of sample and page.
func synthetic() *viz.Residency {
	r := &viz.Residency{
		Title:   "synthetic: a, b and c over 8 samples",
		Ranges:  []viz.Range{{Name: "a", Pages: 10}, {Name: "b", Pages: 5}, {Name: "c", Pages: 20}},
		Devices: []viz.Device{{Slot: 1, Name: "simgpu"}, {Slot: 2, Name: "gpu2"}},
	}
	for s := 0; s < 8; s++ {
		col := make([]viz.Location, r.Pages())
		for p := range col {
			col[p] = knownLocation(s, p)
		}
		phase := "start"
		if s >= 3 {
			phase = "launch"
		}
		if err := r.Append(viz.Sample{Phase: phase, Label: "step"}, col); err != nil {
			panic(err)
		}
	}
	return r
}

func knownLocation(s, p int) viz.Location {
	switch (s + p) % 7 {
	case 0:
		return viz.Location{Kind: viz.HostEmpty}
	case 1:
		return viz.Location{Kind: viz.Host}
	case 2:
		return viz.Location{Kind: viz.OnDevice, Device: 1}
	case 3:
		return viz.Location{Kind: viz.Duplicated, Device: 1}
	case 4:
		return viz.Location{Kind: viz.OnDevice, Device: 2}
	case 5:
		return viz.Location{Kind: viz.InTransit}
	}
	return viz.Location{Kind: viz.NoAccess}
}

func render(t *testing.T, r *viz.Residency) (*image.RGBA, *viz.Layout) {
	t.Helper()
	img, renderer, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rendered %v by %s", img.Bounds(), renderer)
	l, err := viz.NewLayout(r)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, l.Width, l.Height) {
		t.Fatalf("image %v, layout %dx%d", img.Bounds(), l.Width, l.Height)
	}
	if dir := os.Getenv("VIZ_TEST_OUT"); dir != "" { // to look at it
		f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png"))
		if err == nil {
			png.Encode(f, img)
			f.Close()
		}
	}
	return img, l
}

// Every cell's middle pixel is its known location's colour, and so is
// every pixel of the plot that no frame or separator covers.
func TestRenderKnownPattern(t *testing.T) {
	r := synthetic()
	img, l := render(t, r)
	for s := 0; s < 8; s++ {
		for p := 0; p < r.Pages(); p++ {
			c := l.Cell(s, p)
			mid := image.Pt((c.Min.X+c.Max.X-1)/2, (c.Min.Y+c.Max.Y-1)/2)
			if got, want := img.RGBAAt(mid.X, mid.Y), viz.Colour(knownLocation(s, p)); got != want {
				t.Errorf("sample %d page %d at %v: %v, want %v (%v)", s, p, mid, got, want, knownLocation(s, p))
			}
		}
	}
	checkPlot(t, img, l, r)
	// Device 1's and device 2's pages differ in colour; duplicates are
	// neither.
	if viz.Colour(knownLocation(0, 2)) == viz.Colour(knownLocation(0, 4)) || viz.Colour(knownLocation(0, 3)) == viz.Colour(knownLocation(0, 2)) {
		t.Error("devices or duplicates share a colour")
	}
}

// checkPlot compares every plot pixel not under a Fill with the colour of
// the cell the layout's mapping gives it.
func checkPlot(t *testing.T, img *image.RGBA, l *viz.Layout, r *viz.Residency) {
	t.Helper()
	covered := func(pt image.Point) bool {
		for _, f := range l.Fills {
			if pt.In(f.R) {
				return true
			}
		}
		return false
	}
	p, bad := l.Plot, 0
	for y := p.Min.Y; y < p.Max.Y; y++ {
		for x := p.Min.X; x < p.Max.X; x++ {
			pt := image.Pt(x, y)
			if covered(pt) {
				continue
			}
			s, pg := (x-p.Min.X)*len(r.Samples)/p.Dx(), (y-p.Min.Y)*r.Pages()/p.Dy()
			if got, want := img.RGBAAt(x, y), viz.Colour(r.At(s, pg)); got != want {
				if bad++; bad <= 5 {
					t.Errorf("pixel %v (sample %d, page %d): %v, want %v", pt, s, pg, got, want)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d plot pixels wrong", bad)
	}
}

// The legend has a swatch per location, both devices by name, in the
// location's colour; the background is the background, the frame ink,
// and the title and axis labels put ink where the layout put text.
func TestRenderLegendFrameText(t *testing.T) {
	r := synthetic()
	img, l := render(t, r)
	var labels []string
	for _, e := range l.Legend {
		mid := image.Pt((e.Swatch.Min.X+e.Swatch.Max.X)/2, (e.Swatch.Min.Y+e.Swatch.Max.Y)/2)
		if got := img.RGBAAt(mid.X, mid.Y); got != e.Colour || e.Colour != viz.Colour(e.Loc) {
			t.Errorf("legend %q swatch at %v: %v, want %v", e.Label, mid, got, e.Colour)
		}
		labels = append(labels, e.Label)
	}
	want := "host, not populated|host|on simgpu|on gpu2|read-duplicated|in transit|no access"
	if got := strings.Join(labels, "|"); got != want {
		t.Errorf("legend %s, want %s", got, want)
	}
	if got := img.RGBAAt(0, 0); got != viz.Background {
		t.Errorf("corner %v, want the background %v", got, viz.Background)
	}
	p := l.Plot
	if got := img.RGBAAt(p.Min.X-1, p.Min.Y+3); got != viz.Ink {
		t.Errorf("frame %v, want ink", got)
	}
	// Text: the mask's set pixels are ink in the picture, and the title
	// has some.
	m := l.TextMask()
	inkPx, titleInk := 0, 0
	for y := 0; y < l.Height; y++ {
		for x := 0; x < l.Width; x++ {
			if m.AlphaAt(x, y).A == 0 {
				continue
			}
			inkPx++
			if y < p.Min.Y-20 {
				titleInk++
			}
			if got := img.RGBAAt(x, y); got != viz.Ink {
				t.Fatalf("text pixel (%d, %d): %v, want ink", x, y, got)
			}
		}
	}
	if titleInk < 100 || inkPx < 1000 {
		t.Errorf("%d text pixels, %d in the title: the labels are missing", inkPx, titleInk)
	}
}

// More samples and pages than the plot has pixels: each pixel shows the
// cell the mapping picks, exactly (the grid uploaded is the plot's size).
func TestRenderDownsampled(t *testing.T) {
	r := &viz.Residency{Title: "many", Ranges: []viz.Range{{Name: "big", Pages: 3000}}, Devices: []viz.Device{{Slot: 1, Name: "simgpu"}}}
	for s := 0; s < 1500; s++ {
		col := make([]viz.Location, 3000)
		for p := range col {
			col[p] = knownLocation(s/7, p/5)
		}
		r.Append(viz.Sample{Phase: "run"}, col)
	}
	img, l := render(t, r)
	if l.Plot.Dx() >= 1500 || l.Plot.Dy() >= 3000 {
		t.Fatalf("plot %v is not smaller than the matrix", l.Plot)
	}
	checkPlot(t, img, l, r)
}

// The legend's colours are what the palette says, exactly, for a picture
// a person can tell apart: no two swatches alike.
func TestPaletteDistinct(t *testing.T) {
	l, err := viz.NewLayout(synthetic())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[color.RGBA]string{}
	for _, e := range l.Legend {
		if o, dup := seen[e.Colour]; dup {
			t.Errorf("%q and %q share %v", o, e.Label, e.Colour)
		}
		seen[e.Colour] = e.Label
	}
}
