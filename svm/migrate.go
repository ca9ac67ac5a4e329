package svm

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// MigrateResult counts what a migration did.
type MigrateResult struct {
	Moved    int // pages copied into device memory by this call
	Resident int // pages that were already on this device
	Missed   int // pages left elsewhere: busy for too long, or the address space changed
}

// noFrame marks a page a migration must not claim (C skips frames beyond
// the arena).
const noFrame = ^uint32(0)

// Migrate moves the pages of [start, start+npages*PageSize) into d's memory.
// start must be page aligned and the range inside one migratable mapping v
// (as returned by Resolve). Pages resident on another device are brought
// home first. Call only while none of d's accesses is in flight. Pages it
// could not move are counted in Missed; the caller decides what to do
// (a device maps them remotely).
func (d *DevMem) Migrate(v VMA, start uintptr, npages int) (MigrateResult, error) {
	return d.migrate(v, start, npages, false)
}

// Duplicate gives d read-only copies of the pages of [start,
// start+npages*PageSize) while the host keeps them (read duplication): the
// host pages stay present and are write-protected, so host reads cost
// nothing and a host write collapses the copies (the device frame is
// dropped; nothing is written back). Pages resident on a device (d or
// another) are brought home first; pages d already duplicates count as
// Resident. The rules of Migrate apply.
func (d *DevMem) Duplicate(v VMA, start uintptr, npages int) (MigrateResult, error) {
	return d.migrate(v, start, npages, true)
}

