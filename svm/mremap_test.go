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

// ---------------------------------------------------------------------------
// Guards against the crash found in CI: TestMremapDuringMigrationLeavesWPLivelock
// died of SIGSEGV with no Go traceback (and, in other runs, of a fatal
// SIGSEGV in the Go runtime's span sets) — about one run in 100 with other
// tests loading the machine. A migration dropped the pages it had copied
// with madvise(MADV_DONTNEED) on the range's address. When an mremap (or
// munmap) of the range returned between the migration's last look at its
// pages and that zap, the address was a hole, and the next mmap landed in
// it: the Go runtime's off-heap memory (span sets), or the top of a new
// thread's stack, where glibc keeps the thread's TLS — zeroed, the thread
// found no g at its next fault and the runtime let the signal kill the
// process silently. Now the service thread drops the pages with
// UFFDIO_MOVE, which cannot reach a mapping that replaced the range
// (zap_by_move in svmcore.c). The zap delay holds the migration between its
// copy and its zap, so the race is hit every time; the replacement mapping
// stands in for the runtime's.

//
// The third case holds the service thread instead, just before it runs the
// zap request, while an mremap moves the range and a new mapping fills the
// hole: the REMAP event is unread when the zap runs, so the zap sees the
// page words still held — and must rely on UFFDIO_MOVE failing (EAGAIN)
// while that event is unread rather than move the new mapping's pages.

func TestMremapOrMunmapBeforeZapSparesReplacementMapping(t *testing.T) {
	for _, how := range []string{"mremap", "munmap", "mremap-event-unread"} {
		t.Run(how, func(t *testing.T) {
			if !inChild(t, 20*time.Second) {
				return
			}
			const pages = 16
			m := attach(t, pages) // opens the userfaultfd
			if !uffd.ZapByMove() {
				t.Skip("the kernel has no UFFDIO_MOVE: migrations zap with madvise, which can hit a mapping that replaced the range")
			}
			mem := mmapRW(t, pages*PageSize)
			for i := 0; i < pages; i++ {
				mem[i*PageSize] = byte(i + 1)
			}
			base := testmem.Addr(mem)
			v, ok, err := Default().Resolve(base)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			var dst []byte
			if how != "munmap" {
				dst = mmapRW(t, pages*PageSize) // MREMAP_FIXED replaces it
			}
			if how == "mremap-event-unread" {
				uffd.SetZapDelay(0, 500*time.Millisecond)
			} else {
				uffd.SetZapDelay(300*time.Millisecond, 0)
			}
			defer uffd.SetZapDelay(0, 0)
			type result struct {
				r   MigrateResult
				err error
			}
			done := make(chan result, 1)
			go func() {
				r, err := m.Migrate(v, base, pages)
				done <- result{r, err}
			}()
			// The migration has copied the pages and is about to zap them
			// (or the service thread is about to, for it).
			ready := func() bool { return WordState(uffd.Load(base)) == StateZapping }
			if how == "mremap-event-unread" {
				ready = uffd.ZapHolding
			}
			for deadline := time.Now().Add(5 * time.Second); !ready(); {
				if time.Now().After(deadline) {
					t.Fatalf("the migration never reached its zap (page word state %d)", WordState(uffd.Load(base)))
				}
			}
			remapped := make(chan error, 1)
			switch how {
			case "mremap":
				remapped <- mremapTo(mem, testmem.Addr(dst))
			case "munmap":
				remapped <- syscall.Munmap(mem)
			default:
				// Blocks until the service thread reads its event, after the
				// hold; the range has moved long before.
				go func() { remapped <- mremapTo(mem, testmem.Addr(dst)) }()
			}
			// Somebody else's memory in the hole, as the Go runtime's was.
			var a uintptr
			var e syscall.Errno
			for deadline := time.Now().Add(300 * time.Millisecond); ; {
				a, _, e = syscall.Syscall6(syscall.SYS_MMAP, base, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE,
					syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|0x100000 /* MAP_FIXED_NOREPLACE */, ^uintptr(0), 0)
				if e != syscall.EEXIST || how != "mremap-event-unread" || time.Now().After(deadline) {
					break // EEXIST above: the mremap has not moved the range yet
				}
			}
			if e != 0 || a != base {
				<-done
				<-remapped
				t.Skipf("could not map the hole at %#x again (%#x, %v)", base, a, e)
			}
			repl := bytesAt(base, pages*PageSize)
			for i := range repl {
				repl[i] = 0xa5
			}
			res := <-done
			if err := <-remapped; err != nil {
				t.Fatal(err)
			}
			if res.err != nil {
				t.Fatal(res.err)
			}
			for i := 0; i < pages; i++ {
				if got := repl[i*PageSize+1]; got != 0xa5 {
					t.Fatalf("page %d of the mapping that replaced the range reads %#x, want 0xa5: the migration (%+v) zapped it",
						i, got, res.r)
				}
				if s := WordState(uffd.Load(base + uintptr(i)*PageSize)); s != StateHost {
					t.Fatalf("page %d of the replacement is in state %d, want host", i, s)
				}
			}
			if res.r.Moved != 0 {
				t.Errorf("migration reports %d pages moved from a range that went away", res.r.Moved)
			}
			if dst != nil {
				moved := bytesAt(testmem.Addr(dst), pages*PageSize)
				for i := 0; i < pages; i++ {
					if got := moved[i*PageSize]; got != byte(i+1) {
						t.Fatalf("page %d at the mremap destination reads %d, want %d", i, got, i+1)
					}
				}
			}
		})
	}
}

