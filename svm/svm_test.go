package svm

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm/internal/cmem"
	"github.com/svmrt/svmrt/svm/internal/uffd"
)

var sink byte

type testDev struct{ name string }

func (d testDev) Name() string                  { return d.name }
func (d testDev) Caps() Caps                    { return Caps{PrivateMemory: true, PageSize: PageSize} }
func (d testDev) Invalidate(start, end uintptr) {}

func attach(t *testing.T, frames int) *DevMem {
	t.Helper()
	s := Default()
	if s.Degraded() != nil {
		t.Skipf("migration unavailable: %v", s.Degraded())
	}
	m, err := s.Attach(testDev{t.Name()}, int64(frames)*PageSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Release() })
	return m
}

// resolve is the mapping of a, which must be mapped.
func resolve(t testing.TB, a uintptr) VMA {
	t.Helper()
	v, ok, err := Default().Resolve(a)
	if err != nil || !ok {
		t.Fatalf("resolve %#x: %v %v", a, ok, err)
	}
	return v
}

// awaitZapping waits (5 s at most) until a migration holds the page at a
// between its claim and its zap (the zap delay keeps it there).
func awaitZapping(t *testing.T, a uintptr) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); WordState(uffd.Load(a)) != StateZapping; {
		if time.Now().After(deadline) {
			t.Fatalf("the migration never reached its zap (page word state %d)", WordState(uffd.Load(a)))
		}
		time.Sleep(time.Millisecond)
	}
}

// migrateRange migrates every page wholly inside [p, p+n).
func migrateRange(t testing.TB, m *DevMem, p unsafe.Pointer, n int) (uintptr, int) {
	t.Helper()
	start := (uintptr(p) + PageSize - 1) &^ (PageSize - 1)
	pages := int((uintptr(p) + uintptr(n) - start) / PageSize)
	// Registration splits mappings: the range may span several by now.
	moved := 0
	for a, end := start, start+uintptr(pages)*PageSize; a < end; {
		v := resolve(t, a)
		stop := min(end, v.End)
		res, err := m.Migrate(v, a, int((stop-a)/PageSize))
		if err != nil {
			t.Fatal(err)
		}
		moved += res.Moved
		a = stop
	}
	if moved != pages {
		t.Fatalf("moved %d of %d", moved, pages)
	}
	return start, pages
}

