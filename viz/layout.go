package viz

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"slices"
)

// Layout is a residency picture's geometry, in pixels with the origin at
// the top left: the plot (the heat map itself), what is drawn around it
// (Fills: frame, ticks, brackets, legend swatches; Texts: the labels) and
// the legend. A renderer draws the background, the plot from Grid and
// Palette, the Fills in order, then the text mask.
type Layout struct {
	Width, Height int
	Plot          image.Rectangle
	Fills         []Fill
	Texts         []Text
	Legend        []Entry

	samples, pages int
	gridW, gridH   int              // Grid's size: the matrix's, or the plot's where it has fewer pixels
	index          map[Location]int // location → palette index (its legend entry)
}

// Fill is a solid rectangle.
type Fill struct {
	R image.Rectangle
	C color.RGBA
}

// Entry is one legend line: a location's swatch and its name.
type Entry struct {
	Loc    Location
	Label  string
	Colour color.RGBA
	Swatch image.Rectangle
}

// The picture's proportions.
const (
	pad         = 16
	maxCellW    = 24   // a column's width when there are few samples
	maxPlotW    = 1200 // more samples than this share pixels
	minPlotW    = 240
	maxCellH    = 8
	maxPlotH    = 768
	swatch      = 14
	legendLineH = 20
	tickLen     = 4
)

// NewLayout lays out the picture of r.
func NewLayout(r *Residency) (*Layout, error) {
	n, pages := len(r.Samples), r.Pages()
	if n == 0 || pages == 0 {
		return nil, errors.New("viz: nothing to draw: no samples or no pages")
	}
	l := &Layout{samples: n, pages: pages}
	plotW := n * max(1, min(maxCellW, maxPlotW/n))
	plotW = min(max(plotW, minPlotW), maxPlotW)
	plotH := pages * max(1, min(maxCellH, maxPlotH/pages))
	plotH = min(plotH, maxPlotH)
	l.gridW, l.gridH = min(n, plotW), min(pages, plotH)

	// Left of the plot: each range's name and size at its band's middle.
	leftW := textWidth("pages")
	for _, g := range r.Ranges {
		leftW = max(leftW, textWidth(g.Name), textWidth(pagesLabel(g.Pages)))
	}
	x0 := pad + leftW + 10
	top := pad + lineH + 10 + lineH + 6 // title, a gap, the axes' titles
	l.Plot = image.Rect(x0, top, x0+plotW, top+plotH)
	l.Texts = append(l.Texts, Text{pad, pad + ascent, r.Title})
	l.Texts = append(l.Texts, Text{x0 - 10 - textWidth("pages"), top - 6 - descent, "pages"})

	l.frame()
	l.bands(r)
	bottom := l.xAxis(r)
	legendBottom, legendRight := l.legend(r)

	l.Width = max(legendRight, pad+textWidth(r.Title)) + pad
	l.Height = max(bottom, legendBottom) + pad
	return l, nil
}

func pagesLabel(n int) string {
	if n == 1 {
		return "1 page"
	}
	return fmt.Sprintf("%d pages", n)
}

// frame draws a 1-pixel frame just outside the plot.
func (l *Layout) frame() {
	p := l.Plot
	l.Fills = append(l.Fills,
		Fill{image.Rect(p.Min.X-1, p.Min.Y-1, p.Max.X+1, p.Min.Y), Ink},
		Fill{image.Rect(p.Min.X-1, p.Max.Y, p.Max.X+1, p.Max.Y+1), Ink},
		Fill{image.Rect(p.Min.X-1, p.Min.Y, p.Min.X, p.Max.Y), Ink},
		Fill{image.Rect(p.Max.X, p.Min.Y, p.Max.X+1, p.Max.Y), Ink})
}

