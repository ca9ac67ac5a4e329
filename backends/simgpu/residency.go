package simgpu

import (
	"errors"
	"sort"
	"time"

	"github.com/svmrt/svmrt/svm"
)

// Residency: the device-memory side of the memory policies. Device memory
// is handed out in chunks of one VA block (2 MiB): the first page of a
// block that migrates in takes a chunk, and the chunk stays the block's
// until it is evicted (UVM's uvm_pmm_gpu chunks backing a va_block). When
// every chunk is taken, the policy picks a victim among the others and its
// resident pages are written back to host memory (svm.DevMem.Evict), so
// the CPU side stays valid. A chunk whose pages all went home by other
// means (CPU faults) is unused and is reclaimed before any used one. A
// chunk used in the current round (a launch's fault round, a whole copy
// or fill, one block of a prefetch) is never a victim: evicting it would only make
// the round fault it back; when nothing else can go, the pages that do not
// fit are used remotely.
//
// The thrashing detector lives here too: per page, when it last faulted on
// the device and how many times in a row it came back within the lapse.
//
// All of it is protected by Device.launchMu and changed only from the
// fault service, with every work-item stalled.

// chunkRec is one allocated chunk.
type chunkRec struct {
	lastUse uint64 // memState.tick of the last round that used it (newRound)
}

// pageHist is the thrashing detector's record of one page.
type pageHist struct {
	lastFault time.Duration // simulated time of its last fault on this device
	ThrashInfo
}

// memState is a device's memory-management state that outlives launches.
type memState struct {
	chunks   map[uint64]*chunkRec // VA block address -> its chunk
	capacity int                  // chunks the device memory holds
	tick     uint64               // LRU clock: one tick per round (newRound)
	hist     map[uint64]*pageHist // page -> thrashing record

	// CPU faults (and the pages they brought home) already charged to the
	// clock (see chargeHostActivity).
	seenCPUFaults, seenFaultPages int64
	// cpuActivity is the simulated time at which the CPU last took pages
	// of this device back (the start of the charged CPU-fault service).
	cpuActivity time.Duration
	cpuSeen     bool
}

// blockPages is the number of pages in a VA block.
func (d *Device) blockPages() int { return d.cfg.cost.VABlockSize / svm.PageSize }

func (d *Device) blockOf(page uint64) uint64 { return page &^ uint64(d.cfg.cost.VABlockSize-1) }

// chargeHostActivity charges the clock for what the CPU did to this
// device's pages since the device's last operation: CPU faults that
// brought pages home (service cost, and one transfer per fault of the
// average window). Pages moved home for other reasons (evictions, explicit
// migrations, a peer taking them) were charged when they moved. launchMu
// held.
func (d *Device) chargeHostActivity() {
	cpuFaults, pages := d.mem.FaultCounters()
	ms := &d.ms
	faults := cpuFaults - ms.seenCPUFaults
	pages -= ms.seenFaultPages
	ms.seenCPUFaults, ms.seenFaultPages = cpuFaults, ms.seenFaultPages+pages
	if faults <= 0 {
		return
	}
	ms.cpuActivity, ms.cpuSeen = d.clock.Now(), true
	cost := d.cfg.cost
	d.clock.Charge(TimeCPUFault, time.Duration(faults)*cost.CPUFaultCost)
	if pages > 0 {
		per := int(pages * svm.PageSize / faults)
		d.clock.Charge(TimeTransferD2H, time.Duration(faults)*cost.TransferTime(per))
	}
}

// noteThrash updates the detector for a page that faults on this device
// while not usable here, and returns its record. A fault within the lapse
// of the page's previous fault is a quick return: the page left (the CPU or
// another device took it, or it was evicted, or a throttle kept it remote)
// and is wanted again at once. When the CPU took pages back in between, the
// CPU's activity counts as an event: the time from the last fault to it
// and from it to this fault must each be within the lapse. The policy's
// threshold of quick returns in a row (thrashThreshold) makes the page
// thrashing.
func (d *Device) noteThrash(page uint64) ThrashInfo {
	now := d.clock.Now()
	h := d.ms.hist[page]
	if h == nil {
		d.ms.hist[page] = &pageHist{lastFault: now}
		return ThrashInfo{}
	}
	// With CPU activity since the last fault the page may have been taken
	// back by the CPU in between: both steps of the round trip must fall
	// within the lapse (UVM times each event against the previous one).
	quick := now-h.lastFault < DefaultThrashLapse
	if cpu := d.ms.cpuActivity; d.ms.cpuSeen && cpu > h.lastFault {
		quick = cpu-h.lastFault < DefaultThrashLapse && now-cpu < DefaultThrashLapse
	}
	if quick {
		h.Returns++
	} else {
		h.Returns = 0
	}
	h.lastFault = now
	if h.Returns >= d.thrashThreshold() {
		d.thrashEvents.Add(1)
	}
	return h.ThrashInfo
}

// pinned reports whether page is pinned to the host by the thrashing
// mitigation at simulated time now: the device keeps a remote mapping and
// takes no fault.
func (d *Device) pinned(page uint64, now time.Duration) bool {
	h := d.ms.hist[page]
	return h != nil && h.PinnedUntil > now
}

