package viz

import (
	"image"
	"strings"
	"testing"
)

func matrix(samples int, ranges ...Range) *Residency {
	r := &Residency{Title: "t", Ranges: ranges, Devices: []Device{{Slot: 1, Name: "simgpu"}}}
	for s := 0; s < samples; s++ {
		col := make([]Location, r.Pages())
		for p := range col {
			col[p] = Location{Kind: Kind((s + p) % int(numKinds)), Device: 1}
		}
		r.Append(Sample{Phase: []string{"host", "launch"}[min(s/3, 1)], Label: "x"}, col)
	}
	return r
}

// The cells tile the plot: every plot pixel belongs to exactly one cell,
// the one Cell names, for sizes that divide the plot evenly and sizes that
// do not, and for more cells than pixels (where some cells get none).
func TestCellsTileThePlot(t *testing.T) {
	for _, tc := range []struct{ samples, pages int }{{8, 35}, {3, 192}, {11, 1000}, {1500, 3000}, {1, 1}} {
		r := matrix(tc.samples, Range{Name: "a", Pages: tc.pages})
		l, err := NewLayout(r)
		if err != nil {
			t.Fatal(err)
		}
		p := l.Plot
		if p.Dx() < minPlotW || p.Dx() > maxPlotW || p.Dy() > maxPlotH || p.Dy() < min(tc.pages, maxPlotH) {
			t.Errorf("%v: plot %v", tc, p)
		}
		owner := map[image.Point]int{}
		for s := 0; s < tc.samples; s++ {
			c := l.Cell(s, 0)
			for x := c.Min.X; x < c.Max.X; x++ {
				if (x-p.Min.X)*tc.samples/p.Dx() != s {
					t.Fatalf("%v: pixel column %d in sample %d's cell maps to %d", tc, x, s, (x-p.Min.X)*tc.samples/p.Dx())
				}
				owner[image.Pt(x, 0)]++
			}
		}
		for pg := 0; pg < tc.pages; pg++ {
			c := l.Cell(0, pg)
			for y := c.Min.Y; y < c.Max.Y; y++ {
				if (y-p.Min.Y)*tc.pages/p.Dy() != pg {
					t.Fatalf("%v: pixel row %d in page %d's cell maps to %d", tc, y, pg, (y-p.Min.Y)*tc.pages/p.Dy())
				}
				owner[image.Pt(0, y)]++
			}
		}
		if len(owner) != p.Dx()+p.Dy() {
			t.Errorf("%v: %d of %d pixel columns and rows in a cell", tc, len(owner), p.Dx()+p.Dy())
		}
		for pt, n := range owner {
			if n != 1 {
				t.Fatalf("%v: %v in %d cells", tc, pt, n)
			}
		}
		// Grid: the texel the shader's mapping picks holds the cell's
		// palette index.
		w, h, idx := l.Grid(r)
		for _, pt := range []image.Point{{0, 0}, {p.Dx() - 1, p.Dy() - 1}, {p.Dx() / 3, p.Dy() / 2}} {
			s, pg := pt.X*tc.samples/p.Dx(), pt.Y*tc.pages/p.Dy()
			tx, ty := pt.X*w/p.Dx(), pt.Y*h/p.Dy()
			if got, want := int(idx[ty*w+tx]), l.PaletteIndex(r.At(s, pg)); got != want {
				t.Errorf("%v: texel (%d, %d) for pixel %v: %d, want %d", tc, tx, ty, pt, got, want)
			}
		}
		if w > p.Dx() || h > p.Dy() {
			t.Errorf("%v: grid %dx%d larger than the plot %v", tc, w, h, p)
		}
	}
}