// bands labels each range on the left and marks where one ends and the
// next begins: a tick outside the frame, and a line across the plot where
// rows are tall enough that it hides no page's whole row.
func (l *Layout) bands(r *Residency) {
	p := l.Plot
	first := 0
	for i, g := range r.Ranges {
		y0, y1 := l.rowY(first), l.rowY(first+g.Pages)
		if i > 0 {
			l.Fills = append(l.Fills, Fill{image.Rect(p.Min.X-1-2*tickLen, y0, p.Min.X-1, y0+1), Ink})
			if l.Cell(0, first).Dy() >= 3 {
				l.Fills = append(l.Fills, Fill{image.Rect(p.Min.X, y0, p.Max.X, y0+1), Ink})
			}
		}
		mid := (y0 + y1) / 2
		right := p.Min.X - 10
		// Two lines where they leave a gap to the neighbours' labels, else
		// the name alone.
		if y1-y0 >= 2*lineH+8 {
			l.Texts = append(l.Texts,
				Text{right - textWidth(g.Name), mid - 1, g.Name},
				Text{right - textWidth(pagesLabel(g.Pages)), mid + lineH - 1, pagesLabel(g.Pages)})
		} else if y1-y0 >= lineH-4 {
			l.Texts = append(l.Texts, Text{right - textWidth(g.Name), mid + ascent/2, g.Name})
		}
		first += g.Pages
	}
}

// xAxis draws the samples' ticks and numbers, the phases' brackets and
// names under them, and the axis title; it returns the lowest pixel used.
func (l *Layout) xAxis(r *Residency) int {
	p := l.Plot
	// Number every k-th sample, k such that the numbers do not touch.
	colW := float64(p.Dx()) / float64(l.samples)
	k := 1
	for float64(k)*colW < float64(textWidth(fmt.Sprint(l.samples))+6) {
		k++
	}
	for _, step := range []int{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000} {
		if step >= k {
			k = step
			break
		}
	}
	y := p.Max.Y + 1
	for s := 0; s < l.samples; s++ {
		if (s+1)%k != 0 && s != 0 {
			continue
		}
		c := l.Cell(s, 0)
		if c.Empty() {
			continue
		}
		x := (c.Min.X + c.Max.X - 1) / 2
		l.Fills = append(l.Fills, Fill{image.Rect(x, y, x+1, y+tickLen), Ink})
		num := fmt.Sprint(s + 1)
		l.Texts = append(l.Texts, Text{x - textWidth(num)/2, y + tickLen + 2 + ascent, num})
	}
	// Brackets: one per run of consecutive samples of the same phase,
	// named underneath. A name wider than its bracket may spread into the
	// room its neighbours' names leave (a one-sample phase is narrower
	// than most words), off centre if one side has more.
	by := y + tickLen + 2 + lineH + 6
	type bracket struct {
		x0, x1 int
		name   string
	}
	var bs []bracket
	for s0 := 0; s0 < l.samples; {
		s1 := s0 + 1
		for s1 < l.samples && r.Samples[s1].Phase == r.Samples[s0].Phase {
			s1++
		}
		bs = append(bs, bracket{l.colX(s0) + 2, l.colX(s1) - 2, ascii(r.Samples[s0].Phase)})
		s0 = s1
	}
	slack := func(i int) int { // room bracket i's name leaves on each side
		if i < 0 || i >= len(bs) {
			return 8 // the plot's edges: a little beyond
		}
		return max(0, (bs[i].x1-bs[i].x0-textWidth(bs[i].name))/2-4)
	}
	for i, b := range bs {
		if b.x1-b.x0 < 3 {
			continue
		}
		l.Fills = append(l.Fills,
			Fill{image.Rect(b.x0, by, b.x1, by+1), Ink},
			Fill{image.Rect(b.x0, by-3, b.x0+1, by), Ink},
			Fill{image.Rect(b.x1-1, by-3, b.x1, by), Ink})
		lo, hi := b.x0-slack(i-1), b.x1+slack(i+1)
		if name := fit(b.name, hi-lo); name != "" {
			x := (b.x0+b.x1)/2 - textWidth(name)/2
			x = max(lo, min(x, hi-textWidth(name))) // centred, or moved into the room there is
			l.Texts = append(l.Texts, Text{x, by + 3 + ascent, name})
		}
	}
	title := "samples, in the order of the run (time ->)"
	ty := by + 3 + lineH + 8 + ascent
	l.Texts = append(l.Texts, Text{p.Min.X + p.Dx()/2 - textWidth(title)/2, ty, title})
	return ty + descent
}

