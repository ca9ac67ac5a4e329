package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

func needMigration(t *testing.T) {
	t.Helper()
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
}

func f32ptr(s []float32) (unsafe.Pointer, uintptr) { return unsafe.Pointer(&s[0]), uintptr(len(s) * 4) }

// Range attributes return what was set, piece by piece.
func TestRangeAttributesReturnWhatWasSet(t *testing.T) {
	dev := open(t, "simgpu", svmrt.WithVRAM(4<<20))
	buf := make([]float32, 8*1024) // 8 pages (the slice may start mid-page: 9 pages advised)
	p, n := f32ptr(buf)
	defer svmrt.ClearAdvice(p, n)
	if err := svmrt.SetPreferredLocation(p, n, svmrt.Host); err != nil {
		t.Fatal(err)
	}
	if err := svmrt.SetAccessedBy(p, n, dev); err != nil {
		t.Fatal(err)
	}
	half := unsafe.Add(p, 16<<10)
	if err := svmrt.SetReadMostly(half, 8<<10); err != nil {
		t.Fatal(err)
	}
	rs := svmrt.RangeAttributes(p, n)
	if len(rs) != 3 {
		t.Fatalf("got %d ranges, want 3: %+v", len(rs), rs)
	}
	for i, r := range rs {
		a := r.Advice
		if a.Preferred != svmrt.Host || !a.AccessedByDevice(int(dev.Location())) || a.ReadMostly != (i == 1) {
			t.Errorf("range %d [%#x, %#x): %+v", i, r.Start, r.End, a)
		}
	}
	if rs[1].Start != uintptr(half)&^(svm.PageSize-1) || rs[1].End != (uintptr(half)+(8<<10)+svm.PageSize-1)&^(svm.PageSize-1) {
		t.Errorf("read-mostly piece [%#x, %#x), want the pages of [%p, +8 KiB)", rs[1].Start, rs[1].End, half)
	}
	if err := svmrt.UnsetReadMostly(p, n); err != nil {
		t.Fatal(err)
	}
	if err := svmrt.UnsetAccessedBy(p, n, dev); err != nil {
		t.Fatal(err)
	}
	rs = svmrt.RangeAttributes(p, n)
	if len(rs) != 1 || rs[0].Advice != (svm.Advice{Preferred: svmrt.Host}) {
		t.Fatalf("after unsets: %+v", rs)
	}
	svmrt.UnsetPreferredLocation(p, n)
	if rs := svmrt.RangeAttributes(p, n); len(rs) != 0 {
		t.Fatalf("after clearing everything: %+v", rs)
	}
	if err := svmrt.SetReadMostly(nil, 10); !errors.Is(err, svmrt.ErrInvalidValue) {
		t.Errorf("nil pointer: %v", err)
	}
	if err := svmrt.SetPreferredLocation(p, 0, svmrt.Host); !errors.Is(err, svmrt.ErrInvalidValue) {
		t.Errorf("empty range: %v", err)
	}
	// A closed device's slot goes to the next device: advice naming it is
	// refused.
	gone := open(t, "simgpu", svmrt.WithVRAM(4<<20))
	gone.Close()
	if err := svmrt.SetAccessedBy(p, n, gone); !errors.Is(err, svmrt.ErrClosed) {
		t.Errorf("accessed-by a closed device: %v, want ErrClosed", err)
	}
	if err := svmrt.SetPreferredLocation(p, n, gone.Location()); !errors.Is(err, svmrt.ErrInvalidValue) {
		t.Errorf("preferred location on a closed device: %v, want ErrInvalidValue", err)
	}
}

// Preferred location host + accessed-by: the kernel runs with no migration
// and no fault; the results are right.
func TestAdviceHostAccessedByNoMigration(t *testing.T) {
	needMigration(t)
	dev := open(t, "simgpu")
	n := 64 << 10
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	for _, s := range [][]float32{x, y} {
		p, l := f32ptr(s)
		defer svmrt.ClearAdvice(p, l)
		if err := svmrt.SetPreferredLocation(p, l, svmrt.Host); err != nil {
			t.Fatal(err)
		}
		if err := svmrt.SetAccessedBy(p, l, dev); err != nil {
			t.Fatal(err)
		}
	}
	if err := svmrt.Saxpy(context.Background(), dev, y, x, 2); err != nil {
		t.Fatal(err)
	}
	s, sim := dev.Stats(), simStats(t, dev)
	if s.PagesH2D != 0 || s.DeviceFaults != 0 || sim.RemoteAccesses == 0 {
		t.Fatalf("stats %+v %+v: want remote accesses only", s, sim)
	}
	for i := range y {
		if y[i] != 2*float32(i)+1 {
			t.Fatalf("y[%d] = %v", i, y[i])
		}
	}
}

