package svm

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
)

var globalArray [40 * PageSize]byte

// Guards against a bug found in review: a Go global array lives in the binary's .bss, which the kernel
// shows as one anonymous private mapping — migratable, so Migrate registers
// its 2 MiB VA block. That block also holds svmcore.c's own statics
// (svm_top, svc_bounce, zero_page, deferred[], svm_global, ...). The first
// time the service thread touches one of their never-touched pages it takes
// a MISSING userfault that only it could resolve: the process deadlocks.
func TestGlobalArrayMigration(t *testing.T) {
	if !inChild(t, 8*time.Second) {
		return
	}
	m := attach(t, 64)
	b := globalArray[:]
	for i := range b {
		b[i] = byte(i*13 + 1)
	}
	start := (testmem.Addr(b) + PageSize - 1) &^ (PageSize - 1)
	pages := 32
	v, ok, err := Default().Resolve(start)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	sayf("global at %#x in mapping %v", start, v)
	done := make(chan error, 1)
	go func() {
		res, err := m.Migrate(v, start, pages)
		sayf("migrated: %+v %v", res, err)
		if err != nil {
			done <- err
			return
		}
		// Sequential CPU reads: the service thread's fault-around window
		// grows and it fills more of its static bounce buffer.
		for i := range b {
			if b[i] != byte(i*13+1) {
				done <- fmt.Errorf("byte %d = %d", i, b[i])
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		sayf("stuck: service stats %+v", Default().ServiceStats())
		select {} // the service thread is wedged: the parent lists our threads and kills us
	}
}

// rv2Within runs fn on a goroutine; if it does not return within d the
// (child) process reports and blocks, so the parent's deadline kills it and
// the test fails as a hang.
func rv2Within(t *testing.T, d time.Duration, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(d):
		sayf("HANG: %s did not return within %v; service stats %+v", what, d, Default().ServiceStats())
		select {}
	}
}

// Guards against a bug found in review: DevMem.Migrate passes Go-heap scratch slices (frames, res) to
// svm_migrate_in. When they sit on a page of the range being migrated — any
// small Go object's span can hold them, e.g. a kernel argument of 64
// uint32s shares size class 256 with frames — migrate_run zaps that page
// and then reads frames[k] to publish: the migrating thread takes a MISSING
// fault on its own ZAPPING page, the service thread defers it forever, and
// Migrate never returns.
func TestMigrateScratchInMigratedRange(t *testing.T) {
	if !inChild(t, 5*time.Second) {
		return
	}
	runtime.GOMAXPROCS(1) // one P, one mcache: the next 256-byte object follows ours
	debug.SetGCPercent(-1)
	m := attach(t, 16)
	var objs [][]uint32
	for i := 0; i < 40; i++ {
		objs = append(objs, make([]uint32, 64)) // noscan, size class 256 (as Migrate's frames)
	}
	last := objs[len(objs)-1]
	for i := range last {
		last[i] = uint32(i) + 1
	}
	page := uintptr(unsafe.Pointer(&last[0])) &^ (PageSize - 1)
	start, pages := page-PageSize, 4
	v, ok, err := Default().Resolve(start)
	if err != nil || !ok || start+uintptr(pages)*PageSize > v.End {
		t.Skipf("resolve %#x: %v %v %v", start, v, ok, err)
	}
	rv2Within(t, 3*time.Second, "Migrate of a Go heap range holding its own scratch slices", func() error {
		res, err := m.Migrate(v, start, pages)
		sayf("migrate: %+v %v", res, err)
		return err
	})
	for i := range last {
		if last[i] != uint32(i)+1 {
			t.Fatalf("last[%d] = %d", i, last[i])
		}
	}
	runtime.KeepAlive(objs)
}

// CPU writes racing with migrations. One writer goroutine increments a
// counter in every page, round after round; migrators move the pages to
// devices meanwhile. A lost write shows as a counter below the number of
// rounds.
func writersVsMigrators(t *testing.T, devs []*DevMem, pages int, dur time.Duration) {
	mem := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	base := testmem.Addr(mem)
	v := VMA{Start: base, End: base + uintptr(pages)*PageSize, Read: true, Write: true, Kind: KindPrivateAnon}
	ctr := func(p int) *uint64 { return (*uint64)(unsafe.Pointer(&mem[p*PageSize+8*(p%8)])) }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var migrations [8]int
	for k, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := d.Migrate(v, base, pages); err != nil {
					t.Error(err)
					return
				}
				migrations[k]++
			}
		}()
	}
	rounds := uint64(0)
	end := time.Now().Add(dur)
	for time.Now().Before(end) {
		for p := 0; p < pages; p++ {
			*ctr(p)++
		}
		rounds++
	}
	close(stop)
	wg.Wait()
	for p := 0; p < pages; p++ {
		if got := *ctr(p); got != rounds {
			t.Fatalf("page %d: counter %d after %d rounds: %d writes lost (migrations per device %v, service %+v)",
				p, got, rounds, rounds-got, migrations[:len(devs)], Default().ServiceStats())
		}
	}
	var dropped []int64
	for _, d := range devs {
		_, _, _, dr := d.Counters()
		dropped = append(dropped, dr)
	}
	t.Logf("%d rounds, migrations %v, dropped %v, service %+v", rounds, migrations[:len(devs)], dropped, Default().ServiceStats())
}

// One device: passes (the WP protocol works). Kept as coverage: no test
// had a CPU writer running during migrations.
func TestCPUWriterDuringMigrationsOneDevice(t *testing.T) {
	m := attach(t, 32)
	writersVsMigrators(t, []*DevMem{m}, 16, 500*time.Millisecond)
}

// Guards against a bug found in review: several devices migrating the same range. migrate_run
// un-protects its whole run (wp_retry(rs, rl, 0)) only at the very end,
// after it has published the pages DEVICE. In between, another device's
// Migrate can bring a page home (svm_migrate_out), claim it (MIGRATING) and
// write-protect it; the first migrator's un-WP then removes the second one's
// protection, a CPU write lands after the second copy, and the second zap
// discards it. Stochastic: fails in about half of the 4 s runs.
func TestCPUWriterDuringMigrationsThreeDevices(t *testing.T) {
	if !inChild(t, 30*time.Second) {
		return
	}
	a, b, c := attach(t, 32), attach(t, 32), attach(t, 32)
	writersVsMigrators(t, []*DevMem{a, b, c}, 16, 4*time.Second)
}
