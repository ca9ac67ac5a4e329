package svm

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/leakcheck"
	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/internal/watchdog"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

// Whole-range checks, the migration rule and bounded commands under hostile
// input: each bad input is an error naming what and where, fast, with the
// process alive and the data intact.

func arm(t *testing.T, limit time.Duration) { watchdog.Arm(t, limit, Default().ServiceState) }

// A 4-page mapping: page 0 read-write, 1 read-only, 2 PROT_NONE, 3 unmapped.
func hostileLayout(t *testing.T) (base uintptr) {
	t.Helper()
	mem := mmapRW(t, 4*PageSize)
	base = testmem.Addr(mem)
	if err := syscall.Mprotect(mem[PageSize:2*PageSize], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(mem[2*PageSize:3*PageSize], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, base+3*PageSize, PageSize, 0); e != 0 {
		t.Fatal(e)
	}
	t.Cleanup(func() { syscall.Syscall(syscall.SYS_MUNMAP, base, 3*PageSize, 0) })
	return base
}

func TestCheckRangeNamesFirstBadAddress(t *testing.T) {
	arm(t, time.Minute)
	base := hostileLayout(t)
	m, err := Default().Maps(true)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		start, n uintptr
		write    bool
		want     error
		addr     uintptr
		reason   string
	}{
		{"NULL", 0, 64, false, ErrDeviceFault, 0, "NULL"},
		{"near NULL", 100, 64, true, ErrDeviceFault, 100, "NULL"},
		{"wraps", ^uintptr(0) - 10, 100, false, ErrDeviceFault, ^uintptr(0) - 10, "end of the user address space"},
		{"beyond user space", UserSpaceEnd - PageSize, 2 * PageSize, false, ErrDeviceFault, UserSpaceEnd - PageSize, "end of the user address space"},
		{"huge count", base, 1 << 30, false, ErrDeviceFault, base + 2*PageSize, "PROT_NONE"},
		{"write into read-only", base, 2 * PageSize, true, ErrPermission, base + PageSize, "read-only"},
		{"read across PROT_NONE", base + 100, 2*PageSize + 100, false, ErrDeviceFault, base + 2*PageSize, "PROT_NONE"},
		{"hole", base + 3*PageSize, 10, false, ErrDeviceFault, base + 3*PageSize, "not mapped"},
	}
	for _, c := range cases {
		err := m.CheckRange("test", c.start, c.n, c.write)
		var fe *FaultError
		if !errors.Is(err, c.want) || !errors.As(err, &fe) || fe.Addr != c.addr || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v; want %v at %#x (%q)", c.name, err, c.want, c.addr, c.reason)
		}
	}
	// The good parts pass; an empty range is no access at all.
	if err := m.CheckRange("test", base, PageSize, true); err != nil {
		t.Errorf("read-write page: %v", err)
	}
	if err := m.CheckRange("test", base, 2*PageSize, false); err != nil {
		t.Errorf("read of rw + ro pages: %v", err)
	}
	if err := m.CheckRange("test", 0, 0, true); err != nil {
		t.Errorf("empty range: %v", err)
	}
}

