package kernels

import (
	"fmt"
	"math"
)

// NDRange is an OpenCL index space: Dims dimensions (1..3) of Global
// work-items cut into work-groups of Local work-items. Unused dimensions
// (d >= Dims) are 1; Validate also accepts 0 there and every method treats
// them as 1, so a literal that only fills the used dimensions works.
// The size and coordinate methods assume a range that passed Validate.
//
// Offset is OpenCL's global work offset: global ids start there
// (get_global_offset); Global and Local do not change with it.
type NDRange struct {
	Dims          int
	Global, Local [3]int
	Offset        [3]int
}

// Range1D is a 1-D NDRange of global work-items in groups of local.
func Range1D(global, local int) NDRange {
	return NDRange{Dims: 1, Global: [3]int{global, 1, 1}, Local: [3]int{local, 1, 1}}
}

// Range2D is a 2-D NDRange of gx×gy work-items in groups of lx×ly.
func Range2D(gx, gy, lx, ly int) NDRange {
	return NDRange{Dims: 2, Global: [3]int{gx, gy, 1}, Local: [3]int{lx, ly, 1}}
}

// Range3D is a 3-D NDRange of gx×gy×gz work-items in groups of lx×ly×lz.
func Range3D(gx, gy, gz, lx, ly, lz int) NDRange {
	return NDRange{Dims: 3, Global: [3]int{gx, gy, gz}, Local: [3]int{lx, ly, lz}}
}

// norm returns nd with unused dimensions set to 1.
func (nd NDRange) norm() NDRange {
	for d := max(nd.Dims, 0); d < 3; d++ {
		nd.Global[d], nd.Local[d] = 1, 1
	}
	return nd
}

// Validate checks nd against OpenCL's rules: 1..3 dimensions, positive sizes,
// global divisible by local in every dimension, at most MaxWorkGroupSize
// work-items per group. Errors wrap ErrInvalidNDRange and name the dimension
// and sizes.
func (nd NDRange) Validate() error {
	if nd.Dims < 1 || nd.Dims > 3 {
		return fmt.Errorf("%w: %d dimensions (must be 1, 2 or 3)", ErrInvalidNDRange, nd.Dims)
	}
	total := 1
	for d := 0; d < 3; d++ {
		g, l := nd.Global[d], nd.Local[d]
		if nd.Offset[d] < 0 || (d >= nd.Dims && nd.Offset[d] != 0) {
			return fmt.Errorf("%w: global offset %d in dim %d of a %d-D range", ErrInvalidNDRange, nd.Offset[d], d, nd.Dims)
		}
		if d >= nd.Dims {
			if (g != 0 && g != 1) || (l != 0 && l != 1) {
				return fmt.Errorf("%w: unused dim %d of a %d-D range has global size %d, local size %d (must be 1)",
					ErrInvalidNDRange, d, nd.Dims, g, l)
			}
			continue
		}
		if g <= 0 {
			return fmt.Errorf("%w: global size %d in dim %d must be positive", ErrInvalidNDRange, g, d)
		}
		if l <= 0 {
			return fmt.Errorf("%w: local size %d in dim %d must be positive", ErrInvalidNDRange, l, d)
		}
		if g%l != 0 {
			return fmt.Errorf("%w: global size %d in dim %d is not a multiple of local size %d",
				ErrInvalidNDRange, g, d, l)
		}
		if g > math.MaxInt/total {
			return fmt.Errorf("%w: global size %v overflows", ErrInvalidNDRange, nd.Global[:nd.Dims])
		}
		total *= g
	}
	n := nd.norm()
	if gs := n.Local[0] * n.Local[1] * n.Local[2]; gs > MaxWorkGroupSize {
		return fmt.Errorf("%w: work-group size %d (local %v) exceeds the maximum %d",
			ErrInvalidNDRange, gs, nd.Local[:nd.Dims], MaxWorkGroupSize)
	}
	return nil
}

// NumGroups is the number of work-groups in each dimension.
func (nd NDRange) NumGroups() [3]int {
	n := nd.norm()
	return [3]int{n.Global[0] / n.Local[0], n.Global[1] / n.Local[1], n.Global[2] / n.Local[2]}
}

// TotalGroups is the number of work-groups in the range.
func (nd NDRange) TotalGroups() int {
	g := nd.NumGroups()
	return g[0] * g[1] * g[2]
}

// GroupSize is the number of work-items in one work-group.
func (nd NDRange) GroupSize() int {
	n := nd.norm()
	return n.Local[0] * n.Local[1] * n.Local[2]
}

// GlobalSize is the total number of work-items in the range.
func (nd NDRange) GlobalSize() int {
	n := nd.norm()
	return n.Global[0] * n.Global[1] * n.Global[2]
}

// GroupCoords turns a linear group index into group coordinates, dimension 0
// varying fastest (OpenCL's linearisation).
func (nd NDRange) GroupCoords(linear int) [3]int {
	g := nd.NumGroups()
	return [3]int{linear % g[0], (linear / g[0]) % g[1], linear / (g[0] * g[1])}
}

// String formats the range as "global [gx gy] local [lx ly]".
func (nd NDRange) String() string {
	d := min(max(nd.Dims, 0), 3)
	return fmt.Sprintf("global %v local %v", nd.Global[:d], nd.Local[:d])
}
