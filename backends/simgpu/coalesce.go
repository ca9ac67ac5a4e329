package simgpu

import (
	"fmt"
	"sync/atomic"

	"github.com/svmrt/svmrt/svm"
)

// Coalesced migrations: a fault round's batches are serviced one after the
// other, each deciding, charging and migrating its pages, and on the host
// each migration is a hand-off to svm's fault-service thread whose move
// shoots down the other CPUs' TLBs. On this project's 2-core VM that costs
// about as much for one page as for thirty-two (`go test -bench
// MigrateRun ./svm/`, medians of 3: 59 µs per call for 1 page, 61 for 8,
// 79 for 32, 84 for 64), and a fresh-memory saxpy's round is four batches
// of eight consecutive pages. So within a round, runs of host pages that
// continue the previous run are decided and charged as before but moved
// together, once, when something needs to see them moved: a run that does
// not continue them, a page of theirs in a later batch, a prefetch
// (which reads the blocks' residency), an eviction or any other migration,
// and the end of the round.
//
// What every batch sees is what it saw before — the page words of its own
// pages (none of them pending), the clock (each run is charged when it is
// decided, for all its pages, as a run of host pages was), the chunks —
// so the simulated counters and time are the same. Only a run whose pages
// were all on the host and for which the device has frames is deferred
// (migrateRun decides the first, deferRun the second): it
// moves whole unless another host thread takes one of its pages meanwhile,
// and such a page is then used remotely as before; its transfer stays
// charged (it was on its way when the CPU took it).

// coalesceRounds turns the coalescing on (tests turn it off to compare).
var coalesceRounds = true

// pendingMove is the coalesced migration of a round: pages [start,
// start+n pages) of mapping v, not moved yet.
type pendingMove struct {
	v     svm.VMA
	start uint64
	n     int
}

func (p *pendingMove) end() uint64 { return p.start + uint64(p.n)*svm.PageSize }

// overlaps reports whether any page in [lo, hi] (page addresses) is pending.
func (p *pendingMove) overlaps(lo, hi uint64) bool {
	return p.n > 0 && lo < p.end() && hi >= p.start
}

// deferRun takes a decided run of host pages (ascending, consecutive,
// inside v; the caller has read their words) into the round's pending
// migration if it can wait: the round coalesces and the device has frames
// for it and for what is pending already. A run that does not continue
// the pending pages moves them first. It reports whether the run was
// taken.
func (l *launch) deferRun(v svm.VMA, pages []uint64) (bool, error) {
	if !l.coalesce || !coalesceRounds {
		return false, nil
	}
	pm := &l.pending
	if pm.n > 0 && (pm.v.Start != v.Start || pages[0] != pm.end()) {
		if err := l.flushPending(); err != nil {
			return false, err
		}
	}
	if !l.dev.mem.CanAlloc(pm.n + len(pages)) {
		return false, l.flushPending()
	}
	if pm.n == 0 {
		pm.v, pm.start = v, pages[0]
	}
	pm.n += len(pages)
	return true, nil
}

// flushPending makes the round's pending migration. Pages that did not move
// (a host thread took them meanwhile) are used remotely, as a run's pages
// that stayed on the host are.
func (l *launch) flushPending() error {
	pm := &l.pending
	if pm.n == 0 {
		return nil
	}
	v, start, n := pm.v, pm.start, pm.n
	pm.n = 0
	l.dev.hostMigrations.Add(1)
	if _, err := l.dev.mem.Migrate(v, uintptr(start), n); err != nil {
		return fmt.Errorf("simgpu: %s: migration of %d pages at %#x the fault round had planned: %w", l.dev.Name(), n, start, err)
	}
	for i := range n {
		p := start + uint64(i)*svm.PageSize
		l.remoteIfHome(p, atomic.LoadUint64(svm.PTE(uintptr(p), true)), v)
	}
	return nil
}
