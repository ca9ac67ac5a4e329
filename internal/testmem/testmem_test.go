package testmem

import (
	"syscall"
	"testing"
)

// perms returns the permission field ("rw-p") of the /proc/self/maps line
// covering addr, or "" if nothing is mapped there.
func perms(t *testing.T, addr uintptr) string {
	t.Helper()
	data, err := readMaps()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range data {
		if l.lo <= addr && addr < l.hi {
			return l.perms
		}
	}
	return ""
}

func TestMapProtectionAndSize(t *testing.T) {
	for _, c := range []struct {
		prot int
		want string
	}{
		{syscall.PROT_READ | syscall.PROT_WRITE, "rw-p"},
		{syscall.PROT_READ, "r--p"},
		{syscall.PROT_NONE, "---p"},
	} {
		b := Map(t, 3*PageSize, c.prot)
		if len(b) != 3*PageSize {
			t.Errorf("len = %d, want %d", len(b), 3*PageSize)
		}
		if Addr(b)%uintptr(PageSize) != 0 {
			t.Errorf("%#x is not page aligned", Addr(b))
		}
		for i := 0; i < 3; i++ {
			if got := perms(t, Addr(b)+uintptr(i*PageSize)); got != c.want {
				t.Errorf("prot %#x page %d: maps says %q, want %q", c.prot, i, got, c.want)
			}
		}
	}
	p := Pages(t, 2, syscall.PROT_READ)
	if len(p) != 2*PageSize || perms(t, Addr(p)) != "r--p" {
		t.Errorf("Pages(2, PROT_READ): len %d, perms %q", len(p), perms(t, Addr(p)))
	}
}

func TestCleanupUnmaps(t *testing.T) {
	var plain, aligned uintptr
	t.Run("map", func(t *testing.T) {
		plain = Addr(Map(t, PageSize, syscall.PROT_READ|syscall.PROT_WRITE))
		aligned = Addr(Aligned(t, PageSize, 2<<20))
		if perms(t, plain) == "" || perms(t, aligned) == "" {
			t.Fatal("mapping not in /proc/self/maps while the test runs")
		}
	})
	if got := perms(t, plain); got != "" {
		t.Errorf("Map's %#x still mapped (%s) after its test ended", plain, got)
	}
	if got := perms(t, aligned); got != "" {
		t.Errorf("Aligned's %#x still mapped (%s) after its test ended", aligned, got)
	}
}

func TestAligned(t *testing.T) {
	for _, align := range []int{PageSize, 64 << 10, 2 << 20} {
		for i := 0; i < 4; i++ {
			b := Aligned(t, 5*PageSize, align)
			if Addr(b)%uintptr(align) != 0 {
				t.Errorf("Aligned(_, %d): %#x", align, Addr(b))
			}
			if len(b) != 5*PageSize || cap(b) != 5*PageSize {
				t.Errorf("Aligned: len %d cap %d, want %d", len(b), cap(b), 5*PageSize)
			}
			b[0], b[len(b)-1] = 1, 2 // read-write
			if got := perms(t, Addr(b)); got != "rw-p" {
				t.Errorf("Aligned: perms %q", got)
			}
		}
	}
}

func TestHoleIsUnmapped(t *testing.T) {
	h := Hole(t)
	for off := uintptr(0); off < HoleSize; off += uintptr(PageSize) {
		if got := perms(t, h+off); got != "" {
			t.Fatalf("Hole %#x: %#x is mapped (%s)", h, h+off, got)
		}
	}
	// Nothing there: msync of an unmapped range fails with ENOMEM.
	_, _, errno := syscall.Syscall(syscall.SYS_MSYNC, h, HoleSize, syscall.MS_ASYNC)
	if errno != syscall.ENOMEM {
		t.Errorf("msync of the hole: %v, want ENOMEM", errno)
	}
}

func TestViews(t *testing.T) {
	b := Map(t, PageSize, syscall.PROT_READ|syscall.PROT_WRITE)
	f, i, u := Float32s(b), Int32s(b), Uint32s(b)
	if len(f) != PageSize/4 || len(i) != PageSize/4 || len(u) != PageSize/4 {
		t.Fatalf("lens %d %d %d, want %d", len(f), len(i), len(u), PageSize/4)
	}
	u[1] = 0x3f800000
	if f[1] != 1 || i[1] != 0x3f800000 {
		t.Errorf("views do not share b: f[1]=%v i[1]=%#x", f[1], i[1])
	}
	i[2] = -1
	if b[8] != 0xff || b[11] != 0xff {
		t.Errorf("Int32s does not write b")
	}
}
