package simgpu

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// itemMem is one work-item's view of memory through the device MMU: it
// implements kernels.Mem. It is owned by the work-item's goroutine.
type itemMem struct {
	w    *wave
	l    *launch
	tlb  *TLB
	item int

	walked TLBEntry // the last walk's translation (also inserted in tlb)

	bytes  int64 // bytes accessed in device memory
	remote int64 // accesses to host memory over the link
}

var _ kernels.Mem = (*itemMem)(nil)

const pageMask = svm.PageSize - 1

// ptr turns an address into a pointer without tripping vet's unsafeptr
// check: the memory is either the VRAM arena or host memory kept alive by
// the launch's arguments.
func ptr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

type access uint8

const (
	accRead access = iota
	accWrite
	accAtomic
)

// translate returns a valid TLB entry for addr allowing the access, taking
// (and stalling on) faults until the page is mapped. Never returns nil: a
// fault the scheduler cannot resolve aborts the work-item. The access is
// aligned to its size (so within one page): plain loads and stores that are
// not go byte by byte (loadBytes, storeBytes), atomics that are not fail
// (alignedAtomic).
func (m *itemMem) translate(addr uintptr, size uintptr, acc access) *TLBEntry {
	// Fast path (inlined into every access): a hit in the most recently
	// used way of its TLB set.
	if e := m.tlb.LookupMRU(uint64(addr) / svm.PageSize); e != nil && (acc == accRead || e.Writable) {
		return e
	}
	return m.translateSlow(addr, size, acc)
}

// alignedAtomic aborts the work-item with ErrDeviceFault when an atomic of
// size bytes at addr is not aligned to its size.
func (m *itemMem) alignedAtomic(addr, size uintptr) {
	if addr&(size-1) != 0 {
		panic(&kernels.Abort{Err: &svm.FaultError{Device: m.l.dev.Name(), Addr: addr, Write: true,
			Reason: fmt.Sprintf("misaligned %d-byte atomic (atomics must be aligned to their size)", size), Err: svm.ErrDeviceFault}})
	}
}

// translateSlow is translate after a miss of the fast path.
func (m *itemMem) translateSlow(addr uintptr, size uintptr, acc access) *TLBEntry {
	vpn := uint64(addr) / svm.PageSize
	if e := m.tlb.Lookup(vpn); e != nil && (acc == accRead || e.Writable) {
		return e
	}
	for tries := 0; ; tries++ {
		if e := m.walk(addr, acc); e != nil {
			return e
		}
		if m.w == nil {
			// A device operation outside a wave (Copy, Fill): fault now. A
			// page that will not stay usable (another device or the CPU
			// keeps taking it) fails the operation rather than spin.
			if tries == 1000 {
				panic(&kernels.Abort{Err: &svm.FaultError{Device: m.l.dev.Name(), Addr: addr, Write: acc != accRead,
					Reason: "page kept moving away (1000 faults)", Err: svm.ErrDeviceFault}})
			}
			if err := m.l.faultRange(addr, size, acc != accRead); err != nil {
				panic(&kernels.Abort{Err: err})
			}
			continue
		}
		m.w.stall(Fault{Addr: uint64(addr), Write: acc != accRead, Atomic: acc == accAtomic, Item: m.item})
		if err, bad := m.l.errPages[vpn*svm.PageSize]; bad {
			panic(&kernels.Abort{Err: err})
		}
	}
}

// walk is the page-table walk: the logical page table says where the page
// is; the launch's remote map says which host pages the scheduler mapped.
// Returns nil when the access must fault.
func (m *itemMem) walk(addr uintptr, acc access) *TLBEntry {
	page := addr &^ pageMask
	pte := svm.PTE(page, true)
	if pte == nil {
		return nil
	}
	word := atomic.LoadUint64(pte)
	e := TLBEntry{VPN: uint64(page) / svm.PageSize, PTE: pte, Word: word}
	switch svm.WordState(word) {
	case svm.StateDevice, svm.StateDup:
		if svm.WordDevice(word) != m.l.dev.mem.ID() {
			return nil
		}
		if svm.WordState(word) == svm.StateDup && acc != accRead {
			return nil // a read duplicate is read-only: a write faults and collapses it
		}
		// The page is ours, but the CPU mapping's protection still rules
		// (mprotect has no event; the launch re-reads the mappings at its
		// start, and every fault round checks the faulting pages' mappings
		// against the kernel's, svm.VerifiedMaps): a write to a page whose
		// mapping is now read-only, or any access to PROT_NONE, faults.
		v, ok := m.l.maps.Find(page)
		bugs := m.l.dev.cfg.bugs
		if !bugs.trustPageTable() && (!ok || !v.Read || (acc != accRead && !v.Write && !bugs.ignoreProtection())) {
			return nil
		}
		e.Base = m.l.dev.mem.Base() + uintptr(svm.WordFrame(word))*svm.PageSize
		e.Writable = svm.WordState(word) == svm.StateDevice && (v.Write || bugs.ignoreProtection() || bugs.trustPageTable())
	case svm.StateHost:
		r, ok := m.l.remoteFor(page)
		if !ok || (acc != accRead && !r.writable) {
			return nil
		}
		e.Base, e.Writable, e.Remote = page, r.writable, true
	default:
		return nil
	}
	m.tlb.Insert(e)
	m.walked = e
	return &m.walked
}

// Loads are seqlock reads: the word checked by the TLB before the load is
// checked again after; if the page moved in between, replay.

