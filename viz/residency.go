package viz

import "fmt"

// Range is one contiguous address range watched, drawn as a band of rows.
type Range struct {
	Name  string
	Addr  uintptr // first page's address
	Pages int
}

// Sample is one column: when it was taken.
type Sample struct {
	Phase string // the part of the run ("launch"); consecutive samples of one phase share a bracket on the x axis
	Label string // the step within it ("wave 1/2")
}

// Device names a device slot for the legend.
type Device struct {
	Slot int
	Name string
}

// Residency is the matrix of page locations: len(Samples) columns of
// Pages() rows, the rows of Ranges one after another.
type Residency struct {
	Title   string
	Ranges  []Range
	Devices []Device // in the legend's order; a slot found in a column but not here is named "device N"
	Samples []Sample
	cells   []Location // column after column
}

// Pages is the number of rows: every range's pages.
func (r *Residency) Pages() int {
	n := 0
	for _, g := range r.Ranges {
		n += g.Pages
	}
	return n
}

// Append adds a column: column[i] is row i's location.
func (r *Residency) Append(s Sample, column []Location) error {
	if len(column) != r.Pages() {
		return fmt.Errorf("viz: column of %d locations for %d pages", len(column), r.Pages())
	}
	r.Samples = append(r.Samples, s)
	r.cells = append(r.cells, column...)
	return nil
}

// At is the location of row page at column sample.
func (r *Residency) At(sample, page int) Location {
	return r.cells[sample*r.Pages()+page]
}

// DeviceName is the legend's name for a device slot.
func (r *Residency) DeviceName(slot int) string {
	for _, d := range r.Devices {
		if d.Slot == slot {
			return d.Name
		}
	}
	return fmt.Sprintf("device %d", slot)
}

// Count is how many cells are in each location, for a summary in words.
func (r *Residency) Count() map[Location]int {
	c := map[Location]int{}
	for _, l := range r.cells {
		c[l]++
	}
	return c
}
