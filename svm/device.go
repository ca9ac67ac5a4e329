package svm

// Device is what the svm core needs from a backend's driver, modelled on
// GMEM's struct gm_mmu and HMM's dev_pagemap_ops. The core owns the logical
// page table, the device-memory allocator (DevMem) and the DMA copies (done
// by internal/uffd); a device owns its translations (MMU, TLB) and executes
// kernels.
type Device interface {
	// Name is the device's name, as Open takes it ("cpu", "simgpu0", ...).
	Name() string
	// Caps describes what the device can do.
	Caps() Caps
	// Invalidate drops the device's cached translations for [start, end)
	// (TLB shootdown). The core calls it after moving pages the device may
	// have mapped outside a fault (explicit migration, release). Changes made
	// by the fault-service thread are caught lazily: every translation
	// carries the page-state word it was filled from.
	Invalidate(start, end uintptr)
}

// Caps are a device's memory capabilities.
type Caps struct {
	Coherent      bool  // accesses host memory directly, like a CPU (nothing migrates)
	PrivateMemory bool  // has device memory that pages can migrate into
	Faults        bool  // takes replayable page faults (can run on unfaulted memory)
	PageSize      int   // translation granule, bytes
	MemoryBytes   int64 // device memory size (0 for coherent devices)
}
