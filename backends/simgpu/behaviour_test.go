package simgpu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

func needUFFD(t *testing.T) {
	t.Helper()
	if err := svm.Default().Degraded(); err != nil {
		t.Skipf("migration unavailable: %v", err)
	}
}

// mulmatRun runs the seed's sample on a fresh device and returns its
// counters and clock (host-side fields cleared).
func mulmatRun(t *testing.T, m int) (counters, ClockBreakdown) {
	d := newDev(t)
	a, b, r := make([]float32, m*m), make([]float32, m*m), make([]float32, m*m)
	for i := range a {
		a[i], b[i] = float32(i%3), float32(i%11)
	}
	if err := run(t, d, kernels.MulMat, kernels.MulMatRange(m), r, a, b, int32(m)); err != nil {
		t.Fatal(err)
	}
	st := countersOf(d)
	st.HostTime, st.CPUFaults, st.PagesD2H, st.BytesD2H = 0, 0, 0, 0
	runtime.KeepAlive(r)
	return st, d.Clock()
}

func TestDeterministicClockAndCounters(t *testing.T) {
	needUFFD(t)
	s1, c1 := mulmatRun(t, 64)
	s2, c2 := mulmatRun(t, 64)
	if s1 != s2 {
		t.Fatalf("counters differ:\n%+v\n%+v", s1, s2)
	}
	if c1 != c2 {
		t.Fatalf("clock differs:\n%v\n%v", c1, c2)
	}
	if s1.DeviceFaults == 0 || s1.PagesH2D == 0 || s1.SimulatedTime == 0 {
		t.Fatalf("nothing happened: %+v", s1)
	}
}

func TestSnapshotAfterLaunchAndFaultBack(t *testing.T) {
	needUFFD(t)
	d := newDev(t)
	n := 8192
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i), 3
	}
	if err := run(t, d, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(0.5), int32(n)); err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(&y[0]))
	snap, err := svm.Default().Snapshot(base, uintptr(n*4), d.Mem().ID())
	if err != nil {
		t.Fatal(err)
	}
	// Every page wholly inside y is on the device.
	for _, p := range snap {
		if p.Addr >= base && p.Addr+svm.PageSize <= base+uintptr(n*4) && p.State != svm.PageOnDevice {
			t.Fatalf("page %#x: %v, want on-device", p.Addr, p.State)
		}
	}
	before := countersOf(d).CPUFaults
	for i := range y {
		if y[i] != 0.5*float32(i)+3 {
			t.Fatalf("y[%d]=%v", i, y[i])
		}
	}
	if countersOf(d).CPUFaults <= before {
		t.Fatal("reading device-resident y took no CPU fault")
	}
	snap, _ = svm.Default().Snapshot(base, uintptr(n*4), d.Mem().ID())
	for _, p := range snap {
		if p.State == svm.PageOnDevice {
			t.Fatalf("page %#x still on device after CPU read", p.Addr)
		}
	}
}

// bytesKernel writes v into the even bytes of buf[0:n] on the device.
var evenBytes = &kernels.Kernel{
	Name:   "even_bytes",
	Params: []kernels.Param{{Name: "buf", Kind: kernels.PtrU8, Written: true}, {Name: "v", Kind: kernels.U32}},
	Body: func(it *kernels.Item, a *kernels.Args) {
		i := it.GlobalID(0)
		it.StoreU8(a.Ptr(0)+uintptr(2*i), uint8(a.U32(1)))
	},
}

