package svm

import (
	"errors"
	"math/rand"
	"testing"
)

// The advice store against a model with one Advice per page.
func TestAdviceStoreMatchesModel(t *testing.T) {
	const base, pages = uintptr(0x7e00_0000_0000), 64
	defer ClearAdvice(base, pages*PageSize)
	model := make([]Advice, pages)
	r := rand.New(rand.NewSource(1))
	for op := 0; op < 2000; op++ {
		lo := r.Intn(pages)
		hi := lo + 1 + r.Intn(pages-lo)
		kind := AdviceKind(1 + r.Intn(6))
		loc := Location(1 + r.Intn(3))
		if kind == SetPreferredLocation && r.Intn(2) == 0 {
			loc = LocationHost
		}
		// Unaligned bounds are widened to pages.
		start := base + uintptr(lo)*PageSize + uintptr(r.Intn(100))
		end := base + uintptr(hi)*PageSize
		if err := Advise(start, end-start, kind, loc); err != nil {
			t.Fatal(err)
		}
		for i := lo; i < hi; i++ {
			a := &model[i]
			switch kind {
			case SetPreferredLocation:
				a.Preferred = loc
			case UnsetPreferredLocation:
				a.Preferred = LocationNone
			case SetAccessedBy:
				a.AccessedBy |= 1 << uint(loc)
			case UnsetAccessedBy:
				a.AccessedBy &^= 1 << uint(loc)
			case SetReadMostly:
				a.ReadMostly = true
			case UnsetReadMostly:
				a.ReadMostly = false
			}
		}
		got := RangeAdvice(base, pages*PageSize)
		for i := 1; i < len(got); i++ {
			if got[i-1].End == got[i].Start && got[i-1].Advice == got[i].Advice {
				t.Fatalf("op %d: adjacent equal ranges not merged: %+v", op, got)
			}
		}
		var snap AdviceSnapshot
		snap.Refresh()
		for i := 0; i < pages; i++ {
			a := base + uintptr(i)*PageSize
			if snap.At(a) != model[i] {
				t.Fatalf("op %d (%v [%d,%d)): page %d has %+v, model %+v", op, kind, lo, hi, i, snap.At(a), model[i])
			}
		}
		for _, g := range got {
			if g.Advice.IsZero() {
				t.Fatalf("op %d: zero range reported: %+v", op, g)
			}
		}
	}
}

func TestAdviseErrors(t *testing.T) {
	for _, c := range []struct {
		kind AdviceKind
		loc  Location
		n    uintptr
	}{
		{SetReadMostly, LocationNone, 0},
		{SetPreferredLocation, LocationNone, 4096},
		{SetAccessedBy, LocationHost, 4096},
		{AdviceKind(99), LocationNone, 4096},
	} {
		if err := Advise(0x7f00_0000_0000, c.n, c.kind, c.loc); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("Advise(%v, %v, %d) = %v, want ErrInvalidValue", c.kind, c.loc, c.n, err)
		}
	}
}
