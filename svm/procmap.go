package svm

import (
	"errors"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Checking mappings without re-reading /proc/self/maps.
//
// mprotect has no userfaultfd event, so a device that must honour the
// current permissions of the memory it faults on cannot trust the cached
// Maps. Re-reading and parsing /proc/self/maps costs time in proportion to
// the number of mappings (hundreds of µs in a Go program with devices
// open), and a device's fault round needs it twice. Linux 6.11 answers the
// question for one address instead: the PROCMAP_QUERY ioctl on an open
// /proc/self/maps returns the mapping containing an address (bounds,
// permissions, inode) in about a microsecond. VerifiedMaps asks it for the
// addresses a caller is about to act on and re-reads the whole file only
// when an answer disagrees with the cached copy, or when the kernel has no
// PROCMAP_QUERY.

// procmapQuery is struct procmap_query of <linux/fs.h> (Linux 6.11).
type procmapQuery struct {
	size        uint64
	queryFlags  uint64
	queryAddr   uint64
	vmaStart    uint64
	vmaEnd      uint64
	vmaFlags    uint64
	vmaPageSize uint64
	vmaOffset   uint64
	inode       uint64
	devMajor    uint32
	devMinor    uint32
	nameSize    uint32
	buildIDSize uint32
	nameAddr    uint64
	buildIDAddr uint64
}

const (
	ioctlProcmapQuery = 0xC0686611 // _IOWR('f', 17, struct procmap_query)

	procmapRead   = 0x01
	procmapWrite  = 0x02
	procmapExec   = 0x04
	procmapShared = 0x08

	procmapCoveringOrNext = 0x10 // query flag: the mapping containing the address, else the next one
)

// procmap is the process's open /proc/self/maps for PROCMAP_QUERY, or why
// there is none.
var procmap struct {
	once    sync.Once
	f       *os.File
	err     error
	missing atomic.Bool // the kernel said it has no PROCMAP_QUERY: do not ask again
}

// errNoProcmapQuery: the kernel has no PROCMAP_QUERY (before 6.11).
var errNoProcmapQuery = errors.New("svm: no PROCMAP_QUERY on this kernel")

// queryMapping returns the kernel's current mapping containing addr or,
// if addr is in none, the first one above it; ok is false when there is
// no mapping at or above addr.
func queryMapping(addr uintptr) (v VMA, ok bool, err error) {
	procmap.once.Do(func() {
		procmap.f, procmap.err = os.Open("/proc/self/maps")
	})
	if procmap.err != nil {
		return VMA{}, false, procmap.err
	}
	if procmap.missing.Load() {
		return VMA{}, false, errNoProcmapQuery
	}
	q := procmapQuery{size: uint64(unsafe.Sizeof(procmapQuery{})), queryFlags: procmapCoveringOrNext, queryAddr: uint64(addr)}
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, procmap.f.Fd(), ioctlProcmapQuery, uintptr(unsafe.Pointer(&q)))
	switch e {
	case 0:
	case syscall.ENOENT:
		return VMA{}, false, nil
	case syscall.ENOTTY, syscall.EINVAL:
		procmap.missing.Store(true)
		return VMA{}, false, errNoProcmapQuery
	default:
		return VMA{}, false, e
	}
	return VMA{Start: uintptr(q.vmaStart), End: uintptr(q.vmaEnd), Read: q.vmaFlags&procmapRead != 0,
		Write: q.vmaFlags&procmapWrite != 0, Exec: q.vmaFlags&procmapExec != 0, Shared: q.vmaFlags&procmapShared != 0,
		Offset: q.vmaOffset, Inode: q.inode}, true, nil
}

// agrees reports whether cached mapping c still describes the kernel's
// mapping k at the address looked up: same permissions and the same file
// (bounds may differ: registering a range with userfaultfd splits and
// merges mappings without changing what they are).
func (c VMA) agrees(k VMA) bool {
	if c.Read != k.Read || c.Write != k.Write || c.Exec != k.Exec || c.Shared != k.Shared || c.Inode != k.Inode {
		return false
	}
	// A file mapping must map the same part of the file (an anonymous
	// mapping's offset only records where it began, which splits change).
	return c.Inode == 0 || int64(c.Offset)-int64(c.Start) == int64(k.Offset)-int64(k.Start)
}

// VerifiedMaps returns the process's mappings, current for every address
// of every range [r[0], r[1]): each is checked against the kernel's
// mappings (mprotect, which sends no event, included), and the whole table
// is re-read when one disagrees. Addresses outside the ranges are as
// current as Maps(false) makes them. Use it instead of Maps(true) when only
// some ranges matter.
func (s *Space) VerifiedMaps(ranges ...[2]uintptr) (*Maps, error) {
	m, _, err := s.verifiedMaps(ranges...)
	return m, err
}

// verifiedMaps is VerifiedMaps, also returning the address-space
// generation (uffd.GlobalStats.MapGen) the mappings are current for.
func (s *Space) verifiedMaps(ranges ...[2]uintptr) (*Maps, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.verifiedMapsLocked(ranges)
	return m, s.mapsGen, err
}

func (s *Space) verifiedMapsLocked(ranges [][2]uintptr) (*Maps, error) {
	m, err := s.mapsLocked(false)
	if err != nil {
		return nil, err
	}
	for _, r := range ranges {
		for a := r[0]; a < r[1]; {
			k, ok, err := queryMapping(a)
			if err != nil {
				return s.mapsLocked(true) // no PROCMAP_QUERY: the full read is the check
			}
			if !ok || k.Start > a {
				// A hole in the kernel's mappings from a on: the cache must
				// have nothing there either.
				end := r[1]
				if ok {
					end = min(end, k.Start)
				}
				if c, found := m.next(a); found && c.Start < end {
					return s.mapsLocked(true)
				}
				if !ok {
					break
				}
				a = k.Start
				continue
			}
			c, cok := m.Find(a)
			if !cok || !c.agrees(k) {
				return s.mapsLocked(true)
			}
			a = min(k.End, c.End)
		}
	}
	return m, nil
}

// next returns the first mapping that ends above addr.
func (m *Maps) next(addr uintptr) (VMA, bool) {
	i := sort.Search(len(m.VMAs), func(i int) bool { return m.VMAs[i].End > addr })
	if i < len(m.VMAs) {
		return m.VMAs[i], true
	}
	return VMA{}, false
}
