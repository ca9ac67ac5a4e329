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