func TestConcurrentCPUAndDeviceWritesLoseNothing(t *testing.T) {
	arm(t, 3*time.Minute)
	needUFFD(t)
	for _, procs := range []int{1, 2} {
		t.Run(map[int]string{1: "GOMAXPROCS=1", 2: "GOMAXPROCS=2"}[procs], func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			d := newDev(t)
			pages := 8
			if testing.Short() {
				pages = 4 // the race detector makes every round ~5x slower
			}
			buf := make([]byte, pages*svm.PageSize)
			rounds := 40
			if testing.Short() {
				rounds = 15
			}
			budget := 6 * time.Second
			if testing.Short() {
				budget = 3 * time.Second
			}
			deadline := time.Now().Add(budget)
			done := 0
			for r := 1; r <= rounds && time.Now().Before(deadline); r++ {
				done = r
				var wg sync.WaitGroup
				stop := make(chan struct{})
				// CPU writers on the odd bytes, concurrently with the kernel.
				for w := 0; w < 2; w++ {
					wg.Add(1)
					go func(w int) {
						defer wg.Done()
						for pass := 0; ; pass++ {
							for i := 1 + 2*w; i < len(buf); i += 4 {
								buf[i] = byte(r)
							}
							select {
							case <-stop:
								if pass > 0 {
									return
								}
							default:
							}
							// Fast enough to hit pages mid-kernel, slow enough that
							// the kernel progresses: without thrashing mitigation
							// every CPU pass pulls every page back.
							time.Sleep(5 * time.Millisecond)
						}
					}(w)
				}
				if err := run(t, d, evenBytes, kernels.Range1D(len(buf)/2, 256), buf, uint32(r+100)); err != nil {
					t.Fatal(err)
				}
				close(stop)
				wg.Wait()
				for i, v := range buf {
					want := byte(r)
					if i%2 == 0 {
						want = byte(r + 100)
					}
					if v != want {
						t.Fatalf("round %d: byte %d = %d want %d (lost write)", r, i, v, want)
					}
				}
			}
			if done < 1 {
				t.Fatalf("only %d rounds in %v", done, budget)
			}
			t.Logf("%d rounds; device %+v", done, countersOf(d))
			if s := svm.Default().ServiceStats(); s.Errors != 0 {
				t.Fatalf("fault service errors: %+v", s)
			}
		})
	}
}

