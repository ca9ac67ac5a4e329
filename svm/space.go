package svm

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

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

// Word accessors for devices' MMUs.

// PTE returns the page-state word of the page holding addr, allocating the
// table leaf when alloc is set (nil when absent and !alloc, or addr is out
// of range). Read it with sync/atomic.
func PTE(addr uintptr, alloc bool) *uint64 { return uffd.PTE(addr, alloc) }

// Page states as stored in a word.
const (
	StateHost      = uffd.StateHost
	StateDevice    = uffd.StateDevice
	StateMigrating = uffd.StateMigrating
	StateZapping   = uffd.StateZapping
	StateReturning = uffd.StateReturning
	StateFilling   = uffd.StateFilling
	StateDup       = uffd.StateDup // read duplicate: device copy + write-protected host page
)

// WordState, WordDevice, WordFrame and WordSeq decode a page-state word.
func WordState(w uint64) int    { return uffd.State(w) }
func WordDevice(w uint64) int   { return uffd.Dev(w) }
func WordFrame(w uint64) uint64 { return uffd.Frame(w) }
func WordSeq(w uint64) uint64   { return uffd.Seq(w) }

// DeviceAtomicAdd and DeviceAtomicCAS perform a device's atomic on a word
// of a device-resident page, if the page's state word still equals expect
// (ok is false otherwise: the page moved, translate again). They run in a
// short C section that the fault-service thread waits out before copying a
// page home, so no atomic update is lost when the CPU revokes the device's
// access (see svm_dev_atomic).
// PTEFunc is the page-table walk as a C function pointer (uint64_t
// *(*)(uint64_t addr, int alloc)), for a device's C code.
func PTEFunc() unsafe.Pointer { return uffd.PTEFunc() }

// DeviceAtomicBusy is device id's in-flight atomic counter, for a device's C
// code that runs atomics on device-resident pages: increment it, re-check the
// page word, operate, decrement — the service thread waits for zero after
// claiming a page and before copying it home, so no update is lost.
func DeviceAtomicBusy(id int) *uint64 { return uffd.AtomicBusy(id) }

func DeviceAtomicAdd(pte *uint64, expect uint64, dev int, wordAddr uintptr, delta uint32) (old uint32, ok bool) {
	return uffd.DeviceAtomicAdd(pte, expect, dev, wordAddr, delta)
}

