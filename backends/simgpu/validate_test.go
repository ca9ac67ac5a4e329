package simgpu

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/internal/watchdog"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Hostile arguments to the simulated GPU's memory commands and launches:
// each is an error naming what and where, returned at once; the process
// lives and host data stays intact.

func arm(t *testing.T, limit time.Duration) { watchdog.Arm(t, limit, svm.Default().ServiceState) }

// mmapPages maps fresh pages for a test. A mapping the classifier takes
// for the machinery's memory is kept out of the way and another one made:
// the race detector's runtime frees memory the loader had below [vvar]
// when the process started, and a mapping that lands in that recorded
// range, even partly, is refused (the known gap in svm's package doc).
func mmapPages(t *testing.T, pages int) []byte {
	t.Helper()
	for try := 0; ; try++ {
		b := testmem.Pages(t, pages, syscall.PROT_READ|syscall.PROT_WRITE)
		// Every page: the recorded range may begin inside the mapping.
		m, _ := svm.Default().Maps(true)
		system := false
		for off := 0; off < len(b); off += svm.PageSize {
			if v, _ := m.Find(testmem.Addr(b) + uintptr(off)); v.Kind == svm.KindSystem {
				system = true
			}
		}
		if !system || try == 8 {
			return b
		}
	}
}

// A 2-page buffer and a count of 2^30: the range runs into whatever lies
// beyond (holes, the loader's data). The command fails at once with
// ErrDeviceFault naming the first bad address, and touches nothing.
func TestHugeCountOnSmallMapping(t *testing.T) {
	needUFFD(t)
	arm(t, time.Minute)
	d := newDev(t)
	buf := mmapPages(t, 2)
	other := mmapPages(t, 2)
	for i := range buf {
		buf[i], other[i] = 7, 9
	}
	base := testmem.Addr(buf)
	m, _ := svm.Default().Maps(true)
	firstBad := m.CheckRange("x", base, 1<<30, true)
	var want *svm.FaultError
	if !errors.As(firstBad, &want) {
		t.Skipf("the 1 GiB after the buffer is all writable memory here (%v)", firstBad)
	}
	ctx := context.Background()
	start := time.Now()
	check := func(what string, err error) {
		t.Helper()
		var fe *svm.FaultError
		if !errors.As(err, &fe) || !errors.Is(err, want.Err) || fe.Addr != want.Addr {
			t.Errorf("%s: %v; want %v at the first bad address %#x", what, err, want.Err, want.Addr)
		}
	}
	check("fill", d.Fill(ctx, base, []byte{1, 2, 3, 4}, 1<<30))
	// Copies: the source is checked first, then the destination; each
	// is refused naming some bad address (or as overlapping).
	far := make([]byte, 64)
	for _, c := range []struct {
		what     string
		dst, src uintptr
	}{{"copy to", base, testmem.Addr(far)}, {"copy from", testmem.Addr(far), base}} {
		err := d.Copy(ctx, c.dst, c.src, 1<<30)
		var fe *svm.FaultError
		if !errors.As(err, &fe) && !errors.Is(err, svm.ErrInvalidValue) {
			t.Errorf("%s: %v, want a fault naming an address", c.what, err)
		}
	}
	if d.Stats().PagesH2D != 0 {
		t.Errorf("refused commands migrated %d pages", d.Stats().PagesH2D)
	}
	// Prefetch and Migrate leave or refuse what cannot migrate; a hole
	// is a fault, the machinery's memory ErrNotSupported. (What the range
	// covers of other mappings of the program may migrate: that is what a
	// prefetch of it asks for.)
	if err := d.Prefetch(base, 1<<30); err != nil && !errors.Is(err, svm.ErrDeviceFault) {
		t.Errorf("prefetch: %v", err)
	}
	if _, err := d.Migrate(base, 1<<30); !errors.Is(err, svm.ErrDeviceFault) && !errors.Is(err, svm.ErrNotSupported) {
		t.Errorf("migrate: %v", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("refusals took %v", el)
	}
	for i := range buf {
		if buf[i] != 7 {
			t.Fatalf("buffer byte %d = %d: a refused command wrote it", i, buf[i])
		}
	}
	if other[0] != 9 {
		t.Fatal("source changed")
	}
	m, _ = svm.Default().Maps(true)
	for _, v := range m.VMAs {
		if v.Kind == svm.KindSystem && d.mem.Resident(v.Start, int((v.End-v.Start)/svm.PageSize)) > 0 {
			t.Errorf("%v: pages of the machinery on the device", v)
		}
	}
	// The device still works.
	if err := d.Fill(ctx, base, []byte{5}, uintptr(len(buf))); err != nil || buf[len(buf)-1] != 5 {
		t.Fatalf("fill after refusals: %v, last byte %d", err, buf[len(buf)-1])
	}
}

// Ranges crossing a hole and a PROT_NONE page fail naming that page;
// a read-only destination is ErrPermission.
func TestRangesCrossingHolesAndProtNone(t *testing.T) {
	needUFFD(t)
	arm(t, time.Minute)
	d := newDev(t)
	buf := mmapPages(t, 4)
	base := testmem.Addr(buf)
	if err := syscall.Mprotect(buf[svm.PageSize:2*svm.PageSize], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(buf[2*svm.PageSize:3*svm.PageSize], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	defer syscall.Mprotect(buf, syscall.PROT_READ|syscall.PROT_WRITE)
	src := mmapPages(t, 4)
	ctx := context.Background()
	cases := []struct {
		what string
		err  error
		want error
		addr uintptr
	}{
		{"fill over read-only", d.Fill(ctx, base, []byte{1}, 2*svm.PageSize), svm.ErrPermission, base + svm.PageSize},
		{"copy from PROT_NONE", d.Copy(ctx, testmem.Addr(src), base+100, 3*svm.PageSize), svm.ErrDeviceFault, base + 2*svm.PageSize},
		{"fill NULL", d.Fill(ctx, 0, []byte{1}, 64), svm.ErrDeviceFault, 0},
		{"fill wrapping", d.Fill(ctx, ^uintptr(0)-63, []byte{1}, 64), svm.ErrDeviceFault, ^uintptr(0) - 63},
		{"migrate PROT_NONE", migrateErr(d, base+2*svm.PageSize, svm.PageSize), svm.ErrDeviceFault, base + 2*svm.PageSize},
	}
	for _, c := range cases {
		var fe *svm.FaultError
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.err, c.want)
		} else if c.want != svm.ErrNotSupported && (!errors.As(c.err, &fe) || fe.Addr != c.addr) {
			t.Errorf("%s: %v, want the address %#x", c.what, c.err, c.addr)
		}
	}
	if buf[0] != 0 {
		t.Error("refused fill wrote the first page")
	}
}

// The memory of the process's own machinery — the loader's data, libc's
// .bss, the main thread's TLS — is mirrored, never migrated: Prefetch
// leaves it (no deadlock), Migrate refuses it naming the mapping, and a
// fill is refused before it writes.
func TestMachineryMemoryNotMigrated(t *testing.T) {
	needUFFD(t)
	arm(t, time.Minute)
	d := newDev(t)
	m, err := svm.Default().Maps(true)
	if err != nil {
		t.Fatal(err)
	}
	var sys []svm.VMA
	for _, v := range m.VMAs {
		if v.Kind == svm.KindSystem && v.Read && v.Write {
			sys = append(sys, v)
		}
	}
	if len(sys) == 0 {
		t.Fatal("no system mapping found (the loader's data, libc's .bss)")
	}
	ctx := context.Background()
	for _, v := range sys {
		if err := d.Prefetch(v.Start, v.End-v.Start); err != nil {
			t.Errorf("prefetch of %v: %v (want: left in place)", v, err)
		}
		if _, err := d.Migrate(v.Start, svm.PageSize); !errors.Is(err, svm.ErrNotSupported) || !strings.Contains(err.Error(), "system") {
			t.Errorf("migrate of %v: %v, want ErrNotSupported naming the mapping", v, err)
		}
		if err := d.Fill(ctx, v.Start, []byte{0}, svm.PageSize); !errors.Is(err, svm.ErrNotSupported) {
			t.Errorf("fill of %v: %v, want ErrNotSupported", v, err)
		}
		if got := d.mem.Resident(v.Start, int((v.End-v.Start)/svm.PageSize)); got != 0 {
			t.Errorf("%v: %d pages on the device", v, got)
		}
	}
	// An oversized fill whose range reaches the loader's data: refused
	// before a byte is written.
	v := sys[len(sys)-1]
	if err := d.Fill(ctx, v.Start-svm.PageSize, []byte{0}, 2*svm.PageSize); err == nil {
		t.Error("fill running into system memory succeeded")
	}
}

// A fill of a large (valid) range whose context is cancelled stops while
// the range is faulted in: Fill returns ctx.Err() promptly and nothing was
// written.
func TestCancelledFillStopsPromptly(t *testing.T) {
	needUFFD(t)
	arm(t, time.Minute)
	d := newDev(t, WithVRAM(8<<20))
	const size = 1 << 30
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Munmap(b)
	b[0], b[size-1] = 3, 4
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	err = d.Fill(ctx, testmem.Addr(b), []byte{1, 1, 1, 1}, size)
	el := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled fill: %v after %v, want context.Canceled", err, el)
	}
	if el > 5*time.Second {
		t.Errorf("cancelled fill returned after %v", el)
	}
	if b[0] != 3 || b[size-1] != 4 {
		t.Fatalf("cancelled fill wrote data: %d %d", b[0], b[size-1])
	}
	// An expired context enqueues nothing.
	if err := d.Fill(ctx, testmem.Addr(b), []byte{1}, 64); !errors.Is(err, context.Canceled) {
		t.Errorf("fill with a cancelled ctx: %v", err)
	}
}

