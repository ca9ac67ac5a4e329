package simgpu

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Explicit migration follows Linux's migrate_vma: private anonymous pages
// move (never-written ones too) and are counted; holes and PROT_NONE are
// ErrDeviceFault naming the address before anything moves; pages of
// mappings that are mirrored, not migrated, stay in host memory and are
// reported beside the count, without failing the rest of the range.

// resident counts d's pages of b.
func resident(d *Device, b []byte) int { return d.mem.Resident(testmem.Addr(b), len(b)/svm.PageSize) }

func TestMigrateNeverWrittenPages(t *testing.T) {
	needUFFD(t)
	d := newDev(t)
	b := mmapPages(t, 6)
	n, err := d.Migrate(testmem.Addr(b), uintptr(len(b)))
	if err != nil || n != 6 || resident(d, b) != 6 {
		t.Fatalf("Migrate of 6 never-written pages: %d moved, %v, %d resident; want 6, nil, 6", n, err, resident(d, b))
	}
	for i, v := range b {
		if v != 0 {
			t.Fatalf("byte %d = %d after migrating untouched memory, want 0", i, v)
		}
	}
}

func TestMigrateHoleAndProtNoneMoveNothing(t *testing.T) {
	needUFFD(t)
	arm(t, time.Minute)
	d := newDev(t)
	b := mmapPages(t, 6)
	for i := range b {
		b[i] = byte(i)
	}
	base := testmem.Addr(b)
	if err := syscall.Mprotect(b[3*svm.PageSize:4*svm.PageSize], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	n, err := d.Migrate(base, uintptr(len(b)))
	var fe *svm.FaultError
	if !errors.Is(err, svm.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr != base+3*svm.PageSize || n != 0 || resident(d, b) != 0 {
		t.Errorf("Migrate over PROT_NONE: %d moved, %v; want ErrDeviceFault at %#x and nothing moved", n, err, base+3*svm.PageSize)
	}
	if err := syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		t.Fatal(err)
	}
	// A hole: unmap page 4.
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, base+4*svm.PageSize, svm.PageSize, 0); e != 0 {
		t.Fatal(e)
	}
	n, err = d.Migrate(base, uintptr(len(b)))
	if !errors.Is(err, svm.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr != base+4*svm.PageSize || n != 0 || resident(d, b[:4*svm.PageSize]) != 0 {
		t.Errorf("Migrate over a hole: %d moved, %v; want ErrDeviceFault at %#x and nothing moved", n, err, base+4*svm.PageSize)
	}
	for i := range 4 * svm.PageSize {
		if b[i] != byte(i) {
			t.Fatalf("byte %d changed", i)
		}
	}
}

// Private pages beside a shared and a file-backed mapping: the private
// ones move, the others stay and are reported with their mappings.
func TestMigrateMixedRangeLeavesSharedAndFilePages(t *testing.T) {
	needUFFD(t)
	arm(t, time.Minute)
	d := newDev(t)
	b := mmapPages(t, 8)
	base := testmem.Addr(b)
	// Pages 2-3 shared anonymous, pages 5-6 a private file mapping, both
	// placed over the private region (MAP_FIXED).
	if _, err := mmapFixed(base+2*svm.PageSize, 2*svm.PageSize, syscall.MAP_SHARED|syscall.MAP_ANON, -1); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "pages")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(2 * svm.PageSize); err != nil {
		t.Fatal(err)
	}
	if _, err := mmapFixed(base+5*svm.PageSize, 2*svm.PageSize, syscall.MAP_PRIVATE, int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = byte(i * 7)
	}
	n, err := d.Migrate(base, uintptr(len(b)))
	var left *svm.LeftInPlaceError
	if n != 4 || !errors.Is(err, svm.ErrNotSupported) || !errors.As(err, &left) {
		t.Fatalf("Migrate of a mixed range: %d moved, %v; want 4 and a LeftInPlaceError", n, err)
	}
	if left.Pages != 4 || len(left.Mappings) != 2 ||
		left.Mappings[0].Start != base+2*svm.PageSize || left.Mappings[0].Kind != svm.KindSharedAnon ||
		left.Mappings[1].Start != base+5*svm.PageSize || left.Mappings[1].Kind != svm.KindFile {
		t.Errorf("left in place: %+v, want pages 2-3 (shared-anon) and 5-6 (file)", left)
	}
	for _, p := range []int{0, 1, 4, 7} {
		if got := d.mem.Resident(base+uintptr(p)*svm.PageSize, 1); got != 1 {
			t.Errorf("private page %d not on the device", p)
		}
	}
	for _, p := range []int{2, 3, 5, 6} {
		if got := d.mem.Resident(base+uintptr(p)*svm.PageSize, 1); got != 0 {
			t.Errorf("page %d of a mirrored mapping moved to the device", p)
		}
	}
	for i := range b {
		if b[i] != byte(i*7) {
			t.Fatalf("byte %d = %d, want %d", i, b[i], byte(i*7))
		}
	}
}

