package svm

import (
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
)

// zeroCopy attaches a device whose arena is zero-copy, or skips where the
// kernel has no UFFDIO_MOVE.
func zeroCopy(t *testing.T, frames int) *DevMem {
	t.Helper()
	m := attach(t, frames)
	if !m.ZeroCopy() {
		t.Skip("no zero-copy arena here (the kernel has no UFFDIO_MOVE)")
	}
	return m
}

// A zero-copy arena holds memory only where pages live: none after Attach,
// the migrated pages' frames after a migration, none again once they came
// home; the data makes the round trip intact.
func TestZeroCopyArenaHoldsOnlyResidentPages(t *testing.T) {
	m := zeroCopy(t, 64)
	all := make([]uint64, m.Frames())
	for i := range all {
		all[i] = uint64(i)
	}
	if got := residentFrames(t, m, all); got != 0 {
		t.Fatalf("%d frames backed after Attach, want 0", got)
	}
	const pages = 8
	b := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	fillWords(b, 300)
	start, _ := migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	fs := framesOf(t, m, start, pages)
	if got := residentFrames(t, m, all); got != pages {
		t.Fatalf("%d frames backed after migrating %d pages, want %d", got, pages, pages)
	}
	// The frames hold the pages' data (read through the arena: the
	// device's view).
	for i, f := range fs {
		frame := bytesAt(m.Base()+uintptr(f)*PageSize, PageSize)
		checkWords(t, frame, 300+uint64(i)*PageSize/8)
	}
	if n, err := Default().MigrateToHost(testmem.Addr(b), uintptr(len(b))); err != nil || n != pages {
		t.Fatalf("MigrateToHost: %d pages, %v; want %d", n, err, pages)
	}
	if got := residentFrames(t, m, all); got != 0 {
		t.Errorf("%d frames backed after the pages came home, want 0", got)
	}
	checkWords(t, b, 300)
}

// An absent frame reads as zero: the service thread fills it when a thread
// touches it, and counts it.
func TestZeroCopyArenaAbsentFrameReadsZero(t *testing.T) {
	m := zeroCopy(t, 4)
	fills := m.ArenaFills()
	p := (*uint64)(unsafe.Pointer(&bytesAt(m.Base()+3*PageSize+64, 8)[0]))
	if *p != 0 {
		t.Fatalf("an absent frame reads %#x, want 0", *p)
	}
	*p = 5 // and it takes a write after the read
	if *p != 5 {
		t.Fatalf("frame word reads %d after writing 5", *p)
	}
	if got := m.ArenaFills() - fills; got != 1 {
		t.Errorf("%d arena fills, want 1", got)
	}
}

// A frame that stayed backed (its page came home by copy while an
// operation was in flight) cannot take a page by a move; a migration that
// reuses it goes through the sink and copies, and the data is right.
func TestZeroCopyArenaReusesABackedFrame(t *testing.T) {
	const pages = 4
	m := zeroCopy(t, pages) // the second migration must reuse the same frames
	b := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	fillWords(b, 11)
	m.BeginAccess()
	start, _ := migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	fs := framesOf(t, m, start, pages)
	if n, err := Default().MigrateToHost(testmem.Addr(b), uintptr(len(b))); err != nil || n != pages {
		t.Fatalf("MigrateToHost: %d pages, %v; want %d", n, err, pages)
	}
	m.EndAccess()
	if got := residentFrames(t, m, fs); got != pages {
		t.Fatalf("%d of %d frames backed after a copy home during an operation, want all", got, pages)
	}
	checkWords(t, b, 11)
	fillWords(b, 77)
	start, _ = migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	again := framesOf(t, m, start, pages)
	for i := range fs {
		if again[i] != fs[i] {
			t.Fatalf("page %d got frame %d, want the backed frame %d again", i, again[i], fs[i])
		}
		frame := bytesAt(m.Base()+uintptr(again[i])*PageSize, PageSize)
		checkWords(t, frame, 77+uint64(i)*PageSize/8)
	}
	if n, err := Default().MigrateToHost(testmem.Addr(b), uintptr(len(b))); err != nil || n != pages {
		t.Fatalf("MigrateToHost: %d pages, %v; want %d", n, err, pages)
	}
	checkWords(t, b, 77)
}

// arenaMappings counts the mappings /proc/self/maps shows inside m's arena.
func arenaMappings(t *testing.T, m *DevMem) int {
	t.Helper()
	maps, err := ReadMaps()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	end := m.Base() + uintptr(m.Frames())*PageSize
	for _, v := range maps.VMAs {
		if v.Start < end && m.Base() < v.End {
			n++
		}
	}
	return n
}

