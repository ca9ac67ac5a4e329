package runtime_test

import (
	"context"
	"syscall"
	"testing"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	svmrt "github.com/svmrt/svmrt/runtime"
)

// A snapshot says which pages a device holds exclusively: every page
// MakeExclusive moved is on the device and exclusive; once the CPU touches
// one, that page is the host's again (not exclusive, its data the device's)
// while the others stay exclusive. (Read duplicates, shared with the host,
// are never exclusive: backends/simgpu's policy tests.)
func TestSnapshotSaysWhichPagesAreExclusive(t *testing.T) {
	needMigration(t)
	const pages = 4
	mem := testmem.Pages(t, pages, syscall.PROT_READ|syscall.PROT_WRITE)
	for i := 0; i < pages; i++ {
		mem[i*testmem.PageSize] = byte(10 + i)
	}
	dev := open(t, "simgpu")
	ev, err := dev.MakeExclusive(context.Background(), unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap, err := dev.Snapshot(unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range snap {
		if p.State != svmrt.PageOnDevice || !p.Exclusive {
			t.Fatalf("page %#x after MakeExclusive: %v exclusive=%v, want on-device and exclusive", p.Addr, p.State, p.Exclusive)
		}
	}
	if got := mem[0]; got != 10 { // the CPU's touch revokes the device's hold on page 0
		t.Fatalf("page 0 reads %d, want 10", got)
	}
	snap, err = dev.Snapshot(unsafe.Pointer(&mem[0]), uintptr(len(mem)))
	if err != nil {
		t.Fatal(err)
	}
	if p := snap[0]; p.State == svmrt.PageOnDevice || p.Exclusive {
		t.Errorf("page 0 after a CPU read: %v exclusive=%v, want the host's and not exclusive", p.State, p.Exclusive)
	}
	for _, p := range snap[1:] {
		if p.State != svmrt.PageOnDevice || !p.Exclusive {
			t.Errorf("untouched page %#x: %v exclusive=%v, want still on-device and exclusive", p.Addr, p.State, p.Exclusive)
		}
	}
}
