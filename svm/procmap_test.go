package svm

import (
	"errors"
	"syscall"
	"testing"
	"unsafe"
)

// VerifiedMaps sees the changes that send no userfaultfd event — mprotect,
// munmap and mmap of memory never registered — for the ranges it is asked
// about, whether it answers from PROCMAP_QUERY or from a full re-read.
func TestVerifiedMapsSeesUnsignalledChanges(t *testing.T) {
	if _, _, err := queryMapping(uintptr(unsafe.Pointer(&t))); errors.Is(err, errNoProcmapQuery) {
		t.Logf("kernel without PROCMAP_QUERY: VerifiedMaps re-reads /proc/self/maps")
	} else if err != nil {
		t.Fatal(err)
	}
	s := Default()
	const size = 4 * PageSize
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(&b[0]))
	r := [2]uintptr{base, base + size}
	find := func(what string, addr uintptr) (VMA, bool) {
		t.Helper()
		m, err := s.VerifiedMaps(r)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return m.Find(addr)
	}
	if v, ok := find("fresh mapping", base); !ok || !v.Read || !v.Write || !v.Migratable() {
		t.Fatalf("fresh rw mapping: %v (found %v), want read-write private anonymous", v, ok)
	}
	// mprotect of the second page: that page is read-only, the first still
	// writable.
	if err := syscall.Mprotect(b[PageSize:2*PageSize], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if v, ok := find("after mprotect", base+PageSize); !ok || !v.Read || v.Write {
		t.Errorf("after mprotect PROT_READ: %v, want read-only", v)
	}
	if v, _ := find("after mprotect", base); !v.Write {
		t.Errorf("the page mprotect left alone: %v, want writable", v)
	}
	// munmap of the last page (never registered: no event).
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, base+3*PageSize, PageSize, 0); e != 0 {
		t.Fatal(e)
	}
	if v, ok := find("after munmap", base+3*PageSize); ok {
		t.Errorf("after munmap: %v still mapped", v)
	}
	// mmap into the hole again, read-only.
	p, _, e := syscall.Syscall6(syscall.SYS_MMAP, base+3*PageSize, PageSize, syscall.PROT_READ,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_FIXED, ^uintptr(0), 0)
	if e != 0 || p != base+3*PageSize {
		t.Fatalf("mmap into the hole: %v at %#x", e, p)
	}
	if v, ok := find("after mmap into the hole", base+3*PageSize); !ok || v.Write {
		t.Errorf("after mmap PROT_READ into the hole: %v (found %v), want read-only", v, ok)
	}
	if err := syscall.Munmap(b); err != nil {
		t.Fatal(err)
	}
}

// Guards against a bug found in review: device arenas (and the page-table leaves) are plain
// MAP_PRIVATE|MAP_ANON|MAP_NORESERVE mappings, so the kernel merges them
// with an adjacent user mapping of the same flags. mapsLocked classifies
// every VMA overlapping an arena as device memory: the user's memory then
// "is device memory, not a host address" (device faults) and cannot migrate.
func TestUserMappingMergedWithArena(t *testing.T) {
	m := attach(t, 256)
	const mapFixedNoreplace = 0x100000
	var p uintptr
	for _, at := range []uintptr{m.Base() - PageSize, m.Base() + uintptr(m.Frames())*PageSize} {
		r, _, e := syscall.Syscall6(syscall.SYS_MMAP, at, PageSize, syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE|mapFixedNoreplace, ^uintptr(0), 0)
		if e == 0 && r == at {
			p = r
			break
		}
		if e == 0 {
			syscall.Syscall(syscall.SYS_MUNMAP, r, PageSize, 0)
		}
	}
	if p == 0 {
		t.Skip("both neighbours of the arena are taken")
	}
	defer syscall.Syscall(syscall.SYS_MUNMAP, p, PageSize, 0)
	v, ok, err := Default().Resolve(p)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if v.Kind != KindPrivateAnon {
		t.Fatalf("user mapping at %#x (MAP_NORESERVE, next to a device arena at %#x) classified %v (VMA %v)", p, m.Base(), v.Kind, v)
	}
}
