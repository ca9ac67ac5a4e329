package simgpu

import (
	"fmt"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/svmrt/svmrt/svm"
)

// The fault service: one fault round's faults, split into batches, each
// checked (classify) and placed as the policy says — migrated
// (migraterun.go) with the prefetcher's picks (prefetch.go), mapped
// remotely, or read-duplicated.

// service resolves one round's faults, batch by batch. Its migrations of
// host pages are coalesced (coalesce.go): all are made by the time it
// returns.
func (l *launch) service(faults []Fault) (err error) {
	d := l.dev
	l.coalesce = true
	defer func() {
		l.coalesce = false
		if ferr := l.flushPending(); ferr != nil && err == nil {
			err = ferr
		}
	}()
	cost := d.cfg.cost
	d.faults.Add(int64(len(faults)))
	d.newRound() // each fault round of a launch is a round
	// mprotect has no event: the mappings of the faulting pages are checked
	// against the kernel's at every fault round.
	maps, err := d.space.VerifiedMaps(faultRanges(faults)...)
	if err != nil {
		return err
	}
	l.maps = maps
	var launchErr error
	for _, b := range Batches(faults, cost.FaultBatchMax, cost.PageSize) {
		d.batches.Add(1)
		// The clock is read only for the trace: off, this path costs the
		// nil check.
		var start time.Duration
		if d.tr != nil {
			start = d.clock.Now()
		}
		bad, err := l.serviceBatch(maps, b, faults)
		if d.tr != nil {
			d.tr.batch(d, "fault batch", b, start, d.clock.Now())
		}
		if err != nil {
			return err
		}
		if launchErr == nil {
			launchErr = bad
		}
	}
	return launchErr
}

// serviceBatch resolves one deduplicated batch. bad is the first error of
// pages that could not be resolved (now in errPages: they abort only the
// work-items touching them); err is fatal for the launch.
//
// Every page the batch cannot use yet is checked (classify), then placed:
// pages of mappings that cannot migrate (shared, file-backed, degraded
// mode) are mapped remotely; the others go where the policy says —
// migrated (with the prefetcher's picks from their VA blocks), mapped
// remotely, or duplicated read-only. Migrations take device memory chunk
// by chunk, evicting when it is full.
func (l *launch) serviceBatch(maps *svm.Maps, b Batch, faults []Fault) (bad, err error) {
	d := l.dev
	cost := d.cfg.cost
	l.advice.Refresh()
	l.now = d.clock.Now()
	var launchErr error
	fail := func(page uint64, e error) {
		l.errPages[page] = e
		if launchErr == nil {
			launchErr = e
		}
	}
	// A page of this batch still pending from an earlier one is read
	// below as it will be once moved.
	if n := len(b.Pages); n > 0 && l.pending.overlaps(b.Pages[0].Page, b.Pages[n-1].Page) {
		if err := l.flushPending(); err != nil {
			return nil, err
		}
	}
	var serviced []uint64
	var migrate, duplicate []uint64 // demand pages, ascending
	for _, pf := range b.Pages {
		page := pf.Page
		if _, bad := l.errPages[page]; bad {
			continue
		}
		if e := l.classify(maps, pf, firstAddr(faults, page)); e != nil {
			fail(page, e)
			continue
		}
		v, _ := maps.Find(uintptr(page))
		word := atomic.LoadUint64(svm.PTE(uintptr(page), true))
		if svm.WordDevice(word) == d.mem.ID() && (svm.WordState(word) == svm.StateDevice || svm.WordState(word) == svm.StateDup && !pf.Write) {
			continue // replayed after an earlier batch brought it in
		}
		serviced = append(serviced, page)
		place := MapRemote
		if v.Migratable() && d.space.Degraded() == nil {
			adv := l.advice.At(uintptr(page))
			verdict := d.cfg.policy.Place(FaultInfo{
				Page: page, Write: pf.Write, Advice: adv,
				AccessedByMe:  adv.AccessedByDevice(d.mem.ID()),
				PreferredHere: adv.Preferred == d.mem.Location(),
				OnOtherDevice: svm.WordState(word) == svm.StateDevice,
				Thrash:        d.noteThrash(page),
				Now:           d.clock.Now(),
			})
			place = verdict.Place
			if verdict.Throttle || verdict.PinFor > 0 {
				h := d.ms.hist[page] // exists: only a page seen before thrashes
				if h != nil {
					if verdict.Throttle {
						h.Throttles++
						d.throttles.Add(1)
					}
					if verdict.PinFor > 0 {
						h.PinnedUntil = d.clock.Now() + verdict.PinFor
						d.pins.Add(1)
					}
				}
			}
			if place == Duplicate && pf.Write {
				place = Migrate // a duplicate is read-only: a write migrates
			}
		}
		switch place {
		case Migrate:
			migrate = append(migrate, page)
		case Duplicate:
			duplicate = append(duplicate, page)
		default:
			if err := l.mapRemote(page, v); err != nil {
				return nil, err
			}
		}
	}
	d.clock.Charge(TimeFaultService, cost.BatchServiceTime(serviced))
	if err := l.moveRuns(maps, duplicate, true, fail); err != nil {
		return nil, err
	}
	if len(migrate) > 0 && prefetches(d.cfg.policy) {
		// The prefetcher reads the blocks' residency.
		if err := l.flushPending(); err != nil {
			return nil, err
		}
	}
	prefetched := l.prefetch(maps, migrate)
	migrate = append(migrate, prefetched...)
	slices.Sort(migrate)
	if err := l.moveRuns(maps, migrate, false, fail); err != nil {
		return nil, err
	}
	if len(prefetched) > 0 {
		if err := l.flushPending(); err != nil {
			return nil, err
		}
	}
	for _, p := range prefetched {
		if w := atomic.LoadUint64(svm.PTE(uintptr(p), true)); svm.WordState(w) == svm.StateDevice && svm.WordDevice(w) == d.mem.ID() {
			d.pagesPrefetched.Add(1)
		}
	}
	return launchErr, nil
}

