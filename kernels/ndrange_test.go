package kernels

import (
	"errors"
	"strings"
	"testing"
)

func TestNDRangeValidate(t *testing.T) {
	valid := []NDRange{
		Range1D(1000, 8),
		Range1D(1024, 1024),
		Range2D(64, 32, 16, 16),
		Range3D(8, 8, 8, 4, 4, 4),
		{Dims: 1, Global: [3]int{16}, Local: [3]int{4}}, // unused dims left 0
		{Dims: 2, Global: [3]int{16, 4}, Local: [3]int{4, 2}, Offset: [3]int{3, 1 << 40}},
	}
	for _, nd := range valid {
		if err := nd.Validate(); err != nil {
			t.Errorf("%v: %v", nd, err)
		}
	}
	invalid := []struct {
		nd   NDRange
		want []string // substrings of the message
	}{
		{Range1D(1000, 256), []string{"global size 1000 in dim 0 is not a multiple of local size 256"}},
		{Range2D(64, 30, 16, 16), []string{"global size 30 in dim 1 is not a multiple of local size 16"}},
		{NDRange{Dims: 0}, []string{"0 dimensions"}},
		{NDRange{Dims: 4}, []string{"4 dimensions"}},
		{Range1D(0, 1), []string{"global size 0 in dim 0"}},
		{Range2D(4, -4, 1, 1), []string{"global size -4 in dim 1"}},
		{Range3D(4, 4, 4, 1, 1, 0), []string{"local size 0 in dim 2"}},
		{Range2D(2048, 2048, 64, 32), []string{"work-group size 2048", "1024"}},
		{NDRange{Dims: 1, Global: [3]int{4, 3, 1}, Local: [3]int{4, 1, 1}}, []string{"unused dim 1"}},
		{Range3D(1<<40, 1<<40, 1<<40, 1, 1, 1), []string{"overflows"}},
		{NDRange{Dims: 1, Global: [3]int{4}, Local: [3]int{4}, Offset: [3]int{-1}}, []string{"global offset -1 in dim 0"}},
		{NDRange{Dims: 1, Global: [3]int{4}, Local: [3]int{4}, Offset: [3]int{0, 2}}, []string{"global offset 2 in dim 1"}},
	}
	for _, c := range invalid {
		err := c.nd.Validate()
		if !errors.Is(err, ErrInvalidNDRange) {
			t.Errorf("%v: got %v, want ErrInvalidNDRange", c.nd, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not say %q", c.nd, err, w)
			}
		}
	}
}

func TestNDRangeGroups(t *testing.T) {
	nd := Range3D(12, 6, 4, 4, 3, 2)
	if got := nd.NumGroups(); got != [3]int{3, 2, 2} {
		t.Fatalf("NumGroups = %v", got)
	}
	if nd.TotalGroups() != 12 || nd.GroupSize() != 24 || nd.GlobalSize() != 288 {
		t.Fatalf("TotalGroups %d GroupSize %d GlobalSize %d", nd.TotalGroups(), nd.GroupSize(), nd.GlobalSize())
	}
	// Linear order: dimension 0 fastest, and every group exactly once.
	seen := map[[3]int]bool{}
	for i := 0; i < nd.TotalGroups(); i++ {
		c := nd.GroupCoords(i)
		if lin := c[0] + 3*(c[1]+2*c[2]); lin != i {
			t.Fatalf("GroupCoords(%d) = %v (linear %d)", i, c, lin)
		}
		seen[c] = true
	}
	if len(seen) != 12 {
		t.Fatalf("%d distinct groups", len(seen))
	}
	// Unused dimensions stored as 0 count as 1.
	lit := NDRange{Dims: 1, Global: [3]int{16}, Local: [3]int{4}}
	if lit.TotalGroups() != 4 || lit.GroupSize() != 4 || lit.NumGroups() != [3]int{4, 1, 1} {
		t.Fatalf("literal range: %v %v", lit.NumGroups(), lit.GroupSize())
	}
	if s := Range2D(8, 4, 2, 2).String(); s != "global [8 4] local [2 2]" {
		t.Fatalf("String = %q", s)
	}
}

func TestRangeHelpers(t *testing.T) {
	for _, m := range []int{0, 1, 7, 16, 20, 48, 100, 256, 257} {
		nd := MulMatRange(m)
		if err := nd.Validate(); err != nil {
			t.Fatalf("MulMatRange(%d): %v", m, err)
		}
		if m > 0 && (nd.Global[0] != m || nd.Global[1] != m) {
			t.Fatalf("MulMatRange(%d) = %v", m, nd)
		}
		if m%16 == 0 && m > 0 && nd.Local != [3]int{16, 16, 1} {
			t.Fatalf("MulMatRange(%d) local %v", m, nd.Local)
		}
	}
	if l := MulMatRange(20).Local; l != [3]int{10, 10, 1} {
		t.Fatalf("MulMatRange(20) local %v", l)
	}
	for _, n := range []int{-1, 0, 1, 100, 255, 256, 257, 100000} {
		for _, nd := range []NDRange{SaxpyRange(n), HistogramRange(n), ListWalkRange(n), SumRange(n, 0), SumRange(n, 96), SumRange(n, 5000)} {
			if err := nd.Validate(); err != nil {
				t.Fatalf("n=%d: %v: %v", n, nd, err)
			}
			if nd.Global[0] < n {
				t.Fatalf("n=%d: %v does not cover n", n, nd)
			}
		}
	}
	if nd := SumRange(1000, 96); nd.Local[0] != 96 || nd.Global[0] != 1056 {
		t.Fatalf("SumRange(1000, 96) = %v", nd)
	}
}
