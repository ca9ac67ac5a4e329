package trace

import (
	"io"
	"testing"
	"time"
)

// BenchmarkTraceSpan is the cost of one event with the args a fault batch
// has, encoded into the buffer and written to io.Discard.
func BenchmarkTraceSpan(b *testing.B) {
	w := New(io.Discard)
	k := w.Process("simgpu (simulated clock)", 10).Thread("fault batches", 1)
	var i int64
	for b.Loop() {
		i++
		k.Span("fault batch", "fault", time.Duration(i)*time.Microsecond, 313*time.Microsecond,
			Int("faults", 256), Int("pages", 16), Micros("host_us", time.Duration(i)))
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
