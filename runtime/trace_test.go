package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/svmrt/svmrt/internal/childtest"
	"github.com/svmrt/svmrt/kernels"
	svmrt "github.com/svmrt/svmrt/runtime"
	"github.com/svmrt/svmrt/trace"
)

// traceEvent is one Trace Event as the viewers read it.
type traceEvent struct {
	Ph   string         `json:"ph"`
	Name string         `json:"name"`
	Cat  string         `json:"cat"`
	Pid  *int           `json:"pid"`
	Tid  *int           `json:"tid"`
	Ts   *float64       `json:"ts"`
	Dur  *float64       `json:"dur"`
	Args map[string]any `json:"args"`
}

type parsedTrace struct {
	events  []traceEvent
	process map[int]string    // pid -> process_name
	thread  map[[2]int]string // pid, tid -> thread_name
	byName  map[string][]traceEvent
}

// parseTrace decodes a trace and checks what every viewer needs of each
// event: a phase, a pid and tid named by metadata, a name, a timestamp
// (and a duration for complete events).
// checkPageMoves checks that the trace's migration events move the pages
// the device counted, each way.
func checkPageMoves(t *testing.T, p parsedTrace, st svmrt.Stats) {
	t.Helper()
	if got := p.sum("host→device", "pages"); got != st.PagesH2D {
		t.Errorf("host→device events move %d pages, the device counted %d", got, st.PagesH2D)
	}
	if got := p.sumPrefix("device→host", "pages"); got != st.PagesD2H {
		t.Errorf("device→host events move %d pages, the device counted %d", got, st.PagesD2H)
	}
}

