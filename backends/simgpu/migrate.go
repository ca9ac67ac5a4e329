package simgpu

import (
	"fmt"
	"time"

	"github.com/svmrt/svmrt/svm"
)

// Explicit migration: Device.Prefetch and Device.Migrate, outside any
// launch, through the same chunk accounting as faults.

// Prefetch migrates the migratable pages of [start, start+length) into the
// device's memory ahead of use (cudaMemPrefetchAsync, clEnqueueSVMMigrateMem).
// Pages of mappings that cannot migrate are skipped: they are mapped on
// first touch. The transfer is charged to the simulated clock.
func (d *Device) Prefetch(start, length uintptr) error {
	if d.cfg.rec != nil {
		d.cfg.rec.notePrefetch(d, start, length)
	}
	return d.migrate(start, length, false)
}

// Migrate moves [start, start+length) into the device's memory now and
// returns how many pages moved, following Linux's migrate_vma: a hole or a
// PROT_NONE mapping anywhere in the range is ErrDeviceFault naming the
// address, before anything moves; private anonymous pages migrate whatever
// their protection (read-only ones stay read-only here); pages of mappings
// that are mirrored, not migrated (shared, file-backed, the stack and the
// process's machinery) stay in host memory while the rest migrates, and are
// reported by a *svm.LeftInPlaceError (ErrNotSupported) beside the count.
func (d *Device) Migrate(start, length uintptr) (int, error) {
	if d.cfg.rec != nil {
		d.cfg.rec.notePrefetch(d, start, length) // the same placement, replayed as a prefetch
	}
	_, before, _, _ := d.mem.Counters()
	err := d.migrate(start, length, true)
	_, after, _, _ := d.mem.Counters()
	return int(after - before), err
}

func (d *Device) migrate(start, length uintptr, strict bool) error {
	if err := d.space.Degraded(); err != nil {
		return err
	}
	if length == 0 {
		return nil
	}
	if start+length < start || start+length > svm.UserSpaceEnd {
		return &svm.FaultError{Device: d.Name(), Addr: start, Reason: fmt.Sprintf("migration of %d bytes at %#x runs past the end of the user address space", length, start), Err: svm.ErrDeviceFault}
	}
	first := start &^ pageMask
	end := (start + length + pageMask) &^ pageMask
	// One device operation: frames move while none of our accesses is in
	// flight, through the same chunk accounting as faults (a prefetch
	// larger than the device evicts, and what it brings in can be evicted).
	what := "prefetch"
	if strict {
		what = "migrate"
	}
	return d.exclusive(what, func(l *launch, _ time.Time) error {
		maps := l.maps
		// Mapping by mapping, never page by page: a range of terabytes
		// over holes costs what the address space holds there.
		for a := first; strict && a < end; {
			v, ok := maps.Find(a)
			if !ok {
				return &svm.FaultError{Device: d.Name(), Addr: a, Reason: "migration of an unmapped address", Err: svm.ErrDeviceFault}
			}
			if !v.Read {
				return &svm.FaultError{Device: d.Name(), Addr: a, Reason: "migration of a PROT_NONE mapping", Err: svm.ErrDeviceFault}
			}
			a = v.End
		}
		var pages []uint64
		var left *svm.LeftInPlaceError
		for a := first; a < end; {
			v, ok := maps.Find(a)
			if !ok {
				return &svm.FaultError{Device: d.Name(), Addr: a, Reason: "migration of an unmapped address", Err: svm.ErrDeviceFault}
			}
			stop := min(end, v.End)
			if v.Migratable() {
				for p := a; p < stop; p += svm.PageSize {
					pages = append(pages, uint64(p))
				}
			} else if strict {
				if left == nil {
					left = &svm.LeftInPlaceError{Device: d.Name()}
				}
				clipped := v
				clipped.Start, clipped.End = a, stop
				left.Pages += int((stop - a) / svm.PageSize)
				left.Mappings = append(left.Mappings, clipped)
			}
			a = stop
		}
		// Blocks one by one: each is its own round, so a range larger than
		// the device evicts its own first blocks as it goes (LRU).
		var firstErr error
		for i := 0; i < len(pages); {
			j := i + 1
			for j < len(pages) && d.blockOf(pages[j]) == d.blockOf(pages[i]) {
				j++
			}
			d.newRound() // each block of an explicit migration is a round
			if err := l.moveRuns(maps, pages[i:j], false, func(_ uint64, err error) {
				if firstErr == nil {
					firstErr = err
				}
			}); err != nil {
				return err
			}
			i = j
		}
		if firstErr == nil && left != nil {
			return left
		}
		return firstErr
	})
}
