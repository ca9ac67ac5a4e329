package svm

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// duplicate duplicates the pages of an mmap'd region (one mapping).
func duplicate(t *testing.T, m *DevMem, b []byte) MigrateResult {
	t.Helper()
	v, ok, err := Default().Resolve(testmem.Addr(b))
	if err != nil || !ok {
		t.Fatalf("resolve: %v %v", ok, err)
	}
	res, err := m.Duplicate(v, testmem.Addr(b), len(b)/PageSize)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func wordAt(addr uintptr) uint64 { return uffd.Load(addr) }

// A duplicate: the frame holds the page's content, the host keeps its page
// (reads take no fault), a host write collapses it and frees the frame.
func TestDuplicateCollapsesOnHostWrite(t *testing.T) {
	m := attach(t, 8)
	b := testmem.Map(t, 4*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	if res := duplicate(t, m, b); res.Moved != 4 {
		t.Fatalf("duplicated %d of 4 pages", res.Moved)
	}
	snap, err := Default().Snapshot(testmem.Addr(b), uintptr(len(b)), m.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range snap {
		if p.State != PageDuplicated || p.Device != m.ID() {
			t.Fatalf("page %#x: %v on %d, want duplicated on %d", p.Addr, p.State, p.Device, m.ID())
		}
	}
	for pg := 0; pg < 4; pg++ {
		w := wordAt(testmem.Addr(b) + uintptr(pg)*PageSize)
		frame := bytesAt(m.Base()+uintptr(WordFrame(w))*PageSize, PageSize)
		for i, c := range frame {
			if c != b[pg*PageSize+i] {
				t.Fatalf("page %d byte %d: frame %d, host %d", pg, i, c, b[pg*PageSize+i])
			}
		}
	}
	faults := Default().ServiceStats().Faults
	var sum int
	for _, c := range b {
		sum += int(c)
	}
	if got := Default().ServiceStats().Faults; got != faults || sum == 0 {
		t.Fatalf("reading duplicated pages took %d faults", got-faults)
	}
	if free := m.FreeFrames(); free != 4 {
		t.Fatalf("%d frames free with 4 duplicates, want 4", free)
	}
	b[PageSize+5] = 0xee // page 1: WP fault, collapse
	if WordState(wordAt(testmem.Addr(b)+PageSize)) != StateHost {
		t.Fatalf("page 1 state %d after a host write, want HOST", WordState(wordAt(testmem.Addr(b)+PageSize)))
	}
	if WordState(wordAt(testmem.Addr(b))) != StateDup {
		t.Fatal("page 0 collapsed by a write to page 1")
	}
	if _, c := m.DupCounters(); c != 1 {
		t.Fatalf("collapses = %d, want 1", c)
	}
	if free := m.FreeFrames(); free != 5 {
		t.Fatalf("%d frames free after one collapse, want 5", free)
	}
	if want := (PageSize+6)*7 + 1; b[PageSize+5] != 0xee || b[PageSize+6] != byte(want%256) {
		t.Fatal("host page content wrong after collapse")
	}
	// MigrateToHost drops the rest without copying anything.
	_, _, d2h, _ := m.Counters()
	if n, err := Default().MigrateToHost(testmem.Addr(b), uintptr(len(b))); err != nil || n != 0 {
		t.Fatalf("MigrateToHost = %d, %v; want 0 pages copied", n, err)
	}
	if _, _, d2h2, _ := m.Counters(); d2h2 != d2h {
		t.Fatal("dropping duplicates copied pages")
	}
	if free := m.FreeFrames(); free != 8 {
		t.Fatalf("%d frames free, want all 8", free)
	}
	for i := range b {
		want := byte(i*7 + 1)
		if i == PageSize+5 {
			want = 0xee
		}
		if b[i] != want {
			t.Fatalf("byte %d = %d, want %d", i, b[i], want)
		}
	}
}

// munmap and mremap drop duplicates (frames come back, nothing is lost).
func TestDuplicateDroppedByMunmapAndMremap(t *testing.T) {
	m := attach(t, 8)
	b := mmapRW(t, 4*PageSize)
	for i := range b {
		b[i] = byte(i)
	}
	duplicate(t, m, b)
	if err := syscall.Munmap(b); err != nil {
		t.Fatal(err)
	}
	if free := m.FreeFrames(); free != 8 {
		t.Fatalf("after munmap %d frames free, want 8", free)
	}
	c := mmapRW(t, 4*PageSize)
	for i := range c {
		c[i] = byte(i + 3)
	}
	duplicate(t, m, c)
	to, _, errno := syscall.Syscall6(syscall.SYS_MREMAP, testmem.Addr(c), uintptr(len(c)), uintptr(8*PageSize), 1 /* MREMAP_MAYMOVE */, 0, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	d := bytesAt(to, 8*PageSize)
	defer syscall.Munmap(d)
	Default().Sync()
	if free := m.FreeFrames(); free != 8 {
		t.Fatalf("after mremap %d frames free, want 8", free)
	}
	for i := 0; i < 4*PageSize; i++ {
		if d[i] != byte(i+3) {
			t.Fatalf("byte %d = %d after mremap", i, d[i])
		}
	}
	d[10] = 1 // a protection carried along is cleared on the first write
	if d[10] != 1 {
		t.Fatal("write lost")
	}
}

// Host writers hammer pages while they are duplicated and collapsed over and
// over: no write is lost, nothing hangs, every frame comes back.
func TestDuplicateStressConcurrentWriters(t *testing.T) {
	arm(t, 3*time.Minute)
	for _, procs := range []int{1, 2} {
		t.Run("GOMAXPROCS="+string(rune('0'+procs)), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			defer debug.SetGCPercent(debug.SetGCPercent(1))
			m := attach(t, 16)
			const pages = 8
			b := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
			words := func(pg int) *[PageSize / 8]uint64 {
				return (*[PageSize / 8]uint64)(ptrAt(testmem.Addr(b) + uintptr(pg)*PageSize))
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			counts := make([]uint64, pages)
			for w := 0; w < pages; w++ {
				wg.Add(1)
				go func(pg int) {
					defer wg.Done()
					for !stop.Load() {
						counts[pg]++
						atomic.StoreUint64(&words(pg)[pg], counts[pg])
						if counts[pg]%64 == 0 {
							runtime.Gosched()
							_ = make([]byte, 256) // keep the GC busy
						}
					}
				}(w)
			}
			deadline := time.Now().Add(300 * time.Millisecond)
			rounds := 0
			for time.Now().Before(deadline) {
				v, ok, err := Default().Resolve(testmem.Addr(b))
				if err != nil || !ok {
					t.Fatal(err)
				}
				if _, err := m.Duplicate(v, testmem.Addr(b), pages); err != nil {
					t.Fatal(err)
				}
				rounds++
			}
			stop.Store(true)
			wg.Wait()
			for pg := 0; pg < pages; pg++ {
				if got := atomic.LoadUint64(&words(pg)[pg]); got != counts[pg] {
					t.Fatalf("page %d: last write %d, memory has %d", pg, counts[pg], got)
				}
			}
			if _, err := Default().MigrateToHost(testmem.Addr(b), uintptr(len(b))); err != nil {
				t.Fatal(err)
			}
			if free := m.FreeFrames(); free != 16 {
				t.Fatalf("%d of 16 frames free at the end", free)
			}
			dups, collapses := m.DupCounters()
			t.Logf("%d rounds, %d duplicates, %d collapses", rounds, dups, collapses)
			if dups == 0 || collapses == 0 {
				t.Fatalf("dups %d collapses %d: the stress did not stress", dups, collapses)
			}
		})
	}
}

// ptrAt turns an address of non-Go memory into a pointer (outside vet's
// unsafeptr pattern).
func ptrAt(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

// Fork with a duplicated page: the child writes its copy (its userfaultfd
// is gone: the protection no longer applies), the parent keeps its data
// and collapses its duplicate on its own write.
func TestDuplicateAcrossFork(t *testing.T) {
	if !inChild(t, 20*time.Second) {
		return
	}
	m := attach(t, 4)
	mem := mmapRW(t, PageSize)
	mem[0] = 42
	duplicate(t, m, mem)
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	pid, errno := runForked(&mem[0], fds[1], 99) // the child writes the protected page
	runtime.UnlockOSThread()
	if errno != 0 {
		t.Skipf("fork: %v", errno)
	}
	if b := forkedResult(pid, fds[0]); b != 99 {
		t.Fatalf("child read %d after writing 99", b)
	}
	if mem[0] != 42 {
		t.Fatalf("parent sees %d, want its own 42", mem[0])
	}
	mem[0] = 7
	if WordState(wordAt(testmem.Addr(mem))) != StateHost || mem[0] != 7 {
		t.Fatalf("parent write: state %d value %d", WordState(wordAt(testmem.Addr(mem))), mem[0])
	}
}