// mmapFixed maps n bytes at addr over whatever is there.
func mmapFixed(addr, n uintptr, flags, fd int) (uintptr, error) {
	r, _, e := syscall.Syscall6(syscall.SYS_MMAP, addr, n, syscall.PROT_READ|syscall.PROT_WRITE, uintptr(flags|syscall.MAP_FIXED), uintptr(fd), 0)
	if e != 0 {
		return 0, e
	}
	return r, nil
}

// Read-only private pages migrate like writable ones (migrate_vma moves
// them; here by copy and zap, since UFFDIO_MOVE refuses read-only
// mappings), written or not, and keep their protection on the device: a
// compiled kernel reads them where they are, its write is ErrPermission
// naming the address with nothing changed, and a CPU read brings the page
// home with its data.
func TestMigrateReadOnlyPages(t *testing.T) {
	needUFFD(t)
	arm(t, time.Minute)
	d := newDev(t)
	b := mmapPages(t, 4)
	b[0], b[2*svm.PageSize] = 1, 2 // page 3 is never written
	base := testmem.Addr(b)
	if err := syscall.Mprotect(b[2*svm.PageSize:], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	n, err := d.Migrate(base, uintptr(len(b)))
	if n != 4 || err != nil || resident(d, b) != 4 {
		t.Fatalf("Migrate over rw and read-only pages: %d moved, %v, %d resident; want 4, nil, 4", n, err, resident(d, b))
	}
	p, err := kernels.Compile(`
__kernel void get(__global uint *out, __global const uchar *in) { out[get_global_id(0)] = in[get_global_id(0) * 4096]; }
__kernel void put(__global uchar *buf) { buf[get_global_id(0) * 4096] = 9; }`)
	if err != nil {
		t.Skip(err) // no toolchain
	}
	out := make([]uint32, 4)
	if err := run(t, d, p.Kernel("get"), kernels.Range1D(4, 1), out, b); err != nil {
		t.Fatalf("device read of migrated read-only pages: %v", err)
	}
	if got := resident(d, b); got != 4 {
		t.Errorf("after the device read: %d of 4 pages resident, want 4", got)
	}
	if out[0] != 1 || out[1] != 0 || out[2] != 2 || out[3] != 0 {
		t.Fatalf("device read of migrated read-only pages: %v, want [1 0 2 0]", out)
	}
	err = run(t, d, p.Kernel("put"), kernels.Range1D(1, 1), b[2*svm.PageSize:])
	var fe *svm.FaultError
	if !errors.Is(err, svm.ErrPermission) || !errors.As(err, &fe) || fe.Addr != base+2*svm.PageSize || !fe.Write {
		t.Fatalf("device write to a migrated read-only page: %v; want ErrPermission at %#x", err, base+2*svm.PageSize)
	}
	if b[2*svm.PageSize] != 2 || b[3*svm.PageSize] != 0 || b[0] != 1 {
		t.Fatalf("data after the round trip: %d %d %d, want 2 0 1", b[2*svm.PageSize], b[3*svm.PageSize], b[0])
	}
	snap, err := d.space.Snapshot(base, uintptr(len(b)), d.mem.ID())
	if err != nil {
		t.Fatal(err)
	}
	if snap[2].State != svm.PageReadOnly {
		t.Errorf("page 2 after the CPU read: %v, want read-only in host memory", snap[2].State)
	}
}