// legend lists every location that can appear, the devices that are named
// or appear, and returns the legend's bottom and right edges.
func (l *Layout) legend(r *Residency) (bottom, right int) {
	locs := []Location{{Kind: HostEmpty}, {Kind: Host}}
	seen := map[int]bool{}
	for _, d := range r.Devices {
		if !seen[d.Slot] {
			seen[d.Slot] = true
			locs = append(locs, Location{Kind: OnDevice, Device: d.Slot})
		}
	}
	var others []int // slots with pages but no name, in slot order
	for loc := range r.Count() {
		if loc.Kind == OnDevice && !seen[loc.Device] {
			seen[loc.Device] = true
			others = append(others, loc.Device)
		}
	}
	slices.Sort(others)
	for _, slot := range others {
		locs = append(locs, Location{Kind: OnDevice, Device: slot})
	}
	locs = append(locs, Location{Kind: Duplicated}, Location{Kind: InTransit}, Location{Kind: NoAccess})
	l.index = map[Location]int{}
	x := l.Plot.Max.X + 24
	right = x + textWidth("location")
	l.Texts = append(l.Texts, Text{x, l.Plot.Min.Y - 6 - descent, "location"})
	for i, loc := range locs {
		label := loc.Kind.String()
		if loc.Kind == OnDevice {
			label = "on " + r.DeviceName(loc.Device)
		}
		y := l.Plot.Min.Y + i*legendLineH
		e := Entry{Loc: loc, Label: label, Colour: Colour(loc), Swatch: image.Rect(x, y, x+swatch, y+swatch)}
		l.Legend = append(l.Legend, e)
		l.index[loc] = i
		// A frame around the swatch, so the light ones show on white.
		l.Fills = append(l.Fills, Fill{e.Swatch.Inset(-1), Ink}, Fill{e.Swatch, e.Colour})
		l.Texts = append(l.Texts, Text{x + swatch + 6, y + ascent, label})
		right = max(right, x+swatch+6+textWidth(label))
		bottom = y + swatch + 1
	}
	return bottom, right
}

// colX is the left pixel of sample s's column (s == samples: the plot's
// right edge).
func (l *Layout) colX(s int) int { return l.Plot.Min.X + ceilDiv(s*l.Plot.Dx(), l.samples) }

// rowY is the top pixel of page row p (p == pages: the plot's bottom).
func (l *Layout) rowY(p int) int { return l.Plot.Min.Y + ceilDiv(p*l.Plot.Dy(), l.pages) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Cell is the rectangle of pixels that show sample s's page p: a pixel at
// offset (dx, dy) in the plot shows sample dx*samples/width and page
// dy*pages/height (rounded down), the mapping the renderer's shader uses.
// It is empty when the plot has fewer pixels than the matrix has columns
// (or rows) and none falls on this one.
func (l *Layout) Cell(s, p int) image.Rectangle {
	return image.Rect(l.colX(s), l.rowY(p), l.colX(s+1), l.rowY(p+1))
}

// Grid is the matrix as the renderer uploads it: w×h palette indices, row
// after row (row = page), where w and h are the matrix's size or, where
// the plot has fewer pixels, the plot's: then texel i stands for the
// sample (or page) that plot pixel i shows, so the shader's mapping (texel
// = offset*w/width) picks the same cell as Cell.
func (l *Layout) Grid(r *Residency) (w, h int, idx []uint8) {
	w, h = l.gridW, l.gridH
	idx = make([]uint8, w*h)
	for y := 0; y < h; y++ {
		p := y
		if h < l.pages {
			p = y * l.pages / h
		}
		for x := 0; x < w; x++ {
			s := x
			if w < l.samples {
				s = x * l.samples / w
			}
			idx[y*w+x] = uint8(l.PaletteIndex(r.At(s, p)))
		}
	}
	return w, h, idx
}

// PaletteIndex is a location's index in Palette: its legend entry's. Only
// pages on a device are told apart by device; a duplicate or a page in
// transit has one colour whichever device it involves.
func (l *Layout) PaletteIndex(loc Location) int {
	if loc.Kind != OnDevice {
		loc.Device = 0
	}
	if i, ok := l.index[loc]; ok {
		return i
	}
	return l.index[Location{Kind: NoAccess}]
}

// Palette is the colour of each palette index Grid uses: the legend's.
func (l *Layout) Palette() []color.RGBA {
	c := make([]color.RGBA, len(l.Legend))
	for i, e := range l.Legend {
		c[i] = e.Colour
	}
	return c
}
