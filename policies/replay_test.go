package policies

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/svmrt/svmrt/backends/simgpu"
)

// Comparing policies on one recording (replay.go): the replayed table is
// the same on every run and from a trace read back from its file, and it
// orders the policies of every workload as re-running the workload does.

func replayWorkloads(t *testing.T) []Workload {
	var ws []Workload
	for _, w := range Workloads() {
		if !testing.Short() || w.Short || w.Name == "gather" {
			ws = append(ws, w)
		}
	}
	return ws
}

func TestReplayTable(t *testing.T) {
	needUFFD(t)
	ctx := context.Background()
	ws := replayWorkloads(t)
	pols := DefaultPolicies()
	var trs, reread []*simgpu.AccessTrace
	for _, w := range ws {
		tr, err := Record(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if tr.VRAM != w.VRAM || tr.Name != w.Name {
			t.Errorf("%s: trace says %s with %d bytes of device memory", w.Name, tr.Name, tr.VRAM)
		}
		var buf bytes.Buffer
		if _, err := tr.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		size := buf.Len()
		back, err := simgpu.ReadAccessTrace(&buf)
		if err != nil {
			t.Fatal(err)
		}
		s := tr.Summary()
		t.Logf("%s: %d launches, %d work-items, %d entries (%d accesses), %d CPU touches; file %d KiB", w.Name,
			s.Launches, s.Items, s.Entries, s.Accesses, s.CPUTouches, size>>10)
		trs, reread = append(trs, tr), append(reread, back)
	}
	table := func(trs []*simgpu.AccessTrace) ([]Result, string) {
		rs, err := ReplayAll(ctx, trs, pols, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Err != nil {
				t.Fatalf("replay of %s under %s: %v", r.Workload, r.Policy, r.Err)
			}
		}
		var b bytes.Buffer
		if err := WriteTable(&b, rs, false); err != nil {
			t.Fatal(err)
		}
		return rs, b.String()
	}
	replayed, first := table(trs)
	if _, second := table(reread); second != first {
		t.Fatalf("replays differ (the second from the traces read back):\n%s\n%s", first, second)
	}
	ran, err := Run(ctx, ws, pols, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	WriteTable(&b, ran, false)
	t.Logf("replayed:\n%s\nre-run:\n%s", first, b.String())
	for _, w := range ws {
		for _, p := range pols {
			got, _ := Find(replayed, w.Name, p)
			want, _ := Find(ran, w.Name, p)
			if want.Err != nil {
				t.Fatalf("run of %s under %s: %v", w.Name, p, want.Err)
			}
			// The pages each way, evictions, duplicates, remote accesses and
			// CPU faults are the run's; faults, batches and the pages the
			// prefetcher adds to them within 1 % (a replay's warps find
			// their faults a little differently: see simgpu's replay.go).
			g, r := got.Stats, want.Stats
			if g.PagesH2D != r.PagesH2D || g.PagesD2H != r.PagesD2H || g.Evictions != r.Evictions || g.Duplicates != r.Duplicates ||
				g.RemoteAccesses != r.RemoteAccesses || g.CPUFaults != r.CPUFaults {
				t.Errorf("%s under %s: replay and run count different pages:\n%+v\n%+v", w.Name, p, g, r)
			}
			if !near(g.DeviceFaults, r.DeviceFaults) || !near(g.FaultBatches, r.FaultBatches) || !near(g.PagesPrefetch, r.PagesPrefetch) {
				t.Errorf("%s under %s: %d faults in %d batches, %d prefetched replayed; %d, %d, %d run", w.Name, p,
					g.DeviceFaults, g.FaultBatches, g.PagesPrefetch, r.DeviceFaults, r.FaultBatches, r.PagesPrefetch)
			}
		}
		// The orderings: every pair of policies compares the same way.
		for _, p := range pols {
			for _, q := range pols {
				gp, _ := Find(replayed, w.Name, p)
				gq, _ := Find(replayed, w.Name, q)
				rp, _ := Find(ran, w.Name, p)
				rq, _ := Find(ran, w.Name, q)
				if a, b := cmp.Compare(gp.Clock.Total(), gq.Clock.Total()), cmp.Compare(rp.Clock.Total(), rq.Clock.Total()); a != b {
					t.Errorf("%s: replayed, %s vs %s compares %d (%v, %v); re-run %d (%v, %v)", w.Name, p, q,
						a, gp.Clock.Total(), gq.Clock.Total(), b, rp.Clock.Total(), rq.Clock.Total())
				}
			}
		}
	}
	if !slices.ContainsFunc(replayed, func(r Result) bool { return r.Stats.DeviceFaults > 0 }) {
		t.Fatal("no replay took a fault")
	}
}

// near reports whether a is within 1 % of b.
func near(a, b int64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return 100*d <= b
}