func TestMunmapWhileOnDevice(t *testing.T) {
	needUFFD(t)
	d := newDev(t)
	const pages = 16
	mem, err := syscall.Mmap(-1, 0, pages*svm.PageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	if err := run(t, d, evenBytes, kernels.Range1D(len(mem)/2, 256), mem, uint32(7)); err != nil {
		t.Fatal(err)
	}
	if w := *svm.PTE(base, false); svm.WordState(w) != svm.StateDevice {
		t.Fatalf("page not on device before munmap: %#x", w)
	}
	freeBefore := d.Mem().FreeFrames()
	if err := syscall.Munmap(mem); err != nil {
		t.Fatal(err)
	}
	// The UNMAP event dropped the device copies and released their frames.
	svm.Default().Sync()
	for i := 0; i < pages; i++ {
		if w := svm.PTE(base+uintptr(i)*svm.PageSize, false); w != nil && svm.WordState(*w) != svm.StateHost {
			t.Fatalf("page %d still %d after munmap", i, svm.WordState(*w))
		}
	}
	if got := d.Mem().FreeFrames(); got != freeBefore+pages {
		t.Fatalf("free frames %d, want %d", got, freeBefore+pages)
	}
	// A later launch on the dead range fails with a device fault naming it.
	k := &kernels.Kernel{Name: "touch", Params: []kernels.Param{{Name: "p", Kind: kernels.PtrAny}},
		Body: func(it *kernels.Item, a *kernels.Args) { it.LoadU32(a.Ptr(0) + uintptr(it.GlobalID(0)*4)) }}
	a, err := kernels.Bind(k, base)
	if err != nil {
		t.Fatal(err)
	}
	// One work-group: a wave of many goroutines has the Go runtime map
	// stacks, which may land in the hole (the race detector's runs did).
	err = d.Launch(context.Background(), k, kernels.Range1D(256, 256), a)
	var fe *svm.FaultError
	if !errors.Is(err, svm.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr < base || fe.Addr >= base+pages*svm.PageSize {
		if m, merr := svm.ReadMaps(); merr == nil {
			if v, mapped := m.Find(base); mapped {
				t.Skipf("the unmapped range was mapped again (%v) before the launch: %v", v, err)
			}
		}
		t.Fatalf("launch on unmapped range: %v", err)
	}
	if !strings.Contains(err.Error(), "not mapped") {
		t.Fatalf("error does not say why: %v", err)
	}
}

func TestProtNoneAndReadOnly(t *testing.T) {
	d := newDev(t)
	mem := testmem.Pages(t, 4, syscall.PROT_READ|syscall.PROT_WRITE)
	for i := range mem {
		mem[i] = byte(i)
	}
	base := testmem.Addr(mem)
	n := len(mem) / 2

	// Read-only: reading works, writing is a permission error, data intact.
	if err := syscall.Mprotect(mem, syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	sum := make([]uint32, 1)
	if err := run(t, d, kernels.Histogram, kernels.HistogramRange(1), sum, base, int32(1), int32(1)); err != nil {
		t.Fatalf("device read of read-only memory: %v", err)
	}
	err := run(t, d, evenBytes, kernels.Range1D(n, 256), mem, uint32(1))
	var fe *svm.FaultError
	if !errors.Is(err, svm.ErrPermission) || !errors.As(err, &fe) || fe.Addr != base || !fe.Write {
		t.Fatalf("write to read-only memory: %v", err)
	}
	for i := range mem {
		if mem[i] != byte(i) {
			t.Fatalf("host data changed at %d", i)
		}
	}

	// PROT_NONE: a device fault naming the address; process fine.
	if err := syscall.Mprotect(mem, syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	err = run(t, d, evenBytes, kernels.Range1D(n, 256), mem, uint32(1))
	if !errors.Is(err, svm.ErrDeviceFault) || !errors.As(err, &fe) || fe.Addr != base || !strings.Contains(err.Error(), "PROT_NONE") {
		t.Fatalf("PROT_NONE: %v", err)
	}
	if err := syscall.Mprotect(mem, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		t.Fatal(err)
	}
	for i := range mem {
		if mem[i] != byte(i) {
			t.Fatalf("host data changed at %d", i)
		}
	}
	// Back to read-write: the write now succeeds.
	if err := run(t, d, evenBytes, kernels.Range1D(n, 256), mem, uint32(9)); err != nil {
		t.Fatal(err)
	}
	if mem[0] != 9 || mem[1] != 1 {
		t.Fatalf("after mprotect rw: %d %d", mem[0], mem[1])
	}
}

// A policy that does not evict fails a launch that does not fit, naming
// the device, and leaves host data intact. (The default evicts: see
// policy_test.go.)
func TestOutOfDeviceMemory(t *testing.T) {
	needUFFD(t)
	noEvict, _ := PolicyByName("no-evict")
	d := newDev(t, WithVRAM(4*svm.PageSize), WithPolicy(noEvict))
	n := 64 << 10
	x, y := make([]float32, n), make([]float32, n)
	for i := range y {
		y[i] = 1
	}
	err := run(t, d, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(1), int32(n))
	if !errors.Is(err, svm.ErrOutOfDeviceMemory) {
		t.Fatalf("got %v, want ErrOutOfDeviceMemory", err)
	}
	for i := range y {
		if y[i] != 1 {
			t.Fatalf("y[%d] = %v after failed launch", i, y[i])
		}
	}
}

// Degraded mode: run this package's smoke test in a child with
// userfaultfd disabled; it must pass with nothing migrated.
func TestDegradedMode(t *testing.T) {
	if os.Getenv(svm.EnvNoUFFD) == "1" {
		if svm.Default().Degraded() == nil {
			t.Fatal("SVMRT_NO_UFFD=1 but not degraded")
		}
		d := newDev(t)
		n := 4096
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = float32(i)
		}
		if err := run(t, d, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(2), int32(n)); err != nil {
			t.Fatal(err)
		}
		for i := range y {
			if y[i] != 2*float32(i) {
				t.Fatalf("y[%d]=%v", i, y[i])
			}
		}
		st := countersOf(d)
		if st.PagesH2D != 0 || st.RemoteAccesses == 0 {
			t.Fatalf("degraded mode migrated or did not access remotely: %+v", st)
		}
		if err := d.Prefetch(uintptr(unsafe.Pointer(&y[0])), 4); !errors.Is(err, svm.ErrNotSupported) {
			t.Fatalf("prefetch in degraded mode: %v", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDegradedMode$", "-test.count=1")
	cmd.Env = append(os.Environ(), svm.EnvNoUFFD+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("degraded child failed: %v\n%s", err, out)
	}
}
