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

// Guards against a bug found in review: Release brings home only the pages its walk finds DEVICE, then
// detaches the slot and unmaps the arena. A page the service thread is
// bringing home at that moment (RETURNING) is skipped; if that
// UFFDIO_COPY then fails with EAGAIN (any madvise/munmap anywhere in a
// registered range makes it do so), bring_back restores DEVICE — on a
// detached slot. The page's data is gone, the CPU thread that faulted on it
// is deferred forever (bring_back returns 0 for a slot without arena, and
// handle_fault gives up), and svm_migrate_out on it spins forever. (If the
// walk passes while the service thread is still memcpy'ing from the arena,
// the munmap makes that memcpy SIGSEGV the process.)
func TestReleaseRacingCPUFaults(t *testing.T) {
	if !inChild(t, 20*time.Second) {
		return
	}
	const pages = 64
	s := Default()
	// An unrelated registered range to madvise in a loop: each madvise
	// makes UFFDIO_COPY anywhere return EAGAIN for a moment.
	noise := mmapRW(t, 4*PageSize)
	{
		m := attach(t, 4)
		noise[0] = 1
		migrateRange(t, m, unsafe.Pointer(&noise[0]), len(noise))
		noise[0] = 1
	}
	stop := make(chan struct{})
	var nwg sync.WaitGroup
	nwg.Add(1)
	go func() {
		defer nwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			syscall.Madvise(noise, syscall.MADV_DONTNEED)
		}
	}()
	defer func() { close(stop); nwg.Wait() }()

	deadline := time.Now().Add(6 * time.Second)
	iters := 0
	for ; time.Now().Before(deadline); iters++ {
		m, err := s.Attach(testDev{"release-race"}, 2*pages*PageSize)
		if err != nil {
			t.Fatal(err)
		}
		id := m.ID()
		mem := mmapRW(t, pages*PageSize)
		base := testmem.Addr(mem)
		for i := 0; i < len(mem); i += PageSize {
			mem[i] = byte(i/PageSize) | 0x40
		}
		v, _, _ := s.Resolve(base)
		if r, err := m.Migrate(v, base, pages); err != nil || r.Moved == 0 {
			sayf("iteration %d: migrate %+v %v; service %+v", iters, r, err, s.ServiceStats())
		}
		readDone := make(chan int, 1)
		start := make(chan struct{})
		go func() {
			<-start
			bad := 0
			for i := 0; i < len(mem); i += PageSize {
				if mem[i] != byte(i/PageSize)|0x40 {
					bad++
				}
			}
			readDone <- bad
		}()
		close(start)
		spinFor((iters % 50) * 300)
		if err := m.Release(); err != nil {
			t.Fatal(err)
		}
		s.Sync()
		stale := 0
		for i := 0; i < pages; i++ {
			w := uffd.Load(base + uintptr(i)*PageSize)
			if WordState(w) != StateHost && WordDevice(w) == id {
				stale++
			}
		}
		select {
		case bad := <-readDone:
			if bad > 0 || stale > 0 {
				t.Fatalf("iteration %d: %d pages read wrong, %d words still name released slot %d", iters, bad, stale, id)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("iteration %d: CPU reader hung after Release; %d words still name released slot %d; service %+v",
				iters, stale, id, s.ServiceStats())
		}
		syscall.Munmap(mem)
	}
	t.Logf("%d iterations, not reproduced", iters)
}
