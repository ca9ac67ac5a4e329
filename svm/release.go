package svm

import (
	"fmt"
	"runtime"
	"syscall"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// Release brings every page d holds home, with its data, and frees the
// device slot and arena. The device must not run kernels afterwards.
//
// It waits out pages in transit: a page the fault-service thread is copying
// home, or a migration in flight, still names the device; the slot is only
// detached (and the arena unmapped) once no word in the page table does.
func (d *DevMem) Release() error {
	if !d.released.CompareAndSwap(false, true) {
		return nil
	}
	s := d.space
	_, firstErr := d.bringHome("release")
	s.mu.Lock()
	s.devices[d.id] = nil
	s.maps = nil
	s.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.arena != nil {
		uffd.DetachDevice(d.id)
		if err := syscall.Munmap(d.arena); err != nil && firstErr == nil {
			firstErr = err
		}
		d.arena = nil
	}
	return firstErr
}

// ReleaseAll brings every page d holds home, with its data, and keeps the
// device attached: its frames are free afterwards and its next accesses
// fault the pages back. It returns how many pages came home (read
// duplicates are dropped, not counted: the host copy is current). Call
// only while none of d's accesses is in flight.
func (d *DevMem) ReleaseAll() (int, error) {
	if d.released.Load() {
		return 0, fmt.Errorf("svm: release %s: device memory released: %w", d.dev.Name(), ErrClosed)
	}
	return d.bringHome("release")
}

// bringHome migrates every page that names d home, in runs, and waits out
// pages in transit: a page the fault-service thread is copying home, or a
// migration in flight, still names the device. Devices' translations of
// what moved are invalidated. It returns the pages written back.
func (d *DevMem) bringHome(what string) (int, error) {
	s := d.space
	var firstErr error
	moved := 0
	if d.nframes > 0 && s.degraded == nil {
		for pass := 0; ; pass++ {
			busy := 0
			var runs [][2]uintptr // [start, pages) of contiguous device pages
			err := uffd.Walk(func(addr uintptr, w uint64) {
				if uffd.Dev(w) != d.id || uffd.State(w) == StateFilling {
					return
				}
				busy++
				if uffd.State(w) != StateDevice && uffd.State(w) != StateDup {
					return // in transit: look again on the next pass
				}
				if n := len(runs); n > 0 && runs[n-1][0]+runs[n-1][1]*PageSize == addr {
					runs[n-1][1]++
				} else {
					runs = append(runs, [2]uintptr{addr, 1})
				}
			})
			if err != nil && firstErr == nil {
				firstErr = err
			}
			for _, r := range runs {
				n, err := uffd.MigrateOut(r[0], int(r[1]))
				moved += n
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("svm: %s %s: bring %#x home: %w", what, d.dev.Name(), r[0], err)
				}
				s.invalidateAll(r[0], r[0]+r[1]*PageSize)
			}
			if busy == 0 {
				break
			}
			if pass == 10000 {
				if firstErr == nil {
					firstErr = fmt.Errorf("svm: %s %s: %d pages would not come home", what, d.dev.Name(), busy)
				}
				break
			}
			if pass > 0 {
				runtime.Gosched()
			}
		}
	}
	return moved, firstErr
}
