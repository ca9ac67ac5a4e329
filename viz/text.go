package viz

import (
	"image"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The labels' face: X11's fixed 7×13, a bitmap font (no anti-aliasing, so
// the text mask is 0 or 255 and the picture the same on every machine).
var face = basicfont.Face7x13

const (
	charW   = 7  // advance of every glyph
	lineH   = 13 // a line's height
	ascent  = 11 // baseline below a line's top
	descent = lineH - ascent
)

// Text is one label: S with its baseline's left end at (X, Y).
type Text struct {
	X, Y int
	S    string
}

// textWidth is a label's width in pixels.
func textWidth(s string) int { return len(ascii(s)) * charW }

// ascii spells a label in the characters the face has: the few non-ASCII
// ones the labels use get ASCII stand-ins, any other becomes '?'.
func ascii(s string) string {
	s = strings.NewReplacer("×", "x", "→", "->", "—", "-", "–", "-", "↓", "v").Replace(s)
	b := []byte(s)
	out := b[:0]
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			out = append(out, byte(r))
		} else {
			out = append(out, '?')
		}
	}
	return string(out)
}

// fit shortens s to at most w pixels ("..." at its end), or "" when not
// even three characters fit.
func fit(s string, w int) string {
	s = ascii(s)
	n := w / charW
	switch {
	case len(s) <= n:
		return s
	case n < 3:
		return ""
	case n < 6:
		return s[:n]
	}
	return s[:n-3] + "..."
}

// TextMask rasterises the layout's labels into a coverage mask of the
// picture's size (255 where a glyph's pixel is set): the GL renderer
// blends Ink through it.
func (l *Layout) TextMask() *image.Alpha {
	m := image.NewAlpha(image.Rect(0, 0, l.Width, l.Height))
	d := font.Drawer{Dst: m, Src: image.Opaque, Face: face}
	for _, t := range l.Texts {
		d.Dot = fixed.P(t.X, t.Y)
		d.DrawString(ascii(t.S))
	}
	return m
}
