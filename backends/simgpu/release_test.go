package simgpu

import (
	"errors"
	"testing"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Release brings every page the device holds home with its data, frees all
// its memory and leaves it open: the next launch faults what it touches
// back in.
func TestReleaseKeepsDeviceOpen(t *testing.T) {
	needUFFD(t)
	needCompiler(t)
	const pages = 16
	const n = pages * svm.PageSize / 4
	d := newDev(t)
	x, y := freshF32(t, n), freshF32(t, n)
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	moved, err := d.Migrate(addrF32(x), n*4)
	if err != nil || moved != pages {
		t.Fatalf("Migrate: %d pages, %v; want %d", moved, err, pages)
	}
	if err := run(t, d, kernels.Saxpy, kernels.Range1D(n, 256), y, x, float32(2), int32(n)); err != nil {
		t.Fatal(err)
	}
	onDevice := func(b []float32) int {
		snap, err := svm.Default().Snapshot(addrF32(b), uintptr(len(b))*4, d.Slot())
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for _, p := range snap {
			if p.State == svm.PageOnDevice {
				k++
			}
		}
		return k
	}
	if ox, oy := onDevice(x), onDevice(y); ox != pages || oy != pages {
		t.Fatalf("before Release: %d and %d pages on the device, want %d each", ox, oy, pages)
	}
	before := d.Stats()
	released, err := d.Release()
	if err != nil || released != 2*pages {
		t.Fatalf("Release: %d pages, %v; want %d", released, err, 2*pages)
	}
	if ox, oy := onDevice(x), onDevice(y); ox != 0 || oy != 0 {
		t.Errorf("after Release: %d and %d pages still on the device", ox, oy)
	}
	if free, all := d.mem.FreeFrames(), d.mem.Frames(); free != all || len(d.ms.chunks) != 0 {
		t.Errorf("after Release: %d of %d frames free, %d chunks held; want all free, none held", free, all, len(d.ms.chunks))
	}
	after := d.Stats()
	if got := after.PagesD2H - before.PagesD2H; got != 2*pages {
		t.Errorf("PagesD2H grew by %d, want %d", got, 2*pages)
	}
	// The data came home: reading it takes no CPU fault.
	for i := range y {
		if y[i] != 2*float32(i)+1 {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], 2*float32(i)+1)
		}
	}
	if cf := d.Stats().CPUFaults - after.CPUFaults; cf != 0 {
		t.Errorf("reading released pages took %d CPU faults, want 0", cf)
	}
	if again, err := d.Release(); err != nil || again != 0 {
		t.Errorf("second Release: %d pages, %v; want 0, nil", again, err)
	}

	// Still open: a launch faults the pages back in and computes.
	f0 := d.Stats().DeviceFaults
	if err := run(t, d, kernels.Saxpy, kernels.Range1D(n, 256), y, x, float32(1), int32(n)); err != nil {
		t.Fatalf("launch after Release: %v", err)
	}
	if d.Stats().DeviceFaults == f0 || onDevice(y) != pages {
		t.Errorf("launch after Release: no faults or y not back on the device")
	}
	for i := range y {
		if y[i] != 3*float32(i)+1 {
			t.Fatalf("after the second launch y[%d] = %v, want %v", i, y[i], 3*float32(i)+1)
		}
	}

	d.Close()
	if _, err := d.Release(); !errors.Is(err, svm.ErrClosed) {
		t.Errorf("Release after Close: %v, want ErrClosed", err)
	}
}
