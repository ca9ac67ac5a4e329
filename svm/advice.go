package svm

import (
	"fmt"
	"slices"
	"sort"
	"sync"
)

// Memory advice: what the program says about a range of its memory — the
// Go counterpart of cudaMemAdvise and GMEM's hmadvise. Advice belongs to
// the address range, not to a device, so it lives in one process-wide
// store beside the page table, which every device that migrates pages
// consults when it services a fault (and, for accessed-by, when it walks
// its page table). Advice is page granular: a range is widened to whole
// pages. Its lock is a leaf: nothing else is taken while it is held.

// Location is where advice says a range should live: LocationNone,
// LocationHost, or a device (Device.Location).
type Location int

const (
	// LocationNone: no preference.
	LocationNone Location = 0
	// LocationHost: host memory.
	LocationHost Location = -1
)

// Location is the device as a preferred location (its slot).
func (m *DevMem) Location() Location { return Location(m.ID()) }

func (l Location) String() string {
	switch {
	case l == LocationNone:
		return "none"
	case l == LocationHost:
		return "host"
	}
	return fmt.Sprintf("device %d", int(l))
}

// Advice is the advice in force on a page.
type Advice struct {
	// Preferred is the preferred location (cudaMemAdviseSetPreferredLocation):
	// LocationHost keeps the pages on the host and devices map them remotely.
	Preferred Location
	// AccessedBy has bit i set when device slot i accesses the range
	// (cudaMemAdviseSetAccessedBy): that device keeps a mapping of the
	// host pages and takes no fault for them.
	AccessedBy uint64
	// ReadMostly (cudaMemAdviseSetReadMostly): reads get a read-only
	// duplicate on the device (with a read-duplicating policy); the host
	// page stays.
	ReadMostly bool
}

// IsZero reports whether no advice is set.
func (a Advice) IsZero() bool { return a == Advice{} }

// AccessedByDevice reports whether device slot id is in AccessedBy.
func (a Advice) AccessedByDevice(id int) bool { return id > 0 && id < 64 && a.AccessedBy&(1<<id) != 0 }

// AdviceRange is advice over [Start, End).
type AdviceRange struct {
	Start, End uintptr
	Advice     Advice
}

// AdviceKind is one change to a range's advice.
type AdviceKind uint8

const (
	SetPreferredLocation   AdviceKind = iota + 1 // Preferred = loc
	UnsetPreferredLocation                       // Preferred = LocationNone
	SetAccessedBy                                // add device loc to AccessedBy
	UnsetAccessedBy                              // remove device loc
	SetReadMostly                                // ReadMostly = true
	UnsetReadMostly                              // ReadMostly = false
)

var adviceKindNames = [...]string{
	SetPreferredLocation: "set-preferred-location", UnsetPreferredLocation: "unset-preferred-location",
	SetAccessedBy: "set-accessed-by", UnsetAccessedBy: "unset-accessed-by",
	SetReadMostly: "set-read-mostly", UnsetReadMostly: "unset-read-mostly",
}

func (k AdviceKind) String() string {
	if k >= 1 && int(k) < len(adviceKindNames) {
		return adviceKindNames[k]
	}
	return fmt.Sprintf("AdviceKind(%d)", uint8(k))
}

// adviceStore holds the process's advice: sorted, non-overlapping ranges
// with non-zero advice, adjacent equal ranges merged.
var adviceStore struct {
	mu      sync.Mutex // protects ranges and version
	ranges  []AdviceRange
	version uint64 // bumped by every change (launches cache lookups per version)
}

// Advise changes the advice of [start, start+length) (widened to pages).
// loc is the location for SetPreferredLocation (LocationHost or a device's
// Location) and the device for Set/UnsetAccessedBy; other kinds ignore it.
func Advise(start, length uintptr, kind AdviceKind, loc Location) error {
	if length == 0 {
		return fmt.Errorf("svm: advise %v at %#x: empty range: %w", kind, start, ErrInvalidValue)
	}
	var apply func(*Advice)
	switch kind {
	case SetPreferredLocation:
		if loc == LocationNone {
			return fmt.Errorf("svm: advise %v: no location given: %w", kind, ErrInvalidValue)
		}
		apply = func(a *Advice) { a.Preferred = loc }
	case UnsetPreferredLocation:
		apply = func(a *Advice) { a.Preferred = LocationNone }
	case SetAccessedBy, UnsetAccessedBy:
		if loc <= 0 || loc >= 64 {
			return fmt.Errorf("svm: advise %v: location %v is not a device: %w", kind, loc, ErrInvalidValue)
		}
		bit := uint64(1) << uint(loc)
		if kind == SetAccessedBy {
			apply = func(a *Advice) { a.AccessedBy |= bit }
		} else {
			apply = func(a *Advice) { a.AccessedBy &^= bit }
		}
	case SetReadMostly:
		apply = func(a *Advice) { a.ReadMostly = true }
	case UnsetReadMostly:
		apply = func(a *Advice) { a.ReadMostly = false }
	default:
		return fmt.Errorf("svm: advise: unknown kind %v: %w", kind, ErrInvalidValue)
	}
	s, e := pageRange(start, length)
	adviceStore.mu.Lock()
	defer adviceStore.mu.Unlock()
	adviceStore.ranges = updateRanges(adviceStore.ranges, s, e, apply)
	adviceStore.version++
	return nil
}

