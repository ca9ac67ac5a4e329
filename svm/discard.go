package svm

import (
	"fmt"
	"syscall"
)

// Discard declares the content of the whole pages inside [start,
// start+length) no longer needed: device copies are dropped without being
// written back and host pages are released (MADV_DONTNEED), so the pages
// read as zero afterwards. Partial pages at either end are left alone.
// Returns the number of pages discarded. (A page that a migration is
// zapping at that very moment keeps the migrated copy — the known gap of
// user discards racing a migration of the same page, see drop_range.)
//
// The memory must hold no Go pointers (the garbage collector is not told
// that they vanish): use it on numeric data, as for Memfill.
func (s *Space) Discard(start, length uintptr) (int, error) {
	first := (start + PageSize - 1) &^ (PageSize - 1)
	end := (start + length) &^ (PageSize - 1)
	if end <= first {
		return 0, nil
	}
	// Only memory a device may write can be discarded: a count beyond the
	// buffer must not zap its neighbours (the Go heap, libc's data).
	m, err := s.Maps(true)
	if err != nil {
		return 0, err
	}
	if err := m.CheckRange("host", first, end-first, true); err != nil {
		return 0, fmt.Errorf("svm: discard: %w", err)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, first, end-first, syscall.MADV_DONTNEED); e != 0 {
		return 0, fmt.Errorf("svm: discard %#x..%#x: madvise: %w", first, end, e)
	}
	// The REMOVE event has been read by the service thread when madvise
	// returns; Sync waits until it has been applied (device copies dropped).
	s.Sync()
	s.invalidateAll(first, end)
	return int((end - first) / PageSize), nil
}
