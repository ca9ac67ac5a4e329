package svm

import (
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
)

// framesOf returns the frame each page of [start, start+pages) occupies on m.
func framesOf(t *testing.T, m *DevMem, start uintptr, pages int) []uint64 {
	t.Helper()
	out := make([]uint64, pages)
	for i := range out {
		w := atomic.LoadUint64(PTE(start+uintptr(i)*PageSize, false))
		if WordState(w) != StateDevice || WordDevice(w) != m.ID() {
			t.Fatalf("page %d: word %#x, want on %s", i, w, m.dev.Name())
		}
		out[i] = WordFrame(w)
	}
	return out
}

// residentFrames counts the frames of fs whose arena memory is backed
// (mincore of the shared arena: resident in the page cache).
func residentFrames(t *testing.T, m *DevMem, fs []uint64) int {
	t.Helper()
	vec := make([]byte, m.Frames())
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, m.Base(), uintptr(m.Frames())*PageSize, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, f := range fs {
		n += int(vec[f] & 1)
	}
	return n
}

func fillWords(b []byte, seed uint64) {
	w := unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
	for i := range w {
		w[i] = seed + uint64(i)
	}
}

func checkWords(t *testing.T, b []byte, seed uint64) {
	t.Helper()
	w := unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
	for i, v := range w {
		if v != seed+uint64(i) {
			t.Fatalf("word %d is %d, want %d", i, v, seed+uint64(i))
		}
	}
}

// Frames whose pages come home (or are unmapped) in runs of 16 or more
// while the device runs no operation are given back to the kernel (the
// process does not keep a second copy of what went to the device and came
// back), and a later migration that reuses them gets fresh memory with the
// right data. A lone page's frame stays backed when it was copied home
// (giving it back costs a TLB shootdown, more than the fault's own work);
// from a zero-copy arena it goes home with the page. During an operation
// (BeginAccess) frames stay backed: a device TLB may still map them.
// (A zero-copy arena's pages that came home all moved: its frames hold
// nothing, whatever the run's length.)
func TestFramesGivenBackWhenPagesLeaveTheDevice(t *testing.T) {
	m := attach(t, 64)
	const pages = 16
	b := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	home := func(want int) {
		t.Helper()
		if n, err := Default().MigrateToHost(testmem.Addr(b), uintptr(len(b))); err != nil || n != want {
			t.Fatalf("MigrateToHost: %d pages, %v; want %d", n, err, want)
		}
	}

	for round, seed := range []uint64{1000, 5000} {
		fillWords(b, seed)
		start, _ := migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
		fs := framesOf(t, m, start, pages)
		if got := residentFrames(t, m, fs); got != pages {
			t.Fatalf("round %d: %d of %d frames backed after the migration", round, got, pages)
		}
		trimmed := m.TrimmedFrames()
		home(pages)
		if got := m.TrimmedFrames() - trimmed; got != pages {
			t.Errorf("round %d: %d frames trimmed as %d pages came home, want all", round, got, pages)
		}
		if got := residentFrames(t, m, fs); got != 0 {
			t.Errorf("round %d: %d of %d frames still backed after their pages came home", round, got, pages)
		}
		checkWords(t, b, seed)
	}

	// A lone CPU fault (no read-ahead yet) keeps its frame, unless the page
	// moved home out of it.
	wantTrimmed, wantBacked := 0, 1
	if m.ZeroCopy() {
		wantTrimmed, wantBacked = 1, 0
	}
	fillWords(b, 7000)
	start, _ := migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	fs := framesOf(t, m, start, pages)
	Default().ResetFaultWindow()
	trimmed := m.TrimmedFrames()
	if got := *(*uint64)(unsafe.Pointer(&b[5*PageSize])); got != 7000+5*PageSize/8 {
		t.Fatalf("page 5 reads %d", got)
	}
	if got := m.TrimmedFrames() - trimmed; got != int64(wantTrimmed) {
		t.Errorf("%d frames trimmed by one CPU fault, want %d", got, wantTrimmed)
	}
	if got := residentFrames(t, m, fs[5:6]); got != wantBacked {
		t.Errorf("the frame of a page one fault brought home: %d backed, want %d", got, wantBacked)
	}
	home(pages - 1)
	checkWords(t, b, 7000)

	m.BeginAccess()
	fillWords(b, 9000)
	start, _ = migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	fs = framesOf(t, m, start, pages)
	trimmed = m.TrimmedFrames()
	home(pages)
	m.EndAccess()
	if got := m.TrimmedFrames() - trimmed; got != 0 {
		t.Errorf("%d frames trimmed during a device operation, want none", got)
	}
	if got := residentFrames(t, m, fs); got != pages {
		t.Errorf("%d of %d frames backed after pages came home during an operation, want all", got, pages)
	}
	checkWords(t, b, 9000)

	// Device pages dropped by munmap give their frames back too — not a
	// zero-copy arena's (TestZeroCopyArenaAfterMunmap).
	if m.ZeroCopy() {
		return
	}
	u := mmapRW(t, pages*PageSize)
	fillWords(u, 42)
	start, _ = migrateRange(t, m, unsafe.Pointer(&u[0]), len(u))
	fs = framesOf(t, m, start, pages)
	trimmed = m.TrimmedFrames()
	if err := syscall.Munmap(u); err != nil {
		t.Fatal(err)
	}
	Default().Sync()
	if got := m.TrimmedFrames() - trimmed; got != pages {
		t.Errorf("%d frames trimmed as %d device pages were unmapped, want all", got, pages)
	}
	if got := residentFrames(t, m, fs); got != 0 {
		t.Errorf("%d of %d frames still backed after their pages were unmapped", got, pages)
	}
}

// HeldFrames counts the frames holding pages: the pages a migration moved
// in, and none once they came home (released frames count as free before
// the allocator reclaims them).
func TestHeldFramesFollowsResidentPages(t *testing.T) {
	m := attach(t, 64)
	const pages = 12
	b := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	fillWords(b, 3)
	if got := m.HeldFrames(); got != 0 {
		t.Fatalf("%d frames held before any migration", got)
	}
	migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	if got := m.HeldFrames(); got != pages {
		t.Fatalf("%d frames held after migrating %d pages", got, pages)
	}
	if n, err := Default().MigrateToHost(testmem.Addr(b)+4*PageSize, 4*PageSize); err != nil || n != 4 {
		t.Fatalf("MigrateToHost: %d pages, %v; want 4", n, err)
	}
	if got := m.HeldFrames(); got != pages-4 {
		t.Errorf("%d frames held after 4 of %d pages came home", got, pages)
	}
	checkWords(t, b, 3) // all home now: the CPU reads bring the rest
	if got := m.HeldFrames(); got != 0 {
		t.Errorf("%d frames held after every page came home", got)
	}
}