// updateRanges applies fn to the advice of every address of [s, e) in rs
// (sorted, disjoint, normalised) and returns the normalised list. Only the
// window of ranges that overlap or touch [s, e) is rebuilt (rebuildRanges)
// and spliced back, so setting advice costs O(log n) plus the window and the
// move of the ranges after it — not a sort of every boundary: a program
// advising tens of thousands of disjoint ranges one by one stays linear.
func updateRanges(rs []AdviceRange, s, e uintptr, fn func(*Advice)) []AdviceRange {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].End >= s })
	j := sort.Search(len(rs), func(j int) bool { return rs[j].Start > e })
	if j < i {
		j = i
	}
	win := rebuildRanges(rs[i:j], s, e, fn)
	return slices.Replace(rs, i, j, win...)
}

// rebuildRanges is updateRanges over a small list: the old boundaries and
// s, e cut the address space into pieces; each piece keeps its advice or,
// inside [s, e), gets fn applied; zero pieces are dropped and equal
// neighbours merged. The result is a fresh slice.
func rebuildRanges(rs []AdviceRange, s, e uintptr, fn func(*Advice)) []AdviceRange {
	cuts := []uintptr{s, e}
	for _, r := range rs {
		cuts = append(cuts, r.Start, r.End)
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i] < cuts[j] })
	old := AdviceSnapshot{ranges: rs}
	var out []AdviceRange
	for i := 0; i+1 < len(cuts); i++ {
		lo, hi := cuts[i], cuts[i+1]
		if lo == hi {
			continue
		}
		a := old.At(lo)
		if lo >= s && hi <= e {
			fn(&a)
		}
		if a.IsZero() {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End == lo && out[n-1].Advice == a {
			out[n-1].End = hi
			continue
		}
		out = append(out, AdviceRange{lo, hi, a})
	}
	return out
}

// RangeAdvice returns the advice over [start, start+length): the pieces
// that carry advice, clipped to the range, in address order (the range
// attribute query, cudaMemRangeGetAttributes).
func RangeAdvice(start, length uintptr) []AdviceRange {
	s, e := pageRange(start, length)
	adviceStore.mu.Lock()
	defer adviceStore.mu.Unlock()
	var out []AdviceRange
	for _, r := range adviceStore.ranges {
		if r.End <= s || r.Start >= e {
			continue
		}
		out = append(out, AdviceRange{max(r.Start, s), min(r.End, e), r.Advice})
	}
	return out
}

// ClearAdvice removes all advice from [start, start+length).
func ClearAdvice(start, length uintptr) {
	s, e := pageRange(start, length)
	adviceStore.mu.Lock()
	defer adviceStore.mu.Unlock()
	adviceStore.ranges = updateRanges(adviceStore.ranges, s, e, func(a *Advice) { *a = Advice{} })
	adviceStore.version++
}

// AdviceSnapshot is a device's copy of the advice, refreshed at the start
// of every fault round (so the walk and the policy read it without locks).
// The zero value is empty; Refresh fills it.
type AdviceSnapshot struct {
	version uint64
	ranges  []AdviceRange
}

// Refresh brings the copy up to date (a no-op when nothing changed).
func (a *AdviceSnapshot) Refresh() {
	adviceStore.mu.Lock()
	defer adviceStore.mu.Unlock()
	if a.ranges != nil && a.version == adviceStore.version {
		return
	}
	a.version = adviceStore.version
	a.ranges = append(a.ranges[:0:0], adviceStore.ranges...)
}

// At returns the advice on page.
func (a *AdviceSnapshot) At(page uintptr) Advice {
	rs := a.ranges
	i := sort.Search(len(rs), func(i int) bool { return rs[i].End > page })
	if i < len(rs) && rs[i].Start <= page {
		return rs[i].Advice
	}
	return Advice{}
}

// ForgetDeviceAdvice removes a closed device from all advice: its slot
// will be reused by the next device attached, which must not inherit it.
func ForgetDeviceAdvice(loc Location) {
	if loc <= 0 || loc >= 64 {
		return
	}
	adviceStore.mu.Lock()
	defer adviceStore.mu.Unlock()
	changed := false
	for i := range adviceStore.ranges {
		a := &adviceStore.ranges[i].Advice
		if a.Preferred == loc || a.AccessedByDevice(int(loc)) {
			if a.Preferred == loc {
				a.Preferred = LocationNone
			}
			a.AccessedBy &^= 1 << uint(loc)
			changed = true
		}
	}
	if changed {
		// Re-normalise (drop pieces left without advice, merge equals).
		if len(adviceStore.ranges) > 0 {
			lo, hi := adviceStore.ranges[0].Start, adviceStore.ranges[len(adviceStore.ranges)-1].End
			adviceStore.ranges = updateRanges(adviceStore.ranges, lo, hi, func(*Advice) {})
		}
		adviceStore.version++
	}
}

// pageRange widens [start, start+length) to whole pages.
func pageRange(start, length uintptr) (uintptr, uintptr) {
	const mask = PageSize - 1
	return start &^ mask, (start + length + mask) &^ mask
}
