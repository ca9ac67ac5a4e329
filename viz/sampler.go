package viz

import (
	"fmt"
	"unsafe"

	svmrt "github.com/svmrt/svmrt/runtime"
)

// Sampler fills a Residency from one device's page snapshots: Track the
// ranges, then Sample at each moment of interest. A snapshot reads the
// page table and /proc/self/pagemap and faults nothing in, so sampling
// does not move the pages it looks at.
//
// Sample is safe between launches and from a simulated GPU's progress
// callback (between two waves of a launch, when no fault is being
// served); a snapshot taken while faults are served can show pages in
// transit.
type Sampler struct {
	dev   *svmrt.Device
	spans []span
	res   Residency
}

type span struct {
	p      unsafe.Pointer
	length uintptr
}

// NewSampler watches pages through dev's snapshots; title heads the
// picture.
func NewSampler(dev *svmrt.Device, title string) *Sampler {
	s := &Sampler{dev: dev, res: Residency{Title: title}}
	// The device's own slot, so the legend names it; devices without
	// private memory have none (their pages never leave the host).
	if m, ok := dev.Backend().(interface{ Slot() int }); ok {
		s.res.Devices = append(s.res.Devices, Device{Slot: m.Slot(), Name: dev.Name()})
	}
	return s
}

// Track adds a range, before the first Sample. A range that does not start
// or end on a page boundary covers the pages it touches.
func (s *Sampler) Track(name string, p unsafe.Pointer, length uintptr) error {
	if len(s.res.Samples) > 0 {
		return fmt.Errorf("viz: Track(%s) after the first sample", name)
	}
	if length == 0 {
		return fmt.Errorf("viz: Track(%s): empty range", name)
	}
	const page = 4096
	first := uintptr(p) &^ (page - 1)
	pages := int((uintptr(p) + length - first + page - 1) / page)
	s.spans = append(s.spans, span{p, length})
	s.res.Ranges = append(s.res.Ranges, Range{Name: name, Addr: first, Pages: pages})
	return nil
}

// TrackSlice tracks a slice's backing array.
func TrackSlice[T any](s *Sampler, name string, sl []T) error {
	if len(sl) == 0 {
		return fmt.Errorf("viz: TrackSlice(%s): empty slice", name)
	}
	var zero T
	return s.Track(name, unsafe.Pointer(unsafe.SliceData(sl)), uintptr(len(sl))*unsafe.Sizeof(zero))
}

// Sample snapshots every tracked range and appends the column.
func (s *Sampler) Sample(phase, label string) error {
	col := make([]Location, 0, s.res.Pages())
	for i, sp := range s.spans {
		snap, err := s.dev.Snapshot(sp.p, sp.length)
		if err != nil {
			return fmt.Errorf("viz: snapshot of %s: %w", s.res.Ranges[i].Name, err)
		}
		for _, p := range snap {
			col = append(col, LocationOf(p))
		}
	}
	return s.res.Append(Sample{Phase: phase, Label: label}, col)
}

// Residency is what was sampled so far.
func (s *Sampler) Residency() *Residency { return &s.res }
