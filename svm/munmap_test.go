package svm

import (
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// munmapRace migrates a range to m, races MigrateToHost with munmap, and
// returns the base of the (unmapped) range if words of it are left DEVICE.
func munmapRace(t *testing.T, m *DevMem, pages int, dur time.Duration) (base uintptr, iters int, ok bool) {
	s := Default()
	deadline := time.Now().Add(dur)
	for ; time.Now().Before(deadline); iters++ {
		mem := mmapRW(t, pages*PageSize)
		base = testmem.Addr(mem)
		for i := 0; i < len(mem); i += PageSize {
			mem[i] = byte(i / PageSize)
		}
		migrateRange(t, m, unsafe.Pointer(&mem[0]), len(mem))
		var wg sync.WaitGroup
		wg.Add(2)
		start := make(chan struct{})
		delay := (iters % 40) * 200
		go func() {
			defer wg.Done()
			<-start
			s.MigrateToHost(base, uintptr(pages)*PageSize)
		}()
		go func() {
			defer wg.Done()
			<-start
			spinFor(delay)
			syscall.Munmap(mem)
		}()
		close(start)
		wg.Wait()
		s.Sync()
		if staleWords(base, pages) > 0 {
			return base, iters, true
		}
	}
	return 0, iters, false
}

// Guards against a bug found in review: drop_range ignores RETURNING pages ("the owner publishes by CAS
// and will fail; bump is enough") but does not bump the word, so the owner's
// CAS succeeds. A munmap racing with an explicit migration home
// (MigrateToHost, Release, another device's Migrate all use
// svm_migrate_out) leaves the word DEVICE on an unmapped address and the
// frame allocated forever: bring_back's UFFDIO_COPY fails with ENOENT, it
// restores DEVICE and reports the page as moved.
func TestMunmapRacingMigrateToHost(t *testing.T) {
	if !inChild(t, 20*time.Second) {
		return
	}
	const pages = 64
	m := attach(t, 2*pages)
	base, iters, stale := munmapRace(t, m, pages, 4*time.Second)
	if stale {
		w := uffd.Load(base)
		for i := 0; WordState(w) != StateDevice; i++ {
			w = uffd.Load(base + uintptr(i+1)*PageSize)
		}
		t.Fatalf("iteration %d: %d pages of the unmapped range %#x still DEVICE (e.g. word dev %d frame %d); free frames %d of %d; service errors %+v",
			iters, staleWords(base, pages), base, WordDevice(w), WordFrame(w), m.FreeFrames(), m.Frames(), Default().ServiceStats())
	}
	if got := m.FreeFrames(); got != m.Frames() {
		t.Fatalf("after %d iterations %d of %d frames free", iters, got, m.Frames())
	}
	t.Logf("%d iterations, not reproduced", iters)
}

// The consequence: the stale words outlive the mapping. A new mapping at the
// same address (the kernel reuses freed ranges) inherits them: Migrate
// counts those pages as already resident and never copies the new data,
// so the device computes on the old buffer's frame; after Release the slot
// is reattached by the next device and the words point into its arena.
func TestStaleWordPoisonsReusedAddress(t *testing.T) {
	if !inChild(t, 20*time.Second) {
		return
	}
	const pages = 64
	m := attach(t, 2*pages)
	base, _, stale := munmapRace(t, m, pages, 4*time.Second)
	if !stale {
		t.Skip("munmap race not reproduced")
	}
	const mapFixedNoreplace = 0x100000
	p, _, e := syscall.Syscall6(syscall.SYS_MMAP, base, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|mapFixedNoreplace, ^uintptr(0), 0)
	if e != 0 || p != base {
		t.Skipf("cannot map at %#x again: %v", base, e)
	}
	fresh := bytesAt(p, pages*PageSize)
	for i := range fresh {
		fresh[i] = 0x5A
	}
	v, _, err := Default().Resolve(base)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Migrate(v, base, pages)
	if err != nil {
		t.Fatal(err)
	}
	arena := bytesAt(m.Base(), m.Frames()*PageSize)
	wrong := 0
	for i := 0; i < pages; i++ {
		w := uffd.Load(base + uintptr(i)*PageSize)
		if WordState(w) == StateDevice && WordDevice(w) == m.ID() && arena[WordFrame(w)*PageSize] != 0x5A {
			wrong++
		}
	}
	if wrong > 0 || res.Resident > 0 {
		t.Fatalf("fresh mapping at a reused address: Migrate %+v; %d of its pages are \"on the device\" with another buffer's data", res, wrong)
	}
}
