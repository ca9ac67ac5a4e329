package svm

import "time"

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

// Stats are the counters every backend reports. Fields a backend cannot
// observe stay zero.
type Stats struct {
	Launches       int64
	DeviceFaults   int64 // raw device page faults (before deduplication)
	FaultBatches   int64 // fault batches serviced
	PagesH2D       int64 // pages migrated host -> device
	BytesH2D       int64
	PagesD2H       int64 // pages migrated device -> host (CPU faults and explicit)
	BytesD2H       int64
	CPUFaults      int64 // CPU page faults that brought this device's pages home
	RemoteAccesses int64 // device accesses to host memory over the link
	TLBHits        int64
	TLBMisses      int64
	Evictions      int64         // device-memory chunks evicted to make room (their pages written back)
	PagesEvicted   int64         // pages written back by evictions (also counted in PagesD2H)
	PagesPrefetch  int64         // pages migrated by the prefetcher, not by a fault (also in PagesH2D)
	ThrashEvents   int64         // faults on pages the thrashing detector saw bouncing
	Throttles      int64         // thrashing pages kept remote for a launch instead of migrating
	Pins           int64         // thrashing pages pinned to the host
	Duplicates     int64         // read-only duplicates made (read duplication)
	Collapses      int64         // duplicates dropped: a write (CPU or device), eviction, another device taking the page, munmap
	SimulatedTime  time.Duration // device clock (simulated devices)
	HostTime       time.Duration // wall time spent in launches
}
