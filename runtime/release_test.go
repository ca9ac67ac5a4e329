package runtime_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// Release gives back all of a device's memory, keeps the data and leaves
// the device open; a device without private memory has nothing to give.
func TestReleaseAndStayOpen(t *testing.T) {
	needMigration(t)
	const pages = 8
	mem := testmem.Pages(t, pages, syscall.PROT_READ|syscall.PROT_WRITE)
	x := testmem.Float32s(mem)
	y := make([]float32, len(x))
	for i := range x {
		x[i] = float32(i)
	}
	dev := open(t, "simgpu")
	if moved, err := dev.Migrate(unsafe.Pointer(&mem[0]), uintptr(len(mem))); err != nil || moved != pages {
		t.Fatalf("Migrate: %d pages, %v; want %d", moved, err, pages)
	}
	n, err := dev.Release()
	if err != nil || n != pages {
		t.Fatalf("Release: %d pages, %v; want %d", n, err, pages)
	}
	snap, err := svmrt.SnapshotSlice(dev, x)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range snap {
		if p.State == svmrt.PageOnDevice {
			t.Fatalf("page %#x still on the device after Release", p.Addr)
		}
	}
	if err := svmrt.Saxpy(context.Background(), dev, y, x, 1); err != nil {
		t.Fatalf("launch after Release: %v", err)
	}
	for i := range y {
		if y[i] != float32(i) {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], float32(i))
		}
	}

	cpu := open(t, "cpu")
	if n, err := cpu.Release(); n != 0 || err != nil {
		t.Errorf("cpu Release: %d, %v; want 0, nil", n, err)
	}
	cpu.Close()
	if _, err := cpu.Release(); !errors.Is(err, svmrt.ErrClosed) {
		t.Errorf("Release after Close: %v, want ErrClosed", err)
	}
}