func checkOnDevice(t *testing.T, m *DevMem, start uintptr, pages int) {
	t.Helper()
	snap, err := Default().Snapshot(start, uintptr(pages)*PageSize, m.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range snap {
		if p.State != PageOnDevice {
			t.Fatalf("page %#x is %v, want on-device", p.Addr, p.State)
		}
	}
}

// Each kind of private anonymous memory migrates, and the CPU's first touch
// brings it back with its data.
func TestMigrateGoHeapMmapMalloc(t *testing.T) {
	m := attach(t, 64)
	const n = 8 * PageSize
	heap := make([]byte, n+PageSize)
	mm := testmem.Map(t, n, syscall.PROT_READ|syscall.PROT_WRITE)
	cp := cmem.Malloc(n, PageSize)
	defer cmem.Free(cp)
	cm := unsafe.Slice((*byte)(cp), n)
	for name, b := range map[string][]byte{"go-heap": heap, "mmap": mm, "malloc": cm} {
		t.Run(name, func(t *testing.T) {
			for i := range b {
				b[i] = byte(i*31 + 7)
			}
			cpuBefore, _, _, _ := m.Counters()
			start, pages := migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
			checkOnDevice(t, m, start, pages)
			for i := range b {
				if b[i] != byte(i*31+7) {
					t.Fatalf("byte %d = %d after fault-back", i, b[i])
				}
			}
			cpuAfter, _, _, _ := m.Counters()
			if cpuAfter <= cpuBefore {
				t.Fatal("no CPU fault counted")
			}
		})
	}
	runtime.KeepAlive(heap)
}

func TestSharedAndFileMappingsAreNotMigrated(t *testing.T) {
	m := attach(t, 8)
	shm, err := syscall.Mmap(-1, 0, PageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(shm)
	f, err := os.CreateTemp(t.TempDir(), "svm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Truncate(PageSize)
	fm, err := syscall.Mmap(int(f.Fd()), 0, PageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(fm)
	for name, b := range map[string][]byte{"shared-anon": shm, "file": fm} {
		v, ok, err := Default().Resolve(uintptr(unsafe.Pointer(&b[0])))
		if err != nil || !ok {
			t.Fatal(err)
		}
		wantKind := map[string]Kind{"shared-anon": KindSharedAnon, "file": KindFile}[name]
		if v.Kind != wantKind {
			t.Fatalf("%s classified as %v", name, v.Kind)
		}
		if _, err := m.Migrate(v, v.Start, 1); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("%s: migrate returned %v, want ErrNotSupported", name, err)
		}
	}
}

// Every snapshot state, each produced by a deliberate setup, and taking a
// snapshot faults nothing in.
func TestSnapshotStates(t *testing.T) {
	m := attach(t, 8)
	other := attach(t, 8)
	mem := testmem.Map(t, 8*PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	base := testmem.Addr(mem)
	page := func(i int) uintptr { return base + uintptr(i)*PageSize }
	// 0: not present (never touched). 1: zero page (read only).
	sink += mem[1*PageSize]
	// 2: writable (written). 3: read-only (written, then mprotect).
	mem[2*PageSize] = 1
	mem[3*PageSize] = 1
	// 4: on this device. 5: on the other device.
	mem[4*PageSize], mem[5*PageSize] = 4, 5
	v, _, _ := Default().Resolve(base)
	if _, err := m.Migrate(v, page(4), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Migrate(v, page(5), 1); err != nil {
		t.Fatal(err)
	}
	// 6: PROT_NONE. 7: unmapped.
	if err := syscall.Mprotect(mem[3*PageSize:4*PageSize], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(mem[6*PageSize:7*PageSize], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, page(7), PageSize, 0); e != 0 {
		t.Fatal(e)
	}
	want := []PageState{PageNotPresent, PageZero, PageWritable, PageReadOnly, PageOnDevice, PageOnOtherDevice, PageNoAccess, PageNoAccess}
	snap, err := Default().Snapshot(base, 8*PageSize, m.ID())
	if err != nil {
		t.Fatal(err)
	}
	f1, _, _, _ := m.Counters()
	f2, _, _, _ := other.Counters()
	for i, p := range snap {
		w := want[i]
		if w == PageZero && zeroPFN == 0 {
			w = PageReadOnly // PFNs hidden: zero page shows as present
			if p.State == PageWritable {
				w = PageWritable
			}
		}
		if p.State != w {
			t.Errorf("page %d: %v, want %v", i, p.State, w)
		}
	}
	if snap[5].Device != other.ID() {
		t.Errorf("page 5 owner %d, want %d", snap[5].Device, other.ID())
	}
	// Snapshot again: still on the devices, no fault was taken.
	snap2, _ := Default().Snapshot(base, 8*PageSize, m.ID())
	g1, _, _, _ := m.Counters()
	g2, _, _, _ := other.Counters()
	if snap2[4].State != PageOnDevice || snap2[5].State != PageOnOtherDevice || g1 != f1 || g2 != f2 {
		t.Fatal("snapshot faulted pages in")
	}
	if mem[4*PageSize] != 4 || mem[5*PageSize] != 5 {
		t.Fatal("data lost")
	}
	syscall.Mprotect(mem[:7*PageSize], syscall.PROT_READ|syscall.PROT_WRITE)
}

func TestReleaseBringsEverythingHome(t *testing.T) {
	s := Default()
	if s.Degraded() != nil {
		t.Skip(s.Degraded())
	}
	m, err := s.Attach(testDev{"release"}, 32*PageSize)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 20*PageSize)
	for i := range b {
		b[i] = byte(i ^ 0x5a)
	}
	start, pages := migrateRange(t, m, unsafe.Pointer(&b[0]), len(b))
	if err := m.Release(); err != nil {
		t.Fatal(err)
	}
	snap, _ := s.Snapshot(start, uintptr(pages)*PageSize, 0)
	for _, p := range snap {
		if p.State != PageWritable {
			t.Fatalf("page %#x %v after release", p.Addr, p.State)
		}
	}
	for i := range b {
		if b[i] != byte(i^0x5a) {
			t.Fatalf("byte %d lost", i)
		}
	}
}

func TestRepeatedMigrateFaultBackCycles(t *testing.T) {
	m := attach(t, 16)
	b := make([]uint64, 9*PageSize/8)
	for round := 0; round < 50; round++ {
		for i := range b {
			b[i] += uint64(i)
		}
		migrateRange(t, m, unsafe.Pointer(&b[0]), len(b)*8)
		if m.FreeFrames() < 0 {
			t.Fatal("frames")
		}
	}
	for i := range b {
		if b[i] != uint64(50*i) {
			t.Fatalf("b[%d]=%d", i, b[i])
		}
	}
	if got := m.FreeFrames(); got != 16 {
		t.Fatalf("frames leaked: %d free of 16", got)
	}
}

func TestParseMaps(t *testing.T) {
	m, err := ParseMaps([]byte(`00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon
7f0000000000-7f0000021000 rw-p 00000000 00:00 0 
7f1000000000-7f1000001000 rw-s 00000000 00:01 1234                       /dev/zero (deleted)
7ffc0000000-7ffc0021000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[uintptr]Kind{0x400000: KindFile, 0x7f0000000000: KindPrivateAnon, 0x7f1000000000: KindSharedAnon, 0x7ffc0000000: KindStack, 0xffffffffff600000: KindSpecial}
	for _, v := range m.VMAs {
		if kinds[v.Start] != v.Kind {
			t.Errorf("%v: kind %v want %v", v, v.Kind, kinds[v.Start])
		}
	}
	if v, ok := m.Find(0x7f0000000100); !ok || !v.Migratable() {
		t.Fatalf("find: %v %v", v, ok)
	}
	if _, ok := m.Find(0x500000); ok {
		t.Fatal("hole found")
	}
	if _, err := ParseMaps([]byte("zz-yy r--p 0 0 0\n")); err == nil {
		t.Fatal("bad line accepted")
	}
}