func DeviceAtomicCAS(pte *uint64, expect uint64, dev int, wordAddr uintptr, old, new uint32) (swapped, ok bool) {
	return uffd.DeviceAtomicCAS(pte, expect, dev, wordAddr, old, new)
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
	arena    []byte     // the mapping; nil once released
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
		// Shared anonymous: it never merges with a neighbouring user mapping
		// (which would then look like device memory) and is never migrated.
		arena, err := syscall.Mmap(-1, 0, int(nframes*PageSize), syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_SHARED|syscall.MAP_ANON|syscall.MAP_NORESERVE)
		if err != nil {
			return nil, fmt.Errorf("svm: attach %s: map %d bytes of device memory: %w", dev.Name(), nframes*PageSize, err)
		}
		d.arena, d.base, d.nframes = arena, uintptr(unsafe.Pointer(&arena[0])), int(nframes)
		if err := uffd.AttachDevice(id, d.base, uint64(nframes)); err != nil {
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

// FreeFrames counts frames not holding a page (including pending reclaim).
func (d *DevMem) FreeFrames() int {
	d.space.Sync()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reclaimLocked()
	return len(d.free)
}

// reclaimLocked moves frames the host side released into the free list.
// d.mu held; the device has no access in flight (see the package doc).
func (d *DevMem) reclaimLocked() {
	for i, w := range uffd.PendingFree(d.id) {
		if w == 0 {
			continue
		}
		bits := atomic.SwapUint64(&uffd.PendingFree(d.id)[i], 0)
		for bits != 0 {
			b := 0
			for bits&(1<<b) == 0 {
				b++
			}
			bits &^= 1 << b
			d.free = append(d.free, uint32(i*64+b))
		}
	}
}

// Alloc takes n frames. Call it only while none of the device's accesses
// is in flight. Fails with ErrOutOfDeviceMemory.
func (d *DevMem) Alloc(n int) ([]uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.free) < n {
		d.reclaimLocked()
	}
	if len(d.free) < n {
		return nil, fmt.Errorf("svm: %s: %w: need %d more frames, %d of %d free (%d KiB of device memory)",
			d.dev.Name(), ErrOutOfDeviceMemory, n, len(d.free), d.Frames(), d.Frames()*PageSize/1024)
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = d.free[len(d.free)-1-i]
	}
	d.free = d.free[:len(d.free)-n]
	return out, nil
}

// Free returns frames that never got a page.
func (d *DevMem) Free(frames []uint32) {
	d.mu.Lock()
	d.free = append(d.free, frames...)
	d.mu.Unlock()
}

// Counters returns the host-side counters of this device: CPU faults that
// brought its pages home and pages moved each way.
func (d *DevMem) Counters() (cpuFaults, pagesH2D, pagesD2H, dropped int64) {
	c := uffd.Counters(d.id)
	return int64(c.CPUFaults), int64(c.PagesH2D), int64(c.PagesD2H), int64(c.Dropped)
}

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

// MigrateResult counts what a migration did.
type MigrateResult struct {
	Moved    int // pages copied into device memory by this call
	Resident int // pages that were already on this device
	Missed   int // pages left elsewhere: busy for too long, or the address space changed
}

// noFrame marks a page a migration must not claim (C skips frames beyond
// the arena).
const noFrame = ^uint32(0)

// Migrate moves the pages of [start, start+npages*PageSize) into d's memory.
// start must be page aligned and the range inside one migratable mapping v
// (as returned by Resolve). Pages resident on another device are brought
// home first. Call only while none of d's accesses is in flight. Pages it
// could not move are counted in Missed; the caller decides what to do
// (a device maps them remotely).
func (d *DevMem) Migrate(v VMA, start uintptr, npages int) (MigrateResult, error) {
	return d.migrate(v, start, npages, false)
}

// Duplicate gives d read-only copies of the pages of [start,
// start+npages*PageSize) while the host keeps them (read duplication): the
// host pages stay present and are write-protected, so host reads cost
// nothing and a host write collapses the copies (the device frame is
// dropped; nothing is written back). Pages resident on a device (d or
// another) are brought home first; pages d already duplicates count as
// Resident. The rules of Migrate apply.
func (d *DevMem) Duplicate(v VMA, start uintptr, npages int) (MigrateResult, error) {
	return d.migrate(v, start, npages, true)
}

func (d *DevMem) migrate(v VMA, start uintptr, npages int, dup bool) (MigrateResult, error) {
	var r MigrateResult
	want := StateDevice
	if dup {
		want = StateDup
	}
	s := d.space
	if s.degraded != nil {
		return r, s.degraded
	}
	if d.nframes == 0 {
		return r, fmt.Errorf("svm: %s has no private memory: %w", d.dev.Name(), ErrNotSupported)
	}
	if d.released.Load() {
		return r, fmt.Errorf("svm: %s: device memory released: %w", d.dev.Name(), ErrClosed)
	}
	if start%PageSize != 0 || npages <= 0 || start < v.Start || start+uintptr(npages)*PageSize > v.End {
		return r, fmt.Errorf("svm: migrate %#x+%d pages: not page aligned or not inside %v", start, npages, v)
	}
	if !v.Migratable() {
		return r, fmt.Errorf("svm: migrate %#x: %s mapping is mirrored, not migrated: %w", start, v.Kind, ErrNotSupported)
	}
	// The caller looked at the mapping a moment ago; munmap or mremap may
	// have changed it since (their events are handled by now: Maps syncs).
	// Refuse a range that is not that mapping any more, rather than register
	// and protect whatever the address space holds there now.
	m, gen, err := s.verifiedMaps([2]uintptr{start, start + uintptr(npages)*PageSize})
	if err != nil {
		return r, err
	}
	end := start + uintptr(npages)*PageSize
	for a := start; a < end; {
		cur, ok := m.Find(a) // registration splits mappings: walk them
		if !ok {
			return r, fmt.Errorf("svm: migrate %#x: the mapping changed (now unmapped, was %v): %w", a, v, ErrDeviceFault)
		}
		if !cur.Migratable() {
			return r, fmt.Errorf("svm: migrate %#x: %v is mirrored, not migrated (was %v): %w", a, cur, v, ErrNotSupported)
		}
		a = cur.End
	}
	// The thread that runs the migration must not own a page of its own
	// stack or TLS while it runs (it would fault on itself): stay on one
	// thread, and refuse the mappings holding them. Normally the migration
	// rule has classified them already (KindStack, KindSystem); this
	// catches a heuristic miss.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sp, tp := uffd.ThreadSelf()
	for _, a := range [...]uintptr{sp, tp} {
		if cur, ok := m.Find(a); ok && cur.Start < end && start < cur.End {
			return r, fmt.Errorf("svm: migrate %#x+%d pages: %v holds the migrating thread's stack or TLS: %w", start, npages, cur, ErrNotSupported)
		}
	}
	if err := s.register(start, npages); err != nil {
		return r, fmt.Errorf("svm: migrate %#x: %w", start, err)
	}
	res := make([]uint8, uffd.MaxRun)
	frames := make([]uint32, uffd.MaxRun)
	for done := 0; done < npages; done += uffd.MaxRun {
		n := min(npages-done, uffd.MaxRun)
		at := start + uintptr(done)*PageSize
		before := countState(at, n, d.id, want)
		moved := 0
		for attempt := 0; attempt < 100; attempt++ {
			// Pages of other devices come home first; pages already here
			// get no frame.
			need := 0
			for i := 0; i < n; i++ {
				w := uffd.Load(at + uintptr(i)*PageSize)
				frames[i] = noFrame
				switch st := uffd.State(w); {
				case st == want && uffd.Dev(w) == d.id:
					continue
				case st == StateDevice || st == StateDup:
					// Another device's page, a duplicate being made
					// exclusive, or a page of ours being duplicated: home
					// first (a duplicate just collapses, no copy).
					if _, err := uffd.MigrateOut(at+uintptr(i)*PageSize, 1); err != nil {
						return r, err
					}
				}
				frames[i] = 0 // placeholder: gets a real frame below
				need++
			}
			if need == 0 {
				break
			}
			got, err := d.Alloc(need)
			if err != nil {
				return r, err
			}
			for i, k := 0, 0; i < n; i++ {
				if frames[i] != noFrame {
					frames[i] = got[k]
					k++
				}
			}
			m, err := uffd.MigrateIn(at, d.id, frames[:n], res[:n], dup, gen)
			var unused []uint32
			busy := false
			for i := 0; i < n; i++ {
				if frames[i] != noFrame && (err != nil || res[i] != uffd.Migrated) {
					unused = append(unused, frames[i])
				}
				busy = busy || (frames[i] != noFrame && res[i] == uffd.Busy)
			}
			d.Free(unused)
			if err != nil {
				return r, fmt.Errorf("svm: migrate %#x: %w", at, err)
			}
			moved += m
			if !busy {
				break
			}
			// Another thread owns some pages for a moment (a CPU fault being
			// serviced): let it finish.
			runtime.Gosched()
		}
		after := countState(at, n, d.id, want)
		r.Moved += moved
		r.Resident += before
		r.Missed += n - after
	}
	return r, nil
}

// Evict frees d's frames holding pages of [start, start+npages*PageSize) —
// only d's: pages of other devices and pages in transit are left alone.
// Resident pages are written back with their data, so the CPU side stays
// valid; read duplicates are dropped (the host copy is current). Used for
// eviction under oversubscription. Returns the pages written back and the
// duplicates dropped. Call only while none of d's accesses is in flight.
func (d *DevMem) Evict(start uintptr, npages int) (written, dropped int, err error) {
	s := d.space
	if s.degraded != nil || d.nframes == 0 {
		return 0, 0, nil
	}
	start &^= PageSize - 1
	for i := 0; i < npages; {
		if !d.holds(uffd.Load(start + uintptr(i)*PageSize)) {
			i++
			continue
		}
		j := i + 1
		for j < npages && j-i < uffd.MaxRun && d.holds(uffd.Load(start+uintptr(j)*PageSize)) {
			j++
		}
		dropped += countState(start+uintptr(i)*PageSize, j-i, d.id, StateDup)
		n, err := uffd.MigrateOut(start+uintptr(i)*PageSize, j-i)
		written += n
		if err != nil {
			return written, dropped, fmt.Errorf("svm: evict %#x+%d pages from %s: %w", start+uintptr(i)*PageSize, j-i, d.dev.Name(), err)
		}
		i = j
	}
	if written+dropped > 0 {
		s.invalidateAll(start, start+uintptr(npages)*PageSize)
	}
	return written, dropped, nil
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

func countState(at uintptr, n, id, state int) int {
	c := 0
	for i := 0; i < n; i++ {
		w := uffd.Load(at + uintptr(i)*PageSize)
		if uffd.State(w) == state && uffd.Dev(w) == id {
			c++
		}
	}
	return c
}

// MigrateToHost brings every device-resident page of [start, start+length)
// home (explicit migration; no CPU fault is taken). Returns pages moved.
func (s *Space) MigrateToHost(start, length uintptr) (int, error) {
	if s.degraded != nil || length == 0 {
		return 0, nil // nothing can be on a device
	}
	if start+length < start || start+length > UserSpaceEnd {
		return 0, &FaultError{Device: "host", Addr: start, Reason: fmt.Sprintf("migration of %d bytes at %#x runs past the end of the user address space", length, start), Err: ErrDeviceFault}
	}
	first := start &^ (PageSize - 1)
	end := (start + length + PageSize - 1) &^ (PageSize - 1)
	// Only the pages that are not on the host need the service thread: skip
	// to them through the page table, so a huge range costs what it holds,
	// and hand them over in bounded requests.
	const maxRequest = 4096
	moved := 0
	for a := first; a < end; {
		next, ok := uffd.NextNonHost(a)
		if !ok || next >= end {
			break
		}
		n := min((end-next)/PageSize, maxRequest)
		m, err := uffd.MigrateOut(next, int(n))
		moved += m
		if err != nil {
			return moved, fmt.Errorf("svm: migrate %#x+%d to host: pages from %#x: %w", start, length, next, err)
		}
		a = next + n*PageSize
	}
	s.invalidateAll(first, end)
	return moved, nil
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

// Discard declares the content of the whole pages inside [start,
// start+length) no longer needed: device copies are dropped without being
// written back and host pages are released (MADV_DONTNEED), so the pages
// read as zero afterwards. Partial pages at either end are left alone.
// Returns the number of pages discarded. (A page that a migration is
// zapping at that very moment keeps the migrated copy — the known gap of
// user discards racing a migration of the same page, see drop_range.)
//
// The memory must hold no Go pointers (the garbage collector is not told
// that they vanish): use it on numeric data, as for Memfill.
func (s *Space) Discard(start, length uintptr) (int, error) {
	first := (start + PageSize - 1) &^ (PageSize - 1)
	end := (start + length) &^ (PageSize - 1)
	if end <= first {
		return 0, nil
	}
	// Only memory a device may write can be discarded: a count beyond the
	// buffer must not zap its neighbours (the Go heap, libc's data).
	m, err := s.Maps(true)
	if err != nil {
		return 0, err
	}
	if err := m.CheckRange("host", first, end-first, true); err != nil {
		return 0, fmt.Errorf("svm: discard: %w", err)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, first, end-first, syscall.MADV_DONTNEED); e != 0 {
		return 0, fmt.Errorf("svm: discard %#x..%#x: madvise: %w", first, end, e)
	}
	// The REMOVE event has been read by the service thread when madvise
	// returns; Sync waits until it has been applied (device copies dropped).
	s.Sync()
	s.invalidateAll(first, end)
	return int((end - first) / PageSize), nil
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

// Release brings every page d holds home, with its data, and frees the
// device slot and arena. The device must not run kernels afterwards.
//
// It waits out pages in transit: a page the fault-service thread is copying
// home, or a migration in flight, still names the device; the slot is only
// detached (and the arena unmapped) once no word in the page table does.
func (d *DevMem) Release() error {
	if !d.released.CompareAndSwap(false, true) {
		return nil
	}
	s := d.space
	_, firstErr := d.bringHome("release")
	s.mu.Lock()
	s.devices[d.id] = nil
	s.maps = nil
	s.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.arena != nil {
		uffd.DetachDevice(d.id)
		if err := syscall.Munmap(d.arena); err != nil && firstErr == nil {
			firstErr = err
		}
		d.arena = nil
	}
	return firstErr
}

// ReleaseAll brings every page d holds home, with its data, and keeps the
// device attached: its frames are free afterwards and its next accesses
// fault the pages back. It returns how many pages came home (read
// duplicates are dropped, not counted: the host copy is current). Call
// only while none of d's accesses is in flight.
func (d *DevMem) ReleaseAll() (int, error) {
	if d.released.Load() {
		return 0, fmt.Errorf("svm: release %s: device memory released: %w", d.dev.Name(), ErrClosed)
	}
	return d.bringHome("release")
}

// bringHome migrates every page that names d home, in runs, and waits out
// pages in transit: a page the fault-service thread is copying home, or a
// migration in flight, still names the device. Devices' translations of
// what moved are invalidated. It returns the pages written back.
func (d *DevMem) bringHome(what string) (int, error) {
	s := d.space
	var firstErr error
	moved := 0
	if d.nframes > 0 && s.degraded == nil {
		for pass := 0; ; pass++ {
			busy := 0
			var runs [][2]uintptr // [start, pages) of contiguous device pages
			err := uffd.Walk(func(addr uintptr, w uint64) {
				if uffd.Dev(w) != d.id || uffd.State(w) == StateFilling {
					return
				}
				busy++
				if uffd.State(w) != StateDevice && uffd.State(w) != StateDup {
					return // in transit: look again on the next pass
				}
				if n := len(runs); n > 0 && runs[n-1][0]+runs[n-1][1]*PageSize == addr {
					runs[n-1][1]++
				} else {
					runs = append(runs, [2]uintptr{addr, 1})
				}
			})
			if err != nil && firstErr == nil {
				firstErr = err
			}
			for _, r := range runs {
				n, err := uffd.MigrateOut(r[0], int(r[1]))
				moved += n
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("svm: %s %s: bring %#x home: %w", what, d.dev.Name(), r[0], err)
				}
				s.invalidateAll(r[0], r[0]+r[1]*PageSize)
			}
			if busy == 0 {
				break
			}
			if pass == 10000 {
				if firstErr == nil {
					firstErr = fmt.Errorf("svm: %s %s: %d pages would not come home", what, d.dev.Name(), busy)
				}
				break
			}
			if pass > 0 {
				runtime.Gosched()
			}
		}
	}
	return moved, firstErr
}
