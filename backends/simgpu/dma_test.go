package simgpu

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/svm"
)

// Device-side Copy/Fill (dma.go).

// rv3Bytes views n bytes of mmap'd memory (outside vet's unsafeptr pattern).
func rv3Bytes(addr uintptr, n int) []byte {
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), n)
}

func rv3Mmap(addr, n uintptr, flags int) uintptr {
	p, _, e := syscall.Syscall6(syscall.SYS_MMAP, addr, n, syscall.PROT_READ|syscall.PROT_WRITE, uintptr(flags), ^uintptr(0), 0)
	if e != 0 {
		panic(e)
	}
	return p
}

// Guards against a bug found in review: the synchronous fault loop of a DMA (translate with m.w == nil)
// spins forever when usable() and walk() disagree. usable() trusts the
// launch's remote map before the page table; walk() consults the remote
// map only for HOST pages. A page the DMA mapped remotely (a shared page)
// that is replaced during the copy by private memory another device then
// migrates: walk says "fault", faultRange finds the page "usable" and does
// nothing, forever — the copy never ends and holds launchMu (every later
// launch, Migrate and Close on the device hang too).
func TestDMASpinsOnRemotePageMovedToOtherDevice(t *testing.T) {
	needUFFD(t)
	if os.Getenv(childEnv) != t.Name() {
		childtest.InChild(t, childEnv, 40*time.Second)
		return
	}
	a, b := newDev(t), newDev(t)
	body := 4 << 20
	if testing.Short() {
		body = 1 << 20 // the race detector makes the byte-wise copy ~10x slower
	}
	n := uintptr(body + 4096)
	src := rv3Mmap(0, n, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	last := src + uintptr(body)
	rv3Mmap(last, 4096, syscall.MAP_FIXED|syscall.MAP_SHARED|syscall.MAP_ANON) // remote for the DMA
	dst := rv3Mmap(0, n, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	done := make(chan error, 1)
	h2d0 := a.Stats().PagesH2D
	go func() { done <- a.Copy(context.Background(), dst+1, src+1, n-1) }() // byte-wise: slow
	// Once both ranges are faulted in (the copy loop is running), replace
	// the shared page with private memory and move it to device b.
	for a.Stats().PagesH2D-h2d0 < int64(2*body/4096) {
		select {
		case err := <-done:
			t.Skipf("copy finished before the swap: %v", err)
		default:
			time.Sleep(100 * time.Microsecond)
		}
	}
	rv3Mmap(last, 4096, syscall.MAP_FIXED|syscall.MAP_PRIVATE|syscall.MAP_ANON)
	rv3Bytes(last, 1)[0] = 42
	if _, err := b.Migrate(last, 4096); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Logf("copy: %v", err)
	case <-time.After(20 * time.Second): // ~0.1 s without the swap (about 1 s under -race)
		t.Fatalf("Copy spins forever: page %#x is in the DMA's remote map but DEVICE on another device", last)
	}
}

// A fill or copy on a device whose only chunk the operation already uses
// reaches a page held by another GPU: the page comes home and is written
// remotely (second review: it failed after 1000 faults).
//
// Guards against a bug found in review (of the memory policies).
func TestDMAToPeerPageOnFullDevice(t *testing.T) {
	needUFFD(t)
	a := newDev(t, WithVRAM(2<<20), WithName("A"))
	b := newDev(t, WithName("B"))
	buf := testmem.Aligned(t, 4<<20, 2<<20)
	p := testmem.Addr(buf)
	for i := range buf {
		buf[i] = byte(i)
	}
	if err := b.Prefetch(p+2<<20, svm.PageSize); err != nil {
		t.Fatal(err)
	}
	if err := a.Copy(context.Background(), p+2<<20, p, svm.PageSize); err != nil {
		t.Fatalf("copy to a page on the other GPU: %v", err)
	}
	for i := 0; i < svm.PageSize; i++ {
		if buf[2<<20+i] != byte(i) {
			t.Fatalf("dst[%d] = %d, want %d", i, buf[2<<20+i], byte(i))
		}
	}
	if err := b.Prefetch(p+2<<20, svm.PageSize); err != nil {
		t.Fatal(err)
	}
	if err := a.Fill(context.Background(), p, []byte{7}, 2<<20+svm.PageSize); err != nil {
		t.Fatalf("fill across a page on the other GPU: %v", err)
	}
	for i := 0; i < 2<<20+svm.PageSize; i += 999 {
		if buf[i] != 7 {
			t.Fatalf("buf[%d] = %d after fill", i, buf[i])
		}
	}
	if s := a.Stats(); s.DeviceFaults > 10 {
		t.Errorf("%d faults for two operations", s.DeviceFaults)
	}
}
