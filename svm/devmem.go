package svm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// DevMem is one device's private memory: an off-heap arena of frames, its
// allocator, and the device's slot in the page table's owner field.
type DevMem struct {
	space *Space
	dev   Device
	id    int
	// Immutable after Attach (the arena's address stays reserved for the
	// DevMem's life, so readers need no lock).
	base    uintptr
	nframes int

	mu       sync.Mutex // protects free and arena
	free     []uint32   // free frames (stack)
	arena    []byte     // the mapping, guards included (mapArena); nil once released
	released atomic.Bool
}

// Attach gives dev a private memory of arenaBytes (rounded down to pages)
// and a device slot. Coherent devices need no arena: pass 0.
func (s *Space) Attach(dev Device, arenaBytes int64) (*DevMem, error) {
	nframes := arenaBytes / PageSize
	if arenaBytes > 0 && nframes == 0 {
		return nil, fmt.Errorf("svm: attach %s: device memory %d bytes is smaller than a page", dev.Name(), arenaBytes)
	}
	if uint64(nframes) > uffd.MaxFrames() {
		return nil, fmt.Errorf("svm: attach %s: device memory %d bytes exceeds the %d-frame limit", dev.Name(), arenaBytes, uffd.MaxFrames())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := -1
	for i := 1; i < len(s.devices); i++ { // slot 0 is never used: a zero word means host
		if s.devices[i] == nil {
			id = i
			break
		}
	}
	if id < 0 {
		return nil, fmt.Errorf("svm: attach %s: all %d device slots in use", dev.Name(), len(s.devices)-1)
	}
	d := &DevMem{space: s, dev: dev, id: id}
	if nframes > 0 {
		arena, base, zeroCopy, err := mapArena(int(nframes * PageSize))
		if err != nil {
			return nil, fmt.Errorf("svm: attach %s: map %d bytes of device memory: %w", dev.Name(), nframes*PageSize, err)
		}
		d.arena, d.base, d.nframes = arena, base, int(nframes)
		if err := uffd.AttachDevice(id, d.base, uint64(nframes), zeroCopy); err != nil {
			syscall.Munmap(arena)
			return nil, fmt.Errorf("svm: attach %s: %w", dev.Name(), err)
		}
		d.free = make([]uint32, nframes)
		for i := range d.free {
			d.free[i] = uint32(int(nframes) - 1 - i) // pop order: 0, 1, 2, ...
		}
	}
	s.devices[id] = d
	s.maps = nil // arenas changed: reclassify on next read
	return d, nil
}

// ID is the device's slot, the owner field of words of pages it holds.
func (d *DevMem) ID() int { return d.id }

// Base is the arena's address: frame f is at Base()+f*PageSize.
func (d *DevMem) Base() uintptr { return d.base }

// Frames is the arena size in frames.
func (d *DevMem) Frames() int { return d.nframes }

// ZeroCopy reports whether pages move into and out of d's frames instead of
// being copied (a zero-copy arena: see mapArena).
func (d *DevMem) ZeroCopy() bool { return d.nframes > 0 && uffd.ZeroCopy(d.id) }

// ArenaFills counts the absent frames of a zero-copy arena that were
// zero-filled when first touched (by a copy into a fresh frame, or a read of
// a frame whose page had left).
func (d *DevMem) ArenaFills() int64 { return int64(uffd.Counters(d.id).ArenaFills) }

// Counters returns the host-side counters of this device: CPU faults that
// brought its pages home and pages moved each way.
func (d *DevMem) Counters() (cpuFaults, pagesH2D, pagesD2H, dropped int64) {
	c := uffd.Counters(d.id)
	return int64(c.CPUFaults), int64(c.PagesH2D), int64(c.PagesD2H), int64(c.Dropped)
}

// TrimmedFrames counts the frames given back to the kernel (their memory
// freed) when their pages came home while the device ran no operation.
func (d *DevMem) TrimmedFrames() int64 { return int64(uffd.Counters(d.id).Trimmed) }

// BeginAccess marks the start of a device operation (a launch, a copy, a
// fill: anything that may translate addresses to frames through a device
// TLB), EndAccess its end. Between operations, frames whose pages come home
// are freed at once; during one they stay backed until they are reused,
// because a translation the operation cached may still read them. Every
// operation must start with an empty TLB.
//
// Frames released since the last operation are reclaimed first, while no
// operation can map them, so those still backed are discarded
// (discardBacked) before anything migrates into them: reclaimed only when
// an operation runs short of frames, during it, they stayed backed and
// every page moved into them was copied instead (a fresh-memory saxpy's
// third 256 MiB launch, which reused the first one's frames, took three
// times as long in its fault service as the first two).
func (d *DevMem) BeginAccess() {
	if d.pendingFree() {
		d.mu.Lock()
		d.reclaimLocked()
		d.mu.Unlock()
	}
	uffd.DeviceAccess(d.id, 1)
}

// EndAccess ends what BeginAccess began.
func (d *DevMem) EndAccess() { uffd.DeviceAccess(d.id, -1) }

// FaultCounters returns the CPU faults that brought d's pages home and the
// pages they brought (device→host copies made for faults, not for explicit
// migrations, evictions or other devices).
func (d *DevMem) FaultCounters() (cpuFaults, pages int64) {
	c := uffd.Counters(d.id)
	return int64(c.CPUFaults), int64(c.FaultD2H)
}

// DupCounters returns the read duplicates made in d's memory and those
// dropped since (by a CPU write, an eviction, a migration or munmap).
func (d *DevMem) DupCounters() (dups, collapses int64) {
	c := uffd.Counters(d.id)
	return int64(c.Dups), int64(c.Collapses)
}
