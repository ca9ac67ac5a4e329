package devrt

// #include <stdlib.h>
// #include "sched.h"
import "C"

import (
	"fmt"
	"unsafe"
)

// The page-state word layout the MMU's walk decodes (sched.h), for the
// test that checks it against the svm core's.
const (
	pageWordHost       = C.DR_PW_HOST
	pageWordDevice     = C.DR_PW_DEVICE
	pageWordDup        = C.DR_PW_DUP
	pageWordDevShift   = C.DR_PW_DEV_SHIFT
	pageWordFrameShift = C.DR_PW_FRAME_SHIFT
	pageWordDevMask    = C.DR_PW_DEV_MASK
	pageWordFrameMask  = C.DR_PW_FRAME_MASK
)

// MMU is the simulated MMU's view of one launch, in C memory, for the slow
// paths the instrumented kernel code falls into: where the page table is,
// the device's identity and frames, the CPU mappings' protections (as of
// the last fault round) and the host pages the scheduler mapped remotely.
// The owner updates it only while no SM runs.
type MMU struct{ c *C.dr_mmu }

// MMUConfig describes the device an MMU translates for.
type MMUConfig struct {
	PTE        unsafe.Pointer // uint64_t *(*)(uint64_t addr, int alloc): svm's page-table walk
	AtomicBusy *uint64        // the device's in-flight atomic counter (svm)
	Arena      uintptr        // base of the device's frames
	Device     int            // the device's id in the page-state words
	// Deliberate bugs (for showing a test suite catches them).
	IgnoreProtection, TrustPageTable bool
}

// NewMMU allocates an MMU.
func NewMMU(cfg MMUConfig) *MMU {
	c := (*C.dr_mmu)(C.dr_alloc(C.uint64_t(unsafe.Sizeof(C.dr_mmu{}))))
	c.pte = (*[0]byte)(cfg.PTE)
	c.atomic_busy = (*C.uint64_t)(unsafe.Pointer(cfg.AtomicBusy))
	c.arena = C.uint64_t(cfg.Arena)
	c.dev = C.int(cfg.Device)
	if cfg.IgnoreProtection {
		c.bugs |= C.DR_BUG_IGNORE_PROT
	}
	if cfg.TrustPageTable {
		c.bugs |= C.DR_BUG_TRUST_PT
	}
	c.rmap = (*C.uint64_t)(C.dr_alloc(1024 * 8))
	c.rmask = 1023
	return &MMU{c: c}
}

// Free releases the MMU.
func (m *MMU) Free() {
	if m.c == nil {
		return
	}
	C.dr_free(unsafe.Pointer(m.c.vmas))
	C.dr_free(unsafe.Pointer(m.c.rmap))
	C.dr_free(unsafe.Pointer(m.c))
	m.c = nil
}

// VMA is a CPU mapping's range and protection.
type VMA struct {
	Start, End  uintptr
	Read, Write bool
}

// SetVMAs replaces the CPU mappings (sorted by address, disjoint).
func (m *MMU) SetVMAs(vs []VMA) {
	m.c.nvmas = 0
	if len(vs) == 0 {
		return
	}
	// Every fault round sets them: the block is kept while it is large
	// enough (unmapping it each round would cost a TLB shootdown).
	p := (*C.dr_vma)(C.dr_realloc(unsafe.Pointer(m.c.vmas), C.uint64_t(len(vs))*C.uint64_t(unsafe.Sizeof(C.dr_vma{}))))
	if p == nil {
		panic(fmt.Sprintf("devrt: out of memory for %d CPU mappings", len(vs)))
	}
	m.c.vmas = p
	s := unsafe.Slice(p, len(vs))
	for i, v := range vs {
		s[i].start, s[i].end, s[i].prot = C.uint64_t(v.Start), C.uint64_t(v.End), 0
		if v.Read {
			s[i].prot |= 1
		}
		if v.Write {
			s[i].prot |= 2
		}
	}
	m.c.nvmas = C.int(len(vs))
}

// AddRemote maps a host page for remote access (until ClearRemote).
func (m *MMU) AddRemote(page uintptr, writable bool) {
	w := C.int(0)
	if writable {
		w = 1
	}
	C.dr_mmu_remote_add(m.c, C.uint64_t(page), w)
}

// ClearRemote drops every remote mapping.
func (m *MMU) ClearRemote() { C.dr_mmu_remote_clear(m.c) }

// AddDirect makes [lo, hi) translate to itself without a fault or a count
// (memory that is on-chip or private on a GPU, such as a module's
// constants). At most four ranges.
func (m *MMU) AddDirect(lo, hi uintptr) bool {
	n := int(m.c.ndirect)
	if n >= len(m.c.direct_lo) {
		return false
	}
	m.c.direct_lo[n], m.c.direct_hi[n] = C.uint64_t(lo), C.uint64_t(hi)
	m.c.ndirect++
	return true
}

// Range returns the module's mapped address range (its constants are
// device constant memory).
func (m *Module) Range() (lo, hi uintptr) { return m.lo, m.hi }

// SetMMU makes the SM translate through m (nil: host-direct).
func (s *SM) SetMMU(m *MMU) {
	if m == nil {
		s.c.mmu = nil
		return
	}
	s.c.mmu = m.c
}
