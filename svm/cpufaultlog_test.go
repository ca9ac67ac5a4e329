package svm

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

var logSink byte

// startLog starts a CPU fault log that the test's end stops.
func startLog(t *testing.T) *CPUFaultLog {
	t.Helper()
	l, err := StartCPUFaultLog()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	return l
}

// drainAll drains l, failing the test on any error.
func drainAll(t *testing.T, l *CPUFaultLog) []CPUFaultEntry {
	t.Helper()
	got, err := l.Drain(nil)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// onDevice maps pages read-write pages, gives page i the byte i+1 at offset
// 100 and migrates them all to m.
func onDevice(t *testing.T, m *DevMem, pages int) ([]byte, uintptr) {
	t.Helper()
	mem := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	for i := 0; i < pages; i++ {
		mem[i*PageSize+100] = byte(i + 1)
	}
	migrateRange(t, m, unsafe.Pointer(&mem[0]), len(mem))
	base := testmem.Addr(mem)
	checkOnDevice(t, m, base, pages)
	return mem, base
}

// The CPU touches device pages in a scrambled order, reads and writes
// mixed: the log has exactly one entry per touch, in that order, with the
// right Write flags, and every touch was a CPU fault of its own (no
// read-ahead while the log is on).
func TestCPUFaultLogRecordsTouchesInOrder(t *testing.T) {
	const pages = 48
	m := attach(t, pages)
	mem, base := onDevice(t, m, pages)
	rng := rand.New(rand.NewPCG(14, 1))
	order := rng.Perm(pages)
	writes := make([]bool, pages)
	for k := range writes {
		writes[k] = rng.IntN(2) == 0
	}
	l := startLog(t)
	f0, p0 := m.FaultCounters()
	for k, pg := range order {
		// Not at the page's start: the entry names the page.
		if writes[k] {
			mem[pg*PageSize+2000] = byte(pg + 7)
		} else {
			logSink += mem[pg*PageSize+2000]
		}
	}
	f1, p1 := m.FaultCounters()
	got := drainAll(t, l)
	if f1-f0 != pages || p1-p0 != pages {
		t.Errorf("%d touches of device pages took %d CPU faults bringing %d pages, want %d and %d", pages, f1-f0, p1-p0, pages, pages)
	}
	if len(got) != pages {
		seen := map[uintptr]bool{}
		for _, e := range got {
			seen[e.Page] = true
		}
		for k, pg := range order {
			if !seen[base+uintptr(pg)*PageSize] {
				t.Logf("missing: touch %d (page %d, write %v)", k, pg, writes[k])
			}
		}
		t.Fatalf("the log has %d entries for %d touches (service %+v): %v", len(got), pages, Default().ServiceStats(), got)
	}
	for k, pg := range order {
		want := CPUFaultEntry{Page: base + uintptr(pg)*PageSize, Write: writes[k]}
		if got[k] != want {
			t.Fatalf("entry %d = {%#x %v}, want {%#x %v} (page %d)", k, got[k].Page, got[k].Write, want.Page, want.Write, pg)
		}
	}
	for pg := 0; pg < pages; pg++ {
		if mem[pg*PageSize+100] != byte(pg+1) {
			t.Fatalf("page %d lost its data: %d", pg, mem[pg*PageSize+100])
		}
	}
	for k, pg := range order {
		if writes[k] && mem[pg*PageSize+2000] != byte(pg+7) {
			t.Fatalf("page %d lost its write", pg)
		}
	}
	if rest := drainAll(t, l); len(rest) != 0 {
		t.Fatalf("a second Drain returned %d entries, want none", len(rest))
	}
	if n, _ := m.FaultCounters(); n != f1 {
		t.Fatalf("reading pages already home took %d CPU faults", n-f1)
	}
}

// A sequential reader takes a fault per page while the log is on; once it
// is stopped, read-ahead windows bring the pages home in a few faults.
func TestCPUFaultLogTurnsReadAheadOff(t *testing.T) {
	const pages = 64
	m := attach(t, pages)
	mem, base := onDevice(t, m, pages)
	l, err := StartCPUFaultLog()
	if err != nil {
		t.Fatal(err)
	}
	f0, _ := m.FaultCounters()
	for pg := 0; pg < pages; pg++ {
		logSink += mem[pg*PageSize+100]
	}
	f1, _ := m.FaultCounters()
	got, err := l.Drain(nil)
	l.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if f1-f0 != pages || len(got) != pages {
		t.Fatalf("sequential read of %d device pages with the log on: %d CPU faults, %d entries; want %d each", pages, f1-f0, len(got), pages)
	}
	for pg, e := range got {
		if e != (CPUFaultEntry{Page: base + uintptr(pg)*PageSize}) {
			t.Fatalf("entry %d = {%#x %v}, want a read of %#x", pg, e.Page, e.Write, base+uintptr(pg)*PageSize)
		}
	}
	migrateRange(t, m, unsafe.Pointer(&mem[0]), len(mem))
	f2, _ := m.FaultCounters()
	for pg := 0; pg < pages; pg++ {
		if mem[pg*PageSize+100] != byte(pg+1) {
			t.Fatalf("page %d reads %d, want %d", pg, mem[pg*PageSize+100], pg+1)
		}
	}
	f3, _ := m.FaultCounters()
	// Windows 1, 2, 4, 8, 16, 32 cover 63 pages, and the 64th is one more
	// fault.
	if f3-f2 > 8 {
		t.Fatalf("sequential read of %d device pages after Stop: %d CPU faults; read-ahead did not come back", pages, f3-f2)
	}
	t.Logf("sequential read of %d pages: %d faults with the log on, %d after Stop", pages, f1-f0, f3-f2)
}

// Stopping the log starts read-ahead afresh: a stream that was growing
// before the log was on does not carry its window over.
func TestCPUFaultLogStopForgetsReadStreams(t *testing.T) {
	const pages = 32
	m := attach(t, pages)
	mem, _ := onDevice(t, m, pages)
	Default().ResetFaultWindow()
	_, p0 := m.FaultCounters()
	for pg := 0; pg < 15; pg++ { // windows 1, 2, 4, 8: the stream expects page 15 with a window of 16 next
		logSink += mem[pg*PageSize+100]
	}
	_, p1 := m.FaultCounters()
	if p1-p0 != 15 {
		t.Fatalf("reading pages 0..14 brought %d pages home, want 15 (windows 1, 2, 4, 8)", p1-p0)
	}
	l, err := StartCPUFaultLog()
	if err != nil {
		t.Fatal(err)
	}
	l.Stop()
	for k, want := range []int64{1, 2} { // page 15: a fresh stream of window 1; page 16 doubles it
		_, a := m.FaultCounters()
		logSink += mem[(15+k)*PageSize+100]
		if _, b := m.FaultCounters(); b-a != want {
			t.Fatalf("page %d's fault after the log stopped brought %d pages home, want %d", 15+k, b-a, want)
		}
	}
}

// A duplicated page: CPU reads take no fault and leave no entry; a CPU write
// collapses the duplicate and is logged as a write.
func TestCPUFaultLogDuplicatedPages(t *testing.T) {
	m := attach(t, 8)
	b := testmem.Map(t, 4*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	for i := range b {
		b[i] = byte(i*3 + 1)
	}
	if res := duplicate(t, m, b); res.Moved != 4 {
		t.Fatalf("duplicated %d of 4 pages", res.Moved)
	}
	base := testmem.Addr(b)
	l := startLog(t)
	faults := Default().ServiceStats().Faults
	var sum int
	for _, c := range b {
		sum += int(c)
	}
	if got := Default().ServiceStats().Faults; got != faults || sum == 0 {
		t.Fatalf("reading duplicated pages took %d faults", got-faults)
	}
	if got := drainAll(t, l); len(got) != 0 {
		t.Fatalf("reads of duplicated pages logged %v, want nothing", got)
	}
	b[2*PageSize+9] = 0xab
	if st := WordState(wordAt(base + 2*PageSize)); st != StateHost {
		t.Fatalf("page 2 is in state %d after a CPU write, want HOST (collapsed)", st)
	}
	got := drainAll(t, l)
	if want := (CPUFaultEntry{Page: base + 2*PageSize, Write: true}); len(got) != 1 || got[0] != want {
		t.Fatalf("a CPU write to a duplicated page logged %v, want [{%#x true}]", got, want.Page)
	}
	if _, c := m.DupCounters(); c != 1 {
		t.Fatalf("collapses = %d, want 1", c)
	}
	if i := 2*PageSize + 10; b[i-1] != 0xab || b[i] != byte(i*3+1) {
		t.Fatal("the collapsed page lost data")
	}
}

// One log at a time: a second start fails with ErrBusy, Stop is idempotent
// and frees the log for the next start, a stopped log's Drain says
// ErrClosed, and a stale Stop does not stop its successor.
func TestCPUFaultLogOneAtATime(t *testing.T) {
	m := attach(t, 4)
	first := startLog(t)
	second, err := StartCPUFaultLog()
	if !errors.Is(err, ErrBusy) || second != nil {
		t.Fatalf("a second StartCPUFaultLog while one is on: %v, %v; want ErrBusy", second, err)
	}
	first.Stop()
	first.Stop()
	dst := []CPUFaultEntry{{Page: 1}}
	if got, err := first.Drain(dst); !errors.Is(err, ErrClosed) || len(got) != 1 || got[0].Page != 1 {
		t.Fatalf("Drain after Stop = %v, %v; want dst unchanged and ErrClosed", got, err)
	}
	third := startLog(t)
	first.Stop() // stale: must leave third on
	mem, base := onDevice(t, m, 2)
	mem[PageSize] = 5
	logSink += mem[0]
	got := drainAll(t, third)
	want := []CPUFaultEntry{{Page: base + PageSize, Write: true}, {Page: base}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("the log after a stale Stop has %v, want %v", got, want)
	}
	third.Stop()
	if _, err := StartCPUFaultLog(); err != nil {
		t.Fatalf("start after every log stopped: %v", err)
	}
	runtime.GC() // the log just started is unreachable: its cleanup stops it
	for deadline := time.Now().Add(5 * time.Second); ; {
		l, err := StartCPUFaultLog()
		if err == nil {
			l.Stop()
			break
		}
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			t.Fatalf("start after the previous log became unreachable: %v", err)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// A full ring drops new entries and Drain says how many, keeping the ones
// it has; afterwards the log goes on, wrapping around the ring.
func TestCPUFaultLogOverflow(t *testing.T) {
	if err := uffd.SetFaultLogCapacity(3); err == nil {
		t.Fatal("a capacity of 3 (not a power of two) was accepted")
	}
	if err := uffd.SetFaultLogCapacity(4); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uffd.SetFaultLogCapacity(0) })
	const pages = 10
	m := attach(t, pages)
	mem, base := onDevice(t, m, pages)
	l := startLog(t)
	f0, _ := m.FaultCounters()
	for pg := 0; pg < pages; pg++ {
		logSink += mem[pg*PageSize+100]
	}
	if f1, _ := m.FaultCounters(); f1-f0 != pages {
		t.Fatalf("%d CPU faults, want %d: a full log must not change how faults are served", f1-f0, pages)
	}
	got, err := l.Drain(nil)
	var over *LogOverflowError
	if !errors.Is(err, ErrLogOverflow) || !errors.As(err, &over) || over.Lost != pages-4 || over.Capacity != 4 {
		t.Fatalf("Drain of a ring of 4 after %d faults: %v; want ErrLogOverflow with %d lost", pages, err, pages-4)
	}
	if !strings.Contains(err.Error(), "6 entries lost") {
		t.Errorf("the overflow error does not say how many were lost: %v", err)
	}
	if len(got) != 4 {
		t.Fatalf("Drain after an overflow returned %d entries, want the 4 the ring kept", len(got))
	}
	for pg, e := range got {
		if e.Page != base+uintptr(pg)*PageSize || e.Write {
			t.Fatalf("entry %d = {%#x %v}, want a read of page %d", pg, e.Page, e.Write, pg)
		}
	}
	if got, err := l.Drain(nil); err != nil || len(got) != 0 {
		t.Fatalf("the Drain after the overflow's: %v, %v; want nothing", got, err)
	}
	// Three rounds of four: the ring's slots are reused, no entry is lost.
	for round := 0; round < 3; round++ {
		migrateRange(t, m, unsafe.Pointer(&mem[0]), 4*PageSize)
		for pg := 3; pg >= 0; pg-- {
			mem[pg*PageSize+100] = byte(round)
		}
		got := drainAll(t, l)
		if len(got) != 4 {
			t.Fatalf("round %d: %d entries, want 4", round, len(got))
		}
		for k, e := range got {
			if want := (CPUFaultEntry{Page: base + uintptr(3-k)*PageSize, Write: true}); e != want {
				t.Fatalf("round %d entry %d = {%#x %v}, want {%#x true}", round, k, e.Page, e.Write, want.Page)
			}
		}
	}
}

// Goroutines fault device pages while another drains a small ring and a
// migrator sends the pages back to the device again and again, so that
// faults race with migrations (some are deferred) and the ring wraps: every
// CPU fault on a device page is one entry or one counted loss, every entry
// names a page of the buffer, a writer's entries are writes and a reader's
// reads, and no write is lost.
func TestCPUFaultLogStress(t *testing.T) {
	arm(t, 2*time.Minute)
	if err := uffd.SetFaultLogCapacity(16); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uffd.SetFaultLogCapacity(0) })
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			const pages, touchers = 32, 4 // page p belongs to toucher p % touchers; the odd ones write
			m := attach(t, 2*pages)
			mem, base := onDevice(t, m, pages)
			var last [pages]byte
			deferred0 := Default().ServiceStats().Deferred
			f0, _ := m.FaultCounters()
			l := startLog(t)
			var entries []CPUFaultEntry
			var lost uint64
			var stop atomic.Bool
			var wg sync.WaitGroup
			for g := 0; g < touchers; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 2))
					for n := uint64(1); !stop.Load(); n++ {
						pg := g + touchers*rng.IntN(pages/touchers)
						if g%2 == 1 {
							// A store into the slice: a store through a
							// pointer a call returned is preceded by its nil
							// check, a load (a read fault, logged as one), as
							// are the race detector's atomics.
							mem[pg*PageSize+64] = byte(n)
							last[pg] = byte(n)
						} else if got := mem[pg*PageSize+100]; got != byte(pg+1) {
							panic(fmt.Sprintf("page %d reads %d, want %d", pg, got, pg+1))
						}
						if n%16 == 0 {
							runtime.Gosched()
						}
					}
				}(g)
			}
			drainErr := make(chan error, 1)
			var drained sync.WaitGroup
			drained.Add(1)
			go func() {
				defer drained.Done()
				for !stop.Load() {
					var err error
					entries, err = l.Drain(entries)
					var over *LogOverflowError
					if errors.As(err, &over) {
						lost += over.Lost
					} else if err != nil {
						drainErr <- err
						return
					}
					runtime.Gosched()
				}
			}()
			rounds := 0
			for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); rounds++ {
				v := resolve(t, base)
				if _, err := m.Migrate(v, base, pages); err != nil {
					stop.Store(true)
					t.Fatal(err)
				}
			}
			stop.Store(true)
			wg.Wait()
			drained.Wait()
			select {
			case err := <-drainErr:
				t.Fatal(err)
			default:
			}
			f1, _ := m.FaultCounters()
			var err error
			entries, err = l.Drain(entries)
			var over *LogOverflowError
			if errors.As(err, &over) {
				lost += over.Lost
			} else if err != nil {
				t.Fatal(err)
			}
			if uint64(len(entries))+lost != uint64(f1-f0) {
				t.Fatalf("%d entries + %d lost, but %d CPU faults on the device's pages", len(entries), lost, f1-f0)
			}
			for _, e := range entries {
				off := e.Page - base
				if e.Page < base || off >= pages*PageSize || off%PageSize != 0 {
					t.Fatalf("entry for %#x, outside the buffer %#x+%d pages", e.Page, base, pages)
				}
				pg := int(off / PageSize)
				if g := pg % touchers; e.Write != (g%2 == 1) {
					t.Fatalf("page %d (toucher %d, writer %v) logged with Write %v", pg, g, g%2 == 1, e.Write)
				}
			}
			for pg := 0; pg < pages; pg++ {
				if got := mem[pg*PageSize+64]; got != last[pg] {
					t.Fatalf("page %d: last write %d, memory has %d", pg, last[pg], got)
				}
			}
			t.Logf("%d migrations, %d CPU faults, %d entries, %d lost, %d faults deferred", rounds, f1-f0, len(entries), lost,
				Default().ServiceStats().Deferred-deferred0)
			if f1 == f0 || len(entries) == 0 {
				t.Fatal("no CPU fault was logged: the stress did not stress")
			}
		})
	}
}

