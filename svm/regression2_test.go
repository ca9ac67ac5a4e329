package svm

// Second independent review of the HMM core (after 7fccab7). Each test
// proves one finding; the risky ones run in a child process (rvInChild, from
// regression_test.go) with a deadline.

import (
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/svm/internal/cmem"
)

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
		rvSay("HANG: %s did not return within %v; service stats %+v", what, d, Default().ServiceStats())
		select {}
	}
}

// ---------------------------------------------------------------------------
// Guards against (found in the second review, fixed): DevMem.Migrate passes Go-heap scratch slices (frames, res) to
// svm_migrate_in. When they sit on a page of the range being migrated — any
// small Go object's span can hold them, e.g. a kernel argument of 64
// uint32s shares size class 256 with frames — migrate_run zaps that page
// and then reads frames[k] to publish: the migrating thread takes a MISSING
// fault on its own ZAPPING page, the service thread defers it forever, and
// Migrate never returns.

func TestRegression2MigrateScratchInMigratedRange(t *testing.T) {
	if !rvInChild(t, 5*time.Second) {
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
		rvSay("migrate: %+v %v", res, err)
		return err
	})
	for i := range last {
		if last[i] != uint32(i)+1 {
			t.Fatalf("last[%d] = %d", i, last[i])
		}
	}
	runtime.KeepAlive(objs)
}

// ---------------------------------------------------------------------------
// Guards against (found in the second review, fixed): svm_migrate_out copies device frames into a bounce buffer from
// aligned_alloc — C heap memory, which is migratable. When that buffer lands
// on C heap pages that are device-resident (a malloc'd buffer was migrated,
// then freed, and malloc hands the same chunk to the bounce), bring_back
// claims a page RETURNING and then memcpy's into the same (absent) page: the
// thread faults on a page it owns itself, the service thread defers the
// fault forever, and MigrateToHost (Release, another device's Migrate)
// never returns. Had the service thread been in drop_range waiting for that
// RETURNING page, every CPU fault of the process would hang too.

func TestRegression2MigrateOutBounceOnDevice(t *testing.T) {
	if !rvInChild(t, 5*time.Second) {
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
	buf := rvBytes(uintptr(p), 2*pages*PageSize)
	for i := 0; i < len(buf); i += PageSize {
		buf[i] = 1
	}
	guard := cmem.Malloc(64<<10, 16) // keeps the chunk away from the arena top (no trim on free)
	migrateRange(t, m, p, len(buf))
	rvSay("before free: %d on device; stats %+v", rvStale(uintptr(p), pages), s.ServiceStats())
	cmem.Free(p)
	rvSay("p=%p guard=%p after free: %d of %d pages still on the device; stats %+v", p, guard, rvStale(uintptr(p), pages), pages, s.ServiceStats())
	defer cmem.Free(guard)
	// Explicit migration home of the (freed, still device-resident) range.
	// On this (locked) thread, so the bounce comes from the same arena.
	stop := time.AfterFunc(3*time.Second, func() {
		rvSay("HANG: MigrateToHost of a range the bounce buffer overlaps; %d pages still on the device; service stats %+v",
			rvStale(uintptr(p), pages), s.ServiceStats())
	})
	n, err := s.MigrateToHost(uintptr(p), pages*PageSize)
	stop.Stop()
	rvSay("moved %d", n)
	if err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// Guards against (found in the second review, fixed): fork_child walks the page table after the parent's fork() has
// returned and copies only pages that are *still* on a device when the walk
// reaches them. A page the parent brings home meanwhile (MigrateToHost,
// Release, another device's Migrate — anything on a Go thread) was absent in
// the parent at fork time, so the child has no copy of it either: the child
// reads zeros instead of the data the page held at fork time.

func TestRegression2ForkChildLosesPageBroughtHomeAfterFork(t *testing.T) {
	if !rvInChild(t, 20*time.Second) {
		return
	}
	const pages = 4096 // fork_child copies these first (address order)...
	m := attach(t, pages+1)
	mem := rvMmap(t, (pages+1)*PageSize)
	for i := 0; i < len(mem); i += PageSize {
		mem[i] = 42
	}
	migrateRange(t, m, unsafe.Pointer(&mem[0]), len(mem))
	last := rvAddr(mem) + pages*PageSize // ...and this one last
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	pid, errno := rvFork(&mem[pages*PageSize], fds[1], -1)
	if errno == 0 {
		// Parent, right after fork() returned: bring the last page home.
		if _, err := Default().MigrateToHost(last, PageSize); err != nil {
			t.Error(err)
		}
	}
	runtime.UnlockOSThread()
	if errno != 0 {
		t.Skipf("fork: %v", errno)
	}
	b := rvForkResult(pid, fds[0])
	if mem[pages*PageSize] != 42 {
		t.Fatalf("parent lost its data")
	}
	if b != 42 {
		t.Fatalf("forked child reads %d from a page that held 42 (on the device) at fork time", b)
	}
}

// ---------------------------------------------------------------------------
// Guards against (found in the second review, fixed): a migration protects its pages (UFFDIO_WRITEPROTECT) and, if an
// mremap moves them before it zaps, gives up without unprotecting: the
// protection moves with the PTEs. At the new address a CPU write takes a WP
// fault on a HOST page; when no page-table leaf covers the new address
// (the usual case: leaves span 16 MiB and are allocated only for tracked
// pages) handle_fault only wakes the writer (the `!p` branch), the write
// faults again, and the writer spins in WP faults forever.

func TestRegression2MremapDuringMigrationLeavesWPLivelock(t *testing.T) {
	if !rvInChild(t, 20*time.Second) {
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
	first := (rvAddr(resv) + slotSize - 1) &^ (slotSize - 1)
	hit := false
	for iter := 0; iter < 62 && !hit; iter++ {
		slot := first + uintptr(iter)*slotSize
		if PTE(slot, false) != nil {
			continue
		}
		mem := rvMmap(t, pages*PageSize)
		for i := 0; i < len(mem); i += PageSize {
			mem[i] = 1
		}
		v, _, err := Default().Resolve(rvAddr(mem))
		if err != nil {
			t.Fatal(err)
		}
		// Register first so that the race is between the protect and the mremap.
		if err := Default().register(rvAddr(mem), pages); err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		done := make(chan struct{})
		go func() {
			close(started)
			m.Migrate(v, rvAddr(mem), pages)
			close(done)
		}()
		<-started
		rvSpin((iter % 31) * 10000)
		if err := rvMremapFixed(mem, slot); err != nil {
			t.Fatal(err)
		}
		<-done
		moved := rvBytes(slot, pages*PageSize)
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
			rvSay("iteration %d: CPU write to the mremap'd range stuck; %d WP faults in 1s", iter, after-before)
			t.Errorf("CPU writer livelocked in WP faults after mremap raced a migration (%d WP faults in 1s)", after-before)
			hit = true
		}
	}
	if !hit {
		t.Log("race not hit")
	}
}