var localFromArg = &kernels.Kernel{
	Name:       "local_from_arg",
	Params:     []kernels.Param{{Name: "bytes", Kind: kernels.I64}},
	LocalBytes: func(_ kernels.NDRange, a *kernels.Args) int { return int(a.I64(0)) },
	Body:       func(it *kernels.Item, a *kernels.Args) {},
}

// Local memory beyond the device's limit fails the launch (it used to kill
// the process allocating 1 TiB); within the limit it runs.
func TestLocalMemoryBeyondLimit(t *testing.T) {
	needUFFD(t)
	arm(t, time.Minute)
	d := newDev(t)
	for _, n := range []int64{1 << 40, DefaultLocalMemory + 1, -1} {
		err := run(t, d, localFromArg, kernels.Range1D(64, 64), n)
		if !errors.Is(err, svm.ErrOutOfDeviceMemory) || !strings.Contains(err.Error(), "local memory") {
			t.Errorf("%d bytes of local memory: %v, want ErrOutOfDeviceMemory", n, err)
		}
	}
	if err := run(t, d, localFromArg, kernels.Range1D(64, 64), int64(DefaultLocalMemory)); err != nil {
		t.Errorf("the device's whole local memory: %v", err)
	}
	// A work-group beyond the device's limit is refused before it runs.
	err := run(t, d, localFromArg, kernels.Range1D(1<<20, 1<<20), int64(16))
	if !errors.Is(err, kernels.ErrInvalidNDRange) {
		t.Errorf("work-group of 2^20 items: %v, want ErrInvalidNDRange", err)
	}
}

// Found by FuzzMemoryCommands: Migrate of 16 TiB starting in a hole walked
// the hole page by page (4 G iterations). It fails at once now, naming the
// address, and so does Prefetch.
func TestMigrateTerabytesOfHoles(t *testing.T) {
	needUFFD(t)
	arm(t, time.Minute)
	d := newDev(t)
	m, _ := svm.Default().Maps(true)
	a := uintptr(1) << 44
	for ; a < svm.UserSpaceEnd; a += 1 << 44 {
		if _, ok := m.Find(a); !ok {
			break
		}
	}
	start := time.Now()
	for what, err := range map[string]error{"migrate": migrateErr(d, a, 1<<44), "prefetch": d.Prefetch(a, 1<<44)} {
		var fe *svm.FaultError
		if !errors.Is(err, svm.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr != a {
			t.Errorf("%s of 16 TiB from the hole at %#x: %v, want ErrDeviceFault naming it", what, a, err)
		}
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
}
