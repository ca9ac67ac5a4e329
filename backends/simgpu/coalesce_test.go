package simgpu

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/backends"
	"github.com/svmrt/svmrt/kernels"
	"github.com/svmrt/svmrt/svm"
)

// coalesceOutcome is what a launch leaves behind that coalescing must not
// change: the device's counters, its simulated time by category, the data.
type coalesceOutcome struct {
	st                backends.Stats
	stats, sim, clock string
	migrations        int64 // svm Migrate calls: the one thing it changes
}

// saxpyFresh runs kernels.Saxpy over fresh x and y of pages pages each on
// a new device made with opts, coalescing or not, and checks y. x is
// advised read-mostly with readMostlyX.
func saxpyFresh(t *testing.T, coalesce bool, pages int, readMostlyX bool, opts ...Option) coalesceOutcome {
	t.Helper()
	was := coalesceRounds
	coalesceRounds = coalesce
	defer func() { coalesceRounds = was }()
	d := newDev(t, opts...)
	n := pages * svm.PageSize / 4
	xb, yb := mmapPages(t, pages), mmapPages(t, pages)
	x := unsafe.Slice((*float32)(unsafe.Pointer(&xb[0])), n)
	y := unsafe.Slice((*float32)(unsafe.Pointer(&yb[0])), n)
	for i := range x {
		x[i], y[i] = float32(i%1000), 1
	}
	if readMostlyX {
		if err := svm.Advise(uintptr(unsafe.Pointer(&xb[0])), uintptr(len(xb)), svm.SetReadMostly, svm.LocationNone); err != nil {
			t.Fatal(err)
		}
		defer svm.ClearAdvice(uintptr(unsafe.Pointer(&xb[0])), uintptr(len(xb)))
	}
	if err := run(t, d, kernels.Saxpy, kernels.SaxpyRange(n), y, x, float32(2), int32(n)); err != nil {
		t.Fatal(err)
	}
	st, sim := d.Stats(), d.SimStats()
	st.HostTime = 0
	o := coalesceOutcome{st: st, stats: fmt.Sprintf("%+v", st), sim: fmt.Sprintf("%+v", sim), clock: fmt.Sprintf("%+v", d.Clock()),
		migrations: d.hostMigrations.Load()}
	for i := range y {
		if want := 2*float32(i%1000) + 1; y[i] != want {
			t.Fatalf("coalesce %v: y[%d] = %g, want %g", coalesce, i, y[i], want)
		}
	}
	return o
}

// A fault round's migrations of host pages are made together, and nothing
// the simulation reports changes: the same faults, batches, pages moved,
// evictions and prefetches, the same simulated time in every category —
// under demand paging, with the prefetcher (which reads the blocks'
// residency between batches), with thrashing mitigation and read
// duplication, and on a device small enough to evict.
func TestFaultRoundCoalescesMigrations(t *testing.T) {
	needUFFD(t)
	arm(t, 2*time.Minute)
	cases := []struct {
		name       string
		pages      int
		readMostly bool
		opts       []Option
		fewer      bool                      // a fault round's batches continue one another: fewer calls
		happened   func(backends.Stats) bool // the policy feature the case is about did act
	}{
		{"demand", 512, false, nil, true, func(s backends.Stats) bool { return s.PagesH2D == 1024 }},
		{"prefetch", 512, false, []Option{WithPolicy(&UVM{Label: "uvm", PrefetchThreshold: DefaultPrefetchThreshold})}, false,
			func(s backends.Stats) bool { return s.PagesPrefetch > 0 }},
		{"thrashing+duplication", 512, true, []Option{WithPolicy(&UVM{Label: "uvm", ThrashThreshold: DefaultThrashThreshold,
			PinAfter: DefaultPinAfter, PinTime: DefaultPinTime, ReadDuplication: true})}, false, // x's duplicates come between y's runs
			func(s backends.Stats) bool { return s.Duplicates > 0 }},
		{"evicting", 1024, false, []Option{WithVRAM(4 << 20)}, true, func(s backends.Stats) bool { return s.Evictions > 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			off := saxpyFresh(t, false, c.pages, c.readMostly, c.opts...)
			on := saxpyFresh(t, true, c.pages, c.readMostly, c.opts...)
			if !c.happened(off.st) {
				t.Errorf("the case did not do what it is about: %s", off.stats)
			}
			if on.stats != off.stats {
				t.Errorf("counters differ:\n coalesced %s\n one by one %s", on.stats, off.stats)
			}
			if on.sim != off.sim {
				t.Errorf("simulation counters differ:\n coalesced %s\n one by one %s", on.sim, off.sim)
			}
			if on.clock != off.clock {
				t.Errorf("simulated time differs:\n coalesced %s\n one by one %s", on.clock, off.clock)
			}
			if c.fewer && on.migrations*2 > off.migrations {
				t.Errorf("%d svm migrations coalesced, %d one by one: want at most half", on.migrations, off.migrations)
			}
			if on.migrations > off.migrations {
				t.Errorf("%d svm migrations coalesced, more than the %d one by one", on.migrations, off.migrations)
			}
			t.Logf("svm migrations: %d coalesced, %d one by one", on.migrations, off.migrations)
		})
	}
}
