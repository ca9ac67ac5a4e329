package policies

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/svmrt/svmrt/svm"
)

func needUFFD(t *testing.T) {
	t.Helper()
	if err := svm.Default().Degraded(); err != nil {
		t.Skipf("pages cannot migrate here: %v", err)
	}
}

func runOne(t *testing.T, workload, policy string) Result {
	t.Helper()
	w, ok := WorkloadByName(workload)
	if !ok {
		t.Fatalf("no workload %q", workload)
	}
	r, err := RunOne(context.Background(), w, policy)
	if err != nil {
		t.Fatal(err)
	}
	if r.Err != nil {
		t.Fatalf("%s under %s: %v", workload, policy, r.Err)
	}
	return r
}

// UVM's published figure: prefetching cuts sgemm's fault batches by 93 %.
// This model gives 89.7 % (with one work-group per SM it gave 90.6 %).
func TestPrefetchCutsMulMatBatches(t *testing.T) {
	needUFFD(t)
	off, on := runOne(t, "mulmat", "demand"), runOne(t, "mulmat", "prefetch")
	cut := 1 - float64(on.Stats.FaultBatches)/float64(off.Stats.FaultBatches)
	t.Logf("mulmat batches: %d without prefetch, %d with (%.1f %% fewer); simulated %v -> %v",
		off.Stats.FaultBatches, on.Stats.FaultBatches, 100*cut, off.Clock.Total(), on.Clock.Total())
	if cut < 0.88 {
		t.Errorf("prefetch cut fault batches by %.1f %%, want >= 88 %%", 100*cut)
	}
	if on.Stats.PagesPrefetch == 0 || on.Clock.Total() >= off.Clock.Total() {
		t.Errorf("prefetch: %d pages, simulated %v vs %v", on.Stats.PagesPrefetch, on.Clock.Total(), off.Clock.Total())
	}
}

// At 1.5x oversubscription streaming completes correctly (RunOne checks the
// results), evicts, and costs more than when it fits.
func TestOversubscribedStreaming(t *testing.T) {
	needUFFD(t)
	fit, over := runOne(t, "stream", "prefetch"), runOne(t, "stream-1.5x", "prefetch")
	if over.Stats.Evictions == 0 || over.Stats.PagesEvicted == 0 {
		t.Fatalf("1.5x: no evictions: %+v", over.Stats)
	}
	if fit.Stats.Evictions != 0 {
		t.Errorf("fitting case evicted %d chunks", fit.Stats.Evictions)
	}
	if over.Clock.Total() <= fit.Clock.Total() {
		t.Errorf("1.5x took %v, fitting %v: eviction cost nothing", over.Clock.Total(), fit.Clock.Total())
	}
	t.Logf("stream: fits %v, 1.5x %v (%.0f %% slower), %d evictions",
		fit.Clock.Total(), over.Clock.Total(), 100*(float64(over.Clock.Total())/float64(fit.Clock.Total())-1), over.Stats.Evictions)
	if testing.Short() {
		return
	}
	x3 := runOne(t, "stream-3x", "prefetch")
	if x3.Stats.Evictions <= over.Stats.Evictions {
		t.Errorf("3x evicted %d chunks, 1.5x %d", x3.Stats.Evictions, over.Stats.Evictions)
	}
}

// Thrashing mitigation bounds the ping-pong against no mitigation.
func TestThrashingMitigationBoundsPingPong(t *testing.T) {
	needUFFD(t)
	off, on := runOne(t, "pingpong", "uvm-nothrash"), runOne(t, "pingpong", "uvm")
	if off.Stats.ThrashEvents == 0 {
		t.Errorf("the detector saw no thrashing without mitigation: %+v", off.Stats)
	}
	if on.Stats.Throttles == 0 || on.Stats.Pins == 0 {
		t.Errorf("no throttles or pins with mitigation: %+v", on.Stats)
	}
	if 2*on.Clock.Total() > off.Clock.Total() {
		t.Errorf("mitigated ping-pong %v, unmitigated %v: want at most half", on.Clock.Total(), off.Clock.Total())
	}
	if on.Stats.PagesH2D >= off.Stats.PagesH2D {
		t.Errorf("mitigation moved %d pages, none %d", on.Stats.PagesH2D, off.Stats.PagesH2D)
	}
}

