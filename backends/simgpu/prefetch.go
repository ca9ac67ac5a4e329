package simgpu

import (
	"sync/atomic"

	"github.com/svmrt/svmrt/svm"
)

// The prefetcher's side of the fault service: which pages the policy's
// prefetcher adds to a batch's demand migrations.

// prefetch returns the pages the policy's prefetcher adds to a batch's
// demand migrations (ascending, demand sorted ascending). Only pages inside
// the launch's named argument ranges are eligible — a mapping may hold
// other threads' stacks, which must not move — and only host pages of
// migratable mappings that are not pinned or advised elsewhere.
func (l *launch) prefetch(maps *svm.Maps, demand []uint64) []uint64 {
	d := l.dev
	if len(demand) == 0 || l.a == nil || !prefetches(d.cfg.policy) {
		return nil
	}
	bp := d.blockPages()
	var out []uint64
	for i := 0; i < len(demand); {
		block := d.blockOf(demand[i])
		b := BlockState{BigPage: max(1, d.cfg.cost.BigPageSize/svm.PageSize), Faulted: make([]bool, bp), Resident: make([]bool, bp), Eligible: make([]bool, bp), Thrashing: make([]bool, bp)}
		for ; i < len(demand) && d.blockOf(demand[i]) == block; i++ {
			k := (demand[i] - block) / svm.PageSize
			b.Faulted[k] = true
			if h := d.ms.hist[demand[i]]; h != nil && h.Thrashing(d.thrashThreshold()) {
				b.Thrashing[k] = true
			}
		}
		any := false
		for k := 0; k < bp; k++ {
			page := block + uint64(k)*svm.PageSize
			w := atomic.LoadUint64(svm.PTE(uintptr(page), true))
			if svm.WordState(w) == svm.StateDevice && svm.WordDevice(w) == d.mem.ID() {
				b.Resident[k] = true
				continue
			}
			if b.Faulted[k] || svm.WordState(w) != svm.StateHost || !l.named(uintptr(page)) {
				continue
			}
			if v, ok := maps.Find(uintptr(page)); !ok || !v.Migratable() {
				continue
			}
			if adv := l.advice.At(uintptr(page)); adv.Preferred == svm.LocationHost || adv.ReadMostly {
				continue
			}
			if d.pinned(page, d.clock.Now()) {
				continue
			}
			if _, remote := l.remote[page]; remote {
				continue
			}
			b.Eligible[k] = true
			any = true
		}
		if !any {
			continue
		}
		for _, k := range d.cfg.policy.Prefetch(b) {
			if k >= 0 && k < bp && b.Eligible[k] {
				out = append(out, block+uint64(k)*svm.PageSize)
			}
		}
	}
	return out
}

// named reports whether addr is inside a range the launch's arguments name.
func (l *launch) named(addr uintptr) bool {
	for _, r := range l.a.Ranges {
		if r.Len > 0 && addr >= r.Start&^pageMask && addr < r.End() {
			return true
		}
	}
	return false
}
