package svm

import (
	"fmt"
	"math/bits"
	"slices"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// FreeFrames counts frames not holding a page (including pending reclaim).
func (d *DevMem) FreeFrames() int {
	d.space.Sync()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reclaimLocked()
	return len(d.free)
}

// pendingFree reports whether the host side has released frames that are
// not reclaimed yet.
func (d *DevMem) pendingFree() bool {
	pending := uffd.PendingFree(d.id) // a cgo call: once, not per word
	for i := range pending {
		if atomic.LoadUint64(&pending[i]) != 0 {
			return true
		}
	}
	return false
}

// reclaimLocked moves frames the host side released into the free list.
// d.mu held; the device has no access in flight (see the package doc).
func (d *DevMem) reclaimLocked() {
	n0 := len(d.free)
	pending := uffd.PendingFree(d.id)
	for i := range pending {
		if atomic.LoadUint64(&pending[i]) == 0 {
			continue
		}
		bits := atomic.SwapUint64(&pending[i], 0)
		for bits != 0 {
			b := 0
			for bits&(1<<b) == 0 {
				b++
			}
			bits &^= 1 << b
			d.free = append(d.free, uint32(i*64+b))
		}
	}
	d.discardBacked(d.free[n0:])
	// The list is taken from its end: reversed, the frames just reclaimed
	// go out ascending, so a migrated run's frames are consecutive and
	// leave the device as one run (one madvise, see svmcore.c's run_end).
	slices.Reverse(d.free[n0:])
}

// discardBacked gives the memory of reclaimed zero-copy frames that still
// hold a page back to the kernel (MADV_DONTNEED), in runs of consecutive
// frames (frames ascending). A page leaves a zero-copy arena by moving,
// which takes its memory along, but frames whose pages were dropped — the
// host range was unmapped or discarded while on the device — keep theirs:
// a later migration into such a frame cannot move a page in (EEXIST) and
// copies through the sink instead, page by page (a migrate of a fresh
// 64 MiB buffer after the last one was unmapped on the device ran at 0.7
// GB/s against 7 for clean frames), and the memory counts in RSS until
// then. The fault-service thread cannot do this itself (an madvise of the
// registered arena raises a REMOVE event that waits for that very
// thread), so it happens here, in the thread that allocates. Not while the
// device runs an operation: its TLB may still map a frame it released
// (munmap during a kernel), and it would read zeros rather than what was
// there.
func (d *DevMem) discardBacked(frames []uint32) {
	if len(frames) == 0 || !uffd.ZeroCopy(d.id) || uffd.InFlight(d.id) {
		return
	}
	for i := 0; i < len(frames); {
		j := i + 1
		for j < len(frames) && frames[j] == frames[j-1]+1 {
			j++
		}
		d.discardRun(d.base+uintptr(frames[i])*PageSize, (j-i)*PageSize)
		i = j
	}
}

// discardRun discards the run of n bytes of frames at addr if any of its
// pages is backed (mincore: an unbacked run costs no madvise, whose REMOVE
// event is a round trip to the fault-service thread).
func (d *DevMem) discardRun(addr uintptr, n int) {
	var small [64]byte
	vec := small[:]
	if pages := n / PageSize; pages > len(vec) {
		vec = make([]byte, pages)
	} else {
		vec = vec[:pages]
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, addr, uintptr(n), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return
	}
	backed := false
	for _, v := range vec {
		backed = backed || v&1 != 0
	}
	if backed {
		syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(n), syscall.MADV_DONTNEED)
	}
}

// CanAlloc reports whether n frames can be taken now: the free list holds
// them, or does once the frames the host side released are reclaimed. A
// caller that plans several migrations before making them (a simulated
// GPU's fault round) asks it; the answer holds until someone else
// allocates.
func (d *DevMem) CanAlloc(n int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.haveLocked(n)
}

// haveLocked reports whether the free list holds n frames, reclaiming the
// released ones first if it does not. d.mu held.
func (d *DevMem) haveLocked(n int) bool {
	if len(d.free) < n {
		d.reclaimLocked()
	}
	return len(d.free) >= n
}

// Alloc takes n frames. Call it only while none of the device's accesses
// is in flight. Fails with ErrOutOfDeviceMemory.
func (d *DevMem) Alloc(n int) ([]uint32, error) {
	out := make([]uint32, n)
	if err := d.allocInto(out); err != nil {
		return nil, err
	}
	return out, nil
}

// allocInto fills out with free frames (Alloc without the allocation, for
// the migration loop), in ascending order while the list is unfragmented.
func (d *DevMem) allocInto(out []uint32) error {
	n := len(out)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.haveLocked(n) {
		return fmt.Errorf("svm: %s: %w: need %d more frames, %d of %d free (%d KiB of device memory)",
			d.dev.Name(), ErrOutOfDeviceMemory, n, len(d.free), d.Frames(), d.Frames()*PageSize/1024)
	}
	for i := range out {
		out[i] = d.free[len(d.free)-1-i]
	}
	d.free = d.free[:len(d.free)-n]
	return nil
}

// Free returns frames that never got a page.
func (d *DevMem) Free(frames []uint32) {
	d.mu.Lock()
	d.free = append(d.free, frames...)
	d.mu.Unlock()
}

// holds reports whether a page-state word says the page occupies one of
// d's frames (resident or a read duplicate).
func (d *DevMem) holds(w uint64) bool {
	return (uffd.State(w) == StateDevice || uffd.State(w) == StateDup) && uffd.Dev(w) == d.id
}

// Resident counts the pages of [start, start+npages*PageSize) that occupy
// d's frames (resident or duplicated).
func (d *DevMem) Resident(start uintptr, npages int) int {
	start &^= PageSize - 1
	c := 0
	for i := 0; i < npages; i++ {
		if d.holds(uffd.Load(start + uintptr(i)*PageSize)) {
			c++
		}
	}
	return c
}

// HeldFrames counts the frames holding a page now (resident or a read
// duplicate): the frames neither free nor released by the host side.
// Unlike FreeFrames it reclaims nothing, so a device may read it in the
// middle of an operation (a trace's counter) without changing which frames
// its next allocation gets.
func (d *DevMem) HeldFrames() int {
	d.mu.Lock()
	free := len(d.free)
	d.mu.Unlock()
	pending := uffd.PendingFree(d.id)
	for i := range pending {
		free += bits.OnesCount64(atomic.LoadUint64(&pending[i]))
	}
	return max(0, d.nframes-free)
}