// Preferred location host + accessed-by the device: no migration, no fault.
func TestAdviceHostAccessedByZeroMigrations(t *testing.T) {
	needUFFD(t)
	for _, p := range []string{"demand", "uvm"} {
		r := runOne(t, "advice-host", p)
		if s := r.Stats; s.PagesH2D != 0 || s.PagesD2H != 0 || s.DeviceFaults != 0 || s.RemoteAccesses == 0 {
			t.Errorf("%s: %+v, want no migrations or faults, remote accesses only", p, s)
		}
	}
}

// Read-mostly: duplicates, and nothing written back for read-only inputs.
func TestReadMostlyDuplicates(t *testing.T) {
	needUFFD(t)
	dup, plain := runOne(t, "read-mostly", "uvm"), runOne(t, "read-mostly", "demand")
	if dup.Stats.Duplicates == 0 || dup.Stats.PagesD2H != 0 || dup.Stats.CPUFaults != 0 {
		t.Errorf("uvm: %+v, want duplicates and no write-back", dup.Stats)
	}
	if plain.Stats.Duplicates != 0 || plain.Stats.PagesD2H == 0 {
		t.Errorf("demand (no read duplication): %+v, want the CPU's reads to bring pages back", plain.Stats)
	}
}

// Prefetch before the launch: no device fault.
func TestPrefetchedRangeZeroFaults(t *testing.T) {
	needUFFD(t)
	r := runOne(t, "prefetched", "demand")
	if r.Stats.DeviceFaults != 0 || r.Stats.PagesH2D == 0 {
		t.Errorf("%+v, want zero device faults after prefetching", r.Stats)
	}
}

// The table is identical across runs (host time aside).
func TestTableDeterministic(t *testing.T) {
	needUFFD(t)
	var ws []Workload
	for _, w := range Workloads() {
		if w.Short {
			ws = append(ws, w)
		}
	}
	policies := DefaultPolicies()
	var tables [2]bytes.Buffer
	for i := range tables {
		rs, err := Run(context.Background(), ws, policies, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Err != nil {
				t.Fatalf("%s/%s: %v", r.Workload, r.Policy, r.Err)
			}
		}
		if err := WriteTable(&tables[i], rs, false); err != nil {
			t.Fatal(err)
		}
	}
	if tables[0].String() != tables[1].String() {
		t.Fatalf("tables differ:\n%s\n%s", tables[0].String(), tables[1].String())
	}
	t.Logf("\n%s", tables[0].String())
}

// The table is identical across processes too (address-space layout, heap
// state and the fault-service thread's history all differ).
func TestTableIdenticalAcrossProcesses(t *testing.T) {
	needUFFD(t)
	const env = "SVMRT_POLICIES_TABLE_OUT"
	short := func() []Workload {
		var ws []Workload
		for _, w := range Workloads() {
			if w.Short && w.Name != "advice-host" {
				ws = append(ws, w)
			}
		}
		return ws
	}
	if out := os.Getenv(env); out != "" {
		rs, err := Run(context.Background(), short(), []string{"demand", "uvm"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		WriteTable(&b, rs, false)
		if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var tables [2][]byte
	for i := range tables {
		out := filepath.Join(t.TempDir(), "table")
		cmd := exec.Command(os.Args[0], "-test.run=^TestTableIdenticalAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), env+"="+out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, msg)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		tables[i] = b
	}
	if !bytes.Equal(tables[0], tables[1]) || len(tables[0]) == 0 {
		t.Fatalf("tables differ between processes:\n%s\n%s", tables[0], tables[1])
	}
}