// Device pages dropped by munmap leave a zero-copy arena's frames backed
// (the service thread must not madvise a registered range: the REMOVE event
// would wait for itself) until the allocator reclaims them, which gives
// their memory back unless a device operation is running (its TLB may map
// them; a migration into backed frames copies every page through the sink,
// which ran at 0.7 GB/s against 7). The arena stays one zero-copy mapping,
// and its frames take pages again, backed or not.
func TestZeroCopyArenaAfterMunmap(t *testing.T) {
	const pages = 32
	m := zeroCopy(t, pages)
	if got := arenaMappings(t, m); got != 1 {
		t.Fatalf("arena is %d mappings after Attach, want 1", got)
	}
	u := mmapRW(t, pages*PageSize)
	fillWords(u, 9)
	start, _ := migrateRange(t, m, unsafe.Pointer(&u[0]), len(u))
	fs := framesOf(t, m, start, pages)
	m.BeginAccess() // unmapped while an operation runs, whose TLB may map the frames
	if err := syscall.Munmap(u); err != nil {
		t.Fatal(err)
	}
	Default().Sync()
	if got := residentFrames(t, m, fs); got != pages {
		t.Errorf("%d of %d frames backed after their pages were unmapped, want all (kept for reuse)", got, pages)
	}
	if got := arenaMappings(t, m); got != 1 {
		t.Errorf("arena is %d mappings after the munmap, want 1", got)
	}
	if !m.ZeroCopy() {
		t.Errorf("the arena stopped being zero-copy")
	}
	m.FreeFrames() // reclaims them, during the operation
	if got := residentFrames(t, m, fs); got != pages {
		t.Errorf("%d of %d frames backed after a reclaim during an operation, want all", got, pages)
	}
	m.EndAccess()
	b := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	fillWords(b, 21)
	start, _ = migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	for i, f := range framesOf(t, m, start, pages) {
		checkWords(t, bytesAt(m.Base()+uintptr(f)*PageSize, PageSize), 21+uint64(i)*PageSize/8)
	}
	if n, err := Default().MigrateToHost(testmem.Addr(b), uintptr(len(b))); err != nil || n != pages {
		t.Fatalf("MigrateToHost: %d pages, %v; want %d", n, err, pages)
	}
	checkWords(t, b, 21)

	// Unmapped again, then reclaimed with no operation running: the
	// frames' memory goes back, the next migration moves straight in.
	fs = unmappedOnDevice(t, m, pages, 33)
	m.FreeFrames()
	if got := residentFrames(t, m, fs); got != 0 {
		t.Errorf("%d of %d frames still backed after the allocator reclaimed them", got, pages)
	}
	if got := arenaMappings(t, m); got != 1 {
		t.Errorf("arena is %d mappings after the reclaim, want 1", got)
	}
	fillWords(b, 55)
	start, _ = migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	for i, f := range framesOf(t, m, start, pages) {
		checkWords(t, bytesAt(m.Base()+uintptr(f)*PageSize, PageSize), 55+uint64(i)*PageSize/8)
	}
	if n, err := Default().MigrateToHost(testmem.Addr(b), uintptr(len(b))); err != nil || n != pages {
		t.Fatalf("MigrateToHost: %d pages, %v; want %d", n, err, pages)
	}
	checkWords(t, b, 55)

	// Unmapped with no operation running and not reclaimed until the next
	// operation begins: it reclaims them first, so whatever it migrates
	// moves straight in. Reclaimed only once the operation ran short of
	// frames, they had stayed backed and every page moved into them was
	// copied (a fresh-memory saxpy's third launch took three times as long
	// in its fault service as the first two).
	fs = unmappedOnDevice(t, m, pages, 77)
	m.BeginAccess()
	if got := residentFrames(t, m, fs); got != 0 {
		t.Errorf("%d of %d frames still backed once an operation began", got, pages)
	}
	m.EndAccess()
}

// unmappedOnDevice migrates a fresh mapping of pages pages (words from
// seed) into m, unmaps it while it is on the device and returns its
// frames, checked still backed (kept for reuse until a reclaim).
func unmappedOnDevice(t *testing.T, m *DevMem, pages int, seed uint64) []uint64 {
	t.Helper()
	u := mmapRW(t, pages*PageSize)
	fillWords(u, seed)
	start, _ := migrateRange(t, m, unsafe.Pointer(&u[0]), len(u))
	fs := framesOf(t, m, start, pages)
	if err := syscall.Munmap(u); err != nil {
		t.Fatal(err)
	}
	Default().Sync()
	if got := residentFrames(t, m, fs); got != pages {
		t.Errorf("%d of %d frames backed after their pages were unmapped, want all", got, pages)
	}
	return fs
}