func mremapTo(old []byte, to uintptr) error {
	_, _, e := syscall.Syscall6(syscall.SYS_MREMAP, testmem.Addr(old), uintptr(len(old)), uintptr(len(old)),
		1|2 /* MREMAP_MAYMOVE|MREMAP_FIXED */, to, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Guards against a bug found in review: remap_range CASes every word of the old range to HOST whatever
// its state and moves only DEVICE words. A page that is RETURNING (an
// explicit migration home on a Go thread) when the REMAP event is handled
// loses its data: the owner's UFFDIO_COPY at the old address fails (ENOENT),
// its revert CAS fails, the new address is HOST (zero), and the frame is
// never released.
func TestMremapRacingMigrateToHost(t *testing.T) {
	if !inChild(t, 20*time.Second) {
		return
	}
	const pages = 64
	m := attach(t, 2*pages)
	s := Default()
	deadline := time.Now().Add(4 * time.Second)
	iters := 0
	for ; time.Now().Before(deadline); iters++ {
		mem := mmapRW(t, pages*PageSize)
		base := testmem.Addr(mem)
		for i := 0; i < len(mem); i += PageSize {
			mem[i] = byte(i/PageSize) | 0x80
		}
		migrateRange(t, m, unsafe.Pointer(&mem[0]), len(mem))
		// A destination the kernel must move to.
		dst, err := syscall.Mmap(-1, 0, pages*PageSize, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			t.Fatal(err)
		}
		to := testmem.Addr(dst)
		var wg sync.WaitGroup
		wg.Add(2)
		start := make(chan struct{})
		delay := (iters % 40) * 200
		go func() {
			defer wg.Done()
			<-start
			s.MigrateToHost(base, pages*PageSize)
		}()
		var rerr error
		go func() {
			defer wg.Done()
			<-start
			spinFor(delay)
			rerr = mremapTo(mem, to)
		}()
		close(start)
		wg.Wait()
		if rerr != nil {
			t.Fatal(rerr)
		}
		s.Sync()
		moved := dst // now maps the moved pages
		bad := 0
		for i := 0; i < len(moved); i += PageSize {
			if moved[i] != byte(i/PageSize)|0x80 {
				bad++
			}
		}
		syscall.Munmap(moved)
		if bad > 0 {
			t.Fatalf("iteration %d: %d of %d pages lost their data across mremap; free frames %d of %d; service %+v",
				iters, bad, pages, m.FreeFrames(), m.Frames(), s.ServiceStats())
		}
	}
	if got := m.FreeFrames(); got != m.Frames() {
		t.Fatalf("after %d iterations %d of %d frames free", iters, got, m.Frames())
	}
	t.Logf("%d iterations, not reproduced", iters)
}

// Guards against a bug found in review: a migration protects its pages (UFFDIO_WRITEPROTECT) and, if an
// mremap moves them before it zaps, gives up without unprotecting: the
// protection moves with the PTEs. At the new address a CPU write takes a WP
// fault on a HOST page; when no page-table leaf covers the new address
// (the usual case: leaves span 16 MiB and are allocated only for tracked
// pages) handle_fault only wakes the writer (the `!p` branch), the write
// faults again, and the writer spins in WP faults forever.
func TestMremapDuringMigrationLeavesWPLivelock(t *testing.T) {
	if !inChild(t, 20*time.Second) {
		return
	}
	const pages = 64
	m := attach(t, 4*pages)
	// Far, untracked destinations: a 1 GiB reservation cut into 16 MiB
	// slots (one leaf each); every iteration moves the range into a fresh one.
	const slotSize = 16 << 20
	resv, err := syscall.Mmap(-1, 0, 64*slotSize, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		t.Fatal(err)
	}
	first := (testmem.Addr(resv) + slotSize - 1) &^ (slotSize - 1)
	hit := false
	for iter := 0; iter < 62 && !hit; iter++ {
		slot := first + uintptr(iter)*slotSize
		if PTE(slot, false) != nil {
			continue
		}
		mem := mmapRW(t, pages*PageSize)
		for i := 0; i < len(mem); i += PageSize {
			mem[i] = 1
		}
		v, _, err := Default().Resolve(testmem.Addr(mem))
		if err != nil {
			t.Fatal(err)
		}
		// Register first so that the race is between the protect and the mremap.
		if err := Default().register(testmem.Addr(mem), pages); err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		done := make(chan struct{})
		go func() {
			close(started)
			m.Migrate(v, testmem.Addr(mem), pages)
			close(done)
		}()
		<-started
		spinFor((iter % 31) * 10000)
		if err := mremapTo(mem, slot); err != nil {
			t.Fatal(err)
		}
		<-done
		moved := bytesAt(slot, pages*PageSize)
		before := Default().ServiceStats().WPFaults
		wrote := make(chan struct{})
		go func() {
			for i := 0; i < len(moved); i += PageSize {
				moved[i] = 2 // loops in WP faults if protection was left behind
			}
			close(wrote)
		}()
		select {
		case <-wrote:
		case <-time.After(time.Second):
			after := Default().ServiceStats().WPFaults
			sayf("iteration %d: CPU write to the mremap'd range stuck; %d WP faults in 1s", iter, after-before)
			t.Errorf("CPU writer livelocked in WP faults after mremap raced a migration (%d WP faults in 1s)", after-before)
			hit = true
		}
	}
	if !hit {
		t.Log("race not hit")
	}
}
