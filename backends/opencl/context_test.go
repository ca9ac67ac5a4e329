package opencl

import (
	"context"
	"errors"
	"testing"
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
