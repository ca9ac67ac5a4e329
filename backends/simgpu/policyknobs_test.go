package simgpu

import (
	"testing"

	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// The knobs of a policy and of the cost model do what they say. The
// thrashing detector used DefaultThrashThreshold whatever the policy's
// ThrashThreshold, and the prefetcher grew faults to a 64 KiB big page
// whatever CostModel.BigPageSize said (found by review).

// A policy whose threshold the ping-pong never reaches sees no thrashing;
// UVM's default threshold sees it on the same run.
func TestThrashThresholdIsThePolicys(t *testing.T) {
	needUFFD(t)
	events := func(threshold int) int64 {
		mk := func() Policy {
			p, _ := PolicyByName("uvm")
			p.(*UVM).ThrashThreshold = threshold
			return p
		}
		a := newDev(t, WithPolicy(mk()), WithName("gpu0"))
		b := newDev(t, WithPolicy(mk()), WithName("gpu1"))
		const pages, stride, rounds = 16, svm.PageSize / 4, 12
		p := make([]int32, pages*stride)
		for range rounds {
			for _, d := range []*Device{a, b} {
				if err := run(t, d, kernels.StrideAdd, kernels.StrideAddRange(pages), p, int32(stride), int32(1), int32(pages)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range pages {
			if p[i*stride] != 2*rounds {
				t.Fatalf("p[%d] = %d, want %d", i*stride, p[i*stride], 2*rounds)
			}
		}
		ev := a.Stats().ThrashEvents + b.Stats().ThrashEvents
		a.Close()
		b.Close()
		return ev
	}
	if ev := events(DefaultThrashThreshold); ev == 0 {
		t.Fatalf("threshold %d: no thrashing detected on a ping-pong", DefaultThrashThreshold)
	}
	if ev := events(1000); ev != 0 {
		t.Errorf("threshold 1000: %d thrash events, want none (the policy's threshold is never reached)", ev)
	}
}

// One fault in a fresh VA block brings its big page along: 16 pages at
// the default 64 KiB, none when the cost model's big page is one page.
func TestPrefetchGrowsToCostModelBigPage(t *testing.T) {
	needUFFD(t)
	needCompiler(t)
	prefetched := func(bigPage int) int64 {
		cost := DefaultCostModel()
		cost.BigPageSize = bigPage
		p, _ := PolicyByName("prefetch")
		d := newDev(t, WithPolicy(p), WithCostModel(cost))
		const n = 2 << 20 / 4 // one VA block per array
		x, y := alignedF32(t, n), alignedF32(t, n)
		x[0] = 3
		if err := run(t, d, kernels.Saxpy, kernels.Range1D(1, 1), y, x, float32(2), int32(1)); err != nil {
			t.Fatal(err)
		}
		if y[0] != 6 {
			t.Fatalf("y[0] = %v, want 6", y[0])
		}
		return d.Stats().PagesPrefetch
	}
	if got, want := prefetched(DefaultBigPageSize), int64(2*(DefaultBigPageSize/svm.PageSize-1)); got != want {
		t.Errorf("64 KiB big pages: %d pages prefetched, want %d", got, want)
	}
	if got := prefetched(svm.PageSize); got != 0 {
		t.Errorf("4 KiB big pages: %d pages prefetched, want 0", got)
	}
}
