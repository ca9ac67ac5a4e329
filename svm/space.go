package svm

import (
	"fmt"
	"os"
	"sync"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// PageSize is the granule of the logical page table.
const PageSize = uffd.PageSize

// Space is the process's address-space mirror. There is one per process
// (userfaultfd is per address space); get it with Default.
type Space struct {
	degraded error // nil when userfaultfd works

	mu      sync.Mutex // protects the fields below
	maps    *Maps
	mapsGen uint64
	devices [uffd.MaxDevices]*DevMem
}

var (
	defaultOnce  sync.Once
	defaultSpace *Space
)

// EnvNoUFFD forces degraded mode when set to 1.
const EnvNoUFFD = "SVMRT_NO_UFFD"

// Default returns the process's Space, opening userfaultfd on first use.
func Default() *Space {
	defaultOnce.Do(func() {
		s := &Space{}
		if os.Getenv(EnvNoUFFD) == "1" {
			s.degraded = fmt.Errorf("%w: userfaultfd disabled by %s=1: devices access host memory remotely, nothing migrates", ErrNotSupported, EnvNoUFFD)
		} else if err := uffd.Open(); err != nil {
			s.degraded = fmt.Errorf("%w: %v: devices access host memory remotely, nothing migrates", ErrNotSupported, err)
		}
		defaultSpace = s
	})
	return defaultSpace
}

// Degraded returns nil when pages can migrate, else why they cannot.
func (s *Space) Degraded() error { return s.degraded }

// Maps returns the current mappings, re-read when the service thread has
// seen an unmap or remap since the last read, or when refresh is set.
func (s *Space) Maps(refresh bool) (*Maps, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mapsLocked(refresh)
}

// mapsLocked: s.mu held.
func (s *Space) mapsLocked(refresh bool) (*Maps, error) {
	// munmap/mremap that returned before this call must be counted in the
	// generation: their events are read before they return, but handled
	// (and counted) a moment later.
	uffd.Sync()
	gen := uffd.Stats().MapGen
	if s.maps != nil && !refresh && gen == s.mapsGen {
		return s.maps, nil
	}
	m, err := ReadMaps()
	if err != nil {
		return nil, err
	}
	// Device arenas are mappings of this process but not host memory.
	for i := range m.VMAs {
		for _, d := range s.devices {
			if d != nil && d.nframes > 0 && m.VMAs[i].Start < d.base+uintptr(d.nframes)*PageSize && d.base < m.VMAs[i].End {
				m.VMAs[i].Kind = KindDeviceMemory
			}
		}
	}
	s.maps, s.mapsGen = m, gen
	return m, nil
}

// Sync waits until every address-space change that has returned to its
// caller (munmap, madvise, mremap) is reflected in the page table. Devices
// call it before a launch; Snapshot calls it.
func (s *Space) Sync() {
	if s.degraded == nil {
		uffd.Sync()
	}
}

// Resolve returns the mapping of addr, re-reading the maps once if addr is
// not in the cached copy.
func (s *Space) Resolve(addr uintptr) (VMA, bool, error) {
	m, err := s.Maps(false)
	if err != nil {
		return VMA{}, false, err
	}
	if v, ok := m.Find(addr); ok {
		return v, true, nil
	}
	if m, err = s.Maps(true); err != nil {
		return VMA{}, false, err
	}
	v, ok := m.Find(addr)
	return v, ok, nil
}

// ServiceStats are the fault-service thread's counters.
type ServiceStats = uffd.GlobalStats

// ServiceStats reads the fault-service thread's counters.
func (s *Space) ServiceStats() ServiceStats { return uffd.Stats() }

// ServiceState describes the fault-service thread's counters and the work
// it has in hand (deferred faults, pending requests), for a watchdog's dump
// of a process that seems hung.
func (s *Space) ServiceState() string {
	if s.degraded != nil {
		return "degraded: " + s.degraded.Error()
	}
	return fmt.Sprintf("%+v; %s", uffd.Stats(), uffd.DebugState())
}

// register makes sure [start, start+n pages) is registered with
// userfaultfd. Exactly those pages: a mapping may hold more than the
// program's buffer (the kernel merges neighbouring anonymous mappings, a
// thread's stack among them), and a registered page that is absent makes
// kernel accesses that cannot wait for the fault-service thread fail with
// EFAULT. Registering a range again is harmless, and adjacent registered
// ranges merge back into one mapping.
func (s *Space) register(start uintptr, npages int) error {
	return uffd.Register(start, uintptr(npages)*PageSize)
}

// ResetFaultWindow makes the fault-service thread's sequential-access
// detector (which brings a growing window of pages home on sequential CPU
// faults) forget the faults so far: from here on, CPU-fault counts depend
// only on what the program does next. Simulated devices call it when they
// are created, so identical runs count identical CPU faults.
func (s *Space) ResetFaultWindow() {
	if s.degraded == nil {
		uffd.ResetFaultWindow()
	}
}

func (s *Space) invalidateAll(start, end uintptr) {
	s.mu.Lock()
	devs := s.devices
	s.mu.Unlock()
	for _, d := range devs {
		if d != nil {
			d.dev.Invalidate(start, end)
		}
	}
}