// mapRemote maps a host page for this launch (a page on a device comes
// home first).
func (l *launch) mapRemote(page uint64, v svm.VMA) error {
	d := l.dev
	word := atomic.LoadUint64(svm.PTE(uintptr(page), true))
	if svm.WordState(word) != svm.StateHost {
		if err := l.flushPending(); err != nil {
			return err
		}
		n, err := d.space.MigrateToHost(uintptr(page), svm.PageSize)
		if err != nil {
			return err
		}
		d.clock.Charge(TimeTransferD2H, d.cfg.cost.TransferTime(n*svm.PageSize))
	}
	l.setRemote(page, remoteMap{writable: v.Write || d.cfg.bugs.ignoreProtection()})
	return nil
}

// classify checks that a faulting access is legal; the error names the
// address and the reason.
func (l *launch) classify(maps *svm.Maps, pf PageFault, addr uint64) error {
	v, ok := maps.Find(uintptr(pf.Page))
	fe := &svm.FaultError{Device: l.dev.Name(), Addr: uintptr(addr), Write: pf.Write, Err: svm.ErrDeviceFault}
	switch {
	case !ok:
		fe.Reason = "address not mapped"
	case v.Kind == svm.KindDeviceMemory:
		fe.Reason = "address is device memory, not a host address"
	case v.Kind == svm.KindSpecial:
		fe.Reason = fmt.Sprintf("%s mapping is not device accessible", v.Path)
	case !v.Read:
		fe.Reason = "mapping is PROT_NONE"
	case pf.Write && !v.Write && !l.dev.cfg.bugs.ignoreProtection():
		fe.Reason = "mapping is read-only"
		fe.Err = svm.ErrPermission
	default:
		return nil
	}
	return fe
}

// firstAddr returns the lowest raw faulting address on page (faults are
// sorted by address), for error messages.
func firstAddr(faults []Fault, page uint64) uint64 {
	i := sort.Search(len(faults), func(i int) bool { return faults[i].Addr >= page })
	if i < len(faults) && faults[i].Addr < page+svm.PageSize {
		return faults[i].Addr
	}
	return page
}