// A device's arena is not host memory: a command naming it is refused,
// and the device-resident page in it is untouched.
func TestCheckRangeRefusesDeviceMemory(t *testing.T) {
	arm(t, time.Minute)
	d := attach(t, 16)
	mem := testmem.Map(t, PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	for i := range mem {
		mem[i] = 0xA5
	}
	v, _, _ := Default().Resolve(testmem.Addr(mem))
	if _, err := d.Migrate(v, testmem.Addr(mem), 1); err != nil {
		t.Fatal(err)
	}
	m, err := Default().Maps(true)
	if err != nil {
		t.Fatal(err)
	}
	err = m.CheckRange("cpu", d.Base(), uintptr(d.Frames())*PageSize, true)
	var fe *FaultError
	if !errors.Is(err, ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr != d.Base() || !strings.Contains(err.Error(), "device memory") {
		t.Fatalf("arena: %v, want ErrDeviceFault naming %#x as device memory", err, d.Base())
	}
	if mem[0] != 0xA5 || mem[PageSize-1] != 0xA5 {
		t.Fatalf("device-resident data changed: %#x %#x", mem[0], mem[PageSize-1])
	}
}

// machinery returns the mappings the migration rule must protect, found
// independently of the classifier: libc's .bss (the anonymous mapping
// right after libc's last file mapping), the main thread's TLS and this
// thread's stack.
func machinery(t *testing.T, m *Maps) map[string]uintptr {
	t.Helper()
	out := map[string]uintptr{}
	for i, v := range m.VMAs[:len(m.VMAs)-1] {
		n := m.VMAs[i+1]
		if strings.Contains(v.Path, "libc.so") && n.Start == v.End && n.Path == "" && n.Read && n.Write {
			out["libc .bss"] = n.Start
		}
	}
	if uffd.MainTLS() != 0 {
		out["main thread TLS"] = uffd.MainTLS()
	}
	runtime.LockOSThread()
	sp, tp := uffd.ThreadSelf()
	runtime.UnlockOSThread()
	out["a thread's stack"] = sp
	out["a thread's TLS"] = tp
	if _, ok := out["libc .bss"]; !ok {
		t.Log("no anonymous mapping after libc's: libc .bss not checked")
	}
	return out
}

func TestMigrationRuleProtectsMachinery(t *testing.T) {
	arm(t, time.Minute)
	m, err := Default().Maps(true)
	if err != nil {
		t.Fatal(err)
	}
	for what, a := range machinery(t, m) {
		v, ok := m.Find(a)
		if !ok {
			t.Errorf("%s at %#x: not mapped?", what, a)
			continue
		}
		if v.Migratable() {
			t.Errorf("%s at %#x: %v is migratable", what, a, v)
		}
	}
	// The program's own memory still migrates, wherever the kernel put it
	// (a first mmap lands right below the loader's data and merges with it).
	for i := 0; i < 8; i++ {
		mem := testmem.Map(t, 8*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
		m, _ := Default().Maps(true)
		if v, _ := m.Find(testmem.Addr(mem)); !v.Migratable() {
			t.Errorf("fresh mmap %v: not migratable", v)
		}
	}
	heap := make([]byte, 1<<20)
	m, _ = Default().Maps(true)
	if v, _ := m.Find(testmem.Addr(heap)); !v.Migratable() {
		t.Errorf("Go heap %v: not migratable", v)
	}
	runtime.KeepAlive(heap)
}

// Migrating the machinery's memory is refused with ErrNotSupported naming
// the mapping — at once, not a deadlock — and the process carries on
// (errno, libc and the loader keep working: the test calls into them).
func TestMigrateMachineryRefused(t *testing.T) {
	arm(t, time.Minute)
	d := attach(t, 64)
	m, err := Default().Maps(true)
	if err != nil {
		t.Fatal(err)
	}
	for what, a := range machinery(t, m) {
		v, _ := m.Find(a)
		page := a &^ (PageSize - 1)
		// Pass a VMA that claims the page is ordinary memory: Migrate
		// re-reads the mappings and applies the rule itself.
		forged := v
		forged.Kind = KindPrivateAnon
		start := time.Now()
		_, err := d.Migrate(forged, page, 1)
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "system") && !strings.Contains(err.Error(), "stack") {
			t.Errorf("%s (%v): %v, want ErrNotSupported naming the mapping", what, v, err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("%s: refusal took %v", what, time.Since(start))
		}
		if w := uffd.Load(page); uffd.State(w) != StateHost {
			t.Errorf("%s: page state %d after a refused migration", what, uffd.State(w))
		}
	}
	// Still alive and well: a syscall that sets errno, an allocation.
	if _, err := syscall.Open("/nonexistent/svmrt", syscall.O_RDONLY, 0); err == nil {
		t.Error("open of a missing file succeeded")
	}
	_ = make([]byte, 1<<20)
}

// MigrateToHost of a huge range costs what the range holds, not its size;
// Snapshot of a huge range is refused instead of allocating an entry per
// page; both reject ranges beyond the user address space.
func TestHugeRangesBounded(t *testing.T) {
	arm(t, time.Minute)
	d := attach(t, 16)
	mem := testmem.Map(t, 2*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	mem[0], mem[PageSize] = 1, 2
	v, _, _ := Default().Resolve(testmem.Addr(mem))
	if _, err := d.Migrate(v, testmem.Addr(mem), 2); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	moved, err := Default().MigrateToHost(PageSize, UserSpaceEnd-2*PageSize)
	if err != nil || moved < 2 {
		t.Fatalf("MigrateToHost of the whole address space: moved %d, %v", moved, err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("MigrateToHost of the whole address space took %v", el)
	}
	if mem[0] != 1 || mem[PageSize] != 2 {
		t.Fatalf("data %d %d after migrating home", mem[0], mem[PageSize])
	}
	if _, err := Default().MigrateToHost(^uintptr(0)-PageSize, 2*PageSize); !errors.Is(err, ErrDeviceFault) {
		t.Errorf("MigrateToHost wrapping: %v, want ErrDeviceFault", err)
	}
	if _, err := Default().Snapshot(1<<20, 1<<40, 0); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("Snapshot of 1 TiB: %v, want ErrInvalidValue", err)
	}
	if _, err := Default().Snapshot(^uintptr(0)-PageSize, 2*PageSize, 0); !errors.Is(err, ErrDeviceFault) {
		t.Errorf("Snapshot wrapping: %v, want ErrDeviceFault", err)
	}
	if snap, err := Default().Snapshot(testmem.Addr(mem), 2*PageSize, 0); err != nil || len(snap) != 2 {
		t.Errorf("Snapshot of 2 pages: %d entries, %v", len(snap), err)
	}
	// Discard cannot run past the buffer into its neighbours. What the
	// terabyte after it reaches first is whatever the kernel placed there: a
	// hole (ErrDeviceFault), or memory of the process's machinery, a new
	// thread's stack say (ErrNotSupported: seen once in a race run).
	if _, err := Default().Discard(testmem.Addr(mem), 1<<40); !errors.Is(err, ErrDeviceFault) && !errors.Is(err, ErrNotSupported) {
		t.Errorf("Discard of 1 TiB: %v, want ErrDeviceFault or ErrNotSupported", err)
	}
	if mem[0] != 1 {
		t.Error("a refused Discard zapped the buffer")
	}
}

// Attach and Release leave nothing behind: 10,000 cycles, no new
// mapping, fd or thread.
func TestAttachReleaseNoLeak(t *testing.T) {
	arm(t, 2*time.Minute)
	if Default().Degraded() != nil {
		t.Skip(Default().Degraded())
	}
	cycle := func() {
		d, err := Default().Attach(testDev{"leak"}, 64*PageSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Release(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ { // warm up: slot bitmaps are made once per slot
		cycle()
	}
	before := leakcheck.Take(t)
	n := 10000
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		cycle()
	}
	leakcheck.Check(t, fmt.Sprintf("%d attach/release cycles", n), before, leakcheck.Take(t))
}

// A program's mapping that the kernel places right after a library's .bss
// merges with it; only the .bss part (by the library's ELF headers) is the
// machinery's, the rest still migrates.
func TestLibraryBSSMergedWithProgramMapping(t *testing.T) {
	var libc, bss VMA
	m, err := Default().Maps(true)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.VMAs[:len(m.VMAs)-1] {
		if strings.Contains(v.Path, "libc.so") && m.VMAs[i+1].Start == v.End && m.VMAs[i+1].Kind == KindSystem {
			libc, bss = v, m.VMAs[i+1]
		}
	}
	if bss.End == 0 {
		t.Skip("no anonymous mapping after libc's")
	}
	if next, ok := m.Find(bss.End); ok {
		// Already merged with something the program mapped: that part is
		// the program's.
		if next.Kind != KindPrivateAnon || !next.Migratable() {
			t.Errorf("after libc's .bss %v: %v, want the program's migratable memory", bss, next)
		}
		return
	}
	// Map right after the .bss, as the kernel does when that gap is the
	// one that fits.
	want := bss.End
	addr, _, e := syscall.Syscall6(syscall.SYS_MMAP, want, 4*PageSize, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|0x100000 /* MAP_FIXED_NOREPLACE */, ^uintptr(0), 0)
	if e != 0 || addr != want {
		t.Skipf("cannot map right after %v (%v)", libc, e)
	}
	defer syscall.Syscall(syscall.SYS_MUNMAP, addr, 4*PageSize, 0)
	m, _ = Default().Maps(true)
	if v, _ := m.Find(addr); !v.Migratable() {
		t.Errorf("program mapping merged after libc's .bss: %v, want migratable", v)
	}
	if v, _ := m.Find(bss.Start); v.Kind != KindSystem {
		t.Errorf("libc's .bss: %v, want system", v)
	}
}

// Huge and hostile ranges while pages migrate and a goroutine forces GC,
// at GOMAXPROCS 1 and 2: MigrateToHost of the whole address space,
// refused Snapshots and Discards race device migrations and host writers;
// nothing hangs (the watchdog dumps and fails instead), no write is lost.
func TestHugeRangesUnderGCStress(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			arm(t, 2*time.Minute)
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			d := attach(t, 64)
			const pages = 16
			mem := testmem.Map(t, pages*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
			base := testmem.Addr(mem)
			var stop atomic.Bool
			var wg sync.WaitGroup
			wg.Add(3)
			go func() { // GC storm
				defer wg.Done()
				for !stop.Load() {
					runtime.GC()
					_ = make([]byte, 64<<10)
				}
			}()
			var writes [pages]uint64
			go func() { // host writer: one counter per page
				defer wg.Done()
				for n := uint64(1); !stop.Load(); n++ {
					pg := int(n % pages)
					writes[pg] = n
					atomic.StoreUint64((*uint64)(ptrAt(base+uintptr(pg)*PageSize)), n)
					if n%64 == 0 {
						runtime.Gosched()
					}
				}
			}()
			go func() { // hostile ranges
				defer wg.Done()
				for !stop.Load() {
					if _, err := Default().MigrateToHost(PageSize, UserSpaceEnd-2*PageSize); err != nil {
						t.Errorf("MigrateToHost: %v", err)
						return
					}
					if _, err := Default().Snapshot(1<<30, 1<<42, 0); !errors.Is(err, ErrInvalidValue) {
						t.Errorf("Snapshot: %v", err)
						return
					}
					if _, err := Default().Discard(base, 1<<40); !errors.Is(err, ErrDeviceFault) {
						t.Errorf("Discard: %v", err)
						return
					}
					runtime.Gosched()
				}
			}()
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				v, ok, err := Default().Resolve(base)
				if err != nil || !ok {
					t.Fatal(err)
				}
				if _, err := d.Migrate(v, base, pages); err != nil {
					t.Fatal(err)
				}
			}
			stop.Store(true)
			wg.Wait()
			for pg := 0; pg < pages; pg++ {
				if got := atomic.LoadUint64((*uint64)(ptrAt(base + uintptr(pg)*PageSize))); writes[pg] != 0 && got != writes[pg] {
					t.Fatalf("page %d: last write %d, memory has %d", pg, writes[pg], got)
				}
			}
		})
	}
}