func (m *itemMem) Load8(addr uintptr) uint8 {
	for {
		e := m.translate(addr, 1, accRead)
		v := *(*uint8)(ptr(e.Base + addr&pageMask))
		if m.done(e, 1) {
			return v
		}
	}
}

// A misaligned plain load or store runs as the host processor runs one
// (the compiled kernels' rule too): byte by byte here, each byte through
// the MMU, so one that crosses a page boundary faults on each page in turn.
// It is not single-copy atomic, as it would not be on a GPU either.

func (m *itemMem) loadBytes(addr uintptr, n int) uint64 {
	var v uint64
	for i := range n {
		v |= uint64(m.Load8(addr+uintptr(i))) << (8 * i)
	}
	return v
}

func (m *itemMem) storeBytes(addr uintptr, n int, v uint64) {
	for i := range n {
		m.Store8(addr+uintptr(i), uint8(v>>(8*i)))
	}
}

func (m *itemMem) Load32(addr uintptr) uint32 {
	if addr&3 != 0 {
		return uint32(m.loadBytes(addr, 4))
	}
	for {
		e := m.translate(addr, 4, accRead)
		v := *(*uint32)(ptr(e.Base + addr&pageMask))
		if m.done(e, 4) {
			return v
		}
	}
}

func (m *itemMem) Load64(addr uintptr) uint64 {
	if addr&7 != 0 {
		return m.loadBytes(addr, 8)
	}
	for {
		e := m.translate(addr, 8, accRead)
		v := *(*uint64)(ptr(e.Base + addr&pageMask))
		if m.done(e, 8) {
			return v
		}
	}
}

// Stores to device memory are atomic exchanges (a full barrier) followed by
// the word check: either the page's returning copy sees the store or the
// check sees the new word and the store replays where the page is now.
// Stores to host memory go through the real CPU MMU and need no check.

func (m *itemMem) Store8(addr uintptr, v uint8) {
	if m.l.dev.cfg.bugs.wideByteStores() {
		m.Store32(addr&^3, uint32(v)<<((addr&3)*8)) // the bug: clobbers 3 neighbours
		return
	}
	for {
		e := m.translate(addr, 1, accWrite)
		p := e.Base + addr&pageMask
		if e.Remote {
			*(*uint8)(ptr(p)) = v
			m.remote++
			return
		}
		// No byte-sized exchange in sync/atomic: CAS the containing word.
		wp := (*uint32)(ptr(p &^ 3))
		shift := (p & 3) * 8
		for {
			old := atomic.LoadUint32(wp)
			if atomic.CompareAndSwapUint32(wp, old, old&^(0xff<<shift)|uint32(v)<<shift) {
				break
			}
		}
		if m.done(e, 1) {
			return
		}
	}
}

func (m *itemMem) Store32(addr uintptr, v uint32) {
	if addr&3 != 0 {
		m.storeBytes(addr, 4, uint64(v))
		return
	}
	for {
		e := m.translate(addr, 4, accWrite)
		p := e.Base + addr&pageMask
		if e.Remote {
			*(*uint32)(ptr(p)) = v
			m.remote++
			return
		}
		atomic.StoreUint32((*uint32)(ptr(p)), v)
		if m.done(e, 4) {
			return
		}
	}
}

func (m *itemMem) Store64(addr uintptr, v uint64) {
	if addr&7 != 0 {
		m.storeBytes(addr, 8, v)
		return
	}
	for {
		e := m.translate(addr, 8, accWrite)
		p := e.Base + addr&pageMask
		if e.Remote {
			*(*uint64)(ptr(p)) = v
			m.remote++
			return
		}
		atomic.StoreUint64((*uint64)(ptr(p)), v)
		if m.done(e, 8) {
			return
		}
	}
}

// Atomics on a device-resident page are device-local: they run in VRAM,
// inside a short C section the fault-service thread waits out before it
// copies the page home (svm.DeviceAtomicAdd), so a CPU touch that revokes
// the device's access loses no update. On a host page they are
// system-scope atomics over the link.

func (m *itemMem) AtomicAdd32(addr uintptr, delta uint32) uint32 {
	m.alignedAtomic(addr, 4)
	for {
		e := m.translate(addr, 4, accAtomic)
		p := e.Base + addr&pageMask
		if e.Remote {
			m.remote++
			return atomic.AddUint32((*uint32)(ptr(p)), delta) - delta
		}
		if old, ok := svm.DeviceAtomicAdd(e.PTE, e.Word, m.l.dev.mem.ID(), p, delta); ok {
			m.bytes += 4
			return old
		}
	}
}

func (m *itemMem) AtomicCAS32(addr uintptr, old, new uint32) bool {
	m.alignedAtomic(addr, 4)
	for {
		e := m.translate(addr, 4, accAtomic)
		p := e.Base + addr&pageMask
		if e.Remote {
			m.remote++
			return atomic.CompareAndSwapUint32((*uint32)(ptr(p)), old, new)
		}
		if swapped, ok := svm.DeviceAtomicCAS(e.PTE, e.Word, m.l.dev.mem.ID(), p, old, new); ok {
			m.bytes += 4
			return swapped
		}
	}
}

// done finishes an access through e: for remote pages it counts a remote
// access; for device pages it re-checks the page-state word.
func (m *itemMem) done(e *TLBEntry, size int64) bool {
	if e.Remote {
		m.remote++
		return true
	}
	if atomic.LoadUint64(e.PTE) != e.Word {
		return false
	}
	m.bytes += size
	return true
}