// Without userfaultfd (forced here) there is nothing to log: the start
// says why, with ErrNotSupported.
func TestCPUFaultLogDegraded(t *testing.T) {
	if os.Getenv(EnvNoUFFD) == "1" {
		l, err := StartCPUFaultLog()
		if !errors.Is(err, ErrNotSupported) || l != nil || !strings.Contains(err.Error(), EnvNoUFFD) {
			t.Fatalf("StartCPUFaultLog in degraded mode = %v, %v; want ErrNotSupported naming %s", l, err, EnvNoUFFD)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCPUFaultLogDegraded$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), EnvNoUFFD+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("degraded child: %v\n%s", err, out)
	}
}

// What a log costs a sequential reader (go test -bench CPUFaultLog
// -benchmem ./svm/; compare BenchmarkMovementBringBack, the same copy with
// no log): a fault per page instead of one per read-ahead window, and a
// Drain of the 16384 entries per op.
func BenchmarkCPUFaultLogBringBack(b *testing.B) {
	m := benchDevice(b)
	dst := make([]byte, movementBytes)
	entries := make([]CPUFaultEntry, 0, movementBytes/PageSize)
	l, err := StartCPUFaultLog()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Stop()
	b.SetBytes(movementBytes)
	for b.Loop() {
		b.StopTimer()
		mem := benchMap(b, movementBytes)
		migrateRange(b, m, unsafe.Pointer(&mem[0]), len(mem))
		b.StartTimer()
		copy(dst, mem)
		if entries, err = l.Drain(entries[:0]); err != nil || len(entries) != movementBytes/PageSize {
			b.Fatalf("%d entries, %v; want one per page", len(entries), err)
		}
		b.StopTimer()
		syscall.Munmap(mem)
		b.StartTimer()
	}
}