func parseTrace(t *testing.T, b []byte) parsedTrace {
	t.Helper()
	var doc struct {
		TraceEvents []traceEvent `json:"traceEvents"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("trace is not valid JSON: %v", err)
	}
	p := parsedTrace{events: doc.TraceEvents, process: map[int]string{}, thread: map[[2]int]string{}, byName: map[string][]traceEvent{}}
	for i, e := range p.events {
		if e.Ph == "" || e.Pid == nil || e.Tid == nil || e.Name == "" {
			t.Fatalf("event %d lacks ph, pid, tid or name: %+v", i, e)
		}
		if e.Ph == "M" {
			switch e.Name {
			case "process_name":
				p.process[*e.Pid] = e.Args["name"].(string)
			case "thread_name":
				p.thread[[2]int{*e.Pid, *e.Tid}] = e.Args["name"].(string)
			}
		}
	}
	for i, e := range p.events {
		if e.Ph == "M" {
			continue
		}
		if e.Ts == nil || *e.Ts < 0 {
			t.Fatalf("event %d (%s) has no timestamp", i, e.Name)
		}
		if e.Ph == "X" && (e.Dur == nil || *e.Dur < 0) {
			t.Fatalf("complete event %d (%s) has no duration", i, e.Name)
		}
		if !strings.Contains("XiC", e.Ph) {
			t.Fatalf("event %d (%s) has phase %q", i, e.Name, e.Ph)
		}
		if _, ok := p.thread[[2]int{*e.Pid, *e.Tid}]; !ok {
			t.Fatalf("event %d (%s) is on pid %d tid %d, which no metadata names", i, e.Name, *e.Pid, *e.Tid)
		}
		if _, ok := p.process[*e.Pid]; !ok {
			t.Fatalf("event %d (%s) is on pid %d, which no metadata names", i, e.Name, *e.Pid)
		}
		p.byName[e.Name] = append(p.byName[e.Name], e)
	}
	return p
}

// sum adds up arg key over the events named name.
func (p parsedTrace) sum(name, key string) int64 {
	var n int64
	for _, e := range p.byName[name] {
		v, _ := e.Args[key].(float64)
		n += int64(v)
	}
	return n
}

// sumPrefix adds up arg key over the events whose name starts with prefix.
func (p parsedTrace) sumPrefix(prefix, key string) int64 {
	var n int64
	for name := range p.byName {
		if strings.HasPrefix(name, prefix) {
			n += p.sum(name, key)
		}
	}
	return n
}

// onProcess counts the events named name on processes whose name starts
// with prefix.
func (p parsedTrace) onProcess(name, prefix string) int {
	n := 0
	for _, e := range p.byName[name] {
		if strings.HasPrefix(p.process[*e.Pid], prefix) {
			n++
		}
	}
	return n
}

// blockAligned returns n float32s starting at a 2 MiB boundary, so that
// what a run does per VA block does not depend on where the heap put them.
func blockAligned(n int) []float32 {
	const block = 2 << 20
	buf := make([]float32, n+block/4)
	skip := int((block - uintptr(unsafe.Pointer(&buf[0]))%block) % block / 4)
	return buf[skip : skip+n : skip+n]
}

// The mulmat sample's launch, traced: the trace is valid Trace Event JSON
// and its events add up to the device's counters.
func TestTraceOfMulMatMatchesCounters(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	var buf bytes.Buffer
	dev, err := svmrt.Open("simgpu", svmrt.WithVRAM(16<<20), svmrt.WithTrace(&buf))
	if err != nil {
		t.Fatal(err)
	}
	m := 96
	all := blockAligned(3 * m * m)
	a, b, r := all[:m*m], all[m*m:2*m*m], all[2*m*m:]
	for i := range a {
		a[i], b[i] = float32(i%17)/8, float32(i%13)/4
	}
	ref := make([]float32, m*m)
	kernels.RefMulMat(ref, a, b, m)
	if err := svmrt.MulMat(context.Background(), dev, r, a, b, m); err != nil {
		t.Fatal(err)
	}
	equal(t, r, ref) // reading r brings it home: CPU faults
	st := dev.Stats()
	if st.CPUFaults == 0 || st.FaultBatches == 0 {
		t.Fatalf("the run took no CPU fault or no fault batch: %+v", st)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	st = dev.Stats() // after Close: the pages Close brought home too
	p := parseTrace(t, buf.Bytes())

	if got := len(p.byName["fault batch"]); int64(got) != st.FaultBatches {
		t.Errorf("%d fault-batch events, the device counted %d batches", got, st.FaultBatches)
	}
	if got := p.sum("fault batch", "faults"); got != st.DeviceFaults {
		t.Errorf("fault batches hold %d faults, the device counted %d", got, st.DeviceFaults)
	}
	checkPageMoves(t, p, st)
	if got := p.sum("host→device", "bytes"); got != st.BytesH2D {
		t.Errorf("host→device events move %d bytes, the device counted %d", got, st.BytesH2D)
	}
	if got := p.sum("device→host (CPU faults)", "cpu_faults"); got != st.CPUFaults {
		t.Errorf("CPU-fault events on the device hold %d faults, the device counted %d", got, st.CPUFaults)
	}
	if got := p.sum("CPU faults on simgpu", "cpu_faults"); got != st.CPUFaults {
		t.Errorf("CPU-fault events on the host hold %d faults, the device counted %d", got, st.CPUFaults)
	}
	// The launch, once on each clock.
	if got := p.onProcess("launch gpu_mul_mat", "host"); got != 1 {
		t.Errorf("%d launch events on the host clock, want 1", got)
	}
	if got := p.onProcess("launch gpu_mul_mat", "simgpu"); got != 1 {
		t.Errorf("%d launch events on the simulated clock, want 1", got)
	}
	for _, e := range p.byName["launch gpu_mul_mat"] {
		if strings.HasPrefix(p.process[*e.Pid], "simgpu") {
			if got := int64(e.Args["batches"].(float64)); got != st.FaultBatches {
				t.Errorf("the launch says %d batches, the device counted %d", got, st.FaultBatches)
			}
			sim, _ := dev.SimStats()
			if end := *e.Ts + *e.Dur; end > float64(sim.SimulatedTime.Nanoseconds())/1e3 || *e.Dur <= 0 {
				t.Errorf("launch on the simulated clock from %vµs for %vµs; the clock is at %v", *e.Ts, *e.Dur, sim.SimulatedTime)
			}
		}
	}
	if len(p.byName["resident pages"]) == 0 {
		t.Error("no resident-pages counter")
	}
}

// An oversubscribed run: evictions and their pages are in the trace.
func TestTraceOfEvictionsMatchesCounters(t *testing.T) {
	if err := svmrt.Degraded(); err != nil {
		t.Skip(err)
	}
	var buf bytes.Buffer
	dev, err := svmrt.Open("simgpu", svmrt.WithVRAM(2<<20), svmrt.WithTrace(&buf))
	if err != nil {
		t.Fatal(err)
	}
	const block = 2 << 20 / 4
	n := block / 2
	all := blockAligned(3 * block)
	x, y := all[:n], all[2*block:2*block+n] // in two VA blocks: one chunk holds one of them
	for i := range x {
		x[i], y[i] = float32(i), 1
	}
	ctx := context.Background()
	for range 2 {
		if err := svmrt.Saxpy(ctx, dev, y, x, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	st := dev.Stats()
	if st.Evictions == 0 {
		t.Fatalf("no eviction: %+v", st)
	}
	p := parseTrace(t, buf.Bytes())
	if got := len(p.byName["evict"]); int64(got) != st.Evictions {
		t.Errorf("%d evict events, the device counted %d evictions", got, st.Evictions)
	}
	if got := p.sum("evict", "pages_written"); got != st.PagesEvicted {
		t.Errorf("evict events write back %d pages, the device counted %d", got, st.PagesEvicted)
	}
	checkPageMoves(t, p, st)
	if got := p.onProcess("launch saxpy", "host"); got != 2 {
		t.Errorf("%d saxpy launches on the host clock, want 2", got)
	}
}

// Memory commands are traced as commands on both clocks.
func TestTraceOfMemoryCommands(t *testing.T) {
	var buf bytes.Buffer
	dev, err := svmrt.Open("simgpu", svmrt.WithTrace(&buf))
	if err != nil {
		t.Fatal(err)
	}
	src, dst := make([]byte, 3*4096), make([]byte, 3*4096)
	ctx := context.Background()
	ev, err := dev.Memfill(ctx, unsafe.Pointer(&src[0]), []byte{7}, uintptr(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	ev, err = dev.Memcpy(ctx, unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), uintptr(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if dst[len(dst)-1] != 7 {
		t.Fatalf("copy gave %d", dst[len(dst)-1])
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	p := parseTrace(t, buf.Bytes())
	for _, what := range []string{"memfill", "memcpy"} {
		if got := p.onProcess(what, "host"); got != 1 {
			t.Errorf("%d %s events on the host clock, want 1", got, what)
		}
	}
	for _, what := range []string{"fill", "copy"} {
		if got := p.onProcess(what, "simgpu"); got != 1 {
			t.Errorf("%d %s commands on the simulated clock, want 1", got, what)
		}
	}
}

type failingWriter struct {
	mu     sync.Mutex
	writes int
}

var errTraceDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.writes++
	f.mu.Unlock()
	return 0, errTraceDiskFull
}

// A trace that cannot be written does not fail the launch; Close says so,
// after closing the device.
func TestTraceWriteErrorSurfacesAtClose(t *testing.T) {
	fw := &failingWriter{}
	dev, err := svmrt.Open("simgpu", svmrt.WithTrace(fw))
	if err != nil {
		t.Fatal(err)
	}
	n := 10000
	x, y, ref := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i], ref[i] = float32(i), 3, 3
	}
	kernels.RefSaxpy(ref, x, 0.5, n)
	for range 3 {
		if err := svmrt.Saxpy(context.Background(), dev, y, x, 0.5); err != nil {
			t.Fatalf("launch failed with a failing trace writer: %v", err)
		}
		kernels.RefSaxpy(ref, x, 0.5, n)
	}
	kernels.RefSaxpy(ref, x, -0.5, n) // ref went one step ahead
	equal(t, y, ref)
	err = dev.Close()
	if !errors.Is(err, errTraceDiskFull) {
		t.Fatalf("Close = %v, want the trace writer's error", err)
	}
	if !strings.Contains(err.Error(), "trace") {
		t.Errorf("Close's error does not say it is the trace's: %v", err)
	}
	if err := dev.Close(); !errors.Is(err, svmrt.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed: the first one closed the device", err)
	}
	if fw.writes == 0 {
		t.Error("the trace never wrote")
	}
}

// Several goroutines launch on two devices that share one trace (run with
// -race): the trace is whole and holds every launch.
func TestTraceWhileGoroutinesLaunch(t *testing.T) {
	var buf bytes.Buffer
	tw := trace.New(&buf)
	ctx := context.Background()
	names := []string{"simgpu", "cpu"}
	const goroutines, launches = 4, 5
	var devs []*svmrt.Device
	for _, name := range names {
		d, err := svmrt.Open(name, svmrt.WithSharedTrace(tw))
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, d)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(devs)*goroutines)
	for _, d := range devs {
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := 2000 + 100*g
				x, y := make([]float32, n), make([]float32, n)
				for i := range x {
					x[i] = float32(i)
				}
				for range launches {
					if err := svmrt.Saxpy(ctx, d, y, x, 1); err != nil {
						errs <- err
						return
					}
				}
				for i := range y {
					if y[i] != launches*float32(i) {
						errs <- errors.New("saxpy result wrong")
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, d := range devs {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := parseTrace(t, buf.Bytes())
	for _, name := range names {
		n := 0
		for _, e := range p.byName["launch saxpy"] {
			if p.thread[[2]int{*e.Pid, *e.Tid}] == "queue "+name {
				n++
			}
		}
		if n != goroutines*launches {
			t.Errorf("%d saxpy launches on the host track of %s, want %d", n, name, goroutines*launches)
		}
	}
	if got := p.onProcess("launch saxpy", "simgpu"); got != goroutines*launches {
		t.Errorf("%d saxpy launches on the simulated clock, want %d", got, goroutines*launches)
	}
}

// SVMRT_TRACE traces a program that never asked for a trace; the file is
// a complete trace after a device's queue ran empty, before any Close.
func TestTraceFromEnvironment(t *testing.T) {
	const marker = "SVMRT_TEST_TRACE_ENV_CHILD"
	file := os.Getenv("SVMRT_TEST_TRACE_FILE")
	if os.Getenv(marker) == "" {
		file = filepath.Join(t.TempDir(), "env.json")
		t.Setenv(svmrt.TraceEnv, file)
		t.Setenv("SVMRT_TEST_TRACE_FILE", file)
	}
	if !childtest.InChild(t, marker, 2*time.Minute) {
		return
	}
	dev, err := svmrt.Open("simgpu")
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]float32, 5000), make([]float32, 5000)
	if err := svmrt.Saxpy(context.Background(), dev, y, x, 1); err != nil {
		t.Fatal(err)
	}
	// The queue ran empty after the launch: the trace was flushed. Wait
	// for the worker to get there (it flushes after completing the event).
	var p parsedTrace
	for deadline := time.Now().Add(10 * time.Second); ; {
		b, err := os.ReadFile(file)
		if err == nil && json.Valid(b) {
			p = parseTrace(t, b)
			if p.onProcess("launch saxpy", "host") == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not a trace holding the launch 10 s after it: %v %q", file, err, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	// A second device adds to the same trace.
	dev2, err := svmrt.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if err := svmrt.Saxpy(context.Background(), dev2, y, x, 1); err != nil {
		t.Fatal(err)
	}
	if err := dev2.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p = parseTrace(t, b)
	if got := len(p.byName["launch saxpy"]); got != 3 { // simgpu: both clocks; cpu: host
		t.Errorf("%d saxpy launch events after both devices closed, want 3", got)
	}
}

// A bad SVMRT_TRACE is an error of Open naming it.
func TestTraceEnvironmentBadFile(t *testing.T) {
	const marker = "SVMRT_TEST_TRACE_BAD_CHILD"
	if os.Getenv(marker) == "" {
		t.Setenv(svmrt.TraceEnv, filepath.Join(t.TempDir(), "missing-dir", "t.json"))
	}
	if !childtest.InChild(t, marker, time.Minute) {
		return
	}
	_, err := svmrt.Open("cpu")
	if err == nil || !strings.Contains(err.Error(), svmrt.TraceEnv) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open with a trace file in a missing directory = %v, want an error naming %s", err, svmrt.TraceEnv)
	}
	// WithTrace(nil) opts out.
	d, err := svmrt.Open("cpu", svmrt.WithTrace(nil))
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}
