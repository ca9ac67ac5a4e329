package simgpu

import (
	"context"
	"errors"
	"testing"
)

// Replaying an access trace (replay.go) counts what running the workload
// does, on every run alike.

func replayOn(t *testing.T, tr *AccessTrace, opts ...Option) (counters, ClockBreakdown) {
	t.Helper()
	d := newDev(t, opts...)
	if err := Replay(context.Background(), d, tr); err != nil {
		t.Fatal(err)
	}
	return countersOf(d), d.Clock()
}

func TestReplayMatchesRun(t *testing.T) {
	needUFFD(t)
	tr, _ := record(t, newRecordProgram(t))
	for _, pol := range []string{"demand", "uvm", "remote-only"} {
		p, err := PolicyByName(pol)
		if err != nil {
			t.Fatal(err)
		}
		d := newDev(t, WithPolicy(p))
		if err := newRecordProgram(t).run(t, d); err != nil {
			t.Fatal(err)
		}
		d.space.Sync()
		ran := countersOf(d)
		got, _ := replayOn(t, tr, WithPolicy(p))
		t.Logf("%s: run %d faults, %d batches, %d/%d pages, %d remote, %d CPU faults; replay %d, %d, %d/%d, %d, %d", pol,
			ran.DeviceFaults, ran.FaultBatches, ran.PagesH2D, ran.PagesD2H, ran.RemoteAccesses, ran.CPUFaults,
			got.DeviceFaults, got.FaultBatches, got.PagesH2D, got.PagesD2H, got.RemoteAccesses, got.CPUFaults)
		if got.DeviceFaults != ran.DeviceFaults || got.FaultBatches != ran.FaultBatches || got.PagesH2D != ran.PagesH2D ||
			got.PagesD2H != ran.PagesD2H || got.RemoteAccesses != ran.RemoteAccesses || got.CPUFaults != ran.CPUFaults {
			t.Errorf("%s: the replay's counters differ from the run's", pol)
		}
		if got.DeviceFaults == 0 && pol == "demand" {
			t.Errorf("demand: a replay over fresh memory took no fault")
		}
	}
}

func TestReplayDeterministic(t *testing.T) {
	needUFFD(t)
	tr, _ := record(t, newRecordProgram(t))
	c1, k1 := replayOn(t, tr)
	c2, k2 := replayOn(t, tr)
	c1.Stats.HostTime, c2.Stats.HostTime = 0, 0 // the one figure that is the host's
	if c1 != c2 || k1 != k2 {
		t.Fatalf("two replays differ:\n%+v %v\n%+v %v", c1, k1, c2, k2)
	}
}

func TestReplayCancelled(t *testing.T) {
	needUFFD(t)
	tr, _ := record(t, newRecordProgram(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Replay(ctx, newDev(t), tr); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled replay: %v", err)
	}
	bad := *tr
	bad.Regions = nil
	if err := Replay(context.Background(), newDev(t), &bad); !errors.Is(err, ErrBadTrace) {
		t.Fatalf("replay of a trace without its regions: %v", err)
	}
}
