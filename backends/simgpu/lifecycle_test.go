package simgpu

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/leakcheck"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// Open and Close a simulated GPU 10,000 times: Close gives back everything
// New took (the arena, the page-table slot and its pending-free bitmap:
// once one new mapping per cycle, until vm.max_map_count killed the
// process), so mappings, fds and threads do not grow.
func TestOpenCloseNoLeak(t *testing.T) {
	arm(t, 3*time.Minute)
	buf := make([]float32, 1024)
	cycle := func(i int) {
		d, err := New(WithVRAM(1 << 20))
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%100 == 0 && d.Degraded() == nil {
			// Now and then hold pages, so Close has something to bring home.
			if _, err := d.Migrate(addrF32(buf), 4096); err != nil {
				t.Fatalf("cycle %d: migrate: %v", i, err)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatalf("cycle %d: close: %v", i, err)
		}
	}
	for i := 0; i < 100; i++ {
		cycle(i)
	}
	before := leakcheck.Take(t)
	n := 10000
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		cycle(i)
	}
	leakcheck.Check(t, fmt.Sprintf("%d simgpu open/close cycles", n), before, leakcheck.Take(t))
	buf[0] = 1 // the pages came home
}

// After Close every command is an error wrapping ErrClosed (svm.ErrClosed,
// the runtime's too), and so is a second Close.
func TestUseAfterClose(t *testing.T) {
	arm(t, time.Minute)
	d, err := New(WithVRAM(1 << 20))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 1024)
	a, err := kernels.Bind(kernels.Saxpy, buf, buf, float32(1), int32(len(buf)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := addrF32(buf)
	for what, err := range map[string]error{
		"close":    d.Close(),
		"launch":   d.Launch(ctx, kernels.Saxpy, kernels.SaxpyRange(len(buf)), a),
		"fill":     d.Fill(ctx, p, []byte{0}, 64),
		"copy":     d.Copy(ctx, p, p+2048, 64),
		"prefetch": d.Prefetch(p, 4096),
		"migrate":  migrateErr(d, p, 4096),
	} {
		if what == "prefetch" || what == "migrate" {
			if d.Degraded() != nil {
				continue
			}
		}
		if !errors.Is(err, svm.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
}

func addrF32(b []float32) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// Guards against a bug found in review (-race): DevMem.Release writes d.arena = nil with no lock while
// Caps (via DevMem.Frames), DevMem.Migrate and the Alloc error path read it.
// Fails only under the race detector.
func TestCapsDuringClose(t *testing.T) {
	needUFFD(t)
	d, err := New(WithVRAM(1 << 20))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			_ = d.Caps()
		}
	}()
	time.Sleep(time.Microsecond)
	d.Close()
	<-done
}