// newRound starts a new round of the LRU clock (memState.tick). A round is
// one unit of device work whose pages must all be in place together: one
// fault round of a launch (every work-item stalled, its faults serviced
// together before they replay), a whole copy or fill (its pieces fault
// synchronously, one after another), or one VA block of an explicit
// Prefetch or Migrate. useChunk stamps the chunks a round uses with the
// tick and evictOne never picks a chunk stamped with the current one:
// evicting it would only make the same round fault it back; the pages
// that do not fit are used remotely instead. launchMu held.
func (d *Device) newRound() { d.ms.tick++ }

// useChunk makes sure block has a chunk, evicting another block's chunk
// when all are taken, and marks it used in this round. It returns false,
// having changed nothing, when every other chunk was used in this round
// (evicting one would only make this round fault it back: the caller maps
// the pages remotely instead). launchMu held.
func (d *Device) useChunk(block uint64) (bool, error) {
	ms := &d.ms
	if c, ok := ms.chunks[block]; ok {
		c.lastUse = ms.tick
		return true, nil
	}
	for len(ms.chunks) >= ms.capacity {
		ok, err := d.evictOne(block)
		if err != nil || !ok {
			return false, err
		}
	}
	ms.chunks[block] = &chunkRec{lastUse: ms.tick}
	return true, nil
}

// wouldEvict reports whether useChunk(block) would evict first.
func (d *Device) wouldEvict(block uint64) bool {
	_, ok := d.ms.chunks[block]
	return !ok && len(d.ms.chunks) >= d.ms.capacity
}

// evictOne evicts the chunk the policy picks among those not used in this
// round (and not keep). It returns false when there is none.
func (d *Device) evictOne(keep uint64) (bool, error) {
	ms := &d.ms
	cands := make([]Chunk, 0, len(ms.chunks))
	for b, c := range ms.chunks {
		if b != keep && c.lastUse != ms.tick {
			cands = append(cands, Chunk{Block: b, LastUse: c.lastUse})
		}
	}
	if len(cands) == 0 {
		return false, nil
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].Block < cands[j].Block })
	for i := range cands {
		cands[i].Resident = d.mem.Resident(uintptr(cands[i].Block), d.blockPages())
	}
	v := cands[d.cfg.policy.Victim(cands)]
	delete(ms.chunks, v.Block)
	if v.Resident == 0 {
		return true, nil // unused: nothing to write back
	}
	var start time.Duration
	if d.tr != nil {
		start = d.clock.Now() // only the trace reads it
	}
	written, dropped, err := d.mem.Evict(uintptr(v.Block), d.blockPages())
	if written+dropped > 0 {
		d.evictions.Add(1)
		d.pagesEvicted.Add(int64(written))
		d.clock.Charge(TimeTransferD2H, d.cfg.cost.TransferTime(written*svm.PageSize))
		if d.tr != nil {
			d.tr.evict(v.Block, written, dropped, start, d.clock.Now())
		}
	}
	return true, err
}

// moveRuns migrates (or, with dup, duplicates) pages — ascending — in
// contiguous runs inside one mapping and one VA block, one call each. A
// run the device has no memory for fails its pages (fail); other errors
// are fatal for the launch.
func (l *launch) moveRuns(maps *svm.Maps, pages []uint64, dup bool, fail func(page uint64, err error)) error {
	d := l.dev
	for i := 0; i < len(pages); {
		v, _ := maps.Find(uintptr(pages[i]))
		block := d.blockOf(pages[i])
		j := i + 1
		for j < len(pages) && pages[j] == pages[j-1]+svm.PageSize && uintptr(pages[j]) < v.End && d.blockOf(pages[j]) == block {
			j++
		}
		if err := l.migrateRun(v, pages[i:j], dup); err != nil {
			if !errors.Is(err, svm.ErrOutOfDeviceMemory) {
				return err
			}
			for _, p := range pages[i:j] {
				fail(p, err)
			}
		}
		i = j
	}
	return nil
}

// remoteFor returns the remote mapping of a host page: one the scheduler
// made, or — with accessed-by advice for this device, or while the page is
// pinned to the host — the mapping the device keeps so that it takes no
// fault (the mapping's protection still rules). Called by work-items; reads only what the scheduler changes while
// they are stalled.
func (l *launch) remoteFor(page uintptr) (remoteMap, bool) {
	if r, ok := l.remote[uint64(page)]; ok {
		return r, true
	}
	if !l.advice.At(page).AccessedByDevice(l.dev.mem.ID()) && !l.dev.pinned(uint64(page), l.now) {
		return remoteMap{}, false
	}
	return l.remoteMappable(page)
}

// remoteMappable returns the remote mapping the device may keep of page:
// one of ordinary readable memory (not device memory, not a special
// mapping), writable as the CPU mapping is.
func (l *launch) remoteMappable(page uintptr) (remoteMap, bool) {
	v, ok := l.maps.Find(page)
	if !ok || !v.Read || v.Kind == svm.KindDeviceMemory || v.Kind == svm.KindSpecial {
		return remoteMap{}, false
	}
	return remoteMap{writable: v.Write}, true
}