func (d *DevMem) migrate(v VMA, start uintptr, npages int, dup bool) (MigrateResult, error) {
	var r MigrateResult
	want := StateDevice
	if dup {
		want = StateDup
	}
	s := d.space
	if s.degraded != nil {
		return r, s.degraded
	}
	if d.nframes == 0 {
		return r, fmt.Errorf("svm: %s has no private memory: %w", d.dev.Name(), ErrNotSupported)
	}
	if d.released.Load() {
		return r, fmt.Errorf("svm: %s: device memory released: %w", d.dev.Name(), ErrClosed)
	}
	if start%PageSize != 0 || npages <= 0 || start < v.Start || start+uintptr(npages)*PageSize > v.End {
		return r, fmt.Errorf("svm: migrate %#x+%d pages: not page aligned or not inside %v", start, npages, v)
	}
	if !v.Migratable() {
		return r, fmt.Errorf("svm: migrate %#x: %s mapping is mirrored, not migrated: %w", start, v.Kind, ErrNotSupported)
	}
	// The caller looked at the mapping a moment ago; munmap or mremap may
	// have changed it since (their events are handled by now: Maps syncs).
	// Refuse a range that is not that mapping any more, rather than register
	// and protect whatever the address space holds there now.
	m, gen, err := s.verifiedMaps([2]uintptr{start, start + uintptr(npages)*PageSize})
	if err != nil {
		return r, err
	}
	end := start + uintptr(npages)*PageSize
	how := uffd.Move
	if dup {
		how = uffd.Duplicate
	}
	for a := start; a < end; {
		cur, ok := m.Find(a) // registration splits mappings: walk them
		if !ok {
			return r, fmt.Errorf("svm: migrate %#x: the mapping changed (now unmapped, was %v): %w", a, v, ErrDeviceFault)
		}
		if !cur.Migratable() {
			return r, fmt.Errorf("svm: migrate %#x: %v is mirrored, not migrated (was %v): %w", a, cur, v, ErrNotSupported)
		}
		if !cur.Write && how == uffd.Move {
			// UFFDIO_MOVE moves pages only between writable mappings: a
			// read-only one (or a range an mprotect made partly so) is
			// copied and zapped instead, as on kernels without the move.
			how = uffd.Copy
		}
		a = cur.End
	}
	// The thread that runs the migration must not own a page of its own
	// stack or TLS while it runs (it would fault on itself): stay on one
	// thread, and refuse the mappings holding them. Normally the migration
	// rule has classified them already (KindStack, KindSystem); this
	// catches a heuristic miss.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sp, tp := uffd.ThreadSelf()
	for _, a := range [...]uintptr{sp, tp} {
		if cur, ok := m.Find(a); ok && cur.Start < end && start < cur.End {
			return r, fmt.Errorf("svm: migrate %#x+%d pages: %v holds the migrating thread's stack or TLS: %w", start, npages, cur, ErrNotSupported)
		}
	}
	if err := s.register(start, npages); err != nil {
		return r, fmt.Errorf("svm: migrate %#x: %w", start, err)
	}
	// Buffers for every run: the loop allocates nothing per page.
	res := make([]uint8, uffd.MaxRun)
	frames := make([]uint32, uffd.MaxRun)
	got := make([]uint32, uffd.MaxRun)
	unused := make([]uint32, 0, uffd.MaxRun)
	words := make([]uint64, uffd.MaxRun)
	for done := 0; done < npages; done += uffd.MaxRun {
		n := min(npages-done, uffd.MaxRun)
		at := start + uintptr(done)*PageSize
		before := countState(at, words[:n], d.id, want)
		moved := 0
		for attempt := 0; attempt < 100; attempt++ {
			// Pages of other devices come home first; pages already here
			// get no frame.
			need := 0
			uffd.LoadRange(at, words[:n])
			for i := 0; i < n; i++ {
				w := words[i]
				frames[i] = noFrame
				switch st := uffd.State(w); {
				case st == want && uffd.Dev(w) == d.id:
					continue
				case st == StateDevice || st == StateDup:
					// Another device's page, a duplicate being made
					// exclusive, or a page of ours being duplicated: home
					// first (a duplicate just collapses, no copy).
					if _, err := uffd.MigrateOut(at+uintptr(i)*PageSize, 1); err != nil {
						return r, err
					}
				}
				frames[i] = 0 // placeholder: gets a real frame below
				need++
			}
			if need == 0 {
				break
			}
			if err := d.allocInto(got[:need]); err != nil {
				return r, err
			}
			for i, k := 0, 0; i < n; i++ {
				if frames[i] != noFrame {
					frames[i] = got[k]
					k++
				}
			}
			m, err := uffd.MigrateIn(at, d.id, frames[:n], res[:n], how, gen)
			unused = unused[:0]
			busy := false
			for i := 0; i < n; i++ {
				if frames[i] != noFrame && (err != nil || res[i] != uffd.Migrated) {
					unused = append(unused, frames[i])
				}
				busy = busy || (frames[i] != noFrame && res[i] == uffd.Busy)
			}
			d.Free(unused)
			if err != nil {
				return r, fmt.Errorf("svm: migrate %#x: %w", at, err)
			}
			moved += m
			if !busy {
				break
			}
			// Another thread owns some pages for a moment (a CPU fault being
			// serviced): let it finish.
			runtime.Gosched()
		}
		after := countState(at, words[:n], d.id, want)
		r.Moved += moved
		r.Resident += before
		r.Missed += n - after
	}
	return r, nil
}

// countState counts the pages of the run at at (len(words) pages, words
// its scratch space) in state on device id.
func countState(at uintptr, words []uint64, id, state int) int {
	uffd.LoadRange(at, words)
	c := 0
	for _, w := range words {
		if uffd.State(w) == state && uffd.Dev(w) == id {
			c++
		}
	}
	return c
}

// ExpectMigrations tells the fault-service thread that migrations are about
// to come and returns the function that says they have ended (call it
// exactly once). Until then the thread polls instead of sleeping, so a
// caller about to make several migrations in a row — a simulated GPU's fault
// round, one Migrate per batch — does not pay for waking it before each
// (on this project's 2-core VM a fresh-memory saxpy's fault rounds took
// about 8 % less host time). The thread keeps a CPU busy meanwhile: hold it
// across a burst of requests, not across the device's compute.
func ExpectMigrations() (done func()) {
	if Default().Degraded() != nil {
		return func() {}
	}
	uffd.ExpectWork(1)
	var once sync.Once
	return func() { once.Do(func() { uffd.ExpectWork(-1) }) }
}
