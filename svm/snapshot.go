package svm

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// PageState is what Snapshot reports for one page.
type PageState int

const (
	PageNoAccess      PageState = iota // unmapped, PROT_NONE, or not host memory
	PageNotPresent                     // mapped, host-owned, no page yet (reads as zero / file content)
	PageZero                           // mapped to the shared zero page
	PageReadOnly                       // present on the host, mapping read-only
	PageWritable                       // present on the host, mapping writable
	PageOnDevice                       // resident on the viewing device
	PageOnOtherDevice                  // resident on another device
	PageInTransit                      // being migrated right now
	PageDuplicated                     // present on the host (write-protected) and read-duplicated on a device
)

func (p PageState) String() string {
	return [...]string{"no-access", "not-present", "zero-page", "read-only", "writable", "on-device", "on-other-device", "in-transit", "duplicated"}[p]
}

// PageInfo describes one page.
type PageInfo struct {
	Addr   uintptr
	State  PageState
	Device int // owning device slot for PageOnDevice/PageOnOtherDevice
	// Exclusive: device Device holds the page exclusively (as after HMM's
	// make_device_exclusive, for device atomics): the CPU has no mapping of
	// it, so the CPU's next touch faults and revokes the
	// device's access, bringing the page home with every device update.
	// Every page resident on a device is held so; a read duplicate is
	// shared with the host (not exclusive), and so are pages a device maps
	// remotely.
	Exclusive bool
	Kind      Kind
}

var (
	zeroProbe   byte
	pagemapOnce sync.Once
	pagemap     *os.File
	zeroPFN     uint64 // PFN of the shared zero page, 0 when PFNs are hidden
)

const (
	pmPresent = 1 << 63
	pmSwapped = 1 << 62
	pmPFNMask = 1<<55 - 1
)

func openPagemap() {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return
	}
	pagemap = f
	// Find the zero page's PFN: map a page, read it (maps the zero page),
	// look it up. PFNs read as 0 without CAP_SYS_ADMIN: then zero-page
	// detection is off and such pages report as present.
	mem, err := syscall.Mmap(-1, 0, PageSize, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return
	}
	zeroProbe += mem[0] // a real load (a blank assignment would be optimised away)
	if e, err := pagemapEntry(uintptr(unsafe.Pointer(&mem[0]))); err == nil && e&pmPresent != 0 {
		zeroPFN = e & pmPFNMask
	}
	syscall.Munmap(mem)
}

func pagemapEntry(addr uintptr) (uint64, error) {
	var b [8]byte
	if _, err := pagemap.ReadAt(b[:], int64(addr/PageSize)*8); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// MaxSnapshotPages bounds one Snapshot: it returns an entry per page, so a
// larger range (4 GiB of 4 KiB pages) is refused rather than allocated.
const MaxSnapshotPages = 1 << 20

// Snapshot reports the state of every page of [start, start+length) as seen
// by device slot viewer (0 for the host's view), without faulting anything
// in: it reads the logical page table, the mappings and /proc/self/pagemap.
// A range that wraps or leaves the user address space is ErrDeviceFault; one
// of more than MaxSnapshotPages pages is ErrInvalidValue.
func (s *Space) Snapshot(start, length uintptr, viewer int) ([]PageInfo, error) {
	if length == 0 {
		return nil, nil
	}
	if start+length < start || start+length > UserSpaceEnd {
		return nil, &FaultError{Device: "host", Addr: start, Reason: fmt.Sprintf("snapshot of %d bytes at %#x runs past the end of the user address space", length, start), Err: ErrDeviceFault}
	}
	if pages := (start+length+PageSize-1)/PageSize - start/PageSize; pages > MaxSnapshotPages {
		return nil, fmt.Errorf("svm: snapshot of %d bytes at %#x: %d pages, more than the %d one snapshot reports: %w", length, start, pages, MaxSnapshotPages, ErrInvalidValue)
	}
	pagemapOnce.Do(openPagemap)
	if pagemap == nil {
		return nil, fmt.Errorf("svm: snapshot: /proc/self/pagemap unavailable: %w", ErrNotSupported)
	}
	s.Sync()
	maps, err := s.Maps(true)
	if err != nil {
		return nil, err
	}
	first := start &^ (PageSize - 1)
	n := int((start + length - first + PageSize - 1) / PageSize)
	out := make([]PageInfo, n)
	entries := make([]byte, 8*n)
	if _, err := pagemap.ReadAt(entries, int64(first/PageSize)*8); err != nil {
		return nil, fmt.Errorf("svm: snapshot: read pagemap: %w", err)
	}
	for i := range out {
		a := first + uintptr(i)*PageSize
		v, ok := maps.Find(a)
		info := PageInfo{Addr: a, Kind: v.Kind}
		w := uffd.Load(a)
		switch {
		case !ok || !v.Accessible():
			info.State = PageNoAccess
		case uffd.State(w) == StateDevice:
			info.Device = uffd.Dev(w)
			info.State = PageOnOtherDevice
			info.Exclusive = true
			if info.Device == viewer {
				info.State = PageOnDevice
			}
		case uffd.State(w) == StateDup:
			info.State = PageDuplicated
			info.Device = uffd.Dev(w)
		case uffd.State(w) != StateHost && uffd.State(w) != StateFilling:
			info.State = PageInTransit
			info.Device = uffd.Dev(w)
		default:
			e := binary.LittleEndian.Uint64(entries[8*i:])
			switch {
			case e&(pmPresent|pmSwapped) == 0:
				info.State = PageNotPresent
			case e&pmPresent != 0 && zeroPFN != 0 && e&pmPFNMask == zeroPFN:
				info.State = PageZero
			case v.Write:
				info.State = PageWritable
			default:
				info.State = PageReadOnly
			}
		}
		out[i] = info
	}
	return out, nil
}
