package runtime_test

import (
	"context"
	"io"
	"testing"

	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/trace"
)

// BenchmarkTrace is a saxpy launch over 1 MiB of fresh pages on the
// simulated GPU (every page faults in, in batches; Release brings them
// home between launches), with tracing off and on (to io.Discard: the
// cost of making the events, not of the disk), and how many events a
// launch makes.
func BenchmarkTrace(b *testing.B) {
	if err := svmrt.Degraded(); err != nil {
		b.Skip(err)
	}
	n := 1 << 18 // 1 MiB per vector
	{
		// The first launch of a process builds (or loads) the kernel: not
		// part of either case.
		dev, err := svmrt.Open("simgpu", svmrt.WithTrace(nil))
		if err != nil {
			b.Fatal(err)
		}
		x, y := make([]float32, n), make([]float32, n)
		if err := svmrt.Saxpy(context.Background(), dev, y, x, 1); err != nil {
			b.Fatal(err)
		}
		dev.Close()
	}
	tw := trace.New(io.Discard)
	for _, bc := range []struct {
		name string
		opts []svmrt.Option
		tw   *trace.Writer
	}{
		{"off", []svmrt.Option{svmrt.WithTrace(nil)}, nil},
		{"on", []svmrt.Option{svmrt.WithSharedTrace(tw)}, tw},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dev, err := svmrt.Open("simgpu", bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer dev.Close()
			x, y := make([]float32, n), make([]float32, n)
			ctx := context.Background()
			for b.Loop() {
				if err := svmrt.Saxpy(ctx, dev, y, x, 1); err != nil {
					b.Fatal(err)
				}
				if _, err := dev.Release(); err != nil {
					b.Fatal(err)
				}
			}
			if bc.tw != nil {
				b.ReportMetric(float64(bc.tw.Events())/float64(b.N), "events/op")
			}
		})
	}
}
