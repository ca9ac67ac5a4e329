package simgpu

import (
	"errors"
	"sync/atomic"

	"github.com/svmrt/svmrt/svm"
)

// Migration runs: moving one contiguous run of pages (inside one mapping
// and one VA block) into device memory, taking the block's chunk and
// evicting when the device is full (residency.go). moveRuns, which splits
// pages into runs, is in residency.go.

// remoteIfHome maps page p of v remotely if its word w says the host has
// it: a page a migration left there (busy, the address space changed, no
// room). It reports whether it did.
func (l *launch) remoteIfHome(p, w uint64, v svm.VMA) bool {
	if svm.WordState(w) != svm.StateHost {
		return false
	}
	l.setRemote(p, remoteMap{writable: v.Write})
	return true
}

// migrateRun migrates pages (contiguous, ascending, inside v and one VA
// block) into device memory — or duplicates them, with dup — taking the
// block's chunk first. Pages that would not move and are on the host are
// mapped remotely so the work-items make progress. A full device evicts
// (if the policy does) a chunk not used in this round; when every chunk
// is in use by this round, the pages are used remotely instead. Without
// eviction a full device fails with ErrOutOfDeviceMemory.
func (l *launch) migrateRun(v svm.VMA, pages []uint64, dup bool) error {
	d := l.dev
	cost := d.cfg.cost
	evicts := d.cfg.policy.Evicts()
	block := d.blockOf(pages[0])
	ours := func(p uint64) bool {
		w := atomic.LoadUint64(svm.PTE(uintptr(p), true))
		return svm.WordDevice(w) == d.mem.ID() && (svm.WordState(w) == svm.StateDevice || svm.WordState(w) == svm.StateDup)
	}
	// Pages on other devices move over the peer link, not through the host.
	onPeer, had := make([]bool, len(pages)), make([]bool, len(pages))
	allHost := true
	for i, p := range pages {
		w := atomic.LoadUint64(svm.PTE(uintptr(p), true))
		onPeer[i] = svm.WordState(w) == svm.StateDevice && svm.WordDevice(w) != d.mem.ID()
		had[i] = ours(p)
		allHost = allHost && svm.WordState(w) == svm.StateHost
	}
	room := true
	if evicts {
		if d.wouldEvict(block) {
			// An eviction reads its victims' residency and writes them back.
			if err := l.flushPending(); err != nil {
				return err
			}
		}
		ok, err := d.useChunk(block)
		if err != nil {
			return err
		}
		room = ok
	}
	if room && !dup && allHost {
		// Decided and charged now, moved with the round's next runs
		// (coalesce.go).
		deferred, err := l.deferRun(v, pages)
		if err != nil {
			return err
		}
		if deferred {
			d.clock.Charge(TimeTransferH2D, cost.TransferTime(len(pages)*svm.PageSize))
			return nil
		}
	} else if err := l.flushPending(); err != nil {
		return err
	}
	for room {
		mig := d.mem.Migrate
		if dup {
			mig = d.mem.Duplicate
		}
		d.hostMigrations.Add(1)
		_, err := mig(v, uintptr(pages[0]), len(pages))
		if err == nil {
			break
		}
		if !errors.Is(err, svm.ErrOutOfDeviceMemory) || !evicts {
			return err
		}
		// Frames ran out before chunks did (device memory that is not a
		// whole number of chunks): evict another chunk and retry; with
		// nothing left to evict, the rest is used remotely.
		ok, eerr := d.evictOne(block)
		if eerr != nil {
			return eerr
		}
		room = ok
	}
	var h2d, peer int
	for i, p := range pages {
		if ours(p) && !had[i] {
			if onPeer[i] {
				peer++
			} else {
				h2d++
			}
		}
	}
	d.clock.Charge(TimeTransferH2D, cost.TransferTime(h2d*svm.PageSize))
	d.clock.Charge(TimeTransferPeer, cost.PeerTransferTime(peer*svm.PageSize))
	for i, p := range pages {
		w := atomic.LoadUint64(svm.PTE(uintptr(p), true))
		switch {
		case l.remoteIfHome(p, w, v):
			// Busy for too long, the address space changed under the
			// migration, or no room: mapped so the work-items progress.
		case !room && !had[i] && !ours(p):
			// No room, and the page is on another device: bring it home and
			// map it (a copy or fill is one round; waiting for the next
			// round would never end).
			if err := l.mapRemote(p, v); err != nil {
				return err
			}
		}
		// Otherwise (a migration in flight elsewhere) it faults again.
	}
	return nil
}
