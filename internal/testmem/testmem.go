// Package testmem maps memory for tests: private anonymous mappings with a
// chosen protection, size or alignment, unmapped when the test ends, an
// address with nothing mapped, and typed views of mapped bytes. SVM tests
// need memory the runtime sees as ordinary process memory (not the Go
// heap), at page granularity and with exact protections; this package is
// the one place that makes it. It is imported only by tests.
//
// It imports nothing from the module, so svm's in-package tests can use it.
package testmem

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// PageSize is the size of a host page.
var PageSize = os.Getpagesize()

// Map maps bytes of private anonymous memory with protection prot
// (syscall.PROT_*) and unmaps it when t and its subtests finish. It fails
// t if the mapping fails, and t errs if the unmap does (syscall.Munmap
// refuses a mapping it has already unmapped). A test that unmaps or moves
// memory itself (munmap and mremap are what it tests) maps it with
// syscall.Mmap instead: the cleanup would unmap whatever is mapped at that
// address by then.
func Map(t testing.TB, bytes int, prot int) []byte {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, bytes, prot, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatalf("testmem: mmap %d bytes: %v", bytes, err)
	}
	t.Cleanup(func() {
		if err := syscall.Munmap(b); err != nil {
			t.Errorf("testmem: munmap %#x: %v", Addr(b), err)
		}
	})
	return b
}

// Pages maps n pages as Map does.
func Pages(t testing.TB, n int, prot int) []byte {
	t.Helper()
	return Map(t, n*PageSize, prot)
}

// Aligned maps bytes of read-write memory starting on a multiple of align
// (a power of two, e.g. 2 MiB for tests whose cost or layout depends on
// where a buffer sits in its VA block). It maps bytes+align and returns
// the aligned part; the whole mapping is unmapped when t finishes.
func Aligned(t testing.TB, bytes, align int) []byte {
	t.Helper()
	if align <= 0 || align&(align-1) != 0 {
		t.Fatalf("testmem: alignment %d is not a power of two", align)
	}
	b := Map(t, bytes+align, syscall.PROT_READ|syscall.PROT_WRITE)
	off := (align - int(Addr(b)%uintptr(align))) % align
	return b[off : off+bytes : off+bytes]
}

// HoleSize is how many bytes from the address Hole returns are unmapped
// (16 pages of 4 KiB).
const HoleSize = 16 << 12

// Hole returns an address with nothing mapped in [addr, addr+HoleSize). It
// looks on 1 TiB boundaries from 1 TiB up, far from where mmap places
// mappings (top-down from below the stack), so the range stays a hole
// while the test runs; it fails t if /proc/self/maps cannot be read or
// shows no such range.
func Hole(t testing.TB) uintptr {
	t.Helper()
	ms, err := readMaps()
	if err != nil {
		t.Fatalf("testmem: %v", err)
	}
	const userSpaceEnd = uintptr(1) << 47
	for a := uintptr(1) << 40; a < userSpaceEnd; a += 1 << 40 {
		if !overlaps(ms, a, a+HoleSize) {
			return a
		}
	}
	t.Fatal("testmem: no hole in the address space")
	return 0
}

// mapping is one line of /proc/self/maps: [lo, hi) and its permissions.
type mapping struct {
	lo, hi uintptr
	perms  string
}

func readMaps() ([]mapping, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m mapping
		if _, err := fmt.Sscanf(sc.Text(), "%x-%x %s", &m.lo, &m.hi, &m.perms); err != nil {
			return nil, fmt.Errorf("/proc/self/maps: %q: %v", sc.Text(), err)
		}
		ms = append(ms, m)
	}
	return ms, sc.Err()
}

func overlaps(ms []mapping, lo, hi uintptr) bool {
	for _, m := range ms {
		if m.lo < hi && lo < m.hi {
			return true
		}
	}
	return false
}

// Addr is the address of b's first byte.
func Addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// Float32s views b as float32s (len(b)/4 of them, sharing b's memory).
func Float32s(b []byte) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// Int32s views b as int32s.
func Int32s(b []byte) []int32 {
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// Uint32s views b as uint32s.
func Uint32s(b []byte) []uint32 {
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}
