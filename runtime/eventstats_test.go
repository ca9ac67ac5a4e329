package runtime_test

import (
	"context"
	"errors"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/svm"
)

// A launch over fresh pages reports each of them moved host→device once,
// its faults and batches, and its share of the simulated clock; the same
// launch again moves nothing.
func TestEventStatsOfALaunch(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	dev := open(t, "simgpu")
	const pages = 40
	n := pages * svm.PageSize / 4
	all := blockAligned(2 * n)
	x, y := all[:n], all[n:] // whole pages: 2*pages of them
	for i := range x {
		x[i] = float32(i)
	}
	ctx := context.Background()
	launch := func() svmrt.EventStats {
		t.Helper()
		before := dev.Stats()
		simBefore, _ := dev.SimStats()
		ev, err := dev.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(1), int32(n))
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		st, ok := ev.Stats()
		if !ok {
			t.Fatal("Stats of a finished launch say it has not finished")
		}
		after := dev.Stats()
		simAfter, _ := dev.SimStats()
		if st.DeviceFaults != after.DeviceFaults-before.DeviceFaults || st.FaultBatches != after.FaultBatches-before.FaultBatches {
			t.Errorf("launch stats %d faults in %d batches; the device counted %d in %d", st.DeviceFaults, st.FaultBatches,
				after.DeviceFaults-before.DeviceFaults, after.FaultBatches-before.FaultBatches)
		}
		if st.SimulatedTime != simAfter.SimulatedTime-simBefore.SimulatedTime || st.SimulatedTime <= 0 {
			t.Errorf("launch stats %v simulated; the clock moved %v", st.SimulatedTime, simAfter.SimulatedTime-simBefore.SimulatedTime)
		}
		if st.HostTime <= 0 {
			t.Errorf("launch stats %v host time", st.HostTime)
		}
		return st
	}
	first := launch()
	if first.PagesH2D != 2*pages || first.BytesH2D != 2*pages*svm.PageSize || first.PagesD2H != 0 {
		t.Errorf("first launch over %d fresh pages moved %d pages (%d bytes) host→device, %d back", 2*pages, first.PagesH2D, first.BytesH2D, first.PagesD2H)
	}
	if first.DeviceFaults == 0 || first.FaultBatches == 0 {
		t.Errorf("first launch over fresh pages: %d faults, %d batches", first.DeviceFaults, first.FaultBatches)
	}
	second := launch()
	if second.PagesH2D != 0 || second.DeviceFaults != 0 || second.FaultBatches != 0 {
		t.Errorf("second launch over resident pages: %+v, want no fault and no migration", second)
	}
	if y[n-1] != 2*float32(n-1) {
		t.Errorf("y[%d] = %v", n-1, y[n-1])
	}
}

// On the host cores a launch has a host time and nothing else.
func TestEventStatsOnCPU(t *testing.T) {
	dev := open(t, "cpu")
	n := 10000
	x, y := make([]float32, n), make([]float32, n)
	ctx := context.Background()
	ev, err := dev.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(1), int32(n))
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	st, ok := ev.Stats()
	if !ok || st.HostTime <= 0 {
		t.Fatalf("cpu launch stats %+v, finished %v: want a host time", st, ok)
	}
	if st != (svmrt.EventStats{HostTime: st.HostTime}) {
		t.Errorf("cpu launch stats %+v: want only a host time", st)
	}
	if _, err := dev.MemInfo(); !errors.Is(err, svmrt.ErrNotSupported) {
		t.Errorf("MemInfo on cpu = %v, want ErrNotSupported", err)
	}
}

// Free device memory drops by the pages a Migrate moved in and recovers
// when they come home.
func TestMemInfoFollowsMigrations(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	dev := open(t, "simgpu", svmrt.WithVRAM(8<<20))
	m0, err := dev.MemInfo()
	if err != nil {
		t.Fatal(err)
	}
	if m0.TotalBytes != 8<<20 || m0.FreeBytes != 8<<20 || m0.ResidentPages != 0 {
		t.Fatalf("fresh device: %+v, want 8 MiB total and free, nothing resident", m0)
	}
	const pages = 24
	buf := blockAligned(pages * svm.PageSize / 4)
	for i := range buf {
		buf[i] = float32(i)
	}
	p, size := unsafe.Pointer(&buf[0]), uintptr(len(buf)*4)
	if n, err := dev.Migrate(p, size); err != nil || n != pages {
		t.Fatalf("Migrate: %d pages, %v; want %d", n, err, pages)
	}
	m1, err := dev.MemInfo()
	if err != nil {
		t.Fatal(err)
	}
	if m1.ResidentPages != pages || m1.FreeBytes != m0.FreeBytes-pages*svm.PageSize || m1.TotalBytes != m0.TotalBytes {
		t.Errorf("after migrating %d pages: %+v (before %+v)", pages, m1, m0)
	}
	if n, err := svmrt.MigrateToHost(p, size); err != nil || n != pages {
		t.Fatalf("MigrateToHost: %d pages, %v", n, err)
	}
	m2, err := dev.MemInfo()
	if err != nil {
		t.Fatal(err)
	}
	if m2 != m0 {
		t.Errorf("after the pages came home: %+v, want %+v", m2, m0)
	}
	if buf[len(buf)-1] != float32(len(buf)-1) {
		t.Errorf("data changed on the round trip")
	}
	dev.Close()
	if _, err := dev.MemInfo(); !errors.Is(err, svmrt.ErrClosed) {
		t.Errorf("MemInfo after Close = %v, want ErrClosed", err)
	}
}