// PrefetchAsync to the device: the launch takes no fault; to the host: the
// pages are back without a CPU fault.
func TestPrefetchAsyncBothWays(t *testing.T) {
	needMigration(t)
	ctx := context.Background()
	dev := open(t, "simgpu")
	n := 32 << 10
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = 1, 2
	}
	for _, s := range [][]float32{x, y} {
		p, l := f32ptr(s)
		if _, err := dev.PrefetchAsync(ctx, p, l, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := svmrt.Saxpy(ctx, dev, y, x, 1); err != nil {
		t.Fatal(err)
	}
	if s := dev.Stats(); s.DeviceFaults != 0 || s.PagesH2D == 0 {
		t.Fatalf("after prefetch: %+v, want no device fault", s)
	}
	p, l := f32ptr(y)
	ev, err := dev.PrefetchAsync(ctx, p, l, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	before := dev.Stats().CPUFaults
	for i := range y {
		if y[i] != 3 {
			t.Fatalf("y[%d] = %v", i, y[i])
		}
	}
	if got := dev.Stats().CPUFaults; got != before {
		t.Errorf("reading y after prefetching it home took %d CPU faults", got-before)
	}
	cpu := open(t, "cpu")
	if _, err := cpu.PrefetchAsync(ctx, p, l, false); !errors.Is(err, svmrt.ErrNotSupported) {
		t.Errorf("prefetch to the cpu device: %v, want ErrNotSupported", err)
	}
}

// Discard drops device copies without writing them back; the pages read
// as zero.
func TestDiscardDropsWithoutWriteBack(t *testing.T) {
	needMigration(t)
	ctx := context.Background()
	dev := open(t, "simgpu")
	n := 16 << 10 // 16 pages
	buf := make([]float32, n+1024)
	x := buf[1024-int(uintptr(unsafe.Pointer(&buf[0]))%svm.PageSize/4):] // page aligned
	x = x[:n]
	for i := range x {
		x[i] = 5
	}
	p, l := f32ptr(x)
	if _, err := dev.Migrate(p, l); err != nil {
		t.Fatal(err)
	}
	d2h := dev.Stats().PagesD2H
	ev, err := dev.Discard(ctx, p, l)
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	snap, err := svmrt.SnapshotSlice(dev, x)
	if err != nil {
		t.Fatal(err)
	}
	for _, pg := range snap {
		if pg.State == svm.PageOnDevice {
			t.Fatalf("page %#x still on the device after discard", pg.Addr)
		}
	}
	for i := range x {
		if x[i] != 0 {
			t.Fatalf("x[%d] = %v after discard, want 0", i, x[i])
		}
	}
	if got := dev.Stats().PagesD2H; got != d2h {
		t.Errorf("discard wrote back %d pages", got-d2h)
	}
	if _, err := dev.Discard(ctx, nil, 4096); !errors.Is(err, svmrt.ErrInvalidValue) {
		t.Errorf("discard(nil): %v", err)
	}
}

// WithPolicy selects a simulated GPU's policy: read-mostly data gets
// duplicates under "uvm".
func TestWithPolicyReadDuplication(t *testing.T) {
	needMigration(t)
	dev := open(t, "simgpu", svmrt.WithPolicy("uvm"))
	src := make([]float32, 8192)
	for i := range src {
		src[i] = float32(i)
	}
	p, l := f32ptr(src)
	defer svmrt.ClearAdvice(p, l)
	if err := svmrt.SetReadMostly(p, l); err != nil {
		t.Fatal(err)
	}
	idx := []uint32{1, 4000, 8191}
	out := make([]float32, 3)
	if err := dev.Run(context.Background(), kernels.Gather, kernels.GatherRange(3), out, src, idx, int32(3)); err != nil {
		t.Fatal(err)
	}
	if out[0] != 1 || out[1] != 4000 || out[2] != 8191 {
		t.Fatalf("out = %v", out)
	}
	if s := dev.Stats(); s.Duplicates == 0 {
		t.Fatalf("no duplicates under uvm: %+v", s)
	}
	snap, _ := svmrt.SnapshotSlice(dev, src[4000:4001])
	if snap[0].State != svm.PageDuplicated {
		t.Errorf("src page is %v, want duplicated", snap[0].State)
	}
}

// Advice for the simulated GPU: keep data on the host, let the device map it.
func ExampleSetPreferredLocation() {
	dev, err := svmrt.Open("simgpu")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i], y[i] = 1, 1
	}
	for _, s := range [][]float32{x, y} {
		p, n := unsafe.Pointer(&s[0]), uintptr(len(s)*4)
		svmrt.SetPreferredLocation(p, n, svmrt.Host)
		svmrt.SetAccessedBy(p, n, dev)
		defer svmrt.ClearAdvice(p, n)
	}
	if err := svmrt.Saxpy(context.Background(), dev, y, x, 2); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y[0], y[4095], "pages migrated:", dev.Stats().PagesH2D)
	// Output: 3 3 pages migrated: 0
}

// Setting advice on many disjoint ranges stays fast: each call rebuilds
// only the ranges it touches (it sorted every boundary before: 40,000
// ranges took more than 2 minutes). Advice is a property of addresses, so
// no memory is needed behind them.
func TestAdviceManyDisjointRanges(t *testing.T) {
	const n = 40000
	base := uintptr(1) << 44
	span := uintptr(2*n) * 4096
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := svmrt.SetReadMostly(ptrAt(base+uintptr(2*i)*4096), 4096); err != nil {
			t.Fatal(err)
		}
	}
	el := time.Since(start)
	got := svmrt.RangeAttributes(ptrAt(base), span)
	svmrt.ClearAdvice(ptrAt(base), span)
	if len(got) != n {
		t.Fatalf("%d advice ranges, want %d", len(got), n)
	}
	if left := svmrt.RangeAttributes(ptrAt(base), span); len(left) != 0 {
		t.Fatalf("%d advice ranges left after ClearAdvice", len(left))
	}
	if el > 10*time.Second {
		t.Fatalf("advice on %d disjoint ranges took %v", n, el)
	}
	t.Logf("advice on %d disjoint ranges: %v", n, el)
}

// simStats is a simulated device's own counters.
func simStats(t *testing.T, dev *svmrt.Device) svmrt.SimStats {
	t.Helper()
	s, ok := dev.SimStats()
	if !ok {
		t.Fatalf("%s is not a simulated device", dev.Name())
	}
	return s
}