// The layout keeps its parts apart: the legend right of the plot, the
// labels inside the picture, and the palette the legend's colours.
func TestLayoutParts(t *testing.T) {
	r := matrix(6, Range{Name: "a", Pages: 64}, Range{Name: "b", Pages: 64}, Range{Name: "r", Pages: 64})
	l, err := NewLayout(r)
	if err != nil {
		t.Fatal(err)
	}
	pic := image.Rect(0, 0, l.Width, l.Height)
	for _, e := range l.Legend {
		if !e.Swatch.In(pic) || e.Swatch.Min.X <= l.Plot.Max.X {
			t.Errorf("legend %q swatch %v (plot %v, picture %v)", e.Label, e.Swatch, l.Plot, pic)
		}
	}
	var texts []string
	for _, tx := range l.Texts {
		if tx.X < 0 || tx.X+textWidth(tx.S) > l.Width || tx.Y-ascent < 0 || tx.Y+descent > l.Height {
			t.Errorf("label %q at (%d, %d) leaves the %dx%d picture", tx.S, tx.X, tx.Y, l.Width, l.Height)
		}
		texts = append(texts, tx.S)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"|a|64 pages|", "|b|", "|r|", "|host|", "|launch|", "|on simgpu|", "|in transit|", "|read-duplicated|", "time ->"} {
		if !strings.Contains(all+"|", want) {
			t.Errorf("labels lack %q: %s", want, all)
		}
	}
	for i, c := range l.Palette() {
		if c != l.Legend[i].Colour {
			t.Errorf("palette %d %v, legend %v", i, c, l.Legend[i].Colour)
		}
	}
	// A duplicate on device 1 and one anywhere share the legend's entry;
	// a page on a device nobody named gets an entry of its own.
	if l.PaletteIndex(Location{Kind: Duplicated, Device: 1}) != l.PaletteIndex(Location{Kind: Duplicated}) {
		t.Error("duplicates on a device have their own colour")
	}
	if _, err := NewLayout(&Residency{}); err == nil {
		t.Error("a layout of nothing")
	}
	m := l.TextMask()
	set := 0
	for _, a := range m.Pix {
		if a != 0 && a != 255 {
			t.Fatalf("text mask has coverage %d: the face is not a bitmap", a)
		}
		if a != 0 {
			set++
		}
	}
	if set == 0 {
		t.Error("empty text mask")
	}
}

func TestLabelsFit(t *testing.T) {
	for _, tc := range []struct {
		s    string
		w    int
		want string
	}{
		{"launch", 100, "launch"},
		{"CPU reads r", 7 * 8, "CPU r..."},
		{"reads", 14, ""},
		{"reads", 7 * 4, "read"},
		{"256×256 → r", 200, "256x256 -> r"},
		{"é", 50, "?"},
	} {
		if got := fit(tc.s, tc.w); got != tc.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.want)
		}
	}
}

func TestAppendChecksTheColumn(t *testing.T) {
	r := &Residency{Ranges: []Range{{Name: "a", Pages: 2}}}
	if err := r.Append(Sample{}, make([]Location, 3)); err == nil {
		t.Error("a column of 3 for 2 pages")
	}
}

// A phase of one sample is narrower than its name: the name spreads into
// the room its neighbours leave, whole, and no two names overlap.
func TestPhaseNamesFit(t *testing.T) {
	r := &Residency{Ranges: []Range{{Name: "a", Pages: 4}}}
	for _, ph := range []string{"host", "host", "launch", "CPU reads r", "CPU reads r", "CPU reads r", "CPU reads r", "CPU reads r"} {
		r.Append(Sample{Phase: ph}, make([]Location, 4))
	}
	l, err := NewLayout(r)
	if err != nil {
		t.Fatal(err)
	}
	y := 0
	var names []Text
	for _, tx := range l.Texts {
		if tx.S == "launch" {
			y = tx.Y
		}
	}
	for _, tx := range l.Texts {
		if tx.Y == y {
			names = append(names, tx)
		}
	}
	if len(names) != 3 || names[0].S != "host" || names[1].S != "launch" || names[2].S != "CPU reads r" {
		t.Fatalf("phase names %+v", names)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1].X+textWidth(names[i-1].S) > names[i].X {
			t.Errorf("%q and %q overlap: %+v", names[i-1].S, names[i].S, names)
		}
	}
}
