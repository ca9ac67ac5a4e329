package svm

import (
	"fmt"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// MigrateToHost brings every device-resident page of [start, start+length)
// home (explicit migration; no CPU fault is taken). Returns pages moved.
func (s *Space) MigrateToHost(start, length uintptr) (int, error) {
	if s.degraded != nil || length == 0 {
		return 0, nil // nothing can be on a device
	}
	if start+length < start || start+length > UserSpaceEnd {
		return 0, &FaultError{Device: "host", Addr: start, Reason: fmt.Sprintf("migration of %d bytes at %#x runs past the end of the user address space", length, start), Err: ErrDeviceFault}
	}
	first := start &^ (PageSize - 1)
	end := (start + length + PageSize - 1) &^ (PageSize - 1)
	// Only the pages that are not on the host need the service thread: skip
	// to them through the page table, so a huge range costs what it holds,
	// and hand them over in bounded requests.
	const maxRequest = 4096
	moved := 0
	for a := first; a < end; {
		next, ok := uffd.NextNonHost(a)
		if !ok || next >= end {
			break
		}
		n := min((end-next)/PageSize, maxRequest)
		m, err := uffd.MigrateOut(next, int(n))
		moved += m
		if err != nil {
			return moved, fmt.Errorf("svm: migrate %#x+%d to host: pages from %#x: %w", start, length, next, err)
		}
		a = next + n*PageSize
	}
	s.invalidateAll(first, end)
	return moved, nil
}

// Evict frees d's frames holding pages of [start, start+npages*PageSize) —
// only d's: pages of other devices and pages in transit are left alone.
// Resident pages are written back with their data, so the CPU side stays
// valid; read duplicates are dropped (the host copy is current). Used for
// eviction under oversubscription. Returns the pages written back and the
// duplicates dropped. Call only while none of d's accesses is in flight.
func (d *DevMem) Evict(start uintptr, npages int) (written, dropped int, err error) {
	s := d.space
	if s.degraded != nil || d.nframes == 0 {
		return 0, 0, nil
	}
	start &^= PageSize - 1
	for i := 0; i < npages; {
		if !d.holds(uffd.Load(start + uintptr(i)*PageSize)) {
			i++
			continue
		}
		j := i + 1
		for j < npages && j-i < uffd.MaxRun && d.holds(uffd.Load(start+uintptr(j)*PageSize)) {
			j++
		}
		var words [uffd.MaxRun]uint64
		dropped += countState(start+uintptr(i)*PageSize, words[:j-i], d.id, StateDup)
		n, err := uffd.MigrateOut(start+uintptr(i)*PageSize, j-i)
		written += n
		if err != nil {
			return written, dropped, fmt.Errorf("svm: evict %#x+%d pages from %s: %w", start+uintptr(i)*PageSize, j-i, d.dev.Name(), err)
		}
		i = j
	}
	if written+dropped > 0 {
		s.invalidateAll(start, start+uintptr(npages)*PageSize)
	}
	return written, dropped, nil
}
