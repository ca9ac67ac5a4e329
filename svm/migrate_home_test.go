package svm

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm/internal/cmem"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// A page held in transit by a thread that does not let go (here a
// migration the zap delay keeps between its copy and its zap) makes
// MigrateToHost give up with ETIMEDOUT after 10 s without progress instead
// of waiting for ever; once the holder finishes, the page comes home with
// its data.
func TestMigrateToHostGivesUpOnAPageHeldInTransit(t *testing.T) {
	if !inChild(t, 60*time.Second) {
		return
	}
	const pages = 4
	m := attach(t, pages)
	mem := mmapRW(t, pages*PageSize)
	for i := 0; i < pages; i++ {
		mem[i*PageSize] = byte(i + 41)
	}
	base := testmem.Addr(mem)
	v := resolve(t, base)
	uffd.SetZapDelay(13*time.Second, 0)
	defer uffd.SetZapDelay(0, 0)
	done := make(chan error, 1)
	go func() {
		_, err := m.Migrate(v, base, pages)
		done <- err
	}()
	awaitZapping(t, base)
	start := time.Now()
	_, err := Default().MigrateToHost(base, pages*PageSize)
	took := time.Since(start)
	if !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("MigrateToHost of pages held in transit: %v after %v, want ETIMEDOUT", err, took)
	}
	if took < 9*time.Second || took > 12*time.Second {
		t.Errorf("MigrateToHost gave up after %v, want about 10 s (no progress for that long)", took)
	}
	if err := <-done; err != nil {
		t.Fatalf("the holding migration: %v", err)
	}
	for i := 0; i < pages; i++ {
		if got := mem[i*PageSize]; got != byte(i+41) {
			t.Fatalf("page %d: %d after the migration and its way home, want %d", i, got, i+41)
		}
	}
}

// Guards against a bug found in review: bring_back copies a window of up to 64 pages with one UFFDIO_COPY,
// but UFFDIO_COPY fails with ENOENT (copying nothing) when the range crosses
// a VMA boundary (an mprotect split the mapping). bring_back then restores
// every page to DEVICE, notes an "error" and returns 1, which
// svm_migrate_out counts as one page moved and steps over: MigrateToHost
// reports success and leaves the pages before the boundary on the device.
func TestMigrateToHostAcrossVMASplit(t *testing.T) {
	m := attach(t, 16)
	mem := testmem.Map(t, 8*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	for i := range mem {
		mem[i] = byte(i/PageSize) + 1
	}
	migrateRange(t, m, unsafe.Pointer(&mem[0]), len(mem))
	if err := syscall.Mprotect(mem[4*PageSize:], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	base := testmem.Addr(mem)
	errs := Default().ServiceStats().Errors
	n, err := Default().MigrateToHost(base, uintptr(len(mem)))
	if err != nil {
		t.Fatal(err)
	}
	if left := staleWords(base, 8); left > 0 {
		t.Fatalf("MigrateToHost reported %d pages moved but %d of 8 are still on the device (service errors +%d)",
			n, left, Default().ServiceStats().Errors-errs)
	}
	for i := 0; i < len(mem); i += PageSize {
		if mem[i] != byte(i/PageSize)+1 {
			t.Fatalf("page %d lost", i/PageSize)
		}
	}
}

// Guards against a bug found in review: svm_migrate_out copies device frames into a bounce buffer from
// aligned_alloc — C heap memory, which is migratable. When that buffer lands
// on C heap pages that are device-resident (a malloc'd buffer was migrated,
// then freed, and malloc hands the same chunk to the bounce), bring_back
// claims a page RETURNING and then memcpy's into the same (absent) page: the
// thread faults on a page it owns itself, the service thread defers the
// fault forever, and MigrateToHost (Release, another device's Migrate)
// never returns. Had the service thread been in drop_range waiting for that
// RETURNING page, every CPU fault of the process would hang too.
func TestMigrateOutBounceOnDevice(t *testing.T) {
	if !inChild(t, 5*time.Second) {
		return
	}
	runtime.LockOSThread() // every C call below on one thread: one glibc arena
	defer runtime.UnlockOSThread()
	const pages = 64 // svm_migrate_out's bounce is MAX_RUN pages
	m := attach(t, 4*pages)
	s := Default()
	// A program that once malloc'd and freed a 1 MiB buffer: glibc raises
	// its mmap threshold, and the 256 KiB bounce comes from the heap.
	cmem.Free(cmem.Malloc(1<<20, 16))
	// What the application does: malloc a buffer (the same chunk the bounce
	// will get), let a device migrate it, free it.
	p := cmem.Malloc(2*pages*PageSize, PageSize)
	if p == nil {
		t.Fatal("malloc")
	}
	buf := bytesAt(uintptr(p), 2*pages*PageSize)
	for i := 0; i < len(buf); i += PageSize {
		buf[i] = 1
	}
	guard := cmem.Malloc(64<<10, 16) // keeps the chunk away from the arena top (no trim on free)
	migrateRange(t, m, p, len(buf))
	sayf("before free: %d on device; stats %+v", staleWords(uintptr(p), pages), s.ServiceStats())
	cmem.Free(p)
	sayf("p=%p guard=%p after free: %d of %d pages still on the device; stats %+v", p, guard, staleWords(uintptr(p), pages), pages, s.ServiceStats())
	defer cmem.Free(guard)
	// Explicit migration home of the (freed, still device-resident) range.
	// On this (locked) thread, so the bounce comes from the same arena.
	stop := time.AfterFunc(3*time.Second, func() {
		sayf("HANG: MigrateToHost of a range the bounce buffer overlaps; %d pages still on the device; service stats %+v",
			staleWords(uintptr(p), pages), s.ServiceStats())
	})
	n, err := s.MigrateToHost(uintptr(p), pages*PageSize)
	stop.Stop()
	sayf("moved %d", n)
	if err != nil {
		t.Fatal(err)
	}
}
