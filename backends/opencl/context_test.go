package opencl

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/testmem"
	"github.com/svmrt/svmrt/kernels"
)

// Guards against (found in the fourth review, fixed): an already-ended ctx
// did not stop Copy, Fill or Map (the command ran, and the result was nil
// or Canceled at random); a cancelled Launch and a completed one raced in
// one select.
func TestEndedContextEnqueuesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range modes {
		d := openTest(t, m)
		src, dst := make([]byte, 4096), make([]byte, 4096)
		for i := range src {
			src[i] = 7
		}
		s, t2 := uintptr(unsafe.Pointer(&src[0])), uintptr(unsafe.Pointer(&dst[0]))
		for i := 0; i < 20; i++ {
			for what, err := range map[string]error{
				"copy":    d.Copy(ctx, t2, s, 4096),
				"fill":    d.Fill(ctx, t2, []byte{9}, 4096),
				"map":     d.Map(ctx, t2, 4096),
				"unmap":   d.Unmap(ctx, t2, 4096),
				"migrate": d.MigrateMem(ctx, t2, 4096, false),
				"launch":  d.Launch(ctx, fillKernel, kernels.Range1D(1024, 64), mustBind(t, fillKernel, testmem.Uint32s(dst), uint32(5))),
			} {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("%v: %s with an ended ctx: %v, want context.Canceled", m, what, err)
				}
			}
			if err := d.sync(context.Background(), "test"); err != nil {
				t.Fatal(err)
			}
			for j, v := range dst {
				if v != 0 {
					t.Fatalf("%v: byte %d = %d after commands with an ended ctx: a command ran", m, j, v)
				}
			}
		}
		if d.Stats().Launches != 0 {
			t.Fatalf("%v: %d launches enqueued", m, d.Stats().Launches)
		}
		// A command that completes with a live ctx returns its result.
		live, stop := context.WithCancel(context.Background())
		for i := 0; i < 50; i++ {
			if err := d.Copy(live, t2, s, 4096); err != nil || dst[4095] != 7 {
				t.Fatal(err)
			}
		}
		stop()
	}
}

// Memory commands stuck behind a kernel that does not end (pass-through
// mode: the host releases it) return ctx.Err() when their ctx ends, at
// once; once the kernel ends, the commands that were on the device (a copy,
// a fill: they cannot be recalled) have completed and the device works.
func TestCancelStuckMemoryCommands(t *testing.T) {
	d := openTest(t, ModeAuto)
	if d.Mode() != ModePassThrough {
		t.Skip("needs a device that sees host memory while a kernel runs")
	}
	flag := abandonWaiting(t, d)
	src, dst, fill := make([]byte, 4096), make([]byte, 4096), make([]byte, 4096)
	for i := range src {
		src[i] = byte(i%251 + 1)
	}
	at := func(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
	const bound = 2 * time.Second // "at once", with room for a loaded machine; the kernel never ends by itself
	for _, c := range []struct {
		what string
		f    func(ctx context.Context) error
	}{
		{"Copy", func(ctx context.Context) error { return d.Copy(ctx, at(dst), at(src), 4096) }},
		{"Fill", func(ctx context.Context) error { return d.Fill(ctx, at(fill), []byte{0x5a}, 4096) }},
		{"Map", func(ctx context.Context) error { return d.Map(ctx, at(dst), 4096) }},
		{"Unmap", func(ctx context.Context) error { return d.Unmap(ctx, at(dst), 4096) }},
		{"MigrateMem", func(ctx context.Context) error { return d.MigrateMem(ctx, at(dst), 4096, true) }},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		err := c.f(ctx)
		el := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || el > bound {
			t.Fatalf("%s behind a kernel that does not end, 50ms ctx: %v after %v, want context.DeadlineExceeded at once", c.what, err, el.Round(time.Millisecond))
		}
	}
	if dst[0] != 0 || fill[0] != 0 {
		t.Fatal("a command behind the running kernel ran before it")
	}
	atomic.StoreUint32(&flag[0], 1)
	if err := d.Map(context.Background(), at(dst), 4096); err != nil {
		t.Fatal(err)
	}
	if string(dst) != string(src) || fill[0] != 0x5a || fill[4095] != 0x5a {
		t.Fatalf("after the kernel ended, the enqueued copy and fill did not complete: dst[0] %d fill[0] %#x", dst[0], fill[0])
	}
	if atomic.LoadUint32(&flag[2]) != 1 {
		t.Fatal("the kernel did not complete")
	}
}
